"""The trainer: Adam with a dynamic learning rate, validation, TensorBoard, checkpoints, DDP.

One :class:`Trainer` serves the notebook (a 15-minute CPU run), the command line
(``tacolib train``, days on GPUs with ``torchrun``) and the quickstart (a time budget).

What one optimizer step does::

    batch ──► model(batch) ──► Tacotron2Loss ──► backward ──► clip grad norm ──► Adam ──► lr schedule

What the trainer adds around it:

* the seed's monitoring, exactly (:class:`tacolib.monitor.RunMonitor`): every
  ``log_every`` steps the train losses, learning rate, grad norm and steps/s to
  TensorBoard and :attr:`Trainer.history`; every ``val_every`` steps the held-out
  split's teacher-forced losses and alignment metrics, then **free-running**
  inference on fixed held-out sentences (focus, stop-token error), with figures and
  Griffin-Lim audio of what the model says;
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

import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch.utils.data import Dataset

from tacolib import checkpoint as ckpt
from tacolib import runlock
from tacolib.batching import make_collate, make_loader, to_device
from tacolib.config import Config
from tacolib.data import load_datasets
from tacolib.loss import Tacotron2Loss
from tacolib.model import Tacotron2
from tacolib.monitor import RunMonitor
from tacolib.runtime import StopRequest, init_distributed, resolve_device, seed_everything
from tacolib.safe_io import remove_orphans
from tacolib.samplers import SAMPLERS, epoch_batches
from tacolib.schedule import learning_rate, make_optimizer, make_scheduler

__all__ = ["Trainer", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The loss (or gradient norm) became NaN or infinite."""


# ---- the trainer ---------------------------------------------------------------------------------------------


class Trainer:
    """Train a Tacotron 2 on a dataset, with validation, logging and checkpoints.

    Parameters
    ----------
    cfg : Config
        The whole run (``cfg.train`` drives the trainer, ``cfg.model`` the model).
    out_dir : str or Path
        The run folder (see the module docstring); created when needed. The trainer
        holds it (:func:`tacolib.runlock.lock_run_folder`) from construction to
        :meth:`close`: another process's trainer on the same folder is refused with
        :class:`tacolib.runlock.RunLockedError`, naming this one's pid.
    train_set, val_set : Dataset, optional
        Items as produced by ``tacolib.data.TTSDataset``. Default: the ``train`` and
        held-out ``test`` splits of the corpus ``cfg.data`` names
        (:func:`tacolib.data.load_datasets`).
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
        scalars, see :meth:`train_step`). For live plots, a thread tuner
        (:class:`tacolib.threads.ThreadTuner`), or tests that interrupt a run.
    collate_fn : callable, optional
        Items -> batch dict (CONTRIBUTING.md); default ``tacolib.batching.make_collate(cfg)``.

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
        t = cfg.train
        for key in ("batch_size", "log_every", "ckpt_every", "keep_last"):
            if getattr(t, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(t, key)}")
        if t.val_every < 0:
            raise ValueError(f"train.val_every must be >= 0 (0: no validation), got {t.val_every}")
        if t.sampler not in SAMPLERS:
            raise ValueError(f"unknown train.sampler {t.sampler!r}; choose one of {', '.join(SAMPLERS)}")
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.collate_fn = collate_fn or make_collate(cfg)
        joined = not (dist.is_available() and dist.is_initialized())
        self.rank, self.world_size = init_distributed()
        self._owns_group = joined and self.world_size > 1  # close() leaves a process group this trainer joined
        self.is_main = self.rank == 0
        self.device = resolve_device(device)
        # one run per folder: before the corpus is built and before CheckpointManager removes orphans,
        # which assumes no other process writes there (rank 0 writes everything; released in close())
        self._lock = runlock.lock_run_folder(self.out_dir) if self.is_main else None
        if self.is_main:  # temporaries a killed save of config.yaml or history.json left (checkpoints: CheckpointManager)
            remove_orphans(self.out_dir, ("config.yaml", "history.json").__contains__)
        try:
            if train_set is None or val_set is None:
                if self.world_size > 1 and self.rank > 0:
                    dist.barrier()  # rank 0 builds the corpus and caches the mels first
                splits = load_datasets(cfg, progress=progress and self.is_main)
                if self.world_size > 1 and self.rank == 0:
                    dist.barrier()
                train_set = train_set if train_set is not None else splits["train"]
                val_set = val_set if val_set is not None else splits["test"]
            self.train_set, self.val_set = train_set, val_set

            seed_everything(t.seed)  # a run is a function of its config: same init, same dropout
            self.model = (model if model is not None else Tacotron2(cfg)).to(self.device)  # the plain module (what checkpoints hold)
            self.net = self.model
            if self.world_size > 1:
                ids = [self.device.index] if self.device.type == "cuda" else None
                self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)  # broadcasts rank 0's weights
                seed_everything(t.seed + 7919 * self.rank)  # but each process draws its own dropout masks
            self.criterion = Tacotron2Loss.from_config(cfg)
            self.optimizer = make_optimizer(self.model, t)
            self.scheduler = make_scheduler(self.optimizer, t)
            self.amp = bool(t.amp) and self.device.type == "cuda"
            self.amp_dtype = torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16
            self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
            self.monitor = RunMonitor(cfg, self.out_dir, val_set, self.criterion, self.collate_fn, n_infer=n_infer,
                                      tensorboard=tensorboard and self.is_main, amp_dtype=self.amp_dtype if self.amp else None)
            self.progress, self.on_step = progress, on_step
            self.checkpoints = ckpt.CheckpointManager(self.out_dir / "checkpoints", keep_last=t.keep_last)
            self.step = 0
            self.epoch = 0  # current epoch
            self.batch_in_epoch = 0  # batches of the current epoch already consumed
            self.elapsed = 0.0  # wall seconds of earlier sessions of this run (resume)
            self.best: float | None = None
            self._saved_step, self._saved_path = -1, None
            self._stop_requested = False
            self._last_output = None  # (outputs, batch) of the last training step, for the TensorBoard summary
            self._session_start = time.time()
        except BaseException:
            self.close()
            raise

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
        max_steps = self.cfg.train.max_steps if max_steps is None else int(max_steps)
        self._begin(resume)
        deadline = None if max_minutes is None else time.time() + 60.0 * float(max_minutes)
        first_step, status = self.step, "done"
        batches = self._batches()
        bar = self._progress_bar(max_steps)
        try:
            with StopRequest() as ctrl_c:
                while self.step < max_steps:
                    out_of_time = deadline is not None and self.step > first_step and time.time() > deadline
                    status = self._agree_to_stop(ctrl_c.requested, out_of_time)  # every process, between steps
                    if status != "done":
                        break
                    record = self.train_step(next(batches))
                    self.step += 1
                    record["step"], record["time"] = self.step, self.wall_time
                    self._after_step(record, bar)  # log, on_step, validate, checkpoint
        except KeyboardInterrupt:  # a raw one (second Ctrl-C, or no signal handler)
            status = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        return self._end(status, max_minutes)

    def _begin(self, resume: bool | str | Path) -> None:
        """Hold the run folder, load the checkpoint to resume from (if any), write the run's config, start the speed window."""
        if self._lock is not None:
            self._lock.acquire()  # after close(): ours again, or RunLockedError (no-op while held)
        if resume:
            path = self.checkpoints.latest() if resume is True else Path(resume)
            if path is not None:
                self.load(path)
                if self.is_main:
                    print(f"resuming from {path} at step {self.step}")
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.cfg.save(self.out_dir / "config.yaml")
        self.monitor.start_window()

    def _agree_to_stop(self, ctrl_c: bool, out_of_time: bool) -> str:
        """``"done"`` to go on, else why every process stops (one tiny all-reduce under DDP)."""
        n_ctrl_c, n_time, n_asked = self._sync([float(ctrl_c), float(out_of_time), float(self._stop_requested)])
        if not (n_ctrl_c or n_time or n_asked):
            return "done"
        self._stop_requested = False
        return "interrupted" if n_ctrl_c else "time_budget" if n_time else "stopped"

    def _after_step(self, record: dict, bar) -> None:
        """What follows an optimizer step: the progress bar, logging, ``on_step``, validation, checkpoints."""
        t = self.cfg.train
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.1e}", refresh=False)
        self.monitor.count_step(record, log=self.is_main and (self.step % t.log_every == 0 or self.step == 1))
        if self.on_step is not None:
            self.on_step(self, record)
        if self.is_main and t.val_every and self.step % t.val_every == 0:
            self.validate()
        if self.step % t.ckpt_every == 0:
            self.save()
            self._barrier()

    def _end(self, status: str, max_minutes: float | None) -> dict[str, Any]:
        """Final validation and checkpoint; the result of :meth:`fit`."""
        t = self.cfg.train
        if status != "interrupted" and self.is_main and t.val_every and self.last_val.get("step") != self.step:
            self.validate()  # the final numbers, for the caller and for best.pt
        if self._saved_step != self.step:
            self.save()
        saved = self._saved_path or self.checkpoints.latest()
        self._barrier()
        self.monitor.flush()
        if self.is_main and status != "done":
            why = f"time budget of {max_minutes:g} min spent" if status == "time_budget" else status
            print(f"{why} at step {self.step}; saved {saved}; to continue: Trainer.fit(resume=True) or tacolib train --resume")
        return {"status": status, "step": self.step, "checkpoint": str(saved) if saved else None, "wall_time": self.wall_time, "val": self.last_val}

    def _progress_bar(self, max_steps: int):
        if not (self.progress and self.is_main):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=max_steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)

    def request_stop(self) -> None:
        """Ask :meth:`fit` to save and return after the current step (``status="stopped"``).

        For callers that decide when to stop (an ``on_step`` callback, a notebook widget).
        """
        self._stop_requested = True

    def close(self) -> None:
        """Flush and close the TensorBoard writer, give the run folder back (its lock), and
        leave the process group if this trainer joined it. A later :meth:`fit` takes the
        folder again."""
        if getattr(self, "monitor", None) is not None:
            self.monitor.close()
        if self._lock is not None:
            self._lock.release()
        if self._owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self._owns_group = False

    # ---- one step ------------------------------------------------------------------------------------------------------

    def train_step(self, batch: dict) -> dict[str, float]:
        """Forward, loss, backward, clip, Adam, schedule.

        Returns the step's record: ``loss`` (mean over processes), ``lr``,
        ``grad_norm``, ``frames`` (padded mel frames in this process's batch, what the
        step's cost grows with), and the loss terms ``mel``, ``postnet``, ``gate``,
        ``attention``, ``attention_weight``.

        Raises :class:`TrainingDiverged` (before touching the weights) when the loss is
        not finite on any process.
        """
        t = self.cfg.train
        self.net.train()
        batch = to_device(batch, self.device)
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

    # ---- data ----------------------------------------------------------------------------------------------------

    def _batches(self):
        """Endless stream of training batches; tracks ``epoch`` and ``batch_in_epoch``.

        Each epoch's batches are a pure function of ``(seed, epoch)``
        (:func:`tacolib.samplers.epoch_batches`); under DDP each process takes every
        ``world_size``-th one. A resumed run starts at the batch it stopped at.
        """
        t = self.cfg.train
        while True:
            batches = epoch_batches(self.train_set, t.batch_size, t.sampler, t.seed, self.epoch)
            if self.world_size > 1:
                usable = len(batches) - len(batches) % self.world_size
                if usable == 0:
                    raise ValueError(f"{len(batches)} batches per epoch cannot be shared by {self.world_size} processes")
                batches = batches[self.rank : usable : self.world_size]
            for batch in make_loader(self.train_set, self.cfg, batches=batches[self.batch_in_epoch :], epoch=self.epoch, collate_fn=self.collate_fn):
                self.batch_in_epoch += 1
                yield batch
            self.epoch += 1
            self.batch_in_epoch = 0

    def _sync(self, values: list[float]) -> list[float]:
        """Sum ``values`` over processes (identity in a single process)."""
        if self.world_size == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def _barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    # ---- validation and bookkeeping --------------------------------------------------------------------

    def validate(self, log: bool = True) -> dict[str, Any]:
        """Teacher-forced losses and alignment metrics on the held-out split, then free-running
        inference on the fixed held-out sentences (:meth:`tacolib.monitor.RunMonitor.validate`:
        it never changes the training run's randomness). Returns the metrics."""
        return self.monitor.validate(self.model, self.step, self.wall_time, self._last_output, log=log and self.is_main)

    @property
    def history(self) -> dict[str, list[dict]]:
        """``{"train": [...], "val": [...]}``: the logged scalar records (:class:`tacolib.monitor.RunMonitor`)."""
        return self.monitor.history

    @property
    def last_val(self) -> dict:
        """The last validation's metrics (empty before the first)."""
        return self.monitor.last_val

    @property
    def wall_time(self) -> float:
        """Seconds of wall time this run has taken, over all its sessions."""
        return self.elapsed + (time.time() - self._session_start)

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
        self._saved_path = self.checkpoints.save(self.state_dict(), is_best=is_best)
        self._saved_step = self.step
        self.monitor.write_history()
        return self._saved_path

    def init_weights(self, path: str | Path) -> None:
        """Start from a checkpoint's weights only (fine-tuning, notebook 12): the optimizer, schedule,
        step, data order and history start fresh, as for a new run of this config. The checkpoint's
        ``model``, ``audio`` and ``text.input`` settings must match (else ``CheckpointError``).
        Call before :meth:`fit`; ``fit(resume=True)`` then continues this run, not the checkpoint's."""
        ckpt.load_weights(self.model, path, config=self.cfg)

    def load(self, path: str | Path) -> None:
        """Continue from a checkpoint file (or a run folder's newest one)."""
        state = ckpt.load_weights(self.model, path, config=self.cfg)
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
        self.step = self._saved_step = int(state["step"])
        self.epoch, self.batch_in_epoch = int(state["data"]["epoch"]), int(state["data"]["batch"])
        self.elapsed = float(state.get("elapsed", 0.0))
        self._session_start = time.time()
        self.best = state.get("best")
        self.monitor.history = state.get("history") or {"train": [], "val": []}
        ckpt.set_rng_state(state["rng"])
        if self.world_size > 1 and self.rank > 0:  # ranks must not share dropout masks
            torch.manual_seed(self.cfg.train.seed + 7919 * self.rank + self.step)
