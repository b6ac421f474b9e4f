"""Single-batch overfitting: the first test every new TTS model must pass.

Take one batch, train on it alone, and watch the attention. If the model cannot
memorize a handful of utterances *and* learn to read them in order, something is
broken (the seed: "try to retrain it in one batch; if you succeed, you will get
alignment"). A falling loss is not enough: a decoder can memorize frames while its
attention stays a blur, so the loop tracks :mod:`tacolib.metrics` every step and
keeps alignment snapshots to look at (notebook 08, ``tacolib.widgets.snapshots``).

This is deliberately a small, readable loop (Adam, gradient clipping, the course's
loss); one update is :func:`train_step`, the same step as ``Trainer.train_step``
without its mixed precision and process group (``tests/test_overfit.py`` compares
them). The full trainer with data loaders, schedules, checkpoints and TensorBoard is
:mod:`tacolib.train`.

Examples
--------
>>> cfg = overfit_config("tiny", coarse=2)
>>> batch = pick_batch(cfg, n=6)
>>> model = Tacotron2(cfg)
>>> hist = overfit(model, batch, cfg, steps=300, lr=OVERFIT_LR, until=ALIGNED)
>>> hist.aligned_step, hist.aligned_seconds, hist.final_metrics

The seed's lessons about the model itself are variants of the same recipe
(:data:`LESSONS`, :func:`lesson_model`): PyTorch's default init instead of Xavier's,
ReLU before BatchNorm in the encoder, learned instead of zero initial LSTM states, and
no zoneout (whose purpose, generalizing, one batch cannot show: ``benchmarks/ablate_training.py``).
Notebook 08 and ``benchmarks/align.py --lessons`` time each to alignment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from tacolib.loss import Tacotron2Loss
from tacolib.masks import decoder_lengths
from tacolib.metrics import alignment_metrics, is_aligned
from tacolib.model import Tacotron2
from tacolib.model.encoder import Encoder
from tacolib.model.layers import dropout
from tacolib.schedule import make_optimizer

if TYPE_CHECKING:
    from tacolib.config import Config

__all__ = [
    "OVERFIT_LR", "Snapshot", "OverfitHistory", "overfit_config", "pick_batch", "train_step", "overfit",
    "ReluFirstEncoder", "LESSONS", "lesson_model",
]

#: Learning rate for memorizing one batch. Twice the ``tiny`` preset's 2e-3, which
#: is meant for random batches: one fixed batch gives noise-free gradients, so a
#: larger step is stable and reaches alignment in about 40 % fewer steps.
OVERFIT_LR = 4e-3


@dataclass
class Snapshot:
    """The state of the attention at one training step.

    Attributes
    ----------
    step : int
        Steps taken when it was recorded (0: before any update).
    seconds : float
        Training wall time so far.
    alignments : np.ndarray
        ``(B, T_dec, T_in)`` float32 attention weights of the batch (teacher forced).
    text_lengths, dec_lengths : np.ndarray
        ``(B,)`` valid encoder positions and decoder steps, to crop padding.
    metrics : dict
        :func:`tacolib.metrics.alignment_metrics` of ``alignments``.
    loss : float
        Total loss at that step.
    """

    step: int
    seconds: float
    alignments: np.ndarray
    text_lengths: np.ndarray
    dec_lengths: np.ndarray
    metrics: dict
    loss: float


@dataclass
class OverfitHistory:
    """What :func:`overfit` records: per-step losses and metrics, and snapshots.

    ``losses[name][i]`` and ``metrics[name][i]`` belong to ``steps[i]`` (taken from the
    forward pass of that step, before its update) at ``seconds[i]`` of training wall
    time (``cpu_seconds[i]`` of process CPU time; metrics and snapshots excluded).
    """

    steps: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    cpu_seconds: list = field(default_factory=list)  # process CPU time: steadier on a busy machine
    losses: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    snapshots: list = field(default_factory=list)
    aligned_step: int | None = None  # first step meeting ``until`` (None: never)
    aligned_seconds: float | None = None
    aligned_cpu_seconds: float | None = None
    stopped_early: bool = False

    def _append(self, step, seconds, cpu_seconds, losses, metrics):
        self.steps.append(step)
        self.seconds.append(seconds)
        self.cpu_seconds.append(cpu_seconds)
        for k, v in losses.items():
            self.losses.setdefault(k, []).append(float(v))
        for k, v in metrics.items():
            self.metrics.setdefault(k, []).append(float(v))

    @property
    def final_metrics(self) -> dict:
        """Metrics at the last recorded step."""
        return {k: v[-1] for k, v in self.metrics.items()}

    @property
    def final_loss(self) -> float:
        return self.losses["loss"][-1]

    def first_step_where(self, thresholds: dict) -> tuple[int, float] | None:
        """``(step, seconds)`` of the first step whose metrics meet ``thresholds``."""
        for i, s in enumerate(self.steps):
            if all(self.metrics[k][i] >= v for k, v in thresholds.items()):
                return s, self.seconds[i]
        return None


def overfit_config(preset: str = "tiny", coarse: int = 2, r: int = 3, **model_overrides) -> "Config":
    """The course's single-batch recipe: a preset with the seed's coarser frames.

    Parameters
    ----------
    preset : str
        ``"tiny"`` (guided attention on).
    coarse : int
        The seed's large-FFT trick (:meth:`tacolib.config.AudioConfig.coarse`):
        window, FFT and hop ``coarse`` times larger, so ``coarse`` times fewer frames
        and decoder steps per second of speech.
    r : int
        Frames per decoder step. With ``coarse = 2``, ``r = 3`` gives about one
        decoder step per character (the full-size frames of the ``tiny`` preset use
        ``r = 5``).
    **model_overrides
        Other ``cfg.model`` fields to change.
    """
    from tacolib.config import get_config

    cfg = get_config(preset)
    cfg.audio = cfg.audio.coarse(coarse)
    return cfg.override({f"model.{k}": v for k, v in {"r": r, **model_overrides}.items()})


def pick_batch(cfg, n: int = 6, corpus: str = "tinyspeech", split: str = "train", shortest: bool = True, seed: int = 0) -> dict:
    """One batch of ``n`` utterances for the overfitting test.

    Parameters
    ----------
    cfg : Config
        Mel settings (``cfg.audio``) and ``r`` for padding.
    n : int
        Utterances in the batch.
    corpus : str
        A name or folder (:func:`tacolib.data.corpus_by_name`): ``"tinyspeech"`` (the
        fast TinySpeech, built on first use), ``"ljspeech-sample"`` (the real
        recordings beside the checkout) or a corpus folder.
    split : str
        ``"train"``, ``"test"`` or ``"all"``.
    shortest : bool
        Take the ``n`` shortest utterances (fewer decoder steps: faster steps and an
        easier alignment). False takes ``n`` at random (``seed``), like
        :func:`tacolib.batching.example_batch`.

    Returns
    -------
    dict
        A batch from :func:`tacolib.batching.collate`.
    """
    import random

    from tacolib.batching import collate
    from tacolib.data import TTSDataset, corpus_by_name

    ds = TTSDataset(corpus_by_name(corpus), cfg, split=split)
    if n < 1:
        raise ValueError(f"pick_batch: n must be >= 1, got {n}")
    if shortest:
        picks = sorted(range(len(ds)), key=lambda i: (ds.lengths[i], ds.ids[i]))[:n]
    else:
        picks = random.Random(seed).sample(range(len(ds)), min(n, len(ds)))
    return collate([ds[i] for i in picks], cfg)


class ReluFirstEncoder(Encoder):
    """The encoder with each block in the order the seed warns against: Conv1d ─► ReLU ─► BatchNorm ─► dropout.

    Same parameters as :class:`tacolib.model.encoder.Encoder` (its weights load as
    they are); only :meth:`conv_block` differs. BatchNorm now normalizes what is left
    after the ReLU zeroed every negative value. An ablation, not a model to use.
    """

    def conv_block(self, x: torch.Tensor, conv, norm) -> torch.Tensor:
        return dropout(norm(F.relu(conv(x))), self.dropout, self.training)  # (B, d_enc, T_in)


#: The seed's lessons about the model as variants of the recipe: name -> (``cfg.model``
#: overrides, encoder class or None). The first is the course's model.
LESSONS = {
    "recipe (Xavier, BN before ReLU, zero states)": ({}, None),
    "PyTorch's default init": ({"init": "default"}, None),
    "ReLU before BatchNorm": ({}, ReluFirstEncoder),
    "learned initial states": ({"learn_initial_states": True}, None),
    "no zoneout": ({"zoneout": 0.0}, None),
}


def lesson_model(name: str, cfg) -> tuple["Config", Tacotron2]:
    """The config and a fresh ``Tacotron2`` of the :data:`LESSONS` variant ``name``.

    Built from the current torch RNG state like ``Tacotron2(cfg)``: after the same
    ``torch.manual_seed`` every variant starts from the recipe's weights wherever it
    has the same parameters (the init variant re-draws them).
    """
    if name not in LESSONS:
        raise ValueError(f"lesson_model: unknown variant {name!r}; choose one of {list(LESSONS)}")
    overrides, encoder_cls = LESSONS[name]
    cfg = cfg.override({f"model.{k}": v for k, v in overrides.items()})
    model = Tacotron2(cfg)
    if encoder_cls is not None:
        weights = model.encoder.state_dict()
        model.encoder = encoder_cls.from_config(cfg)
        model.encoder.load_state_dict(weights)
    return cfg, model


def train_step(model: torch.nn.Module, criterion, optimizer: torch.optim.Optimizer, batch: dict, grad_clip: float | None,
               step: int = 0) -> tuple[dict, dict, float]:
    """One optimizer step: forward, loss, backward, clip the gradient norm, update.

    ::

        model.train() ─► out = model(batch) ─► losses = criterion(out, batch, step)
            ─► zero the old gradients ─► losses["loss"].backward()
            ─► clip the total gradient norm to grad_clip ─► optimizer.step()

    Parameters
    ----------
    model : torch.nn.Module
        A ``Tacotron2`` (``model(batch)`` returns the output dict of CONTRIBUTING.md).
    criterion : callable
        ``criterion(out, batch, step=step)`` -> dict with a scalar ``"loss"`` (the sum of
        the terms, e.g. :class:`tacolib.loss.Tacotron2Loss`).
    optimizer : torch.optim.Optimizer
        Over ``model.parameters()``.
    batch : dict
        From :func:`tacolib.batching.collate`, on the model's device.
    grad_clip : float or None
        Maximum total gradient norm (all parameters as one vector); None or <= 0: no clipping.
    step : int
        The training step, for the loss's schedules.

    Returns
    -------
    out : dict
        The model's outputs (for metrics: ``out["alignments"]``).
    losses : dict
        The criterion's terms (tensors).
    grad_norm : float
        The total gradient norm *before* clipping (what ``clip_grad_norm_`` returns).
    """
    model.train()
    out = model(batch)
    losses = criterion(out, batch, step=step)
    optimizer.zero_grad(set_to_none=True)  # else this step's gradients add to the last step's
    losses["loss"].backward()
    clip = grad_clip if grad_clip and grad_clip > 0 else float("inf")
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip))  # the norm before clipping
    optimizer.step()
    return out, losses, grad_norm


def _snapshot(step, seconds, out, batch, r, metrics, loss) -> Snapshot:
    return Snapshot(
        step=step,
        seconds=seconds,
        alignments=out["alignments"].detach().float().cpu().numpy(),
        text_lengths=batch["text_lengths"].cpu().numpy(),
        dec_lengths=decoder_lengths(batch["mel_lengths"], r).cpu().numpy(),
        metrics=dict(metrics),
        loss=float(loss),
    )


def overfit(
    model: torch.nn.Module,
    batch: dict,
    cfg,
    steps: int = 300,
    lr: float | None = None,
    criterion: Tacotron2Loss | None = None,
    snapshot_every: int = 25,
    until: dict | None = None,
    patience: int = 0,
    max_seconds: float | None = None,
    progress: bool = True,
    callback=None,
    step_fn=None,
) -> OverfitHistory:
    """Train ``model`` on one batch and record losses, alignment metrics and snapshots.

    Parameters
    ----------
    model : torch.nn.Module
        A ``Tacotron2``; ``model(batch)`` returns the output dict of CONTRIBUTING.md.
    batch : dict
        One batch from ``tacolib.batching.collate`` (see CONTRIBUTING.md).
    cfg : Config
        Read for the optimizer (``train``) and, unless ``criterion`` is given, the loss.
    steps : int
        Maximum number of updates.
    lr : float, optional
        Learning rate (default ``cfg.train.lr``), constant.
    criterion : Tacotron2Loss, optional
        Default ``Tacotron2Loss.from_config(cfg)``.
    snapshot_every : int
        Keep the batch's alignments every this many steps (and at the first step,
        the step it first aligns, and the last). 0 keeps only those.
    until : dict, optional
        Alignment thresholds (e.g. :data:`tacolib.metrics.ALIGNED`). The first step
        meeting them is recorded as ``aligned_step``; with ``patience`` it also stops.
    patience : int
        Stop once ``until`` has held for this many consecutive steps (0: never stop
        early, train all ``steps``).
    max_seconds : float, optional
        Stop after this much training wall time.
    progress : bool
        Show a tqdm bar with the loss and focus.
    callback : callable, optional
        ``callback(step, losses, metrics, out)`` after every step.
    step_fn : callable, optional
        One update, with the signature and returns of :func:`train_step` (the default):
        notebook 08 passes the learner's own.

    Returns
    -------
    OverfitHistory
        Per-step ``losses`` (``loss``, ``mel``, ``postnet``, ``gate``, ``attention``)
        and ``metrics`` (focus, diagonality, monotonicity, coverage), ``snapshots``,
        ``aligned_step``/``aligned_seconds``. The model is trained in place and left
        in eval mode.
    """
    if steps < 1:
        raise ValueError(f"overfit: steps must be >= 1, got {steps}")
    criterion = criterion if criterion is not None else Tacotron2Loss.from_config(cfg)
    opt = make_optimizer(model, cfg.train, lr)
    hist = OverfitHistory()
    held = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="overfit", leave=False)
    model.train()
    elapsed = cpu = 0.0
    for step in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        out, losses, _ = (step_fn or train_step)(model, criterion, opt, batch, cfg.train.grad_clip, step=step)
        elapsed += time.perf_counter() - t0  # metrics and snapshots are not training time
        cpu += time.process_time() - c0

        r = batch["mel"].shape[1] // out["alignments"].shape[1]
        metrics = alignment_metrics(out["alignments"], batch["text_lengths"], decoder_lengths(batch["mel_lengths"], r))
        loss_values = {k: float(torch.as_tensor(v).detach()) for k, v in losses.items() if k != "attention_weight"}
        hist._append(step, elapsed, cpu, loss_values, metrics)

        aligned_now = until is not None and is_aligned(metrics, until)
        first_alignment = aligned_now and hist.aligned_step is None
        if first_alignment:
            hist.aligned_step, hist.aligned_seconds, hist.aligned_cpu_seconds = step, elapsed, cpu
        held = held + 1 if aligned_now else 0
        last = step == steps - 1
        stop = (patience > 0 and held >= patience) or (max_seconds is not None and elapsed >= max_seconds)
        if step == 0 or first_alignment or last or stop or (snapshot_every and step % snapshot_every == 0):
            hist.snapshots.append(_snapshot(step, elapsed, out, batch, r, metrics, loss_values["loss"]))
        if callback is not None:
            callback(step, loss_values, metrics, out)
        if bar is not None:
            bar.set_postfix(loss=f"{loss_values['loss']:.3f}", focus=f"{metrics['focus']:.2f}", diag=f"{metrics['diagonality']:.2f}")
            bar.update(1)
        if stop:
            hist.stopped_early = not last
            break
    if bar is not None:
        bar.close()
    model.eval()
    return hist
