"""Checks for notebook 07 (loss and masking): masked MSE and stop-token targets."""

from __future__ import annotations

import torch

from tacolib.checks import exercise
from tacolib.loss import make_gate_targets as _make_gate_targets
from tacolib.loss import masked_mse as _masked_mse
from tacolib.loss import sequence_mask

NOTEBOOK = "07_loss_and_masking"


def _mse_cases():
    g = torch.Generator().manual_seed(7)
    cases = []
    for lengths, T_out, n_mels in [([6, 3], 6, 4), ([9, 9, 1], 9, 5), ([2], 5, 3)]:
        pred = torch.randn(len(lengths), T_out, n_mels, generator=g)
        target = torch.randn(len(lengths), T_out, n_mels, generator=g)
        mask = sequence_mask(torch.tensor(lengths), T_out)
        target[~mask] = -4.1  # padding, as collate writes it
        cases.append(((pred, target, mask), {}))
    return cases


def _gate_cases():
    return [
        ((torch.tensor([4, 2]), 6), {}),
        ((torch.tensor([1, 5, 3]), 5), {}),
        ((torch.tensor([7]), 9), {}),
    ]


check_masked_mse = exercise(
    "masked_mse",
    NOTEBOOK,
    reference=_masked_mse,
    cases=_mse_cases,
    atol=1e-5,
)
check_masked_mse.__doc__ = """masked_mse(pred, target, mask) -> scalar: mean of (pred - target)^2 over real frames."""

check_make_gate_targets = exercise(
    "make_gate_targets",
    NOTEBOOK,
    reference=_make_gate_targets,
    cases=_gate_cases,
    atol=0.0,
    rtol=0.0,
)
check_make_gate_targets.__doc__ = """make_gate_targets(mel_lengths, max_len) -> (B, max_len) float: 1 from the last real frame on."""
