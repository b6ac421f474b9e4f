"""Behaviour of the Tacotron 2 boxes (tacolib.model) on the tiny preset.

Shapes at batch 1 and > 1, masking (padding gets no attention and cannot change an
utterance's output), gradient flow, zoneout and prenet-dropout semantics, the fast
inference loop against the readable step, causality of teacher forcing, stop
handling and bad input.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn as nn

import tacolib
from tacolib.model import (
    Decoder,
    Encoder,
    LocationSensitiveAttention,
    Postnet,
    Prenet,
    Tacotron2,
    ZoneoutLSTMCell,
)
from tacolib.masks import lengths_to_mask
from tacolib.text import TextWarning


def _cfg(r: int = 3, **model):
    cfg = tacolib.get_config("tiny")
    cfg.model = dataclasses.replace(cfg.model, r=r, **model)
    return cfg


def _random_batch(cfg, text_lengths=(13, 9, 4), mel_lengths=(24, 18, 7), seed=0):
    """A padded batch with the collate layout, from random ids and mels."""
    g = torch.Generator().manual_seed(seed)
    r, n_mels, pad = cfg.model.r, cfg.audio.n_mels, cfg.audio.pad_value
    B, T_in = len(text_lengths), max(text_lengths)
    T_out = -(-max(mel_lengths) // r) * r
    text = torch.zeros(B, T_in, dtype=torch.long)
    mel = torch.full((B, T_out, n_mels), pad)
    for b, (ti, to) in enumerate(zip(text_lengths, mel_lengths)):
        text[b, : ti - 1] = torch.randint(2, cfg.text.n_symbols, (ti - 1,), generator=g)
        text[b, ti - 1] = 1  # EOS
        mel[b, :to] = torch.rand(to, n_mels, generator=g) * 8 - 4
    mel_lengths = torch.tensor(mel_lengths)
    mask = lengths_to_mask(mel_lengths, T_out)
    gate = (torch.arange(T_out)[None] >= (mel_lengths[:, None] - 1)).float()
    return {"text": text, "text_lengths": torch.tensor(text_lengths), "mel": mel, "mel_lengths": mel_lengths, "gate_targets": gate, "mel_mask": mask}


def _espeak_batch(cfg, texts=("Hello there.", "A cat.")):
    """A real batch: espeak-ng speech -> scaled mels, text -> ids (no tacolib.data needed)."""
    from tacolib import audio, espeak
    from tacolib.text import text_to_ids

    ids = [text_to_ids(t) for t in texts]
    mels = [audio.mel_spectrogram(torch.from_numpy(espeak.synthesize(t)[0]), cfg.audio) for t in texts]
    r = cfg.model.r
    T_out = -(-max(m.shape[0] for m in mels) // r) * r
    text = torch.zeros(len(texts), max(len(i) for i in ids), dtype=torch.long)
    mel = torch.full((len(texts), T_out, cfg.audio.n_mels), cfg.audio.pad_value)
    for b, (i, m) in enumerate(zip(ids, mels)):
        text[b, : len(i)] = i
        mel[b, : m.shape[0]] = m
    return {"text": text, "text_lengths": torch.tensor([len(i) for i in ids]), "mel": mel, "mel_lengths": torch.tensor([m.shape[0] for m in mels])}


def _select(batch, b):
    """Utterance ``b`` alone, cropped to its own lengths (rounded up to r for the mel)."""
    ti = int(batch["text_lengths"][b])
    return {"text": batch["text"][b : b + 1, :ti], "text_lengths": batch["text_lengths"][b : b + 1], "mel_lengths": batch["mel_lengths"][b : b + 1]}


# ---- shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("r", [1, 3])
@pytest.mark.parametrize("lengths", [((11,), (20,)), ((13, 9, 4), (24, 18, 7))])
def test_forward_shapes(r, lengths):
    cfg = _cfg(r=r)
    batch = _random_batch(cfg, *lengths)
    B, T_in = batch["text"].shape
    T_out = batch["mel"].shape[1]
    out = Tacotron2(cfg)(batch)
    assert set(out) == {"mel", "mel_postnet", "gate_logits", "alignments"}
    assert out["mel"].shape == out["mel_postnet"].shape == (B, T_out, cfg.audio.n_mels)
    assert out["gate_logits"].shape == (B, T_out)
    assert out["alignments"].shape == (B, T_out // r, T_in)
    assert all(torch.isfinite(v).all() for v in out.values())


@pytest.mark.parametrize("B", [1, 3])
def test_module_shapes(B):
    cfg = _cfg()
    m = cfg.model
    T_in, d_enc = 10, m.encoder_embedding_dim
    lengths = torch.tensor([10, 6, 3][:B])
    text = torch.randint(2, 30, (B, T_in)) * lengths_to_mask(lengths, T_in)
    memory = Encoder.from_config(cfg)(text, lengths)
    assert memory.shape == (B, T_in, d_enc)
    assert (memory[~lengths_to_mask(lengths, T_in)] == 0).all()

    att = LocationSensitiveAttention(m.attention_rnn_dim, d_enc, m.attention_dim, m.attention_location_n_filters, m.attention_location_kernel_size)
    pm = att.process_memory(memory)
    assert pm.shape == (B, T_in, m.attention_dim)
    context, w = att(torch.randn(B, m.attention_rnn_dim), memory, pm, torch.rand(B, 2, T_in), lengths_to_mask(lengths, T_in))
    assert context.shape == (B, d_enc) and w.shape == (B, T_in)
    torch.testing.assert_close(w.sum(1), torch.ones(B))

    assert Prenet(80, [m.prenet_dim, m.prenet_dim])(torch.randn(B, 7, 80)).shape == (B, 7, m.prenet_dim)
    cell = ZoneoutLSTMCell(5, 8, 0.1)
    o, (h, c) = cell(torch.randn(B, 5), (torch.zeros(B, 8), torch.zeros(B, 8)))
    assert o.shape == h.shape == c.shape == (B, 8)
    assert Postnet.from_config(cfg)(torch.randn(B, 12, 80)).shape == (B, 12, 80)

    dec = Decoder.from_config(cfg)
    out = dec(memory, lengths, torch.randn(B, 12, 80))
    assert out["mel"].shape == (B, 12, 80) and out["gate_logits"].shape == (B, 12) and out["alignments"].shape == (B, 4, T_in)


def test_real_espeak_batch_runs():
    cfg = _cfg()
    batch = _espeak_batch(cfg)
    out = Tacotron2(cfg)(batch)
    assert out["alignments"].shape == (2, batch["mel"].shape[1] // cfg.model.r, batch["text"].shape[1])


def test_paper_preset_has_about_28M_parameters(paper_cfg):
    n = sum(p.numel() for p in Tacotron2(paper_cfg).parameters())
    assert 27e6 < n < 29.5e6, n


def test_t_out_must_be_multiple_of_r():
    cfg = _cfg(r=3)
    batch = _random_batch(cfg)
    batch["mel"] = batch["mel"][:, :-1]
    with pytest.raises(ValueError, match="multiple of r"):
        Tacotron2(cfg)(batch)


# ---- masking -----------------------------------------------------------------------


def test_padded_positions_get_zero_attention():
    cfg = _cfg()
    batch = _random_batch(cfg)
    model = Tacotron2(cfg)
    a = model(batch)["alignments"]  # (B, T_dec, T_in)
    pad = ~lengths_to_mask(batch["text_lengths"], a.shape[2])  # (B, T_in)
    assert (a.masked_select(pad[:, None, :].expand_as(a)) == 0).all()
    torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:2]))
    model.eval()
    out = model.inference(batch["text"], batch["text_lengths"], max_decoder_steps=5, stop_on_gate=False)
    ai = out["alignments"]
    assert (ai.masked_select(pad[:, None, :].expand_as(ai)) == 0).all()


@pytest.mark.parametrize("r", [1, 3])
def test_output_does_not_depend_on_batch_mates(r):
    """Eval mode (prenet dropout off for determinism): alone == batched with longer ones."""
    cfg = _cfg(r=r)
    batch = _random_batch(cfg)
    model = Tacotron2(cfg)
    # BatchNorm statistics that are not the identity, so eval mode is a real test
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm1d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    model.eval()
    model.decoder.prenet.dropout_in_eval = False
    full = model(batch)
    b = 2  # the shortest utterance
    one = _select(batch, b)
    T_out = -(-int(one["mel_lengths"]) // r) * r
    one["mel"] = batch["mel"][b : b + 1, :T_out]
    alone = model(one)
    T_in = int(one["text_lengths"])
    n = int(one["mel_lengths"])
    torch.testing.assert_close(full["mel"][b, :n], alone["mel"][0, :n])
    torch.testing.assert_close(full["mel_postnet"][b, :n], alone["mel_postnet"][0, :n])
    torch.testing.assert_close(full["gate_logits"][b, :n], alone["gate_logits"][0, :n])
    torch.testing.assert_close(full["alignments"][b, : T_out // r, :T_in], alone["alignments"][0])
    # free-running inference too
    torch.manual_seed(0)
    inf_full = model.inference(batch["text"], batch["text_lengths"], max_decoder_steps=6, stop_on_gate=False)
    inf_one = model.inference(one["text"], max_decoder_steps=6, stop_on_gate=False)
    torch.testing.assert_close(inf_full["mel_postnet"][b], inf_one["mel_postnet"][0])


# ---- training signal -----------------------------------------------------------------


@pytest.mark.parametrize("learn_initial_states", [False, True])
def test_gradient_reaches_every_parameter(learn_initial_states):
    cfg = _cfg(learn_initial_states=learn_initial_states)
    batch = _random_batch(cfg)
    model = Tacotron2(cfg)
    out = model(batch)
    loss = out["mel"].square().mean() + out["mel_postnet"].square().mean() + out["gate_logits"].square().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    # the padding row of the embedding is frozen by design
    missing = [n for n in missing if n != "encoder.embedding.weight"]
    assert not missing, f"no gradient reaches {missing}"
    assert model.encoder.embedding.weight.grad[0].abs().sum() == 0
    if learn_initial_states:
        assert {"decoder.h0_att", "decoder.c0_att", "decoder.h0_dec", "decoder.c0_dec"} <= {n for n, _ in model.named_parameters()}


def test_teacher_forcing_is_causal():
    """Step t sees only frames of earlier steps: changing frames from step k on leaves steps < k+1 alone."""
    cfg = _cfg(r=3)
    batch = _random_batch(cfg, (9,), (24,))
    model = Tacotron2(cfg).eval()
    model.decoder.prenet.dropout_in_eval = False
    a = model(batch)
    k = 4  # frames of steps >= 4 changed; step 4's input is the last frame of step 3 (frame 11)
    batch2 = dict(batch, mel=batch["mel"].clone())
    batch2["mel"][:, k * 3 :] += 1.0
    b = model(batch2)
    torch.testing.assert_close(a["mel"][:, : (k + 1) * 3], b["mel"][:, : (k + 1) * 3])
    assert not torch.allclose(a["mel"][:, (k + 1) * 3 :], b["mel"][:, (k + 1) * 3 :])
    # and the last frame of a group is the one that matters
    batch3 = dict(batch, mel=batch["mel"].clone())
    batch3["mel"][:, 3 * k - 1] += 1.0
    c = model(batch3)
    assert not torch.allclose(a["mel"][:, 3 * k : 3 * (k + 1)], c["mel"][:, 3 * k : 3 * (k + 1)])


def test_xavier_init_uses_the_right_gains():
    model = Tacotron2(_cfg())

    def bound(w, nonlinearity):
        fan_out, fan_in = w.shape[0], w[0].numel()
        if w.dim() == 3:
            fan_out = w.shape[0] * w.shape[2]
        return nn.init.calculate_gain(nonlinearity) * (6.0 / (fan_in + fan_out)) ** 0.5

    cases = {
        "encoder.convs.0.weight": "relu",
        "decoder.prenet.layers.0.weight": "relu",
        "decoder.attention.query_layer.weight": "tanh",
        "decoder.attention.v.weight": "linear",
        "decoder.mel_proj.weight": "linear",
        "decoder.gate.weight": "sigmoid",
        "postnet.convs.0.weight": "tanh",
        "postnet.convs.4.weight": "linear",
    }
    params = dict(model.named_parameters())
    for name, nl in cases.items():
        w = params[name].detach()
        lim = bound(w, nl)
        assert w.abs().max() <= lim + 1e-6, name
        if w.numel() >= 1000:  # a uniform sample of this size reaches near its bound
            assert w.abs().max() > 0.95 * lim, name
            assert abs(float(w.std()) - lim / 3**0.5) < 0.05 * lim, name


def test_default_init_is_pytorchs_own_and_leaves_the_rest_alone():
    """``model.init = "default"``: each linear/conv/embedding weight as its PyTorch constructor draws it."""
    xavier = dict(Tacotron2(_cfg()).named_parameters())
    torch.manual_seed(0)
    default = dict(Tacotron2(_cfg(init="default")).named_parameters())
    for name in ("decoder.prenet.layers.0.weight", "decoder.mel_proj.weight", "postnet.convs.0.weight"):
        w = default[name].detach()
        fan_in = w[0].numel()
        assert w.abs().max() <= fan_in**-0.5 + 1e-6, name  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        assert w.abs().max() > 0.95 * fan_in**-0.5, name
    emb = default["encoder.embedding.weight"].detach()
    assert abs(float(emb[1:].std()) - 1.0) < 0.1 and float(xavier["encoder.embedding.weight"].detach().std()) < 0.2  # N(0, 1) vs Xavier
    assert torch.count_nonzero(emb[0]) == 0  # the padding row stays zero
    assert default["decoder.mel_proj.bias"].abs().max() > 0 and xavier["decoder.mel_proj.bias"].abs().max() == 0
    assert default.keys() == xavier.keys()
    with pytest.raises(ValueError, match="cfg.model.init"):
        Tacotron2(_cfg(init="kaiming"))


def test_encoder_conv_block_is_norm_before_relu():
    enc = Encoder(20, embedding_dim=8, encoder_dim=8, n_convs=1, dropout=0.0).eval()
    x = torch.randn(3, 8, 11)
    conv, norm = enc.convs[0], enc.norms[0]
    torch.testing.assert_close(enc.conv_block(x, conv, norm), torch.relu(norm(conv(x))))


# ---- zoneout and prenet ---------------------------------------------------------------


def test_zoneout_eval_output_is_plain_lstm_and_state_is_expectation():
    cell = ZoneoutLSTMCell(6, 10, zoneout=0.1).eval()
    plain = nn.LSTMCell(6, 10)
    plain.load_state_dict(cell.state_dict())
    x, h, c = torch.randn(4, 6), torch.randn(4, 10), torch.randn(4, 10)
    out, (h2, c2) = cell(x, (h, c))
    h_ref, c_ref = plain(x, (h, c))
    torch.testing.assert_close(out, h_ref)
    torch.testing.assert_close(h2, 0.9 * h_ref + 0.1 * h)
    torch.testing.assert_close(c2, 0.9 * c_ref + 0.1 * c)
    out_b, _ = cell(x, (h, c))
    torch.testing.assert_close(out, out_b)  # deterministic in eval


def test_zoneout_training_keeps_previous_units_at_rate_p():
    cell = ZoneoutLSTMCell(6, 1000, zoneout=0.1).train()
    plain = nn.LSTMCell(6, 1000)
    plain.load_state_dict(cell.state_dict())
    x, h, c = torch.randn(8, 6), torch.randn(8, 1000), torch.randn(8, 1000)
    out, (h2, c2) = cell(x, (h, c))
    h_new, c_new = plain(x, (h, c))
    torch.testing.assert_close(out, h_new)  # the output is never zoned out
    kept_h, new_h = torch.isclose(h2, h), torch.isclose(h2, h_new)
    assert (kept_h | new_h).all()  # each unit is either the old or the new value
    assert 0.08 < kept_h.float().mean() < 0.12
    assert 0.08 < torch.isclose(c2, c).float().mean() < 0.12


def test_prenet_dropout_is_active_in_eval():
    prenet = Prenet(80, [64, 64], 0.5).eval()
    x = torch.rand(4, 80)
    a, b = prenet(x), prenet(x)
    assert not torch.equal(a, b)
    frac_zero = (prenet(torch.rand(64, 80)) == 0).float().mean()
    assert frac_zero > 0.5  # ReLU zeros plus dropout's half
    prenet.dropout_in_eval = False
    torch.testing.assert_close(prenet(x), prenet(x))


def test_inference_is_random_through_prenet_dropout_only():
    cfg = _cfg()
    model = Tacotron2(cfg).eval()
    a = model.inference("hello", max_decoder_steps=5, stop_on_gate=False)["mel"]
    b = model.inference("hello", max_decoder_steps=5, stop_on_gate=False)["mel"]
    assert not torch.equal(a, b)
    model.decoder.prenet.dropout_in_eval = False
    a = model.inference("hello", max_decoder_steps=5, stop_on_gate=False)["mel"]
    b = model.inference("hello", max_decoder_steps=5, stop_on_gate=False)["mel"]
    torch.testing.assert_close(a, b)


# ---- inference -------------------------------------------------------------------------


@pytest.mark.parametrize("r", [1, 3])
def test_fast_inference_loop_matches_readable_step(r):
    """Decoder.inference (fused, preallocated) == a loop over Decoder.step feeding back its output."""
    cfg = _cfg(r=r)
    model = Tacotron2(cfg).eval()
    model.decoder.prenet.dropout_in_eval = False
    batch = _random_batch(cfg)
    dec = model.decoder
    steps = 7
    with torch.no_grad():
        memory = model.encoder(batch["text"], batch["text_lengths"])
        fast = dec.inference(memory, batch["text_lengths"], max_decoder_steps=steps, stop_on_gate=False)
        pm = dec.attention.process_memory(memory)
        mask = lengths_to_mask(batch["text_lengths"])
        state, frame, frames, aligns = dec.initial_state(memory), dec.go_frame(memory), [], []
        for _ in range(steps):
            f, g, w, state = dec.step(dec.prenet(frame), state, memory, pm, mask)
            frames.append(f)
            aligns.append(w)
            frame = f[:, -cfg.audio.n_mels :]
    B = memory.shape[0]
    torch.testing.assert_close(fast["mel"], torch.stack(frames, 1).view(B, steps * r, -1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast["alignments"], torch.stack(aligns, 1), rtol=1e-4, atol=1e-5)
    assert fast["lengths"].tolist() == [steps * r] * B and fast["stop_reason"] == ["max_steps"] * B


def test_inference_outputs_and_stop_reasons():
    cfg = _cfg(r=3)
    model = Tacotron2(cfg).eval()
    with torch.no_grad():
        model.decoder.gate.bias.fill_(-50.0)  # never stops
    out = model.inference(["hello there.", "a"], max_decoder_steps=6)
    assert out["stop_reason"] == ["max_steps", "max_steps"]
    assert out["lengths"].tolist() == [18, 18]
    assert out["mel"].shape == out["mel_postnet"].shape == (2, 18, cfg.audio.n_mels)
    assert out["gate_logits"].shape == (2, 18)
    assert out["alignments"].shape[:2] == (2, 6)
    with torch.no_grad():
        model.decoder.gate.bias.copy_(torch.tensor([-50.0, 50.0, 50.0]))  # stops on the 2nd frame of the 1st step
    out = model.inference("hello there.", max_decoder_steps=6)
    assert out["stop_reason"] == ["gate"] and out["lengths"].tolist() == [2]
    assert out["mel"].shape[1] == 3
    assert (out["mel"][0, 2] == cfg.audio.pad_value).all() and (out["mel_postnet"][0, 2] == cfg.audio.pad_value).all()
    # the same text as ids
    from tacolib.text import text_to_ids

    out_ids = model.inference(text_to_ids("hello there."), max_decoder_steps=6)
    assert out_ids["lengths"].tolist() == [2]


@pytest.mark.parametrize(
    "text, match, dropped",
    [("", "empty", None), ("   ", "empty", None), ("\u2603\u2603", "no character", "\u2603"), ("?!", "no character", None),
     ("a " * 400, "max_text_len", None), ([], "empty list", None)],
)
def test_inference_rejects_bad_text(text, match, dropped):
    model = Tacotron2(_cfg()).eval()
    # unreadable characters: first a warning naming what was dropped, then the error
    warned = pytest.warns(TextWarning, match=dropped) if dropped else contextlib.nullcontext()
    with warned, pytest.raises(ValueError, match=match):
        model.inference(text, max_decoder_steps=3)


def test_inference_rejects_bad_ids_and_settings():
    model = Tacotron2(_cfg()).eval()
    with pytest.raises(ValueError, match="all padding"):
        model.inference(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="ids must be in"):
        model.inference(torch.tensor([[3, 999, 1]]))
    with pytest.raises(ValueError, match="gate_threshold"):
        model.inference("hello", gate_threshold=1.5)
    for steps in (0, -3):  # not "use the default": 0 is a mistake, said so (issue 16)
        with pytest.raises(ValueError, match=f"max_decoder_steps must be >= 1, got {steps}"):
            model.inference("hello", max_decoder_steps=steps)
    assert model.inference("hello", max_decoder_steps=1, stop_on_gate=False)["mel"].shape[1] == model.cfg.model.r
    with pytest.raises(ValueError, match="r"):
        Decoder(r=0)


# ---- the notebooks' exercise references are what the library runs ---------------------


def test_exercise_references_agree_with_the_modules():
    from tacolib.checks import model as ref

    cfg = _cfg()
    torch.manual_seed(1)
    # encoder conv block (eval mode)
    enc = Encoder.from_config(cfg).eval()
    conv, norm = enc.convs[0], enc.norms[0]
    norm.running_mean.uniform_(-0.3, 0.3)
    norm.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, conv.in_channels, 11)
    with torch.no_grad():
        torch.testing.assert_close(
            ref.conv_bn_relu(x, conv.weight, norm.running_mean, norm.running_var, norm.weight, norm.bias, norm.eps),
            torch.relu(norm(conv(x))),
        )
    # attention
    m = cfg.model
    att = LocationSensitiveAttention(m.attention_rnn_dim, m.encoder_embedding_dim, m.attention_dim, m.attention_location_n_filters, m.attention_location_kernel_size)
    B, T_in = 2, 9
    memory = torch.randn(B, T_in, m.encoder_embedding_dim)
    prev = torch.softmax(torch.randn(B, T_in), 1)
    cum = prev + torch.softmax(torch.randn(B, T_in), 1)
    q = torch.randn(B, m.attention_rnn_dim)
    mask = lengths_to_mask(torch.tensor([9, 6]), T_in)
    with torch.no_grad():
        loc = ref.location_features(prev, cum, att.location_layer.conv.weight, att.location_layer.dense.weight)
        torch.testing.assert_close(loc, att.location_layer(torch.stack([prev, cum], 1)))
        pm = att.process_memory(memory)
        e = ref.attention_energies(q, pm, loc, att.query_layer.weight, att.v.weight[0])
        torch.testing.assert_close(e, att.energies(q, pm, torch.stack([prev, cum], 1)), rtol=1e-4, atol=1e-5)
        _, w = att(q, memory, pm, torch.stack([prev, cum], 1), mask)
        torch.testing.assert_close(ref.masked_softmax(e, mask), w, rtol=1e-4, atol=1e-6)
    # decoder pieces
    mel = torch.randn(2, 9, 80)
    dec = Decoder.from_config(cfg)
    last = mel.view(2, 3, 3, 80)[:, :-1, -1]
    torch.testing.assert_close(ref.teacher_forcing_inputs(mel, 3), torch.cat([dec.go_frame(memory).unsqueeze(1), last], 1))
    gate = torch.tensor([[-5.0, 1.0, -1.0, 9.0]])
    # the same stop rule as the inference loop: a gate bias that fires on frame 2 of 3 gives length 2
    assert ref.stop_lengths(gate, 0.5).tolist() == [2]


def test_summary_is_generated_from_the_config_and_the_forward_pass():
    from tacolib.model.summary import BOXES, diagram, parameter_counts, trace_shapes

    cfg = _cfg(r=3)
    model = Tacotron2(cfg)
    counts = parameter_counts(model)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    for box in BOXES:
        assert diagram(cfg, box)
    wider = _cfg(r=3, attention_rnn_dim=300)
    assert "LSTMCell 300" in diagram(wider, "decoder") and "LSTMCell 256" in diagram(cfg, "decoder")
    with pytest.raises(ValueError, match="unknown box"):
        diagram(cfg, "vocoder")
    batch = _random_batch(cfg)
    rows = {row["name"]: row for row in trace_shapes(model, batch)}
    T_dec = batch["mel"].shape[1] // 3
    assert rows["decoder.attention_rnn"]["calls"] == T_dec
    assert rows["encoder"]["out_shape"] == (3, batch["text"].shape[1], cfg.model.encoder_embedding_dim)
    assert model.training  # restored
