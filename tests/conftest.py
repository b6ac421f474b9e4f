"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

import tacolib


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same RNG state and one torch thread."""
    tacolib.setup(seed=0, threads=1)


@pytest.fixture(autouse=True)
def _learner_dir(tmp_path, monkeypatch):
    """Modules that pass a check in a test are saved in the test's own folder, never where notebooks look."""
    monkeypatch.setenv("TACOLIB_LEARNER_DIR", str(tmp_path / "learner"))


@pytest.fixture
def ljspeech_sample():
    """Path to the 32-utterance LJSpeech sample; skips the test when it is absent."""
    path = tacolib.ljspeech_sample_dir()
    if path is None:
        pytest.skip("LJSpeech sample not found at ../shared/ljspeech-sample (set TACOLIB_LJSPEECH_SAMPLE)")
    return path


@pytest.fixture
def paper_cfg():
    return tacolib.get_config("paper")


@pytest.fixture
def tiny_cfg():
    return tacolib.get_config("tiny")


class _Payload:
    """Unpickling this object opens (creates) ``marker``: a stand-in for any code a stranger's file could run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import builtins

        return (builtins.open, (self.marker, "w"))


@pytest.fixture
def malicious(tmp_path):
    """``make(path, kind)`` writes a file whose unpickling would create ``marker``.

    Kinds: ``"torch"`` (a ``torch.save`` zip file), ``"pickle"`` (torch's legacy non-zip
    format, a plain pickle stream ``torch.load`` also reads), ``"checkpoint"`` (a torch file that looks like a
    tacolib checkpoint, with the payload in its config), ``"wavenet"`` (the same for a
    WaveNet checkpoint), ``"npy"`` (a numpy object array). ``make`` first proves the
    payload works: an unsafe load does create the marker (then removed), so a test that
    asserts the marker stays absent can fail.
    """
    import numpy as np
    import torch

    marker = tmp_path / "PAYLOAD_RAN"

    def make(path, kind="torch"):
        evil = _Payload(marker)
        if kind == "torch":
            torch.save({"model": evil}, path)
        elif kind == "pickle":
            torch.save({"model": evil}, path, _use_new_zipfile_serialization=False)
        elif kind == "checkpoint":
            torch.save({"format": "tacolib-checkpoint", "version": 1, "step": 1, "config": evil, "model": {}}, path)
        elif kind == "wavenet":
            torch.save({"wavenet_config": evil, "state_dict": {}}, path)
        elif kind == "npy":
            np.save(path, np.array([evil, 1], dtype=object), allow_pickle=True)
        else:
            raise ValueError(kind)
        if kind == "npy":
            np.load(path, allow_pickle=True)
        else:
            torch.load(path, weights_only=False)
        assert marker.exists(), "the payload does not run: the test would prove nothing"
        marker.unlink()
        return path

    make.marker = marker
    return make
