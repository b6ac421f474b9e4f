"""Mel explorer (notebook 01): change n_fft / hop / n_mels and see and hear the result."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from tacolib import audio, viz
from tacolib.config import AudioConfig


def mel_view(wav: torch.Tensor, cfg: AudioConfig, n_fft: int, hop_length: int, n_mels: int):
    """The pure function behind the explorer.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The scaled mel spectrogram for these settings.
    mel : torch.Tensor
        ``(T_frames, n_mels)``.
    """
    c = dataclasses.replace(cfg, n_fft=n_fft, win_length=n_fft, hop_length=hop_length, n_mels=n_mels)
    mel = audio.mel_spectrogram(wav, c)
    title = f"n_fft={n_fft}  hop={hop_length}  n_mels={n_mels}  ->  {mel.shape[0]} frames x {n_mels} mels"
    fig = viz.plot_mel(mel, title=title, hop_seconds=hop_length / c.sample_rate)
    return fig, mel


def mel_explorer(wav: torch.Tensor, cfg: AudioConfig):
    """Sliders for n_fft, hop and n_mels over one utterance, with a player for the audio.

    The player plays the waveform reconstructed from the mel you are looking at
    (clamped pseudo-inverse + 32 Griffin-Lim iterations), so coarse settings can be
    heard, not just seen.
    """
    import ipywidgets as W
    import librosa
    import matplotlib.pyplot as plt
    from IPython.display import Audio, display

    def show(n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels):
        if hop_length > n_fft:
            print(f"hop ({hop_length}) larger than the window ({n_fft}) skips samples: pick a smaller hop.")
            return
        fig, mel = mel_view(wav, cfg, n_fft, hop_length, n_mels)
        display(fig)
        plt.close(fig)
        c = dataclasses.replace(cfg, n_fft=n_fft, win_length=n_fft, hop_length=hop_length, n_mels=n_mels)
        mag = audio.mel_to_linear(mel, c).numpy()
        y = librosa.griffinlim(mag, n_iter=32, hop_length=hop_length, win_length=n_fft, n_fft=n_fft, random_state=0)
        display(Audio(y, rate=cfg.sample_rate))
        return mel  # kept by ipywidgets as `.result` (used by the tests)

    return W.interactive(
        show,
        n_fft=W.SelectionSlider(options=[256, 512, 1024, 2048, 4096], value=cfg.n_fft, description="n_fft"),
        hop_length=W.SelectionSlider(options=[64, 128, 256, 512, 1024], value=cfg.hop_length, description="hop"),
        n_mels=W.SelectionSlider(options=[20, 40, 80, 128], value=cfg.n_mels, description="n_mels"),
    )
