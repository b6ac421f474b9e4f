"""tacolib.progress: the training bar fills towards whichever end comes first (time budget or last step)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from tacolib.progress import BudgetBar, minutes_seconds


def test_minutes_seconds():
    assert [minutes_seconds(s) for s in (0, 59.6, 61, 3600, -5)] == ["0:00", "1:00", "1:01", "60:00", "0:00"]


def _bar_after(seconds: float, step: int, budget_s: float, max_steps: int, spent_s: float = 0.0, start_step: int = 0) -> BudgetBar:
    bar = BudgetBar(budget_s, spent_s, max_steps, start_step, enabled=False)
    bar.t0 = time.time() - seconds  # as if `seconds` had passed since the session began
    bar(SimpleNamespace(step=step), {"loss": 1.25})
    return bar


@pytest.mark.parametrize(
    "seconds, step, budget_s, max_steps, fraction, eta",
    [
        (100, 200, 1800, 2000, 0.1, "15:00"),  # 2 step/s: the steps end first, 900 s from now
        (100, 20, 1800, 2000, 100 / 1800, "28:20"),  # 0.2 step/s: the time budget ends first
        (100, 2000, 1800, 2000, 1.0, "0:00"),  # the last step reached
        (2000, 500, 1800, 2000, 1.0, "0:00"),  # past the budget
    ],
)
def test_the_bar_fills_towards_the_first_end(seconds, step, budget_s, max_steps, fraction, eta):
    bar = _bar_after(seconds, step, budget_s, max_steps)
    assert bar.bar.n == pytest.approx(BudgetBar.UNITS * fraction, abs=2)
    postfix = bar.text
    assert f"step {step}/{max_steps}" in postfix and f"of {minutes_seconds(budget_s)}" in postfix, postfix
    assert postfix.endswith(f"ETA {eta}"), postfix
    bar.close()


def test_a_resumed_run_counts_what_earlier_sessions_spent():
    bar = BudgetBar(600, 300, 2000, 100, enabled=False)
    assert bar.bar.n == BudgetBar.UNITS // 2  # half the time budget already spent
    bar.t0 = time.time() - 100
    bar(SimpleNamespace(step=150), {"loss": 1.0})  # 0.5 step/s: the budget (200 s left) ends first
    assert bar.bar.n == pytest.approx(BudgetBar.UNITS * 400 / 600, abs=2)
    assert "6:40 of 10:00" in bar.text
    bar.close()
