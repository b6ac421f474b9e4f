"""Fault injection: kill -9 anywhere, disks that fill up or turn read-only, files from
strangers, two runs on one folder (issue 16). Nothing lost, nothing run, no surprise.

CI-sized (about a minute on one core): a tiny model trains 8 steps in a subprocess
(:data:`DRIVER`, through the public ``Trainer(cfg, out_dir, ...)`` /
``fit(max_steps=..., resume=True)``), is killed with SIGKILL inside a save or at a
seeded random moment, and a fresh process resumes it; the result must equal an
uninterrupted run bit for bit (final weights, ``best.pt``, the logged losses).
``tests/test_train.py`` covers Ctrl-C and in-process interruptions; this module covers
the deaths a process cannot clean up after.

Full and read-only disks are small ``tmpfs`` mounts (root only; as root, ``chmod 555``
does not make a folder read-only); elsewhere those tests skip with the reason.
"""

from __future__ import annotations

import errno
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from tacolib import checkpoint as ckpt
from tacolib import audio, runlock, safe_io
from tacolib.config import Config, get_config

REPO = Path(__file__).resolve().parents[1]
MAX_STEPS = 8

#: One training session of a tiny run (argv: out_dir). Env FAULT="<point>:<n>" kills the
#: process with SIGKILL at the n-th checkpoint file written: ``write`` after half of it
#: reached the disk, ``replace`` with the whole temporary on disk but not renamed,
#: ``after`` right after it was renamed into place (before the save's next file or the
#: pruning). The Trainer holds the run folder from its construction; it prints "locked"
#: then, and with env HOLD=1 waits for a line on stdin before training. Prints "step N"
#: after each step and writes final.pt at the end.
DRIVER = textwrap.dedent(
    """
    import io, os, signal, sys
    from pathlib import Path

    import torch

    import tacolib
    from tacolib import checkpoint as ckpt
    from tacolib.config import get_config
    from tacolib.corpus import tinyspeech
    from tacolib.data import TTSDataset
    from tacolib.train import Trainer

    out, max_steps = Path(sys.argv[1]), int(sys.argv[2])
    tacolib.setup(seed=0, threads=1)
    real_save, real_replace, real_ckpt = torch.save, os.replace, ckpt.save_checkpoint
    fault = os.environ.get("FAULT", "")
    if fault:
        point, n = fault.split(":")
        n, calls = int(n), [0]

        def die():
            os.kill(os.getpid(), signal.SIGKILL)

        def save(obj, f, *a, **k):
            if isinstance(obj, dict) and obj.get("format") == ckpt.FORMAT:
                calls[0] += 1
                if point == "write" and calls[0] == n:
                    buf = io.BytesIO()
                    real_save(obj, buf)
                    f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                    f.flush()
                    os.fsync(f.fileno())
                    die()
            return real_save(obj, f, *a, **k)

        def replace(src, dst):
            if point == "replace" and str(dst).endswith(".pt") and calls[0] == n:
                die()
            return real_replace(src, dst)

        def save_checkpoint(path, state):
            result = real_ckpt(path, state)
            if point == "after" and calls[0] == n:
                die()
            return result

        torch.save, os.replace, ckpt.save_checkpoint = save, replace, save_checkpoint

    root = tinyspeech.build("fast", progress=False)
    cfg = get_config("tiny").override([
        "model.symbols_embedding_dim=32", "model.encoder_embedding_dim=32", "model.attention_dim=16",
        "model.attention_rnn_dim=32", "model.decoder_rnn_dim=32", "model.prenet_dim=32",
        "model.postnet_embedding_dim=32", "model.max_decoder_steps=20", "train.batch_size=4",
        "train.log_every=1", "train.val_every=3", "train.ckpt_every=3", "train.lr_decay_start=2",
        "train.lr_decay_steps=3",
    ])
    ids = TTSDataset(root, cfg, split="train", cache_dir=None).ids[:12]
    train = TTSDataset(root, cfg, ids=ids).preprocess(False)
    val = TTSDataset(root, cfg, split="test").preprocess(False)

    on_step = lambda trainer, record: print(f"step {trainer.step}", flush=True)
    trainer = Trainer(cfg, out, train, val, device="cpu", n_infer=2, progress=False, tensorboard=False, on_step=on_step)
    print("locked", flush=True)
    if os.environ.get("HOLD"):
        sys.stdin.readline()  # hold the folder until the test says go
    result = trainer.fit(max_steps=max_steps, resume=True)
    trainer.close()
    real_save(trainer.model.state_dict(), out / "final.pt")
    print("done", result["status"], result["step"], flush=True)
    """
)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from tacolib.corpus import tinyspeech

    tinyspeech.build("fast", progress=False)  # built once, outside the timed subprocesses
    path = tmp_path_factory.mktemp("driver") / "driver.py"
    path.write_text(DRIVER)
    return path


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FAULT", "HOLD")}
    env.update({"TACOLIB_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}, **extra)
    return env


def _start(driver, out, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(driver), str(out), str(MAX_STEPS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env),
    )


def _run(driver, out, **env) -> tuple[int, str, str]:
    p = _start(driver, out, **env)
    stdout, stderr = p.communicate(timeout=300)
    return p.returncode, stdout, stderr


@pytest.fixture(scope="module")
def straight(driver, tmp_path_factory):
    """The uninterrupted run everything is compared with."""
    out = tmp_path_factory.mktemp("straight") / "run"
    code, stdout, stderr = _run(driver, out)
    assert code == 0, stderr[-2000:]
    assert ckpt.load_checkpoint(out / "checkpoints" / "best.pt")["step"] == MAX_STEPS, "the last validation should be the best"
    return out


def _orphans(run: Path) -> list[str]:
    return [p.name for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")] if (run / "checkpoints").is_dir() else []


def _assert_same_run(run: Path, straight: Path) -> None:
    """Bit-identical weights at the end, the same best.pt, the same logged losses."""
    a, b = (torch.load(r / "final.pt", weights_only=True) for r in (run, straight))
    for k in b:
        assert torch.equal(a[k], b[k]), f"{k} differs from the uninterrupted run"
    best_a, best_b = (ckpt.load_checkpoint(r / "checkpoints" / "best.pt") for r in (run, straight))
    assert best_a["step"] == best_b["step"] and best_a["best"] == best_b["best"]
    for k in best_b["model"]:
        assert torch.equal(best_a["model"][k], best_b["model"][k]), f"best.pt: {k} differs"
    last_a, last_b = (ckpt.load_checkpoint(r / "checkpoints") for r in (run, straight))
    assert last_a["step"] == last_b["step"] == MAX_STEPS
    assert [r["loss"] for r in last_a["history"]["train"]] == [r["loss"] for r in last_b["history"]["train"]]
    assert not _orphans(run), "an orphaned temporary survived the restart"


# ---- kill -9 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        "write:2",  # half of the second checkpoint file on disk
        "replace:3",  # the third file complete in its temporary, never renamed
        "after:5",  # the final save: its first file in place, its second not
    ],
)
def test_killed_inside_a_save_then_resumed_equals_the_uninterrupted_run(driver, straight, tmp_path, fault):
    run = tmp_path / "run"
    code, _, _ = _run(driver, run, FAULT=fault)
    assert code == -signal.SIGKILL
    if fault.startswith(("write", "replace")):
        assert _orphans(run), "the killed save should have left its temporary (else this test proves nothing)"
    code, stdout, stderr = _run(driver, run)
    assert code == 0, stderr[-2000:]
    _assert_same_run(run, straight)


@pytest.mark.parametrize("seed", [0, 1])
def test_killed_twice_at_random_moments_then_resumed_equals_the_uninterrupted_run(driver, straight, tmp_path, seed):
    """SIGKILL from outside, after a random step plus a random delay: in a step, a validation or a save."""
    rng = random.Random(seed)
    run = tmp_path / "run"
    for after_step in sorted(rng.sample(range(1, MAX_STEPS), 2)):
        p = _start(driver, run)
        for line in p.stdout:
            if line.strip() in (f"step {after_step}", f"step {MAX_STEPS}") or line.startswith("done"):
                break
        time.sleep(rng.uniform(0.0, 0.3))
        p.kill()
        p.communicate(timeout=60)
        assert p.returncode == -signal.SIGKILL, "the run ended before the kill: this kill tested nothing"
    code, stdout, stderr = _run(driver, run)
    assert code == 0, stderr[-2000:]
    _assert_same_run(run, straight)


# ---- two runs, one folder -------------------------------------------------------------------------------------------------


def test_a_second_run_on_a_held_folder_is_refused_and_the_first_is_unharmed(driver, straight, tmp_path):
    """The Trainer itself holds its folder: a second one there is refused (so --resume can
    never mix two runs), and the first run ends exactly as if alone."""
    run = tmp_path / "run"
    first = _start(driver, run, HOLD="1")
    assert first.stdout.readline().strip() == "locked"
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    code, stdout, stderr = _run(driver, run)
    assert code != 0 and "locked" not in stdout and "done" not in stdout
    assert re.search(rf"RunLockedError: {re.escape(str(run))} is in use by another tacolib run \(pid {first.pid} ", stderr)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before, "the refused run wrote nothing"
    first.stdin.write("go\n")
    first.stdin.flush()
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr[-2000:]
    _assert_same_run(run, straight)


# ---- full and read-only disks -------------------------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs; ``small_fs.readonly()`` remounts it read-only."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (and chmod cannot make a folder read-only for root)")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip() or r.returncode}")

    def readonly():
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)

    yield type("SmallFS", (), {"path": mnt, "readonly": staticmethod(readonly)})
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def _big_state(cfg: Config, step: int) -> dict:
    return {"step": step, "config": cfg.to_dict(), "model": {"w": torch.zeros(400_000)}}  # 1.6 MB: more than the disk


def _small_state(cfg: Config, step: int) -> dict:
    return {"step": step, "config": cfg.to_dict(), "model": {"w": torch.full((10,), float(step))}}


def test_a_full_disk_is_one_line_and_keeps_every_earlier_file(small_fs):
    cfg = get_config("tiny")
    folder = small_fs.path / "run" / "checkpoints"
    manager = ckpt.CheckpointManager(folder)
    manager.save(_small_state(cfg, 1), is_best=True)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(safe_io.OutputError) as err:
        manager.save(_big_state(cfg, 2), is_best=True)
    msg = str(err.value)
    assert err.value.errno == errno.ENOSPC and "no space left on" in msg and str(folder) in msg and "\n" not in msg
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, "an earlier file changed, or a temporary was left"
    assert ckpt.load_checkpoint(folder)["step"] == 1
    cfg_path = small_fs.path / "run" / "config.yaml"
    cfg.save(cfg_path)
    with pytest.raises(safe_io.OutputError, match="no space left on"):
        safe_io.atomic_write(small_fs.path / "run" / "history.json", b"x" * (2 << 20))
    assert Config.load(cfg_path) == cfg
    # and a nearly full disk is found before any work starts
    with pytest.raises(safe_io.OutputError, match="no space left on"):
        safe_io.check_output_folder(small_fs.path / "another_run", min_free=2 << 20)
    with pytest.raises(safe_io.OutputError, match="no space left on"):
        safe_io.check_output_file(small_fs.path / "out.wav", min_free=2 << 20)


def test_a_read_only_disk_is_found_before_work_and_refused_in_one_line(small_fs):
    cfg = get_config("tiny")
    folder = small_fs.path / "run"
    ckpt.save_checkpoint(folder / "checkpoints" / "step_00000001.pt", _small_state(cfg, 1))
    small_fs.readonly()
    for check in (
        lambda: safe_io.check_output_folder(folder),
        lambda: safe_io.check_output_folder(folder / "new"),
        lambda: safe_io.check_output_file(folder / "out.wav", suffixes=(".wav",)),
        lambda: ckpt.save_checkpoint(folder / "checkpoints" / "step_00000002.pt", _small_state(cfg, 2)),
        lambda: cfg.save(folder / "config.yaml"),
        lambda: runlock.lock_run_folder(folder),
        lambda: audio.save_wav(folder / "out.wav", torch.zeros(100), 22050),
    ):
        with pytest.raises(safe_io.OutputError) as err:
            check()
        assert err.value.errno == errno.EROFS and "read-only" in str(err.value) and "\n" not in str(err.value)
    assert ckpt.load_checkpoint(folder / "checkpoints")["step"] == 1  # still readable, still there


def test_preparing_a_corpus_on_a_full_disk_says_so_and_leaves_nothing_behind(small_fs, tmp_path):
    import io
    import tarfile

    from tacolib.corpus import ljspeech

    archive = tmp_path / "big.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = os.urandom(2 << 20)  # 2 MB that do not compress: more than the disk
        info = tarfile.TarInfo("LJSpeech-1.1/wavs/x.wav")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(safe_io.OutputError, match="no space left on") as err:
        ljspeech.extract(archive, small_fs.path / "LJ", progress=False)
    assert "\n" not in str(err.value) and "corrupt" not in str(err.value)
    assert list(small_fs.path.iterdir()) == []
    with pytest.raises(safe_io.OutputError, match="no space left on"):
        ljspeech.download(archive.as_uri(), small_fs.path / "dl" / "big.tar.gz", progress=False)
    assert not (small_fs.path / "dl" / "big.tar.gz").exists()


@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_every_command_refuses_a_full_or_read_only_output_in_one_line_before_work(small_fs, tmp_path, monkeypatch, capsys, disk):
    """train --out, synthesize -o, evaluate --json, quickstart --out: exit 2, one line, and
    nothing long started (the checkpoint named does not exist; the corpus is a tripwire)."""
    import tacolib.quickstart
    import tacolib.train
    from tacolib.cli import main

    def trip(*a, **k):
        raise AssertionError("long work started: the corpus was loaded")

    monkeypatch.setenv("TACOLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(tacolib.train, "load_datasets", trip)
    monkeypatch.setattr(tacolib.quickstart, "load_datasets", trip)
    fs = small_fs.path
    (fs / "ballast").write_bytes(b"x" * (700 << 10))  # less than MIN_FREE (1 MiB) left
    if disk == "read-only":
        (fs / "ballast").unlink()
        small_fs.readonly()
    said = "no space left on the device holding {}; free some space" if disk == "full" else "{} is on a read-only file system; choose a writable location"
    for argv, path in (
        (["train", "--out", str(fs / "run"), "--device", "cpu"], fs / "run"),
        (["synthesize", "Hi.", "-o", str(fs / "hi.wav"), "--checkpoint", str(tmp_path / "nowhere.pt")], fs / "hi.wav"),
        (["evaluate", "--json", str(fs / "m.json"), "--checkpoint", str(tmp_path / "nowhere.pt")], fs / "m.json"),
        (["quickstart", "--out", str(fs / "q"), "--device", "cpu"], fs / "q"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert said.format(path) in err, err
    assert sorted(p.name for p in fs.iterdir()) == ([] if disk == "read-only" else ["ballast"])


# ---- files from strangers -------------------------------------------------------------------------------------------------


def _loaders(tmp_path):
    """Every place tacolib opens a file someone may have handed it: name -> (kind of file, load)."""
    from tacolib.synthesize import load_model
    from tacolib.train import Trainer
    from tacolib.vocoder.wavenet import load_wavenet

    def trainer_resume(path):
        cfg = get_config("tiny")
        Trainer(cfg, tmp_path / "resumed", [None], [None], device="cpu", tensorboard=False, progress=False).load(path)

    return {
        "load_checkpoint": ("checkpoint", ckpt.load_checkpoint),
        "load_checkpoint (legacy format)": ("pickle", ckpt.load_checkpoint),
        "synthesize.load_model": ("checkpoint", load_model),
        "Trainer.load (resume)": ("torch", trainer_resume),
        "load_wavenet": ("wavenet", load_wavenet),
        "load_wavenet (legacy format)": ("pickle", load_wavenet),
    }


@pytest.mark.parametrize("loader", list(_loaders(Path("/nonexistent"))))
def test_every_loader_refuses_a_file_that_would_run_code(tmp_path, malicious, loader):
    kind, load = _loaders(tmp_path)[loader]
    path = malicious(tmp_path / "stranger.pt", kind)
    with pytest.raises((ckpt.CheckpointError, ValueError)) as err:
        load(path)
    assert not malicious.marker.exists(), f"{loader} ran the file's code"
    msg = str(err.value)
    assert "\n" not in msg and "stranger.pt" in msg and "only if you trust" in msg


def test_a_config_file_with_a_python_tag_is_refused_not_run(tmp_path):
    marker = tmp_path / "PAYLOAD_RAN"
    p = tmp_path / "config.yaml"
    p.write_text(f"train: !!python/object/apply:builtins.open ['{marker}', 'w']\n")
    with pytest.raises(ValueError, match="not plain YAML"):
        Config.load(p)
    with pytest.raises(ValueError, match="not plain YAML"):
        get_config("tiny").override([f"data.path=!!python/object/apply:builtins.open ['{marker}', 'w']"])
    assert not marker.exists()


def test_no_unsafe_load_anywhere_in_the_repository():
    """Every torch.load goes through safe_io.torch_load (weights_only=True); no pickle, no yaml.load."""
    offenders = []
    for folder in ("tacolib", "benchmarks", "tools", "solutions"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix not in (".py", ".ipynb") or path == REPO / "tacolib" / "safe_io.py":
                continue
            text = path.read_text(encoding="utf-8")
            for m in re.finditer(r"torch\.load\((?![^)]*weights_only=True)|pickle\.loads?\(|yaml\.(?:unsafe_)?load\(|allow_pickle=True", text):
                offenders.append(f"{path.relative_to(REPO)}: {m.group(0)}")
    assert not offenders, offenders
    assert "weights_only=True" in (REPO / "tacolib" / "safe_io.py").read_text()


# ---- kill -9 while extracting a corpus -------------------------------------------------------------------------------------

#: Extracts argv[1] into argv[2] and dies (SIGKILL) at argv[3]: "members" after two
#: archive members are written, "swap" with the previous corpus set aside and the new
#: one not yet in place.
EXTRACT_DRIVER = textwrap.dedent(
    """
    import os, signal, sys, tarfile
    from tacolib.corpus import ljspeech

    archive, dest, point = sys.argv[1:4]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    real_extract, real_replace, n = tarfile.TarFile.extract, os.replace, [0]

    def extract(self, *a, **k):
        n[0] += 1
        if point == "members" and n[0] == 3:
            die()
        return real_extract(self, *a, **k)

    def replace(src, dst):
        if point == "swap" and str(dst) == dest:
            die()
        return real_replace(src, dst)

    tarfile.TarFile.extract, os.replace = extract, replace
    ljspeech.extract(archive, dest, progress=False)
    """
)


def test_an_extraction_killed_anywhere_leaves_only_what_the_next_prepare_removes(tmp_path):
    import contextlib
    import fcntl
    import hashlib
    import io
    import tarfile

    from tacolib.corpus import ljspeech

    archive = tmp_path / "LJSpeech-1.1.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        files = {"metadata.csv": b"LJ900-0001|Hi.|Hi.\nLJ900-0002|Yes.|Yes.\n", "wavs/LJ900-0001.wav": b"RIFF", "wavs/LJ900-0002.wav": b"RIFF"}
        for name, data in files.items():
            info = tarfile.TarInfo(f"LJSpeech-1.1/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = tmp_path / "LJ"
    ljspeech.extract(archive, root, progress=False)  # a tacolib corpus, to be replaced by the killed runs
    killed = [subprocess.Popen([sys.executable, "-c", EXTRACT_DRIVER, str(archive), str(root), point], env=_env(), stderr=subprocess.PIPE, text=True)
              for point in ("members", "swap")]  # independent: at once, to keep the module CI-sized
    for p in killed:
        assert p.wait(timeout=120) == -signal.SIGKILL, p.stderr.read()[-2000:]
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".LJ."))
    assert len(left) == 2 and all(re.fullmatch(r"\.LJ\.[a-z0-9_]{8}\.partial", n) for n in left), left
    assert not root.exists(), "killed between the two renames: the previous corpus waits in the working folder"
    # not tacolib's to remove: a folder of another name, and one a live process works in
    (tmp_path / ".LJ.partial").mkdir()
    (tmp_path / ".LJ.partial" / "mine.txt").write_text("x")
    busy = tmp_path / ".LJ.busy0000.partial"
    busy.mkdir()
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another prepare holds it (flock: per open file, even in one process)
        ljspeech.prepare_ljspeech(root, url=archive.as_uri(), sha256=sha, expected_size=None, expected_utterances=2, progress=False)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    assert ljspeech.verify_corpus(root, 2) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".LJ.busy0000.partial", ".LJ.partial", "LJ", "LJSpeech-1.1.tar.bz2"]
    assert (tmp_path / ".LJ.partial" / "mine.txt").read_text() == "x"
