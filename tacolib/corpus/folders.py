"""Whose folder is it? The corpus destinations tacolib may write.

A corpus folder tacolib makes carries a marker (LJSpeech: :data:`MARKER`; TinySpeech:
its ``.build.json``). Only such a folder is replaced or rebuilt; a destination that is a
file, or a non-empty folder without the marker, is refused with
:class:`ForeignFolderError` (:func:`check_destination`) and nothing in it is touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from tacolib.safe_io import atomic_write

__all__ = ["MARKER", "ForeignFolderError", "write_marker", "has_marker", "check_destination"]

MARKER = ".tacolib-corpus"  # in every corpus folder tacolib extracted: "this folder is tacolib's to replace"


class ForeignFolderError(FileExistsError):
    """A corpus destination that is a file, or a non-empty folder tacolib did not make."""


def write_marker(root: str | Path, **info) -> Path:
    """Mark ``root`` as made by tacolib (a small JSON file, :data:`MARKER`); returns its path."""
    return atomic_write(Path(root) / MARKER, json.dumps({"made_by": "tacolib", **info}, indent=2) + "\n")


def has_marker(root: str | Path) -> bool:
    """True when ``root`` holds a :data:`MARKER` file that tacolib wrote."""
    try:
        return json.loads((Path(root) / MARKER).read_text(encoding="utf-8")).get("made_by") == "tacolib"
    except (OSError, ValueError, AttributeError):
        return False


def check_destination(root: str | Path, is_ours: Callable[[Path], bool] = has_marker, kind: str = "corpus folder", marker: str = MARKER) -> bool:
    """May tacolib build a corpus at ``root``?

    ``kind`` and ``marker`` name, for the message, the folder ``is_ours`` recognizes and
    the file it looks for.

    Returns
    -------
    bool
        False: ``root`` does not exist or is an empty folder (build it there). True: it
        holds a corpus tacolib made (``is_ours(root)``), which may be replaced.

    Raises
    ------
    ForeignFolderError
        ``root`` is a file, or a non-empty folder ``is_ours`` does not recognize. One
        line naming it; nothing is touched.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ForeignFolderError(f"{root} is a file, not a folder: choose an empty or new folder for the corpus")
    above = next((p for p in root.parents if p.exists() and not p.is_dir()), None)
    if above is not None:
        raise ForeignFolderError(f"cannot make a corpus at {root}: {above} is a file, not a folder")
    if not root.exists() or not any(root.iterdir()):
        return False
    if is_ours(root):
        return True
    raise ForeignFolderError(
        f"{root} is not empty and is not a {kind} tacolib made (no valid {marker} in it): refusing to write there, "
        "so nothing of yours is replaced; choose an empty or new folder for the corpus"
    )

