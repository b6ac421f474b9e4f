"""Config dataclasses, presets, serialization and overrides."""

import dataclasses

import pytest

from tacolib.config import Config, get_config


def test_paper_preset_has_the_papers_numbers():
    c = get_config("paper")
    a, m = c.audio, c.model
    assert (a.sample_rate, a.n_fft, a.hop_length, a.win_length, a.n_mels, a.mel_fmin, a.mel_fmax) == (22050, 1024, 256, 1024, 80, 0.0, 8000.0)
    assert (m.symbols_embedding_dim, m.encoder_embedding_dim, m.encoder_n_convs, m.encoder_kernel_size) == (512, 512, 3, 5)
    assert (m.attention_rnn_dim, m.decoder_rnn_dim, m.prenet_dim, m.zoneout, m.r) == (1024, 1024, 256, 0.1, 1)
    assert (m.postnet_n_convs, m.postnet_embedding_dim, m.postnet_kernel_size) == (5, 512, 5)
    assert a.max_abs_value == 4.0


def test_tiny_preset_is_smaller_but_complete():
    paper, tiny = get_config("paper"), get_config("tiny")
    assert tiny.model.decoder_rnn_dim < paper.model.decoder_rnn_dim
    assert tiny.model.postnet_n_convs >= 1 and tiny.model.encoder_n_convs >= 1
    assert tiny.text.n_symbols == paper.text.n_symbols


def test_presets_are_fresh_copies():
    a = get_config("tiny")
    a.train.lr = 123.0
    assert get_config("tiny").train.lr != 123.0


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'huge'.*paper"):
        get_config("huge")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip(tmp_path, suffix):
    c = get_config("tiny").override(["train.lr=3e-4", "model.r=2", "train.adam_betas=[0.8, 0.9]"])
    p = tmp_path / f"cfg{suffix}"
    c.save(p)
    back = Config.load(p)
    assert back == c
    assert back.train.adam_betas == (0.8, 0.9)


def test_overrides_parse_types_and_reject_unknown_keys():
    c = get_config("paper").override(["train.amp=true", "model.zoneout=0.2", "data.corpus=ljspeech"])
    assert c.train.amp is True and c.model.zoneout == 0.2 and c.data.corpus == "ljspeech"
    with pytest.raises(ValueError, match="unknown key 'lrr'.*valid keys"):
        c.override(["train.lrr=1"])
    with pytest.raises(ValueError, match="unknown config key"):
        c.override(["optim.lr=1"])
    with pytest.raises(ValueError, match="section.key=value"):
        c.override(["train.lr"])


def test_from_dict_rejects_unknown_sections_and_keys():
    with pytest.raises(ValueError, match="unknown config section"):
        Config.from_dict({"audi": {}})
    with pytest.raises(ValueError, match="unknown key.*'audio'"):
        Config.from_dict({"audio": {"sr": 16000}})
    partial = Config.from_dict({"audio": {"n_mels": 40}})
    assert partial.audio.n_mels == 40 and partial.audio.n_fft == 1024


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        Config.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="mapping"):
        Config.load(bad)


def test_every_field_is_serializable():
    d = get_config("tiny").to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(Config)}
