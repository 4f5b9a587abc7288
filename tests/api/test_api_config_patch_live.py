"""PATCH /config/controller against the real broker, the API and the controller as processes."""

from __future__ import annotations

import json

import httpx
from harness import Api, answering, wait_until

OWN = "canbridge/charge-controller"


def start_controller(service, state_file):
    return service(
        ["-m", "services.charge_controller"],
        "charge-controller",
        {
            "CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.5",
            "CANBRIDGE_RUNTIME_STATE_FILE": str(state_file),
        },
    )


def patch(api: Api, body, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    # the API waits up to command_timeout_s (5 s) for the controller's confirmation
    return httpx.patch(api.url + "/config/controller", json=body, headers=headers, timeout=15)


def controller_config(api: Api) -> dict | None:
    return api.get("/config").json()["services"].get("charge-controller")


def api_sees_controller(api: Api, watcher, check=lambda cfg: True) -> dict:
    """Re-checked on every heartbeat (watcher subscribed to them): online and config known."""

    def ready():
        online = api.get("/health").json()["services"].get("charge-controller", {})
        cfg = controller_config(api)
        return cfg if online.get("status") == "online" and cfg and check(cfg) else None

    return wait_until(watcher, ready, "the API to see the controller online with its config")


def test_a_bad_patch_is_422_naming_the_field_and_changes_nothing(broker, service, probe, tmp_path):
    token = broker.tokens["api-token"]
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    commands = probe()
    commands.subscribe(f"{OWN}/set/#")
    configs = probe()
    configs.subscribe(f"{OWN}/config")
    start_controller(service, tmp_path / "cc.json")
    api = Api(service)
    answering(api, watcher)
    before = api_sees_controller(api, watcher)
    assert before["control"]["gain"] == 1.0

    r = patch(api, {"control": {"gain": 5, "deadband_w": 20}, "mode": "hold"}, token)
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["detail"]]
    assert fields == ["control.gain"]
    assert "less than or equal to 1" in r.json()["detail"][0]["msg"]

    for bad, field in [
        ({"mode": "turbo"}, "mode"),
        ({"control": {"start_power_w": 5}}, "control"),
        ({"battery": {"soc_topic": "bms/soc"}}, "battery.soc_topic"),
        ({"no_such": 1}, "no_such"),
    ]:
        r = patch(api, bad, token)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["detail"]][0] == field
    r = httpx.patch(
        api.url + "/config/controller",
        content=b"{nope",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"

    # marker: a good PATCH through the same API connection. MQTT keeps one publisher's
    # messages in order, so had a bad PATCH published anything it would arrive first.
    r = patch(api, {"manual_setpoint_w": 123}, token)
    assert r.status_code == 200, r.text
    commands.wait_for(f"{OWN}/set/manual_setpoint_w")
    assert [(m.topic, m.text) for m in commands.received(f"{OWN}/set/#")] == [
        (f"{OWN}/set/manual_setpoint_w", "123")
    ]
    after = json.loads(
        configs.wait_for(
            f"{OWN}/config", where=lambda m: json.loads(m.payload)["manual_setpoint_w"] == 123
        ).payload
    )
    assert after["control"] == before["control"] and after["mode"] == before["mode"]
    assert controller_config(api)["control"]["gain"] == 1.0


def test_a_good_patch_reaches_the_controller_and_survives_its_restart(
    broker, service, probe, tmp_path
):
    token = broker.tokens["api-token"]
    state_file = tmp_path / "cc.json"
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    reports = probe()
    reports.subscribe(f"{OWN}/config")
    reports.subscribe(f"{OWN}/state")
    controller = start_controller(service, state_file)
    api = Api(service)
    answering(api, watcher)
    api_sees_controller(api, watcher)

    r = patch(api, {"mode": "hold", "control": {"gain": 0.5, "target_w": 25}}, token)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == {"mode": "hold", "control": {"gain": 0.5, "target_w": 25.0}}
    assert r.json()["config"]["control"]["deadband_w"] == 15.0  # untouched keys kept
    # the API answered after the controller re-published its config: GET shows it at once
    assert controller_config(api)["control"]["gain"] == 0.5
    reports.wait_for(f"{OWN}/state", where=lambda m: json.loads(m.payload)["mode"] == "hold")
    assert json.loads(state_file.read_text())["overrides"] == {
        "mode": "hold",
        "control.gain": 0.5,
        "control.target_w": 25.0,
    }

    # SIGKILL: nothing is saved at shutdown, the file was written before the confirmation
    controller.kill()
    wait_until(
        watcher,
        lambda: api.get("/health").json()["services"]["charge-controller"]["status"] == "offline",
        "the controller offline",
    )
    r = patch(api, {"mode": "auto"}, token)
    assert r.status_code == 503 and "not online" in r.json()["detail"]

    reports.clear()
    again = start_controller(service, state_file)
    state = reports.wait_for(
        f"{OWN}/state", where=lambda m: json.loads(m.payload)["mode"] == "hold"
    )
    assert json.loads(state.payload)["target_w"] == 25.0
    # the new process publishes the file settings (shared runtime), then the ones in force
    reports.wait_for(
        f"{OWN}/config", where=lambda m: json.loads(m.payload)["control"]["gain"] == 0.5
    )
    cfg = api_sees_controller(api, watcher, lambda c: c["control"]["gain"] == 0.5)
    assert cfg["mode"] == "hold" and cfg["control"]["target_w"] == 25.0
    assert '"runtime_state_applied"' in again.log()
    assert api.get("/controller").json()["controller"]["value"]["mode"] == "hold"

    # a further change after the restart merges onto what the new process runs with
    r = patch(api, {"control": {"gain": 0.8}}, token)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["mode"] == "hold" and r.json()["config"]["control"]["target_w"] == 25
    assert json.loads(state_file.read_text())["overrides"]["control.gain"] == 0.8


def test_writes_need_the_token(broker, service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    commands = probe()
    commands.subscribe(f"{OWN}/set/#")
    start_controller(service, tmp_path / "cc.json")
    api = Api(service)
    answering(api, watcher)
    api_sees_controller(api, watcher)
    for token in (None, "wrong"):
        r = patch(api, {"mode": "hold"}, token)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    # marker through the same connection: the refused writes published nothing
    assert patch(api, {"mode": "manual"}, broker.tokens["api-token"]).status_code == 200
    commands.wait_for(f"{OWN}/set/mode")
    assert [m.text for m in commands.received(f"{OWN}/set/#")] == ['"manual"']


def test_a_corrupt_state_file_is_logged_and_ignored(service, probe, tmp_path):
    state_file = tmp_path / "cc.json"
    state_file.write_text('{"format": 1, "overrides": {"control.gain": 7}}')
    reports = probe()
    reports.subscribe(f"{OWN}/state")
    controller = start_controller(service, state_file)
    state = json.loads(reports.wait_for(f"{OWN}/state").payload)
    assert state["mode"] == "auto"
    lines = [json.loads(line) for line in controller.log().splitlines() if line.startswith("{")]
    [ignored] = [e for e in lines if e.get("event") == "runtime_state_ignored"]
    assert "control.gain" in ignored["reason"]
    assert controller.proc.poll() is None


def test_a_controller_that_does_not_answer_gives_504(broker, service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    # stands in for the controller: online with a config, but never answers a command
    service(
        ["tests/fake_service.py", "charge-controller"],
        "charge-controller",
        {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "0.5"},
    )
    api = Api(service, CANBRIDGE_COMMAND_TIMEOUT_S="0.5")
    answering(api, watcher)
    api_sees_controller(api, watcher)
    r = patch(api, {"mode": "hold"}, broker.tokens["api-token"])
    assert r.status_code == 504, r.text
    assert r.json()["unconfirmed"] == ["mode"] and "did not confirm mode" in r.json()["detail"]
