"""The course's trained Tacotron 2: one run folder that notebooks 06, 07, 10 and 11 share.

Notebook 09 trains the learner's model into :func:`run_dir`; the notebooks that listen
to it load it with :func:`load_course_model`. Where notebook 09 has not run yet but the
quickstart has, the quickstart's run is used instead::

    run folder                              written by
    <repo>/outputs/course/run               notebook 09 (the learner's full run)
    <repo>/outputs/course/fast-run          notebook 09 under TACOLIB_FAST=1 (never the learner's model)
    <repo>/outputs/quickstart/run           python -m tacolib quickstart (read here, never written)
    <repo>/outputs/course/stand-in          load_course_model, when there is no trained model yet

``TACOLIB_COURSE_DIR`` replaces ``<repo>/outputs/course`` (the test session's
``conftest.py`` points it to a temporary folder, so tests never touch a learner's
model) and then the quickstart's run is not looked at either.

A notebook revisited before notebook 09 still runs: :func:`load_course_model` says
what to run, then trains a **stand-in** (the ``tiny`` preset for ``STAND_IN_STEPS``
steps on TinySpeech's fast corpus, about half a minute, kept for the next notebook)
and says that its numbers show the method, not the lesson.

Examples
--------
>>> cm = load_course_model()
>>> cm.source, cm.step, cm.trained
('notebook 09', 612, True)
>>> out = cm.model.inference("Grace found seven old maps.")
"""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tacolib.checkpoint import latest_checkpoint
from tacolib.config import Config, get_config
from tacolib.progress import say
from tacolib.runtime import fast_mode, repo_root

__all__ = ["CourseModel", "STAND_IN_STEPS", "course_dir", "run_dir", "trained_run", "load_course_model"]

#: Training steps of the stand-in model used before notebook 09 has run.
STAND_IN_STEPS = 60


def course_dir() -> Path:
    """``TACOLIB_COURSE_DIR``, else ``<repo>/outputs/course``."""
    env = os.environ.get("TACOLIB_COURSE_DIR")
    return Path(env) if env else repo_root() / "outputs" / "course"


def run_dir(fast: bool | None = None) -> Path:
    """Where notebook 09 trains the course's model (``fast``: the CI-sized run's own folder).

    ``fast`` defaults to :func:`tacolib.runtime.fast_mode`.
    """
    return course_dir() / ("fast-run" if (fast_mode() if fast is None else fast) else "run")


def _has_checkpoint(run: Path) -> bool:
    return run.is_dir() and (latest_checkpoint(run / "checkpoints") is not None or (run / "checkpoints" / "best.pt").is_file())


def trained_run(fast: bool | None = None) -> Path | None:
    """The run folder of the course's trained model, or None when there is none yet.

    Notebook 09's :func:`run_dir` when it holds a checkpoint; else (full size, and no
    ``TACOLIB_COURSE_DIR``) the quickstart's ``outputs/quickstart/run`` when it does.
    """
    fast = fast_mode() if fast is None else fast
    candidates = [run_dir(fast)]
    if not fast and "TACOLIB_COURSE_DIR" not in os.environ:
        candidates.append(repo_root() / "outputs" / "quickstart" / "run")
    return next((c for c in candidates if _has_checkpoint(c)), None)


@dataclass
class CourseModel:
    """A loaded course model and where it came from.

    Attributes
    ----------
    model : Tacotron2
        In eval mode, on CPU.
    cfg : Config
        Its run's config (``cfg.data`` names its corpus).
    run : Path
        The run folder.
    step : int
        Training steps of the loaded checkpoint.
    source : str
        ``"notebook 09"``, ``"quickstart"`` or ``"stand-in"``.
    """

    model: torch.nn.Module
    cfg: Config
    run: Path
    step: int
    source: str

    @property
    def trained(self) -> bool:
        """False for the stand-in: its numbers show the method, not the lesson."""
        return self.source != "stand-in"

    def heldout(self):
        """The held-out split of its corpus (a ``TTSDataset``, mels cached)."""
        from tacolib.data import load_datasets

        return load_datasets(self.cfg, progress=False)["test"]


def _stand_in(folder: Path) -> Path:
    """Train (or find) the stand-in run: ``tiny`` on TinySpeech ``fast``, ``STAND_IN_STEPS`` steps."""
    from tacolib.train import Trainer

    if _has_checkpoint(folder):
        return folder
    cfg = get_config("tiny").override({
        "data.size": "fast", "train.batch_size": 8, "model.max_decoder_steps": 150,
        "train.val_every": 0, "train.ckpt_every": STAND_IN_STEPS, "train.keep_last": 1,
    })
    trainer = Trainer(cfg, folder, device="cpu", tensorboard=False, progress=False)
    try:
        trainer.fit(max_steps=STAND_IN_STEPS)
    finally:
        trainer.close()  # releases the run folder's lock even when training fails
    return folder


@contextmanager
def _own_randomness():
    """Leave python's, numpy's and torch's random streams as they were (a notebook's seeds stay valid)."""
    state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng():
            yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])


def load_course_model(stand_in: bool = True, fast: bool | None = None, verbose: bool = True) -> CourseModel | None:
    """The course's trained Tacotron 2 (:func:`trained_run`), or a stand-in when there is none.

    Parameters
    ----------
    stand_in : bool
        When no trained run exists, train (once; it is kept in
        ``course_dir() / "stand-in"``) and return the stand-in; False returns None.
    fast : bool, optional
        Default :func:`tacolib.runtime.fast_mode`.
    verbose : bool
        Say which model was loaded, or what to run to get the trained one.

    The caller's random streams (python, numpy, torch) are left as they were.
    """
    with _own_randomness():
        return _load(stand_in, fast_mode() if fast is None else fast, verbose)


def _load(stand_in: bool, fast: bool, verbose: bool) -> CourseModel | None:
    from tacolib.synthesize import load_model

    run = trained_run(fast)
    if run is not None:
        source = "notebook 09" if run == run_dir(fast) else "quickstart"
    else:
        where = run_dir(fast)
        if verbose:
            say(f"No trained Tacotron 2 yet: notebook 09 trains it into {where}"
                + ("" if fast or "TACOLIB_COURSE_DIR" in os.environ else " (or run `python -m tacolib quickstart`)") + ".")
        if not stand_in:
            return None
        folder = course_dir() / "stand-in"
        if verbose:
            say(f"Using a stand-in meanwhile: the tiny preset trained {STAND_IN_STEPS} steps on TinySpeech's fast corpus "
                f"({folder}). It has not learned to speak, so the numbers below show the method, not the lesson: "
                "come back after notebook 09.")
        run, source = _stand_in(folder), "stand-in"
    model, cfg = load_model(run, device="cpu")
    cm = CourseModel(model=model, cfg=cfg, run=run, step=int(model.checkpoint_step), source=source)
    if verbose and cm.trained:
        say(f"The course's Tacotron 2 from {source}: {run}, step {cm.step}.")
    return cm
