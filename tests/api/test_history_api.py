"""/history, /metrics and /dashboard/state over HTTP against a real broker; history survives
a restart of the API."""

from __future__ import annotations

import json

import pytest
from api.dashboard_stack import api_with_history
from harness import answering

pytestmark = pytest.mark.integration


def publish_grid(probe, values) -> None:
    controller = probe(user="charge-controller")
    for grid in values:  # live, not retained: what the controller does on every decision
        controller.publish(
            "canbridge/charge-controller/state",
            json.dumps({"enabled": True, "mode": "auto", "grid_w": grid, "setpoint_w": -grid}),
        )


def test_history_is_served_documented_and_survives_a_restart(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = api_with_history(service)
    answering(api, watcher)
    publish_grid(probe, [100, 200, 300])

    def grid_points():
        answer = api.get("/history?series=grid_w,setpoint_w&from=-600&max_points=4000").json()
        return answer["series"]["grid_w"]["points"]

    points = watcher.wait(lambda: grid_points(), "grid_w in /history")
    assert api.get("/history/series").json()["series"] == ["grid_w", "setpoint_w"]
    assert sum(p[3] for p in points) >= 300  # the max of each bucket; 300 W is in one

    schema = api.get("/openapi.json").json()
    params = {p["name"] for p in schema["paths"]["/history"]["get"]["parameters"]}
    assert params == {"series", "from", "to", "max_points"}
    assert "HistoryAnswer" in schema["components"]["schemas"]

    assert api.get("/history?series=grid_w&from=-10&to=-20").status_code == 422
    assert api.get("/history?series=,&from=-10").status_code == 422
    assert api.get("/history?series=grid_w&max_points=1").status_code == 422

    # SIGTERM (uvicorn exits by the signal it caught): open buckets are written on the way out
    api.proc.terminate()
    assert "Application shutdown complete" in api.proc.log()
    again = api_with_history(service)
    answering(again, watcher)
    answer = again.get("/history?series=grid_w&from=-600&max_points=4000").json()
    got = answer["series"]["grid_w"]["points"]
    assert max(p[3] for p in got) == 300.0 and min(p[2] for p in got) == 100.0


def test_metrics_and_dashboard_state_agree(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = api_with_history(service)
    answering(api, watcher)
    publish_grid(probe, [42])
    watcher.wait(
        lambda: (api.get("/dashboard/state").json()["controller"] or {}).get("grid_w") == 42,
        "the controller card",
    )
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=")
    text = metrics.text
    assert "canbridge_grid_power_watts 42.0" in text
    assert 'canbridge_controller_mode{mode="auto"} 1.0' in text
    assert 'canbridge_service_up{service="api"} 1.0' in text
    assert "canbridge_mqtt_connected 1.0" in text


def test_an_unusable_history_file_leaves_the_rest_of_the_api_working(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    api = api_with_history(service, CANBRIDGE_HISTORY__FILE=str(blocker / "history.sqlite"))
    answering(api, watcher)
    assert api.get("/history?series=grid_w").status_code == 503
    assert api.get("/dashboard/state").status_code == 200
    assert "canbridge_history" not in api.get("/metrics").text
    assert '"event": "history_unavailable"' in api.proc.log()
