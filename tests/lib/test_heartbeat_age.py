"""How old a retained heartbeat is, from what is left of its expiry (shared.heartbeat)."""

from shared.heartbeat import retained_age_s


def test_age_is_the_expiry_used_up():
    assert retained_age_s(10, 30) == 0.0  # just published: 3 intervals left
    assert retained_age_s(10, 21) == 9.0
    assert retained_age_s(0.5, 1) == 1.0  # 3 x 0.5 s rounds to a 2 s expiry
    assert retained_age_s(10, 45) == 0.0  # more left than it was given: not negative


def test_missing_or_odd_numbers_count_as_fresh():
    assert retained_age_s(None, 20) == 0.0
    assert retained_age_s(10, None) == 0.0
    assert retained_age_s("10", 20) == 0.0
