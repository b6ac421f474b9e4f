"""The learner's Tacotron 2 (notebook 08's capstone) next to tacolib's, side by side.

    .venv/bin/python benchmarks/learner_model.py                  # the solutions' modules
    .venv/bin/python benchmarks/learner_model.py --learner outputs/learner   # your own
    .venv/bin/python benchmarks/learner_model.py --rounds 3 --n 6

Builds the model of ``tacolib.checks.learner_model`` from a folder of saved modules
(default: the worked solutions of notebooks 03-07, saved into a temporary folder as
their checks save them) and runs notebook 08's recipe (``overfit_config("tiny",
coarse=2)``, the ``n`` shortest TinySpeech utterances, ``OVERFIT_LR``, one torch thread,
seed 0) on it and on ``Tacotron2(cfg)``, interleaved ``--rounds`` times so that machine
load hits both alike. Both start from the same weights. Reports the step at which
``ALIGNED`` first holds, the training wall and CPU time to get there, the final
metrics, and the ratio of CPU time per step (learner / tacolib).

Measured 2026-12-02 on the course's 2-core box (cpu-exclusive), torch 2.13 CPU, one
thread, seed 0, 6 utterances, 2 rounds, the solutions' modules:

==========  ============  ===========  ==========  ============  ==================================
model       aligned step  wall (s)     CPU (s)     CPU / step    final focus, diag, mono, coverage
==========  ============  ===========  ==========  ============  ==================================
tacolib          70        7.6, 8.3     7.5, 8.3    106-117 ms    0.518, 0.999, 1.000, 0.915
learner          70        8.2, 9.1     8.2, 9.1    115-128 ms    0.518, 0.999, 1.000, 0.915
==========  ============  ===========  ==========  ============  ==================================

Same weights, same steps, same metrics and loss (2.157) to the printed digits; the
learner's model costs 1.09x the CPU time per step (its attention goes through the
notebook's three functions and its masks are rebuilt each call).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

import tacolib
from tacolib.checks.learner import learner_loss, learner_model, run_exercise_cells
from tacolib.loss import Tacotron2Loss
from tacolib.metrics import ALIGNED
from tacolib.model import Tacotron2
from tacolib.overfit import OVERFIT_LR, overfit, overfit_config, pick_batch

ROOT = Path(__file__).resolve().parents[1]


def install_solutions(folder: Path) -> None:
    """Save the solutions' modules of notebooks 03-07 into ``folder``, as their checks do."""
    os.environ["TACOLIB_LEARNER_DIR"] = str(folder)
    for nb in sorted((ROOT / "solutions").glob("0[3-7]_*.ipynb")):
        run_exercise_cells(nb)


def run(which: str, folder: Path, cfg, batch, steps: int) -> dict:
    torch.manual_seed(0)
    if which == "tacolib":
        model, criterion = Tacotron2(cfg), Tacotron2Loss.from_config(cfg)
    else:
        model, report = learner_model(cfg, folder)
        criterion, loss_report = learner_loss(cfg, folder)
        if report.tacolibs or not loss_report.yours:
            print(report, loss_report, sep="\n", file=sys.stderr)
    hist = overfit(model, batch, cfg, steps=steps, lr=OVERFIT_LR, criterion=criterion, until=ALIGNED, patience=1,
                   snapshot_every=0, progress=False)
    n = len(hist.steps)
    return {"aligned": hist.aligned_step, "wall": hist.aligned_seconds, "cpu": hist.aligned_cpu_seconds,
            "cpu_per_step": hist.cpu_seconds[-1] / n, "final": hist.final_metrics, "loss": hist.final_loss}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learner", type=Path, help="a folder of saved modules (default: the solutions')")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--n", type=int, default=6, help="utterances in the batch")
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args(argv)
    tacolib.setup(seed=0, threads=1)
    tmp = None
    folder = args.learner
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="tacolib-learner-bench-")
        folder = Path(tmp.name)
        install_solutions(folder)
    cfg = overfit_config("tiny", coarse=2)
    batch = pick_batch(cfg, n=args.n)
    rows = []
    for r in range(args.rounds):
        for which in ("tacolib", "learner"):
            res = run(which, folder, cfg, batch, args.steps)
            rows.append((which, res))
            f = res["final"]
            print(f"round {r + 1} {which:8s} aligned at step {res['aligned']}, {res['wall']:.1f} s wall, {res['cpu']:.1f} s CPU; "
                  f"CPU/step {res['cpu_per_step'] * 1000:.0f} ms; final focus {f['focus']:.3f} diag {f['diagonality']:.3f} "
                  f"mono {f['monotonicity']:.3f} cover {f['coverage']:.3f}, loss {res['loss']:.3f}", flush=True)
    per_step = {w: min(res["cpu_per_step"] for ww, res in rows if ww == w) for w in ("tacolib", "learner")}
    print(f"CPU time per training step, learner / tacolib (best of {args.rounds}): {per_step['learner'] / per_step['tacolib']:.2f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
