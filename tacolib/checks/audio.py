"""Checks for notebook 01 (signal -> mel)."""

from __future__ import annotations

import numpy as np
import torch

from tacolib import audio
from tacolib.checks.core import exercise
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


def _ref_hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """The HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


check_hz_to_mel = exercise(
    "hz_to_mel",
    NOTEBOOK,
    _ref_hz_to_mel,
    lambda: [((np.array([0.0, 100.0, 700.0, 1000.0, 4000.0, 8000.0, 11025.0]),), {})],
    atol=1e-3,
    rtol=1e-6,
)


def _ref_scale_db(db: torch.Tensor, min_level_db: float, ref_level_db: float, max_abs_value: float) -> torch.Tensor:
    cfg = AudioConfig(min_level_db=min_level_db, ref_level_db=ref_level_db, max_abs_value=max_abs_value)
    return audio.normalize(db, cfg)


def _scale_cases():
    db = torch.linspace(-120.0, 40.0, 33)
    return [((db, -100.0, 20.0, 4.0), {}), ((db.reshape(3, 11), -80.0, 0.0, 1.0), {})]


check_scale_db = exercise("scale_db", NOTEBOOK, _ref_scale_db, _scale_cases)
