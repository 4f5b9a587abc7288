"""The dashboard in a real headless Chromium, used the way a person uses it.

Screenshots at desktop and phone widths, light and dark, land in test-output/.
"""

from __future__ import annotations

import json

import pytest
from api.dashboard_stack import api_token, api_with_history, with_config
from bic_gateway.bic_stack import private_bus
from bic_gateway.bic_stack import start_stack as start_bic_stack
from cdp_browser import Browser
from harness import PROJECT, answering
from wican_soc.wican_stack import DEVICE, VEHICLE
from wican_soc.wican_stack import start_stack as start_wican_stack

pytestmark = pytest.mark.integration

DESKTOP = (1280, 900)
PHONE = (390, 844)
#: every chart has drawn its data (or says it has none); false right after a colour change
CHARTS_DRAWN = (
    "document.fonts.status === 'loaded' && [...document.querySelectorAll('.chart')]"
    ".every(c => c.classList.contains('empty') || c.querySelector('canvas'))"
)


@pytest.fixture
def browser():
    b = Browser(*DESKTOP)
    yield b
    b.close()


def shots(browser: Browser, name: str) -> None:
    """Desktop and phone, light and dark: test-output/<name>-<width>-<scheme>.png."""
    for width, height in (DESKTOP, PHONE):
        for dark in (False, True):
            browser.set_dark(dark)
            browser.resize(width, height, mobile=width < 600)
            scheme = "dark" if dark else "light"
            browser.wait(CHARTS_DRAWN, "charts drawn in the new colours")
            path = browser.screenshot(f"{name}-{'phone' if width < 600 else 'desktop'}-{scheme}")
            assert path.stat().st_size > 10_000
    browser.set_dark(False)
    browser.resize(*DESKTOP)


def field(selector: str) -> str:
    return f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent"


def test_first_run_says_what_is_not_configured_and_links_the_docs(service, probe, browser):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = api_with_history(service)
    shipped = PROJECT / "config" / "canbridge.yaml"
    fast = {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1", "CANBRIDGE_HEALTH_FILE": ""}
    service(with_config("services.charge_controller", shipped), "charge-controller", fast)
    service(with_config("services.bic_gateway", shipped), "bic-gateway", fast)
    service(with_config("services.wican_status", shipped), "wican-status", fast)
    answering(api, watcher)

    browser.open(api.url + "/")
    browser.wait("document.querySelectorAll('#setup li').length === 3", "three setup notes")
    notes = browser.js(
        "[...document.querySelectorAll('#setup li')].map(li => "
        "[li.dataset.setup, li.querySelector('a').getAttribute('href')])"
    )
    assert notes == [
        ["battery", "/guide/bic2200.md#configuration-bic-gateway-in-configcanbridgeyaml"],
        ["car", "/guide/vehicles.md#configuration"],
        ["meter", "/guide/charge-controller.md#configuration"],
    ]
    assert browser.wait(f"{field('#controller [data-field=mode]')} === 'not configured'", "card")
    browser.wait(f"{field('#overall')}.startsWith('all services up')", "every service up")
    shots(browser, "dashboard-first-run")

    # the link opens the docs at the section that explains it
    browser.js("document.querySelector('#setup li[data-setup=battery] a').click()")
    browser.wait("location.pathname === '/guide/bic2200.md'", "the docs page")
    heading = browser.wait(
        "(document.getElementById('configuration-bic-gateway-in-configcanbridgeyaml') || {})"
        ".textContent",
        "the section",
    )
    assert "bic-gateway:" in heading


def test_dashboard_shows_exact_values_flags_in_words_and_history(service, probe, browser):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    api = api_with_history(service)
    answering(api, watcher)
    gw, cc, soc = probe(user="bic-gateway"), probe(user="charge-controller"), probe("wican-soc")
    gw.publish(
        "canbridge/bic/0/state",
        json.dumps(
            {
                "voltage": 52.31,
                "current": -9.2,
                "ac_power": -480.0,
                "temperature": 31,
                "direction": "discharge",
                "operation": "on",
                "flags": {"master": True},
                "problems": [],
            }
        ),
        retain=True,
    )
    gw.publish(
        "canbridge/bic/0/fault",
        json.dumps(
            {
                "flags": {
                    "otp": {
                        "active": True,
                        "count": 1,
                        "severity": "fault",
                        "description": "over-temperature; re-power after cool-down",
                    }
                }
            }
        ),
        retain=True,
    )
    gw.publish(
        "canbridge/bic/0/wear",
        json.dumps({"eeprom_total": 1234, "eeprom_writes": {"VOUT_SET": 1234}, "budget": 4000000}),
        retain=True,
    )
    gw.publish("canbridge/bic/0/availability", "online", retain=True)
    soc.publish(
        "canbridge/vehicle/leaf/state",
        json.dumps({"soc": 82.1, "soh": 91.5, "device_id": DEVICE}),
        retain=True,
    )
    probe(user="wican").publish(f"wican/{DEVICE}/status", json.dumps({"status": "online"}))
    state = {
        "enabled": True,
        "mode": "auto",
        "target_w": 20,
        "setpoint_w": -470,
        "battery_w": -480,
        "limits": {
            "max_charge_w": 2200,
            "max_discharge_w": 1700,
            "profile": None,
            "reasons": ["battery window"],
        },
        "last_decision": {"setpoint_w": -470, "reason": "regulating: grid 12 W"},
    }
    for grid in (30, 25, 12):  # live (not retained): recorded into the history
        cc.publish(
            "canbridge/charge-controller/state",
            json.dumps({**state, "grid_w": grid, "time": "2026-12-02T06:00:00+00:00"}),
        )

    browser.open(api.url + "/")
    browser.wait(f"{field('[data-kind=bic] [data-field=power]')} === '-480 W'", "battery card")
    assert browser.text("[data-kind=bic] [data-field=voltage]") == "52.31 V"
    assert browser.text("[data-kind=bic] [data-field=current]") == "-9.20 A"
    assert browser.text("[data-kind=bic] [data-field=faults]") == (
        "over-temperature; re-power after cool-down"
    )
    assert browser.text("[data-kind=bic] [data-field=status]") == "output on, master"
    assert browser.text("[data-kind=bic] [data-field=eeprom]") == "1234 of 4000000 (0.0308 %)"
    assert browser.text("[data-kind=vehicle][data-name=leaf] [data-field=soc]") == "82.1 %"
    browser.wait(
        f"{field('[data-name=leaf] [data-field=adapter]')} === 'adapter online'", "adapter"
    )
    assert browser.text("#controller [data-field=mode]") == "auto"
    assert browser.text("#controller [data-field=grid]") == "12 W"
    assert browser.text("#controller [data-field=target]") == "20 W"
    assert browser.text("#controller [data-field=limit-reasons]") == "battery window"
    assert "regulating: grid 12 W" in browser.text("#decisions")
    # the three grid samples are in the chart (history of the last hour at 1 s)
    browser.wait("document.querySelector('#chart-power').dataset.names", "power chart")
    assert "grid_w" in browser.js("document.querySelector('#chart-power').dataset.names")
    assert browser.js("document.querySelector('#chart-power canvas') !== null")


@pytest.mark.long(15)
def test_with_the_simulators_charts_move_and_controls_need_the_token(
    service, probe, browser, broker, tmp_path
):
    watcher = probe()
    watcher.subscribe("canbridge/+/heartbeat")
    watcher.subscribe("canbridge/charge-controller/state")
    api = api_with_history(service)
    bus = private_bus()
    start_bic_stack(service, bus, tmp_path)
    start_wican_stack(service, tmp_path, sim_env={"CANBRIDGE_SOC": "61"})
    fast = {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1", "CANBRIDGE_HEALTH_FILE": ""}
    service(["-m", "services.sim.meter"], "sim-meter", {**fast, "CANBRIDGE_PERIOD_S": "0.5"})
    # state at least every second (default 10 s): the chart has points to show sooner
    service(
        ["-m", "services.charge_controller"],
        "charge-controller",
        {**fast, "CANBRIDGE_STATE_INTERVAL_S": "1"},
    )
    answering(api, watcher)

    browser.open(api.url + "/")
    browser.wait(f"{field('#controller [data-field=mode]')} === 'auto'", "controller in auto")
    browser.wait(f"{field('[data-kind=bic] [data-field=voltage]')}.endsWith(' V')", "unit 0")
    browser.wait(
        f"{field(f'[data-kind=vehicle][data-name={VEHICLE}] [data-field=soc]')} === '61.0 %'",
        "the simulated car's SoC",
        timeout=30,
    )
    # the chart moves: a later last point on a later refresh (the chart refreshes every 5 s,
    # the controller publishes on each decision and here at least every second)
    chart = "document.querySelector('#chart-power').dataset"
    browser.wait(f"Number({chart}.points) >= 3", "points in the power chart", timeout=30)
    first = browser.js(f"Number({chart}.lastT)")
    browser.wait(f"Number({chart}.lastT) > {first}", "a later point in the chart", timeout=30)
    browser.wait(f"{field('#overall')}.startsWith('all services up')", "every service up")
    shots(browser, "dashboard")

    # without the token the controller refuses, and nothing changes
    browser.js("document.querySelector('[data-mode=hold]').click()")
    result = browser.wait(
        f"{field('#result')}.startsWith('refused') && {field('#result')}", "refusal"
    )
    assert "HTTP 401" in result
    assert browser.text("#controller [data-field=mode]") == "auto"

    # with it, hold is applied by the controller itself
    browser.js(f"document.querySelector('#token').value = {json.dumps(api_token(broker))}")
    browser.js("document.querySelector('#token-form').requestSubmit()")
    watcher.clear()
    browser.js("document.querySelector('[data-mode=hold]').click()")
    result = browser.wait(f"{field('#result')}.startsWith('applied') && {field('#result')}", "ok")
    assert '"mode":"hold"' in result
    watcher.wait_for(
        "canbridge/charge-controller/state", where=lambda m: json.loads(m.payload)["mode"] == "hold"
    )
    browser.wait(f"{field('#controller [data-field=mode]')} === 'hold'", "the card shows hold")

    # a target the controller's validation refuses is shown with its reason; typed as a user
    # would, into the focused field (a refresh of the page leaves a focused field alone but
    # writes the current target into an unfocused one)
    browser.js("document.querySelector('#target').focus()")
    browser.js("document.querySelector('#target').value = '9000'")
    browser.js("document.querySelector('#target-form').requestSubmit()")
    result = browser.wait(f"{field('#result')}.startsWith('refused') && {field('#result')}", "422")
    assert "HTTP 422" in result and "control.target_w" in result

    # off: the controller is disabled
    browser.js("document.querySelector('[data-mode=off]').click()")
    browser.wait(f"{field('#result')}.startsWith('applied')", "off applied")
    watcher.wait_for(
        "canbridge/charge-controller/state",
        where=lambda m: json.loads(m.payload)["enabled"] is False,
    )
    browser.wait(f"{field('#controller [data-field=mode]')} === 'off'", "the card shows off")

    # a manual setpoint turns the controller back on in mode manual
    browser.js("document.querySelector('#manual').value = '150'")
    browser.js("document.querySelector('#manual-form').requestSubmit()")
    result = browser.wait(f"{field('#result')}.startsWith('applied') && {field('#result')}", "ok")
    assert '"manual_setpoint_w":150' in result
    watcher.wait_for(
        "canbridge/charge-controller/state",
        where=lambda m: (
            json.loads(m.payload)["mode"] == "manual" and json.loads(m.payload)["enabled"] is True
        ),
    )
