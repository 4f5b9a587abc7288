"""The status page, rendered by a real headless Chromium."""

from __future__ import annotations

import json

from harness import Api, answering, browse, save_screenshot, wait_until


def test_status_page_shows_soc_power_grid_and_health_in_chromium(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    probe(user="wican-soc").publish(
        "canbridge/vehicle/leaf/state", json.dumps({"soc": 82.1}), retain=True
    )
    probe(user="bic-gateway").publish(
        "canbridge/bic/0/state", json.dumps({"ac_power": -480.0}), retain=True
    )
    probe(user="charge-controller").publish(
        "canbridge/charge-controller/state", json.dumps({"grid_w": 12.0}), retain=True
    )
    wait_until(watcher, lambda: "leaf" in api.get("/vehicles").json()["vehicles"], "vehicle")
    wait_until(watcher, lambda: "0" in api.get("/bic").json()["units"], "bic unit")
    wait_until(watcher, lambda: api.get("/controller").json()["controller"], "controller")

    dom = browse(api.url + "/status", "--dump-dom", "--virtual-time-budget=2000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-name="leaf"' in html
    assert "82.1 %" in html
    assert "-480 W" in html
    assert 'data-field="grid">12 W' in html
    assert "<td>api</td><td>up</td>" in html

    save_screenshot(api.url + "/status", "status-page")
