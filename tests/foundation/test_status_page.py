"""The status page, rendered by a real headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile

from harness import PROJECT
from test_api_health import Api, answering, wait_until

SCREENSHOT_DIR = PROJECT / "test-output"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: `make test` installs Debian's chromium package"
    return path


def browse(url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="canbridge-chromium-")
    try:
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_status_page_shows_soc_power_grid_and_health_in_chromium(service, probe):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = Api(service)
    answering(api, watcher)
    probe(user="wican-soc").publish(
        "canbridge/vehicle/leaf/state", json.dumps({"soc": 82.1}), retain=True
    )
    probe(user="bic-gateway").publish(
        "canbridge/bic/0/state", json.dumps({"ac_power_w": -480.0}), retain=True
    )
    wait_until(watcher, lambda: "leaf" in api.get("/vehicles").json()["vehicles"], "vehicle")
    wait_until(watcher, lambda: "0" in api.get("/bic").json()["units"], "bic unit")

    dom = browse(api.url + "/", "--dump-dom", "--virtual-time-budget=2000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-name="leaf"' in html
    assert "82.1 %" in html
    assert "-480 W" in html
    assert "<td>api</td><td>up</td>" in html

    SCREENSHOT_DIR.mkdir(exist_ok=True)
    shot = SCREENSHOT_DIR / "status-page.png"
    shot.unlink(missing_ok=True)
    result = browse(api.url + "/", f"--screenshot={shot}", "--window-size=1000,700")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 5000  # a real rendering, not an empty image
    print(f"status page screenshot: {shot}")
