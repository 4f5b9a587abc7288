from services.charge_controller.winter_mode import WinterMode, WinterSettings

SETTINGS = WinterSettings(min_soc_pct=20, max_soc_pct=50, charge_w=300, min_temperature_c=10)


def test_charges_below_min_until_max_then_releases() -> None:
    winter = WinterMode()
    assert winter.evaluate(SETTINGS, 30, 15).force_charge_w is None
    action = winter.evaluate(SETTINGS, 19, 15)
    assert action.force_charge_w == 300 and not action.allow_discharge
    assert winter.evaluate(SETTINGS, 35, 15).force_charge_w == 300  # keeps going up to max
    released = winter.evaluate(SETTINGS, 50, 15)
    assert released.force_charge_w is None and released.allow_discharge


def test_no_discharge_at_the_minimum() -> None:
    assert not WinterMode().evaluate(SETTINGS, 20, 15).allow_discharge


def test_cold_or_unknown_temperature_forces_nothing() -> None:
    winter = WinterMode()
    cold = winter.evaluate(SETTINGS, 10, 5)
    assert cold.force_charge_w is None and not cold.allow_discharge and "5 °C" in cold.reason
    assert winter.evaluate(SETTINGS, 10, None).force_charge_w is None
    assert winter.evaluate(SETTINGS, 10, 12).force_charge_w == 300


def test_unknown_soc_forces_nothing_and_blocks_discharge() -> None:
    action = WinterMode().evaluate(SETTINGS, None, 20)
    assert action.force_charge_w is None and not action.allow_discharge
