"""Alignment metrics on synthetic perfect, uniform, stuck, backwards and jumpy alignments."""

from __future__ import annotations

import pytest
import torch

from tacolib.metrics import (
    ALIGNED,
    alignment_metrics,
    coverage,
    diagonality,
    focus,
    is_aligned,
    monotonicity,
    predicted_lengths,
    stop_frame_error,
)

T_DEC, T_IN = 40, 16


def perfect(T_dec=T_DEC, T_in=T_IN):
    a = torch.zeros(T_dec, T_in)
    a[torch.arange(T_dec), (torch.arange(T_dec) * T_in // T_dec)] = 1.0
    return a


def soft(T_dec=T_DEC, T_in=T_IN, width=0.6):
    """A blurred diagonal: a Gaussian bump of ``width`` symbols around the line."""
    n = torch.arange(T_in).float()
    centre = (torch.arange(T_dec).float() + 0.5) * T_in / T_dec - 0.5
    return torch.softmax(-((n[None] - centre[:, None]) ** 2) / (2 * width**2), -1)


def uniform(T_dec=T_DEC, T_in=T_IN):
    return torch.full((T_dec, T_in), 1.0 / T_in)


def stuck(T_dec=T_DEC, T_in=T_IN):
    a = torch.zeros(T_dec, T_in)
    a[:, 3] = 1.0
    return a


def backwards():
    return perfect().flip(-1)


def jumpy(T_dec=400):
    """Hard attention on a random symbol at every step (long, so chance averages out)."""
    g = torch.Generator().manual_seed(0)
    a = torch.zeros(T_dec, T_IN)
    a[torch.arange(T_dec), torch.randint(0, T_IN, (T_dec,), generator=g)] = 1.0
    return a


def m(a):
    return alignment_metrics(a)


def test_perfect_alignment_scores_top_marks():
    r = m(perfect())
    assert r["focus"] == pytest.approx(1.0)
    assert r["diagonality"] == pytest.approx(1.0)
    assert r["monotonicity"] == pytest.approx(1.0)
    assert r["coverage"] == pytest.approx(1.0)
    assert is_aligned(r)


def test_soft_diagonal_is_aligned_but_less_focused():
    r = m(soft())
    assert 0.4 < r["focus"] < 0.9
    assert is_aligned(r)


def test_uniform_attention_fails_focus_diagonality_and_coverage():
    r = m(uniform())
    assert r["focus"] == pytest.approx(1 / T_IN)
    assert r["diagonality"] < 0.4
    assert r["coverage"] == 0.0
    assert r["monotonicity"] == 1.0  # documented: a blur never moves backwards
    assert not is_aligned(r)


def test_stuck_attention_is_focused_but_covers_one_symbol():
    r = m(stuck())
    assert r["focus"] == 1.0 and r["monotonicity"] == 1.0
    assert r["coverage"] == pytest.approx(1 / T_IN)
    assert not is_aligned(r)


def test_backwards_and_jumpy_attention_are_not_monotonic_or_diagonal():
    rb, rj = m(backwards()), m(jumpy())
    assert rb["monotonicity"] < 0.1 and rb["diagonality"] < 0.3
    assert 0.35 < rj["monotonicity"] < 0.65 and rj["diagonality"] < 0.4
    assert not is_aligned(rb) and not is_aligned(rj)


def test_metrics_respect_lengths_in_a_padded_batch():
    """A short utterance padded with garbage scores as well as alone."""
    short = perfect(20, 8)
    padded = torch.zeros(T_DEC, T_IN)
    padded[:20, :8] = short
    padded[20:] = backwards()[20:]  # garbage on padded decoder steps
    batch = torch.stack([perfect(), padded])
    tl, dl = torch.tensor([T_IN, 8]), torch.tensor([T_DEC, 20])
    for fn in (focus, diagonality, monotonicity, coverage):
        vals = fn(batch, tl, dl)
        assert vals.shape == (2,)
        assert vals[1] == pytest.approx(float(fn(short)[0]))
    # without lengths the garbage counts
    assert diagonality(batch)[1] < 0.9


def test_is_aligned_thresholds_and_errors():
    assert set(ALIGNED) == {"focus", "diagonality", "monotonicity", "coverage"}
    assert is_aligned({"focus": 0.9}, {"focus": 0.5})
    assert not is_aligned({"focus": 0.4}, {"focus": 0.5})
    with pytest.raises(KeyError, match="coverage"):
        is_aligned({"focus": 1.0}, {"coverage": 0.5})
    with pytest.raises(ValueError, match="T_dec, T_in"):
        focus(torch.zeros(2, 3, 4, 5))


def test_stop_frame_error_signs():
    T_out = 10
    logits = torch.full((3, T_out), -10.0)
    logits[0, 5:] = 10.0  # fires on frame 5 -> length 6
    logits[1, 2:] = 10.0  # length 3
    # row 2 never fires -> T_out
    assert predicted_lengths(logits).tolist() == [6, 3, T_out]
    err = stop_frame_error(logits, torch.tensor([6, 5, 7]))
    assert err.tolist() == [0, -2, 3]


def test_mel_dtw_mse_ignores_tempo_but_not_content():
    from tacolib.metrics import mel_dtw_mse

    g = torch.Generator().manual_seed(0)
    mel = torch.randn(40, 80, generator=g)
    assert mel_dtw_mse(mel, mel) == 0.0
    assert mel_dtw_mse(mel.repeat_interleave(2, dim=0), mel) == 0.0  # the same frames, spoken at half the pace
    noisy = mel + 0.5 * torch.randn(40, 80, generator=g)
    assert 0.0 < mel_dtw_mse(noisy, mel) <= float(((noisy - mel) ** 2).mean()) + 1e-9  # the path can only do better than frame by frame
    assert mel_dtw_mse(torch.randn(30, 80, generator=g), mel) > 1.0
    with pytest.raises(ValueError, match="n_mels"):
        mel_dtw_mse(mel, mel[:, :40])
