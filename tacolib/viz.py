"""Plots: pure functions that take arrays and return a matplotlib Figure.

The same figures serve the notebooks, the widgets and TensorBoard
(``SummaryWriter.add_figure``). Nothing here trains or computes model outputs.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use(matplotlib.get_backend())  # respect MPLBACKEND (Agg in tests)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from tacolib.safe_io import atomic_open  # noqa: E402

__all__ = [
    "to_numpy",
    "plot_waveform",
    "plot_mel",
    "plot_mels",
    "plot_alignment",
    "plot_gate",
    "plot_training_summary",
    "figure_to_array",
    "save_figure",
]


def to_numpy(x) -> np.ndarray:
    """Tensor or array-like -> numpy array on CPU."""
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def _new(figsize, ax=None):
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def plot_waveform(wav, sample_rate: int, title: str = "waveform", ax=None) -> plt.Figure:
    """Waveform ``(T,)`` against time in seconds."""
    w = to_numpy(wav).reshape(-1)
    fig, ax = _new((10, 2.2), ax)
    ax.plot(np.arange(len(w)) / sample_rate, w, lw=0.5)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title, xlim=(0, len(w) / sample_rate))
    fig.tight_layout()
    return fig


def plot_mel(
    mel,
    title: str = "mel spectrogram",
    hop_seconds: float | None = None,
    vmin: float = -4.0,
    vmax: float = 4.0,
    ax=None,
    colorbar: bool = True,
) -> plt.Figure:
    """One mel spectrogram ``(T_frames, n_mels)``, time on x, mel channel on y.

    ``hop_seconds`` labels x in seconds instead of frames.
    """
    m = to_numpy(mel)
    if m.ndim != 2:
        raise ValueError(f"plot_mel expects (T_frames, n_mels), got shape {m.shape}")
    fig, ax = _new((10, 3), ax)
    extent = None
    xlabel = "frame"
    if hop_seconds:
        extent = (0, m.shape[0] * hop_seconds, 0, m.shape[1])
        xlabel = "time (s)"
    im = ax.imshow(m.T, origin="lower", aspect="auto", interpolation="none", vmin=vmin, vmax=vmax, extent=extent, cmap="magma")
    ax.set(xlabel=xlabel, ylabel="mel channel", title=title)
    if colorbar:
        fig.colorbar(im, ax=ax, pad=0.01)
    fig.tight_layout()
    return fig


def plot_mels(mels: Sequence, titles: Sequence[str], vmin: float = -4.0, vmax: float = 4.0) -> plt.Figure:
    """Several mels stacked vertically on a shared time axis (e.g. target vs predicted)."""
    fig, axes = plt.subplots(len(mels), 1, figsize=(10, 2.4 * len(mels)), sharex=True, squeeze=False)
    for ax, mel, title in zip(axes[:, 0], mels, titles):
        plot_mel(mel, title=title, vmin=vmin, vmax=vmax, ax=ax)
    fig.tight_layout()
    return fig


def plot_alignment(
    alignment,
    title: str = "alignment",
    text: str | None = None,
    text_length: int | None = None,
    decoder_length: int | None = None,
    ax=None,
) -> plt.Figure:
    """Attention weights ``(T_dec, T_in)``: decoder step on x, input symbol on y.

    A good alignment is a clean, monotonic diagonal from bottom-left to top-right.
    ``text`` labels the y axis with the input characters (when short enough);
    ``text_length``/``decoder_length`` crop padding away.
    """
    a = to_numpy(alignment)
    if a.ndim != 2:
        raise ValueError(f"plot_alignment expects (T_dec, T_in), got shape {a.shape}")
    if decoder_length:
        a = a[:decoder_length]
    if text_length:
        a = a[:, :text_length]
    fig, ax = _new((7, 4.5), ax)
    im = ax.imshow(a.T, origin="lower", aspect="auto", interpolation="none", vmin=0.0, vmax=max(1e-6, float(a.max())), cmap="viridis")
    ax.set(xlabel="decoder step", ylabel="encoder position (input symbol)", title=title)
    if text is not None and len(text) <= 80 and len(text) >= a.shape[1] - 1:
        ax.set_yticks(range(a.shape[1]))
        ax.set_yticklabels(list(text[: a.shape[1]]) + [""] * max(0, a.shape[1] - len(text)), fontsize=6)
    fig.colorbar(im, ax=ax, pad=0.01)
    fig.tight_layout()
    return fig


def plot_gate(gate_logits, gate_targets=None, threshold: float = 0.5, title: str = "stop token", ax=None) -> plt.Figure:
    """Stop-token probability per frame (sigmoid of the logits), with the target and threshold."""
    p = 1.0 / (1.0 + np.exp(-to_numpy(gate_logits).reshape(-1)))
    fig, ax = _new((10, 2.2), ax)
    ax.plot(p, label="predicted P(stop)", lw=1)
    if gate_targets is not None:
        ax.plot(to_numpy(gate_targets).reshape(-1), label="target", lw=1, ls="--")
    ax.axhline(threshold, color="gray", lw=0.6, ls=":", label=f"threshold {threshold}")
    ax.set(xlabel="frame", ylabel="P(stop)", ylim=(-0.05, 1.05), title=title)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig


def plot_training_summary(target_mel, predicted_mel, alignment, gate_logits, gate_targets=None, title: str = "") -> plt.Figure:
    """The seed's monitoring panel in one figure: target/predicted mel, alignment, gate."""
    fig = plt.figure(figsize=(12, 7))
    gs = fig.add_gridspec(3, 2, width_ratios=[2, 1])
    plot_mel(target_mel, title="target mel", ax=fig.add_subplot(gs[0, 0]), colorbar=False)
    plot_mel(predicted_mel, title="predicted mel", ax=fig.add_subplot(gs[1, 0]), colorbar=False)
    plot_gate(gate_logits, gate_targets, ax=fig.add_subplot(gs[2, 0]))
    plot_alignment(alignment, ax=fig.add_subplot(gs[:, 1]))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_to_array(fig: plt.Figure, close: bool = True) -> np.ndarray:
    """Render a figure to an ``(H, W, 3)`` uint8 RGB array (for TensorBoard or tests)."""
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if close:
        plt.close(fig)
    return arr


def save_figure(fig: plt.Figure, path, dpi: int = 100, close: bool = True):
    """Write ``fig`` as a PNG at ``path``, atomically (:func:`tacolib.safe_io.atomic_open`).

    A full or read-only disk is one :class:`tacolib.safe_io.OutputError` naming ``path``;
    an existing file stays whole. Returns ``path`` as a ``Path``.
    """
    from pathlib import Path

    with atomic_open(path) as f:
        fig.savefig(f, dpi=dpi, format="png")
    if close:
        plt.close(fig)
    return Path(path)
