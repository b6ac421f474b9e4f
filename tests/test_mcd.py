"""MCD-DTW: zero for the same speech, blind to timing, and the number the formula promises."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

import tacolib
from tacolib.mcd import MCD_CONSTANT, N_CEPSTRA, dtw_path, mcd_dtw, mel_cepstrum

AUDIO = tacolib.get_config("tiny").audio


def _mel(T=60, seed=0):
    """A speech-like scaled mel: smooth in frequency, changing over time, inside [-4, 4]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.cumsum(torch.randn(T, 80, generator=g) * 0.15, dim=1)  # (T, 80)
    return (base - base.mean(1, keepdim=True)).clamp(-2, 2) + torch.sin(torch.arange(T)[:, None] / 5.0)


def test_cepstra_are_the_cosine_series_of_the_log_mel():
    mel = _mel()
    c = mel_cepstrum(mel, AUDIO, n_cepstra=20)
    ln_amp = tacolib.audio.denormalize(mel, AUDIO).double().numpy() * math.log(10) / 20
    ref = scipy.fft.dct(ln_amp, type=2, norm="ortho", axis=1)[:, 1:21] / math.sqrt(2 * 80)
    assert c.shape == (60, 20) and np.allclose(c, ref, atol=1e-9)
    with pytest.raises(ValueError, match=r"expected a \(T, 80\) mel"):
        mel_cepstrum(torch.zeros(5, 40), AUDIO)


def test_zero_for_the_same_mel_and_blind_to_timing():
    mel = _mel()
    assert mcd_dtw(mel, mel, AUDIO) == 0.0
    slow = mel.repeat_interleave(2, dim=0)  # the same speech, twice as slow
    assert mcd_dtw(slow, mel, AUDIO) == pytest.approx(0.0, abs=1e-9)
    assert mcd_dtw(_mel(seed=1), mel, AUDIO) > 1.0


def test_a_known_cepstral_difference_gives_the_formulas_value():
    mel = _mel()
    delta = 0.05  # nepers on c_3: ln A_n += 2 * delta * cos(pi * 3 * (2n + 1) / 160)
    n = np.arange(80)
    bump_db = 2 * delta * np.cos(np.pi * 3 * (2 * n + 1) / 160) * 20 / math.log(10)
    scale = 2 * AUDIO.max_abs_value / -AUDIO.min_level_db  # dB -> scaled units
    shifted = mel + torch.tensor(bump_db * scale, dtype=torch.float32)
    assert mcd_dtw(shifted, mel, AUDIO) == pytest.approx(MCD_CONSTANT * delta, rel=1e-3)  # c_0 excluded, D = 13
    assert N_CEPSTRA == 13
    assert mcd_dtw(mel + 0.3, mel, AUDIO) == pytest.approx(0.0, abs=1e-5)  # louder is c_0 only: not counted


def test_dtw_path_runs_corner_to_corner_and_monotonic():
    a, b = np.random.default_rng(0).normal(size=(7, 3)), np.random.default_rng(1).normal(size=(11, 3))
    p = dtw_path(a, b)
    assert tuple(p[0]) == (0, 0) and tuple(p[-1]) == (6, 10)
    assert (np.diff(p, axis=0) >= 0).all() and (np.diff(p, axis=0).sum(1) >= 1).all()
