"""Torch CPU threads for training: how many to start with, and a tuner that measures.

Small-op loops (the tiny model's training step) can get much slower, not faster,
when OpenMP threads outnumber free cores (see :func:`tacolib.runtime.default_threads`).
:func:`thread_plan` decides what a run starts with and whether to tune;
:class:`ThreadTuner`, hooked into :class:`tacolib.train.Trainer` as ``on_step``,
then measures the step time per mel frame with each thread count and keeps the faster.
The quickstart uses both.
"""

from __future__ import annotations

import os
import time

import torch

from tacolib.runtime import default_threads

__all__ = ["MAX_TUNED_THREADS", "ThreadTuner", "thread_plan"]

#: The most torch threads :class:`ThreadTuner` may try (fewer when the machine has fewer cores).
MAX_TUNED_THREADS = 4


class ThreadTuner:
    """Chooses the faster torch thread count while training runs, and re-checks it.

    On a 2-core machine with other work running, two OpenMP threads that wait on each
    other made a training step 8-50x slower than one thread (measured on the course's
    loaded build box: 0.47 steps/s with one thread, 0.02-0.06 with two); on an idle
    machine two threads are faster. So training starts with one thread and, while the
    machine looks idle enough (load average minus our own threads at most
    ``cpu_count - max_threads + 0.5``), times a few steps with each count (per mel
    frame: batches differ in length) and keeps the faster. A probe is abandoned at its
    first step that is ``abort`` times slower than one thread, so a busy machine costs
    at most a step or two. Probes repeat every ``every`` steps. Used from the trainer's
    ``on_step`` hook.
    """

    def __init__(self, max_threads: int, warmup: int = 3, probe: int = 6, every: int = 300, abort: float = 2.0):
        self.options = sorted({1, max(1, int(max_threads))})
        self.enabled = len(self.options) > 1
        self.warmup, self.probe, self.every, self.abort = warmup, probe, every, abort
        self.seen = 0  # steps this session
        self.queue: list[int] = []
        self.current = torch.get_num_threads()
        self.samples: dict[int, list[float]] = {}
        self.discard = 0
        self.last_t: float | None = None
        self.skip = False
        self.next_probe = warmup
        self.decisions: list[dict] = []

    def _switch(self, n: int) -> None:
        torch.set_num_threads(n)
        self.current = n
        self.discard = 1  # the first step after a switch pays for the thread pool

    def _idle_enough(self) -> bool:
        try:
            load = os.getloadavg()[0]
        except OSError:  # pragma: no cover - not on every platform
            return True
        cpus = os.cpu_count() or 1
        return load - self.current <= cpus - max(self.options) + 0.5

    def _decide(self, step: int, chosen: int, note: str = "") -> None:
        med = {k: sorted(v)[len(v) // 2] for k, v in self.samples.items() if v}
        self._switch(chosen)
        self.discard = 0
        d = {"step": step, "ms_per_1000_frames": {str(k): round(v, 2) for k, v in med.items()}, "threads": chosen}
        if note:
            d["note"] = note
        self.decisions.append(d)
        self.queue = []
        self.next_probe = self.seen + self.every

    def __call__(self, trainer, record: dict) -> None:
        """The trainer's ``on_step`` hook: ``trainer.step``, ``trainer.cfg.train`` and the
        step's record (``frames``: the padded mel frames of its batch) are all it reads."""
        now = time.time()
        frames = max(1, int(record.get("frames", 1)))
        dt, self.last_t = (None if self.last_t is None or self.skip else now - self.last_t), now
        t = trainer.cfg.train  # validation or a checkpoint after this step: its interval is not a step's cost
        self.skip = bool((t.val_every and trainer.step % t.val_every == 0) or (t.ckpt_every and trainer.step % t.ckpt_every == 0))
        self.seen += 1
        if not self.enabled:
            return
        if not self.queue:
            if self.seen < self.next_probe:
                return
            if not self._idle_enough():
                self.next_probe = self.seen + self.every // 3
                return
            self.queue, self.samples = list(self.options), {}
        n = self.queue[0]
        if self.current != n:
            self._switch(n)
            return
        if dt is None:
            return
        cost = 1e6 * dt / frames  # ms per 1000 mel frames
        base = self.samples.get(1)
        if n > 1 and base and cost > self.abort * sorted(base)[len(base) // 2]:
            self.samples.setdefault(n, []).append(cost)
            self._decide(trainer.step, 1, note=f"{n} threads abandoned: {cost / sorted(base)[len(base) // 2]:.1f}x slower")
            return
        if self.discard:
            self.discard -= 1
            return
        self.samples.setdefault(n, []).append(cost)
        if len(self.samples[n]) >= self.probe:
            self.queue.pop(0)
            if not self.queue:
                med = {k: sorted(v)[len(v) // 2] for k, v in self.samples.items()}
                self._decide(trainer.step, min(med, key=med.get))


def thread_plan(threads: int | None, fast: bool) -> tuple[int, int]:
    """Torch threads to start training with, and the most the thread tuner may try.

    An explicit ``threads`` (or ``TACOLIB_THREADS``) is used as is, and fast mode
    uses one thread: nothing is tuned. Otherwise training starts with one thread and
    :class:`ThreadTuner` may move up to ``min(MAX_TUNED_THREADS, cpu_count)``, only
    while the machine is idle enough and only if it measures that faster (on an idle
    2-core machine, 2 threads made a ``tiny`` training step 1.1-1.2x faster).

    Returns
    -------
    (threads, tune) : (int, int)
        Threads to start training with; ``tune`` <= 1 disables the tuner.
    """
    if threads is not None:
        return threads, 0
    if os.environ.get("TACOLIB_THREADS"):
        return default_threads(), 0
    if fast:
        return 1, 0
    return 1, max(1, min(MAX_TUNED_THREADS, os.cpu_count() or 1))
