"""Attention explorer (notebooks 04 and 05): step through the decoder and watch it read.

A slider picks a decoder step; the figure shows, for that step, the attention weights
over the input characters (a bar per character), the whole alignment with the step
marked, and the mel spectrogram with the ``r`` frames this step produced highlighted.
:func:`attention_step_view` is the pure function behind it (tested headlessly); the
widget is a thin ipywidgets layer over it and :mod:`tacolib.viz`.
"""

from __future__ import annotations

import numpy as np

from tacolib import viz
from tacolib.masks import decoder_lengths


def _as_2d(x, name: str) -> np.ndarray:
    a = viz.to_numpy(x)
    if a.ndim != 2:
        raise ValueError(f"attention explorer: {name} must be 2-D, got shape {a.shape}")
    return a


def attention_step_view(
    alignment,
    mel,
    step: int,
    r: int = 1,
    text: str | None = None,
    text_length: int | None = None,
    dec_length: int | None = None,
    close: bool = False,
):
    """Draw what the decoder attends to at one step.

    Parameters
    ----------
    alignment : array-like
        ``(T_dec, T_in)`` attention weights of one utterance.
    mel : array-like
        ``(T_out, n_mels)`` the mel produced (or targeted), ``T_out >= T_dec * r``.
    step : int
        Decoder step, ``0 <= step < dec_length``.
    r : int
        Frames per decoder step.
    text : str, optional
        The input characters (labels the bars); an end-of-sequence symbol is shown as ``~``.
    text_length, dec_length : int, optional
        Crop padding away (default: everything).
    close : bool
        Close the figure after drawing (tests, batch use).

    Returns
    -------
    fig : matplotlib.figure.Figure
    info : dict
        ``step``; ``frames`` ``(first, last + 1)`` mel frames of this step; ``weights``
        ``(T_in,)``; ``peak`` (index of the most attended character); ``peak_char``
        (that character, or None without ``text``).
    """
    import matplotlib.pyplot as plt

    a = _as_2d(alignment, "alignment")
    m = _as_2d(mel, "mel")
    T_dec = int(dec_length) if dec_length else a.shape[0]
    T_in = int(text_length) if text_length else a.shape[1]
    a = a[:T_dec, :T_in]
    if not 0 <= step < T_dec:
        raise ValueError(f"attention explorer: step {step} is outside [0, {T_dec})")
    if r < 1:
        raise ValueError(f"attention explorer: r must be >= 1, got {r}")
    if m.shape[0] < T_dec * r:
        raise ValueError(f"attention explorer: mel has {m.shape[0]} frames, fewer than {T_dec} steps x r={r}")
    m = m[: T_dec * r]
    w = a[step]  # (T_in,)
    peak = int(np.argmax(w))
    chars = None
    if text is not None:
        chars = list(text[:T_in]) + ["~"] * max(0, T_in - len(text))
    first, last = step * r, (step + 1) * r

    fig = plt.figure(figsize=(12, 6.5))
    gs = fig.add_gridspec(2, 2, height_ratios=[1, 1.1], width_ratios=[1, 1.6])
    ax_mel = fig.add_subplot(gs[0, :])
    viz.plot_mel(m, title=f"mel: frames {first}-{last - 1} come from decoder step {step}", ax=ax_mel, colorbar=False)
    ax_mel.axvspan(first - 0.5, last - 0.5, color="cyan", alpha=0.35, lw=0)
    ax_align = fig.add_subplot(gs[1, 0])
    ax_align.imshow(a.T, origin="lower", aspect="auto", interpolation="none", cmap="viridis", vmin=0.0, vmax=max(1e-6, float(a.max())))
    ax_align.axvline(step, color="red", lw=1)
    ax_align.set(xlabel="decoder step", ylabel="input position", title="alignment (red: this step)")
    ax_bar = fig.add_subplot(gs[1, 1])
    colors = ["tab:red" if j == peak else "tab:blue" for j in range(T_in)]
    ax_bar.bar(np.arange(T_in), w, color=colors, width=0.85)
    ax_bar.set(xlim=(-0.5, T_in - 0.5), ylim=(0, max(1e-6, float(w.max())) * 1.1), ylabel="attention weight")
    title = f"step {step}: attention over the input (peak at {peak}"
    if chars is not None:
        ax_bar.set_xticks(np.arange(T_in))
        ax_bar.set_xticklabels(["␣" if c == " " else c for c in chars], fontsize=7 if T_in <= 60 else 5)
        title += f" = {chars[peak]!r}"
    ax_bar.set_title(title + ")")
    fig.tight_layout()
    if close:
        plt.close(fig)
    info = {"step": step, "frames": (first, last), "weights": w, "peak": peak, "peak_char": chars[peak] if chars else None}
    return fig, info


def attention_explorer(alignment, mel, r: int = 1, text: str | None = None, text_length: int | None = None, dec_length: int | None = None):
    """An ipywidgets slider over decoder steps driving :func:`attention_step_view`.

    Parameters are those of :func:`attention_step_view`. Returns the
    ``ipywidgets.interactive`` (display it as the last expression of a cell); its
    ``.result`` is the ``info`` dict of the step shown.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    a = _as_2d(alignment, "alignment")
    T_dec = int(dec_length) if dec_length else a.shape[0]

    def show(step=0):
        fig, info = attention_step_view(alignment, mel, step, r=r, text=text, text_length=text_length, dec_length=dec_length)
        display(fig)
        plt.close(fig)
        return info

    return W.interactive(show, step=W.IntSlider(value=0, min=0, max=T_dec - 1, description="step", continuous_update=False))


def attention_explorer_from(out: dict, index: int = 0, r: int = 1, texts=None, text_lengths=None, mel_lengths=None, key: str = "mel_postnet"):
    """The explorer for utterance ``index`` of a model output dict (``forward`` or ``inference``).

    ``texts`` (list of str), ``text_lengths`` and ``mel_lengths`` come from the batch;
    an inference output's own ``lengths`` are used when ``mel_lengths`` is not given.
    """
    lengths = mel_lengths if mel_lengths is not None else out.get("lengths")
    dec_length = None
    if lengths is not None:
        dec_length = int(decoder_lengths(int(lengths[index]), r))
    text = texts[index] if texts is not None else None
    if text is not None and text_lengths is not None and len(text) == int(text_lengths[index]) - 1:
        text = text + "~"  # the EOS symbol the model reads last
    tl = int(text_lengths[index]) if text_lengths is not None else None
    return attention_explorer(out["alignments"][index], out[key][index], r=r, text=text, text_length=tl, dec_length=dec_length)
