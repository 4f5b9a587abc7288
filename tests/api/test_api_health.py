"""The API against a real broker and real service processes."""

from __future__ import annotations

import json

from harness import Api, Probe, answering, wait_until


def test_health_reports_a_killed_service_as_down(broker, service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    other = service(
        ["tests/fake_service.py", "wican-status"],
        "wican-status",
        {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.5"},
    )

    def state(name):
        body = api.get("/health").json()
        return body["services"].get(name)

    wait_until(
        watcher,
        lambda: (state("wican-status") or {}).get("up") is True,
        "wican-status up in /health",
    )
    assert api.get("/health").status_code == 200
    assert state("api")["up"] is True
    assert state("wican-status")["version"]

    other.kill()
    wait_until(
        watcher,
        lambda: (state("wican-status") or {}).get("up") is False,
        "wican-status down in /health",
    )
    body = api.get("/health")
    assert body.status_code == 503
    down = body.json()["services"]["wican-status"]
    assert down["status"] == "offline"
    assert "offline" in down["reason"]
    assert body.json()["services"]["api"]["up"] is True


def test_expected_service_never_seen_is_down(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service, CANBRIDGE_EXPECTED_SERVICES='["bic-gateway"]')
    answering(api, watcher)
    r = api.get("/health")
    assert r.status_code == 503
    assert r.json()["services"]["bic-gateway"] == {
        **r.json()["services"]["bic-gateway"],
        "up": False,
        "reason": "never seen",
    }


def test_readyz_is_503_while_the_broker_is_down(broker, service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/api/status")
    api = Api(service)
    watcher.wait_for("canbridge/api/status", "online")
    assert api.get("/readyz").status_code == 200
    watcher.close()
    broker.stop()
    # /livez answers without the broker; /readyz does not claim readiness
    r = api.get("/readyz")
    for _ in range(100):
        if r.status_code == 503:
            break
        r = api.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["mqtt"]["connected"] is False
    assert api.get("/livez").status_code == 200
    broker.start()
    back = Probe(broker, "admin")
    try:
        back.subscribe("canbridge/api/status")
        back.wait_for("canbridge/api/status", "online")
    finally:
        back.close()
    assert api.get("/readyz").status_code == 200


def test_openapi_is_served(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/livez", "/readyz", "/health"} <= set(paths)


def test_config_lists_every_service_with_secrets_redacted(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/config")
    api = Api(service)
    other = service(
        ["tests/fake_service.py", "wican-status"],
        "wican-status",
        {"CANBRIDGE_MQTT__PASSWORD": "inline-secret", "CANBRIDGE_LOG_LEVEL": "debug"},
    )
    watcher.wait_for("canbridge/wican-status/config")
    answering(api, watcher)
    wait_until(
        watcher, lambda: "wican-status" in api.get("/config").json()["services"], "the config"
    )
    body = api.get("/config").json()["services"]
    assert body["wican-status"]["log_level"] == "debug"
    assert body["wican-status"]["mqtt"]["password"] == "***"
    assert body["wican-status"]["mqtt"]["username"] == "wican-status"
    assert "inline-secret" not in api.get("/config").text
    assert body["api"]["token"] is None  # the API reads its token from a file
    assert body["api"]["token_file"].endswith("api-token")
    other.terminate()


def test_live_state_endpoints_follow_the_retained_topics(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    probe(user="wican-soc").publish(
        "canbridge/vehicle/leaf/state", json.dumps({"soc": 82.1, "time": "t"}), retain=True
    )
    gw = probe(user="bic-gateway")
    gw.publish("canbridge/bic/0/state", json.dumps({"dc_w": -500}), retain=True)
    gw.publish("canbridge/bic/0/info", json.dumps({"model": "BIC-2200-48"}), retain=True)
    gw.publish("canbridge/bic/0/wear", json.dumps({"eeprom_total": 12}), retain=True)
    wait_until(watcher, lambda: "leaf" in api.get("/vehicles").json()["vehicles"], "vehicle")
    leaf = api.get("/vehicles").json()["vehicles"]["leaf"]
    assert leaf["value"]["soc"] == 82.1 and leaf["age_s"] >= 0
    wait_until(watcher, lambda: api.get("/bic").json()["units"].get("0", {}).get("info"), "bic")
    unit = api.get("/bic").json()["units"]["0"]
    assert unit["state"]["value"] == {"dc_w": -500}
    assert unit["info"]["value"]["model"] == "BIC-2200-48"
    assert unit["fault"] is None
    wait_until(watcher, lambda: api.get("/bic").json()["units"]["0"]["write_counters"], "wear")
    assert api.get("/bic").json()["units"]["0"]["write_counters"]["value"] == {"eeprom_total": 12}
    # an empty retained payload removes the vehicle (its value was deleted or expired)
    probe(user="wican-soc").publish("canbridge/vehicle/leaf/state", b"", retain=True)
    wait_until(watcher, lambda: api.get("/vehicles").json()["vehicles"] == {}, "vehicle gone")
    assert api.get("/controller").json() == {"controller": None, "decisions": []}
    ctl = probe(user="charge-controller")
    for setpoint, reason in [(-300, "grid 300 W"), (-300, "grid 300 W"), (None, "deadband")]:
        state = {
            "time": "t",
            "mode": "auto",
            "last_decision": {"setpoint_w": setpoint, "reason": reason},
        }
        ctl.publish("canbridge/charge-controller/state", json.dumps(state), retain=True)
    wait_until(watcher, lambda: len(api.get("/controller").json()["decisions"]) == 2, "decisions")
    body = api.get("/controller").json()
    assert [d["reason"] for d in body["decisions"]] == ["deadband", "grid 300 W"]
    assert body["controller"]["value"]["mode"] == "auto"


def test_a_service_that_beat_before_the_api_started_is_up_at_once(service, probe):
    """The heartbeat is retained (with its expiry): an api started after a service does not
    wait for the next beat, here a minute away, to call it up."""
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    service(
        ["tests/fake_service.py", "wican-status"],
        "wican-status",
        {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "60"},
    )
    watcher.wait_for("canbridge/wican-status/heartbeat")  # its first beat, before the api
    api = Api(service)
    answering(api, watcher)
    wait_until(
        watcher,
        lambda: (api.get("/health").json()["services"].get("wican-status") or {}).get("up"),
        "wican-status up in /health without a new beat",
    )
    # the watcher subscribed before the service started: every beat reached it live
    beats = watcher.received("canbridge/wican-status/heartbeat")
    assert len(beats) == 1, "the api saw the first beat, retained: no second one came"
