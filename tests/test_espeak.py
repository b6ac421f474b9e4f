"""espeak-ng synthesis through ctypes: works offline and is reproducible."""

import numpy as np
import pytest

from tacolib import espeak


def test_synthesizes_speech_at_ljspeech_rate():
    wav, sr = espeak.synthesize("The quick brown fox jumps over the lazy dog.")
    assert sr == 22050
    assert wav.dtype == np.float32 and 1.0 < len(wav) / sr < 5.0
    assert 0.05 < np.abs(wav).max() <= 1.0


def test_same_text_same_samples_whatever_came_before():
    text = "Doctor Smith paid three dollars and fifty cents."
    first, _ = espeak.synthesize(text)
    espeak.synthesize("Something else entirely, to disturb any internal state.")
    second, _ = espeak.synthesize(text)
    assert np.array_equal(first, second)


def test_empty_text_is_refused():
    with pytest.raises(ValueError, match="empty"):
        espeak.synthesize("   ")


def test_bad_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        espeak.synthesize("hello", voice="../etc/passwd")
