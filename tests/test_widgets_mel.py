"""The mel explorer's callback, driven headlessly."""

import matplotlib.pyplot as plt
import torch

from tacolib.config import AudioConfig
from tacolib.widgets.mel import mel_explorer, mel_view


def test_mel_view_follows_the_settings():
    cfg = AudioConfig()
    wav = 0.3 * torch.randn(22050)
    fig, mel = mel_view(wav, cfg, 1024, 256, 80)
    fig2, mel2 = mel_view(wav, cfg, 2048, 512, 40)
    assert mel.shape == (87, 80) and mel2.shape == (44, 40)
    assert "512" in fig2.axes[0].get_title()
    plt.close("all")


def test_moving_a_slider_changes_the_output():
    cfg = AudioConfig()
    w = mel_explorer(0.3 * torch.randn(11025), cfg)
    w.update()
    first = w.result
    hop = next(c for c in w.children if getattr(c, "description", "") == "hop")
    hop.value = 1024  # moving the slider re-runs the callback
    second = w.result
    assert first.shape == (44, 80) and second.shape == (11, 80)
    plt.close("all")
