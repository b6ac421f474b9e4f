"""The ``tacolib`` command's user errors (issue 16): one line, exit status 2, found before
the long work starts.

Each case runs with the long work replaced by a tripwire (building or loading the
corpus, loading a model): a check that came too late trips it and the test fails with
"long work started". Full and read-only disks: ``tests/test_faults.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tacolib.cli import main


@pytest.fixture
def tripwires(monkeypatch, tmp_path):
    """The long work of every command raises if reached."""
    import tacolib.corpus
    import tacolib.data
    import tacolib.synthesize
    import tacolib.train

    def trip(what):
        def f(*a, **k):
            raise AssertionError(f"long work started: {what}")

        return f

    monkeypatch.setenv("TACOLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(tacolib.train, "load_datasets", trip("the corpus was loaded"))
    monkeypatch.setattr(tacolib.data, "load_datasets", trip("the corpus was loaded"))
    monkeypatch.setattr(tacolib.corpus, "corpus_root", trip("the corpus was looked up"))
    monkeypatch.setattr(tacolib.synthesize, "load_model", trip("the model was loaded"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "afolder").mkdir()


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


CASES = [
    # train
    (["train", "--threads", "0"], "tacolib train: error: --threads must be >= 1, got 0"),
    (["train", "--device", "gpu"], "--device 'gpu' is not a device: use auto, cpu, cuda or cuda:N"),
    (["train", "--device", "cpu:x"], "--device 'cpu:x' is not a device: use auto, cpu, cuda or cuda:N"),
    (["train", "--max-steps", "0"], "--max-steps must be >= 1, got 0"),
    (["train", "--minutes", "-1"], "--minutes must be a positive number, got -1.0"),
    (["train", "--out", "afile"], "afile is a file, not a folder; choose another location"),
    (["train", "--out", "afile/run"], "cannot write afile/run: afile is a file, not a folder"),
    (["train", "--set", "model.r=[1,2]"], "--set model.r: expected an integer, got [1, 2]"),
    (["train", "--set", "data.path=!!python/object/apply:os.system ['true']"], "--set data.path: not plain YAML"),
    (["train", "--set", "text.input=phoneme"], "unknown text.input 'phoneme'; choose one of ['chars', 'phonemes']"),
    (["train", "--set", "text.date_order=ymd"], "text.date_order must be one of ('mdy', 'dmy'), got 'ymd'"),
    (["train", "--set", "text.normalizer=festival"], "text.normalizer must be one of ('tacolib', 'nemo'), got 'festival'"),
    # synthesize: the checkpoint does not exist, so a check made after loading would say so instead
    (["synthesize", "Hi.", "-o", "afolder", "--checkpoint", "nowhere.pt"], "afolder is a folder; give a file name, e.g. afolder/out.wav"),
    (["synthesize", "Hi.", "-o", "hi.mp3", "--checkpoint", "nowhere.pt"], "hi.mp3: the file name must end in .wav"),
    (["synthesize", "Hi.", "-o", "afile/hi.wav", "--checkpoint", "nowhere.pt"], "cannot write afile/hi.wav: afile is a file, not a folder"),
    (["synthesize", "Hi.", "-o", "hi.wav", "--plot", "hi.jpg", "--checkpoint", "nowhere.pt"], "hi.jpg: the file name must end in .png"),
    (["synthesize", "Hi.", "-o", "hi.wav", "--max-decoder-steps", "0", "--checkpoint", "nowhere.pt"], "--max-decoder-steps must be >= 1, got 0"),
    (["synthesize", "Hi.", "-o", "hi.wav", "--gl-iters", "0", "--checkpoint", "nowhere.pt"], "--gl-iters must be >= 1, got 0"),
    (["synthesize", "Hi.", "-o", "hi.wav", "--threads", "-2", "--checkpoint", "nowhere.pt"], "--threads must be >= 1, got -2"),
    (["synthesize", "Hi.", "-o", "hi.wav", "--device", "gpu", "--checkpoint", "nowhere.pt"], "--device 'gpu' is not a device"),
    # evaluate
    (["evaluate", "--batch-size", "-1", "--checkpoint", "nowhere.pt"], "--batch-size must be >= 1, got -1"),
    (["evaluate", "--batch-size", "0", "--checkpoint", "nowhere.pt"], "--batch-size must be >= 1, got 0"),
    (["evaluate", "--n", "0", "--checkpoint", "nowhere.pt"], "--n must be >= 1, got 0"),
    (["evaluate", "--data", "typo", "--checkpoint", "nowhere.pt"], "--data typo is not a corpus folder (no metadata.csv in it)"),
    (["evaluate", "--json", "afolder", "--checkpoint", "nowhere.pt"], "afolder is a folder; give a file name"),
    (["evaluate", "--json", "afile/m.json", "--checkpoint", "nowhere.pt"], "cannot write afile/m.json: afile is a file, not a folder"),
    (["evaluate", "--device", "cuda:x", "--checkpoint", "nowhere.pt"], "--device 'cuda:x' is not a device"),
    # quickstart
    (["quickstart", "--out", "afile"], "--out: afile is a file, not a folder"),
    (["quickstart", "--out", "afile/q"], "--out: cannot write afile/q: afile is a file, not a folder"),
    (["quickstart", "--threads", "0"], "--threads must be >= 1, got 0"),
    (["quickstart", "--device", "gpu", "--out", "q"], "'gpu' is not a device: use auto, cpu, cuda or cuda:N"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_a_bad_argument_is_one_line_exit_2_before_any_long_work(tripwires, tmp_path, capsys, argv, message):
    assert main(argv) == 2
    err = _one_line(capsys)
    assert message in err
    assert (tmp_path / "afile").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "afolder"], "nothing was created"


def test_evaluate_names_the_line_of_a_corpus_that_is_not_utf8(tripwires, tmp_path, capsys):
    corpus = tmp_path / "afolder"
    (corpus / "metadata.csv").write_bytes("LJ1|Hello.|Hello.\nLJ2|Caf\u00e9 time.|Caf\u00e9 time.\n".encode("latin-1"))
    assert main(["evaluate", "--data", str(corpus), "--checkpoint", "nowhere.pt"]) == 2
    assert f"{corpus / 'metadata.csv'}:2: not UTF-8 (byte 0xe9 at column 8); save the file as UTF-8" in _one_line(capsys)


def test_prepare_on_a_folder_tacolib_did_not_make_is_one_line_and_touches_nothing(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["prepare", "tinyspeech", "--size", "fast", "--root", str(mine)]) == 2
    assert "is not a TinySpeech folder tacolib made (no valid .build.json in it)" in _one_line(capsys)
    assert main(["prepare", "ljspeech", "--root", str(mine), "--url", (tmp_path / "none.tar.bz2").as_uri()]) == 2
    assert "is not a corpus folder tacolib made" in _one_line(capsys)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep me"
    (tmp_path / "afile").write_text("x")
    assert main(["prepare", "tinyspeech", "--size", "fast", "--root", str(tmp_path / "afile")]) == 2
    assert "afile is a file, not a folder" in _one_line(capsys)


HOLD = textwrap.dedent(
    """
    import sys
    from tacolib import runlock
    with runlock.lock_run_folder(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


@pytest.mark.parametrize("command", ["train", "quickstart"])
def test_a_run_folder_held_by_another_process_is_refused_naming_its_pid(tripwires, tmp_path, capsys, command):
    run = tmp_path / "held"
    folder = run if command == "train" else run / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        argv = ["train", "--out", str(run), "--device", "cpu"] if command == "train" else ["quickstart", "--out", str(run), "--device", "cpu"]
        assert main(argv) == 2  # the tripwires prove it is refused before the corpus is loaded
        err = _one_line(capsys)
        assert f"{folder} is in use by another tacolib run (pid {holder.pid} on " in err
    finally:
        holder.communicate("go\n", timeout=60)
    assert sorted(p.name for p in folder.iterdir()) == [".tacolib.lock"]


def test_evaluate_functions_refuse_a_batch_size_below_one():
    """range(0, n, -1) is empty: the metrics were NaN and the command exited 0."""
    import torch

    from tacolib.evaluate import evaluate_free_running, evaluate_teacher_forced

    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match=f"batch_size must be a whole number >= 1, got {bad}"):
            evaluate_teacher_forced(torch.nn.Linear(1, 1), [], None, batch_size=bad)
        with pytest.raises(ValueError, match=f"batch_size must be a whole number >= 1, got {bad}"):
            evaluate_free_running(torch.nn.Linear(1, 1), [], batch_size=bad)


def test_a_traceback_is_still_there_for_whoever_asks(tripwires, monkeypatch):
    monkeypatch.setenv("TACOLIB_DEBUG", "1")
    with pytest.raises(Exception, match="--threads must be >= 1"):
        main(["train", "--threads", "0"])
