import pytest
from pydantic import ValidationError

from services.charge_controller.surplus_switches import (
    SurplusSwitches,
    SwitchesSettings,
    SwitchSettings,
)


def switch(name: str, **kw) -> SwitchSettings:
    base = dict(
        name=name,
        on_above_w=500,
        off_below_w=-50,
        on_after_s=30,
        off_after_s=20,
        min_on_s=120,
        min_off_s=60,
    )
    return SwitchSettings(**{**base, **kw})


def feed(sw: SurplusSwitches, start: int, end: int, surplus: float, step: int = 5):
    actions = []
    for t in range(start, end + 1, step):
        actions += [(t, a.name, a.on) for a in sw.update(t, surplus)]
    return actions


def test_on_after_surplus_stays_high_then_off_after_min_on() -> None:
    sw = SurplusSwitches(SwitchesSettings(items=[switch("heater")], gap_s=0))
    assert feed(sw, 0, 25, 600) == []
    assert feed(sw, 30, 30, 600) == [(30, "heater", True)]
    # surplus gone at once, but the heater must stay on for min_on_s (120 s)
    assert feed(sw, 35, 145, -200) == []
    assert feed(sw, 150, 150, -200) == [(150, "heater", False)]


def test_short_dips_do_not_switch() -> None:
    sw = SurplusSwitches(SwitchesSettings(items=[switch("heater", min_on_s=0)], gap_s=0))
    feed(sw, 0, 30, 600)
    assert feed(sw, 35, 45, -100) == []  # 10 s below, off_after_s is 20
    assert feed(sw, 50, 60, 100) == []  # back above off_below_w: timer reset
    assert feed(sw, 65, 85, -100) == [(85, "heater", False)]


def test_min_off_time_and_max_on_time() -> None:
    sw = SurplusSwitches(
        SwitchesSettings(items=[switch("pump", max_on_s=100, on_after_s=0)], gap_s=0)
    )
    assert feed(sw, 0, 0, 900) == [(0, "pump", True)]
    assert feed(sw, 5, 100, 900) == [(100, "pump", False)]  # max on time, surplus or not
    assert feed(sw, 105, 155, 900) == []  # min_off_s 60
    assert feed(sw, 160, 160, 900) == [(160, "pump", True)]


def test_priority_order_and_gap_between_actions() -> None:
    settings = SwitchesSettings(
        items=[switch("first", on_after_s=0), switch("second", on_after_s=0)], gap_s=40
    )
    sw = SurplusSwitches(settings)
    assert feed(sw, 0, 35, 2000) == [(0, "first", True)]
    assert feed(sw, 40, 40, 2000) == [(40, "second", True)]
    # off: lowest priority first, gap applies too
    assert feed(sw, 200, 240, -500) == [(220, "second", False)]
    assert feed(sw, 245, 260, -500) == [(260, "first", False)]


def test_surplus_with_and_without_battery_charge() -> None:
    plain = SurplusSwitches(SwitchesSettings())
    assert plain.surplus(-300, 800) == 300
    loads_first = SurplusSwitches(SwitchesSettings(include_battery_charge=True))
    assert loads_first.surplus(-300, 800) == 1100
    assert loads_first.surplus(200, -500) == -200


def test_all_off_switches_every_load_off() -> None:
    sw = SurplusSwitches(SwitchesSettings(items=[switch("a", on_after_s=0)], gap_s=0))
    sw.update(0, 1000)
    actions = sw.all_off(1, "meter lost")
    assert [(a.name, a.on, a.reason) for a in actions] == [("a", False, "meter lost")]
    assert sw.all_off(2, "again") == []


def test_switch_validation() -> None:
    with pytest.raises(ValidationError, match="off_below_w"):
        switch("x", on_above_w=100, off_below_w=200)
    with pytest.raises(ValidationError, match="unique"):
        SwitchesSettings(items=[switch("a"), switch("a")])
    with pytest.raises(ValidationError):
        SwitchesSettings(items=[switch(f"s{i}") for i in range(9)])
    with pytest.raises(ValidationError):
        switch("bad name/with slash")
