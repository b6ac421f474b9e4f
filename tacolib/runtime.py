"""Run-time switches shared by notebooks, tests and scripts.

``TACOLIB_FAST=1`` (set by CI) shrinks corpora and step counts so the whole course
runs in minutes; without it every notebook runs the learner's full version. Both
paths execute the same code.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

_REPO_ROOT = Path(__file__).resolve().parents[1]


def fast_mode() -> bool:
    """True when ``TACOLIB_FAST`` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get("TACOLIB_FAST", "").strip().lower() in ("1", "true", "yes", "on")


def default_threads() -> int:
    """Torch threads to use: ``TACOLIB_THREADS`` when set, else 1.

    Small-op loops (a decoder step, a WaveNet sample, the tiny model's training step)
    get slower, not faster, when OpenMP threads outnumber free cores: on a 2-core
    machine with one other busy job, 2 threads made such loops 5-10x slower than 1
    (measured). A laptop always has other jobs, so the safe default is one thread;
    set ``TACOLIB_THREADS=2`` (or more) on an otherwise idle machine with spare cores.
    """
    env = os.environ.get("TACOLIB_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"TACOLIB_THREADS must be a whole number, got {env!r}") from None
    return 1


def setup(seed: int = 0, threads: int | None = None) -> dict:
    """Seed every RNG (python, numpy, torch) and set torch's thread count.

    Returns a small dict describing the run (for a notebook's first cell).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    n = threads if threads is not None else default_threads()
    torch.set_num_threads(n)
    return {"seed": seed, "threads": n, "fast": fast_mode(), "torch": torch.__version__}


def repo_root() -> Path:
    """The checkout this package was installed from (editable installs)."""
    return _REPO_ROOT


def data_dir() -> Path:
    """Where corpora and caches live: ``TACOLIB_DATA``, else ``<repo>/data``."""
    env = os.environ.get("TACOLIB_DATA")
    p = Path(env) if env else _REPO_ROOT / "data"
    p.mkdir(parents=True, exist_ok=True)
    return p


def ljspeech_sample_dir() -> Path | None:
    """The 32-utterance LJSpeech sample beside the checkout, or None when absent.

    ``TACOLIB_LJSPEECH_SAMPLE`` overrides the default ``<repo>/../shared/ljspeech-sample``.
    """
    env = os.environ.get("TACOLIB_LJSPEECH_SAMPLE")
    p = Path(env) if env else _REPO_ROOT.parent / "shared" / "ljspeech-sample"
    return p if (p / "metadata.csv").is_file() else None


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically: a temporary file beside it, then :func:`os.replace`.

    A reader sees the old file or the new one, never half of one; the folder is created
    when needed. Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
