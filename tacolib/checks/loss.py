"""Checks for notebooks 07 (loss and masking) and 08 (single-batch overfit).

07: masked MSE and stop-token targets. 08: the focus of an alignment and the
guided-attention penalty map.
"""

from __future__ import annotations

import torch

from tacolib.checks import exercise
from tacolib.loss import masked_mse as _masked_mse
from tacolib.masks import lengths_to_mask
from tacolib.masks import make_gate_targets as _make_gate_targets

NOTEBOOK = "07_loss_and_masking"


def _mse_cases():
    g = torch.Generator().manual_seed(7)
    cases = []
    for lengths, T_out, n_mels in [([6, 3], 6, 4), ([9, 9, 1], 9, 5), ([2], 5, 3)]:
        pred = torch.randn(len(lengths), T_out, n_mels, generator=g)
        target = torch.randn(len(lengths), T_out, n_mels, generator=g)
        mask = lengths_to_mask(torch.tensor(lengths), T_out)
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


# ---- notebook 08: alignment --------------------------------------------------------

NOTEBOOK_08 = "08_single_batch_overfit"


def _focus_reference(alignment: torch.Tensor) -> torch.Tensor:
    """Focus of one ``(T_dec, T_in)`` alignment: mean over steps of the row maximum."""
    from tacolib.metrics import focus

    return focus(alignment)[0]


def _focus_cases():
    g = torch.Generator().manual_seed(8)
    sharp = torch.zeros(12, 5)
    sharp[torch.arange(12), torch.arange(12) * 5 // 12] = 1.0
    return [
        ((torch.softmax(torch.randn(10, 7, generator=g), -1),), {}),
        ((torch.softmax(3 * torch.randn(20, 9, generator=g), -1),), {}),
        ((sharp,), {}),
    ]


def _guided_reference(text_length: int, dec_length: int, sigma: float) -> torch.Tensor:
    """Guided-attention penalty ``W`` ``(dec_length, text_length)`` of one utterance."""
    from tacolib.loss import guided_attention_weights

    return guided_attention_weights(torch.tensor([text_length]), torch.tensor([dec_length]), text_length, dec_length, sigma)[0]


def _guided_cases():
    return [((12, 30, 0.2), {}), ((7, 7, 0.4), {}), ((40, 25, 0.1), {})]


check_attention_focus = exercise("attention_focus", NOTEBOOK_08, reference=_focus_reference, cases=_focus_cases)
check_guided_attention_matrix = exercise("guided_attention_matrix", NOTEBOOK_08, reference=_guided_reference, cases=_guided_cases)
