"""One run per folder: an exclusive lock on a run folder, across processes.

Two ``tacolib train --out SAME`` at once would overwrite each other's checkpoints, and
a later ``--resume`` would mix one run's weights with the other's config. So a run
holds its folder::

    <run folder>/.tacolib.lock      flock(LOCK_EX | LOCK_NB) on this file while the run lives;
                                    its text: {"pid", "host", "since", "command"} of the holder

* A second holder is refused at once with :class:`RunLockedError`, one line naming
  the first one's pid, host and start time.
* The lock is the kernel's (``flock``), so it ends with its process however that
  process ends: a clean exit or an exception (the context manager releases it), a
  SIGTERM or a ``kill -9`` (the kernel closes the file). A lock file left by a dead
  holder is *stale*: the next holder takes over and reports it (``RunLock.previous``).
* The file stays in the folder (deleting it would let a third process lock a
  different file of the same name); released, it is empty.
* Within one process the lock is re-entrant: locking a folder this process already
  holds (a notebook re-creating its ``Trainer``, the quickstart reading its run before
  training it) shares the hold, counted; the folder is free again once every holder
  has released it, or has been garbage-collected, or the process ends.

The trainer's use::

    lock = lock_run_folder(out_dir)   # Trainer.__init__, rank 0 only, before building the
    ...                               # dataset and before CheckpointManager cleans orphans
    lock.release()                    # Trainer.close()

or ``with lock_run_folder(out_dir): ...`` around a whole job. Locks are local to one
machine's file systems; on a network file system, use one run folder per machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

from tacolib.safe_io import check_output_folder

__all__ = ["LOCK_NAME", "RunLockedError", "RunLock", "lock_run_folder", "holder"]

LOCK_NAME = ".tacolib.lock"

logger = logging.getLogger("tacolib.runlock")


class _Hold:
    """This process's hold on one folder: the locked file, its record, how many RunLocks share it."""

    def __init__(self, fd: int, info: dict):
        self.fd, self.info, self.count = fd, info, 1


_HELD: dict[str, _Hold] = {}  # real path of a folder -> this process's hold on it
_HELD_GUARD = threading.Lock()


class RunLockedError(RuntimeError):
    """The run folder is held by another live process (the message names its pid)."""


def _read_info(fd: int) -> dict | None:
    """The holder's record in the lock file, or None when empty or unreadable."""
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8")
        info = json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and "pid" in info else None


class RunLock:
    """An exclusive lock on a folder; see the module docstring. Use :func:`lock_run_folder`.

    Attributes
    ----------
    folder, path : Path
        The run folder and its lock file.
    info : dict
        This holder's record (``pid``, ``host``, ``since``, ``command``).
    previous : dict or None
        The record a dead holder left (a stale lock taken over), else None.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.info: dict = {}
        self.previous: dict | None = None
        self._key: str | None = None  # set while this RunLock holds the folder

    @property
    def held(self) -> bool:
        return self._key is not None

    def acquire(self) -> "RunLock":
        """Take the lock now, or raise :class:`RunLockedError` (never waits).

        Raises
        ------
        RunLockedError
            Another live process holds the folder.
        tacolib.safe_io.OutputError
            The folder is a file, or cannot be created or written.
        """
        if self.held:
            return self
        check_output_folder(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(self.folder)
        with _HELD_GUARD:
            hold = _HELD.get(key)
            if hold is not None:  # this process holds it already: share that hold
                hold.count += 1
                self._key, self.info, self.previous = key, hold.info, None
                return self
            self._take(key)
        return self

    def _take(self, key: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            for attempt in range(4):  # a few tries: holder() takes a shared lock for an instant
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if attempt == 3:
                        raise
                    time.sleep(0.05)
        except BlockingIOError:
            other = None
            for _ in range(20):  # the holder writes its record just after locking: wait for it briefly
                other = _read_info(fd)
                if other is not None:
                    break
                time.sleep(0.05)
            os.close(fd)
            who = f"pid {other['pid']} on {other.get('host', '?')}, since {other.get('since', '?')}" if other else "a process that has not said who it is"
            raise RunLockedError(
                f"{self.folder} is in use by another tacolib run ({who}): wait for it to finish or stop it, or choose another folder"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self.previous = _read_info(fd)
        if self.previous is not None:
            logger.warning("%s: took over the lock of pid %s on %s, which is no longer running", self.folder, self.previous["pid"], self.previous.get("host"))
        self.info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:500],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(self.info) + "\n").encode("utf-8"), 0)
        os.fsync(fd)
        _HELD[key] = _Hold(fd, self.info)
        self._key = key

    def release(self) -> None:
        """Give the folder back (idempotent). The last holder in this process clears the
        record and drops the lock."""
        with _HELD_GUARD:
            key, self._key = self._key, None
            hold = _HELD.get(key) if key is not None else None
            if hold is None:
                return
            hold.count -= 1
            if hold.count > 0:
                return
            del _HELD[key]
        with contextlib.suppress(OSError):
            os.ftruncate(hold.fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(hold.fd, fcntl.LOCK_UN)
        os.close(hold.fd)

    def __del__(self):
        with contextlib.suppress(Exception):  # a holder dropped without release(): still counted out
            self.release()

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> bool:
        self.release()
        return False

    def __repr__(self) -> str:
        return f"RunLock({str(self.folder)!r}, held={self.held})"


def lock_run_folder(folder: str | Path) -> RunLock:
    """Hold ``folder`` (created when missing) for this process; returns the held :class:`RunLock`.

    Use it as a context manager (``with lock_run_folder(out):``) or call ``release()``;
    the lock also ends when the process does, however it ends.

    Raises
    ------
    RunLockedError
        Another live process holds it: one line naming that process's pid and host.
    tacolib.safe_io.OutputError
        ``folder`` is a file or cannot be written.
    """
    return RunLock(folder).acquire()


def holder(folder: str | Path) -> dict | None:
    """The record of the live process holding ``folder`` (this one included), or None."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_info(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)  # nobody holds it
        return None
    finally:
        os.close(fd)
