"""The topic contract (shared.contract): builders, status and switch words, efficiency,
the retained-command policy and the generated topic tables (README, service docs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.contract import topics as t
from shared.contract.catalog import BIC_DOC, CONTROLLER_DOC, PAGES
from shared.contract.efficiency import ac_from_dc, dc_from_ac
from shared.contract.retained import EVENT, REASON, RetainedCommands
from shared.contract.status import (
    OFFLINE,
    ONLINE,
    is_offline,
    is_online,
    parse_status,
    parse_switch,
)
from shared.contract.table import END, START, markdown_table, replace_table

ROOT = Path(__file__).resolve().parents[2]


def test_service_topics():
    assert t.status_topic("canbridge", "api") == "canbridge/api/status"
    assert t.heartbeat_topic("home/cb", "wican-soc") == "home/cb/wican-soc/heartbeat"
    assert t.config_topic("canbridge", "+") == "canbridge/+/config"


def test_controller_topics():
    assert t.controller_topic("cb", "state") == "cb/charge-controller/state"
    assert t.controller_set("cb", "control/target_w") == "cb/charge-controller/set/control/target_w"
    assert t.controller_set("cb", "#") == "cb/charge-controller/set/#"
    assert t.controller_switch("cb", "boiler") == "cb/charge-controller/switch/boiler"


def test_unit_topics_and_filters():
    unit = t.UnitTopics("cb", 3)
    assert (unit.root, unit.state, unit.availability) == (
        "cb/bic/3",
        "cb/bic/3/state",
        "cb/bic/3/availability",
    )
    assert unit.value("energy_charged") == "cb/bic/3/energy_charged"
    assert unit.set(t.SET_POWER) == "cb/bic/3/set/power"
    assert t.unit_filter("cb", "state") == "cb/bic/+/state"
    assert t.set_filter("cb") == "cb/bic/+/set/+"
    assert t.unit_template("set/power") == "{base}/bic/{unit}/set/power"


def test_a_typo_on_unit_topics_is_an_error_not_a_topic():
    with pytest.raises(AttributeError):
        t.UnitTopics("cb", 0).stat  # noqa: B018


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("cb/bic/7/set/power", (7, "power")),
        ("cb/bic/x/set/power", None),
        ("cb/bic/²/set/power", None),
        ("cb/bic/1234/set/power", None),
        ("other/bic/7/set/power", None),
        ("cb/bic/7/state", None),
    ],
)
def test_parse_set_topic(topic, expected):
    assert t.parse_set_topic("cb", topic) == expected


def test_vehicle_and_wican_topics():
    assert t.vehicle_topic("cb", "leaf", "soc") == "cb/vehicle/leaf/soc"
    assert t.vehicle_state_filter("cb") == "cb/vehicle/+/state"
    assert t.vehicle_of_state("cb/vehicle/leaf/state") == "leaf"
    assert t.vehicle_of_state("cb/vehicle/leaf/soc") is None
    assert (t.tx_topic("ab12"), t.rx_topic("ab12")) == ("wican/ab12/can/tx", "wican/ab12/can/rx")
    assert t.wican_status_topic("ab12") == "wican/ab12/status"
    assert t.wican_status_topic("ab12", firmware_2024=True) == "wican/ab12/can/status"
    assert t.device_of("wican/ab12/can/rx") == "ab12"
    assert t.device_of("car/soc") is None


def test_home_assistant_topics():
    assert t.ha_status_topic() == "homeassistant/status"
    assert t.ha_device_topic("cb_bic_0", "ha") == "ha/device/cb_bic_0/config"


# every form one of the services accepted before the contract existed
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"online", ONLINE),  # every service's own status, HA's birth message
        (b"offline", OFFLINE),
        (b" online\n", ONLINE),  # the controller and the gateway stripped blanks
        (b"Online", ONLINE),  # ... and ignored case
        (b"OFFLINE ", OFFLINE),
        ("online", ONLINE),  # a str (the gateway's queue and watchdog get text)
        (b'{"status": "online"}', ONLINE),  # a WiCAN
        (b'{"status": "OFFLINE"}', OFFLINE),
        (b'"online"', ONLINE),  # a JSON string
        (b"", None),
        (b"on", None),
        (b'{"status": 1}', None),
        (b"[1]", None),
        (b"\xff\xfe", None),
        (b"9" * 5000, None),  # beyond the status limit
    ],
)
def test_status_forms(payload, expected):
    assert parse_status(payload) == expected
    assert is_online(payload) is (expected == ONLINE)
    assert is_offline(payload) is (expected == OFFLINE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *(
            (word, True)
            for word in ("on", "true", "enable", "enabled", "1", " ON ", '"on"', "True")
        ),
        *((word, False) for word in ("off", "false", "disable", "disabled", "0", "Off", '"0"')),
        ("2", None),
        ("", None),
        ("yes please", None),
    ],
)
def test_switch_words(text, expected):
    assert parse_switch(text) is expected


@pytest.mark.parametrize("efficiency", [0.93, 0.8, 1.0])
@pytest.mark.parametrize("watts", [-2200.0, -1.5, 0.0, 0.25, 1800.0])
def test_efficiency_round_trip(watts, efficiency):
    assert dc_from_ac(ac_from_dc(watts, efficiency), efficiency) == pytest.approx(watts)
    assert ac_from_dc(dc_from_ac(watts, efficiency), efficiency) == pytest.approx(watts)


def test_efficiency_losses_are_on_the_grid_side():
    assert ac_from_dc(930.0, 0.93) == pytest.approx(1000.0)  # charging draws more from the grid
    assert ac_from_dc(-1000.0, 0.93) == pytest.approx(-930.0)  # discharging feeds in less
    assert dc_from_ac(1000.0, 0.93) == pytest.approx(930.0)
    assert dc_from_ac(-930.0, 0.93) == pytest.approx(-1000.0)


def test_a_live_command_passes():
    warnings = []
    policy = RetainedCommands(lambda *a, **kw: warnings.append((a, kw)))
    assert policy.refuse("cb/bic/0/set/power", retained=False, now=0.0) is None
    assert warnings == []


def test_a_retained_command_is_refused_and_logged_once_per_topic_then_with_a_count():
    warnings = []
    policy = RetainedCommands(lambda event, **kw: warnings.append((event, kw)), reminder_s=60)
    for now in (0.0, 1.0, 2.0):
        assert policy.refuse("cb/bic/0/set/power", retained=True, now=now) == REASON
    assert policy.refuse("cb/bic/0/set/state", retained=True, now=3.0) == REASON
    assert policy.refuse("cb/bic/0/set/power", retained=True, now=61.0) == REASON
    assert [(e, kw["topic"], kw["repeated"]) for e, kw in warnings] == [
        (EVENT, "cb/bic/0/set/power", 0),
        (EVENT, "cb/bic/0/set/state", 0),
        (EVENT, "cb/bic/0/set/power", 2),
    ]
    assert all(kw["reason"] == REASON for _e, kw in warnings)


@pytest.mark.parametrize("page", PAGES)
def test_topic_tables_are_generated_from_the_contract(page):
    # the README's and every service doc's (docs/bic2200.md, ...): none written by hand
    document = (ROOT / page).read_text()
    assert replace_table(document, markdown_table(page)) == document, (
        f"{page}'s topic table is out of date: run make topics"
    )


@pytest.mark.parametrize("page", PAGES)
def test_a_pages_table_links_from_that_page(page):
    # the catalog writes links from the repository root; each page's table has them from there
    targets = re.findall(r"\]\(([^)#]+)", markdown_table(page))
    assert targets, "every page's table has a link"
    for target in targets:
        assert (ROOT / page).parent.joinpath(target).is_file(), f"{page}: {target}"


def test_a_service_page_lists_its_own_topics_only():
    bic, controller = markdown_table(BIC_DOC), markdown_table(CONTROLLER_DOC)
    assert "/bic/<unit>/fault`" in bic and "/charge-controller/state`" not in bic
    assert "/charge-controller/state`" in controller and "/bic/<unit>/fault`" not in controller
    assert "`ev.wallbox_topic`" in controller and "`ev.wallbox_topic`" not in markdown_table()


def test_table_markers_are_required():
    with pytest.raises(ValueError, match="markers"):
        replace_table("no table here", "| x |")
    assert replace_table(f"a\n{START}\nold\n{END}\nb", "new") == f"a\n{START}\nnew\n{END}\nb"


def test_table_topics_come_from_the_builders():
    table = markdown_table()
    for topic in (
        t.status_topic("<base>", "<service>"),
        t.UnitTopics("<base>", 0).state.replace("/0/", "/<unit>/"),
        t.controller_set("<base>", "<key>"),
        t.wican_status_topic("<id>", firmware_2024=True),
    ):
        assert f"`{topic}`" in table


def test_a_published_heartbeat_matches_its_model_with_the_interval_as_configured(monkeypatch):
    # last_error is the latest error-level log event, an object (shared.logging_setup.LastError);
    # an int interval is published as an int (`5`, as before the model), keys in model order
    from shared.contract.payloads import Heartbeat as HeartbeatModel
    from shared.heartbeat import Heartbeat
    from shared.logging_setup import LastError
    from shared.mqtt_client import encode_json

    class Client:
        base, service = "canbridge", "bic-gateway"

        def __init__(self) -> None:
            self.published: list[tuple[str, object]] = []

        def rejected_total(self) -> int:
            return 2

        def publish_json(self, topic: str, obj: object, **_options: object) -> None:
            self.published.append((topic, obj))

    monkeypatch.setattr(LastError, "value", None)  # the process-wide value, restored after
    LastError.processor(None, "error", {"event": "can_open_failed", "reason": "no can0"})
    client = Client()
    Heartbeat(client, 5).beat()
    ((topic, obj),) = client.published
    text = encode_json(obj).decode()
    assert topic == "canbridge/bic-gateway/heartbeat"
    assert list(json.loads(text)) == list(HeartbeatModel.model_fields)
    assert '"interval_s":5,' in text and '"rejected_payloads":2}' in text
    beat = HeartbeatModel.model_validate_json(text)
    assert beat.last_error == {"time": None, "event": "can_open_failed", "reason": "no can0"}
