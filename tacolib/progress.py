"""Progress on long work: status lines and a bar over a training run (a time budget, a step count).

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
    """A tqdm bar over a training run that ends at a time budget or at ``max_steps``, whichever comes first.

    Used as the trainer's ``on_step`` hook (the quickstart's training stage). The bar
    fills towards the expected end: the budget's end, or the end of ``max_steps`` at the
    pace measured so far when that comes first (the quickstart's default trains 2000
    steps within a generous time ceiling, so steps are what end it on most machines)::

        train:  41%|####      | step 820/2000, loss 1.102, 1.66 step/s, 8:12 of 30:00, ETA 11:50

    Parameters
    ----------
    budget_s, spent_s : float
        The whole budget, and what earlier sessions of the run spent of it (s).
    max_steps, start_step : int
        The run's last step, and the step this session starts at.
    enabled : bool
        False: no bar (``--no-progress``).
    """

    UNITS = 1000  # the bar's resolution: per mille of the expected run

    def __init__(self, budget_s: float, spent_s: float, max_steps: int, start_step: int, enabled: bool = True):
        from tqdm.auto import tqdm

        self.budget_s, self.spent_s = budget_s, spent_s
        self.max_steps, self.start_step = max_steps, start_step
        self.t0 = time.time()
        start = max(spent_s / budget_s if budget_s > 0 else 1.0, start_step / max(1, max_steps))
        self.bar = tqdm(
            total=self.UNITS, initial=round(min(1.0, start) * self.UNITS), desc="train",
            bar_format="{desc}: {percentage:3.0f}%|{bar}|", dynamic_ncols=True, disable=not enabled,
        )
        self.show(f"step {start_step}/{max_steps}, starting (the first steps are slow)")

    def __call__(self, trainer, record: dict) -> None:
        now = time.time() - self.t0
        done = self.spent_s + now
        steps = trainer.step - self.start_step
        rate = steps / max(now, 1e-9)
        left = max(0.0, self.budget_s - done)
        if trainer.step >= self.max_steps:
            left = 0.0
        elif rate > 0:
            left = min(left, (self.max_steps - trainer.step) / rate)
        self.bar.n = round(self.UNITS * min(1.0, done / max(done + left, 1e-9)))
        self.show(f"step {trainer.step}/{self.max_steps}, loss {record['loss']:.3f}, {rate:.2f} step/s, "
                  f"{minutes_seconds(done)} of {minutes_seconds(self.budget_s)}, ETA {minutes_seconds(left)}")

    def show(self, text: str) -> None:
        """Redraw the bar with ``text`` after it (held in ``self.text``)."""
        self.text = text
        self.bar.bar_format = "{desc}: {percentage:3.0f}%|{bar}| " + text.replace("{", "{{").replace("}", "}}")
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
