"""Int8 decoder LSTMs for CPU inference (tacolib.model.int8).

The quantized model must behave like the fp32 one up to int8 rounding: same shapes,
same eval-mode zoneout, nearly the same mels and alignments; and it must refuse what
it cannot do (training, GPU, a model without decoder cells) with a clear message.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn as nn

import tacolib
from tacolib.model import Tacotron2, ZoneoutLSTMCell
from tacolib.model.int8 import Int8LSTMCell, is_quantized, quantize_decoder


def _model(seed=0, **model):
    cfg = tacolib.get_config("tiny")
    cfg.model = dataclasses.replace(cfg.model, **model)
    torch.manual_seed(seed)
    return Tacotron2(cfg).eval()


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("zoneout", [0.0, 0.1])
def test_int8_cell_matches_the_fp32_cell_in_eval_mode(zoneout):
    torch.manual_seed(0)
    cell = ZoneoutLSTMCell(96, 64, zoneout=zoneout).eval()
    q = Int8LSTMCell(cell)
    x = torch.randn(5, 96) * 2  # prenet/context-like scale
    h, c = torch.rand(5, 64) * 2 - 1, torch.randn(5, 64)
    with torch.no_grad():
        out_ref, (h_ref, c_ref) = cell(x, (h, c))
        out, (h_next, c_next) = q(x, (h, c))
    assert out.shape == (5, 64) and h_next.shape == (5, 64) and c_next.shape == (5, 64)
    assert _rel(out, out_ref) < 0.03, "the cell output differs from fp32 by more than int8 rounding explains"
    assert _rel(c_next, c_ref) < 0.03
    # eval-mode zoneout: the carried state is the expectation p * old + (1 - p) * new
    assert _rel(h_next, torch.lerp(out_ref, h, zoneout)) < 0.03
    assert torch.equal(out, h_next) == (zoneout == 0.0)


def test_quantize_decoder_returns_a_quantized_copy_and_leaves_the_model_alone():
    model = _model()
    q = quantize_decoder(model)
    assert is_quantized(q) and not is_quantized(model)
    assert isinstance(model.decoder.attention_rnn, ZoneoutLSTMCell)
    assert isinstance(q.decoder.attention_rnn, Int8LSTMCell) and isinstance(q.decoder.decoder_rnn, Int8LSTMCell)
    assert "int8" in repr(q.decoder.decoder_rnn)
    same = quantize_decoder(model, inplace=True)
    assert same is model and is_quantized(model)


def test_int8_inference_is_close_to_fp32():
    """Prenet dropout off, so both runs see the same inputs: only int8 rounding differs."""
    model = _model(seed=1)
    model.decoder.prenet.dropout_in_eval = False
    q = quantize_decoder(model)
    text = torch.randint(2, model.cfg.text.n_symbols, (2, 30))
    text[:, -1] = 1
    with torch.no_grad():
        ref = model.inference(text, max_decoder_steps=40, stop_on_gate=False)
        out = q.inference(text, max_decoder_steps=40, stop_on_gate=False)
    assert out["mel_postnet"].shape == ref["mel_postnet"].shape == (2, 40 * model.cfg.model.r, model.cfg.audio.n_mels)
    assert _rel(out["mel_postnet"], ref["mel_postnet"]) < 0.05
    assert (out["alignments"] - ref["alignments"]).abs().max() < 0.05
    assert torch.allclose(out["alignments"].sum(-1), torch.ones(2, 40), atol=1e-5)


def test_int8_inference_on_a_string_with_dropout_like_the_fp32_model():
    q = quantize_decoder(_model())
    torch.manual_seed(0)
    out = q.inference("Meet me at two oak street.", max_decoder_steps=20)
    assert out["mel_postnet"].shape[0] == 1 and out["mel_postnet"].shape[-1] == q.cfg.audio.n_mels
    assert out["stop_reason"][0] in ("gate", "max_steps")


def test_int8_model_refuses_training():
    q = quantize_decoder(_model())
    with pytest.raises(RuntimeError, match="inference only"):
        q.train()
    with pytest.raises(RuntimeError, match="inference only"):
        q.decoder.attention_rnn(torch.zeros(1, q.decoder.attention_rnn.input_size), (torch.zeros(1, 256), torch.zeros(1, 256)), keep=torch.zeros(2, 1, 256, dtype=torch.bool))


def test_quantize_decoder_rejects_what_it_cannot_quantize():
    with pytest.raises(TypeError, match="attention_rnn"):
        quantize_decoder(nn.Linear(3, 3))
    with pytest.raises(TypeError, match="nn.LSTMCell"):
        Int8LSTMCell(nn.Linear(3, 3))
    q = quantize_decoder(_model())
    with pytest.raises(TypeError, match="fp32"):
        quantize_decoder(q)  # already int8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to put the model on")
def test_quantize_decoder_says_int8_is_cpu_only():
    with pytest.raises(ValueError, match="CPU"):
        quantize_decoder(_model().cuda())
