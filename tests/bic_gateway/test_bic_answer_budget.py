"""Refusals are answered at a bounded rate, and what is withheld is counted, not lost."""

from services.bic_gateway.answer_budget import AnswerBudget


def test_a_burst_goes_out_then_the_rate_holds_and_the_withheld_are_counted():
    budget = AnswerBudget(rate_per_s=10, burst=5)
    assert [budget.take(0.0) for _ in range(5)] == [(True, 0)] * 5
    assert [budget.take(0.0)[0] for _ in range(7)] == [False] * 7
    assert budget.take(0.05) == (False, 0)  # half a token: still nothing
    assert budget.take(0.1) == (True, 8)  # one token: it goes out, and says 8 were withheld
    assert budget.take(0.1) == (False, 0)
    assert budget.take(10.0) == (True, 1)


def test_a_quiet_sender_is_never_held_back():
    budget = AnswerBudget(rate_per_s=20, burst=40)
    assert all(budget.take(t * 0.1) == (True, 0) for t in range(1000))  # 10 answers/s


def test_over_a_long_flood_the_answers_average_the_rate():
    budget = AnswerBudget(rate_per_s=20, burst=40)
    sent = sum(budget.take(i / 1000)[0] for i in range(60_000))  # 1,000 refusals/s for 60 s
    assert 40 + 20 * 60 - 1 <= sent <= 40 + 20 * 60 + 1


def test_the_withheld_are_told_once_the_budget_allows_even_with_no_answer_to_carry_them():
    budget = AnswerBudget(rate_per_s=10, burst=2)
    assert [budget.take(0.0)[0] for _ in range(5)] == [True, True, False, False, False]
    assert budget.flush(0.05) == 0  # no token yet
    assert budget.flush(0.1) == 3
    assert budget.flush(5.0) == 0  # told once
