"""Alignment and stop-token metrics: is the model reading the text, in order?

A falling loss is not evidence of alignment: a decoder can memorize one batch of
frames while its attention stays a blur (measured on a 2-core CPU: loss 4.1 -> 0.38, focus 0.08).
These numbers look at the attention itself and work on any model output, teacher
forced or free running. Each takes ``alignments`` ``(B, T_dec, T_in)`` (or one
``(T_dec, T_in)`` matrix) plus optional valid lengths, and returns one value per
utterance ``(B,)``; :func:`alignment_metrics` averages them into a dict.

=================  ===========  ========================  ==================  ============
metric             range        perfect diagonal          uniform (blur)      good (course)
=================  ===========  ========================  ==================  ============
``focus``          [1/T_in, 1]  ~1 (hard) / >0.5 (soft)   1/T_in              > 0.5
``diagonality``    [0, 1]       1                         ~2 * band           > 0.7
``monotonicity``   [0, 1]       1                         1 (!)               > 0.9
``coverage``       [0, 1]       1                         0                   > 0.9
=================  ===========  ========================  ==================  ============

No single number suffices: uniform attention is trivially "monotonic" (it never
moves), attention stuck on one symbol is perfectly "focused" and monotonic but covers
almost nothing, and attention that reads the text backwards is focused and covering
but neither diagonal nor monotonic. :data:`ALIGNED` holds the course's thresholds.

Stop-token timing: :func:`stop_frame_error` compares where the stop token first fires
with the true length (frames; 0 is perfect, negative stops early, positive late).

Free-running speech against its recording: :func:`mel_dtw_mse` lines the two mels up
with dynamic time warping (they differ in length and pace) and averages the squared
error along the path, so a mel can be scored even when the model spoke faster.
"""

from __future__ import annotations

import torch

from tacolib.masks import lengths_to_mask

__all__ = [
    "ALIGNED",
    "focus",
    "diagonality",
    "monotonicity",
    "coverage",
    "alignment_metrics",
    "mel_dtw_mse",
    "is_aligned",
    "predicted_lengths",
    "stop_frame_error",
]

#: Thresholds of a "clean diagonal" (notebook 08, tests, benchmarks/align.py).
ALIGNED = {"focus": 0.5, "diagonality": 0.7, "monotonicity": 0.9, "coverage": 0.9}


def _prepare(alignments, text_lengths=None, dec_lengths=None):
    """-> alignments (B, T_dec, T_in) float, text_lengths (B,), dec_lengths (B,), valid mask (B, T_dec, T_in)."""
    a = torch.as_tensor(alignments).detach().float()
    if a.dim() == 2:
        a = a[None]
    if a.dim() != 3:
        raise ValueError(f"alignments must be (B, T_dec, T_in) or (T_dec, T_in), got shape {tuple(a.shape)}")
    B, T_dec, T_in = a.shape
    if text_lengths is None:
        text_lengths = torch.full((B,), T_in)
    if dec_lengths is None:
        dec_lengths = torch.full((B,), T_dec)
    tl = torch.as_tensor(text_lengths).reshape(-1).long().clamp(1, T_in).to(a.device)
    dl = torch.as_tensor(dec_lengths).reshape(-1).long().clamp(1, T_dec).to(a.device)
    if tl.numel() != B or dl.numel() != B:
        raise ValueError(f"lengths must have B={B} entries, got text_lengths {tl.numel()} and dec_lengths {dl.numel()}")
    step_mask = lengths_to_mask(dl, T_dec)  # (B, T_dec)
    pos_mask = lengths_to_mask(tl, T_in)  # (B, T_in)
    return a, tl, dl, step_mask, pos_mask


def _mean_over_steps(x: torch.Tensor, step_mask: torch.Tensor) -> torch.Tensor:
    """(B, T_dec) values -> (B,) mean over valid decoder steps."""
    m = step_mask.float()
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


def focus(alignments, text_lengths=None, dec_lengths=None) -> torch.Tensor:
    """Mean over valid decoder steps of the largest attention weight.

    How sharply the model looks at one place. Range ``[1/T_in, 1]``: 1 when every
    step puts all its weight on one symbol, ``1/T_in`` for uniform attention. A sharp
    but soft diagonal (weight shared by 2-3 neighbours) scores 0.4-0.7; the course
    counts > 0.5 as focused. With a reduction factor ``r`` several symbols can fall
    into one decoder step, which caps focus below 1.

    Returns
    -------
    torch.Tensor
        ``(B,)``.
    """
    a, _, _, step_mask, _ = _prepare(alignments, text_lengths, dec_lengths)
    return _mean_over_steps(a.max(dim=2).values, step_mask)


def diagonality(alignments, text_lengths=None, dec_lengths=None, band: float = 0.15) -> torch.Tensor:
    """Fraction of attention mass within ``band`` of the diagonal.

    The diagonal runs from the first symbol at the first step to the last symbol at
    the last step: step ``t`` of ``T`` should look near ``n = t/T * N``. Mass is
    counted when ``|n/N - t/T| <= band`` (``band`` as a fraction of the text).
    Range ``[0, 1]``: 1 for a linear diagonal, about ``2 * band`` for uniform
    attention, near 0 for attention that reads backwards. Real speech does not run
    at a constant rate, so a good alignment scores 0.7-0.95 rather than 1
    (guided attention pulls it towards 1).

    Returns
    -------
    torch.Tensor
        ``(B,)``.
    """
    a, tl, dl, step_mask, pos_mask = _prepare(alignments, text_lengths, dec_lengths)
    B, T_dec, T_in = a.shape
    n = (torch.arange(T_in, device=a.device)[None, :].float() + 0.5) / tl[:, None].float()  # (B, T_in) in (0, 1]
    t = (torch.arange(T_dec, device=a.device)[None, :].float() + 0.5) / dl[:, None].float()  # (B, T_dec)
    near = (n[:, None, :] - t[:, :, None]).abs() <= band  # (B, T_dec, T_in)
    mass = (a * (near & pos_mask[:, None, :])).sum(2)  # (B, T_dec)
    return _mean_over_steps(mass, step_mask)


def _centroid(a: torch.Tensor) -> torch.Tensor:
    """(B, T_dec, T_in) -> (B, T_dec) expected encoder position of each step."""
    pos = torch.arange(a.shape[2], device=a.device, dtype=a.dtype)
    return (a * pos).sum(2) / a.sum(2).clamp(min=1e-8)


def monotonicity(alignments, text_lengths=None, dec_lengths=None, tolerance: float = 0.5) -> torch.Tensor:
    """Fraction of the attention's moves that go forward through the text.

    The attention's centroid (expected encoder position) is compared between
    consecutive valid steps. A move forward (any increase) counts for, a move back by
    more than ``tolerance`` symbols counts against; steps that stay put, or jitter
    back by less than ``tolerance``, do not count. Range ``[0, 1]``: 1 for reading in
    order, 0 for reading backwards, ~0.5 for random jumps. Attention that never
    moves also scores 1 — pair it with :func:`coverage`.

    Returns
    -------
    torch.Tensor
        ``(B,)``; 1 for utterances whose attention never moves.
    """
    a, _, dl, step_mask, _ = _prepare(alignments, text_lengths, dec_lengths)
    c = _centroid(a)  # (B, T_dec)
    delta = c[:, 1:] - c[:, :-1]  # (B, T_dec - 1)
    pair = step_mask[:, 1:].float()  # both steps valid
    fwd = ((delta > 1e-6).float() * pair).sum(1)
    back = ((delta < -tolerance).float() * pair).sum(1)
    moves = fwd + back
    return torch.where(moves > 0, fwd / moves.clamp(min=1), torch.ones_like(fwd))


def coverage(alignments, text_lengths=None, dec_lengths=None, threshold: float = 0.2) -> torch.Tensor:
    """Fraction of input symbols that some decoder step clearly attends to.

    Symbol ``n`` counts as attended when its largest weight over the valid decoder
    steps reaches ``threshold``. Range ``[0, 1]``: ~1 when the whole text is read,
    ``1/N`` when attention is stuck on one symbol, 0 for uniform attention over more
    than ``1/threshold`` symbols. Skipped words show up as a drop in coverage.

    Returns
    -------
    torch.Tensor
        ``(B,)``.
    """
    a, tl, _, step_mask, pos_mask = _prepare(alignments, text_lengths, dec_lengths)
    peak = (a * step_mask[:, :, None]).max(dim=1).values  # (B, T_in)
    hit = (peak >= threshold) & pos_mask
    return hit.float().sum(1) / tl.float()


def alignment_metrics(alignments, text_lengths=None, dec_lengths=None) -> dict[str, float]:
    """All four alignment metrics, each averaged over the batch, as plain floats."""
    args = (alignments, text_lengths, dec_lengths)
    return {
        "focus": float(focus(*args).mean()),
        "diagonality": float(diagonality(*args).mean()),
        "monotonicity": float(monotonicity(*args).mean()),
        "coverage": float(coverage(*args).mean()),
    }


def is_aligned(metrics: dict[str, float], thresholds: dict[str, float] | None = None) -> bool:
    """True when every metric named in ``thresholds`` (default :data:`ALIGNED`) reaches it."""
    thresholds = ALIGNED if thresholds is None else thresholds
    missing = set(thresholds) - set(metrics)
    if missing:
        raise KeyError(f"is_aligned: metrics lack {sorted(missing)} (got {sorted(metrics)})")
    return all(metrics[k] >= v for k, v in thresholds.items())


# ---- stop token -----------------------------------------------------------------------


def predicted_lengths(gate_logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Frames up to and including the first one whose stop probability exceeds ``threshold``.

    Parameters
    ----------
    gate_logits : torch.Tensor
        ``(B, T_out)`` stop-token logits.

    Returns
    -------
    torch.Tensor
        ``(B,)`` long; ``T_out`` where the stop token never fires.
    """
    g = torch.as_tensor(gate_logits).detach()
    if g.dim() == 1:
        g = g[None]
    fired = torch.sigmoid(g.float()) > threshold  # (B, T_out)
    T_out = g.shape[1]
    first = torch.where(fired.any(1), fired.float().argmax(1), torch.full_like(fired[:, 0], T_out, dtype=torch.long))
    return torch.where(fired.any(1), first + 1, first).long()


def stop_frame_error(gate_logits: torch.Tensor, mel_lengths: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Stop-token timing error in frames: predicted length minus true length.

    Range ``[-T_out, T_out]``: 0 when the stop token fires exactly on the last real
    frame, negative when it stops early (cut-off speech), positive when it stops
    late (trailing babble). Divide by ``frames_per_second`` for seconds. Within
    +-r frames is good.

    Returns
    -------
    torch.Tensor
        ``(B,)`` long.
    """
    return predicted_lengths(gate_logits, threshold) - torch.as_tensor(mel_lengths).long().reshape(-1)


def mel_dtw_mse(pred, target) -> float:
    """Squared error between two mels of any lengths, along their DTW alignment path.

    Parameters
    ----------
    pred, target : Tensor or ndarray
        ``(T_pred, n_mels)`` and ``(T_true, n_mels)`` scaled mels (e.g. free-running
        output and the recording's mel).

    Returns
    -------
    float
        The mean, over the frame pairs of the optimal alignment path
        (``librosa.sequence.dtw`` on squared euclidean frame distances), of the
        squared error per mel channel. 0 when ``pred`` is ``target`` in any tempo.
    """
    import librosa
    import numpy as np

    a, b = (np.asarray(torch.as_tensor(x).detach().float().cpu(), dtype=np.float64) for x in (pred, target))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"mel_dtw_mse: need two non-empty (T, n_mels) mels with the same n_mels, got {a.shape} and {b.shape}")
    cost, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="sqeuclidean")
    return float(cost[-1, -1] / (len(path) * a.shape[1]))
