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


# ---- typed overrides and files (issue 16) ---------------------------------------------------------


def test_override_types_values_like_the_fields():
    c = get_config("tiny").override(["train.lr=1e-3", "train.batch_size=8.0", "model.zoneout=0", "data.path=010", "train.adam_betas=[0.8, 0.9]"])
    assert c.train.lr == 0.001 and isinstance(c.train.lr, float)
    assert c.train.batch_size == 8 and isinstance(c.train.batch_size, int)
    assert c.model.zoneout == 0.0 and isinstance(c.model.zoneout, float)
    assert c.data.path == "010"  # a string field keeps the text as written
    assert c.train.adam_betas == (0.8, 0.9)
    d = get_config("tiny").override({"train.lr": 2, "model.r": 3.0})
    assert d.train.lr == 2.0 and isinstance(d.train.lr, float) and d.model.r == 3 and isinstance(d.model.r, int)


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("train.lr=fast", r"train.lr: expected a number, got 'fast'"),
        ("model.r=[1,2]", r"model.r: expected an integer, got \[1, 2\]"),
        ("model.r=2.5", r"model.r: expected an integer, got 2.5"),
        ("train.amp=yes please", r"train.amp: expected true or false"),
        ("train.amp=1", r"train.amp: expected true or false"),
        ("train.adam_betas=0.9", r"train.adam_betas: expected a list of 2 numbers"),
        ("train.adam_betas=[0.9, 0.99, 0.999]", r"train.adam_betas: expected a list of 2 numbers"),
        ("train.lr=.nan", r"train.lr: expected a finite number"),
        ("data.corpus=[a]", r"data.corpus: expected text"),
        ("train.lr=", r"train.lr: expected a number, got ''"),
        ("train.lr=!!python/object/apply:os.system [echo hi]", r"train.lr: .*not plain YAML"),
        ("model.r=!!binary aGk=", r"model.r: expected an integer"),
    ],
)
def test_override_refuses_a_value_of_the_wrong_type_naming_the_key(assignment, message):
    with pytest.raises(ValueError, match=message) as err:
        get_config("tiny").override([assignment])
    assert "\n" not in str(err.value)


def test_override_of_a_dict_is_checked_too():
    with pytest.raises(ValueError, match=r"model.r: expected an integer, got \[1, 2\]"):
        get_config("tiny").override({"model.r": [1, 2]})
    with pytest.raises(ValueError, match=r"train.amp: expected true or false, got 'no'"):
        get_config("tiny").override({"train.amp": "no"})


def test_unknown_keys_are_refused_with_the_close_matches():
    with pytest.raises(ValueError, match=r"unknown key 'learning_rat' in section 'train'.*did you mean.*'lr'|lr_") as err:
        get_config("tiny").override(["train.learning_rat=1"])
    with pytest.raises(ValueError, match=r"unknown key 'batchsize'.*did you mean 'batch_size'"):
        get_config("tiny").override(["train.batchsize=4"])
    with pytest.raises(ValueError, match=r"unknown config key .trian.lr. \(did you mean .train.\?\)"):
        get_config("tiny").override(["trian.lr=1"])
    assert "\n" not in str(err.value)


def test_from_dict_and_load_check_types(tmp_path):
    with pytest.raises(ValueError, match=r"model.r: expected an integer, got 'five'"):
        Config.from_dict({"model": {"r": "five"}})
    assert Config.from_dict({"train": {"lr": "1e-3"}}).train.lr == 0.001  # YAML 1.1 reads 1e-3 as text
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  r: [1, 2]\n")
    with pytest.raises(ValueError, match=r"c.yaml: model.r: expected an integer"):
        Config.load(p)


@pytest.mark.parametrize(
    "text, message",
    [
        ("train: !!python/object/apply:os.system [echo hi]\n", r"bad.yaml: .*not plain YAML.*line 1"),
        ("train: {lr: 1\n", r"bad.yaml: not valid YAML.*line"),
        ("model:\n  r: \xff\n", None),
    ],
)
def test_a_config_file_with_tags_or_bad_syntax_is_one_line(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    if message is None:  # not UTF-8: name the file and line
        p.write_bytes(text.encode("latin-1"))
        message = r"bad.yaml:2: not UTF-8"
    else:
        p.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        Config.load(p)
    assert "\n" not in str(err.value)
    j = tmp_path / "bad.json"
    j.write_text('{"train": {"lr": 1,}}')
    with pytest.raises(ValueError, match=r"bad.json: not valid JSON.*line 1"):
        Config.load(j)
