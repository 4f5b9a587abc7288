"""End to end: the WiCAN simulator's SoC reaches the status page, seen by headless Chromium."""

from __future__ import annotations

import json

from harness import Api, answering, browse, save_screenshot, wait_until
from wican_soc.wican_stack import SET, SOC_TOPIC, VEHICLE, start_stack


def test_status_page_shows_the_simulated_soc(service, probe, tmp_path):
    watcher = probe()
    watcher.subscribe(SOC_TOPIC)
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    start_stack(service, tmp_path)
    watcher.wait_for(SOC_TOPIC)  # the simulator is up and answering (so it gets commands)
    probe(user="admin").publish(SET, json.dumps({"soc": 63.5}))
    # the simulator answers the next request with the new SoC
    watcher.wait_for(SOC_TOPIC, where=lambda m: json.loads(m.payload)["soc"] == 63.5)
    wait_until(
        watcher,
        lambda: (
            (api.get("/vehicles").json()["vehicles"].get(VEHICLE) or {}).get("value", {}).get("soc")
            == 63.5
        ),
        "the API's view of the SoC",
    )
    dom = browse(api.url + "/status", "--dump-dom", "--virtual-time-budget=2000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f'data-name="{VEHICLE}"' in dom.stdout
    assert "63.5 %" in dom.stdout
    for name in ("wican-soc", "wican-status"):
        assert f"<td>{name}</td><td>up</td>" in dom.stdout
    save_screenshot(api.url + "/status", "status-page-simulated-car")
