"""tacolib.threads: the thread plan and the tuner that keeps the faster thread count."""

from __future__ import annotations

from tacolib import threads
from tacolib.threads import MAX_TUNED_THREADS, ThreadTuner, thread_plan


class _FakeTrainer:
    """What the thread tuner reads from a Trainer: its step and cfg.train (the frames come in the record)."""

    def __init__(self):
        from tacolib.config import get_config

        self.cfg, self.step = get_config("tiny"), 0


def _drive(tuner, seconds_per_step, steps, monkeypatch, load=0.0):
    """Feed the tuner ``steps`` steps whose duration depends on the thread count in force."""
    import torch

    clock = [1000.0]
    monkeypatch.setattr(threads.time, "time", lambda: clock[0])
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    tr = _FakeTrainer()
    for _ in range(steps):
        tr.step += 1
        clock[0] += seconds_per_step[torch.get_num_threads()]
        tuner(tr, {"frames": 16 * 300})
    return tr


def test_thread_tuner_keeps_the_faster_count_on_an_idle_machine(monkeypatch):
    import torch

    torch.set_num_threads(1)
    tuner = ThreadTuner(2, warmup=2, probe=3, every=1000)
    _drive(tuner, {1: 1.0, 2: 0.6}, 30, monkeypatch, load=1.0)
    assert torch.get_num_threads() == 2 and tuner.decisions[-1]["threads"] == 2
    torch.set_num_threads(1)
    tuner = ThreadTuner(2, warmup=2, probe=3, every=1000)
    _drive(tuner, {1: 1.0, 2: 1.3}, 30, monkeypatch, load=1.0)
    assert torch.get_num_threads() == 1 and tuner.decisions[-1]["threads"] == 1


def test_thread_tuner_gives_up_fast_when_threads_fight_and_skips_a_busy_machine(monkeypatch):
    import torch

    torch.set_num_threads(1)
    tuner = ThreadTuner(2, warmup=2, probe=3, every=1000)
    _drive(tuner, {1: 1.0, 2: 30.0}, 30, monkeypatch, load=1.0)
    assert torch.get_num_threads() == 1
    assert len(tuner.decisions) == 1 and "abandoned" in tuner.decisions[0]["note"]
    assert len(tuner.samples[2]) == 1, "one slow step, not a whole probe"
    tuner = ThreadTuner(2, warmup=2, probe=3, every=1000)
    _drive(tuner, {1: 1.0, 2: 30.0}, 30, monkeypatch, load=6.0)  # other jobs hold the cores
    assert torch.get_num_threads() == 1 and tuner.decisions == [] and 2 not in tuner.samples


def test_thread_plan_tunes_by_default_and_respects_explicit_choices(monkeypatch):
    # the tuner must be reachable from a plain `tacolib quickstart` (it once was not:
    # its limit came from default_threads(), which returns 1 unless TACOLIB_THREADS is set)
    monkeypatch.delenv("TACOLIB_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    assert thread_plan(None, fast=False) == (1, 2)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 64)
    assert thread_plan(None, fast=False) == (1, MAX_TUNED_THREADS)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: None)
    assert thread_plan(None, fast=False) == (1, 1)  # unknown core count: no tuning
    assert thread_plan(None, fast=True) == (1, 0)
    assert thread_plan(3, fast=False) == (3, 0)
    monkeypatch.setenv("TACOLIB_THREADS", "2")
    assert thread_plan(None, fast=False) == (2, 0)
