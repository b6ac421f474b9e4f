"""WaveNet: μ-law, shapes, causality, naive == cached generation, training, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tacolib.vocoder.mulaw import mu_law_decode, mu_law_encode
from tacolib.vocoder.wavenet import (
    WaveNet,
    WaveNetConfig,
    align_audio,
    mol_loss,
    receptive_field,
    wavenet_loss,
)
from tacolib.vocoder.wavenet_generate import CachedWaveNet, generate
from tacolib.vocoder.wavenet_train import train_wavenet

SMALL = dict(n_mels=8, hop_length=16, layers=6, cycles=2, residual_channels=8, gate_channels=12, skip_channels=8, cond_channels=6)


def _model(output="mulaw", **kw):
    torch.manual_seed(0)
    m = WaveNet(WaveNetConfig(output=output, **{**SMALL, **kw})).eval()
    with torch.no_grad():  # non-trivial biases, so that folding them is tested too
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m


# ---- μ-law ---------------------------------------------------------------------------


def test_mu_law_round_trip_and_range():
    x = torch.linspace(-1, 1, 10001)
    q = mu_law_encode(x)
    assert q.dtype == torch.int64 and q.min() == 0 and q.max() == 255
    assert mu_law_encode(torch.zeros(1)).item() == 128
    # quantization error is small near 0 (where speech lives) and larger near +-1
    err = (mu_law_decode(q) - x).abs()
    assert err[np.abs(x.numpy()) < 0.01].max() < 5e-4
    assert err.max() < 0.025  # half a step near +-1: (1 - 256 ** (-2 / 255)) / 2
    # decoding then encoding is exact on every class
    all_q = torch.arange(256)
    assert torch.equal(mu_law_encode(mu_law_decode(all_q)), all_q)
    # numpy in, numpy out; monotone
    qn = mu_law_encode(x.numpy())
    assert isinstance(qn, np.ndarray) and (np.diff(qn) >= 0).all()


def test_mu_law_errors():
    with pytest.raises(TypeError):
        mu_law_encode(torch.arange(3))
    with pytest.raises(ValueError, match="class ids"):
        mu_law_decode(torch.tensor([0, 256]))
    with pytest.raises(ValueError, match="mu"):
        mu_law_encode(torch.zeros(2), mu=0)


# ---- the network ---------------------------------------------------------------------


def test_receptive_field():
    assert receptive_field(2, [1, 2, 4, 8]) == 16
    assert receptive_field(3, [1, 2]) == 7
    assert WaveNet(WaveNetConfig()).receptive_field == 1 + 2 * 255
    assert _model().receptive_field == 1 + (1 + 2 + 4) * 2


@pytest.mark.parametrize("output,n_out", [("mulaw", 256), ("mol", 30)])
def test_forward_shapes_and_loss(output, n_out):
    m = _model(output)
    audio = 0.5 * torch.rand(2, 5 * 16) - 0.25
    mel = torch.randn(2, 5, 8)
    out = m(audio, mel)
    assert out.shape == (2, n_out, 80)
    loss = wavenet_loss(m, out, audio)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())


def test_causal_gradient_test():
    """The output at t must not depend on samples >= t (it predicts sample t)."""
    m = _model()
    m.input = torch.nn.Conv1d(1, 8, 1)  # a float input so that gradients reach the samples
    m.encode_input = lambda a: a
    m.cfg.output = "mol"  # net() now reads float inputs
    audio = torch.randn(1, 64, requires_grad=True)
    mel = torch.randn(1, 4, 8)
    t = 40
    m(audio, mel)[0, :, t].sum().backward()
    g = audio.grad[0].abs()
    assert g[t:].sum() == 0, "the output at t depends on the present or the future"
    assert g[t - 1] > 0, "the output at t should depend on the previous sample"
    rf = m.receptive_field
    assert g[: t - rf].sum() == 0 and g[t - rf] > 0  # exactly rf samples back


def test_conditioning_follows_frames():
    m = _model()
    audio = torch.zeros(1, 4 * 16)
    mel = torch.randn(1, 4, 8)
    base = m(audio, mel)
    mel2 = mel.clone()
    mel2[0, 3] += 1.0  # change the last frame only
    diff = (m(audio, mel2) - base).abs().sum(1)[0]
    assert diff[: 2 * 16].max() < 1e-6  # frames 0-1 see frames <= 2 (conv kernel 3)
    assert diff[3 * 16 :].min() > 0


def test_bad_inputs_raise():
    m = _model()
    with pytest.raises(ValueError, match="align_audio"):
        m(torch.zeros(1, 50), torch.zeros(1, 4, 8))
    with pytest.raises(ValueError, match="n_mels"):
        m(torch.zeros(1, 64), torch.zeros(1, 4, 80))
    with pytest.raises(ValueError, match="n_mels"):
        generate(m, torch.zeros(4, 80))
    with pytest.raises(ValueError, match="method"):
        generate(m, torch.zeros(4, 8), method="fast")
    with pytest.raises(ValueError, match="n_samples"):
        generate(m, torch.zeros(4, 8), n_samples=1000)
    with pytest.raises(ValueError, match="output"):
        WaveNetConfig(output="linear")


# ---- generation ------------------------------------------------------------------------


def test_naive_and_cached_give_identical_samples_mulaw():
    m = _model()
    mel = torch.randn(10, 8)
    a = generate(m, mel, method="naive", seed=3, progress=False)
    b = generate(m, mel, method="cached", seed=3, progress=False)
    assert a.shape == b.shape == (160,)
    assert torch.equal(a, b)
    c = generate(m, mel, method="cached", seed=4, progress=False)
    assert not torch.equal(b, c)


def test_compiled_cached_loop_equals_the_numpy_loop():
    m = _model(layers=8, cycles=2)
    mels = torch.randn(3, 7, 8)
    cw = CachedWaveNet(m)
    fast, plain = cw.generate(mels, seed=5, progress=False), cw.generate(mels, seed=5, progress=False, fast=False)
    assert torch.equal(fast, plain)
    assert torch.equal(fast[:, :50], cw.generate(mels, seed=5, n_samples=50, progress=False))  # n_samples mid-frame


def test_naive_and_cached_agree_mol():
    m = _model("mol")
    mel = torch.randn(6, 8)
    a = generate(m, mel, method="naive", seed=1, progress=False)
    b = generate(m, mel, method="cached", seed=1, progress=False)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    assert a.abs().max() <= 1.0


def test_cached_matches_teacher_forced_distribution():
    """The samples a generator draws are consistent with the forward pass: feeding them
    back teacher-forced, each was an argmax of logits + the same Gumbel noise."""
    from tacolib.vocoder.wavenet_generate import frame_noise

    m = _model()
    mel = torch.randn(1, 3, 8)
    wav = generate(m, mel, method="cached", seed=0, progress=False)  # (1, 48)
    logits = m(wav, mel)[0].T.detach().numpy()  # (48, 256)
    g = np.concatenate([frame_noise(0, f, 16, 1, 256, False)[0][:, 0] for f in range(3)])
    assert torch.equal(mu_law_encode(wav[0]), torch.from_numpy((logits + g).argmax(1)))


def test_batched_generation_naive_equals_cached_and_rows_are_independent():
    m = _model()
    mels = torch.randn(2, 5, 8)
    cached = generate(m, mels, method="cached", seed=0, progress=False)
    naive = generate(m, mels, method="naive", seed=0, progress=False)
    assert cached.shape == naive.shape == (2, 80)
    assert torch.equal(cached, naive)  # the batched cached loop is exact, row by row
    assert not torch.equal(cached[0], cached[1])  # rows get their own mel and noise
    # a row's samples depend on its own mel only: changing row 1's mel leaves row 0 alone
    mels2 = mels.clone()
    mels2[1] = torch.randn(5, 8)
    again = generate(m, mels2, method="cached", seed=0, progress=False)
    assert torch.equal(again[0], cached[0]) and not torch.equal(again[1], cached[1])


# ---- training -------------------------------------------------------------------------


def test_training_reduces_loss_on_a_tone():
    torch.manual_seed(0)
    m = WaveNet(WaveNetConfig(**SMALL))
    t = torch.arange(16 * 40) / 16.0
    wav = 0.5 * torch.sin(2 * np.pi * t / 4.0)  # a period of 4 samples: easy to predict
    mel = torch.zeros(40, 8)
    hist = train_wavenet(m, [wav], [mel], steps=60, batch_size=2, segment_frames=8, lr=1e-2, progress=False)
    assert len(hist["losses"]) == 60 and hist["samples_per_s"] > 0
    assert np.mean(hist["losses"][-5:]) < 0.5 * np.mean(hist["losses"][:5])


def test_train_errors_and_align():
    m = WaveNet(WaveNetConfig(**SMALL))
    with pytest.raises(ValueError, match="as many"):
        train_wavenet(m, [torch.zeros(10)], [], steps=1)
    with pytest.raises(ValueError, match="shorter"):
        train_wavenet(m, [torch.zeros(64)], [torch.zeros(4, 8)], steps=1, segment_frames=8)
    assert align_audio(torch.ones(50), 4, 16).shape == (64,)
    assert align_audio(torch.ones(70), 4, 16).shape == (64,)


def test_training_reduces_loss_mol_output():
    torch.manual_seed(0)
    m = WaveNet(WaveNetConfig(output="mol", n_mixtures=2, **SMALL))
    t = torch.arange(16 * 40) / 16.0
    wav = 0.5 * torch.sin(2 * np.pi * t / 4.0)
    hist = train_wavenet(m, [wav], [torch.zeros(40, 8)], steps=60, batch_size=2, segment_frames=8, lr=1e-2, progress=False)
    assert np.mean(hist["losses"][-5:]) < np.mean(hist["losses"][:5]) - 0.5  # MoL loss is a log-likelihood: falls by nats


def test_mol_loss_prefers_the_right_value():
    params = torch.zeros(1, 3, 1)  # one component: mean 0, log scale 0
    params[0, 2] = -5.0  # sharp
    near = mol_loss(params, torch.zeros(1, 1))
    far = mol_loss(params, torch.full((1, 1), 0.5))
    assert near < far


def test_predicted_mels_with_the_model():
    model_mod = pytest.importorskip("tacolib.model")
    if not hasattr(model_mod, "Tacotron2"):
        pytest.skip("tacolib.model.Tacotron2 has not landed yet")
    from tacolib.vocoder.wavenet_train import predicted_mels

    import tacolib

    cfg = tacolib.get_config("tiny")
    tac = model_mod.Tacotron2(cfg)
    B, T_in, T_out = 2, 7, 3 * cfg.model.r  # teacher forcing needs whole decoder steps of r frames
    batch = {
        "text": torch.randint(2, 20, (B, T_in)),
        "text_lengths": torch.tensor([T_in, T_in - 2]),
        "mel": torch.randn(B, T_out, cfg.audio.n_mels),
        "mel_lengths": torch.tensor([T_out, T_out - 3]),
        "gate_targets": torch.zeros(B, T_out),
        "mel_mask": torch.ones(B, T_out, dtype=torch.bool),
    }
    mels = predicted_mels(tac, batch)
    assert [tuple(m.shape) for m in mels] == [(T_out, cfg.audio.n_mels), (T_out - 3, cfg.audio.n_mels)]
    # ... and a WaveNet trains on them (Tacotron 2's recipe), each aligned to its audio
    wn = WaveNet(WaveNetConfig(**{**SMALL, "n_mels": cfg.audio.n_mels, "hop_length": 16}))
    wavs = [0.1 * torch.randn(int(n) * 16) for n in batch["mel_lengths"]]
    hist = train_wavenet(wn, wavs, mels, steps=2, batch_size=2, segment_frames=8, progress=False)
    assert len(hist["losses"]) == 2 and all(np.isfinite(hist["losses"]))
    assert generate(wn, mels[1], seed=0, progress=False).shape == ((T_out - 3) * 16,)


def test_save_load_and_the_vocoder_object(tmp_path):
    from tacolib.config import get_config
    from tacolib.vocoder.wavenet import load_wavenet, save_wavenet
    from tacolib.vocoder.wavenet_generate import WaveNetVocoder

    m = _model()
    path = save_wavenet(tmp_path / "wn.pt", m)
    m2 = load_wavenet(path)
    mel = torch.randn(3, 8)
    wav = WaveNetVocoder(m, seed=2, progress=False).generate(mel)
    assert torch.equal(wav, generate(m2, mel, seed=2, progress=False)) and wav.shape == (3 * m.cfg.hop_length,)
    assert torch.equal(WaveNetVocoder.load(path, progress=False).generate(mel), generate(m, mel, progress=False))
    with pytest.raises(ValueError, match="the WaveNet expects n_mels=8"):
        WaveNetVocoder.load(path, audio=get_config("tiny").audio)  # a Tacotron that makes 80-channel mels
    with pytest.raises(FileNotFoundError):
        load_wavenet(tmp_path / "missing.pt")
    torch.save({"x": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a WaveNet"):
        load_wavenet(tmp_path / "other.pt")


def test_frame_noise_samples_the_softmax():
    """Gumbel-max with frame_noise draws classes with softmax probabilities."""
    from tacolib.vocoder.wavenet_generate import frame_noise

    p = np.array([0.5, 0.3, 0.15, 0.05], np.float32)
    g = np.concatenate([frame_noise(7, f, 500, 1, 4, False)[0][:, 0] for f in range(8)])  # (4000, 4)
    freq = np.bincount((np.log(p) + g).argmax(1), minlength=4) / len(g)
    np.testing.assert_allclose(freq, p, atol=0.03)
    a, _ = frame_noise(7, 3, 16, 2, 4, False)
    b, _ = frame_noise(7, 3, 16, 2, 4, False)
    assert np.array_equal(a, b) and np.isfinite(a).all()


@pytest.mark.parametrize("kind", ["wavenet", "torch", "pickle"])
def test_a_wavenet_file_that_would_run_code_is_refused(tmp_path, malicious, kind):
    from tacolib.vocoder.wavenet import load_wavenet

    path = malicious(tmp_path / "voc.pt", kind)
    with pytest.raises(ValueError) as err:
        load_wavenet(path)
    assert not malicious.marker.exists(), "loading ran the file's code"
    msg = str(err.value)
    assert "\n" not in msg and "voc.pt" in msg and "only if you trust" in msg


def test_a_wavenet_file_with_a_malformed_config_or_weights_names_the_file(tmp_path):
    from tacolib.vocoder.wavenet import load_wavenet, save_wavenet

    torch.save({"wavenet_config": {"layerz": 3}, "state_dict": {}}, tmp_path / "cfg.pt")
    with pytest.raises(ValueError, match=r"cfg.pt.*layerz"):
        load_wavenet(tmp_path / "cfg.pt")
    path = save_wavenet(tmp_path / "w.pt", _model())
    state = torch.load(path, weights_only=True)
    state["state_dict"].popitem()
    torch.save(state, tmp_path / "w2.pt")
    with pytest.raises(ValueError, match=r"w2.pt.*weights do not fit") as err:
        load_wavenet(tmp_path / "w2.pt")
    assert "\n" not in str(err.value)


# ---- the cached one-sample update of notebook 11 (its plain-function form) ---------------------------


def test_the_layer_step_is_a_column_of_the_layer():
    """layer_step, run sample by sample with a queue, computes what CausalDilatedLayer.forward computes at once."""
    from tacolib.checks.wavenet import layer_step
    from tacolib.vocoder.wavenet import CausalDilatedLayer

    torch.manual_seed(3)
    for d, has_res in ((1, True), (5, True), (2, False)):
        layer = CausalDilatedLayer(4, 6, 5, 3, d, has_residual=has_res)
        x, c = torch.randn(2, 4, 13), torch.randn(2, 6, 13)
        with torch.no_grad():
            x_next, skip = layer(x, c)
            queue = [torch.zeros(2, 4) for _ in range(d)]
            cols = [layer_step(layer, x[:, :, t], c[:, :, t], queue) for t in range(13)]
        torch.testing.assert_close(torch.stack([s for _, s in cols], -1), skip, atol=1e-5, rtol=1e-5)
        if has_res:
            torch.testing.assert_close(torch.stack([n for n, _ in cols], -1), x_next, atol=1e-5, rtol=1e-5)
        else:
            assert x_next is None and all(n is None for n, _ in cols)
        torch.testing.assert_close(torch.stack(queue), x[:, :, -d:].permute(2, 0, 1))  # the last d inputs, oldest first


def test_a_generator_built_on_the_layer_step_draws_the_cached_generators_samples():
    from tacolib.checks.wavenet import generate_with, layer_step

    m = _model()
    mel = torch.randn(5, SMALL["n_mels"])
    n = 3 * SMALL["hop_length"] + 5  # across frame boundaries
    ours = generate_with(layer_step, m, mel, n, seed=4)
    assert torch.equal(ours, CachedWaveNet(m).generate(mel[None], seed=4, n_samples=n, progress=False)[0])
    with pytest.raises(ValueError, match="μ-law"):
        generate_with(layer_step, _model("mol"), mel, 4)
