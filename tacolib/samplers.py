"""The order of an epoch: lengths of items -> batches (lists of item indices).

::

    lengths ──LengthBatchSampler("random" | "bucket" | "sorted" | "sequential")──► batches
    (dataset, seed, epoch) ──epoch_batches──► the batches of that epoch (a pure function)
    batches, lengths ──padding_fraction──► how much of the padded epoch is padding

Batching by length decides how much of every padded batch is wasted compute, and
whether the model sees a fresh mix every epoch (notebook 09 measures both). The
trainer builds each epoch with :func:`epoch_batches`, so a resumed run sees exactly
the batches an uninterrupted one would; :func:`tacolib.batching.make_loader` turns
batches into padded batch dicts.
"""

from __future__ import annotations

import random
from typing import Iterator, Sequence

import torch

__all__ = ["SAMPLERS", "LengthBatchSampler", "make_sampler", "epoch_batches", "padding_fraction"]

#: The batch orders :class:`LengthBatchSampler` knows (``train.sampler`` names one).
SAMPLERS = ("random", "bucket", "sorted", "sequential")


class LengthBatchSampler(torch.utils.data.Sampler):
    """Yields batches (lists of indices) in one of four orders.

    ``"random"``
        Shuffle everything, cut into batches. Lengths within a batch vary widely, so
        much of each batch is padding.
    ``"bucket"``
        Shuffle, cut into pools of ``bucket_size`` batches, sort each pool by length,
        cut it into batches, shuffle the batches. Similar lengths share a batch (little
        padding) yet every epoch sees new, randomly ordered batches.
    ``"sorted"``
        Sort everything by length once; the same batches in the same order every
        epoch (the seed's setup that failed to train: the model sees short
        utterances, then long ones, and every batch is alike).
    ``"sequential"``
        Dataset order, no shuffling (evaluation).

    Parameters
    ----------
    lengths : sequence of int
        Length of each item (mel frames).
    batch_size : int
    kind : str
        One of :data:`SAMPLERS`.
    seed : int
        Epoch ``e`` shuffles with ``seed + e``; the epoch advances on each iteration
        (or set it with :meth:`set_epoch`).
    drop_last : bool
        Drop a final incomplete batch.
    bucket_size : int
        Batches per sorting pool for ``"bucket"``.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        kind: str = "bucket",
        seed: int = 0,
        drop_last: bool = False,
        bucket_size: int = 8,
    ):
        if kind not in SAMPLERS:
            raise ValueError(f"unknown sampler kind {kind!r} (the config's train.sampler); choose one of {SAMPLERS}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(lengths) == 0:
            raise ValueError("cannot sample from an empty dataset")
        self.lengths = list(lengths)
        self.batch_size = int(batch_size)
        self.kind = kind
        self.seed = int(seed)
        self.drop_last = drop_last
        self.bucket_size = max(1, int(bucket_size))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _chunks(self, idx: list[int]) -> list[list[int]]:
        out = [idx[i : i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        if self.drop_last and out and len(out[-1]) < self.batch_size:
            out.pop()
        return out

    def batches(self, epoch: int) -> list[list[int]]:
        """The batches of ``epoch`` (deterministic for a given seed and epoch)."""
        n = len(self.lengths)
        rng = random.Random(self.seed + epoch)
        if self.kind == "sequential":
            return self._chunks(list(range(n)))
        if self.kind == "sorted":
            return self._chunks(sorted(range(n), key=lambda i: (self.lengths[i], i)))
        idx = list(range(n))
        rng.shuffle(idx)
        if self.kind == "random":
            return self._chunks(idx)
        pool = self.batch_size * self.bucket_size
        batches = []
        for start in range(0, n, pool):
            chunk = sorted(idx[start : start + pool], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches(self.epoch)
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        return len(self.batches(self.epoch))


def make_sampler(dataset, kind: str, batch_size: int, seed: int = 0, drop_last: bool = False) -> LengthBatchSampler:
    """A :class:`LengthBatchSampler` over ``dataset.lengths``."""
    return LengthBatchSampler(dataset.lengths, batch_size, kind=kind, seed=seed, drop_last=drop_last)


def epoch_batches(dataset, batch_size: int, sampler: str, seed: int, epoch: int) -> list[list[int]]:
    """The batches (lists of item indices) of one epoch: a pure function of its arguments.

    Parameters
    ----------
    dataset : Dataset
        Needs per-item ``lengths`` (mel frames; exact once its mels are cached, see
        ``TTSDataset.preprocess``).
    batch_size : int
        Items per batch (the last batch of an epoch may be smaller).
    sampler : str
        One of :data:`SAMPLERS` (see :class:`LengthBatchSampler`): ``random`` batches
        vary in length (much padding); ``bucket`` groups similar lengths yet stays
        random; ``sorted`` is the same batches in the same order every epoch (the
        seed found that this fails to train).
    seed, epoch : int
        The epoch's shuffle.
    """
    return LengthBatchSampler(dataset.lengths, batch_size, kind=sampler, seed=seed).batches(epoch)


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Fraction of a padded epoch that is padding.

    Every batch is padded to its longest item, so a batch of items ``i`` costs
    ``len(batch) * max(lengths[i])`` frames of compute for ``sum(lengths[i])`` real ones.

    Parameters
    ----------
    batches : list of lists of int
        Item indices per batch (e.g. from :func:`epoch_batches`).
    lengths : sequence of int
        Length of every item (frames).

    Returns
    -------
    float
        ``1 - real / padded`` over all batches, in ``[0, 1)``.
    """
    real = sum(lengths[i] for b in batches for i in b)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches if len(b))
    return 1.0 - real / padded if padded else 0.0
