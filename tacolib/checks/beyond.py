"""Checks for notebook 12 (beyond Tacotron 2): MCD of paired frames, durations from attention."""

from __future__ import annotations

import numpy as np
import torch

from tacolib.checks.core import exercise
from tacolib.durations import durations_from_alignment
from tacolib.mcd import cepstral_distortion

NOTEBOOK = "12_beyond_tacotron2"


def _mcd_cases():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(9, 13))
    return [
        ((a, a.copy()), {}),  # identical: 0 dB
        ((a, a + 0.1), {}),  # every coefficient off by 0.1
        ((a, rng.normal(size=(9, 13))), {}),
        ((a[:1, :3], np.zeros((1, 3))), {}),
    ]


check_mel_cepstral_distortion = exercise("mel_cepstral_distortion", NOTEBOOK, cepstral_distortion, _mcd_cases, atol=1e-9, rtol=1e-7)


def _duration_cases():
    g = torch.Generator().manual_seed(0)
    soft = torch.softmax(torch.randn(12, 7, generator=g) * 2, dim=1)
    return [
        ((torch.eye(4).repeat_interleave(2, 0), 40, 5), {}),  # two steps per symbol, all of r = 5 frames real
        ((torch.eye(4).repeat_interleave(2, 0), 37, 5), {}),  # the last step was partly padding
        ((torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]), 10, 5), {}),
        ((soft, 57, 5), {}),
        ((soft, 12, 1), {}),
    ]


check_attention_durations = exercise("attention_durations", NOTEBOOK, durations_from_alignment, _duration_cases, atol=0, rtol=0)
