"""Test-session defaults shared by the unit tests and the nbval notebook runs.

`pytest` is the course's one test command, so it must be CI-sized by default: unless
the caller chose otherwise, notebooks and tests run with TACOLIB_FAST=1 (small corpus,
few training steps) and one torch thread per process. Set TACOLIB_FAST=0 to execute
the learner's full versions instead. nbval starts its kernels from this environment.
"""

import os

os.environ.setdefault("TACOLIB_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1" if os.environ["TACOLIB_FAST"] == "1" else "")
if not os.environ["OMP_NUM_THREADS"]:
    del os.environ["OMP_NUM_THREADS"]


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
