"""tacolib.safe_io: atomic writes, output errors that name the path, loads that never run code."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from tacolib import safe_io


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "a.json"
    safe_io.atomic_write(path, "first")
    safe_io.atomic_write(path, b"second")
    assert path.read_text() == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


def test_files_get_the_umasks_permissions_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        path = safe_io.atomic_write(tmp_path / "shared.pt", b"x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = tmp_path / "a.bin"
    safe_io.atomic_write(path, b"old")
    with pytest.raises(ZeroDivisionError):
        with safe_io.atomic_open(path) as f:
            f.write(b"new, half")
            1 / 0
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


@pytest.mark.parametrize(
    "code, words",
    [(errno.ENOSPC, "no space left on"), (errno.EROFS, "read-only"), (errno.EACCES, "permission denied"), (errno.EDQUOT, "quota")],
)
def test_disk_errors_become_one_line_naming_the_path(tmp_path, monkeypatch, code, words):
    path = tmp_path / "out.bin"
    safe_io.atomic_write(path, b"old")

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(safe_io.os, "fsync", fail)
    with pytest.raises(safe_io.OutputError) as err:
        safe_io.atomic_write(path, b"new")
    msg = str(err.value)
    assert words in msg and str(path) in msg and "\n" not in msg and err.value.errno == code
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_other_os_errors_pass_through_unchanged(tmp_path, monkeypatch):
    def fail(fd):
        raise OSError("something else")

    monkeypatch.setattr(safe_io.os, "fsync", fail)
    with pytest.raises(OSError, match="something else") as err:
        safe_io.atomic_write(tmp_path / "x", b"")
    assert not isinstance(err.value, safe_io.OutputError)


def test_a_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(safe_io.OutputError, match=r"f.*is a file, not a folder"):
        safe_io.atomic_write(tmp_path / "f" / "out.json", "{}")
    assert (tmp_path / "f").read_text() == "x"


def test_temporary_names_and_orphan_cleaning(tmp_path):
    with safe_io.atomic_open(tmp_path / "x.pt") as f:
        tmp_name = os.path.basename(f.name)
        assert safe_io.is_temporary_of(tmp_name, "x.pt")
    orphans = [".x.pt.abcd1234.tmp", ".y.pt.k_9z0000.tmp"]
    kept = ["x.pt", ".x.pt.tmp", ".z.pt.abcd1234.tmp", "x.pt.abcd1234.tmp", ".x.pt.abcd1234.tmp.bak"]
    for name in orphans + kept:
        (tmp_path / name).write_bytes(b"")
    removed = safe_io.remove_orphans(tmp_path, lambda name: name in ("x.pt", "y.pt"))
    assert sorted(p.name for p in removed) == sorted(orphans)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_check_output_file(tmp_path):
    assert safe_io.check_output_file(tmp_path / "new" / "deeper" / "a.wav", suffixes=(".wav",)) == tmp_path / "new" / "deeper" / "a.wav"
    assert not (tmp_path / "new").exists(), "the check creates nothing"
    with pytest.raises(safe_io.OutputError, match=r"is a folder.*file name"):
        safe_io.check_output_file(tmp_path)
    with pytest.raises(safe_io.OutputError, match=r"a.mp3: .*\.wav"):
        safe_io.check_output_file(tmp_path / "a.mp3", suffixes=(".wav",))
    (tmp_path / "f").write_text("x")
    with pytest.raises(safe_io.OutputError, match=r"f is a file, not a folder"):
        safe_io.check_output_file(tmp_path / "f" / "a.wav")
    with pytest.raises(safe_io.OutputError, match=r"f is a file, not a folder"):
        safe_io.check_output_folder(tmp_path / "f")
    assert safe_io.check_output_folder(tmp_path / "run") == tmp_path / "run"


@pytest.mark.parametrize("kind", ["torch", "pickle"])
def test_torch_load_refuses_code_in_one_line_with_the_whole_advice(tmp_path, malicious, kind):
    path = malicious(tmp_path / "evil.pt", kind)
    with pytest.raises(safe_io.UnsafeFileError) as err:
        safe_io.torch_load(path)
    msg = str(err.value)
    assert not malicious.marker.exists()
    assert "\n" not in msg and "evil.pt" in msg
    assert "only if you trust" in msg and "torch.load" in msg and "weights_only=False" in msg


def test_torch_load_reads_plain_files_and_names_broken_ones(tmp_path):
    torch.save({"w": torch.ones(2), "n": 3, "s": "x", "t": (1, 2)}, tmp_path / "ok.pt")
    assert safe_io.torch_load(tmp_path / "ok.pt")["n"] == 3
    (tmp_path / "cut.pt").write_bytes((tmp_path / "ok.pt").read_bytes()[:100])
    with pytest.raises(safe_io.UnreadableFileError, match="cut.pt") as err:
        safe_io.torch_load(tmp_path / "cut.pt")
    assert "\n" not in str(err.value)


def test_read_text_names_the_line_that_is_not_utf8(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b"fine\nstill fine\nna\xefve\n")
    with pytest.raises(ValueError, match=r"m.csv:3: not UTF-8 \(byte 0xef at column 3\)"):
        safe_io.read_text(p)
    p.write_text("caf\u00e9\n", encoding="utf-8")
    assert safe_io.read_text(p) == "caf\u00e9\n"


def test_numpy_arrays_and_caches_that_skip_the_fsyncs(tmp_path, monkeypatch):
    """np.save into atomic_open (the mel cache); durable=False renames just as atomically
    but skips both fsyncs (file and folder), which durable writes do."""
    import numpy as np

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(safe_io.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with safe_io.atomic_open(tmp_path / "m.npy", durable=False) as f:
        np.save(f, np.arange(3))
    assert np.load(tmp_path / "m.npy").tolist() == [0, 1, 2] and synced == []
    safe_io.atomic_write(tmp_path / "d.txt", "x")
    assert len(synced) == 2, "a durable write syncs the file and its folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt", "m.npy"]
