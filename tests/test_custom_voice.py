"""Your own voice: ``tacolib prepare custom PATH`` checks a folder; the Trainer fine-tunes from a checkpoint.

The recordings are a small fixture spoken by espeak-ng in another voice than
TinySpeech's (no real voice in CI); each bad-input case breaks a copy of it.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import tacolib
from tacolib.cli import main
from tacolib.corpus.custom import EXAMPLE_VOICE, LIMITS, VoiceError, check_voice, write_example_voice

TEXTS = [
    "anna bought three red boxes at the market.",
    "the quiet dog slept until noon.",
    "meet me at the library on monday.",
    "my teacher was born in nineteen ninety.",
    "is the green lamp really new?",
]


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    return write_example_voice(tmp_path_factory.mktemp("voice") / "mine", TEXTS[:4], TEXTS[4:])


@pytest.fixture
def copy(voice, tmp_path):
    return shutil.copytree(voice, tmp_path / "copy")


def test_the_example_voice_is_another_voice_in_ljspeech_layout(voice):
    lines = (voice / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"V-0001|{TEXTS[0]}" and len(lines) == 5
    assert (voice / "test.txt").read_text().split() == ["V-0005"]
    data, sr = sf.read(voice / "wavs" / "V-0001.wav")
    assert sr == 22050 and data.ndim == 1 and len(data) > sr
    assert EXAMPLE_VOICE["rate"] < 165 and EXAMPLE_VOICE["pitch"] != 50  # not TinySpeech's voice


def test_a_clean_folder_passes_with_a_report(voice):
    report = check_voice(voice)
    assert report.usable == [f"V-{k:04d}" for k in range(1, 6)] and report.problems == [] and report.warnings == []
    assert report.listed == 5 and 5 < report.seconds < 30
    text = report.format()
    assert "5 usable utterance(s) of the 5 in metadata.csv" in text and "speaking rate" in text
    assert "only" in text  # under a minute of audio: the report says what to expect


@pytest.mark.parametrize("setup, message", [
    (lambda p: shutil.rmtree(p), "does not exist"),
    (lambda p: [shutil.rmtree(p), p.mkdir()], "is empty"),
    (lambda p: (p / "metadata.csv").unlink(), "has no metadata.csv"),
    (lambda p: (p / "metadata.csv").write_bytes("V-0001|caf\u00e9 au lait\n".encode("latin-1")), "is not UTF-8 (byte 0xe9 on line 1)"),
    (lambda p: shutil.rmtree(p / "wavs"), "has no recordings"),
    (lambda p: (p / "metadata.csv").write_text("just one field\n"), "has no line of the form id|transcript"),
    (lambda p: [sf.write(f, np.zeros(22050), 22050) for f in (p / "wavs").glob("*.wav")], "no usable utterance"),
])
def test_unusable_folders_are_one_line_errors(copy, setup, message, capsys):
    setup(copy)
    with pytest.raises(VoiceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_voice(copy)
    assert main(["prepare", "custom", str(copy)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_each_bad_recording_is_named_and_left_out_or_flagged(copy, voice):
    wavs = copy / "wavs"
    speech, sr = sf.read(voice / "wavs" / "V-0001.wav")
    sf.write(wavs / "V-0001.wav", speech[::4], sr // 4)  # wrong sample rate: 5,512 Hz
    sf.write(wavs / "V-0002.wav", np.clip(speech * 8, -1, 1), sr)  # clipped
    (wavs / "V-0003.wav").unlink()  # missing
    sf.write(wavs / "stray.wav", speech, sr)  # no transcript line
    sf.write(wavs / "V-0005.wav", speech[: int(0.3 * sr)], sr)  # too short
    sf.write(wavs / "V-0006.wav", np.concatenate([np.zeros(3 * sr), speech]), 44100)  # other rate, mostly silence
    sf.write(wavs / "V-0007.wav", speech, sr)  # mismatched: a long transcript for a short recording
    sf.write(wavs / "V-0008.wav", speech, sr)
    sf.write(wavs / "V-0009.wav", speech, sr)
    sf.write(wavs / "V-0010.wav", speech, sr)
    long = " ".join(TEXTS)
    meta = (copy / "metadata.csv").read_text(encoding="utf-8")
    meta += f"V-0006|{TEXTS[0]}\nV-0007|{long} {long}\nV-0008|{TEXTS[0]}\nV-0009|{TEXTS[0]}\nV-0010|\u2603 \u2603\nV-0008|again\n"
    (copy / "metadata.csv").write_text(meta, encoding="utf-8")
    report = check_voice(copy)
    problems = dict(report.problems)
    warnings = {who: " | ".join(m for w, m in report.warnings if w == who) for who, _ in report.warnings}
    assert "5512 Hz is under 16000 Hz" in problems["V-0001"]
    assert "missing" in problems["V-0003"] and "too short" in problems["V-0005"]
    assert "nothing to say" in problems["V-0010"]
    assert "duplicate id 'V-0008'" in problems["metadata.csv:11"]
    assert "clipped" in warnings["V-0002"] and "no line in metadata.csv" in warnings["stray.wav"]
    assert "resampled to 22050 Hz" in warnings["V-0006"] and "silence" in warnings["V-0006"]
    assert "does the transcript belong to this recording?" in warnings["V-0007"]
    assert report.usable == ["V-0002", "V-0004", "V-0006", "V-0007", "V-0008", "V-0009"]
    assert main(["prepare", "custom", str(copy)]) == 0  # usable, with a report to read


def test_a_silent_recording_and_a_dropped_character(copy, voice):
    sf.write(copy / "wavs" / "V-0002.wav", np.full(22050, 1e-4), 22050)
    meta = (copy / "metadata.csv").read_text(encoding="utf-8").replace(TEXTS[0], TEXTS[0] + " \u2603")
    (copy / "metadata.csv").write_text(meta, encoding="utf-8")
    report = check_voice(copy)
    assert "silent" in dict(report.problems)["V-0002"]
    assert "'☃'" in dict(report.warnings)["V-0001"]
    assert LIMITS["silent_peak"] > 1e-4


def test_prepare_custom_caches_mels_and_needs_a_path(voice, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TACOLIB_DATA", str(tmp_path / "data"))
    assert main(["prepare", "custom", str(voice), "--mels"]) == 0
    assert "cached the mels of 5 utterances" in capsys.readouterr().out
    assert len(list((tmp_path / "data").rglob("*.npy"))) == 5
    assert not list(voice.rglob("*.npy")), "the recordings' folder is never written to"
    assert main(["prepare", "custom"]) == 2
    assert "tacolib prepare custom PATH" in capsys.readouterr().err
    assert main(["prepare", "tinyspeech", str(voice)]) == 2
    assert "only applies to: tacolib prepare custom PATH" in capsys.readouterr().err


def test_fine_tuning_starts_from_a_checkpoints_weights_only(voice, tmp_path):
    from tacolib.checkpoint import CheckpointError
    from tacolib.train import Trainer

    from test_cli import SMALL

    base_cfg = tacolib.get_config("tiny").override(SMALL)
    base = Trainer(base_cfg, tmp_path / "base", tensorboard=False, progress=False)
    base.fit(max_steps=2)
    ckpt = base.checkpoints.latest()
    cfg = base_cfg.override(["data.corpus=custom", f"data.path={voice}", "train.lr=0.0005", "train.seed=7", "train.batch_size=2"])
    tuner = Trainer(cfg, tmp_path / "tuned", tensorboard=False, progress=False)
    fresh = {k: v.clone() for k, v in tuner.model.state_dict().items()}
    tuner.init_weights(ckpt)
    assert tuner.step == 0 and tuner.optimizer.state_dict()["state"] == {}  # a new run: no Adam moments, step 0
    for k, v in tuner.model.state_dict().items():
        assert torch.equal(v, base.model.state_dict()[k]), k
    assert any(not torch.equal(fresh[k], v) for k, v in tuner.model.state_dict().items())
    result = tuner.fit(max_steps=2)
    assert result["step"] == 2 and tuner.optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)
    assert len(tuner.train_set) == 4 and tuner.val_set.ids == ["V-0005"]  # test.txt holds one out
    other = tacolib.get_config("tiny").override([*SMALL, "model.decoder_rnn_dim=48"])
    with pytest.raises(CheckpointError, match="model.decoder_rnn_dim"):
        Trainer(other, tmp_path / "x", tensorboard=False, progress=False).init_weights(ckpt)
