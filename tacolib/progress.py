"""Progress on long work: status lines and a bar over a training time budget.

Used by the quickstart (its stages and its training budget) and the command line.
"""

from __future__ import annotations

import sys
import time

__all__ = ["say", "minutes_seconds", "BudgetBar"]


def say(msg: str) -> None:
    """Print a status line that does not tear tqdm bars."""
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stdout)
    sys.stdout.flush()


def minutes_seconds(seconds: float) -> str:
    """``m:ss`` of a duration in seconds (negative counts as 0)."""
    seconds = max(0.0, float(seconds))
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


class BudgetBar:
    """A tqdm bar over the training time budget, with steps, loss and an ETA.

    Used as the trainer's ``on_step`` hook (the quickstart's training stage). Its total
    is the budget in seconds; the ETA is the budget's end, or the end of ``max_steps``
    when that comes first.

    Parameters
    ----------
    budget_s, spent_s : float
        The whole budget, and what earlier sessions of the run spent of it (s).
    max_steps, start_step : int
        The run's last step, and the step this session starts at.
    enabled : bool
        False: no bar (``--no-progress``).
    """

    def __init__(self, budget_s: float, spent_s: float, max_steps: int, start_step: int, enabled: bool = True):
        from tqdm.auto import tqdm

        self.budget_s, self.spent_s = budget_s, spent_s
        self.max_steps, self.start_step = max_steps, start_step
        self.t0 = time.time()
        self.bar = tqdm(
            total=round(budget_s), initial=min(round(spent_s), round(budget_s)), desc="train", unit="s",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s of budget{postfix}", dynamic_ncols=True, disable=not enabled,
        )
        self.bar.set_postfix_str(f"step {start_step}, starting (the first steps are slow)", refresh=True)

    def __call__(self, trainer, record: dict) -> None:
        now = time.time() - self.t0
        done = self.spent_s + now
        steps = trainer.step - self.start_step
        rate = steps / max(now, 1e-9)
        left = self.budget_s - done
        if trainer.step >= self.max_steps:
            left = 0.0
        elif rate > 0:
            left = min(left, (self.max_steps - trainer.step) / rate)
        self.bar.n = min(round(done), self.bar.total)
        self.bar.set_postfix_str(
            f"step {trainer.step}, loss {record['loss']:.3f}, {rate:.2f} step/s, ETA {minutes_seconds(max(0.0, left))}",
            refresh=False,
        )
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
