from services.charge_controller.ev_guard import EvGuard, EvSettings

ON = EvSettings(wallbox_topic="evcc/loadpoints/1/chargePower", charging_above_w=100, max_age_s=60)


def test_off_without_topic() -> None:
    assert EvGuard().charging(EvSettings(), 0) == (False, "EV awareness off")


def test_charging_from_plain_and_json_payloads() -> None:
    guard = EvGuard()
    guard.ingest(ON, 0, b"3700")
    assert guard.charging(ON, 1)[0]
    guard.ingest(ON, 2, b"50")
    assert not guard.charging(ON, 2)[0]
    settings = ON.model_copy(update={"json_path": "power", "scale": 1000})
    guard.ingest(settings, 3, b'{"power": 1.2}')
    charging, reason = guard.charging(settings, 3)
    assert charging and "1200 W" in reason


def test_stale_or_unavailable_counts_as_not_charging() -> None:
    guard = EvGuard()
    guard.ingest(ON, 0, b"3700")
    assert not guard.charging(ON, 61)[0]
    assert guard.ingest(ON, 62, b"unavailable") is not None
    assert guard.charging(ON, 62) == (False, "no wallbox reading: car assumed not charging")
