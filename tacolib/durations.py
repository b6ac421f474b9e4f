"""From attention to durations: train a non-autoregressive model on what a Tacotron learned.

FastSpeech (Ren et al. 2019) was trained on durations read off an autoregressive
teacher's attention; FastSpeech 2 (2021) on a forced aligner's. The course does the
first, with the Tacotron 2 you trained::

    trained Tacotron 2 ─teacher-forced pass over the training set─► alignments (T_dec, T_in)
        ─durations_from_alignment─► frames per symbol, summing to the recording's length
    (tokens, durations, mel) ─train_fastspeech─► MiniFastSpeech (tacolib.model.fastspeech)
    held-out text ─MiniFastSpeech─► mel in one parallel pass (no attention, no stop token)
"""

from __future__ import annotations

import random
from typing import Sequence

import torch
import torch.nn.functional as F

from tacolib import metrics
from tacolib.batching import make_collate, to_device
from tacolib.masks import decoder_lengths, lengths_to_mask

__all__ = ["durations_from_alignment", "extract_durations", "pad_batch", "fastspeech_loss", "train_fastspeech", "speak"]


def durations_from_alignment(alignment: torch.Tensor, mel_length: int, r: int) -> torch.Tensor:
    """Frames per symbol from one teacher-forced alignment.

    Each decoder step hands its ``r`` frames to the symbols in proportion to its
    attention weights, so a symbol's duration is the attention mass it received,
    times ``r``, scaled to the recording's length; the running sum is rounded, so
    the integer durations add up exactly::

        soft_j = r * sum_i alpha_ij  ->  soft * mel_length / sum(soft)
        d_j    = round(cumsum(soft))_j - round(cumsum(soft))_{j-1}

    (Counting the steps whose argmax is each symbol would give multiples of ``r``
    frames, and 0 to every symbol that is never the largest weight of a step: a
    400-step character model at ``r = 5`` was the argmax of only about 40 % of the
    characters of a held-out sentence.)

    Parameters
    ----------
    alignment : torch.Tensor
        ``(T_dec, T_in)`` attention weights of the valid decoder steps and symbols.
    mel_length : int
        The recording's frames (``T_dec = ceil(mel_length / r)``).
    r : int
        Frames per decoder step.

    Returns
    -------
    torch.Tensor
        ``(T_in,)`` long, non-negative, summing to ``mel_length``.
    """
    a = torch.as_tensor(alignment).double()
    if a.dim() != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"durations_from_alignment: expected a (T_dec, T_in) alignment, got shape {tuple(a.shape)}")
    soft = a.sum(0) * r  # (T_in,) frames of attention mass
    soft = soft * (float(mel_length) / float(soft.sum().clamp(min=1e-9)))
    ends = torch.round(torch.cumsum(soft, 0)).long()  # (T_in,)
    ends[-1] = int(mel_length)
    return torch.diff(ends, prepend=ends.new_zeros(1)).clamp(min=0)


@torch.no_grad()
def extract_durations(model, dataset, indices: Sequence[int] | None = None, batch_size: int = 16, progress: bool = True) -> dict:
    """Durations of every item, from teacher-forced passes of a trained Tacotron 2.

    Returns
    -------
    dict
        ``durations``: list of ``(T_in,)`` long tensors, in the order of ``indices``
        (default: all items); ``indices``; ``focus``: the teacher-forced focus of
        the alignments they come from (how much to trust them).
    """
    from tqdm.auto import tqdm

    indices = list(range(len(dataset))) if indices is None else list(indices)
    collate = make_collate(model.cfg)
    device = next(model.parameters()).device
    r = model.cfg.model.r
    was_training = model.training
    model.eval()
    by_id, foci = {}, []
    try:
        for i in tqdm(range(0, len(indices), batch_size), desc="durations", unit="batch", disable=not progress):
            batch = to_device(collate([dataset[j] for j in indices[i : i + batch_size]]), device)
            a = model(batch)["alignments"].float().cpu()  # (B, T_dec, T_in)
            steps = decoder_lengths(batch["mel_lengths"].cpu(), r)
            foci += metrics.focus(a, batch["text_lengths"].cpu(), steps).tolist()
            for b, uid in enumerate(batch["ids"]):
                L, Ti = int(batch["mel_lengths"][b]), int(batch["text_lengths"][b])
                by_id[uid] = durations_from_alignment(a[b, : int(steps[b]), :Ti], L, r)
    finally:
        model.train(was_training)
    return {"durations": [by_id[dataset.ids[j]] for j in indices], "indices": indices, "focus": sum(foci) / max(1, len(foci))}


def pad_batch(items: Sequence[dict], pad_value: float) -> dict:
    """``[{"tokens", "mel", "durations"}]`` -> ``text`` ``(B, T_in)``, ``text_lengths``, ``durations`` ``(B, T_in)``,
    ``mel`` ``(B, T_out, n_mels)`` padded with ``pad_value``, ``mel_lengths``."""
    B = len(items)
    T_in = max(len(it["tokens"]) for it in items)
    T_out = max(int(it["mel"].shape[0]) for it in items)
    text = torch.zeros(B, T_in, dtype=torch.long)
    dur = torch.zeros(B, T_in, dtype=torch.long)
    mel = torch.full((B, T_out, items[0]["mel"].shape[1]), float(pad_value))
    for b, it in enumerate(items):
        text[b, : len(it["tokens"])] = it["tokens"]
        dur[b, : len(it["tokens"])] = it["durations"]
        mel[b, : it["mel"].shape[0]] = it["mel"]
    return {"text": text, "text_lengths": torch.tensor([len(it["tokens"]) for it in items]), "durations": dur,
            "mel": mel, "mel_lengths": torch.tensor([int(it["mel"].shape[0]) for it in items])}


def fastspeech_loss(out: dict, batch: dict) -> dict[str, torch.Tensor]:
    """Masked L1 on the mel + MSE on ``log(1 + frames)`` per symbol; ``{"loss", "mel", "duration"}``."""
    frame_mask = lengths_to_mask(batch["mel_lengths"], out["mel"].shape[1]).unsqueeze(-1).float()  # (B, T_out, 1)
    mel_loss = (F.l1_loss(out["mel"], batch["mel"][:, : out["mel"].shape[1]], reduction="none") * frame_mask).sum()
    mel_loss = mel_loss / (frame_mask.sum() * out["mel"].shape[2])
    sym_mask = lengths_to_mask(batch["text_lengths"], batch["text"].shape[1]).float()  # (B, T_in)
    target = torch.log1p(batch["durations"].float())
    dur_loss = (((out["log_duration"] - target) ** 2) * sym_mask).sum() / sym_mask.sum()
    return {"loss": mel_loss + dur_loss, "mel": mel_loss, "duration": dur_loss}


def train_fastspeech(nar, dataset, durations: dict, steps: int, batch_size: int = 16, lr: float = 1e-3, seed: int = 0,
                     progress: bool = True) -> list[dict]:
    """Train a :class:`~tacolib.model.fastspeech.MiniFastSpeech` on ``dataset`` with ``durations``
    (from :func:`extract_durations`): Adam, gradient clipping at 1, random batches.

    Returns
    -------
    list of dict
        One record per step: ``step``, ``loss``, ``mel``, ``duration``.
    """
    from tqdm.auto import tqdm

    pairs = list(zip(durations["indices"], durations["durations"]))
    pad = dataset.cfg.audio.pad_value
    rng = random.Random(seed)
    opt = torch.optim.Adam(nar.parameters(), lr=lr)
    nar.train()
    history = []
    for step in tqdm(range(1, steps + 1), desc="FastSpeech", unit="step", disable=not progress):
        picks = rng.sample(pairs, min(batch_size, len(pairs)))
        items = [{**dataset[j], "durations": d} for j, d in picks]
        batch = pad_batch(items, pad)
        losses = fastspeech_loss(nar(batch["text"], batch["text_lengths"], batch["durations"]), batch)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(nar.parameters(), 1.0)
        opt.step()
        history.append({"step": step, **{k: float(v.detach()) for k, v in losses.items()}})
    nar.eval()
    return history


@torch.no_grad()
def speak(nar, tokens: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Mels ``(T_i, n_mels)`` for token sequences, durations predicted, all in one batch."""
    nar.eval()
    lengths = torch.tensor([len(t) for t in tokens])
    text = torch.zeros(len(tokens), int(lengths.max()), dtype=torch.long)
    for b, t in enumerate(tokens):
        text[b, : len(t)] = t
    out = nar(text, lengths)
    return [out["mel"][b, : int(out["mel_lengths"][b])] for b in range(len(tokens))]
