"""Durations from attention and the small non-autoregressive model trained on them."""

from __future__ import annotations

import pytest
import torch

import tacolib
from tacolib.durations import durations_from_alignment, extract_durations, fastspeech_loss, pad_batch, speak, train_fastspeech
from tacolib.model.fastspeech import LengthRegulator, MiniFastSpeech


def test_durations_are_the_attention_mass_and_add_up_to_the_recording():
    hard = torch.eye(4).repeat_interleave(2, 0)  # 8 steps, two on each symbol
    assert durations_from_alignment(hard, 40, 5).tolist() == [10, 10, 10, 10]
    assert durations_from_alignment(hard, 38, 5).sum() == 38  # the last step was only partly real
    half = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])  # mass 0.5, 1, 0.5 -> 2.5, 5, 2.5 frames
    d = durations_from_alignment(half, 10, 5)
    assert d.sum() == 10 and ((d - torch.tensor([2.5, 5, 2.5])).abs() <= 1).all()  # rounding the running sum: within a frame
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        a = torch.softmax(torch.randn(13, 9, generator=g) * 3, 1)
        L = int(torch.randint(61, 66, (1,), generator=g))
        d = durations_from_alignment(a, L, 5)
        assert d.sum() == L and (d >= 0).all()
    with pytest.raises(ValueError, match=r"\(T_dec, T_in\)"):
        durations_from_alignment(torch.zeros(3), 5, 1)


def test_length_regulator_repeats_each_symbol_and_says_where_a_frame_sits():
    h = torch.tensor([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [0.0]]])  # (2, 3, 1)
    frames, pos, lengths = LengthRegulator()(h, torch.tensor([[2, 0, 3], [1, 1, 0]]))
    assert lengths.tolist() == [5, 2] and frames.shape == (2, 5, 1)
    assert frames[0, :, 0].tolist() == [1, 1, 3, 3, 3] and frames[1, :, 0].tolist() == [4, 5, 0, 0, 0]
    assert pos[0].tolist() == pytest.approx([0, 0.5, 0, 1 / 3, 2 / 3])


def test_the_model_uses_given_durations_and_ignores_padding():
    torch.manual_seed(0)
    m = MiniFastSpeech(20, n_mels=8, d=16, n_layers=2).eval()
    text = torch.tensor([[3, 4, 5], [6, 7, 0]])
    out = m(text, torch.tensor([3, 2]), torch.tensor([[1, 2, 3], [2, 2, 9]]))  # the 9 is on padding
    assert out["mel"].shape == (2, 6, 8) and out["mel_lengths"].tolist() == [6, 4]
    alone = m(text[1:, :2], torch.tensor([2]), torch.tensor([[2, 2]]))
    assert torch.allclose(alone["mel"][0], out["mel"][1, :4], atol=1e-5)  # batching and padding change nothing


def test_it_learns_a_small_corpus():
    from tacolib.data import TTSDataset, corpus_by_name

    cfg = tacolib.get_config("tiny")
    ds = TTSDataset(corpus_by_name("tinyspeech"), cfg, split="train")
    items = [ds[i] for i in range(4)]
    dur = {"indices": list(range(4)), "durations": [torch.full((len(it["tokens"]),), 0) for it in items]}
    for it, d in zip(items, dur["durations"]):  # even durations, summing to the recording
        L, n = it["mel"].shape[0], len(it["tokens"])
        d += L // n
        d[-1] += L - int(d.sum())
    torch.manual_seed(0)
    nar = MiniFastSpeech.from_config(cfg, d=32, n_layers=2)
    batch = pad_batch([{**it, "durations": d} for it, d in zip(items, dur["durations"])], cfg.audio.pad_value)
    with torch.no_grad():
        before = float(fastspeech_loss(nar(batch["text"], batch["text_lengths"], batch["durations"]), batch)["loss"])
    hist = train_fastspeech(nar, ds, dur, steps=60, batch_size=4, lr=3e-3, progress=False)
    assert hist[-1]["loss"] < 0.5 * before and hist[-1]["duration"] < hist[0]["duration"]
    mels = speak(nar, [it["tokens"] for it in items[:2]])
    assert [m.shape[1] for m in mels] == [80, 80] and all(m.shape[0] >= 1 for m in mels)


def test_extract_durations_from_a_model(tmp_path):
    from tacolib.data import TTSDataset, corpus_by_name
    from tacolib.model import Tacotron2

    cfg = tacolib.get_config("tiny")
    ds = TTSDataset(corpus_by_name("tinyspeech"), cfg, split="test")
    out = extract_durations(Tacotron2(cfg), ds, indices=[0, 2], batch_size=2, progress=False)
    assert out["indices"] == [0, 2] and 0 < out["focus"] <= 1
    for j, d in zip(out["indices"], out["durations"]):
        assert len(d) == len(ds[j]["tokens"]) and int(d.sum()) == ds[j]["mel"].shape[0]
