"""Checks for notebook 09 (full training)."""

from __future__ import annotations

from tacolib.checks.core import exercise
from tacolib.config import TrainConfig
from tacolib.samplers import padding_fraction
from tacolib.schedule import learning_rate

NOTEBOOK = "09_full_training"


def _ref_exponential_lr(step: int, lr: float, decay_start: int, decay_rate: float, decay_steps: int, lr_min: float) -> float:
    """Constant ``lr`` before ``decay_start``, then ``lr * decay_rate ** ((step - decay_start) / decay_steps)``, floored at ``lr_min``."""
    cfg = TrainConfig(
        lr=lr, lr_schedule="exponential", lr_decay_start=decay_start, lr_decay_rate=decay_rate, lr_decay_steps=decay_steps, lr_min=lr_min
    )
    return learning_rate(step, cfg)


def _lr_cases():
    args = (2e-3, 1500, 0.5, 1500, 1e-5)
    return [((s, *args), {}) for s in (0, 1499, 1500, 2250, 3000, 6000, 40_000)] + [((700, 1e-3, 0, 0.1, 1000, 1e-6), {})]


check_exponential_lr = exercise("exponential_lr", NOTEBOOK, _ref_exponential_lr, _lr_cases, atol=1e-12, rtol=1e-6)


def _padding_cases():
    lengths = [10, 20, 30, 40, 35, 5, 12, 50]
    return [
        (([[0, 1], [2, 3]], lengths), {}),
        (([[0, 3, 5], [1, 2, 4, 6, 7]], lengths), {}),
        (([[7]], lengths), {}),
    ]


check_padding_fraction = exercise("padding_fraction", NOTEBOOK, padding_fraction, _padding_cases, atol=1e-9, rtol=1e-9)
