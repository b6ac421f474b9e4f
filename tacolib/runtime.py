"""The process around the model: switches, seeds, threads, devices, folders.

``TACOLIB_FAST=1`` (set by CI) shrinks corpora and step counts so the whole course
runs in minutes; without it every notebook runs the learner's full version. Both
paths execute the same code.

Every module that needs one of these facts imports it from here: :func:`seed_everything`
(the one seeding routine), :func:`resolve_device` (``"auto"`` -> GPU or CPU; inference
needs it as much as training does), :func:`init_distributed` (the process group
``torchrun`` describes), :class:`StopRequest` (Ctrl-C as a flag), :func:`data_dir`
(where corpora and caches live). Files are written whole or not at all through
:mod:`tacolib.safe_io`.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

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


def seed_everything(seed: int) -> None:
    """Seed every global RNG a run draws from: python's ``random``, numpy's and torch's (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def setup(seed: int = 0, threads: int | None = None) -> dict:
    """Seed every RNG (:func:`seed_everything`) and set torch's thread count.

    Returns a small dict describing the run (for a notebook's first cell).
    """
    seed_everything(seed)
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


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` -> the local GPU when there is one (per ``LOCAL_RANK``), else CPU.

    Other forms: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (``"mps"`` on Apple silicon), or a
    ``torch.device``.

    Raises
    ------
    ValueError
        One line: not a device (``"gpu"``, ``"cpu:x"``), naming the valid forms; or a
        GPU that torch does not see (none at all, or ``cuda:N`` beyond the last one).
    """
    forms = "use auto, cpu, cuda or cuda:N (mps on Apple silicon)"
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{str(device)!r} is not a device: {forms}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{str(device)!r} asked for, but torch sees no GPU (torch.cuda.is_available() is False): use cpu or auto")
        n = torch.cuda.device_count()
        if device.index is not None and device.index >= n:
            raise ValueError(f"{str(device)!r} asked for, but torch sees {n} GPU(s): cuda:0 to cuda:{n - 1}")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{str(device)!r} asked for, but this machine has no Apple GPU: use cpu or auto")
    elif device.type != "cpu":
        raise ValueError(f"{str(device)!r} is not a device tacolib runs on: {forms}")
    return device


def init_distributed() -> tuple[int, int]:
    """Join the process group ``torchrun`` describes in the environment.

    ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT``; NCCL is used on GPUs, gloo on CPU. Without them (a plain
    ``python`` run) this does nothing.

    Returns
    -------
    (rank, world_size) : tuple of int
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend=backend, init_method="env://")
    return dist.get_rank(), dist.get_world_size()


class StopRequest:
    """Turns the first SIGINT/SIGTERM into a flag the loop checks between steps.

    A second Ctrl-C falls through to Python's default (KeyboardInterrupt at once).
    Outside the main thread (where handlers cannot be installed) it does nothing and
    a raw KeyboardInterrupt is for the caller to handle (the trainer's ``except``).
    """

    def __init__(self):
        self.requested = False
        self._old = {}

    def _handler(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False
