"""Tacotron2Loss: masking, stop-token weighting, guided attention and its decay."""

from __future__ import annotations

import math

import pytest
import torch

import tacolib
from tacolib.loss import (
    Tacotron2Loss,
    guided_attention_loss,
    guided_attention_weights,
    masked_bce_with_logits,
    masked_mse,
)
from tacolib.masks import lengths_to_mask, make_gate_targets


def _diagonal(T_dec, T_in):
    """A hard linear alignment (T_dec, T_in)."""
    a = torch.zeros(T_dec, T_in)
    idx = (torch.arange(T_dec).float() * T_in / T_dec).long().clamp(max=T_in - 1)
    a[torch.arange(T_dec), idx] = 1.0
    return a


def _batch_and_outputs(lengths=(12, 7), n_mels=5, r=3, T_in=(6, 4), pad=-4.1):
    """A padded batch and model outputs that are perfect on real frames."""
    B = len(lengths)
    T_out = math.ceil(max(lengths) / r) * r
    mel = torch.randn(B, T_out, n_mels)
    mask = lengths_to_mask(torch.tensor(lengths), T_out)
    mel[~mask] = pad
    batch = {
        "mel": mel,
        "mel_lengths": torch.tensor(lengths),
        "mel_mask": mask,
        "gate_targets": make_gate_targets(torch.tensor(lengths), T_out),
        "text_lengths": torch.tensor(T_in),
    }
    T_dec = T_out // r
    align = torch.zeros(B, T_dec, max(T_in))
    for b in range(B):
        td = math.ceil(lengths[b] / r)
        align[b, :td, : T_in[b]] = _diagonal(td, T_in[b])
        align[b, td:, 0] = 1.0
    out = {
        "mel": mel.clone(),
        "mel_postnet": mel.clone(),
        "gate_logits": (batch["gate_targets"] * 2 - 1) * 20.0,
        "alignments": align,
    }
    return batch, out


def test_masked_mse_ignores_padding_and_matches_mean_over_real_frames():
    pred, target = torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    mask = lengths_to_mask(torch.tensor([6, 2]), 6)
    expected = torch.cat([(pred[0] - target[0]) ** 2, (pred[1, :2] - target[1, :2]) ** 2]).mean()
    assert torch.allclose(masked_mse(pred, target, mask), expected)
    # anything written into the padding changes nothing
    pred2 = pred.clone()
    pred2[1, 2:] += 100.0
    assert torch.allclose(masked_mse(pred2, target, mask), expected)
    # unmasked it does
    assert masked_mse(pred2, target, None) > 10 * masked_mse(pred, target, None)


def test_masked_bce_pos_weight_scales_positive_frames_only():
    logits = torch.zeros(1, 4)
    targets = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    mask = lengths_to_mask(torch.tensor([3]), 4)  # 2 negatives + 1 positive kept
    base = masked_bce_with_logits(logits, targets, mask, 1.0)
    weighted = masked_bce_with_logits(logits, targets, mask, 5.0)
    assert math.isclose(float(base), math.log(2), rel_tol=1e-6)
    assert math.isclose(float(weighted), (2 + 5) / 3 * math.log(2), rel_tol=1e-6)


def test_loss_is_zero_for_perfect_outputs_and_padding_does_not_count():
    batch, out = _batch_and_outputs()
    crit = Tacotron2Loss(guided_attention_weight=0.0)
    l = crit(out, batch)
    assert float(l["mel"]) == 0 and float(l["postnet"]) == 0
    assert float(l["gate"]) < 1e-6
    # garbage on padded frames only: masked loss unchanged, unmasked loss explodes
    out["mel"] = out["mel"].clone()
    out["mel"][~batch["mel_mask"]] = 3.0
    out["gate_logits"] = torch.where(batch["mel_mask"], out["gate_logits"], torch.full_like(out["gate_logits"], -20.0))
    l = crit(out, batch)
    assert float(l["mel"]) == 0 and float(l["gate"]) < 1e-6
    naive = Tacotron2Loss(mask_padding=False)(out, batch)
    assert float(naive["mel"]) > 1.0 and float(naive["gate"]) > 1.0


def test_total_is_the_sum_of_terms_and_backpropagates():
    batch, out = _batch_and_outputs()
    out = {k: (v + 0.3 * torch.randn_like(v)).requires_grad_() if k != "alignments" else v for k, v in out.items()}
    align = torch.softmax(torch.randn_like(out["alignments"]), -1).requires_grad_()
    out["alignments"] = align
    crit = Tacotron2Loss(gate_pos_weight=4.0, guided_attention_weight=2.0)
    l = crit(out, batch)
    total = l["mel"] + l["postnet"] + l["gate"] + 2.0 * l["attention"]
    assert torch.allclose(l["loss"], total)
    l["loss"].backward()
    assert out["mel"].grad is not None and align.grad is not None
    # no gradient flows into padded frames
    assert out["mel"].grad[~batch["mel_mask"]].abs().max() == 0


def test_guided_attention_weights_shape_diagonal_and_padding():
    w = guided_attention_weights(torch.tensor([10, 5]), torch.tensor([20, 8]), 10, 20, sigma=0.2)
    assert w.shape == (2, 20, 10)
    assert float(w[0, 0, 0]) == 0.0  # on the diagonal
    assert float(w[0, 0, 9]) > 0.9  # far from it
    assert float(w[1, 8:].abs().sum()) == 0 and float(w[1, :, 5:].abs().sum()) == 0  # padding


def test_guided_attention_loss_orders_alignments_and_is_normalized_per_step():
    T_dec, T_in = 30, 12
    tl, dl = torch.tensor([T_in]), torch.tensor([T_dec])
    diag = _diagonal(T_dec, T_in)[None]
    uniform = torch.full((1, T_dec, T_in), 1.0 / T_in)
    backwards = diag.flip(-1)
    lossd, lossu, lossb = (float(guided_attention_loss(a, tl, dl)) for a in (diag, uniform, backwards))
    assert lossd < 0.05 < lossu < lossb <= 1.0
    # summed over encoder positions, averaged over decoder steps: doubling T_in at the
    # same relative positions leaves the loss of uniform attention about the same
    u2 = torch.full((1, T_dec, 2 * T_in), 1.0 / (2 * T_in))
    lossu2 = float(guided_attention_loss(u2, torch.tensor([2 * T_in]), dl))
    assert abs(lossu2 - lossu) < 0.05
    # padded decoder steps do not count, whatever the attention does there
    padded = torch.cat([diag, backwards[:, :10]], 1)
    assert math.isclose(float(guided_attention_loss(padded, tl, dl)), lossd, abs_tol=1e-6)


def test_guided_attention_decay_and_config():
    cfg = tacolib.get_config("tiny").override(["train.guided_attention_decay=0.5"])
    crit = Tacotron2Loss.from_config(cfg)
    w0 = cfg.train.guided_attention_weight
    assert crit.attention_weight_at(0) == w0
    assert math.isclose(crit.attention_weight_at(3), w0 * 0.125)
    batch, out = _batch_and_outputs()
    out["alignments"] = torch.softmax(torch.randn_like(out["alignments"]), -1)
    l0, l3 = crit(out, batch, step=0), crit(out, batch, step=3)
    assert math.isclose(float(l0["loss"] - l3["loss"]), float(l0["attention"]) * w0 * (1 - 0.125), rel_tol=1e-5)
    assert Tacotron2Loss.from_config(tacolib.get_config("paper")).attention_weight_at(0) == 0.0


def test_clear_errors():
    batch, out = _batch_and_outputs()
    with pytest.raises(KeyError, match="mel_postnet"):
        Tacotron2Loss()({k: v for k, v in out.items() if k != "mel_postnet"}, batch)
    bad = dict(out, mel=out["mel"][:, :-1])
    with pytest.raises(ValueError, match="differ"):
        Tacotron2Loss()(bad, batch)
    with pytest.raises(ValueError, match="decay"):
        Tacotron2Loss(guided_attention_decay=0.0)
