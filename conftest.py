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
# The learner's modules that pass their checks in notebooks 03-07 are saved for notebook
# 08 (tacolib.checks.learner). A test session keeps them in a folder of its own, shared
# by its notebook kernels and removed at the end, never in the checkout's outputs/learner.
_LEARNER_TMP = None
if "TACOLIB_LEARNER_DIR" not in os.environ:
    _LEARNER_TMP = tempfile.mkdtemp(prefix="tacolib-learner-")
    os.environ["TACOLIB_LEARNER_DIR"] = _LEARNER_TMP


def pytest_unconfigure(config):
    if _LEARNER_TMP is not None:
        shutil.rmtree(_LEARNER_TMP, ignore_errors=True)


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
