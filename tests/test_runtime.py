"""tacolib.runtime: seeding, devices and the one write-then-rename."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tacolib.runtime import atomic_path, atomic_write, resolve_device, seed_everything, setup


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_seed_everything_seeds_python_numpy_and_torch():
    seed_everything(3)
    a = _draws()
    seed_everything(3)
    assert _draws() == a
    seed_everything(4)
    assert _draws() != a
    info = setup(seed=3, threads=1)
    assert _draws() == a and info["seed"] == 3 and torch.get_num_threads() == 1, "setup seeds the same way"


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto == resolve_device(None) and auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no GPU"):
            resolve_device("cuda")


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    path = atomic_write(tmp_path / "sub" / "a.json", '{"x": 1}')
    assert path.read_text() == '{"x": 1}'
    atomic_write(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    with atomic_path(tmp_path / "m.npy", suffix=".npy") as tmp:
        np.save(tmp, np.arange(3))  # numpy keeps a name that ends in .npy
    assert np.load(tmp_path / "m.npy").tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "m.npy", "sub"]


def test_a_failed_write_leaves_the_old_file_as_it_was(tmp_path):
    path = atomic_write(tmp_path / "keep.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("crash while writing")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
