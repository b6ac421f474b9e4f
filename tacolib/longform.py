"""Long inputs: what happens to the attention when a sentence gets longer, and two fixes.

The model learned to read sentences of 1-8 s. Given several of them joined into one
input, free-running attention has to keep its place for hundreds of steps, and each
step it reads its own (imperfect) last frame. What goes wrong, measured by
:func:`length_sweep` on held-out sentences joined ``k`` at a time (``k`` = 1, 2, 4, 8;
the reference is the recordings' mels one after another)::

    skipping     the attention jumps ahead: symbols never attended (coverage drops),
                 the speech ends early (negative stop error)
    repeating    it jumps back and reads words again (positive stop error)
    never stopping  the stop token does not fire: ``stop_reason == "max_steps"``

Two fixes at inference, no retraining:

* ``attention_window=w``: each step may only look within ``w`` symbols of the furthest
  place read so far (:meth:`tacolib.model.decoder.Decoder.inference`);
* ``split=True`` in :func:`length_sweep`, :func:`speak_sentences` for any text: speak
  one sentence at a time and join them with a pause (what production systems do anyway).
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import torch

from tacolib import metrics
from tacolib.evaluate import STOP_ERROR_MAX, attention_end_frame
from tacolib.masks import decoder_lengths
from tacolib.symbols import EOS_ID, symbol_ids
from tacolib.text import input_kind, text_to_ids

__all__ = ["FACTORS", "join_items", "split_sentences", "decode", "speak_sentences", "length_sweep"]

#: How many held-out sentences are joined into one input.
FACTORS = (1, 2, 4, 8)


def join_items(items: Sequence[dict], cfg) -> dict:
    """Several dataset items read as one: tokens joined by a space (one EOS at the end),
    mels one after another (the reference: the voice reading them in turn).

    Parameters
    ----------
    items : sequence of dict
        Dataset items (``tokens`` ``(T_in_i,)`` ending with EOS when ``cfg.text.add_eos``,
        ``mel`` ``(T_i, n_mels)``, ``text``).
    cfg : Config
        Its front end gives the space symbol's id.

    Returns
    -------
    dict
        ``tokens`` ``(T_in,)``, ``mel`` ``(sum T_i, n_mels)``, ``text``, ``parts`` (the
        items' token counts, EOS excluded).
    """
    space = torch.tensor([symbol_ids(input_kind(cfg))[" "]])
    parts, tokens = [], []
    for k, it in enumerate(items):
        t = it["tokens"]
        t = t[:-1] if cfg.text.add_eos and int(t[-1]) == EOS_ID else t
        tokens += ([space] if k else []) + [t]
        parts.append(len(t))
    if cfg.text.add_eos:
        tokens.append(torch.tensor([EOS_ID]))
    return {"tokens": torch.cat(tokens).long(), "mel": torch.cat([it["mel"] for it in items]), "parts": parts,
            "text": " ".join(it["text"] for it in items)}


def split_sentences(text: str) -> list[str]:
    """Split at sentence ends (``.``, ``!``, ``?`` followed by a space); never returns an empty piece."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


@torch.no_grad()
def decode(model, tokens: Sequence[torch.Tensor], attention_window: int = 0, max_steps: Sequence[int] | None = None,
           batch_size: int = 4) -> list[dict]:
    """Free-running inference of token sequences of any length (the model's
    ``text.max_text_len`` is lifted for this call), a few at a time.

    Parameters
    ----------
    model : Tacotron2
    tokens : sequence of tensor
        ``(T_in_i,)`` id sequences.
    attention_window : int
        0: free attention; ``w > 0``: the windowed constraint.
    max_steps : sequence of int, optional
        Decoder step cap of each sequence (default: the config's); a batch runs to
        the largest of its members'.

    Returns
    -------
    list of dict
        Per sequence: ``mel`` ``(T, n_mels)`` (postnet), ``alignment`` ``(T_dec, T_in)``,
        ``length`` (frames), ``stop_reason``.
    """
    cfg = model.cfg
    out_items = []
    longest = max(len(t) for t in tokens)
    model.cfg = cfg.override([f"text.max_text_len={max(longest, cfg.text.max_text_len)}"])
    try:
        model.eval()
        for i in range(0, len(tokens), batch_size):
            chunk = tokens[i : i + batch_size]
            lengths = torch.tensor([len(t) for t in chunk])
            ids = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.long)
            for b, t in enumerate(chunk):
                ids[b, : len(t)] = t
            steps = None if max_steps is None else max(max_steps[i : i + batch_size])
            out = model.inference(ids, lengths, max_decoder_steps=steps, attention_window=attention_window)
            for b in range(len(chunk)):
                L = int(out["lengths"][b])
                Ld = int(decoder_lengths(torch.tensor(L), cfg.model.r))
                out_items.append({"mel": out["mel_postnet"][b, :L].float().cpu(), "alignment": out["alignments"][b, :Ld, : int(lengths[b])].float().cpu(),
                                  "length": L, "stop_reason": out["stop_reason"][b]})
    finally:
        model.cfg = cfg
    return out_items


@torch.no_grad()
def speak_sentences(model, text: str, pause_seconds: float = 0.3, attention_window: int = 0, batch_size: int = 4) -> torch.Tensor:
    """Speak ``text`` one sentence at a time; the mels joined with ``pause_seconds`` of silence.

    Returns
    -------
    torch.Tensor
        ``(T, n_mels)``: sentence, pause, sentence, ... (silence is the scaled minimum).

    Raises
    ------
    ValueError
        Nothing speakable in ``text``.
    """
    cfg = model.cfg
    sentences = split_sentences(text)
    if not sentences:
        raise ValueError("speak_sentences: the text is empty")
    outs = decode(model, [text_to_ids(s, add_eos=cfg.text.add_eos, cfg=cfg.text) for s in sentences], attention_window, batch_size=batch_size)
    pause = torch.full((round(pause_seconds * cfg.audio.frames_per_second), cfg.audio.n_mels), -cfg.audio.max_abs_value)
    pieces = []
    for k, o in enumerate(outs):
        pieces += ([pause] if k else []) + [o["mel"]]
    return torch.cat(pieces)  # (T, n_mels)


def _measure(items: list[dict], true_length: int, r: int) -> dict:
    """Metrics of one input read as ``items`` (one item, or one per sentence)."""
    length = sum(it["length"] for it in items)
    err = (length - true_length) / max(1, true_length)
    focus = sum(float(metrics.focus(it["alignment"][None])[0]) * it["length"] for it in items) / max(1, length)
    cover = sum(float(metrics.coverage(it["alignment"][None])[0]) * it["alignment"].shape[1] for it in items)
    cover /= max(1, sum(it["alignment"].shape[1] for it in items))
    return {"focus": focus, "coverage": cover, "stop_error": err, "length": length, "true_length": true_length,
            "stopped": all(it["stop_reason"] == "gate" for it in items),
            "reached_end": all(attention_end_frame(it["alignment"], r) is not None for it in items)}


def length_sweep(model, dataset, factors: Sequence[int] = FACTORS, groups: int = 4, attention_window: int = 0,
                 split: bool = False, slack: float = 1.5, batch_size: int = 4, seed: int = 0) -> dict[int, dict]:
    """Free-running quality against input length: held-out sentences joined ``k`` at a time.

    Parameters
    ----------
    model : Tacotron2
    dataset : TTSDataset
        Held-out items; group ``g`` of factor ``k`` joins items ``g*k .. g*k + k - 1``
        (modulo the dataset's size).
    factors : sequence of int
        Sentences per input.
    groups : int
        Inputs measured per factor.
    attention_window : int
        0: free attention; ``w > 0``: the windowed constraint (fix 1).
    split : bool
        Speak each sentence of an input on its own and add up (fix 2).
    slack : float
        The decoder may run ``slack`` times the reference's length before it is cut
        (``stop_reason == "max_steps"``: it never stopped).
    seed : int
        Seeds the prenet's dropout (on at inference).

    Returns
    -------
    dict
        ``{k: {"focus", "coverage", "stop_error" (mean |error|), "signed_error" (mean),
        "stop_ok" (fraction within STOP_ERROR_MAX and stopped), "never_stopped",
        "reached_end", "items": [per input: the metrics, and the first input's
        "alignment" and "mel"]}}``.
    """
    r = model.cfg.model.r
    n = len(dataset)
    result = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for k in factors:
            members = [[dataset[(g * k + j) % n] for j in range(k)] for g in range(groups)]
            joined = [join_items(m, model.cfg) for m in members]
            if split:
                seqs = [it["tokens"] for m in members for it in m]
                caps = [math.ceil(slack * it["mel"].shape[0] / r) + 2 for m in members for it in m]
            else:
                seqs = [j["tokens"] for j in joined]
                caps = [math.ceil(slack * j["mel"].shape[0] / r) + 2 for j in joined]
            outs = decode(model, seqs, attention_window, caps, batch_size)
            per_input, pos = [], 0
            for j, m in zip(joined, members):
                take = len(m) if split else 1
                rec = _measure(outs[pos : pos + take], int(j["mel"].shape[0]), r)
                if not per_input:  # the first input's pictures
                    rec["alignment"] = outs[pos]["alignment"] if take == 1 else None
                    rec["mel"] = torch.cat([o["mel"] for o in outs[pos : pos + take]])
                    rec["target_mel"], rec["text"] = j["mel"], j["text"]
                per_input.append(rec)
                pos += take
            mean = lambda key: sum(float(p[key]) for p in per_input) / len(per_input)  # noqa: E731
            result[k] = {
                "focus": mean("focus"), "coverage": mean("coverage"),
                "stop_error": sum(abs(p["stop_error"]) for p in per_input) / len(per_input), "signed_error": mean("stop_error"),
                "stop_ok": sum(p["stopped"] and abs(p["stop_error"]) <= STOP_ERROR_MAX for p in per_input) / len(per_input),
                "never_stopped": 1.0 - mean("stopped"), "reached_end": mean("reached_end"), "items": per_input,
            }
    return result
