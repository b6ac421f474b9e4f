"""tacolib.runlock: one run per folder, across real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from tacolib import runlock
from tacolib.safe_io import OutputError

HOLD = textwrap.dedent(
    """
    import sys, time
    from tacolib import runlock
    with runlock.lock_run_folder(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
        if sys.argv[3] == "raise":
            raise SystemExit(3)
    print("released", flush=True)
    """
)


def _holder(folder, seconds=60.0, then="exit"):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds), then], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_a_second_holder_is_refused_naming_the_first_ones_pid(tmp_path):
    first = _holder(tmp_path / "run")
    try:
        with pytest.raises(runlock.RunLockedError) as err:
            with runlock.lock_run_folder(tmp_path / "run"):
                pass
        msg = str(err.value)
        assert f"pid {first.pid}" in msg and socket.gethostname() in msg and str(tmp_path / "run") in msg
        assert "\n" not in msg
        # another process is refused as well, with exit status 1 and the same message
        second = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path / "run"), "0", "exit"], capture_output=True, text=True)
        assert second.returncode == 1 and f"pid {first.pid}" in second.stderr and "locked" not in second.stdout
    finally:
        first.kill()
        first.wait()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_lock_of_a_dead_holder_is_taken_over(tmp_path, how):
    first = _holder(tmp_path / "run")
    first.send_signal(how)
    first.wait()
    with runlock.lock_run_folder(tmp_path / "run") as lock:
        assert lock.previous is not None and lock.previous["pid"] == first.pid  # recognized as stale
        assert runlock.holder(tmp_path / "run")["pid"] == os.getpid()
    assert runlock.holder(tmp_path / "run") is None


def test_released_on_normal_exit_and_on_exceptions(tmp_path):
    p = _holder(tmp_path / "run", seconds=0.1, then="raise")
    assert p.wait() == 3
    with runlock.lock_run_folder(tmp_path / "run") as lock:
        assert lock.previous is None  # released cleanly: nothing stale
    with pytest.raises(KeyError):
        with runlock.lock_run_folder(tmp_path / "run"):
            raise KeyError("boom")
    with runlock.lock_run_folder(tmp_path / "run"):
        pass


def test_two_racing_processes_one_wins(tmp_path):
    """Started together, exactly one of two processes holds the folder."""
    code = textwrap.dedent(
        """
        import sys, time
        from tacolib import runlock
        t0 = float(sys.argv[2])
        while time.time() < t0: pass
        try:
            with runlock.lock_run_folder(sys.argv[1]):
                time.sleep(1.0)
        except runlock.RunLockedError:
            sys.exit(9)
        """
    )
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run"), str(start)]) for _ in range(2)]
    codes = sorted(p.wait() for p in procs)
    assert codes == [0, 9]


def test_the_lock_lives_in_the_folder_and_creates_only_it(tmp_path):
    with runlock.lock_run_folder(tmp_path / "a" / "run") as lock:
        assert lock.path == tmp_path / "a" / "run" / runlock.LOCK_NAME
        assert sorted(p.name for p in (tmp_path / "a" / "run").iterdir()) == [runlock.LOCK_NAME]
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        with runlock.lock_run_folder(tmp_path / "file"):
            pass


def test_one_process_may_lock_its_folder_again_and_it_is_freed_with_the_last_holder(tmp_path):
    """A notebook that re-creates its Trainer (the old one not closed), the quickstart that
    reads its run before training it: the same process shares its hold, counted."""
    import gc

    folder = tmp_path / "run"
    first = runlock.lock_run_folder(folder)
    second = runlock.lock_run_folder(folder)  # no RunLockedError: it is ours
    assert second.held and second.info["pid"] == os.getpid()
    first.release()
    assert runlock.holder(folder)["pid"] == os.getpid(), "still held by the second holder"
    p = subprocess.run([sys.executable, "-c", HOLD, str(folder), "0", "exit"], capture_output=True, text=True)
    assert p.returncode == 1 and f"pid {os.getpid()}" in p.stderr, "another process is still refused"
    del second  # dropped without release(): garbage-collected, counted out
    gc.collect()
    assert runlock.holder(folder) is None
    with runlock.lock_run_folder(folder) as lock:
        assert lock.previous is None
