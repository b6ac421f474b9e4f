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

Writes go through :func:`tacolib.safe_io.atomic_open`: a temporary file in the same
folder, flushed to disk, then renamed over the destination (atomic on POSIX and
Windows). A crash, a Ctrl-C or a ``kill -9`` mid-write leaves the previous checkpoint
intact, never half a file; the orphaned ``.<name>.<random>.tmp`` is removed when the
run's :class:`CheckpointManager` is next created. A full or read-only disk is one line
(:class:`tacolib.safe_io.OutputError`).

Only tensors, numbers, strings, lists, tuples and dicts are stored, so checkpoints
load with ``torch.load(weights_only=True)`` (:func:`tacolib.safe_io.torch_load`):
opening a checkpoint never runs code, and a file that would is refused with the whole
"only if you trust it" advice. A checkpoint whose config does not parse (an unknown
key, a value of the wrong type) is refused at load, naming the file and the key.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tacolib import safe_io
from tacolib.config import Config

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
    "load_weights",
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

    Raises
    ------
    tacolib.safe_io.OutputError
        No space left, a read-only or forbidden location (one line naming ``path``);
        the previous file at ``path`` is kept.
    """
    path = Path(path)
    state = {"format": FORMAT, "version": VERSION, **state}
    with safe_io.atomic_open(path) as f:
        torch.save(state, f)
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
        The file is missing, truncated/corrupt, would run code when unpickled, is not
        a tacolib checkpoint, has a malformed config, or comes from an incompatible
        config. One line naming the file and the problem.
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
        state = safe_io.torch_load(path, map_location=map_location)
    except safe_io.UnsafeFileError as e:
        raise CheckpointError(str(e)) from None
    except safe_io.UnreadableFileError as e:
        raise CheckpointError(str(e).replace("is not a readable torch file", "is not a readable checkpoint", 1)) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tacolib checkpoint (no 'format: {FORMAT}' entry)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {state['version']}; this tacolib reads up to {VERSION}")
    for key in ("step", "config", "model"):
        if key not in state:
            raise CheckpointError(f"{path} is incomplete: no {key!r} entry")
    try:
        Config.from_dict(state["config"])
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: its config is malformed: {e}") from None
    state["path"] = str(path)
    if config is not None:
        check_compatible(state, config)
    return state


def load_weights(model: torch.nn.Module, path: str | Path, config: Config | None = None, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint's model weights into ``model`` (checked against ``config``); returns the whole state.

    Raises
    ------
    CheckpointError
        Missing or foreign file, an incompatible config, or weights of another shape.
    """
    state = load_checkpoint(path, map_location=map_location, config=config)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise CheckpointError(f"{state['path']}: the weights do not fit this model: {str(e).splitlines()[0]}") from None
    return state


def checkpoint_config(state: dict[str, Any]) -> Config:
    """The :class:`Config` a checkpoint was trained with."""
    return Config.from_dict(state["config"])


def check_compatible(state: dict[str, Any], config: Config) -> None:
    """Refuse a checkpoint whose model or audio settings differ from ``config``.

    Training settings (learning rate, batch size, ...) may change between runs; the
    network's shape, the meaning of its mels and what its tokens are
    (``text.input``: characters or phonemes) may not. A key the checkpoint's config
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
    saved_input = saved.get("text", {}).get("input", "chars")  # checkpoints from before phonemes read characters
    if saved_input != config.text.input:
        diffs.append(f"text.input: checkpoint {saved_input!r} vs config {config.text.input!r}")
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

    Attributes
    ----------
    orphans_removed : list of Path
        Temporaries of saves killed mid-write (``.step_*.pt.<random>.tmp``,
        ``.best.pt.<random>.tmp``) found at construction and removed; nothing else in
        the folder is touched. Construct the manager where no other process saves into
        the same folder (the trainer holds the run folder's lock, :mod:`tacolib.runlock`).
    """

    def __init__(self, folder: str | Path, keep_last: int = 3):
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        self.folder = Path(folder)
        self.keep_last = keep_last
        self.orphans_removed = safe_io.remove_orphans(self.folder, self.owns)

    def owns(self, name: str) -> bool:
        """True for the file names this manager writes (``step_<n>.pt``, ``best.pt``)."""
        return name == self.best_path.name or _STEP_FILE.match(name) is not None

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

        ``best.pt`` is written first: a process killed between the two files then
        resumes from the previous step file and replays to the same best, whereas the
        other order would resume from a step file whose ``best`` claims a ``best.pt``
        that was never written. Older step files beyond ``keep_last`` are deleted after
        the new one is safely on disk.
        """
        if is_best:
            save_checkpoint(self.best_path, state)
        path = save_checkpoint(self.path_for(int(state["step"])), state)
        for old in self.step_files()[: -self.keep_last]:
            old.unlink(missing_ok=True)
        return path

    def latest(self) -> Path | None:
        return latest_checkpoint(self.folder)
