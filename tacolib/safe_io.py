"""Files written whole or not at all, errors that name the path, loads that never run code.

Everything tacolib writes that a later step reads (checkpoints, configs, histories,
caches, reports) goes through :func:`atomic_open` / :func:`atomic_write`::

    <folder>/.<name>.<8 random chars>.tmp   written, flushed, fsync'ed
        ──os.replace──► <folder>/<name>     atomic: readers see the old file or the new one

A crash or a ``kill -9`` mid-write leaves the old file intact and, at worst, an orphaned
temporary whose name :func:`is_temporary_of` recognizes, so its owner can remove it at
its next start (:func:`remove_orphans`) without touching anything else.

Disk trouble becomes :class:`OutputError`, one line naming the path and the fix
("no space left on ...", "read-only", "permission denied", "a parent is a file"),
instead of a traceback from deep inside ``torch.save``. :func:`check_output_file` and
:func:`check_output_folder` find the same problems *before* long work starts.

Reading: :func:`torch_load` opens torch files with ``weights_only=True`` (tensors,
numbers, strings and containers only; a file that would run code is refused with
:class:`UnsafeFileError`, whose message carries torch's whole "only if you trust it"
advice in one line); :func:`read_text` decodes UTF-8 and names the file and line of a
bad byte.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

__all__ = [
    "OutputError",
    "as_output_error",
    "UnsafeFileError",
    "UnreadableFileError",
    "atomic_open",
    "atomic_write",
    "is_temporary_of",
    "remove_orphans",
    "check_output_file",
    "check_output_folder",
    "torch_load",
    "read_text",
]

# temporaries: ".<name>.<8 characters of [a-z0-9_]>.tmp" (the pattern tempfile.mkstemp also makes)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
MIN_FREE = 1 << 20  # bytes a destination must have free to pass check_output_*
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")

# errno -> what it means for the user, and what to do
_DISK_ERRORS = {
    errno.ENOSPC: ("no space left on the device holding {path}", "free some space or choose another location"),
    errno.EDQUOT: ("disk quota exceeded writing {path}", "free some space or choose another location"),
    errno.EROFS: ("{path} is on a read-only file system", "choose a writable location"),
    errno.EACCES: ("permission denied writing {path}", "choose a location you may write to"),
    errno.EPERM: ("permission denied writing {path}", "choose a location you may write to"),
}


class OutputError(OSError):
    """A location tacolib cannot write to: full, read-only, forbidden, or not a folder.

    An ``OSError`` (``errno`` kept) whose message is one line naming the path and the fix
    (``str(e)`` is that line, without the ``[Errno N]`` an ``OSError`` would print first).
    """

    def __str__(self) -> str:
        return self.strerror if self.strerror else super().__str__()


class UnsafeFileError(ValueError):
    """A torch file holding Python objects that loading would execute: refused, never run."""


class UnreadableFileError(ValueError):
    """A torch file that is truncated, corrupt, or not a torch file at all."""


def _output_error(e: OSError, path: Path) -> OSError:
    """``e`` as an :class:`OutputError` naming ``path`` when it is disk trouble, else ``e``."""
    if isinstance(e, OutputError):
        return e
    if e.errno in _DISK_ERRORS:
        what, fix = _DISK_ERRORS[e.errno]
        return OutputError(e.errno, f"{what.format(path=path)}; {fix}")
    if e.errno == errno.ENOTDIR or (e.errno == errno.EEXIST and _file_above(path) is not None):
        above = _file_above(path)
        return OutputError(errno.ENOTDIR, f"cannot write {path}: {above or path.parent} is a file, not a folder; choose another location")
    if e.errno == errno.EISDIR:
        return OutputError(errno.EISDIR, f"cannot write {path}: it is a folder; give a file name")
    return e


def as_output_error(e: BaseException, path: str | Path) -> OutputError | None:
    """``e`` as an :class:`OutputError` naming ``path`` when disk trouble (no space,
    read-only, permission, a parent that is a file) is behind it, else None.

    For writers that do not go through :func:`atomic_open` (a download, a tar extraction).
    """
    cause = _disk_cause(e)
    return None if cause is None else _output_error(cause, Path(path))


def _disk_cause(e: BaseException) -> OSError | None:
    """The disk error (ENOSPC, EROFS, ...) behind ``e``, if any: ``torch.save`` reports a
    full disk as a RuntimeError raised while handling the OSError ("unexpected pos")."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, OSError) and (e.errno in _DISK_ERRORS or e.errno in (errno.ENOTDIR, errno.EISDIR)):
            return e
        e, seen = e.__cause__ or e.__context__, seen + 1
    return None


def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is not a folder, else None."""
    for parent in Path(path).parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


# ---- writing ----------------------------------------------------------------------------


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new ``.<name>.<8 random chars>.tmp`` beside ``path``, created with the umask's
    permissions (``tempfile.mkstemp`` would make it private, 0600, and so the result)."""
    for _ in range(100):
        name = f".{path.name}.{''.join(secrets.choice(_ALPHABET) for _ in range(8))}.tmp"
        tmp = os.path.join(path.parent, name)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {path}")


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened or synced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """Open a temporary beside ``path``; on a clean exit it replaces ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        The destination file; missing parent folders are created.
    mode : {"wb", "w"}
        Binary or text (UTF-8).
    durable : bool
        Flush the file and its folder to the disk (``fsync``) so the write also survives
        a power cut. ``False`` keeps the rename atomic for crashes and kills of the
        process but skips the fsyncs (about 7 ms a file here): for caches that are
        recomputed when unreadable (the mel cache).

    Yields
    ------
    file
        Write to it (``torch.save(state, f)``, ``np.save(f, a)``, ``f.write(...)``).
        On an exception the temporary is removed and ``path`` is left as it was.

    Raises
    ------
    OutputError
        No space, read-only, permission denied, or a parent that is a file.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
    except OSError as e:
        err = _output_error(e, path)
        if err is e:
            raise
        raise err from None
    try:
        os.close(fd)
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:  # f.name: the temporary
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            _fsync_folder(path.parent)  # the rename itself survives a power cut
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        err = as_output_error(e, path)
        if err is not None:
            raise err from None
        raise


def atomic_write(path: str | Path, data: bytes | str, durable: bool = True) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; returns ``path``.

    Raises :class:`OutputError` on disk trouble (see :func:`atomic_open`, also for ``durable``).
    """
    with atomic_open(path, "wb", durable=durable) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def is_temporary_of(name: str, target: str | Callable[[str], bool]) -> bool:
    """True when file ``name`` is an :func:`atomic_open` temporary of ``target``.

    ``target`` is a file name (``"best.pt"``) or a predicate on file names.
    """
    m = _TEMPORARY.match(name)
    if m is None:
        return False
    return target(m["name"]) if callable(target) else m["name"] == target


def remove_orphans(folder: str | Path, target: str | Callable[[str], bool]) -> list[Path]:
    """Remove the temporaries a killed :func:`atomic_open` left in ``folder`` for ``target``.

    Only names of the exact form ``.<target>.<8 chars>.tmp`` are touched. Call it where
    no other process writes those targets at the same time (a run holding its folder's
    lock, :mod:`tacolib.runlock`). Returns the removed paths.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in folder.iterdir():
        if is_temporary_of(p.name, target) and p.is_file() and not p.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


# ---- checking a destination before long work ----------------------------------------


def _check_parents(path: Path, min_free: int) -> None:
    """Refuse when the nearest existing ancestor is a file, cannot be written to, or
    has less than ``min_free`` bytes free."""
    above = _file_above(path)
    if above is not None:
        raise OutputError(errno.ENOTDIR, f"cannot write {path}: {above} is a file, not a folder; choose another location")
    existing = next(p for p in [path, *path.parents] if p.exists())
    if existing.is_dir():
        try:  # a real probe: os.access() says yes to root even on chmod 555
            fd, probe = tempfile.mkstemp(prefix=".tacolib-probe.", dir=existing)
            os.close(fd)
            os.unlink(probe)
            st = os.statvfs(existing)
        except OSError as e:
            raise _output_error(e, path) from None
        if st.f_bavail * st.f_frsize < min_free:
            raise _output_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), path)


def check_output_file(path: str | Path, suffixes: tuple[str, ...] | None = None, min_free: int = MIN_FREE) -> Path:
    """Check, creating nothing, that a file can be written at ``path``.

    Parameters
    ----------
    path : str or Path
        A file to be written (missing parents are fine: they will be created).
    suffixes : tuple of str, optional
        Accepted file endings, e.g. ``(".wav",)``.
    min_free : int
        Bytes that must be free on its file system (default 1 MiB; pass an estimate
        of what will be written).

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        ``path`` is a folder, has another ending, sits below a file, or its location
        is read-only, forbidden or (nearly) full.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(errno.EISDIR, f"{path} is a folder; give a file name, e.g. {path / ('out' + (suffixes[0] if suffixes else ''))}")
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(errno.EINVAL, f"{path}: the file name must end in {' or '.join(suffixes)}")
    _check_parents(path, min_free)
    return path


def check_output_folder(path: str | Path, min_free: int = MIN_FREE) -> Path:
    """Check, creating nothing, that ``path`` is (or can become) a writable folder
    with at least ``min_free`` bytes free (default 1 MiB).

    Raises
    ------
    OutputError
        ``path`` or an ancestor is a file, or the location is read-only, forbidden or full.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(errno.ENOTDIR, f"{path} is a file, not a folder; choose another location")
    _check_parents(path, min_free)
    return path


# ---- reading ------------------------------------------------------------------------------


def torch_load(path: str | Path, map_location="cpu"):
    """``torch.load(path, weights_only=True)``: never runs code from the file.

    Raises
    ------
    UnsafeFileError
        The file holds Python objects that loading would execute. The one-line message
        names the file and what it asked for, and says how to load it anyway if you
        trust whoever made it.
    UnreadableFileError
        Truncated, corrupt, or not a torch file.
    """
    import pickle

    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        if "Weights only load failed" not in text:
            raise UnreadableFileError(f"{path} is not a readable torch file (truncated or corrupt?): {_first_line(text)}") from None
        asked = re.search(r"GLOBAL (\S+)", text) or re.search(r"(Unsupported operand \d+)", text)
        what = f" ({asked[1]})" if asked else ""
        raise UnsafeFileError(
            f"{path} was refused: it holds Python objects that would run code when loaded{what}, and tacolib opens only "
            "files of plain tensors and numbers. Load it with torch.load(path, weights_only=False) only if you trust "
            "whoever made it, because that runs any code the file contains."
        ) from None
    except Exception as e:  # zip errors, EOF, bad magic number
        raise UnreadableFileError(f"{path} is not a readable torch file (truncated or corrupt?): {type(e).__name__}: {_first_line(str(e))}") from None


def _first_line(text: str) -> str:
    lines = [s for s in text.strip().splitlines() if s.strip()]
    return lines[0][:300] if lines else ""


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path`` (a leading byte-order mark dropped).

    Raises
    ------
    ValueError
        A byte sequence that is not UTF-8; the message names ``file:line``, the byte and
        its column, and the fix.
    """
    path = Path(path)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):  # the BOM some editors write
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[e.start]:02x} at column {e.start - line_start + 1}); save the file as UTF-8"
        ) from None
