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
