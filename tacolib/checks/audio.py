"""Checks for notebook 01 (signal -> mel)."""

from __future__ import annotations

import numpy as np
import torch

from tacolib import audio
from tacolib.checks.core import exercise, mistake
from tacolib.config import AudioConfig

NOTEBOOK = "01_signal_to_mel"


def _ref_frame_signal(wav: torch.Tensor, frame_length: int, hop_length: int) -> torch.Tensor:
    """``(T,)`` -> ``(n_frames, frame_length)`` with ``n_frames = 1 + (T - frame_length) // hop_length``."""
    return wav.unfold(0, frame_length, hop_length)


def _frame_cases():
    g = torch.Generator().manual_seed(1)
    return [
        ((torch.arange(10, dtype=torch.float32), 4, 2), {}),
        ((torch.randn(1000, generator=g), 256, 64), {}),
        ((torch.randn(1024, generator=g), 1024, 256), {}),
    ]


check_frame_signal = exercise("frame_signal", NOTEBOOK, _ref_frame_signal, _frame_cases)


def _ref_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """HTK-style triangular mel filters ``(n_mels, n_fft // 2 + 1)``, unnormalized: librosa's ``htk=True, norm=None``."""
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=True, norm=None)


def _filterbank(sample_rate, n_fft, n_mels, fmin, fmax, spacing="mel", points="n+2", top="nyquist"):
    """The HTK filterbank with knobs (at the defaults: the reference), each one a learner's mistake."""
    to_mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)  # noqa: E731
    to_hz = lambda m: 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)  # noqa: E731
    n = n_mels + 2 if points == "n+2" else n_mels
    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n)) if spacing == "mel" else np.linspace(fmin, fmax, n)
    bins = np.linspace(0, sample_rate / 2 if top == "nyquist" else sample_rate, n_fft // 2 + 1)
    fb = np.zeros((n_mels, len(bins)))
    for k in range(min(n_mels, n - 2)):
        lo, mid, hi = edges[k], edges[k + 1], edges[k + 2]
        fb[k] = np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))
    return fb


check_mel_filterbank = exercise(
    "mel_filterbank",
    NOTEBOOK,
    _ref_mel_filterbank,
    lambda: [((22050, 1024, 80, 0.0, 8000.0), {}), ((16000, 512, 40, 125.0, 7600.0), {}), ((8000, 64, 6, 0.0, 4000.0), {})],
    atol=1e-5,
    rtol=1e-4,
    variants=[
        mistake("the filter edges evenly spaced in Hz, not in mel",
                "Space n_mels + 2 points evenly between hz_to_mel(fmin) and hz_to_mel(fmax), then convert them back to Hz.",
                _filterbank, spacing="hz"),
        mistake("n_mels edge points instead of n_mels + 2",
                "Filter k rises from point k to point k + 1 and falls to point k + 2: n_mels filters need n_mels + 2 points.",
                _filterbank, points="n"),
        mistake("the FFT bins spread up to the sample rate instead of half of it",
                "Bin i of an n_fft-point FFT is i * sample_rate / n_fft Hz; the n_fft // 2 + 1 bins end at sample_rate / 2.",
                _filterbank, top="sr"),
    ],
)


def _ref_scale_db(db: torch.Tensor, min_level_db: float, ref_level_db: float, max_abs_value: float) -> torch.Tensor:
    cfg = AudioConfig(min_level_db=min_level_db, ref_level_db=ref_level_db, max_abs_value=max_abs_value)
    return audio.normalize(db, cfg)


def _scale_cases():
    db = torch.linspace(-120.0, 40.0, 33)
    return [((db, -100.0, 20.0, 4.0), {}), ((db.reshape(3, 11), -80.0, 0.0, 1.0), {})]


check_scale_db = exercise("scale_db", NOTEBOOK, _ref_scale_db, _scale_cases)
