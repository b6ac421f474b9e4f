"""The attention explorer's pure view and its slider, driven headlessly."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from tacolib.widgets.attention import attention_explorer, attention_explorer_from, attention_step_view


def _diagonal(T_dec=12, T_in=6):
    a = np.zeros((T_dec, T_in), dtype=np.float32)
    for t in range(T_dec):
        a[t, min(T_in - 1, t * T_in // T_dec)] = 0.8
        a[t] += 0.2 / T_in
    return a


def test_step_view_reports_the_attended_character_and_frames():
    a = _diagonal()
    mel = np.random.default_rng(0).uniform(-4, 4, (36, 80))
    fig, info = attention_step_view(a, mel, step=7, r=3, text="hello~", close=True)
    assert info["peak"] == int(np.argmax(a[7])) == 3
    assert info["peak_char"] == "l"
    assert info["frames"] == (21, 24)
    np.testing.assert_allclose(info["weights"], a[7])
    assert "peak at 3" in fig.axes[-1].get_title()


def test_step_view_crops_padding_and_rejects_bad_steps():
    a = np.pad(_diagonal(), ((0, 4), (0, 3)))  # padded steps and positions
    mel = np.zeros((48, 80))
    _, info = attention_step_view(a, mel, step=0, r=3, text_length=6, dec_length=12, close=True)
    assert info["weights"].shape == (6,)
    with pytest.raises(ValueError, match="outside"):
        attention_step_view(a, mel, step=12, r=3, text_length=6, dec_length=12)
    with pytest.raises(ValueError, match="fewer than"):
        attention_step_view(a, mel[:10], step=0, r=3, dec_length=12)


def test_moving_the_slider_changes_the_step():
    a = _diagonal()
    w = attention_explorer(torch.from_numpy(a), torch.zeros(12, 80), r=1, text="hello~")
    w.update()
    assert w.result["step"] == 0 and w.result["peak_char"] == "h"
    slider = next(c for c in w.children if getattr(c, "description", "") == "step")
    assert slider.max == 11
    slider.value = 11
    assert w.result["step"] == 11 and w.result["peak_char"] == "~"
    plt.close("all")


def test_explorer_from_model_outputs():
    a = torch.from_numpy(np.stack([_diagonal(), _diagonal()]))
    out = {"alignments": a, "mel_postnet": torch.zeros(2, 36, 80), "lengths": torch.tensor([36, 30])}
    w = attention_explorer_from(out, index=1, r=3, texts=["hello", "hello"], text_lengths=torch.tensor([6, 6]))
    slider = next(c for c in w.children if getattr(c, "description", "") == "step")
    assert slider.max == 9  # 30 frames / r=3
    w.update()
    assert w.result["peak_char"] == "h"
    plt.close("all")
