"""A/B listening: several labelled clips, one player, buttons to switch between them.

Comparing vocoders (or a model against the recording) by ear works best when the
clips play from the same place at the same loudness, one click apart::

    from tacolib.widgets.audio import ab_player
    ab_player({"original": wav, "Griffin-Lim": gl, "WaveNet": wn}, sample_rate=22050)

The widget is a thin layer: :func:`wav_bytes` turns a waveform into WAV bytes and
:func:`ab_state` prepares every clip (peak-normalized by default, so that the louder
clip does not win); the ToggleButtons callback only swaps the player's bytes and the
caption. Works in Jupyter and JupyterLab (``ipywidgets.Audio``) and headlessly in tests.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["wav_bytes", "ab_state", "ab_player"]


def _as_mono(clip, name: str) -> np.ndarray:
    try:
        import torch

        if isinstance(clip, torch.Tensor):
            clip = clip.detach().float().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    x = np.asarray(clip, dtype=np.float32)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"ab_player: clip {name!r} must be a non-empty 1-D waveform, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"ab_player: clip {name!r} contains NaN or infinite samples")
    return x


def wav_bytes(wav, sample_rate: int, peak: float | None = 0.9) -> bytes:
    """A mono waveform ``(T,)`` -> 16-bit PCM WAV file bytes.

    ``peak`` rescales the clip so its largest sample is ``peak`` (None keeps the
    level; samples are clipped to [-1, 1] either way).
    """
    import soundfile as sf

    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"wav_bytes: sample_rate must be a positive int (Hz), got {sample_rate!r}")
    x = _as_mono(wav, "wav")
    if peak is not None:
        m = float(np.abs(x).max())
        if m > 0:
            x = x * (peak / m)
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), int(sample_rate), format="WAV", subtype="PCM_16")
    return buf.getvalue()


def ab_state(clips: dict, sample_rate: int, normalize: bool = True) -> dict[str, tuple[bytes, str]]:
    """Every clip's WAV bytes and caption, keyed by label (the widget's data).

    Raises ``ValueError`` on an empty dict or a clip that is not a 1-D waveform.
    """
    if not isinstance(clips, dict) or not clips:
        raise ValueError("ab_player: clips must be a non-empty dict {label: waveform}")
    state = {}
    for label, clip in clips.items():
        x = _as_mono(clip, str(label))
        caption = f"{label}: {x.size / sample_rate:.2f} s, peak {np.abs(x).max():.2f}, rms {np.sqrt(np.mean(x**2)):.3f}"
        if normalize:
            caption += " (played peak-normalized)"
        state[str(label)] = (wav_bytes(x, sample_rate, peak=0.9 if normalize else None), caption)
    return state


def ab_player(clips: dict, sample_rate: int, normalize: bool = True, autoplay: bool = False):
    """An A/B player: ToggleButtons choose which clip the single audio player holds.

    Parameters
    ----------
    clips : dict[str, array]
        ``{label: (T,) waveform}`` (numpy or torch); lengths may differ.
    sample_rate : int
        Hz, shared by all clips.
    normalize : bool
        Play every clip at the same peak level (a fair comparison).
    autoplay : bool
        Start playing when a clip is chosen.

    Returns
    -------
    ipywidgets.VBox
        ``children = (ToggleButtons, Audio, Label)``; ``.choose(label)`` switches clip.
    """
    import ipywidgets as W

    state = ab_state(clips, sample_rate, normalize)
    labels = list(state)
    buttons = W.ToggleButtons(options=labels, value=labels[0], description="play:", style={"button_width": "auto"})
    player = W.Audio(value=state[labels[0]][0], format="wav", autoplay=autoplay, loop=False)
    caption = W.Label(value=state[labels[0]][1])

    def on_change(change):
        data, text = state[change["new"]]
        player.value = data
        caption.value = text

    buttons.observe(on_change, names="value")
    box = W.VBox([buttons, player, caption])
    box.choose = lambda label: setattr(buttons, "value", label)
    return box
