"""Long inputs: the attention window at inference, joining held-out sentences, the length sweep."""

from __future__ import annotations

import pytest
import torch

import tacolib
from tacolib.longform import decode, join_items, length_sweep, speak_sentences, split_sentences
from tacolib.model import Tacotron2
from tacolib.symbols import EOS_ID, SYMBOL_TO_ID


@pytest.fixture(scope="module")
def model():
    tacolib.setup(seed=0, threads=1)
    cfg = tacolib.get_config("tiny").override(["model.max_decoder_steps=40", "text.max_text_len=50"])
    return Tacotron2(cfg).eval()


def _infer(model, ids, window, seed=0):
    torch.manual_seed(seed)
    return model.inference(ids, max_decoder_steps=30, stop_on_gate=False, attention_window=window)


def test_the_window_keeps_attention_near_the_furthest_point_read(model):
    ids = torch.randint(2, 39, (2, 40))
    free = _infer(model, ids, 0)["alignments"]  # (B, T_dec, T_in)
    win = _infer(model, ids, 2)["alignments"]
    furthest = torch.zeros(2, dtype=torch.long)
    for t in range(win.shape[1]):
        pos = torch.arange(40)[None, :]
        outside = (pos - furthest[:, None]).abs() > 2
        assert float(win[:, t][outside].abs().max()) == 0.0, t
        assert torch.allclose(win[:, t].sum(1), torch.ones(2))
        furthest = torch.maximum(furthest, win[:, t].argmax(1))
    assert not torch.allclose(free, win)  # an untrained attention wanders outside any window
    # a window wider than the text changes nothing; 0 is off
    wide = _infer(model, ids, 40)
    assert torch.equal(wide["alignments"], free) and torch.equal(wide["mel_postnet"], _infer(model, ids, 0)["mel_postnet"])
    with pytest.raises(ValueError, match="attention_window must be >= 0"):
        _infer(model, ids, -1)


def test_join_items_reads_sentences_one_after_another(model):
    def item(text):
        ids = [SYMBOL_TO_ID[c] for c in text] + [EOS_ID]
        return {"tokens": torch.tensor(ids), "mel": torch.full((len(text) * 3, 80), float(len(text))), "text": text}

    j = join_items([item("ab."), item("c.")], model.cfg)
    assert [tacolib.text.ids_to_text(j["tokens"], strip=False)] == ["ab. c.~"]
    assert j["mel"].shape == (15, 80) and j["parts"] == [3, 2] and j["text"] == "ab. c."
    assert split_sentences("One. Two?  Three! four") == ["One.", "Two?", "Three!", "four"]


def test_decode_lifts_the_length_limit_for_the_call_only(model):
    long = torch.randint(2, 39, (120,))  # over text.max_text_len = 50
    with pytest.raises(ValueError, match="max_text_len"):
        model.inference(long[None], max_decoder_steps=2)
    out = decode(model, [long, long[:10]], attention_window=3, max_steps=[4, 4])
    assert [o["alignment"].shape[1] for o in out] == [120, 10] and all(1 <= o["length"] <= 20 for o in out)
    assert model.cfg.text.max_text_len == 50


def test_length_sweep_measures_every_factor(model):
    from tacolib.data import TTSDataset, corpus_by_name

    import copy

    ds = TTSDataset(corpus_by_name("tinyspeech"), model.cfg, split="test")
    mute = copy.deepcopy(model)
    with torch.no_grad():
        mute.decoder.gate.bias.fill_(-1e3)  # a stop token that never fires
    res = length_sweep(mute, ds, factors=(1, 2), groups=2, slack=0.2)
    assert set(res) == {1, 2}
    for k, r in res.items():
        assert len(r["items"]) == 2 and 0 <= r["focus"] <= 1 and 0 <= r["coverage"] <= 1
        assert r["never_stopped"] == 1.0 and r["signed_error"] < 0  # cut at 0.2 x the reference: it never stopped
        first = r["items"][0]
        assert first["true_length"] == sum(int(ds[j]["mel"].shape[0]) for j in range(k))
    split = length_sweep(mute, ds, factors=(2,), groups=1, split=True, slack=0.2)
    assert split[2]["items"][0]["alignment"] is None and split[2]["items"][0]["mel"].shape[0] == split[2]["items"][0]["length"]
    with torch.no_grad():
        mute.decoder.gate.bias.fill_(1e3)  # now it stops at once
    quick = length_sweep(mute, ds, factors=(4,), groups=1)
    assert quick[4]["never_stopped"] == 0.0 and quick[4]["items"][0]["length"] == 1 and quick[4]["stop_ok"] == 0.0


def test_speak_sentences_joins_them_with_pauses(model):
    import copy

    quick = copy.deepcopy(model)
    with torch.no_grad():
        quick.decoder.gate.bias.fill_(1e3)  # each sentence stops after its first frame
    mel = speak_sentences(quick, "Hello there. How are you? Fine!", pause_seconds=0.1)
    pause = round(0.1 * model.cfg.audio.frames_per_second)
    assert mel.shape == (3 + 2 * pause, 80)
    assert (mel[1 : 1 + pause] == -model.cfg.audio.max_abs_value).all()
    with pytest.raises(ValueError, match="empty"):
        speak_sentences(quick, "   ")
