"""Describe the model from its config: block diagrams, parameter counts, shapes.

The seed's advice is to *always draw the architecture*: a look at the boxes and their
sizes catches mismatches between what you meant and what you built. Everything here is
generated from a :class:`tacolib.config.Config` (or measured on a real forward pass),
never typed by hand, so it cannot drift from the code.

* :func:`box_stages` -- the stages of one box with their output shapes;
* :func:`diagram` (text) and :func:`draw_box` (matplotlib) render them;
* :func:`parameter_counts` -- parameters per box and sub-module;
* :func:`trace_shapes` -- the shapes that really flow through a forward pass;
* :func:`summary` -- all of it as one printable table.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from tacolib.config import Config
from tacolib.masks import decoder_lengths
from tacolib.model.tacotron2 import readable_paths

BOXES = ("encoder", "attention", "decoder", "postnet", "tacotron2")


def box_stages(cfg: Config, box: str, B: str | int = "B", T_in: str | int = "T_in", T_out: str | int = "T_out") -> list[tuple[str, str]]:
    """The stages of one box as ``(label, output shape)`` pairs, sizes from ``cfg``.

    Parameters
    ----------
    cfg : Config
    box : {"encoder", "attention", "decoder", "postnet", "tacotron2"}
    B, T_in, T_out : str or int
        Symbols or numbers to print for batch size, input length and mel frames.
    """
    m, n_mels, r = cfg.model, cfg.audio.n_mels, cfg.model.r
    d_enc = m.encoder_embedding_dim
    T_dec = f"{T_out}/{r}" if isinstance(T_out, str) else str(int(decoder_lengths(int(T_out), r)))
    if box == "encoder":
        s = [("token ids", f"({B}, {T_in})"), (f"Embedding {cfg.text.n_symbols} -> {m.symbols_embedding_dim}", f"({B}, {T_in}, {m.symbols_embedding_dim})")]
        for i in range(m.encoder_n_convs):
            s.append((f"Conv1d k={m.encoder_kernel_size} -> BatchNorm -> ReLU -> Dropout {m.encoder_dropout}  [{i + 1}/{m.encoder_n_convs}]", f"({B}, {d_enc}, {T_in})"))
        s.append((f"BiLSTM {d_enc // 2} + {d_enc // 2} (packed by text_lengths)", f"({B}, {T_in}, {d_enc})  memory"))
        return s
    if box == "attention":
        A, nf, k = m.attention_dim, m.attention_location_n_filters, m.attention_location_kernel_size
        return [
            ("query s_i: attention LSTM output", f"({B}, {m.attention_rnn_dim})"),
            (f"W s_i  (Linear {m.attention_rnn_dim} -> {A})", f"({B}, 1, {A})"),
            (f"V h + b  (Linear {d_enc} -> {A}, once per utterance)", f"({B}, {T_in}, {A})"),
            ("[previous; cumulative] weights", f"({B}, 2, {T_in})"),
            (f"U f  (Conv1d 2 -> {nf}, k={k}; Linear {nf} -> {A})", f"({B}, {T_in}, {A})"),
            (f"e = v^T tanh(sum)  (v: {A} -> 1)", f"({B}, {T_in})"),
            ("softmax over real positions (padding masked)", f"({B}, {T_in})  weights"),
            ("context = weights @ memory", f"({B}, {d_enc})"),
        ]
    if box == "decoder":
        return [
            (f"previous frame (go frame at step 0; last of the r={r} frames)", f"({B}, {n_mels})"),
            (f"Prenet 2 x [Linear {m.prenet_dim} -> ReLU -> Dropout {m.prenet_dropout} (always on)]", f"({B}, {m.prenet_dim})"),
            (f"cat(prenet, context) -> attention LSTMCell {m.attention_rnn_dim} (zoneout {m.zoneout})", f"({B}, {m.attention_rnn_dim})"),
            ("LocationSensitiveAttention -> context, weights", f"({B}, {d_enc}), ({B}, {T_in})"),
            (f"cat(s, context) -> decoder LSTMCell {m.decoder_rnn_dim} (zoneout {m.zoneout})", f"({B}, {m.decoder_rnn_dim})"),
            (f"cat(d, context) -> Linear -> {r} x {n_mels} mel values", f"({B}, {r}, {n_mels})"),
            (f"cat(d, context) -> Linear -> {r} stop logits", f"({B}, {r})"),
            (f"x {T_dec} steps", f"mel ({B}, {T_out}, {n_mels}), gate ({B}, {T_out}), alignments ({B}, {T_dec}, {T_in})"),
        ]
    if box == "postnet":
        s = [("decoder mel", f"({B}, {T_out}, {n_mels})")]
        n = m.postnet_n_convs
        for i in range(n - 1):
            s.append((f"Conv1d k={m.postnet_kernel_size} -> BatchNorm -> tanh -> Dropout {m.postnet_dropout}  [{i + 1}/{n}]", f"({B}, {m.postnet_embedding_dim}, {T_out})"))
        s.append((f"Conv1d k={m.postnet_kernel_size} -> BatchNorm -> Dropout {m.postnet_dropout}  [{n}/{n}]", f"({B}, {n_mels}, {T_out})"))
        s.append(("mel + residual", f"({B}, {T_out}, {n_mels})  mel_postnet"))
        return s
    if box == "tacotron2":
        return [
            ("text ids", f"({B}, {T_in})"),
            ("Encoder", f"({B}, {T_in}, {d_enc})"),
            (f"Decoder (attention, r={r}) x {T_dec} steps", f"({B}, {T_out}, {n_mels}) + gate ({B}, {T_out})"),
            ("Postnet (residual)", f"({B}, {T_out}, {n_mels})"),
        ]
    raise ValueError(f"box_stages: unknown box {box!r}; choose one of {BOXES}")


def diagram(cfg: Config, box: str, **dims) -> str:
    """A text block diagram of one box: each stage and its output shape, top to bottom."""
    stages = box_stages(cfg, box, **dims)
    w = max(len(label) for label, _ in stages)
    lines = [f"{box} ({cfg.name} preset)"]
    for i, (label, shape) in enumerate(stages):
        lines.append(f"  {label:<{w}}   {shape}")
        if i < len(stages) - 1:
            lines.append(f"  {'│':^{min(w, 3)}}")
    return "\n".join(lines)


def draw_box(cfg: Config, box: str, ax=None, **dims):
    """Draw one box as a vertical flow chart (matplotlib); returns the Figure."""
    import matplotlib.pyplot as plt

    stages = box_stages(cfg, box, **dims)
    n = len(stages)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 0.62 * n + 0.8))
    else:
        fig = ax.figure
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.5, n - 0.3)
    ax.axis("off")
    for i, (label, shape) in enumerate(stages):
        y = n - 1 - i
        ax.text(3.2, y, label, ha="center", va="center", fontsize=8.5, bbox=dict(boxstyle="round,pad=0.35", fc="#e8f0fe", ec="#3367d6"))
        if len(shape) > 40:  # long shape lists wrap onto several lines
            shape = shape.replace("), ", "),\n")
        ax.text(6.3, y, shape, ha="left", va="center", fontsize=8, family="monospace", color="#444")
        if i < n - 1:
            ax.annotate("", xy=(3.2, y - 0.68), xytext=(3.2, y - 0.32), arrowprops=dict(arrowstyle="->", color="#3367d6"))
    ax.set_title(f"{box} — {cfg.name} preset (shapes: right)", fontsize=10)
    fig.tight_layout()
    return fig


def parameter_counts(model: nn.Module, depth: int = 2) -> "OrderedDict[str, int]":
    """Parameters per named sub-module down to ``depth`` levels (``"decoder.prenet"``...).

    Returns an ordered dict ``name -> count``; ``"total"`` comes last.
    """
    counts: OrderedDict[str, int] = OrderedDict()
    for name, p in model.named_parameters():
        parts = name.split(".")
        key = ".".join(parts[: min(depth, len(parts) - 1)]) or parts[0]
        counts[key] = counts.get(key, 0) + p.numel()
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts


def trace_shapes(model: nn.Module, batch: dict) -> list[dict]:
    """Run ``model(batch)`` (eval, no grad) and record every sub-module's output shape.

    Returns one row per module (first call), in call order: ``name``, ``type``,
    ``out_shape``, ``calls`` (how many times it ran: decoder modules run once per step).
    """
    rows: "OrderedDict[str, dict]" = OrderedDict()
    hooks = []

    def shape_of(x):
        if isinstance(x, torch.Tensor):
            return tuple(x.shape)
        if isinstance(x, (tuple, list)) and x:
            return shape_of(x[0])
        if isinstance(x, dict):
            return {k: shape_of(v) for k, v in x.items()}
        return None

    def hook(name):
        def fn(mod, inp, out):
            if name in rows:
                rows[name]["calls"] += 1
            else:
                rows[name] = {"name": name, "type": type(mod).__name__, "out_shape": shape_of(out), "calls": 1}

        return fn

    for name, mod in model.named_modules():
        if name and name.count(".") <= 2 and not isinstance(mod, (nn.ModuleList, nn.Dropout)):
            hooks.append(mod.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), readable_paths(model):  # the readable loops call every sub-module, once per step
            model(batch)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return list(rows.values())


def summary(model: nn.Module, batch: dict | None = None) -> str:
    """Parameters per box (and shapes through a real forward pass when ``batch`` is given)."""
    counts = parameter_counts(model)
    total = counts["total"]
    lines = [f"{'module':<34}{'parameters':>14}{'share':>8}"]
    for k, v in counts.items():
        if k == "total":
            continue
        indent = "  " * k.count(".")
        lines.append(f"{indent + k:<34}{v:>14,}{100 * v / total:>7.1f}%")
    lines.append(f"{'total':<34}{total:>14,}")
    if batch is not None:
        lines.append("")
        lines.append(f"{'module (call order)':<34}{'type':<28}{'calls':>6}  output shape")
        for row in trace_shapes(model, batch):
            lines.append(f"{row['name']:<34}{row['type']:<28}{row['calls']:>6}  {row['out_shape']}")
    return "\n".join(lines)
