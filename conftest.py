"""Test-session defaults shared by the unit tests and the nbval notebook runs.

`pytest` is the course's one test command, so it must be CI-sized by default: unless
the caller chose otherwise, notebooks and tests run with TACOLIB_FAST=1 (small corpus,
few training steps) and one torch thread per process. Set TACOLIB_FAST=0 to execute
the learner's full versions instead. nbval starts its kernels from this environment.
"""

import os
import shutil
import tempfile

os.environ.setdefault("TACOLIB_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1" if os.environ["TACOLIB_FAST"] == "1" else "")
if not os.environ["OMP_NUM_THREADS"]:
    del os.environ["OMP_NUM_THREADS"]
# nbval reads a kernel's messages only after a cell has run, and what overflows ZeroMQ's
# queues meanwhile is dropped: a training cell whose tqdm bar redraws at every step (some
# 2,000 widget updates in notebook 09's 6.5-minute cell) can lose the kernel's last
# "idle" message, and nbval then fails the cell with "Timeout of 5 seconds exceeded
# waiting for output" (seen once in two full runs; a cell with 5,000 redraws fails every
# time). tqdm takes its defaults from TQDM_* variables: under test a bar redraws at most
# every 5 s. Learners' Jupyter reads the messages as they come and keeps tqdm's default.
os.environ.setdefault("TQDM_MININTERVAL", "5")
# The learner's modules that pass their checks in notebooks 03-07 are saved for notebook
# 08 (tacolib.checks.learner). A test session keeps them in a folder of its own, shared
# by its notebook kernels and removed at the end, never in the checkout's outputs/learner.
_LEARNER_TMP = None
if "TACOLIB_LEARNER_DIR" not in os.environ:
    _LEARNER_TMP = tempfile.mkdtemp(prefix="tacolib-learner-")
    os.environ["TACOLIB_LEARNER_DIR"] = _LEARNER_TMP
# Likewise the course's trained model (tacolib.course): notebook 09 trains it and 06, 07,
# 10 and 11 listen to it. Under test it lives in a folder of the session, never in
# outputs/course, and the quickstart's outputs/quickstart/run is not looked at.
_COURSE_TMP = None
if "TACOLIB_COURSE_DIR" not in os.environ:
    _COURSE_TMP = tempfile.mkdtemp(prefix="tacolib-course-")
    os.environ["TACOLIB_COURSE_DIR"] = _COURSE_TMP


def pytest_unconfigure(config):
    for tmp in (_LEARNER_TMP, _COURSE_TMP):
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def pytest_collectstart(collector):
    # Audio players (text/html with base64 WAV), widget views (random model ids)
    # and stderr (progress bars, warnings) are never compared.
    if getattr(collector, "fspath", None) is not None and collector.fspath.ext == ".ipynb":
        collector.skip_compare += (
            "text/html",
            "application/javascript",
            "application/vnd.jupyter.widget-view+json",
            "stderr",
        )
