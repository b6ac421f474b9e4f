"""tacolib.runtime: seeding and devices (atomic writes: tests/test_safe_io.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tacolib.runtime import resolve_device, seed_everything, setup


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
    else:
        with pytest.raises(ValueError, match=rf"sees {torch.cuda.device_count()} GPU"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize("bad", ["gpu", "cpu:x", "CPU", "", "meta", "cuda:-1"])
def test_a_bad_device_is_one_line_naming_the_valid_forms(bad):
    """torch's own errors ("Expected one of cpu, cuda, ... device type at start of device
    string: gpu", "Invalid device string") or a later failure, as one ValueError."""
    with pytest.raises(ValueError) as err:
        resolve_device(bad)
    msg = str(err.value)
    assert "\n" not in msg and repr(bad) in msg and ("auto, cpu, cuda or cuda:N" in msg or "no GPU" in msg)
