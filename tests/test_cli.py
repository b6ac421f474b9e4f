"""The ``tacolib`` command: help everywhere, one-line errors, and train -> resume -> synthesize -> evaluate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import soundfile as sf

import tacolib
from tacolib.cli import COMMANDS, main

SMALL = [
    "data.size=fast", "model.symbols_embedding_dim=32", "model.encoder_embedding_dim=32", "model.attention_dim=16",
    "model.attention_rnn_dim=32", "model.decoder_rnn_dim=32", "model.prenet_dim=32", "model.postnet_embedding_dim=32",
    "model.max_decoder_steps=20", "train.batch_size=4", "train.log_every=1", "train.val_every=100", "train.ckpt_every=100",
]


def _sets(items):
    out = []
    for s in items:
        out += ["--set", s]
    return out


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as e:
        main(([command] if command else []) + ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tacolib")
    if command:
        assert command in out


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "tacolib", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "synthesize" in proc.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--preset", "huge"], "unknown preset 'huge'; choose one of ['paper', 'tiny']"),
        (["train", "--set", "train.lr"], "--set 'train.lr' is not of the form section.key=value"),
        (["train", "--set", "train.lr=fast"], "--set train.lr: expected a number, got 'fast'"),
        (["train", "--set", "optim.lr=1"], "unknown config key 'optim.lr'"),
        (["train", "--config", "missing.yaml"], "config file not found: missing.yaml"),
        (["train", "--resume", "nowhere.pt"], "checkpoint not found: nowhere.pt"),
        (["synthesize", "hello", "-o", "x.wav", "--checkpoint", "nowhere.pt"], "checkpoint not found: nowhere.pt"),
        (["synthesize", "  ", "-o", "x.wav"], "the text to synthesize is empty"),
        (["evaluate", "--checkpoint", "nowhere"], "checkpoint not found: nowhere"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_option_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--steps", "3"])
    assert e.value.code == 2
    assert "unrecognized arguments: --steps" in capsys.readouterr().err


def test_train_resume_synthesize_evaluate(tmp_path, capsys, malicious):
    R = tacolib.get_config("tiny").model.r  # frames per decoder step
    run = tmp_path / "run"
    base = ["train", "--preset", "tiny", "--out", str(run), "--no-progress", "--no-tensorboard", *_sets(SMALL)]
    assert main([*base, "--max-steps", "3"]) == 0
    assert "done at step 3" in capsys.readouterr().out
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "step_00000003.pt").is_file()

    # a second run into the same folder must say --resume
    assert main([*base, "--max-steps", "5"]) == 2
    assert "pass --resume to continue" in capsys.readouterr().err
    assert main(["train", "--out", str(run), "--resume", "--max-steps", "5", "--no-progress", "--no-tensorboard"]) == 0
    out = capsys.readouterr().out
    assert "resuming from" in out and "step_00000003.pt" in out and "done at step 5" in out

    wav, png = tmp_path / "hello.wav", tmp_path / "hello.png"
    assert main(["synthesize", "Hello there, Maya.", "-o", str(wav), "--checkpoint", str(run), "--plot", str(png)]) == 0
    data, sr = sf.read(wav)
    assert sr == 22050 and len(data) > 0 and png.stat().st_size > 0
    assert main(["synthesize", "Hello there, Maya.", "-o", str(tmp_path / "int8.wav"), "--checkpoint", str(run), "--int8", "--max-decoder-steps", "5"]) == 0
    data, _ = sf.read(tmp_path / "int8.wav")
    assert 0 < len(data) <= 5 * R * 256

    from tacolib.vocoder import WaveNet, WaveNetConfig, save_wavenet

    voc = save_wavenet(tmp_path / "wavenet.pt", WaveNet(WaveNetConfig(layers=2, cycles=1, residual_channels=8, gate_channels=16, skip_channels=8, cond_channels=8)))
    assert main(["synthesize", "Hello.", "-o", str(tmp_path / "wn.wav"), "--checkpoint", str(run), "--wavenet", str(voc), "--max-decoder-steps", "4"]) == 0
    data, _ = sf.read(tmp_path / "wn.wav")
    assert 0 < len(data) <= 4 * R * 256
    bad = save_wavenet(tmp_path / "wavenet64.pt", WaveNet(WaveNetConfig(n_mels=64, layers=2, cycles=1)))
    assert main(["synthesize", "Hello.", "-o", str(tmp_path / "x.wav"), "--checkpoint", str(run), "--wavenet", str(bad)]) == 2
    assert "the WaveNet expects n_mels=64" in capsys.readouterr().err
    evil = malicious(tmp_path / "stranger.pt", "wavenet")  # --wavenet FILE ran the file's code (weights_only=False)
    assert main(["synthesize", "Hello.", "-o", str(tmp_path / "x.wav"), "--checkpoint", str(run), "--wavenet", str(evil)]) == 2
    err = capsys.readouterr().err
    assert "stranger.pt was refused" in err and "only if you trust" in err and err.count("\n") == 1
    assert not malicious.marker.exists() and not (tmp_path / "x.wav").exists()

    js = tmp_path / "metrics.json"
    assert main(["evaluate", "--checkpoint", str(run), "--n", "3", "--json", str(js)]) == 0
    metrics = json.loads(js.read_text())
    assert metrics["n"] == 3 and metrics["checkpoint_step"] == 5 and metrics["split"] == "test"
    for key in ("loss", "focus", "infer_focus", "infer_stop_ok", "infer_stop_error"):
        assert isinstance(metrics[key], float) and metrics[key] == metrics[key], key


def test_prepare_builds_tinyspeech_and_caches_mels(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TACOLIB_DATA", str(tmp_path / "data"))
    root = tmp_path / "ts"
    assert main(["prepare", "tinyspeech", "--size", "fast", "--root", str(root), "--mels"]) == 0
    out = capsys.readouterr().out
    assert f"tinyspeech ready at {root}" in out and "cached the mels of 48 utterances" in out
    assert (root / "metadata.csv").is_file() and (root / "test.txt").is_file()
    assert len(list((tmp_path / "data" / "cache").rglob("*.npy"))) == 48


def test_prepare_ljspeech_offline_is_one_line_naming_the_target(tmp_path, capsys):
    # Port 9 (discard) on loopback refuses the connection: what a learner offline sees.
    root = tmp_path / "LJSpeech-1.1"
    assert main(["prepare", "ljspeech", "--root", str(root), "--url", "http://127.0.0.1:9/LJSpeech-1.1.tar.bz2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tacolib prepare: error: cannot reach 127.0.0.1:9")
    assert "Are you offline?" in err and str(tmp_path / "LJSpeech-1.1.tar.bz2") in err
    assert err.count("\n") == 1 and "Traceback" not in err
    # a missing mirror file is the same kind of error
    assert main(["prepare", "ljspeech", "--root", str(root), "--url", (tmp_path / "nowhere.tar.bz2").as_uri()]) == 2
    assert "no such file" in capsys.readouterr().err


def test_url_is_refused_for_tinyspeech(capsys):
    assert main(["prepare", "tinyspeech", "--url", "http://example.invalid/x"]) == 2
    assert "--url only applies to: tacolib prepare ljspeech" in capsys.readouterr().err
