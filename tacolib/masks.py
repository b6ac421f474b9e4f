"""Padding facts, defined once: sequence masks, decoder lengths and stop-token targets.

A batch pads every utterance to the longest one (CONTRIBUTING.md, "a batch"), and
the decoder writes ``r`` frames per step. Three small facts follow, and every module
that needs one imports it from here (the model, the loss, the metrics, the data,
training, evaluation, synthesis) instead of re-deriving it::

    lengths (B,) ──lengths_to_mask──► (B, T) bool, True on real positions
    mel_lengths (B,), r ──decoder_lengths──► (B,) decoder steps = ceil(mel_lengths / r)
    mel_lengths (B,), T_out ──make_gate_targets──► (B, T_out) 1.0 from the last real frame on

This module sits at the bottom of the house (it imports only torch), so the lowest
layers can use it.
"""

from __future__ import annotations

import torch

__all__ = ["lengths_to_mask", "decoder_lengths", "make_gate_targets"]


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """True on real positions.

    Parameters
    ----------
    lengths : torch.Tensor
        ``(B,)`` integer true lengths.
    max_len : int, optional
        Padded length ``T``; defaults to ``lengths.max()`` (0 for an empty batch).

    Returns
    -------
    torch.Tensor
        ``(B, T)`` bool, ``mask[b, t] = t < lengths[b]``, on ``lengths``' device.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise ValueError(f"lengths_to_mask: lengths must be 1-D (B,), got shape {tuple(lengths.shape)}")
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    steps = torch.arange(max_len, device=lengths.device)  # (T,)
    return steps[None, :] < lengths[:, None]  # (B, T)


def decoder_lengths(mel_lengths, r: int) -> torch.Tensor:
    """Decoder steps that cover ``mel_lengths`` frames, ``r`` frames a step: ``ceil(mel_lengths / r)``.

    Parameters
    ----------
    mel_lengths : torch.Tensor or int
        ``(B,)`` frame counts (or one count).
    r : int
        Frames per decoder step (>= 1).

    Returns
    -------
    torch.Tensor
        Long, the shape of ``mel_lengths`` (``int(...)`` of a single count is the
        number of steps; ``decoder_lengths(T, r) * r`` is ``T`` rounded up to a
        multiple of ``r``, the padded length of a batch).
    """
    if r < 1:
        raise ValueError(f"decoder_lengths: r must be >= 1, got {r}")
    return torch.div(torch.as_tensor(mel_lengths) + r - 1, r, rounding_mode="floor").long()


def make_gate_targets(mel_lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Stop-token targets: 1.0 from the last real frame on (padding included), else 0.0.

    Parameters
    ----------
    mel_lengths : torch.Tensor
        ``(B,)`` true frame counts (each >= 1).
    max_len : int
        ``T_out``, the padded length.

    Returns
    -------
    torch.Tensor
        ``(B, T_out)`` float, the ``gate_targets`` of a batch.
    """
    mel_lengths = torch.as_tensor(mel_lengths)
    if (mel_lengths < 1).any():
        raise ValueError(f"make_gate_targets: every mel length must be >= 1, got {mel_lengths.tolist()}")
    frames = torch.arange(max_len, device=mel_lengths.device)  # (T_out,)
    return (frames[None, :] >= (mel_lengths[:, None] - 1)).float()  # (B, T_out)
