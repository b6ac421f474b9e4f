"""Checks for notebooks 08 (one training step) and 09 (full training).

08's ``train_step`` is a procedure: the check runs it twice on a toy Tacotron 2 and
compares what it did (the losses, the gradient norms, the parameters after each step)
with :func:`tacolib.overfit.train_step`; ``_step`` is that step written once more with
knobs, each known-wrong variant turning one knob to a learner's mistake.
"""

from __future__ import annotations

import math

import torch

from tacolib.checks.core import CheckFailed, exercise, mistake
from tacolib.config import TrainConfig, get_config
from tacolib.loss import Tacotron2Loss
from tacolib.masks import decoder_lengths, lengths_to_mask, make_gate_targets
from tacolib.overfit import train_step
from tacolib.samplers import padding_fraction
from tacolib.schedule import learning_rate, make_optimizer

NOTEBOOK = "09_full_training"


def _ref_exponential_lr(step: int, lr: float, decay_start: int, decay_rate: float, decay_steps: int, lr_min: float) -> float:
    """Constant ``lr`` before ``decay_start``, then ``lr * decay_rate ** ((step - decay_start) / decay_steps)``, floored at ``lr_min``."""
    cfg = TrainConfig(
        lr=lr, lr_schedule="exponential", lr_decay_start=decay_start, lr_decay_rate=decay_rate, lr_decay_steps=decay_steps, lr_min=lr_min
    )
    return learning_rate(step, cfg)


def _lr_cases():
    args = (2e-3, 1500, 0.5, 1500, 1e-5)
    return [((s, *args), {}) for s in (0, 1499, 1500, 2250, 3000, 6000, 40_000)] + [((700, 1e-3, 0, 0.1, 1000, 1e-6), {})]


check_exponential_lr = exercise("exponential_lr", NOTEBOOK, _ref_exponential_lr, _lr_cases, atol=1e-12, rtol=1e-6)


def _padding_cases():
    lengths = [10, 20, 30, 40, 35, 5, 12, 50]
    return [
        (([[0, 1], [2, 3]], lengths), {}),
        (([[0, 3, 5], [1, 2, 4, 6, 7]], lengths), {}),
        (([[7]], lengths), {}),
    ]


check_padding_fraction = exercise("padding_fraction", NOTEBOOK, padding_fraction, _padding_cases, atol=1e-9, rtol=1e-9)


# ---- notebook 08: one training step -------------------------------------------------------------

NB_STEP = "08_single_batch_overfit"

#: The check's model: every box of Tacotron 2 at toy widths (a step takes milliseconds).
_STEP_MODEL = {"audio.n_mels": 6, "model.symbols_embedding_dim": 8, "model.encoder_embedding_dim": 8, "model.attention_dim": 4,
               "model.attention_location_n_filters": 2, "model.attention_location_kernel_size": 3, "model.r": 2,
               "model.prenet_dim": 8, "model.attention_rnn_dim": 8, "model.decoder_rnn_dim": 8, "model.postnet_embedding_dim": 8,
               "train.guided_attention_weight": 0.5}


def _step_batch(cfg) -> dict:
    """A padded batch of 3 utterances (text lengths 7, 5, 3; mel lengths 10, 7, 4), as ``collate`` lays it out."""
    g = torch.Generator().manual_seed(81)
    text_lengths, mel_lengths = torch.tensor([7, 5, 3]), torch.tensor([10, 7, 4])
    T_out = int(decoder_lengths(mel_lengths.max(), cfg.model.r)) * cfg.model.r
    text = torch.randint(2, cfg.text.n_symbols, (3, 7), generator=g).masked_fill(~lengths_to_mask(text_lengths, 7), 0)
    mel_mask = lengths_to_mask(mel_lengths, T_out)
    mel = torch.randn(3, T_out, cfg.audio.n_mels, generator=g).clamp(-4, 4).masked_fill(~mel_mask[..., None], cfg.audio.pad_value)
    return {"text": text, "text_lengths": text_lengths, "mel": mel, "mel_lengths": mel_lengths,
            "gate_targets": make_gate_targets(mel_lengths, T_out), "mel_mask": mel_mask}


def _run_steps(fn, optimizer: str, lr: float, grad_clip, steps: int = 2) -> dict:
    """Build a toy Tacotron 2 (in eval mode), run ``fn`` ``steps`` times on one batch; what each step did."""
    from tacolib.model import Tacotron2

    cfg = get_config("tiny").override(_STEP_MODEL)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = Tacotron2(cfg).eval()  # the step must switch to training mode itself
    criterion = Tacotron2Loss.from_config(cfg)
    opt = make_optimizer(model, cfg.train, lr) if optimizer == "adam" else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    batch = _step_batch(cfg)
    seen = {}
    for s in range(steps):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(100 + s)  # dropout and zoneout draw the same masks for the learner's step and tacolib's
            result = fn(model, criterion, opt, batch, grad_clip, step=s)
        if not isinstance(result, (tuple, list)) or len(result) != 3 or not isinstance(result[1], dict) or "loss" not in result[1]:
            raise CheckFailed(f"train_step: return (out, losses, grad_norm): the model's outputs, the criterion's dict and a "
                              f"float; got {type(result).__name__}")
        _, losses, norm = result
        seen[f"step {s + 1}"] = {
            "loss": float(torch.as_tensor(losses["loss"]).detach()),
            "grad_norm (the total norm before clipping)": float(norm) if isinstance(norm, (int, float, torch.Tensor)) else norm,
            "parameters after it": {n: p.detach().clone() for n, p in model.named_parameters()},
        }
    return seen


def _step(model, criterion, optimizer, batch, grad_clip, step=0, zero_grad="before", clip="norm", train=True, backward="loss"):
    """:func:`tacolib.overfit.train_step` with knobs (each one a learner's mistake)."""
    model.train(train)
    out = model(batch)
    losses = criterion(out, batch, step=step)
    if zero_grad == "before":
        optimizer.zero_grad(set_to_none=True)
    losses[backward].backward()
    if zero_grad == "between":
        optimizer.zero_grad(set_to_none=True)
    params = [p for p in model.parameters() if p.grad is not None]
    limit = grad_clip if grad_clip and grad_clip > 0 else float("inf")
    norm = float(torch.nn.utils.clip_grad_norm_(params, float("inf"))) if params else 0.0  # measure only
    if clip == "norm":
        torch.nn.utils.clip_grad_norm_(params, limit)
    elif clip == "value" and math.isfinite(limit):  # a learner who clips by value
        torch.nn.utils.clip_grad_value_(params, limit)
    elif clip == "per_parameter":
        for p in params:
            torch.nn.utils.clip_grad_norm_(p, limit)
    optimizer.step()
    if clip == "after_step":
        torch.nn.utils.clip_grad_norm_(params, limit)
    return out, losses, norm


def _step_cases():
    return [
        ((), dict(optimizer="adam", lr=1e-2, grad_clip=0.05)),
        ((), dict(optimizer="sgd", lr=0.05, grad_clip=0.5)),
        ((), dict(optimizer="sgd", lr=0.05, grad_clip=0.0)),
    ]


check_train_step = exercise(
    "train_step", NB_STEP, train_step, _step_cases, atol=1e-6, rtol=1e-5,
    observe=_run_steps,
    diagnose_on=lambda seen: {k: {"loss": v["loss"], "parameters": v["parameters after it"]} for k, v in seen.items()},
    variants=[
        mistake("no optimizer.zero_grad(): each step's gradients add to the last step's",
                "Call optimizer.zero_grad() before loss.backward(): backward *adds* to .grad.", _step, zero_grad="never"),
        mistake("optimizer.zero_grad() between backward and the update: the optimizer sees no gradient",
                "Zero the gradients before backward(), not after it.", _step, zero_grad="between"),
        mistake("an update from unclipped gradients (no clipping, or clipping after optimizer.step())",
                "Clip the total gradient norm between backward() and optimizer.step().", _step, clip="after_step"),
        mistake("clip_grad_value_ (each entry clipped) instead of clipping the total norm",
                "torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip) rescales all gradients together, "
                "keeping their direction.", _step, clip="value"),
        mistake("each parameter's gradient clipped on its own",
                "Pass all parameters to one clip_grad_norm_ call: the norm is over all of them as one vector.",
                _step, clip="per_parameter"),
        mistake("the model left in eval mode (no model.train())",
                "Call model.train() first: dropout, zoneout and BatchNorm behave differently in training.", _step, train=False),
        mistake("backward() through a term of the losses dict (tacolib's loss returns the terms detached, for logging)",
                "Back-propagate losses['loss']: it is already the sum of the terms, with the guided-attention weight.",
                _step, backward="mel"),
    ],
)
check_train_step.__doc__ = """train_step(model, criterion, optimizer, batch, grad_clip, step=0) -> (out, losses, grad_norm)."""
