"""Checks for notebook 11 (WaveNet): μ-law, one gated residual layer, and its cached one-sample update.

The layer is a module exercise (:mod:`tacolib.checks.modules`) checked against
:class:`tacolib.vocoder.wavenet.CausalDilatedLayer`; ``_layer`` is its forward pass
written once more with knobs, each known-wrong variant turning one knob.

The cached update is a function exercise: :func:`layer_step` below is the plain-function
form of what :class:`tacolib.vocoder.wavenet_generate.CachedWaveNet` does per layer and
sample (Paine et al. 2016: a queue of the layer's last ``d`` inputs replaces recomputing
the receptive field). Its check runs the learner's step over a sequence and compares
every output with the reference's; ``tests/test_exercises.py`` proves that the reference
computes what the layer's ``forward`` computes, and that :func:`generate_with` the
reference draws the very samples of ``generate(method="cached")``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from tacolib.checks.core import CheckFailed, exercise, mistake
from tacolib.checks.modules import Case, Stage, module_exercise, variant
from tacolib.vocoder.mulaw import mu_law_encode
from tacolib.vocoder.wavenet import CausalDilatedLayer, WaveNet
from tacolib.vocoder.wavenet_generate import frame_noise

__all__ = ["check_mu_law_encode", "check_wavenet_layer", "check_layer_step", "layer_step", "generate_with"]

NB_WAVENET = "11_wavenet"


# ---- μ-law ---------------------------------------------------------------------------------------------


def _ref_mu_law_encode(x: torch.Tensor, mu: int) -> torch.Tensor:
    """``[-1, 1]`` floats -> int64 classes ``floor((f(x) + 1) / 2 * mu + 0.5)``."""
    return mu_law_encode(x, mu)


def _mu_cases():
    g = torch.Generator().manual_seed(12)
    return [
        ((torch.linspace(-1, 1, 101), 255), {}),
        ((0.3 * torch.randn(500, generator=g).clamp(-3, 3), 255), {}),
        ((torch.linspace(-1, 1, 33), 15), {}),
    ]


check_mu_law_encode = exercise("mu_law_encode", NB_WAVENET, _ref_mu_law_encode, _mu_cases, atol=0, rtol=0)


# ---- one gated residual layer --------------------------------------------------------------------------


def _layer(self, x, c, pad="left", dilate=True, gate="tanh_sigmoid", residual=True, scale=True, condition=True, skip_from="z"):
    d = self.dilation
    xp = F.pad(x, (d, 0) if pad == "left" else (0, d))  # left: causal; right: output t sees x[t + d]
    h = F.conv1d(xp, self.conv.weight, self.conv.bias, dilation=d) if dilate else F.conv1d(xp[..., d - 1 :], self.conv.weight, self.conv.bias)
    if condition:
        h = h + c
    a, b = h.split(self.half, dim=1)
    z = torch.tanh(a) * torch.sigmoid(b) if gate == "tanh_sigmoid" else torch.sigmoid(a) * torch.tanh(b)
    skip = self.skip(z if skip_from == "z" else torch.tanh(a))
    if self.res is None:
        return None, skip
    r = self.res(z)
    x_next = (x + r if residual else r) * (math.sqrt(0.5) if scale else 1.0)
    return x_next, skip


def _layer_cases():
    g = torch.Generator().manual_seed(110)
    return [
        Case("2 sequences of 9 samples, R = 4, gate 6", {"x": torch.randn(2, 4, 9, generator=g), "c": torch.randn(2, 6, 9, generator=g)}),
        Case("1 sequence of 3 samples (shorter than the dilation + 1)", {"x": torch.randn(1, 4, 3, generator=g), "c": torch.randn(1, 6, 3, generator=g)}),
    ]


def _run_layer(m, x, c):
    out = m(x, c)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"CausalDilatedLayer: forward must return (x_next, skip), got {type(out).__name__}")
    return tuple(out)


check_wavenet_layer = module_exercise(
    "CausalDilatedLayer", NB_WAVENET, CausalDilatedLayer,
    kwargs=dict(residual_channels=4, gate_channels=6, skip_channels=5, cond_channels=3, dilation=3, has_residual=True),
    cases=_layer_cases,
    stages=[
        Stage("a layer with dilation 3", run=_run_layer),
        Stage("the last layer (has_residual=False: no residual output)", kwargs={"has_residual": False}, run=_run_layer,
              hint="With has_residual False, self.res is None and forward returns (None, skip)."),
    ],
    variants=[
        variant("padding on the right: output t sees x[t + d], the future",
                "Pad d zeros on the left only (F.pad(x, (d, 0))): a causal layer never reads ahead.", _layer, pad="right"),
        variant("the convolution not dilated (it reads x[t - 1] instead of x[t - d])",
                "nn.Conv1d(..., kernel_size=2, dilation=dilation), and pad by the dilation.", _layer, dilate=False),
        variant("the gate swapped: sigmoid of the first half times tanh of the second",
                "z = tanh(h[:, :half]) * sigmoid(h[:, half:]).", _layer, gate="sigmoid_tanh"),
        variant("the residual connection missing: x_next is the 1x1 projection of z alone",
                "x_next = (x + res(z)) * sqrt(0.5): the layer adds to its input.", _layer, residual=False),
        variant("no 1/sqrt(2) on the residual sum", "Multiply x + res(z) by sqrt(0.5), which keeps the variance steady through the stack.",
                _layer, scale=False),
        variant("the conditioning not added", "h = conv(x) + c before the gate: c carries the mel.", _layer, condition=False),
        variant("the skip taken from tanh(a) instead of the gated z", "skip = self.skip(z).", _layer, skip_from="tanh"),
    ],
    from_reference=lambda m: dict(
        residual_channels=m.conv.in_channels, gate_channels=m.conv.out_channels, skip_channels=m.skip.out_channels,
        cond_channels=m.cond.in_channels, dilation=m.dilation, has_residual=m.res is not None,
    ),
    attributes={"dilation": int, "half": int},
    keep=False,
)


# ---- its cached one-sample update -------------------------------------------------------------------------


def layer_step(layer, x_t, c_t, queue):
    """One new sample through one WaveNet layer, reading its past input from a queue.

    ``layer`` a :class:`CausalDilatedLayer` (``conv.weight`` ``(G, R, 2)``: tap 0 multiplies
    ``x[t - d]``, tap 1 ``x[t]``); ``x_t`` ``(B, R)`` the layer's input at sample ``t``;
    ``c_t`` ``(B, G)`` its conditioning at ``t``; ``queue`` a list of the layer's last ``d``
    inputs, oldest first (zeros before the start), updated in place: ``x[t - d]`` leaves,
    ``x_t`` joins. Returns ``x_next`` ``(B, R)`` (None for a layer without a residual) and
    ``skip`` ``(B, S)``: column ``t`` of ``layer(x, c)``.
    """
    x_past = queue.pop(0)  # x[t - d]
    queue.append(x_t)
    w = layer.conv.weight  # (G, R, 2)
    h = x_t @ w[:, :, 1].T + x_past @ w[:, :, 0].T + layer.conv.bias + c_t  # (B, G)
    a, b = h.split(layer.half, dim=1)
    z = torch.tanh(a) * torch.sigmoid(b)  # (B, G / 2)
    skip = F.linear(z, layer.skip.weight[:, :, 0], layer.skip.bias)  # (B, S)
    if layer.res is None:
        return None, skip
    return (x_t + F.linear(z, layer.res.weight[:, :, 0], layer.res.bias)) * math.sqrt(0.5), skip


def _layer_step(layer, x_t, c_t, queue, read="oldest", push="after", taps="right", gate="tanh_sigmoid", residual=True, condition=True):
    """:func:`layer_step` with knobs, each one a learner's mistake."""
    if push == "before":  # the queue moved on first: its oldest is now x[t - d + 1]
        queue.append(x_t)
        queue.pop(0)
    x_past = {"oldest": lambda: queue[0], "newest": lambda: queue[-1], "current": lambda: x_t}[read]()
    if push == "after":
        queue.append(x_t)
        queue.pop(0)
    w = layer.conv.weight
    w_cur, w_past = (w[:, :, 1], w[:, :, 0]) if taps == "right" else (w[:, :, 0], w[:, :, 1])
    h = x_t @ w_cur.T + x_past @ w_past.T + layer.conv.bias + (c_t if condition else 0.0)
    a, b = h.split(layer.half, dim=1)
    z = torch.tanh(a) * torch.sigmoid(b) if gate == "tanh_sigmoid" else torch.sigmoid(a) * torch.tanh(b)
    skip = F.linear(z, layer.skip.weight[:, :, 0], layer.skip.bias)
    if layer.res is None:
        return None, skip
    r = F.linear(z, layer.res.weight[:, :, 0], layer.res.bias)
    return ((x_t + r) if residual else r) * math.sqrt(0.5), skip


def _run_layer_step(fn, dilation, has_residual, T, seed):
    """A layer (fixed weights) and a sequence; ``fn`` called for t = 0 .. T - 1 with a queue of d zeros."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = CausalDilatedLayer(4, 6, 5, 3, dilation, has_residual=has_residual).eval()
    g = torch.Generator().manual_seed(seed + 1)
    x, c = torch.randn(2, 4, T, generator=g), torch.randn(2, 6, T, generator=g)
    queue = [torch.zeros(2, 4) for _ in range(dilation)]
    outs, skips = [], []
    with torch.no_grad():
        for t in range(T):
            result = fn(layer, x[:, :, t], c[:, :, t], queue)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise CheckFailed(f"layer_step: return (x_next, skip), got {type(result).__name__}")
            if len(queue) != dilation:
                raise CheckFailed(f"layer_step: after a step the queue must still hold the last d = {dilation} inputs, "
                                  f"it holds {len(queue)} (pop the oldest, append x_t)")
            outs.append(result[0])
            skips.append(result[1])
    seen = {"skip (B, S, T)": torch.stack(skips, -1), "the queue at the end": torch.stack(list(queue))}
    if has_residual:
        if any(o is None for o in outs):
            raise CheckFailed("layer_step: x_next is None although the layer has a residual output")
        seen["x_next (B, R, T)"] = torch.stack(outs, -1)
    elif any(o is not None for o in outs):
        raise CheckFailed("layer_step: a layer without a residual (layer.res is None) returns x_next = None")
    return seen


check_layer_step = exercise(
    "layer_step", NB_WAVENET, layer_step,
    lambda: [((), dict(dilation=4, has_residual=True, T=11, seed=120)), ((), dict(dilation=1, has_residual=True, T=5, seed=121)),
             ((), dict(dilation=2, has_residual=False, T=6, seed=122))],
    atol=1e-5, rtol=1e-4, observe=_run_layer_step,
    variants=[
        mistake("the newest queued input read as the past tap (x[t - 1] whatever the dilation)",
                "The past tap is x[t - d], the *oldest* of the last d inputs: queue.pop(0).", _layer_step, read="newest"),
        mistake("x_t pushed before the past tap is read (an off-by-one: x[t - d + 1])",
                "Read x[t - d] (pop the oldest) first, then append x_t.", _layer_step, push="before"),
        mistake("the current input used for both taps", "The second tap reads x[t - d] from the queue.", _layer_step, read="current"),
        mistake("the queue never updated (every past tap reads the zeros of the start)",
                "After reading x[t - d], drop it and append x_t: the queue holds the last d inputs.", _layer_step, push="never"),
        mistake("the conv's two taps swapped", "conv.weight[:, :, 1] multiplies x[t], conv.weight[:, :, 0] multiplies x[t - d].",
                _layer_step, taps="swapped"),
        mistake("the gate swapped: sigmoid of the first half times tanh of the second", "z = tanh(a) * sigmoid(b).",
                _layer_step, gate="sigmoid_tanh"),
        mistake("the residual missing", "x_next = (x_t + res(z)) * sqrt(0.5).", _layer_step, residual=False),
        mistake("the conditioning not added", "h = W_cur x_t + W_past x[t - d] + bias + c_t.", _layer_step, condition=False),
    ],
)
check_layer_step.__doc__ = """layer_step(layer, x_t, c_t, queue) -> (x_next, skip): one sample through one layer, with a queue."""


# ---- a generator built on a layer step --------------------------------------------------------------------


@torch.no_grad()
def generate_with(step, model: WaveNet, mel: torch.Tensor, n_samples: int, seed: int = 0) -> torch.Tensor:
    """μ-law samples of ``model`` for one ``mel`` ``(T_frames, n_mels)``, each layer advanced by ``step``.

    ``step`` has the signature of :func:`layer_step`. The same noise as
    :func:`tacolib.vocoder.wavenet_generate.generate` (:func:`frame_noise`), so with a
    right ``step`` the classes are those of ``CachedWaveNet(model).generate(mel[None])``.
    Returns ``(n_samples,)`` int64 classes. Readable torch, one sample at a time: slow.
    """
    cfg = model.cfg
    if cfg.output != "mulaw":
        raise ValueError("generate_with: a μ-law WaveNet (output='mulaw') only")
    model.eval()
    cond = model.layer_conditioning(model.condition(torch.as_tensor(mel).float()[None]))  # per layer (1, G, T_frames)
    queues = [[torch.zeros(1, cfg.residual_channels) for _ in range(d)] for d in cfg.dilations]
    prev = torch.tensor([model.start_input])
    samples = np.empty(n_samples, np.int64)
    g = None
    for t in range(n_samples):
        frame, j = divmod(t, cfg.hop_length)
        if j == 0:
            g = torch.from_numpy(frame_noise(seed, frame, cfg.hop_length, 1, cfg.n_classes, False)[0])  # (hop, 1, K)
        x, skips = model.input(prev), 0.0  # (1, R)
        for layer, q, c in zip(model.layers, queues, cond):
            x, s = step(layer, x, c[:, :, frame], q)
            skips = skips + s  # (1, S)
        out = model.head2(F.relu(model.head1(F.relu(skips)[..., None])))[..., 0]  # (1, K) logits
        prev = torch.argmax(out + g[j], dim=1)  # Gumbel-max: a sample of softmax(out)
        samples[t] = int(prev)
    return torch.from_numpy(samples)
