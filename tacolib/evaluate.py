"""Evaluation on held-out sentences: teacher forced, free running, and the pass criterion.

::

    held-out items ──evaluate_teacher_forced──► losses, alignment metrics (the model is fed the true frames)
                   ──evaluate_free_running───► focus, stop error, per-sentence mels and alignments
                                               (the model feeds back its own frames, as when it speaks)
    one sentence's focus, frames, stop ──judge_sentence──► does it pass?  (FOCUS_MIN, STOP_ERROR_MAX)
    held-out items, a dropout seed ──judge_free_running──► free-running items, each judged
    free-running items ──evaluate_mcd──► MCD-DTW of the speech to the recordings, and its floor

Teacher-forced numbers say whether the model has learned to align while it is
given the answer; free-running ones say whether it can read a sentence it never
saw on its own, which is what the course's main job promises. A held-out sentence
**passes** when its free-running attention focus is at least :data:`FOCUS_MIN` and
the stop token ends it within :data:`STOP_ERROR_MAX` of the recording's length.
:func:`pick_heldout` chooses which sentences to judge without looking at the model.

Used by the trainer's validation, ``tacolib evaluate``, the quickstart and
``benchmarks/heldout_odds.py`` and ``benchmarks/quickstart_budget.py``.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np
import torch

from tacolib import metrics
from tacolib.batching import make_collate, to_device
from tacolib.config import Config
from tacolib.loss import Tacotron2Loss
from tacolib.masks import decoder_lengths

__all__ = [
    "FOCUS_MIN", "STOP_ERROR_MAX", "N_HELDOUT", "evaluate_teacher_forced", "evaluate_free_running",
    "judge_sentence", "passes", "judge_free_running", "summarize_sentences", "pick_heldout", "attention_end_frame", "evaluate_mcd",
]

#: A held-out sentence is read "in focus" when its free-running attention focus reaches
#: this (the focus threshold of :data:`tacolib.metrics.ALIGNED`) ...
FOCUS_MIN = metrics.ALIGNED["focus"]
#: ... and "stopped right" when the stop token fires within this fraction of the recording's length.
STOP_ERROR_MAX = 0.10
#: Held-out sentences the quickstart speaks and judges (:func:`pick_heldout`).
N_HELDOUT = 3


def _check_batch_size(batch_size) -> None:
    # range(0, n, 0) raises and range(0, n, -1) is empty: NaN metrics that look like a result
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")


@torch.no_grad()
def evaluate_teacher_forced(
    model, dataset, cfg: Config, indices: Sequence[int] | None = None, batch_size: int = 16, criterion=None,
    step: int = 0, amp_dtype: torch.dtype | None = None, keep_first: bool = False, collate_fn: Callable | None = None,
) -> dict[str, Any]:
    """Losses and alignment metrics of teacher-forced passes over held-out items.

    Parameters
    ----------
    model : Tacotron2
    dataset : Dataset
        Held-out items; ``indices`` picks which (default: all), batched in order of
        ``dataset.lengths`` when it has them (less padding).
    cfg : Config
        ``cfg.model.r``, and the loss (``cfg.train``) when ``criterion`` is not given.
    batch_size : int
        Items per forward pass (>= 1; a ValueError otherwise).
    step : int
        Training step (the guided-attention weight decays with it).
    amp_dtype : torch.dtype, optional
        Run under ``torch.autocast`` with this dtype (GPU mixed precision).
    keep_first : bool
        Also return ``first``: ``(outputs, batch)`` of the first batch, for plots.
    collate_fn : callable, optional
        Default :func:`tacolib.batching.make_collate` of ``cfg``.

    Returns
    -------
    dict
        Item-weighted means of ``loss``, ``mel``, ``postnet``, ``gate``,
        ``attention`` and of :func:`tacolib.metrics.alignment_metrics` (``focus``,
        ``diagonality``, ``monotonicity``, ``coverage``), plus ``n``.
    """
    _check_batch_size(batch_size)
    collate_fn = collate_fn or make_collate(cfg)
    criterion = criterion if criterion is not None else Tacotron2Loss.from_config(cfg)
    order = list(range(len(dataset)) if indices is None else indices)
    lengths = getattr(dataset, "lengths", None)
    if lengths is not None:
        order.sort(key=lambda i: lengths[i])
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    n_items, first = 0, None
    try:
        for i in range(0, len(order), batch_size):
            batch = to_device(collate_fn([dataset[j] for j in order[i : i + batch_size]]), device)
            with torch.autocast(device_type=device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                out = model(batch)
                losses = criterion(out, batch, step=step)
            dec_lengths = decoder_lengths(batch["mel_lengths"], cfg.model.r)
            am = metrics.alignment_metrics(out["alignments"].float(), batch["text_lengths"], dec_lengths)
            B = batch["text"].shape[0]
            for k in ("loss", "mel", "postnet", "gate", "attention"):
                sums[k] = sums.get(k, 0.0) + float(losses[k]) * B
            for k, v in am.items():
                sums[k] = sums.get(k, 0.0) + v * B
            n_items += B
            if keep_first and first is None:
                first = (out, batch)
    finally:
        model.train(was_training)
    result: dict[str, Any] = {k: v / max(1, n_items) for k, v in sums.items()}
    result["n"] = n_items
    if keep_first:
        result["first"] = first
    return result


@torch.no_grad()
def evaluate_free_running(
    model, dataset, indices: Sequence[int] | None = None, batch_size: int = 8, tolerance: float = STOP_ERROR_MAX,
    collate_fn: Callable | None = None,
) -> dict[str, Any]:
    """Let the model speak held-out sentences on its own and measure the result.

    For each utterance: the model reads the text with no teacher forcing (its own
    frames are fed back) until the stop token fires or ``max_decoder_steps``. We then
    measure the attention's focus over the generated steps and compare the
    generated length with the true recording's.

    Parameters
    ----------
    model : Tacotron2
        ``model.cfg`` and ``inference(text, text_lengths)`` returning the model output dict.
    dataset : Dataset
        Held-out items (``text``, ``mel``); ``indices`` picks which (default: all).
    batch_size : int
        Sentences decoded together (>= 1; a ValueError otherwise).
    tolerance : float
        A stop counts as correct when ``|predicted - true| <= tolerance * true`` frames.
    collate_fn : callable, optional
        Default :func:`tacolib.batching.make_collate` of ``model.cfg``.

    Returns
    -------
    dict
        ``focus`` (mean), ``stop_ok`` (fraction within tolerance), ``stop_error``
        (mean ``|predicted - true| / true``), ``max_steps`` (fraction that never
        stopped), ``n``, and ``items``: per-utterance dicts with ``id``, ``text``,
        ``focus``, ``length``, ``true_length``, ``stop_reason`` and, on CPU, the
        outputs ``mel`` ``(T, n_mels)`` and ``alignment`` ``(T_dec, T_in)`` and the
        recording's ``target_mel`` ``(T_true, n_mels)``.
    """
    _check_batch_size(batch_size)
    collate_fn = collate_fn or make_collate(model.cfg)
    indices = list(range(len(dataset))) if indices is None else list(indices)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    items = []
    try:
        for i in range(0, len(indices), batch_size):
            batch = collate_fn([dataset[j] for j in indices[i : i + batch_size]])
            out = model.inference(batch["text"].to(device), batch["text_lengths"].to(device))
            lengths = out["lengths"].cpu()
            dec_lengths = decoder_lengths(lengths, model.cfg.model.r)
            foc = metrics.focus(out["alignments"].cpu(), batch["text_lengths"], dec_lengths)
            for b in range(len(lengths)):
                L, Ld, Ti = int(lengths[b]), int(dec_lengths[b]), int(batch["text_lengths"][b])
                true = int(batch["mel_lengths"][b])
                items.append(
                    {
                        "id": batch["ids"][b],
                        "text": batch["texts"][b],
                        "focus": float(foc[b]),
                        "length": L,
                        "true_length": true,
                        "stop_reason": out["stop_reason"][b],
                        "mel": out["mel_postnet"][b, :L].float().cpu(),
                        "alignment": out["alignments"][b, :Ld, :Ti].float().cpu(),
                        "target_mel": batch["mel"][b, :true].float(),
                    }
                )
    finally:
        model.train(was_training)
    errs = [abs(it["length"] - it["true_length"]) / max(1, it["true_length"]) for it in items]
    return {
        "focus": float(np.mean([it["focus"] for it in items])) if items else float("nan"),
        "stop_ok": float(np.mean([e <= tolerance for e in errs])) if items else float("nan"),
        "stop_error": float(np.mean(errs)) if items else float("nan"),
        "max_steps": float(np.mean([it["stop_reason"] == "max_steps" for it in items])) if items else float("nan"),
        "n": len(items),
        "items": items,
    }


# ---- the pass criterion ----------------------------------------------------------------------------


def judge_sentence(focus: float, frames: int, expected_frames: int, stop_reason: str, attention_end: int | None = None) -> dict:
    """Judge one sentence spoken free running against the pass criterion.

    Parameters
    ----------
    focus : float
        Its free-running attention focus (:func:`tacolib.metrics.focus`).
    frames : int
        Frames the model generated.
    expected_frames : int
        The recording's frame count (or, for a text with no recording, the corpus
        voice reading it).
    stop_reason : str
        ``"gate"`` (the stop token fired) or ``"max_steps"`` (it never did).
    attention_end : int, optional
        :func:`attention_end_frame` of its alignment (a diagnosis, recorded as is).

    Returns
    -------
    dict
        ``focus`` and ``stop_error`` (``|frames - expected| / expected``), both rounded
        to 4 digits; ``frames``, ``expected_frames``, ``stop_reason``; ``focus_ok``
        (``focus >= FOCUS_MIN``), ``stop_ok`` (the stop token fired and
        ``stop_error <= STOP_ERROR_MAX``); ``attention_end_frame``. The sentence
        passes when both ``focus_ok`` and ``stop_ok`` hold.
    """
    err = abs(frames - expected_frames) / max(1, expected_frames)
    return {
        "focus": round(float(focus), 4), "frames": int(frames), "expected_frames": int(expected_frames),
        "stop_error": round(float(err), 4), "stop_reason": stop_reason,
        "focus_ok": bool(focus >= FOCUS_MIN), "stop_ok": bool(err <= STOP_ERROR_MAX and stop_reason == "gate"),
        "attention_end_frame": attention_end,
    }


def passes(judged: dict) -> bool:
    """Whether a :func:`judge_sentence` result passes: its focus and its stop both hold."""
    return judged["focus_ok"] and judged["stop_ok"]


def summarize_sentences(judged: Sequence[dict]) -> dict:
    """Summary of :func:`judge_sentence` results: ``n``, ``mean_focus``, ``min_focus``,
    ``mean_stop_error``, ``max_stop_error`` (rounded to 4 digits) and ``n_ok`` (how many
    pass); just ``{"n": 0}`` for none."""
    if not judged:
        return {"n": 0}
    return {
        "n": len(judged),
        "mean_focus": round(sum(r["focus"] for r in judged) / len(judged), 4),
        "min_focus": round(min(r["focus"] for r in judged), 4),
        "mean_stop_error": round(sum(r["stop_error"] for r in judged) / len(judged), 4),
        "max_stop_error": round(max(r["stop_error"] for r in judged), 4),
        "n_ok": sum(passes(r) for r in judged),
    }


def pick_heldout(lengths: Sequence[int], n: int = N_HELDOUT) -> list[int]:
    """Indices of ``n`` held-out items spread over the length range (short, middle, long).

    The quantiles ``1/(2n), 3/(2n), ...`` of the lengths are taken, so the pick does
    not depend on what the model does with them (no cherry-picking), and both short
    and long sentences are measured.

    Parameters
    ----------
    lengths : sequence of int
        Length of every held-out item (any unit: frames or symbols).
    n : int
        How many to pick (all of them when there are fewer).

    Returns
    -------
    list of int
        Distinct indices, in increasing order of length.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    if len(order) <= n:
        return order
    picked: list[int] = []
    for k in range(n):
        q = (2 * k + 1) / (2 * n)
        j = min(len(order) - 1, int(q * len(order)))
        while order[j] in picked:
            j = (j + 1) % len(order)
        picked.append(order[j])
    return picked


def attention_end_frame(alignment, r: int) -> int | None:
    """Frame at which the attention first reaches the end of the text, or None if never.

    A diagnosis, not a criterion: when the stop token fails, it tells whether the
    model still read the whole sentence at the right pace (the end reached near the
    recording's length) and only failed to stop.

    Parameters
    ----------
    alignment : Tensor
        ``(T_dec, T_in)`` attention weights of one sentence (EOS is the last symbol).
    r : int
        Frames per decoder step.
    """
    a = torch.as_tensor(alignment)
    if a.dim() != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        return None
    at_end = (a.argmax(dim=1) >= a.shape[1] - 2).nonzero()
    return int(at_end[0, 0] + 1) * int(r) if len(at_end) else None


def judge_free_running(model, dataset, indices: Sequence[int] | None = None, seed: int = 0, batch_size: int = 8) -> list[dict]:
    """Free-running decoding with the prenet's dropout seeded, each sentence judged.

    The prenet's dropout stays on at inference, so what a model says depends on the
    random masks: ``seed`` fixes them, inside ``torch.random.fork_rng`` so the caller's
    CPU random state is left as it was. The quickstart judges its sentences this way;
    the benchmarks repeat it over seeds.

    Parameters
    ----------
    model, dataset, indices, batch_size
        As for :func:`evaluate_free_running` (the batching changes which masks each
        sentence gets).
    seed : int
        Seed of torch's random state for the decoding.

    Returns
    -------
    list of dict
        :func:`evaluate_free_running`'s ``items``, each with ``judged``: its
        :func:`judge_sentence` result (the attention's end frame included).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        items = evaluate_free_running(model, dataset, indices, batch_size=batch_size)["items"]
    r = model.cfg.model.r
    for it in items:
        it["judged"] = judge_sentence(it["focus"], it["length"], it["true_length"], it["stop_reason"], attention_end_frame(it["alignment"], r))
    return items


# ---- an objective distance to the recordings ---------------------------------------------------------


def evaluate_mcd(items: Sequence[dict], cfg_audio, vocoder=None, speech: bool = True) -> dict[str, float]:
    """Mel-cepstral distortion after DTW (:mod:`tacolib.mcd`) of free-running speech, with its floor.

    For each item (from :func:`evaluate_free_running`, which keeps the model's ``mel``
    and the recording's ``target_mel``):

    * ``mcd``: the model's speech (its mel through the vocoder, analysed again) against
      the recording's mel;
    * ``mcd_floor``: the recording's own mel through the same vocoder against itself:
      what vocoding and re-analysis cost. A model approaches it, never beats it;
    * ``mcd_mel``: the model's mel against the recording's, no vocoder in between.

    Parameters
    ----------
    items : sequence of dict
        With ``mel`` ``(T, n_mels)`` and ``target_mel`` ``(T_true, n_mels)``.
    cfg_audio : AudioConfig
    vocoder : object with ``generate(mel) -> wav``, optional
        Default: :class:`~tacolib.vocoder.griffin_lim.GriffinLimVocoder` of ``cfg_audio``.
    speech : bool
        False: only ``mcd_mel`` (no vocoder: fast, for comparing models).

    Returns
    -------
    dict
        Means over the items, in dB: ``mcd``, ``mcd_floor`` (with ``speech``), ``mcd_mel``; and ``n``.
    """
    from tacolib.audio import mel_spectrogram
    from tacolib.mcd import mcd_dtw
    from tacolib.vocoder.griffin_lim import GriffinLimVocoder

    vocoder = vocoder if vocoder is not None else GriffinLimVocoder(cfg_audio)

    def heard(mel):  # what a listener gets, analysed again
        return mel_spectrogram(torch.as_tensor(vocoder.generate(mel)).reshape(-1).float(), cfg_audio)

    out: dict[str, float] = {"n": len(items)}
    columns = {"mcd_mel": lambda it: mcd_dtw(it["mel"], it["target_mel"], cfg_audio)}
    if speech:
        columns["mcd"] = lambda it: mcd_dtw(heard(it["mel"]), it["target_mel"], cfg_audio)
        columns["mcd_floor"] = lambda it: mcd_dtw(heard(it["target_mel"]), it["target_mel"], cfg_audio)
    for key, f in columns.items():
        out[key] = float(np.mean([f(it) for it in items])) if items else float("nan")
    return out
