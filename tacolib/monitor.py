"""What a training run records and shows: the seed's monitoring, for :class:`tacolib.train.Trainer`.

::

    every log_every steps   the step's scalars (losses, lr, grad norm, steps/s)
                            ──► history["train"] ──► TensorBoard  train/<name>
    every val_every steps   the held-out split, teacher forced ──► losses, alignment metrics
                            fixed held-out sentences, free running ──► infer_focus, infer_stop_ok, ...
                            ──► history["val"] ──► TensorBoard  val/<name>
                            the panel: target vs predicted mel, alignment and stop-token curve of a
                            validation and a training utterance; the free-running alignments, mels
                            and Griffin-Lim audio of what the model says (infer/<k>_*)
    history.json            rewritten whole after each validation and each checkpoint

Validation never changes the training run's randomness: its dropout is drawn from a
fixed seed inside a forked RNG, so every validation sees the same masks and a run
with validation trains exactly as one without. A figure or audio that fails to
render is a warning, never the end of a training run.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import Dataset

from tacolib.config import Config
from tacolib.evaluate import evaluate_free_running, evaluate_teacher_forced
from tacolib.masks import decoder_lengths
from tacolib.safe_io import atomic_write
from tacolib.vocoder.griffin_lim import GriffinLimVocoder

__all__ = ["RunMonitor"]


class RunMonitor:
    """A training run's history, TensorBoard events and validation.

    Parameters
    ----------
    cfg : Config
        The run (``cfg.train``: seed, batch size; ``cfg.model.r``; ``cfg.audio``).
    out_dir : str or Path
        The run folder: ``history.json`` and ``tb/`` go there.
    val_set : Dataset
        The held-out items (``tacolib.data.TTSDataset``).
    criterion : callable
        The training loss (``tacolib.loss.Tacotron2Loss``), for the validation losses.
    collate_fn : callable
        Items -> batch dict.
    n_infer : int
        How many fixed held-out sentences are decoded free-running at each validation.
    tensorboard : bool
        Write TensorBoard events to ``out_dir/tb`` (the trainer passes False on ranks > 0).
    amp_dtype : torch.dtype, optional
        The autocast dtype of the teacher-forced validation (None: no autocast).

    Attributes
    ----------
    history : dict
        ``{"train": [...], "val": [...]}`` lists of scalar records (``step``, ``time``
        in seconds of wall time since the run began, and the values).
    last_val : dict
        The last validation's metrics (empty before the first).
    """

    def __init__(
        self, cfg: Config, out_dir: str | Path, val_set: Dataset, criterion, collate_fn: Callable[[list], dict],
        n_infer: int = 8, tensorboard: bool = True, amp_dtype: torch.dtype | None = None,
    ):
        self.cfg, self.out_dir, self.val_set = cfg, Path(out_dir), val_set
        self.criterion, self.collate_fn, self.amp_dtype = criterion, collate_fn, amp_dtype
        self.infer_indices = list(range(min(n_infer, len(val_set))))  # fixed sentences, every validation
        self.tensorboard = tensorboard
        self.vocoder = GriffinLimVocoder(cfg.audio)  # the audio of what the model says
        self.history: dict[str, list[dict]] = {"train": [], "val": []}
        self.last_val: dict = {}
        self._writer = None
        self.start_window()

    # ---- scalars ----------------------------------------------------------------------------------------

    def start_window(self) -> None:
        """Start measuring steps/s afresh (a new session of the run)."""
        self._window = (time.time(), 0)  # (start, steps) of the steps/s measurement

    def count_step(self, record: dict, log: bool) -> None:
        """Count one optimizer step; when ``log``, add ``steps_per_sec`` (since the last log) to
        ``record`` and log it as a ``train`` record."""
        start, steps = self._window
        self._window = (start, steps + 1)
        if log:
            now = time.time()
            record["steps_per_sec"] = (steps + 1) / max(now - start, 1e-9)
            self._window = (now, 0)
            self.log("train", record)

    def log(self, kind: str, record: dict) -> None:
        """Append ``record`` to ``history[kind]`` and write its finite scalars as ``kind/<name>``."""
        self.history[kind].append(record)
        w = self.writer(record["step"])
        if w is not None:
            for k, v in record.items():
                if k not in ("step", "time") and isinstance(v, (int, float)) and math.isfinite(v):
                    w.add_scalar(f"{kind}/{k}", v, record["step"])

    def writer(self, step: int):
        """The TensorBoard writer (None without TensorBoard), opened at the first event.

        Opened at ``step`` of a resumed run, it drops the events an interrupted session
        wrote past that step (``purge_step``), so the curves do not fold back.
        """
        if self._writer is None and self.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"), purge_step=step if step else None)
        return self._writer

    def write_history(self) -> None:
        """``history.json``: all logged scalars, written whole or not at all."""
        atomic_write(self.out_dir / "history.json", json.dumps(self.history))

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # ---- validation -------------------------------------------------------------------------------------

    @torch.no_grad()
    def validate(self, model: torch.nn.Module, step: int, wall_time: float, last_output=None, log: bool = True) -> dict[str, Any]:
        """Teacher-forced losses and alignment metrics on the held-out split, then
        free-running inference on the fixed held-out sentences.

        Parameters
        ----------
        model : torch.nn.Module
            The plain model (not a DDP wrapper).
        step : int
            The run's optimizer steps so far (the records' ``step``).
        wall_time : float
            The run's wall seconds so far (the records' ``time``).
        last_output : tuple, optional
            ``(outputs, batch)`` of the last training step, drawn in the panel.
        log : bool
            Record the result in ``history``, TensorBoard (with the panel) and
            ``history.json``.

        Returns
        -------
        dict
            The teacher-forced metrics (``loss``, ``focus``, ...), ``infer_focus``,
            ``infer_stop_ok``, ``infer_stop_error``, ``infer_max_steps``, ``step``, ``time``.
        """
        t = self.cfg.train
        device = next(model.parameters()).device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(t.seed)
            result = evaluate_teacher_forced(
                model, self.val_set, self.cfg, batch_size=t.batch_size, criterion=self.criterion,
                step=step, amp_dtype=self.amp_dtype, keep_first=True, collate_fn=self.collate_fn,
            )
            first = result.pop("first")
            fr = evaluate_free_running(model, self.val_set, self.infer_indices, batch_size=max(1, min(8, t.batch_size)), collate_fn=self.collate_fn)
        result.update({f"infer_{k}": fr[k] for k in ("focus", "stop_ok", "stop_error", "max_steps")})
        result["step"], result["time"] = step, wall_time
        self.last_val = result
        if log:
            self.log("val", dict(result))
            if self.writer(step) is not None:
                try:
                    self._log_panel(step, first, fr, last_output)
                except Exception as e:  # monitoring must never end a training run
                    warnings.warn(f"TensorBoard figures/audio at step {step} failed: {type(e).__name__}: {e}")
            self.write_history()
        return result

    def _log_panel(self, step: int, teacher_forced, free_running, last_output) -> None:
        """Figures and audio for TensorBoard: the seed's monitoring panel."""
        from tacolib import viz

        w, r = self.writer(step), self.cfg.model.r
        for tag, title, pair in (("val/teacher_forced", "validation (teacher forced)", teacher_forced),
                                 ("train/summary", "training batch", last_output)):
            if pair is None:  # no training step yet
                continue
            out, batch = pair
            L, T_in = int(batch["mel_lengths"][0]), int(batch["text_lengths"][0])
            fig = viz.plot_training_summary(
                batch["mel"][0, :L], out["mel_postnet"][0, :L].detach(), out["alignments"][0, : int(decoder_lengths(L, r)), :T_in].detach(),
                out["gate_logits"][0, :L].detach(), batch["gate_targets"][0, :L], title=f"{title}, step {step}",
            )
            w.add_figure(tag, fig, step)
        for k, it in enumerate(free_running["items"][:3]):
            w.add_figure(f"infer/{k}_alignment", viz.plot_alignment(it["alignment"], title=f"free running: {it['text'][:60]}"), step)
            w.add_figure(f"infer/{k}_mel", viz.plot_mels([it["target_mel"], it["mel"]], ["recording", "model (free running)"]), step)
            wav = self.vocoder.generate(it["mel"])
            w.add_audio(f"infer/{k}_griffin_lim", wav.reshape(1, -1), step, sample_rate=self.cfg.audio.sample_rate)
        w.flush()
