"""The A/B player: bytes are real WAV, the buttons swap clips, bad input is refused."""

import io

import numpy as np
import pytest
import soundfile as sf
import torch

from tacolib.widgets.audio import ab_player, ab_state, wav_bytes


def _decode(data: bytes):
    x, sr = sf.read(io.BytesIO(data), dtype="float32")
    return x, sr


def test_wav_bytes_round_trip_and_normalization():
    x = 0.25 * np.sin(np.linspace(0, 100, 2205)).astype(np.float32)
    y, sr = _decode(wav_bytes(x, 22050, peak=None))
    assert sr == 22050 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-4)
    z, _ = _decode(wav_bytes(torch.from_numpy(x), 22050))
    assert abs(np.abs(z).max() - 0.9) < 1e-3


def test_buttons_switch_the_clip():
    sr = 8000
    clips = {"a": 0.5 * np.ones(800, np.float32), "b": -0.1 * np.ones(1600, np.float32), "c": torch.zeros(400)}
    w = ab_player(clips, sr, normalize=False)
    buttons, player, caption = w.children
    assert list(buttons.options) == ["a", "b", "c"]
    assert _decode(player.value)[0].shape == (800,)
    buttons.value = "b"  # what a click does
    x, _ = _decode(player.value)
    assert x.shape == (1600,) and x[0] < 0
    assert caption.value.startswith("b: 0.20 s")
    w.choose("c")
    assert _decode(player.value)[0].shape == (400,)
    assert ab_state(clips, sr)["a"][0] != ab_state(clips, sr, normalize=False)["a"][0]


@pytest.mark.parametrize(
    "clips, match",
    [({}, "non-empty dict"), ({"x": np.zeros((2, 100))}, "1-D"), ({"x": np.array([])}, "1-D"), ({"x": np.array([np.nan, 0.0])}, "NaN")],
)
def test_bad_clips_raise(clips, match):
    with pytest.raises(ValueError, match=match):
        ab_player(clips, 22050)


def test_bad_sample_rate_raises():
    with pytest.raises(ValueError, match="sample_rate"):
        wav_bytes(np.zeros(10), 0)
