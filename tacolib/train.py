"""The trainer: Adam with a dynamic learning rate, validation, TensorBoard, checkpoints, DDP.

One :class:`Trainer` serves the notebook (a 15-minute CPU run), the command line
(``tacolib train``, days on GPUs with ``torchrun``) and the quickstart (a time budget).

What one optimizer step does::

    batch ──► model(batch) ──► Tacotron2Loss ──► backward ──► clip grad norm ──► Adam ──► lr schedule

What the trainer adds around it (the seed's monitoring, exactly):

* every ``log_every`` steps: train losses, learning rate, grad norm and steps/s to
  TensorBoard and to :attr:`Trainer.history`;
* every ``val_every`` steps, on the held-out split: teacher-forced losses and
  alignment metrics; target vs predicted mels, the alignment and the stop-token
  curve as figures; then **free-running** inference on fixed held-out sentences
  (focus, stop-token error) with Griffin-Lim audio of what the model says;
* every ``ckpt_every`` steps (and at the end): a checkpoint (``tacolib.checkpoint``),
  keeping the last ``keep_last`` and the best by validation loss;
* Ctrl-C finishes the current step, saves, and returns; a NaN/inf loss stops with a
  message naming the last good checkpoint; ``max_minutes`` stops (and saves) when
  the time budget is spent.

Resuming continues *exactly*: the data order is a pure function of
``(seed, epoch)``, the checkpoint records the epoch and the batch within it, and
every RNG state is restored. On CPU an interrupted and resumed run ends with the
same parameters as an uninterrupted one (``tests/test_train.py``).

Distributed training: launched by ``torchrun``, each process trains on its share
of every epoch's batches (``rank::world_size``, the distributed version of the
bucket sampler) under ``DistributedDataParallel``; only rank 0 logs, validates and
saves.

Run folder layout::

    out_dir/config.yaml         the full config of the run
    out_dir/checkpoints/        step_XXXXXXXX.pt (last keep_last), best.pt
    out_dir/tb/                 TensorBoard events:  tensorboard --logdir out_dir
    out_dir/history.json        the logged scalars (what notebook 09 plots)
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

from tacolib import checkpoint as ckpt
from tacolib.config import Config
from tacolib.masks import decoder_lengths
from tacolib.runtime import atomic_write, resolve_device, seed_everything
from tacolib.schedule import learning_rate, make_scheduler

__all__ = ["Trainer", "TrainingDiverged", "evaluate_teacher_forced", "evaluate_free_running", "epoch_batches", "padding_fraction", "load_datasets", "init_distributed"]


class TrainingDiverged(RuntimeError):
    """The loss (or gradient norm) became NaN or infinite."""


# ---- devices and processes ---------------------------------------------------------------


def init_distributed() -> tuple[int, int]:
    """Join the process group ``torchrun`` describes in the environment.

    ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT``; NCCL is used on GPUs, gloo on CPU. Without them (a plain
    ``python`` run) this does nothing.

    Returns
    -------
    (rank, world_size) : tuple of int
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend=backend, init_method="env://")
    return dist.get_rank(), dist.get_world_size()


# ---- data order ------------------------------------------------------------------------------


def _lengths(dataset) -> list[int]:
    """Per-item sizes used to group similar lengths (mel frames when known)."""
    for attr in ("lengths", "mel_lengths"):
        v = getattr(dataset, attr, None)
        if v is not None:
            return [int(x) for x in (v() if callable(v) else v)]
    raise TypeError(f"{type(dataset).__name__} has no 'lengths' attribute (mel frames per item), which batching needs")


def epoch_batches(dataset, batch_size: int, sampler: str, seed: int, epoch: int) -> list[list[int]]:
    """The batches (lists of item indices) of one epoch: a pure function of its arguments.

    Parameters
    ----------
    dataset : Dataset
        Needs ``len()`` and per-item ``lengths`` (mel frames; exact once its mels are
        cached, see ``TTSDataset.preprocess``).
    batch_size : int
        Items per batch (the last batch of an epoch may be smaller).
    sampler : {"random", "bucket", "sorted"}
        See :class:`tacolib.data.LengthBatchSampler`: ``random`` batches vary in
        length (much padding); ``bucket`` groups similar lengths yet stays random;
        ``sorted`` is the same batches in the same order every epoch (the seed found
        that this fails to train).
    seed, epoch : int
        The epoch's shuffle.
    """
    from tacolib.data import LengthBatchSampler

    if sampler not in ("random", "bucket", "sorted"):
        raise ValueError(f"unknown train.sampler {sampler!r}; choose 'random', 'bucket' or 'sorted'")
    if len(dataset) == 0:
        raise ValueError("the training set is empty")
    return LengthBatchSampler(_lengths(dataset), batch_size, kind=sampler, seed=seed).batches(epoch)


def load_datasets(cfg: Config, progress: bool = True) -> dict[str, Dataset]:
    """The ``train`` and held-out ``test`` splits of the corpus ``cfg.data`` names.

    TinySpeech is built on first use; LJSpeech must have been prepared
    (``tacolib prepare ljspeech``). Every mel is computed and cached up front
    (``TTSDataset.preprocess``): the lengths the batches are made from are then exact,
    and an epoch's batches are the same in every session of a run.
    """
    from tacolib.corpus import corpus_root
    from tacolib.data import TTSDataset

    root = corpus_root(cfg.data, build=True, progress=progress)
    return {split: TTSDataset(root, cfg, split=split).preprocess(progress=progress) for split in ("train", "test")}


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


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


# ---- free-running evaluation ---------------------------------------------------------------------


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
        Held-out items; ``indices`` picks which (default: all), batched in length order.
    cfg : Config
        For the loss (``cfg.train``) when ``criterion`` is not given.
    step : int
        Training step (the guided-attention weight decays with it).
    amp_dtype : torch.dtype, optional
        Run under ``torch.autocast`` with this dtype (GPU mixed precision).
    keep_first : bool
        Also return ``first``: ``(outputs, batch)`` of the first batch, for plots.
    collate_fn : callable, optional
        Default ``tacolib.data.make_collate(cfg)``.

    Returns
    -------
    dict
        Item-weighted means of ``loss``, ``mel``, ``postnet``, ``gate``,
        ``attention`` and of :func:`tacolib.metrics.alignment_metrics` (``focus``,
        ``diagonality``, ``monotonicity``, ``coverage``), plus ``n``.
    """
    from tacolib import metrics
    from tacolib.loss import Tacotron2Loss

    if collate_fn is None:
        from tacolib.data import make_collate

        collate_fn = make_collate(cfg)

    criterion = criterion if criterion is not None else Tacotron2Loss.from_config(cfg)
    keys = _length_order_keys(dataset)
    order = sorted(range(len(dataset)) if indices is None else indices, key=lambda i: keys[i])  # less padding
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    n_items, first = 0, None
    try:
        for i in range(0, len(order), batch_size):
            batch = _to_device(collate_fn([dataset[j] for j in order[i : i + batch_size]]), device)
            with torch.autocast(device_type=device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                out = model(batch)
                losses = criterion(out, batch, step=step)
            r = batch["mel"].shape[1] // out["alignments"].shape[1]
            am = metrics.alignment_metrics(out["alignments"].float(), batch["text_lengths"], decoder_lengths(batch["mel_lengths"], r))
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
    model, dataset, indices: Sequence[int] | None = None, batch_size: int = 8, tolerance: float = 0.1, collate_fn: Callable | None = None
) -> dict[str, Any]:
    """Let the model speak held-out sentences on its own and measure the result.

    For each utterance: the model reads the text with no teacher forcing (its own
    frames are fed back) until the stop token fires or ``max_decoder_steps``. We then
    measure the attention's focus over the generated steps and compare the
    generated length with the true recording's.

    Parameters
    ----------
    model : Tacotron2
        Anything with ``inference(text, text_lengths)`` returning the model output dict.
    dataset : Dataset
        Held-out items (``text``, ``mel``); ``indices`` picks which (default: all).
    batch_size : int
        Sentences decoded together.
    tolerance : float
        A stop counts as correct when ``|predicted - true| <= tolerance * true`` frames.
    collate_fn : callable, optional
        Default ``tacolib.data.make_collate(cfg)``.

    Returns
    -------
    dict
        ``focus`` (mean), ``stop_ok`` (fraction within tolerance), ``stop_error``
        (mean ``|predicted - true| / true``), ``max_steps`` (fraction that never
        stopped), ``n``, and ``items``: per-utterance dicts with ``id``, ``text``,
        ``focus``, ``length``, ``true_length``, ``stop_reason`` and the outputs
        ``mel`` ``(T, n_mels)`` and ``alignment`` ``(T_dec, T_in)`` on CPU.
    """
    from tacolib import metrics

    if collate_fn is None:
        from tacolib.data import make_collate

        collate_fn = make_collate(model.cfg)
    indices = list(range(len(dataset))) if indices is None else list(indices)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    items = []
    try:
        for i in range(0, len(indices), batch_size):
            chunk = indices[i : i + batch_size]
            batch = collate_fn([dataset[j] for j in chunk])
            out = model.inference(batch["text"].to(device), batch["text_lengths"].to(device))
            r = max(1, out["mel"].shape[1] // max(1, out["alignments"].shape[1]))
            lengths = out["lengths"].cpu()
            dec_lengths = decoder_lengths(lengths, r)
            foc = metrics.focus(out["alignments"].cpu(), batch["text_lengths"], dec_lengths)
            for b, j in enumerate(chunk):
                L, Ld, Ti = int(lengths[b]), int(dec_lengths[b]), int(batch["text_lengths"][b])
                true = int(batch["mel_lengths"][b])
                items.append(
                    {
                        "id": batch["ids"][b] if "ids" in batch else str(j),
                        "text": batch["texts"][b] if "texts" in batch else "",
                        "focus": float(foc[b]),
                        "length": L,
                        "true_length": true,
                        "stop_reason": out["stop_reason"][b] if "stop_reason" in out else "",
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


# ---- Ctrl-C ---------------------------------------------------------------------------------------------


class _StopRequest:
    """Turns the first SIGINT/SIGTERM into a flag the loop checks between steps.

    A second Ctrl-C falls through to Python's default (KeyboardInterrupt at once).
    Outside the main thread (where handlers cannot be installed) it does nothing and
    a raw KeyboardInterrupt is handled by the trainer's ``except`` instead.
    """

    def __init__(self):
        self.requested = False
        self._old = {}

    def _handler(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


# ---- the trainer ---------------------------------------------------------------------------------------------


class Trainer:
    """Train a Tacotron 2 on a dataset, with validation, logging and checkpoints.

    Parameters
    ----------
    cfg : Config
        The whole run (``cfg.train`` drives the trainer, ``cfg.model`` the model).
    out_dir : str or Path
        The run folder (see the module docstring); created when needed.
    train_set, val_set : Dataset, optional
        Items as produced by ``tacolib.data.TTSDataset``. Default: the ``train`` and
        held-out ``test`` splits of the corpus ``cfg.data`` names (:func:`load_datasets`).
    model : torch.nn.Module, optional
        Default ``tacolib.model.Tacotron2(cfg)``.
    device : str or torch.device, optional
        Default: the GPU when present, else CPU.
    n_infer : int
        How many fixed held-out sentences are decoded free-running at each validation.
    tensorboard : bool
        Write TensorBoard events to ``out_dir/tb``.
    progress : bool
        Show a tqdm bar (rank 0 only).
    on_step : callable, optional
        ``on_step(trainer, record)`` after each optimizer step (record: the step's
        scalars). For live plots, or for tests that interrupt a run.
    collate_fn : callable, optional
        Items -> batch dict (CONTRIBUTING.md); default ``tacolib.data.make_collate(cfg)``.

    Attributes
    ----------
    step : int
        Optimizer steps taken.
    history : dict
        ``{"train": [...], "val": [...]}`` lists of scalar records (``step``,
        ``time`` in seconds of wall time since the run began, and the values).

    Examples
    --------
    >>> trainer = Trainer(get_config("tiny"), "runs/tiny")
    >>> result = trainer.fit(max_minutes=15)     # resumable: trainer.fit(resume=True)
    """

    def __init__(
        self,
        cfg: Config,
        out_dir: str | Path,
        train_set: Dataset | None = None,
        val_set: Dataset | None = None,
        model: torch.nn.Module | None = None,
        device: str | torch.device | None = None,
        n_infer: int = 8,
        tensorboard: bool = True,
        progress: bool = True,
        on_step: Callable[["Trainer", dict], None] | None = None,
        collate_fn: Callable[[list], dict] | None = None,
    ):
        self.cfg = cfg
        t = cfg.train
        if t.sampler not in ("random", "bucket", "sorted"):
            raise ValueError(f"unknown train.sampler {t.sampler!r}; choose 'random', 'bucket' or 'sorted'")
        for key in ("batch_size", "log_every", "ckpt_every", "keep_last"):
            if getattr(t, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(t, key)}")
        if t.val_every < 0:
            raise ValueError(f"train.val_every must be >= 0 (0: no validation), got {t.val_every}")
        if collate_fn is None:
            from tacolib.data import make_collate

            collate_fn = make_collate(cfg)
        self.collate_fn = collate_fn
        self.out_dir = Path(out_dir)
        self.rank, self.world_size = init_distributed()
        self.is_main = self.rank == 0
        self.device = resolve_device(device)
        if train_set is None or val_set is None:
            if self.world_size > 1 and self.rank > 0:
                dist.barrier()  # rank 0 builds the corpus and caches the mels first
            splits = load_datasets(cfg, progress=progress and self.is_main)
            if self.world_size > 1 and self.rank == 0:
                dist.barrier()
            train_set = train_set if train_set is not None else splits["train"]
            val_set = val_set if val_set is not None else splits["test"]
        self.train_set, self.val_set = train_set, val_set
        seed_everything(cfg.train.seed)  # a run is a function of its config: same init, same dropout
        if model is None:
            from tacolib.model import Tacotron2

            model = Tacotron2(cfg)
        self.model = model.to(self.device)  # the plain module (what checkpoints hold)
        self.net = self.model
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)  # broadcasts rank 0's weights
            seed_everything(cfg.train.seed + 7919 * self.rank)  # but each process draws its own dropout masks

        from tacolib.loss import Tacotron2Loss

        self.criterion = Tacotron2Loss.from_config(cfg)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=t.lr, betas=tuple(t.adam_betas), eps=t.adam_eps, weight_decay=t.weight_decay
        )
        self.scheduler = make_scheduler(self.optimizer, t)
        self.amp = bool(t.amp) and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)

        self.n_infer = n_infer
        self.infer_indices = list(range(min(n_infer, len(val_set))))  # fixed sentences, every validation
        self.tensorboard = tensorboard
        self.progress = progress
        self.on_step = on_step
        self.checkpoints = ckpt.CheckpointManager(self.out_dir / "checkpoints", keep_last=t.keep_last)

        self.step = 0
        self.epoch = 0  # current epoch
        self.batch_in_epoch = 0  # batches of the current epoch already consumed
        self.elapsed = 0.0  # wall seconds of earlier sessions of this run (resume)
        self.best: float | None = None
        self.last_val: dict = {}
        self.history: dict[str, list[dict]] = {"train": [], "val": []}
        self._saved_step = -1
        self._stop_requested = False
        self._writer = None
        self._session_start = time.time()

    # ---- bookkeeping ------------------------------------------------------------------------------------

    @property
    def wall_time(self) -> float:
        """Seconds of wall time this run has taken, over all its sessions."""
        return self.elapsed + (time.time() - self._session_start)

    @property
    def writer(self):
        if self._writer is None and self.tensorboard and self.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"), purge_step=self.step if self.step else None)
        return self._writer

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see ``tacolib.checkpoint``)."""
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "rng": ckpt.rng_state(),
            "data": {"epoch": self.epoch, "batch": self.batch_in_epoch},
            "elapsed": self.wall_time,
            "metrics": {k: v for k, v in self.last_val.items() if isinstance(v, (int, float))},
            "best": self.best,
            "history": self.history,
        }

    def save(self) -> Path | None:
        """Write a checkpoint of the current state (rank 0; returns its path)."""
        if not self.is_main:
            return None
        loss = self.last_val.get("loss") if self.last_val.get("step") == self.step else None
        is_best = loss is not None and (self.best is None or loss < self.best)
        if is_best:
            self.best = loss
        path = self.checkpoints.save(self.state_dict(), is_best=is_best)
        self._saved_step = self.step
        self._write_history()
        return path

    def load(self, path: str | Path) -> None:
        """Continue from a checkpoint file (or a run folder's newest one)."""
        state = ckpt.load_checkpoint(path, map_location="cpu", config=self.cfg)
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise ckpt.CheckpointError(f"{state['path']}: the weights do not fit this model: {str(e).splitlines()[0]}") from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        keys = ("lr", "lr_schedule", "lr_decay_start", "lr_decay_rate", "lr_decay_steps", "lr_min", "warmup_steps")
        if any(state["config"]["train"].get(k) != getattr(self.cfg.train, k) for k in keys):
            # the resumed run changed the schedule: follow this config from here on
            self.scheduler.base_lrs = [float(self.cfg.train.lr)] * len(self.optimizer.param_groups)
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(int(state["step"]), self.cfg.train)
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self._saved_step = self.step
        self.epoch = int(state["data"]["epoch"])
        self.batch_in_epoch = int(state["data"]["batch"])
        self.elapsed = float(state.get("elapsed", 0.0))
        self._session_start = time.time()
        self.best = state.get("best")
        self.history = state.get("history") or {"train": [], "val": []}
        ckpt.set_rng_state(state["rng"])
        if self.world_size > 1 and self.rank > 0:  # ranks must not share dropout masks
            torch.manual_seed(self.cfg.train.seed + 7919 * self.rank + self.step)
        self.resumed_from = state["path"]

    def _write_history(self) -> None:
        atomic_write(self.out_dir / "history.json", json.dumps(self.history))

    def _log(self, kind: str, record: dict) -> None:
        self.history[kind].append(record)
        w = self.writer
        if w is not None:
            for k, v in record.items():
                if k not in ("step", "time") and isinstance(v, (int, float)) and math.isfinite(v):
                    w.add_scalar(f"{kind}/{k}", v, record["step"])

    # ---- data ----------------------------------------------------------------------------------------------------

    def _loader(self, epoch: int, start: int) -> tuple[DataLoader, int]:
        """This rank's batches of ``epoch`` from batch ``start`` on, and their count."""
        t = self.cfg.train
        batches = epoch_batches(self.train_set, t.batch_size, t.sampler, t.seed, epoch)
        if self.world_size > 1:
            usable = len(batches) - len(batches) % self.world_size
            if usable == 0:
                raise ValueError(f"{len(batches)} batches per epoch cannot be shared by {self.world_size} processes")
            batches = batches[self.rank : usable : self.world_size]
        g = torch.Generator().manual_seed(t.seed + epoch)  # keeps DataLoader off the global RNG
        loader = DataLoader(
            self.train_set, batch_sampler=batches[start:], collate_fn=self.collate_fn, num_workers=t.num_workers, generator=g
        )
        return loader, len(batches)

    def _batches(self):
        """Endless stream of training batches; tracks ``epoch`` and ``batch_in_epoch``."""
        while True:
            loader, n = self._loader(self.epoch, self.batch_in_epoch)
            for batch in loader:
                self.batch_in_epoch += 1
                yield batch
            self.epoch += 1
            self.batch_in_epoch = 0
            if n == 0:
                raise ValueError("an epoch produced no batches")

    # ---- one step ------------------------------------------------------------------------------------------------------

    def _sync(self, values: list[float]) -> list[float]:
        """Sum ``values`` over processes (identity in a single process)."""
        if self.world_size == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def train_step(self, batch: dict) -> dict[str, float]:
        """Forward, loss, backward, clip, Adam, schedule. Returns the step's scalars.

        Raises :class:`TrainingDiverged` (before touching the weights) when the loss is
        not finite on any process.
        """
        t = self.cfg.train
        self.net.train()
        batch = _to_device(batch, self.device)
        with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            out = self.net(batch)
            losses = self.criterion(out, batch, step=self.step)
        loss = losses["loss"]
        total = self._sync([float(loss.detach())])[0] / self.world_size  # the mean over processes
        if not math.isfinite(total):
            raise TrainingDiverged(self._diverged_message("loss", total))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        clip = t.grad_clip if t.grad_clip and t.grad_clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        if not math.isfinite(grad_norm) and not self.scaler.is_enabled():
            raise TrainingDiverged(self._diverged_message("gradient norm", grad_norm))
        lr = self.optimizer.param_groups[0]["lr"]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self._last_output = (out, batch)
        record = {"loss": total, "lr": lr, "grad_norm": grad_norm, "frames": int(batch["mel"].shape[0] * batch["mel"].shape[1])}
        for k in ("mel", "postnet", "gate", "attention"):
            if k in losses:
                record[k] = float(losses[k])
        record["attention_weight"] = float(losses.get("attention_weight", 0.0))
        return record

    def _diverged_message(self, what: str, value: float) -> str:
        last = self.checkpoints.latest()
        where = f"the last good checkpoint is {last}" if last else "no checkpoint was saved yet"
        return (
            f"training diverged at step {self.step + 1}: the {what} is {value}. The weights were not updated; "
            f"{where}. Try a lower train.lr or train.grad_clip, then resume with --resume {last or ''}".rstrip()
        )

    # ---- validation ----------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def validate(self, log: bool = True) -> dict[str, Any]:
        """Teacher-forced losses and alignment metrics on the held-out split, then
        free-running inference on the fixed held-out sentences.

        Dropout is drawn from a fixed seed inside a forked RNG: validation never
        changes the training run's randomness, and every validation sees the same masks.
        """
        model = self.model
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(self.cfg.train.seed)
            result = evaluate_teacher_forced(
                model, self.val_set, self.cfg, batch_size=self.cfg.train.batch_size, criterion=self.criterion,
                step=self.step, amp_dtype=self.amp_dtype if self.amp else None, keep_first=True, collate_fn=self.collate_fn,
            )
            first = result.pop("first")
            fr = evaluate_free_running(
                model, self.val_set, self.infer_indices, batch_size=max(1, min(8, self.cfg.train.batch_size)), collate_fn=self.collate_fn
            )
        result.update({"infer_focus": fr["focus"], "infer_stop_ok": fr["stop_ok"], "infer_stop_error": fr["stop_error"], "infer_max_steps": fr["max_steps"]})
        result["step"] = self.step
        result["time"] = self.wall_time
        self.last_val = result
        self.last_infer = fr
        if log and self.is_main:
            self._log("val", {k: v for k, v in result.items()})
            if self.writer is not None:
                try:
                    self._log_media(first, fr)
                except Exception as e:  # monitoring must never end a training run
                    warnings.warn(f"TensorBoard figures/audio at step {self.step} failed: {type(e).__name__}: {e}")
            self._write_history()
        return result

    def _log_media(self, tf, fr) -> None:
        """Figures and audio for TensorBoard: the seed's monitoring panel."""
        from tacolib import viz

        w, s = self.writer, self.step
        out, batch = tf
        L = int(batch["mel_lengths"][0])
        r = batch["mel"].shape[1] // out["alignments"].shape[1]
        fig = viz.plot_training_summary(
            batch["mel"][0, :L], out["mel_postnet"][0, :L], out["alignments"][0, : int(decoder_lengths(L, r)), : int(batch["text_lengths"][0])],
            out["gate_logits"][0, :L], batch["gate_targets"][0, :L], title=f"validation (teacher forced), step {s}",
        )
        w.add_figure("val/teacher_forced", fig, s)
        last = getattr(self, "_last_output", None)
        if last is not None:
            out, batch = last
            L = int(batch["mel_lengths"][0])
            fig = viz.plot_training_summary(
                batch["mel"][0, :L].detach(), out["mel_postnet"][0, :L].detach(),
                out["alignments"][0, : int(decoder_lengths(L, r)), : int(batch["text_lengths"][0])].detach(),
                out["gate_logits"][0, :L].detach(), batch["gate_targets"][0, :L], title=f"training batch, step {s}",
            )
            w.add_figure("train/summary", fig, s)
        for k, it in enumerate(fr["items"][:3]):
            w.add_figure(f"infer/{k}_alignment", viz.plot_alignment(it["alignment"], title=f"free running: {it['text'][:60]}"), s)
            w.add_figure(f"infer/{k}_mel", viz.plot_mels([it["target_mel"], it["mel"]], ["recording", "model (free running)"]), s)
            wav = self.vocode(it["mel"])
            if wav is not None:
                w.add_audio(f"infer/{k}_griffin_lim", torch.as_tensor(wav).float().reshape(1, -1).clamp(-1, 1), s, sample_rate=self.cfg.audio.sample_rate)
        w.flush()

    def vocode(self, mel: torch.Tensor):
        """Griffin-Lim audio of a scaled mel ``(T, n_mels)`` (None if no vocoder is available)."""
        try:
            from tacolib.vocoder.griffin_lim import mel_to_audio
        except ImportError:
            return None
        a = self.cfg.audio
        if mel.shape[0] <= a.n_fft // a.hop_length:  # too short for one STFT window
            return None
        return mel_to_audio(mel, a)

    # ---- the loop ------------------------------------------------------------------------------------------------

    def fit(self, max_steps: int | None = None, max_minutes: float | None = None, resume: bool | str | Path = False) -> dict[str, Any]:
        """Train until ``max_steps`` (default ``cfg.train.max_steps``), the time budget, or Ctrl-C.

        Parameters
        ----------
        max_steps : int, optional
            Total optimizer steps of the run (a resumed run counts from its checkpoint).
        max_minutes : float, optional
            Wall-clock budget for this call, validation included; the run stops after
            the step that exceeds it, saves, and returns ``status="time_budget"``.
        resume : bool or path
            ``True``: continue from the newest checkpoint in ``out_dir`` if there is one;
            a path: from that checkpoint (it must exist).

        Returns
        -------
        dict
            ``status`` (``"done"``, ``"time_budget"``, ``"interrupted"`` (Ctrl-C) or
            ``"stopped"`` (:meth:`request_stop`)), ``step``,
            ``checkpoint`` (path of the last save), ``wall_time`` (s), ``val`` (last
            validation metrics).

        Raises
        ------
        TrainingDiverged
            On a NaN/inf loss, naming the last good checkpoint.
        """
        t = self.cfg.train
        max_steps = t.max_steps if max_steps is None else int(max_steps)
        if resume:
            path = self.checkpoints.latest() if resume is True else Path(resume)
            if path is not None:
                self.load(path)
                if self.is_main:
                    print(f"resuming from {path} at step {self.step}")
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.cfg.save(self.out_dir / "config.yaml")
        started = time.time()
        budget = None if max_minutes is None else 60.0 * float(max_minutes)
        status, saved = "done", None
        bar = None
        if self.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=max_steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
        stream = self._batches()
        window_t, window_steps, session_steps = time.time(), 0, 0
        try:
            with _StopRequest() as stop:
                while self.step < max_steps:
                    # every process must agree to stop, between steps (one tiny all-reduce under DDP)
                    out_of_time = budget is not None and session_steps > 0 and time.time() - started > budget
                    n_stop, n_time, n_asked = self._sync([float(stop.requested), float(out_of_time), float(self._stop_requested)])
                    if n_stop or n_time or n_asked:
                        status = "interrupted" if n_stop else "time_budget" if n_time else "stopped"
                        self._stop_requested = False
                        break
                    batch = next(stream)
                    record = self.train_step(batch)
                    self.step += 1
                    session_steps += 1
                    window_steps += 1
                    record["step"], record["time"] = self.step, self.wall_time
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.1e}", refresh=False)
                    if self.step % t.log_every == 0 or self.step == 1:
                        now = time.time()
                        record["steps_per_sec"] = window_steps / max(now - window_t, 1e-9)
                        window_t, window_steps = now, 0
                        if self.is_main:
                            self._log("train", record)
                    if self.on_step is not None:
                        self.on_step(self, record)
                    if self.is_main and t.val_every and self.step % t.val_every == 0:
                        self.validate()
                    if self.step % t.ckpt_every == 0:
                        saved = self.save() or saved
                        self._barrier()
        except KeyboardInterrupt:  # a raw one (second Ctrl-C, or no signal handler)
            status = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        if status != "interrupted" and self.is_main and t.val_every and self.last_val.get("step") != self.step:
            self.validate()  # the final numbers, for the caller and for best.pt
        if self._saved_step != self.step:
            saved = self.save() or saved
        saved = saved or self.checkpoints.latest()
        self._barrier()
        if self._writer is not None:
            self._writer.flush()
        if self.is_main and status != "done":
            why = f"time budget of {max_minutes:g} min spent" if status == "time_budget" else status
            print(f"{why} at step {self.step}; saved {saved}; to continue: Trainer.fit(resume=True) or tacolib train --resume")
        return {"status": status, "step": self.step, "checkpoint": str(saved) if saved else None, "wall_time": self.wall_time, "val": self.last_val}

    def request_stop(self) -> None:
        """Ask :meth:`fit` to save and return after the current step (``status="stopped"``).

        For callers that decide when to stop (an ``on_step`` callback, a notebook widget).
        """
        self._stop_requested = True

    def _barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        """Flush TensorBoard and leave the process group."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _length_order_keys(dataset) -> list[int]:
    try:
        return _lengths(dataset)
    except TypeError:
        return [0] * len(dataset)


def _length_order(dataset) -> list[int]:
    """Indices sorted by length (less padding in validation batches), else in order."""
    keys = _length_order_keys(dataset)
    return sorted(range(len(dataset)), key=lambda i: keys[i])
