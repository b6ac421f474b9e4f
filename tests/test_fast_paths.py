"""The fast training paths against the readable ones they stand in for.

The decoder's teacher-forced loop (tacolib.model.recurrence) and the encoder's
BiLSTM (tacolib.model.encoder.bidirectional_lstm) run on the same model, batch and
seed as the readable loop over ``Decoder.step`` and the packed ``nn.LSTM``; outputs,
losses and every parameter's gradient must agree: to 1e-9 in float64 (exact math,
only the order of additions differs) and to float32 rounding in float32 (oneDNN
products on CPU). Padded batches with different lengths, r in {1, 2, 5}, learned
initial states on and off, zoneout and prenet dropout in training (the masks must
be drawn alike), and the eval-mode expectation.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

import tacolib
from tacolib.loss import Tacotron2Loss
from tacolib.masks import lengths_to_mask, make_gate_targets
from tacolib.model import Tacotron2
from tacolib.model.tacotron2 import readable_paths, set_fast_paths
from tacolib.model import onednn
from tacolib.model.encoder import bidirectional_lstm
from tacolib.model.layers import fast_tanh
from tacolib.model.postnet import Postnet
from tacolib.model.onednn import PackedLinear, linear, matmul_tn


def _model(r: int, learn_initial_states: bool = False, dtype=torch.float64, **model):
    cfg = tacolib.get_config("tiny")
    cfg.model = dataclasses.replace(cfg.model, r=r, learn_initial_states=learn_initial_states, **model)
    torch.manual_seed(0)
    net = Tacotron2(cfg).to(dtype)
    if learn_initial_states:  # non-zero starts, so their gradients are tested too
        with torch.no_grad():
            for name in ("h0_att", "c0_att", "h0_dec", "c0_dec"):
                getattr(net.decoder, name).normal_(0.0, 0.5)
    return cfg, net


def _batch(cfg, dtype=torch.float64, text_lengths=(13, 9, 4), mel_lengths=(31, 18, 7), seed=0):
    """A padded batch in the collate layout; every utterance has its own lengths."""
    g = torch.Generator().manual_seed(seed)
    r, n_mels = cfg.model.r, cfg.audio.n_mels
    B, T_in = len(text_lengths), max(text_lengths)
    T_out = -(-max(mel_lengths) // r) * r
    tl, ml = torch.tensor(text_lengths), torch.tensor(mel_lengths)
    text = torch.randint(2, cfg.text.n_symbols, (B, T_in), generator=g) * lengths_to_mask(tl, T_in)
    mask = lengths_to_mask(ml, T_out)
    mel = torch.where(mask[..., None], torch.rand(B, T_out, n_mels, generator=g, dtype=dtype) * 8 - 4, cfg.audio.pad_value)
    gate = make_gate_targets(ml, T_out).to(dtype)
    return {"text": text, "text_lengths": tl, "mel": mel, "mel_lengths": ml, "gate_targets": gate, "mel_mask": mask}


def _run(net, batch, fast: bool, seed: int = 1):
    """Outputs, loss and parameter gradients of one teacher-forced pass (guided attention on)."""
    set_fast_paths(net, fast)
    net.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    out = net(batch)
    loss = Tacotron2Loss(gate_pos_weight=5.0, guided_attention_weight=1.0)(out, batch)["loss"]
    loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in out.items()}, loss.detach(), grads


def _assert_same(a, b, rtol, atol):
    (out_a, loss_a, g_a), (out_b, loss_b, g_b) = a, b
    torch.testing.assert_close(loss_b, loss_a, rtol=rtol, atol=atol)
    # outputs and gradients alike are compared relative to their own scale: the postnet's output of an
    # untrained net reaches ~10, and a value near 0 in it carries rounding of that size (the fast path's
    # channels-last convolutions round differently, by CPU: ~1.7e-5 absolute on an AVX2-only machine)
    assert set(g_a) == set(g_b), f"parameters with a gradient differ: {set(g_a) ^ set(g_b)}"
    pairs = [(f"output {k}", out_a[k], out_b[k]) for k in out_a] + [(f"gradient of {n}", g_a[n], g_b[n]) for n in g_a]
    for what, x_a, x_b in pairs:
        scale = float(x_a.abs().max()) + 1e-30
        torch.testing.assert_close(x_b / scale, x_a / scale, rtol=rtol, atol=atol, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("r", [1, 2, 5])
@pytest.mark.parametrize("learn_initial_states", [False, True])
def test_fast_loop_matches_readable_in_float64(r, learn_initial_states):
    cfg, net = _model(r, learn_initial_states)
    batch = _batch(cfg)
    readable, fast = _run(net, batch, fast=False), _run(net, batch, fast=True)
    _assert_same(readable, fast, rtol=1e-9, atol=1e-11)


def test_fast_loop_matches_readable_in_eval_mode():
    """Eval: zoneout becomes its expectation (lerp by p); prenet dropout stays on, seeded alike."""
    cfg, net = _model(3)
    net.eval()
    batch = _batch(cfg)
    _assert_same(_run(net, batch, fast=False), _run(net, batch, fast=True), rtol=1e-9, atol=1e-11)


def test_fast_loop_without_zoneout_matches_readable():
    cfg, net = _model(2, zoneout=0.0)
    batch = _batch(cfg)
    _assert_same(_run(net, batch, fast=False), _run(net, batch, fast=True), rtol=1e-9, atol=1e-11)


def test_fast_loop_matches_readable_in_float32():
    """float32 with the CPU's oneDNN products: agreement to float32 rounding."""
    cfg, net = _model(5, dtype=torch.float32)
    batch = _batch(cfg, torch.float32, text_lengths=(21, 17, 12, 8), mel_lengths=(60, 44, 35, 20))
    readable, fast = _run(net, batch, fast=False), _run(net, batch, fast=True)
    _assert_same(readable, fast, rtol=1e-4, atol=1e-5)


def test_fast_loop_without_onednn_matches(monkeypatch):
    """The plain-torch products (GPUs, builds without oneDNN) give the same numbers."""
    cfg, net = _model(5, dtype=torch.float32)
    batch = _batch(cfg, torch.float32)
    with_onednn = _run(net, batch, fast=True)
    monkeypatch.setitem(onednn._STATE, "ok", False)
    _assert_same(with_onednn, _run(net, batch, fast=True), rtol=1e-4, atol=1e-5)


def test_decoder_alone_with_a_memory_that_needs_no_gradient():
    """Only some inputs need gradients (a frozen encoder): the backward skips the others."""
    cfg, net = _model(2)
    batch = _batch(cfg)
    memory = torch.randn(3, 13, cfg.model.encoder_embedding_dim, dtype=torch.float64)
    results = []
    for fast in (False, True):
        net.decoder.fast_teacher_forcing = fast
        net.zero_grad(set_to_none=True)
        torch.manual_seed(2)
        out = net.decoder(memory, batch["text_lengths"], batch["mel"])
        (out["mel"].square().mean() + out["alignments"][:, :, 0].sum()).backward()
        results.append({n: p.grad.clone() for n, p in net.decoder.named_parameters() if p.grad is not None})
    assert results[0].keys() == results[1].keys()
    for n in results[0]:
        torch.testing.assert_close(results[1][n], results[0][n], rtol=1e-9, atol=1e-12)


def test_no_grad_forward_matches_and_keeps_no_graph():
    cfg, net = _model(5, dtype=torch.float32)
    batch = _batch(cfg, torch.float32)
    outs = []
    for fast in (False, True):
        net.decoder.fast_teacher_forcing = fast
        torch.manual_seed(3)
        with torch.no_grad():
            outs.append(net(batch))
    assert outs[1]["mel"].grad_fn is None
    for k in outs[0]:
        torch.testing.assert_close(outs[1][k], outs[0][k], rtol=1e-4, atol=1e-5)


def test_autocast_runs_the_recurrence_in_float32():
    cfg, net = _model(5, dtype=torch.float32)
    batch = _batch(cfg, torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(batch)
    loss = out["mel"].float().square().mean() + out["alignments"].float().sum()
    loss.backward()
    assert out["alignments"].dtype == torch.float32
    assert torch.isfinite(net.decoder.attention_rnn.weight_hh.grad).all()
    torch.testing.assert_close(out["alignments"].sum(-1), torch.ones_like(out["alignments"].sum(-1)))


def test_backward_inside_the_autocast_block_matches_backward_outside():
    """PyTorch advises calling backward outside autocast; a script that does not still trains, with the same gradients."""
    grads = []
    for inside in (False, True):
        cfg, net = _model(5, dtype=torch.float32)
        batch = _batch(cfg, torch.float32)
        torch.manual_seed(1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(batch)
            loss = Tacotron2Loss(gate_pos_weight=5.0, guided_attention_weight=1.0)(out, batch)["loss"]
            if inside:
                loss.backward()
        if not inside:
            loss.backward()
        grads.append({n: p.grad for n, p in net.named_parameters() if p.grad is not None})
    assert set(grads[0]) == set(grads[1])
    for n in grads[0]:
        torch.testing.assert_close(grads[1][n], grads[0][n], rtol=0, atol=0, msg=lambda m: f"gradient of {n}: {m}")


def test_unsupported_setups_fall_back_to_the_readable_loop():
    cfg, net = _model(2)
    net.decoder.decoder_rnn.zoneout = 0.2  # differs from the attention LSTM's
    assert "zoneout" in net.decoder.fast_path_blocker()
    batch = _batch(cfg)
    memory = torch.randn(3, 13, cfg.model.encoder_embedding_dim, dtype=torch.float64)
    outs = []
    for fast in (False, True):
        net.decoder.fast_teacher_forcing = fast
        torch.manual_seed(4)
        outs.append(net.decoder(memory, batch["text_lengths"], batch["mel"]))
    for k in outs[0]:
        assert torch.equal(outs[0][k], outs[1][k]), f"{k}: the fallback is not the readable loop"
    net.decoder.decoder_rnn.zoneout = net.decoder.attention_rnn.zoneout
    net.decoder.decoder_rnn.eval()
    assert "train/eval" in net.decoder.fast_path_blocker()


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("train, lengths", [(True, (31, 18, 7)), (True, None), (False, (31, 18, 7))])
def test_time_major_postnet_matches_readable(dtype, tol, train, lengths):
    """The postnet's time-major twin: output, input and weight gradients, BatchNorm's running statistics."""
    torch.manual_seed(0)
    readable = Postnet(80, 32, kernel_size=5, n_convs=5, time_major=False).to(dtype).train(train)
    fast = copy.deepcopy(readable)
    fast.time_major = True
    mel = torch.randn(3, 31, 80, dtype=dtype) * 2
    mel_lengths = None if lengths is None else torch.tensor(lengths)
    g = torch.randn_like(mel)
    results = []
    for net in (readable, fast):
        x = mel.clone().requires_grad_(True)
        torch.manual_seed(5)
        y = net(x, mel_lengths)
        (y * g).sum().backward()
        results.append((y.detach(), x.grad, {n: p.grad for n, p in net.named_parameters()}, dict(net.named_buffers())))
    (y_r, gx_r, gp_r, buf_r), (y_f, gx_f, gp_f, buf_f) = results
    torch.testing.assert_close(y_f, y_r, rtol=tol, atol=tol)
    torch.testing.assert_close(gx_f, gx_r, rtol=tol, atol=tol)
    for n in gp_r:
        scale = float(gp_r[n].abs().max()) + 1e-30
        torch.testing.assert_close(gp_f[n] / scale, gp_r[n] / scale, rtol=tol, atol=tol, msg=lambda m: f"gradient of {n}: {m}")
    for n in buf_r:
        torch.testing.assert_close(buf_f[n], buf_r[n], rtol=tol, atol=tol, msg=lambda m: f"buffer {n}: {m}")
    assert int(buf_f["norms.0.num_batches_tracked"]) == (1 if train else 0)


def test_fast_tanh_is_tanh():
    x = torch.linspace(-12.0, 12.0, 1001, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(fast_tanh(x), torch.tanh(x), rtol=0, atol=1e-15)
    assert torch.autograd.gradcheck(fast_tanh, (x[::50].detach().clone().requires_grad_(True),))
    x32 = torch.randn(10_000) * 4
    assert float((fast_tanh(x32) - torch.tanh(x32)).abs().max()) < 4e-7  # float32 rounding


def test_config_switch_and_readable_paths():
    cfg = tacolib.get_config("tiny")
    model = Tacotron2(cfg)
    assert model.decoder.fast_teacher_forcing is True and model.encoder.fast_lstm is True and model.postnet.time_major is True
    with readable_paths(model):
        assert model.decoder.fast_teacher_forcing is False and model.encoder.fast_lstm is False and model.postnet.time_major is False
    assert model.decoder.fast_teacher_forcing is True and model.encoder.fast_lstm is True and model.postnet.time_major is True
    cfg.model = dataclasses.replace(cfg.model, fast_paths=False)
    model = Tacotron2(cfg)
    assert model.decoder.fast_teacher_forcing is False and model.encoder.fast_lstm is False and model.postnet.time_major is False


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bidirectional_lstm_matches_packed_sequences(dtype):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, batch_first=True, bidirectional=True).to(dtype)
    lengths = torch.tensor([7, 3, 1, 6])
    x = torch.randn(4, 7, 6, dtype=dtype, requires_grad=True)
    g = torch.randn(4, 7, 10, dtype=dtype)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    want = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=7)[0]
    want_grads = torch.autograd.grad(want, [x, *lstm.parameters()], g)
    got = bidirectional_lstm(lstm, x, lengths)
    got_grads = torch.autograd.grad(got, [x, *lstm.parameters()], g)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got, want, **tol)
    assert (got[1, 3:] == 0).all() and (got[2, 1:] == 0).all()
    for a, b in zip(got_grads, want_grads):
        torch.testing.assert_close(a, b, **tol)
    with pytest.raises(ValueError, match="bidirectional"):
        bidirectional_lstm(torch.nn.LSTM(6, 5, batch_first=True), x, lengths)


# ---- the products -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_products_match_torch(dtype):
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(*s, generator=g, dtype=dtype) for s in ((16, 40), (24, 40), (24,)))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    packed = PackedLinear(w, 16)
    torch.testing.assert_close(packed(x), x @ w.t(), **tol)
    torch.testing.assert_close(packed(x, b), x @ w.t() + b, **tol)
    torch.testing.assert_close(packed(x[:, :40]), x @ w.t(), **tol)
    rows = torch.randn(100, 30, generator=g, dtype=dtype)
    torch.testing.assert_close(matmul_tn(rows[:, :24], rows[:, 10:]), rows[:, :24].t() @ rows[:, 10:], **tol)  # strided views
    torch.testing.assert_close(matmul_tn(rows[:, 10:], rows[:, :24]), rows[:, 10:].t() @ rows[:, :24], **tol)
    xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
    bg = b.clone().requires_grad_()
    y = linear(xg.view(2, 8, 40), wg, bg)
    assert y.shape == (2, 8, 24)
    y.square().sum().backward()
    x2, w2, b2 = (t.clone().requires_grad_() for t in (x, w, b))
    torch.nn.functional.linear(x2, w2, b2).square().sum().backward()
    for got, want in ((xg.grad, x2.grad), (wg.grad, w2.grad), (bg.grad, b2.grad)):
        torch.testing.assert_close(got, want, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


def test_a_decoder_with_its_own_step_or_boxes_runs_the_readable_loop():
    """The fast twin computes tacolib's own step: a learner's step or swapped-in box must be what runs."""
    from tacolib.model.attention import LocationSensitiveAttention
    from tacolib.model.decoder import Decoder

    cfg, net = _model(2)
    batch = _batch(cfg)
    memory = torch.randn(3, 13, cfg.model.encoder_embedding_dim, dtype=torch.float64)
    calls = []

    class LearnersDecoder(Decoder):
        def step(self, *args, **kwargs):
            calls.append(1)
            return super().step(*args, **kwargs)

    class LearnersAttention(LocationSensitiveAttention):
        def forward(self, *args, **kwargs):
            calls.append(2)
            return super().forward(*args, **kwargs)

    assert net.decoder.fast_path_blocker() is None
    net.decoder.__class__ = LearnersDecoder
    assert "LearnersDecoder.step" in net.decoder.fast_path_blocker()
    net.decoder(memory, batch["text_lengths"], batch["mel"])
    assert len(calls) == batch["mel"].shape[1] // 2
    net.decoder.__class__ = Decoder
    net.decoder.attention.__class__ = LearnersAttention
    assert "decoder.attention is a" in net.decoder.fast_path_blocker()
    calls.clear()
    net.decoder(memory, batch["text_lengths"], batch["mel"])
    assert calls == [2] * (batch["mel"].shape[1] // 2)


def test_an_encoder_lstm_that_is_not_nn_lstm_runs_as_given():
    cfg, net = _model(2)
    batch = _batch(cfg)
    seen = []
    lstm = net.encoder.lstm

    class LearnersLSTM(torch.nn.LSTM):
        def forward(self, *args, **kwargs):
            seen.append(1)
            return super().forward(*args, **kwargs)

    lstm.__class__ = LearnersLSTM
    net.encoder(batch["text"], batch["text_lengths"])
    assert seen == [1]
