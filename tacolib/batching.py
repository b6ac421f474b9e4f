"""Batching: dataset items -> padded batch dicts (the batch's format: CONTRIBUTING.md, "A batch").

::

    items of tacolib.data.TTSDataset ──collate────► batch dict (see CONTRIBUTING.md)
    batches of indices (tacolib.samplers) ──make_loader──► batch dicts ──to_device──► on the model's device

:func:`make_loader` is the one path from a dataset to batches (training and
evaluation); :func:`example_batch` is a real batch for running modules on real data
(the notebooks). A None item (audio that turned out undecodable, see
:mod:`tacolib.data`) is dropped by :func:`collate` with a warning on the
``tacolib.data`` logger, beside every other bad-data message.
"""

from __future__ import annotations

import functools
import logging
import random
from typing import Sequence

import torch

from tacolib.config import Config
from tacolib.data import TTSDataset, corpus_by_name
from tacolib.masks import decoder_lengths, lengths_to_mask, make_gate_targets
from tacolib.samplers import make_sampler
from tacolib.symbols import PAD_ID

__all__ = [
    "collate",
    "make_collate",
    "make_loader",
    "to_device",
    "example_batch",
]

# Dropped items are bad data: logged where the dataset logs the rest of it (tacolib.data's list).
logger = logging.getLogger("tacolib.data")


def collate(items: Sequence[dict | None], cfg: Config) -> dict:
    """Pad a list of dataset items into a batch (the table in CONTRIBUTING.md).

    Items are ordered by decreasing text length (what ``pack_padded_sequence`` with
    ``enforce_sorted=True`` expects); ``ids`` and ``texts`` follow the same order.
    None items (undecodable audio, see :class:`TTSDataset`) are dropped.

    Parameters
    ----------
    items : list of dict
        ``{"id", "text", "tokens" (T_in_i,), "mel" (T_out_i, n_mels)}``.
    cfg : Config
        ``cfg.audio.pad_value`` pads mels; ``cfg.model.r`` rounds ``T_out`` up.

    Returns
    -------
    dict
        ``text`` (B, T_in) long padded with 0; ``text_lengths`` (B,) long;
        ``mel`` (B, T_out, n_mels) float padded with ``pad_value``, ``T_out`` a multiple
        of ``r``; ``mel_lengths`` (B,) long; ``gate_targets`` (B, T_out) float, 1.0 from
        the last real frame on; ``mel_mask`` (B, T_out) bool, True on real frames;
        ``ids``, ``texts`` lists of str.

    Raises
    ------
    ValueError
        No item left, or items with different numbers of mel channels.
    """
    kept = [it for it in items if it is not None]
    if len(kept) < len(items):
        logger.warning("collate: %d of %d items had unreadable audio and were dropped", len(items) - len(kept), len(items))
    if not kept:
        raise ValueError("collate: no usable item in this batch (all were None)")
    kept = sorted(kept, key=lambda it: -len(it["tokens"]))  # stable: ties keep their order
    n_mels = {int(it["mel"].shape[-1]) for it in kept}
    if len(n_mels) != 1:
        raise ValueError(f"collate: items have different numbers of mel channels {sorted(n_mels)}")
    (n_mels,) = n_mels
    r = max(1, int(cfg.model.r))
    B = len(kept)
    text_lengths = torch.tensor([len(it["tokens"]) for it in kept], dtype=torch.long)  # (B,)
    mel_lengths = torch.tensor([int(it["mel"].shape[0]) for it in kept], dtype=torch.long)  # (B,)
    if int(mel_lengths.min()) < 1:
        bad = [it["id"] for it in kept if it["mel"].shape[0] < 1]
        raise ValueError(f"collate: empty mel for {bad}")
    T_in = int(text_lengths.max())
    T_out = int(decoder_lengths(mel_lengths.max(), r)) * r  # rounded up to a multiple of r

    text = torch.full((B, T_in), PAD_ID, dtype=torch.long)  # (B, T_in)
    mel = torch.full((B, T_out, n_mels), float(cfg.audio.pad_value), dtype=torch.float32)  # (B, T_out, n_mels)
    for b, it in enumerate(kept):
        text[b, : text_lengths[b]] = it["tokens"]
        mel[b, : mel_lengths[b]] = torch.as_tensor(it["mel"], dtype=torch.float32)
    mel_mask = lengths_to_mask(mel_lengths, T_out)  # (B, T_out)
    gate_targets = make_gate_targets(mel_lengths, T_out)  # (B, T_out)
    return {
        "text": text,
        "text_lengths": text_lengths,
        "mel": mel,
        "mel_lengths": mel_lengths,
        "gate_targets": gate_targets,
        "mel_mask": mel_mask,
        "ids": [it["id"] for it in kept],
        "texts": [it["text"] for it in kept],
    }


def make_collate(cfg: Config) -> functools.partial:
    """``collate`` bound to ``cfg``: a picklable ``collate_fn`` for a DataLoader (workers too)."""
    return functools.partial(collate, cfg=cfg)


def make_loader(
    dataset: TTSDataset, cfg: Config, shuffle: bool = True, batch_size: int | None = None,
    batches: Sequence[Sequence[int]] | None = None, epoch: int = 0, collate_fn=None,
) -> torch.utils.data.DataLoader:
    """A DataLoader of padded batches (the one path from a dataset to batch dicts).

    Parameters
    ----------
    dataset : TTSDataset
    cfg : Config
        ``cfg.train``: ``sampler``, ``batch_size``, ``num_workers``, ``seed``.
    shuffle : bool
        Batches in ``cfg.train.sampler``'s order (training), else in dataset order
        (evaluation). Ignored when ``batches`` is given.
    batch_size : int, optional
        Default ``cfg.train.batch_size``.
    batches : list of lists of int, optional
        Exactly these batches of item indices, in this order (the trainer passes its
        share of an epoch from :func:`tacolib.samplers.epoch_batches`, from the batch
        a resumed run stopped at).
    epoch : int
        Seeds the loader's own generator (``cfg.train.seed + epoch``, what worker
        processes derive their seeds from), so loading never draws from torch's
        global RNG and a run's dropout masks do not depend on it.
    collate_fn : callable, optional
        Default :func:`make_collate` of ``cfg``.
    """
    t = cfg.train
    if batches is None:
        bs = t.batch_size if batch_size is None else batch_size  # 0 is refused by the sampler, not "default"
        batches = make_sampler(dataset, t.sampler if shuffle else "sequential", min(bs, len(dataset)), seed=t.seed)
    return torch.utils.data.DataLoader(
        dataset, batch_sampler=batches, collate_fn=collate_fn or make_collate(cfg), num_workers=t.num_workers,
        generator=torch.Generator().manual_seed(t.seed + epoch),
    )


def to_device(batch: dict, device: torch.device) -> dict:
    """The batch with every tensor moved to ``device`` (lists of ids and texts stay)."""
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


def example_batch(cfg: Config, n: int = 4, split: str = "train", corpus: str = "tinyspeech", seed: int = 0) -> dict:
    """A real padded batch of ``n`` utterances, for running modules on real data.

    Parameters
    ----------
    cfg : Config
    n : int
        Batch size (capped at the number of utterances available).
    split : {"train", "test", "all"}
    corpus : str
        A name or folder (:func:`corpus_by_name`): ``"tinyspeech"``,
        ``"ljspeech-sample"``, or a path to any corpus folder.
    seed : int
        Which utterances: the same seed gives the same batch.

    Returns
    -------
    dict
        A batch as returned by :func:`collate`.
    """
    ds = TTSDataset(corpus_by_name(corpus), cfg, split=split)
    picks = sorted(random.Random(seed).sample(range(len(ds)), min(n, len(ds))))
    return collate([ds[i] for i in picks], cfg)
