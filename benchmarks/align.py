"""Time to a clean alignment: single-batch overfitting with the course's recipe.

    .venv/bin/python benchmarks/align.py                      # the recipe only
    .venv/bin/python benchmarks/align.py --compare            # + the ablations, side by side
    .venv/bin/python benchmarks/align.py --only 1,4           # the recipe + ablations 1 and 4
    .venv/bin/python benchmarks/align.py --corpus ljspeech-sample --n 4
    .venv/bin/python benchmarks/align.py --lessons --seeds 0,1,2,3,4   # the seed's model lessons

The recipe (notebook 08): the ``tiny`` preset at r = 3 (guided attention weight 1,
sigma 0.2), the seed's coarser frames (``coarse = 2``), the 6 shortest TinySpeech
utterances, Adam at ``OVERFIT_LR`` (4e-3), one torch thread. "Aligned" means every
threshold of :data:`tacolib.metrics.ALIGNED` is met by the teacher-forced attention of
the training step. Reports the step, the training wall time and the process CPU time
to get there (the CPU time is the steadier figure on a shared machine), and for
``--compare`` the same for each ablation and its ratio to the recipe. An ablation that
does not align within ``--max-seconds`` is reported as such, with its last metrics.

Measured 2026-11-25 on the course's 2-core box **under heavy load from other jobs**
(load average 5-8, so wall times are ~3x the CPU times; re-measure on an idle
machine), torch 2.13 CPU, one thread, seed 0, 6 TinySpeech utterances (T_in 38):

==============================  =======  ============  ===========  ==========
variant                          T_dec   aligned step  wall (s)     CPU (s)
==============================  =======  ============  ===========  ==========
recipe (coarse 2, lr 4e-3, GA)     32         67        32.3-34.6    10.6-10.9
full-size frames (coarse 1)        63         97          74.3         26.3
preset lr 2e-3                     32        104          34.3         15.7
r = 1                              94         82          77.5         30.0
no guided attention                32    not in 274       > 120          -
==============================  =======  ============  ===========  ==========

``--lessons`` times the seed's lessons about the network (``tacolib.overfit.LESSONS``:
the recipe with one switch flipped, from the recipe's initial weights) on seeds 0-4,
up to 400 steps each. Measured 2026-12-02 (UTC), one thread, load average 1.5-2 (steps
are deterministic for a seed and thread count; CPU seconds per step 0.05-0.06), after
issue 20's fast teacher-forced decoder loop: the same arithmetic in another order, whose
float rounding moved every count by a few steps from an earlier measurement (default
init then aligned sooner on 5/5 seeds; on seed 0 it is now one step later):

============================================  ==========================  ======  =================================
variant                                       steps to ALIGNED, seeds 0-4  median  against the recipe, seed by seed
============================================  ==========================  ======  =================================
recipe (Xavier, BN before ReLU, zero states)  70, 150, 60, 76, 72            72
PyTorch's default init                        71, 50, 48, 67, 57             57     sooner on 4/5, 1 step later on 1
ReLU before BatchNorm                         92, 211, 131, 87, 87           92     later on 5/5
learned initial states                        67, 108, 66, 76, 65            67     sooner 3, equal 1, later 1
no zoneout                                    106, 73, 94, 72, 80            80     later 3, sooner 2: no direction
============================================  ==========================  ======  =================================

Other seeds of the recipe (load ~3.5): seed 1 at step 140 (33.8 s wall, 23.1 s CPU;
coverage was the last threshold to pass), seed 2 at step 60 (15.0 s, 9.9 s). The 3 shortest
LJSpeech-sample utterances of the train split (T_in 75, T_dec 64): step 140, 136 s
wall, 38 s CPU.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

import tacolib
from tacolib.metrics import ALIGNED
from tacolib.model import Tacotron2
from tacolib.overfit import LESSONS, OVERFIT_LR, lesson_model, overfit, overfit_config, pick_batch

# name -> (coarse, lr, guided-attention weight, model overrides)
VARIANTS = {
    "recipe (coarse 2, lr 4e-3, GA)": (2, OVERFIT_LR, 1.0, {}),
    "full-size frames (coarse 1)": (1, OVERFIT_LR, 1.0, {}),
    "preset lr 2e-3": (2, 2e-3, 1.0, {}),
    "r = 1": (2, OVERFIT_LR, 1.0, {"r": 1}),
    "no guided attention": (2, OVERFIT_LR, 0.0, {}),
}


def run(name, args):
    coarse, lr, ga, model_over = VARIANTS[name]
    cfg = overfit_config("tiny", coarse=coarse, **model_over)
    cfg = cfg.override({"train.guided_attention_weight": ga})
    batch = pick_batch(cfg, n=args.n, corpus=args.corpus)
    torch.manual_seed(args.seed)
    model = Tacotron2(cfg)
    w0 = time.perf_counter()
    hist = overfit(
        model, batch, cfg, steps=args.max_steps, lr=lr, until=ALIGNED, patience=1,
        max_seconds=args.max_seconds, snapshot_every=0, progress=False,
    )
    total = time.perf_counter() - w0
    return {
        "name": name,
        "T_in": int(batch["text"].shape[1]),
        "T_dec": int(batch["mel"].shape[1]) // cfg.model.r,
        "B": int(batch["text"].shape[0]),
        "step": hist.aligned_step,
        "wall": hist.aligned_seconds,
        "cpu": hist.aligned_cpu_seconds,
        "steps_run": hist.steps[-1] + 1,
        "seconds_run": hist.seconds[-1],
        "metrics": hist.final_metrics,
        "loss": hist.final_loss,
        "total": total,
    }


def lessons(args) -> None:
    """Steps to alignment of each :data:`tacolib.overfit.LESSONS` variant, seed by seed."""
    base = overfit_config("tiny", coarse=2)
    batch = pick_batch(base, n=args.n, corpus=args.corpus)
    seeds = [int(s) for s in args.seeds.split(",")]
    got: dict[str, list] = {name: [] for name in LESSONS}
    for seed in seeds:
        for name in LESSONS:
            torch.manual_seed(seed)
            cfg, model = lesson_model(name, base)
            hist = overfit(model, batch, cfg, steps=args.max_steps, lr=OVERFIT_LR, until=ALIGNED, patience=1, snapshot_every=0, progress=False)
            got[name].append(hist)
            m = hist.final_metrics
            when = f"step {hist.aligned_step:4d} ({hist.aligned_cpu_seconds:5.1f} s CPU)" if hist.aligned_step is not None else f"not in {args.max_steps}"
            print(f"seed {seed}  {name:46s} aligned at {when}  focus {m['focus']:.2f}  loss {hist.final_loss:.3f}", flush=True)
    print(f"\nsteps to alignment (ALIGNED, teacher forced), seeds {seeds}; '-' = not within {args.max_steps} steps")
    for name, hists in got.items():
        steps = [h.aligned_step for h in hists]
        ok = sorted(s for s in steps if s is not None)
        med = f"median {ok[len(ok) // 2]:4d}" if len(ok) == len(steps) else f"{len(ok)}/{len(steps)} aligned"
        print(f"  {name:46s} {' '.join('   -' if s is None else f'{s:4d}' for s in steps)}   {med}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", action="store_true", help="also run the ablations")
    ap.add_argument("--only", default="", help="comma-separated ablation numbers to run with the recipe, e.g. 1,4 (see VARIANTS)")
    ap.add_argument("--n", type=int, default=6, help="utterances in the batch (the shortest ones)")
    ap.add_argument("--corpus", default="tinyspeech", help="tinyspeech | ljspeech-sample | a folder")
    ap.add_argument("--max-steps", type=int, default=None, help="per run (default 600; 400 with --lessons)")
    ap.add_argument("--max-seconds", type=float, default=180.0, help="training time cap per run (s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lessons", action="store_true", help="instead: steps to alignment of the seed's model lessons (tacolib.overfit.LESSONS)")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="--lessons: comma-separated seeds")
    args = ap.parse_args()
    tacolib.setup(seed=args.seed, threads=args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} cores, load average {load:.1f}")
    if args.lessons:
        args.max_steps = args.max_steps or 400
        lessons(args)
        return
    args.max_steps = args.max_steps or 600
    print(f"thresholds: {ALIGNED}; batch: {args.n} shortest of {args.corpus}; cap {args.max_seconds:.0f} s / {args.max_steps} steps\n")
    names = list(VARIANTS) if args.compare else list(VARIANTS)[:1]
    if args.only:
        names = [list(VARIANTS)[0]] + [list(VARIANTS)[int(i)] for i in args.only.split(",")]
    rows = []
    for name in names:
        r = run(name, args)
        rows.append(r)
        m = r["metrics"]
        if r["step"] is None:
            got = f"not aligned after {r['steps_run']} steps / {r['seconds_run']:.0f} s"
        else:
            got = f"aligned at step {r['step']:4d}: {r['wall']:6.1f} s wall, {r['cpu']:6.1f} s CPU"
        print(
            f"{name:32s} B={r['B']} T_in={r['T_in']} T_dec={r['T_dec']:3d}  {got}  "
            f"(focus {m['focus']:.2f}, diag {m['diagonality']:.2f}, cover {m['coverage']:.2f}, loss {r['loss']:.2f})",
            flush=True,
        )
    base = rows[0]
    if len(rows) > 1 and base["step"] is not None:
        print("\nrelative to the recipe (CPU time to alignment; '>' when the cap was hit first):")
        for r in rows[1:]:
            if r["step"] is None:
                print(f"  {r['name']:32s} > {r['seconds_run'] / base['wall']:.1f}x wall (did not align)")
            else:
                print(f"  {r['name']:32s} {r['cpu'] / base['cpu']:.2f}x CPU, {r['step'] / max(1, base['step']):.2f}x steps")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average at the end: {load:.1f}")


if __name__ == "__main__":
    main()
