"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint is one ``torch.save`` file holding a plain dict:

===============  ==============================================================
key              value
===============  ==============================================================
``format``       ``"tacolib-checkpoint"`` (refuses random ``.pt`` files)
``version``      format version (1)
``step``         optimizer steps taken
``config``       ``Config.to_dict()`` of the run
``model``        ``model.state_dict()``
``optimizer``    ``optimizer.state_dict()`` (Adam moments)
``scheduler``    learning-rate scheduler state
``scaler``       AMP ``GradScaler`` state, or None
``rng``          python, numpy, torch (and CUDA) generator states
``data``         where the data order stands: ``{"epoch", "batch"}``
``metrics``      the last validation metrics (may be empty)
``best``         the best validation loss so far (or None)
``elapsed``      wall seconds the run has taken so far (all sessions)
``history``      the logged scalars, ``{"train": [...], "val": [...]}``
===============  ==============================================================

Writes go to a temporary file in the same folder, are flushed to disk, then renamed
over the destination with :func:`os.replace` (atomic on POSIX and Windows): a crash or
a Ctrl-C mid-write leaves the previous checkpoint intact, never half a file.

Only tensors, numbers, strings, lists, tuples and dicts are stored, so checkpoints
load with ``torch.load(weights_only=True)``: opening a checkpoint never runs code.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tacolib.config import Config
from tacolib.runtime import atomic_path

FORMAT = "tacolib-checkpoint"
VERSION = 1
# Sections of the config that must match for a checkpoint to fit a model: the
# parameter shapes (model), and what the mels mean (audio).
COMPATIBLE_SECTIONS = ("model", "audio")
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")

__all__ = [
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "check_compatible",
    "rng_state",
    "set_rng_state",
    "CheckpointManager",
    "latest_checkpoint",
]


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or belongs to a different model."""


# ---- RNG state -------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Every random generator's state, as tensors and plain python values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators saved by :func:`rng_state`."""
    random.setstate(_tuplify(state["python"]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x):
    # random.setstate needs tuples; a round trip through some formats gives lists
    if isinstance(x, (list, tuple)):
        return tuple(_tuplify(v) for v in x)
    return x


# ---- save / load -----------------------------------------------------------------


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (a dict, see the module docstring) to ``path`` atomically.

    ``format`` and ``version`` are added. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "version": VERSION, **state}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename: a power cut cannot leave an empty file
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu", config: Config | None = None) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
        A checkpoint file, or a run folder (its newest checkpoint is used).
    map_location : str or torch.device
        Where tensors go (``"cpu"`` by default, so GPU checkpoints open anywhere).
    config : Config, optional
        When given, the checkpoint must come from a compatible config
        (see :func:`check_compatible`).

    Raises
    ------
    CheckpointError
        The file is missing, truncated/corrupt, not a tacolib checkpoint, or from an
        incompatible config. The message names the file and the problem.
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"no checkpoint found in folder {path}")
        path = found
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # zip/pickle errors from a truncated or foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt?): {type(e).__name__}: {_first_line(e)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tacolib checkpoint (no 'format: {FORMAT}' entry)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {state['version']}; this tacolib reads up to {VERSION}")
    for key in ("step", "config", "model"):
        if key not in state:
            raise CheckpointError(f"{path} is incomplete: no {key!r} entry")
    state["path"] = str(path)
    if config is not None:
        check_compatible(state, config)
    return state


def _first_line(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0][:200] if s else ""


def checkpoint_config(state: dict[str, Any]) -> Config:
    """The :class:`Config` a checkpoint was trained with."""
    return Config.from_dict(state["config"])


def check_compatible(state: dict[str, Any], config: Config) -> None:
    """Refuse a checkpoint whose model or audio settings differ from ``config``.

    Training settings (learning rate, batch size, ...) may change between runs; the
    network's shape and the meaning of its mels may not. A key the checkpoint's config
    does not have (it was saved before the key existed) counts as its default, which
    is what the code did then.

    Raises
    ------
    CheckpointError
        Listing every differing ``section.key`` with both values.
    """
    saved = state["config"]
    current = config.to_dict()
    defaults = Config().to_dict()  # a key a checkpoint lacks is older than the key: it meant the default
    diffs = []
    for section in COMPATIBLE_SECTIONS:
        a, b = {**defaults.get(section, {}), **saved.get(section, {})}, current[section]
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key) and not (isinstance(a.get(key), (list, tuple)) and list(a.get(key)) == list(b.get(key) or [])):
                diffs.append(f"{section}.{key}: checkpoint {a.get(key)!r} vs config {b.get(key)!r}")
    if diffs:
        where = state.get("path", "checkpoint")
        shown = "; ".join(diffs[:6]) + (f"; ... ({len(diffs)} differences)" if len(diffs) > 6 else "")
        raise CheckpointError(f"{where} was trained with a different config: {shown}")


# ---- a run folder's checkpoints -------------------------------------------------------


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest ``step_*.pt`` (or ``last.pt``) in ``folder``, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    best_step, best = -1, None
    for p in folder.iterdir():
        m = _STEP_FILE.match(p.name)
        if m and int(m.group(1)) > best_step:
            best_step, best = int(m.group(1)), p
    if best is None and (folder / "last.pt").is_file():
        best = folder / "last.pt"
    return best


class CheckpointManager:
    """Keeps a run folder's checkpoints: the last ``keep_last`` and the best.

    Files: ``step_00001000.pt`` (one per save, oldest deleted beyond ``keep_last``)
    and ``best.pt`` (a copy of the checkpoint with the lowest validation loss).

    Parameters
    ----------
    folder : str or Path
        The run's checkpoint folder (created when needed).
    keep_last : int
        How many ``step_*.pt`` files to keep (>= 1).
    """

    def __init__(self, folder: str | Path, keep_last: int = 3):
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        self.folder = Path(folder)
        self.keep_last = keep_last

    def path_for(self, step: int) -> Path:
        return self.folder / f"step_{step:08d}.pt"

    @property
    def best_path(self) -> Path:
        return self.folder / "best.pt"

    def step_files(self) -> list[Path]:
        """Existing ``step_*.pt`` files, oldest first."""
        if not self.folder.is_dir():
            return []
        files = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := _STEP_FILE.match(p.name))]
        return [p for _, p in sorted(files)]

    def save(self, state: dict[str, Any], is_best: bool = False) -> Path:
        """Write ``state`` as ``step_<step>.pt``; also ``best.pt`` when ``is_best``.

        Older step files beyond ``keep_last`` are deleted after the new one is safely
        on disk.
        """
        path = save_checkpoint(self.path_for(int(state["step"])), state)
        if is_best:
            save_checkpoint(self.best_path, state)
        for old in self.step_files()[: -self.keep_last]:
            old.unlink(missing_ok=True)
        return path

    def latest(self) -> Path | None:
        return latest_checkpoint(self.folder)
