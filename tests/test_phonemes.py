"""The phoneme front end: espeak-ng's phonemizer, its symbol table, the config switch, the cache, the CLI."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

import tacolib
from tacolib import espeak
from tacolib.checkpoint import CheckpointError, check_compatible
from tacolib.config import TextConfig
from tacolib.symbols import EOS_ID, PHONEME_SYMBOLS, PHONEMES, SYMBOLS, symbol_table
from tacolib.text import TextWarning, ids_to_text, phoneme_string, phonemize, text_to_ids
from tacolib.text.phonemes import PhonemeCache, cache_key

PH = TextConfig(input="phonemes")


def test_espeak_phonemizer_gives_ipa_or_ascii_with_a_separator():
    ipa = espeak.phonemes("the cat")
    ascii_ = espeak.phonemes("the cat", ipa=False)
    assert ipa.split() == ["ð_ə", "k_ˈa_t"]  # the corpus voice: espeak's default English phoneme inventory
    assert ascii_.split() == ["D_@", "k_'a_t"]
    assert espeak.phonemes("") == "" and espeak.phonemes("...") == ""
    with pytest.raises(TypeError):
        espeak.phonemes(None)


def test_phonemize_splits_stress_keeps_punctuation_and_joins_as_ipa():
    tokens = phonemize("Hello there, Dr. Smith!")
    assert tokens[:5] == ["h", "ə", "l", "ˈ", "əʊ"]  # stress is a symbol of its own, before the vowel
    assert "," in tokens and tokens[-1] == "!" and tokens.count(" ") == 3
    assert set(tokens) <= set(PHONEME_SYMBOLS[2:])
    assert phoneme_string("Hello there, Dr. Smith!") == "həlˈəʊ ðˈeə, dˈɒktə smˈɪθ!"
    assert "tʃ" in phonemize("church") and "dʒ" in phonemize("judge")  # affricates: one symbol each
    assert phoneme_string("wait - now") == phoneme_string("wait, now")  # a dash between words is a pause


def test_phonemize_normalizes_first_and_refuses_nothing_to_say():
    assert phoneme_string("$3") == phoneme_string("three dollars")
    assert phoneme_string("three dollars", normalized=True) == phoneme_string("three dollars")
    for bad in ("", "   ", "?!"):
        with pytest.raises(ValueError):
            phonemize(bad)


def test_a_phoneme_outside_the_table_is_dropped_with_a_warning(monkeypatch):
    monkeypatch.setattr(espeak, "phonemes", lambda text, voice="en-us", ipa=True: "k_ˈa_ʘ_t")
    with pytest.warns(TextWarning, match="ʘ"):
        assert phonemize("cat") == ["k", "ˈ", "a", "t"]


def test_the_table_covers_tinyspeech_and_ljspeech(ljspeech_sample):
    from tacolib.corpus import read_metadata
    from tacolib.corpus.tinyspeech import generate_prompts

    texts = [p.normalized for p in generate_prompts("full")]
    texts += [tacolib.text.normalize(u.normalized) for u in read_metadata(ljspeech_sample)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TextWarning)  # an unknown phoneme would raise here
        used = {t for text in texts for t in phonemize(text, normalized=True)}
    assert len(used & set(PHONEMES)) >= 40


def test_text_to_ids_follows_the_config_and_round_trips():
    ids = text_to_ids("Hello there.", cfg=PH)
    assert ids[-1] == EOS_ID and int(ids.min()) >= 1 and int(ids.max()) < PH.n_symbols
    assert ids_to_text(ids, cfg=PH) == "həlˈəʊ ðˈeə."
    assert ids_to_text(text_to_ids("Hello there.")) == "hello there."  # characters stay the default
    assert PH.n_symbols == len(PHONEME_SYMBOLS) != TextConfig().n_symbols == len(SYMBOLS)
    assert symbol_table("phonemes")[:2] == symbol_table("chars")[:2] == ["_", "~"]
    with pytest.raises(ValueError, match="chars.*phonemes"):
        TextConfig(input="phoneme").n_symbols


def test_the_model_embedding_follows_the_front_end():
    cfg = tacolib.get_config("tiny").override(["text.input=phonemes"])
    from tacolib.model import Tacotron2

    model = Tacotron2(cfg).eval()
    assert model.encoder.embedding.num_embeddings == len(PHONEME_SYMBOLS)
    torch.manual_seed(0)
    out = model.inference("Hello there.", max_decoder_steps=3)
    assert out["alignments"].shape[-1] == len(text_to_ids("Hello there.", cfg=cfg.text))


def test_a_checkpoint_reads_one_kind_of_token():
    chars, phon = tacolib.get_config("tiny"), tacolib.get_config("tiny").override(["text.input=phonemes"])
    check_compatible({"config": chars.to_dict()}, chars)
    old = chars.to_dict()
    del old["text"]["input"]  # a checkpoint from before phonemes: it read characters
    check_compatible({"config": old}, chars)
    with pytest.raises(CheckpointError, match="text.input: checkpoint 'chars' vs config 'phonemes'"):
        check_compatible({"config": old}, phon)


def test_dataset_keeps_the_phonemes_beside_the_mels(tmp_path, monkeypatch):
    from tacolib.data import TTSDataset, corpus_by_name

    root = corpus_by_name("tinyspeech")
    cfg = tacolib.get_config("tiny").override(["text.input=phonemes"])
    ds = TTSDataset(root, cfg, split="test", cache_dir=tmp_path)
    cache = tmp_path / "tokens-phonemes.json"
    stored = json.loads(cache.read_text(encoding="utf-8"))
    assert stored["key"] == cache_key() and len(stored["phonemes"]) == len(ds)
    for i in range(len(ds)):
        assert ds[i]["tokens"].tolist() == text_to_ids(ds.texts[i], normalized=True, cfg=cfg.text).tolist()
    # the second time, nothing is phonemized: the cache answers
    monkeypatch.setattr("tacolib.text.phonemes.phonemize", lambda *a, **k: pytest.fail("phonemized again"))
    again = TTSDataset(root, cfg, split="test", cache_dir=tmp_path)
    assert [t.tolist() for t in again._tokens] == [t.tolist() for t in ds._tokens]
    monkeypatch.undo()
    # a cache of another espeak-ng, voice or table is not trusted
    cache.write_text(json.dumps({"key": "other", "phonemes": {t: ["k"] for t in ds.texts}}), encoding="utf-8")
    third = TTSDataset(root, cfg, split="test", cache_dir=tmp_path)
    assert [t.tolist() for t in third._tokens] == [t.tolist() for t in ds._tokens]
    assert json.loads(cache.read_text(encoding="utf-8"))["key"] == cache_key()
    # characters: no phoneme file, and other ids
    chars = TTSDataset(root, tacolib.get_config("tiny"), split="test", cache_dir=tmp_path / "c")
    assert not (tmp_path / "c" / "tokens-phonemes.json").exists()
    assert chars[0]["tokens"].tolist() != ds[0]["tokens"].tolist()


def test_phoneme_cache_recovers_from_a_broken_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{not json", encoding="utf-8")
    cache = PhonemeCache(path)
    assert cache("hello.") == phonemize("hello.", normalized=True)
    cache.save()
    assert json.loads(path.read_text(encoding="utf-8"))["phonemes"]["hello."] == phonemize("hello.")


def test_cli_trains_speaks_and_evaluates_with_phonemes(tmp_path, capsys):
    from tacolib.cli import main

    from test_cli import SMALL, _sets

    run = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--out", str(run), "--no-progress", "--no-tensorboard",
                 *_sets([*SMALL, "text.input=phonemes"]), "--max-steps", "2"]) == 0
    capsys.readouterr()
    state = torch.load(run / "checkpoints" / "step_00000002.pt", weights_only=True)
    assert state["config"]["text"]["input"] == "phonemes"
    assert state["model"]["encoder.embedding.weight"].shape[0] == len(PHONEME_SYMBOLS)
    wav = tmp_path / "x.wav"
    assert main(["synthesize", "Hello there.", "-o", str(wav), "--checkpoint", str(run), "--max-decoder-steps", "3"]) == 0
    js = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", str(run), "--n", "2", "--mcd", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "its floor (Griffin-Lim of the recordings' own mels)" in out
    m = json.loads(js.read_text())
    # a 2-step model speaks near-silence, which MCD-DTW can score close to the floor (notebook 12's blind spot):
    # only check that both numbers came out and are distances
    assert m["infer_mcd_floor"] > 0 and m["infer_mcd"] > 0 and m["infer_mcd_mel"] > 0
    corpus = tmp_path / "not-built"
    assert main(["train", "--preset", "tiny", "--out", str(tmp_path / "bad"), "--set", "text.input=phoneme",
                 "--set", f"data.path={corpus}", "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown text.input 'phoneme'" in err and err.count("\n") == 1
    assert not corpus.exists() and not (tmp_path / "bad").exists(), "refused before the corpus was built"


def test_quickstart_phonemes_option_and_a_folder_of_the_other_kind(tmp_path, capsys):
    from tacolib.checkpoint import save_checkpoint
    from tacolib.cli import main
    from tacolib.quickstart import QuickstartError, quickstart

    chars = tacolib.get_config("tiny").override(["data.size=fast"])
    save_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000007.pt", {"step": 7, "config": chars.to_dict(), "model": {}})
    assert main(["quickstart", "--out", str(tmp_path), "--fast", "--phonemes", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "text.input: checkpoint 'chars' vs config 'phonemes'" in err and err.count("\n") == 1
    with pytest.raises(QuickstartError, match="unknown text.input 'phones'"):
        quickstart(tmp_path / "other", fast=True, text_input="phones", progress=False)
    assert not (tmp_path / "other").exists(), "refused before anything was written"
