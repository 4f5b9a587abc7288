from services.charge_controller.meter_watchdog import MeterWatchdog


def test_not_ok_before_enough_samples() -> None:
    dog = MeterWatchdog(timeout_s=30, resume_samples=3)
    assert dog.health(0).reason == "no meter sample yet"
    dog.on_sample(1)
    dog.on_sample(2)
    assert not dog.health(2).ok and "2/3" in dog.health(2).reason
    dog.on_sample(3)
    assert dog.health(3).ok


def test_silence_trips_and_needs_fresh_samples_to_resume() -> None:
    dog = MeterWatchdog(timeout_s=30, resume_samples=2)
    dog.on_sample(0)
    dog.on_sample(1)
    assert dog.health(31).ok
    silent = dog.health(31.5)
    assert not silent.ok and "silent for 30 s" in silent.reason and dog.silences == 1
    dog.on_sample(40)  # first sample after the silence
    assert not dog.health(40).ok
    dog.on_sample(41)
    assert dog.health(41).ok


def test_a_late_sample_itself_counts_as_a_silence() -> None:
    dog = MeterWatchdog(timeout_s=10, resume_samples=2)
    dog.on_sample(0)
    dog.on_sample(1)
    dog.on_sample(20)  # nobody asked health() in between
    assert not dog.health(20).ok and dog.silences == 1
