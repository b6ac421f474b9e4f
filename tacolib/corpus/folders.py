"""Whose folder is it? Corpus destinations tacolib may write, and what it leaves behind.

A corpus folder tacolib makes carries a marker (LJSpeech: :data:`MARKER`; TinySpeech:
its ``.build.json``). Only such a folder is replaced or rebuilt; a destination that is a
file, or a non-empty folder without the marker, is refused with
:class:`ForeignFolderError` (:func:`check_destination`) and nothing in it is touched.

An extraction works beside its destination ``<parent>/<name>``, in a hidden folder of
its own (:func:`working_folder`)::

    <parent>/.<name>.<8 chars>.partial/files/      the archive's files, until complete
    <parent>/.<name>.<8 chars>.partial/previous/   the tacolib corpus being replaced, for a moment

The process holds that folder (``flock``) while it works in it and removes it at the
end. A ``kill -9`` leaves it behind; :func:`remove_leftovers` removes, at the next
``prepare``, the folders of exactly this form that no live process holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from tacolib.safe_io import atomic_write

__all__ = ["MARKER", "ForeignFolderError", "write_marker", "has_marker", "check_destination", "working_folder", "remove_leftovers"]

logger = logging.getLogger("tacolib.corpus")

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


# ---- working folders beside a destination ------------------------------------------------------------


def _pattern(dest: Path) -> re.Pattern:
    # tempfile.mkdtemp's names: prefix + 8 characters of [a-z0-9_] + suffix
    return re.compile(rf"^\.{re.escape(dest.name)}\.[a-z0-9_]{{8}}\.partial$")


@contextlib.contextmanager
def _held(folder: Path) -> Iterator[bool]:
    """Hold ``folder`` (an exclusive ``flock`` on the folder itself) for the block;
    yields False, holding nothing, when another live process holds it."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # drops the lock


@contextlib.contextmanager
def working_folder(dest: str | Path) -> Iterator[Path]:
    """A fresh hidden folder ``.<name>.<8 chars>.partial`` beside ``dest``, held by this
    process while the block runs (so :func:`remove_leftovers` in another process leaves
    it alone) and removed, with whatever it still holds, when the block ends."""
    dest = Path(dest)
    folder = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        with _held(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_leftovers(dest: str | Path) -> list[Path]:
    """Remove the working folders (:func:`working_folder`) a killed extraction left beside ``dest``.

    Only folders named exactly ``.<dest name>.<8 chars>.partial`` are touched, and never
    one a live process holds. Returns the removed folders.
    """
    dest = Path(dest)
    if not dest.parent.is_dir():
        return []
    pattern, removed = _pattern(dest), []
    for p in sorted(dest.parent.iterdir()):
        if not pattern.match(p.name) or p.is_symlink() or not p.is_dir():
            continue
        with _held(p) as mine:
            if mine:  # else another prepare is working in it
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
                logger.info("removed %s, left by an interrupted extraction", p)
    return removed
