"""Function checks for notebooks 03-05 (the pieces of the boxes).

Each reference below is the plain-function form of what :mod:`tacolib.model` does
inside its modules; ``tests/test_model.py`` checks that the two agree, so a learner
who passes a check has written what the library runs. The boxes themselves are module
exercises (:mod:`tacolib.checks.boxes`, :mod:`tacolib.checks.decoder`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tacolib.checks.core import exercise
from tacolib.masks import lengths_to_mask  # the library's own function is the reference

NB_ENCODER = "03_encoder"
NB_ATTENTION = "04_attention"
NB_DECODER = "05_decoder"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- 03 encoder ----------------------------------------------------------------------


def conv_bn_relu(x, weight, running_mean, running_var, gamma, beta, eps=1e-5):
    """One encoder conv block in eval mode: 'same' Conv1d (no bias) -> BatchNorm -> ReLU.

    ``x`` ``(B, C_in, T)``, ``weight`` ``(C_out, C_in, k)``, the BatchNorm tensors ``(C_out,)``;
    returns ``(B, C_out, T)``.
    """
    y = F.conv1d(x, weight, padding=weight.shape[-1] // 2)  # (B, C_out, T)
    y = (y - running_mean[:, None]) / torch.sqrt(running_var[:, None] + eps) * gamma[:, None] + beta[:, None]
    return torch.relu(y)


def _mask_cases():
    return [((torch.tensor([3, 1, 5]), 5), {}), ((torch.tensor([4]), 6), {}), ((torch.tensor([2, 2]), 2), {})]


def _conv_cases():
    g = _gen(3)
    cases = []
    for B, C_in, C_out, T, k in [(2, 4, 6, 9, 5), (1, 3, 3, 4, 3)]:
        args = (
            torch.randn(B, C_in, T, generator=g),
            torch.randn(C_out, C_in, k, generator=g) * 0.5,
            torch.randn(C_out, generator=g) * 0.2,
            torch.rand(C_out, generator=g) + 0.5,
            torch.rand(C_out, generator=g) + 0.5,
            torch.randn(C_out, generator=g) * 0.3,
        )
        cases.append((args, {}))
    return cases


check_lengths_to_mask = exercise("lengths_to_mask", NB_ENCODER, reference=lengths_to_mask, cases=_mask_cases)
check_conv_bn_relu = exercise("conv_bn_relu", NB_ENCODER, reference=conv_bn_relu, cases=_conv_cases, atol=1e-4)


# ---- 04 attention --------------------------------------------------------------------


def location_features(prev_weights, cum_weights, conv_weight, dense_weight):
    """``U f``: stack [previous; cumulative] weights, 'same' Conv1d (no bias), then a linear map.

    ``prev_weights``, ``cum_weights`` ``(B, T_in)``; ``conv_weight`` ``(n_filters, 2, k)``;
    ``dense_weight`` ``(A, n_filters)``. Returns ``(B, T_in, A)``.
    """
    x = torch.stack([prev_weights, cum_weights], dim=1)  # (B, 2, T_in)
    f = F.conv1d(x, conv_weight, padding=conv_weight.shape[-1] // 2)  # (B, n_filters, T_in)
    return f.transpose(1, 2) @ dense_weight.t()  # (B, T_in, A)


def attention_energies(query, processed_memory, location, query_weight, v):
    """``e = v^T tanh(W s + (V h + b) + U f)``.

    ``query`` ``(B, d_q)``; ``processed_memory`` and ``location`` ``(B, T_in, A)``;
    ``query_weight`` (W) ``(A, d_q)``; ``v`` ``(A,)``. Returns ``(B, T_in)``.
    """
    q = (query @ query_weight.t()).unsqueeze(1)  # (B, 1, A)
    return torch.tanh(q + processed_memory + location) @ v  # (B, T_in)


def masked_softmax(energies, mask):
    """Softmax over encoder positions with padded ones (``mask`` False) getting exactly 0."""
    return torch.softmax(energies.masked_fill(~mask, float("-inf")), dim=1)


def _loc_cases():
    g = _gen(4)
    cases = []
    for B, T_in, nf, k, A in [(2, 12, 4, 5, 6), (1, 7, 3, 3, 2)]:
        prev = torch.softmax(torch.randn(B, T_in, generator=g), 1)
        cum = prev + torch.softmax(torch.randn(B, T_in, generator=g), 1)
        cases.append(((prev, cum, torch.randn(nf, 2, k, generator=g), torch.randn(A, nf, generator=g)), {}))
    return cases


def _energy_cases():
    g = _gen(5)
    cases = []
    for B, T_in, d_q, A in [(2, 9, 5, 4), (1, 3, 2, 6)]:
        args = (
            torch.randn(B, d_q, generator=g),
            torch.randn(B, T_in, A, generator=g) * 0.5,
            torch.randn(B, T_in, A, generator=g) * 0.5,
            torch.randn(A, d_q, generator=g) * 0.5,
            torch.randn(A, generator=g),
        )
        cases.append((args, {}))
    return cases


def _softmax_cases():
    g = _gen(6)
    return [
        ((torch.randn(3, 6, generator=g), lengths_to_mask(torch.tensor([6, 4, 1]), 6)), {}),
        ((torch.randn(1, 4, generator=g) * 5, lengths_to_mask(torch.tensor([4]), 4)), {}),
    ]


check_location_features = exercise("location_features", NB_ATTENTION, reference=location_features, cases=_loc_cases, atol=1e-4)
check_attention_energies = exercise("attention_energies", NB_ATTENTION, reference=attention_energies, cases=_energy_cases, atol=1e-4)
check_masked_softmax = exercise("masked_softmax", NB_ATTENTION, reference=masked_softmax, cases=_softmax_cases, atol=1e-6)


# ---- 05 decoder ------------------------------------------------------------------------


def teacher_forcing_inputs(mel, r):
    """Prenet inputs under teacher forcing: an all-zero go frame, then the last frame of each group of ``r``.

    ``mel`` ``(B, T_out, n_mels)`` with ``T_out`` a multiple of ``r``; returns ``(B, T_out // r, n_mels)``.
    """
    B, T_out, n_mels = mel.shape
    last = mel.reshape(B, T_out // r, r, n_mels)[:, :-1, -1]  # (B, T_dec - 1, n_mels)
    return torch.cat([mel.new_zeros(B, 1, n_mels), last], dim=1)


def stop_lengths(gate_logits, threshold):
    """Frames to keep when inference stops at the first frame with ``sigmoid(logit) > threshold``.

    ``gate_logits`` ``(B, T)``; returns ``(B,)`` long: first such index + 1, or ``T`` if none.
    """
    over = torch.sigmoid(gate_logits) > threshold  # (B, T)
    first = over.float().argmax(dim=1) + 1
    return torch.where(over.any(dim=1), first, torch.full_like(first, gate_logits.shape[1]))


def _tf_cases():
    g = _gen(8)
    return [((torch.randn(2, 9, 4, generator=g), 3), {}), ((torch.randn(1, 5, 3, generator=g), 1), {}), ((torch.randn(3, 8, 2, generator=g), 2), {})]


def _stop_cases():
    return [
        ((torch.tensor([[-3.0, -1.0, 2.0, 5.0], [-4.0, -4.0, -4.0, -4.0], [0.5, -2.0, 3.0, 1.0]]), 0.5), {}),
        ((torch.tensor([[-1.0, 0.2, 0.3, 4.0]]), 0.6), {}),
    ]


check_teacher_forcing_inputs = exercise("teacher_forcing_inputs", NB_DECODER, reference=teacher_forcing_inputs, cases=_tf_cases, atol=0.0, rtol=0.0)
check_stop_lengths = exercise("stop_lengths", NB_DECODER, reference=stop_lengths, cases=_stop_cases, atol=0.0, rtol=0.0)
