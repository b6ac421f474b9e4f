"""Where the learner's work is kept: the saved-modules folder and ``passed.json``.

A check that passes notes it here (:func:`record_pass`); notebook 08 reads it back
(:func:`passed`) to say which boxes of the model are the learner's.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from tacolib.runtime import repo_root
from tacolib.safe_io import atomic_write

__all__ = ["learner_dir", "passed", "record_pass"]


def learner_dir() -> Path:
    """The folder of saved modules: ``TACOLIB_LEARNER_DIR``, else ``<repo>/outputs/learner``."""
    env = os.environ.get("TACOLIB_LEARNER_DIR")
    return Path(env) if env else repo_root() / "outputs" / "learner"


def passed(folder: Path | None = None) -> dict:
    """``{exercise: {"notebook", "file", "time"}}`` for every exercise that passed (from ``passed.json``)."""
    path = (folder or learner_dir()) / "passed.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record_pass(name: str, notebook: str, file: str | None = None, folder: Path | None = None) -> None:
    """Note in ``passed.json`` that exercise ``name`` passed (``file``: its saved module, if any)."""
    folder = folder or learner_dir()
    record = passed(folder)
    record[name] = {"notebook": notebook, "file": file, "time": _dt.datetime.now().isoformat(timespec="seconds")}
    try:
        atomic_write(folder / "passed.json", json.dumps(record, indent=1, sort_keys=True) + "\n")
    except OSError:  # a read-only checkout must not break a notebook
        pass
