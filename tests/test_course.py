"""The course's run folder (tacolib.course): where notebook 09 trains, what 06-11 load, and the stand-in."""

from __future__ import annotations

import pytest
import torch

import tacolib
from tacolib import course
from tacolib.train import Trainer


def _train(folder, steps=2):
    """A two-step run of the fast corpus in ``folder`` (what notebook 09 would leave there)."""
    cfg = tacolib.get_config("tiny").override({"data.size": "fast", "train.batch_size": 4, "train.val_every": 0, "train.ckpt_every": steps})
    trainer = Trainer(cfg, folder, device="cpu", tensorboard=False, progress=False)
    trainer.fit(max_steps=steps)
    trainer.close()
    return folder


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TACOLIB_COURSE_DIR", str(tmp_path / "course"))
    return tmp_path / "course"


def test_run_dir_keeps_the_fast_run_apart(course_dir):
    assert course.course_dir() == course_dir
    assert course.run_dir(fast=False) == course_dir / "run"
    assert course.run_dir(fast=True) == course_dir / "fast-run"


def test_the_test_session_never_uses_the_checkout(monkeypatch):
    # conftest.py points TACOLIB_COURSE_DIR to a temporary folder for the whole session
    assert not str(course.course_dir()).startswith(str(tacolib.runtime.repo_root() / "outputs"))


def test_nothing_trained_means_none_and_a_message(course_dir, capsys):
    assert course.trained_run(fast=False) is None
    assert course.load_course_model(stand_in=False, fast=False) is None
    assert "notebook 09 trains it into" in capsys.readouterr().out


def test_notebook_09s_run_is_found_and_loaded(course_dir, capsys):
    _train(course.run_dir(fast=False))
    assert course.trained_run(fast=False) == course_dir / "run"
    assert course.trained_run(fast=True) is None  # the fast run is another folder
    cm = course.load_course_model(fast=False)
    assert (cm.source, cm.step, cm.trained) == ("notebook 09", 2, True)
    assert not cm.model.training and len(cm.heldout()) > 0
    assert "notebook 09" in capsys.readouterr().out


def test_the_quickstart_run_is_used_only_outside_an_override(tmp_path, monkeypatch):
    monkeypatch.delenv("TACOLIB_COURSE_DIR", raising=False)
    monkeypatch.setattr(course, "repo_root", lambda: tmp_path)
    assert course.trained_run(fast=False) is None
    _train(tmp_path / "outputs" / "quickstart" / "run")
    assert course.trained_run(fast=False) == tmp_path / "outputs" / "quickstart" / "run"
    assert course.trained_run(fast=True) is None  # the fast version never reads the learner's runs
    assert course.load_course_model(fast=False, verbose=False).source == "quickstart"
    _train(tmp_path / "outputs" / "course" / "run")
    assert course.load_course_model(fast=False, verbose=False).source == "notebook 09"  # 09's run comes first
    monkeypatch.setenv("TACOLIB_COURSE_DIR", str(tmp_path / "elsewhere"))
    assert course.trained_run(fast=False) is None


def test_stand_in_is_trained_once_and_said_to_be_one(course_dir, monkeypatch, capsys):
    monkeypatch.setattr(course, "STAND_IN_STEPS", 2)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    cm = course.load_course_model(fast=True)
    assert torch.equal(torch.rand(3), expected)  # the notebook's random stream is untouched
    assert (cm.source, cm.trained, cm.step, cm.run) == ("stand-in", False, 2, course_dir / "stand-in")
    assert "stand-in" in capsys.readouterr().out
    mtime = next((course_dir / "stand-in" / "checkpoints").glob("step_*.pt")).stat().st_mtime
    assert course.load_course_model(fast=True, verbose=False).source == "stand-in"
    assert next((course_dir / "stand-in" / "checkpoints").glob("step_*.pt")).stat().st_mtime == mtime  # re-used
