"""The seed's training lessons, measured on held-out sentences: zoneout, batch order, lr decay, prenet dropout.

Each variant trains the ``tiny`` preset on the full TinySpeech corpus with
``tacolib.train.Trainer`` for a fixed number of steps (deterministic for a seed and a
thread count), validating every ``--val-every`` steps (teacher-forced loss and focus
on all 100 held-out sentences, free-running focus and stop on the first ``--n-infer``),
then reads all held-out sentences free running (prenet dropout on, seeds 0 and 1, and
off) and writes ``result.json`` in its run folder. ``--table`` prints what is there.

    .venv/bin/python benchmarks/ablate_training.py --variant preset --seed 0      # then 1
    .venv/bin/python benchmarks/ablate_training.py --variant zoneout-0 --seed 0
    .venv/bin/python benchmarks/ablate_training.py --variant sorted --seed 0      # random, sorted
    .venv/bin/python benchmarks/ablate_training.py --variant lr-decay --seed 0    # needs preset's run
    .venv/bin/python benchmarks/ablate_training.py --table

Variants (``VARIANTS``): ``preset`` (bucketed batches, zoneout 0.1, constant lr 2e-3
up to step 1,500), ``zoneout-0``, ``random`` and ``sorted`` batches, each trained from
scratch for ``--steps``; ``lr-constant`` and ``lr-decay`` continue ``preset``'s final
checkpoint for ``--more`` steps on the same batches (the checkpoint restores the data
order and every random state), at the constant rate or halving it every ``--more / 3``
steps (an eighth of the rate at the end), as notebook 09's probe does.

Measured 2026-12-02 with tacolib as it was before issue 20's fast decoder loop was
merged (the same arithmetic; its float rounding would move the numbers a little), one
thread each (deterministic for a seed and thread count; two or
three runs at a time on the course's 2-core machine, so CPU minutes, the process's own
time, are comparable and wall times are not). ``--table`` after the runs, trimmed:
held-out teacher-forced loss at the last step; free running on all 100 held-out
sentences with prenet dropout on (mean of dropout seeds 0 and 1): focus, the share
stopped within 10 % of the recording's length; padding: share of an epoch's frames.

===============  ====  =====  ====  =======  ==========  =====  =======
variant          seed  step   CPUm  padding  tf loss     focus  stop ok
===============  ====  =====  ====  =======  ==========  =====  =======
preset           0     1000   7.9   9 %      0.951       0.681  0.95
preset           1     1000   7.9   9 %      0.917       0.653  0.97
zoneout-0        0     1000   8.4   9 %      0.936       0.633  0.95
zoneout-0        1     1000   6.5   9 %      0.909       0.663  0.97
random           0     1000   8.2   36 %     0.884       0.670  0.97
random           1     1000   8.0   36 %     0.889       0.638  0.98
sorted           0     1000   8.4   1 %      0.978       0.676  0.90
sorted           1     1000   5.6   1 %      0.992       0.664  0.87
lr-constant-60   0     1060   0.5   9 %      0.908       0.682  0.96
lr-decay-60      0     1060   0.4   9 %      0.894       0.677  0.94
lr-constant-60   1     1060   0.4   9 %      0.884       0.681  0.97
lr-decay-60      1     1060   0.4   9 %      0.868       0.665  0.96
lr-constant-300  0     1300   2.5   9 %      0.796       0.669  0.97
lr-decay-300     0     1300   2.3   9 %      0.822       0.673  0.98
lr-constant-300  1     1300   2.0   9 %      0.775       0.678  0.99
lr-decay-300     1     1300   1.8   9 %      0.798       0.666  0.99
===============  ====  =====  ====  =======  ==========  =====  =======

(lr-* rows: CPU minutes of the extra steps only; ``--more 60`` and ``--more 300``.)

- **Zoneout 0.1 vs 0:** no direction at 1,000 steps. Without zoneout the held-out loss
  was lower on both seeds (by 0.015 and 0.008), focus lower on seed 0 and higher on
  seed 1, stops the same: differences inside the 0.034 between the preset's two seeds.
  A regularizer's benefit, if any, needs longer training than a laptop run.
- **Batches:** sorted batches were the worst on both seeds (held-out loss 0.978 and
  0.992; stops within 10 % 90 % and 87 %), random ones the best (0.884 and 0.889;
  97 % and 98 %), the preset's bucketed ones between (0.951 and 0.917). Random
  batches' 36 % padding cost little extra CPU time on this machine.
- **Learning rate from the step-1,000 checkpoint:** over 60 steps the decay lowered the
  held-out loss on both seeds (0.014, 0.016); over 300 steps the constant rate was
  ahead on both (0.026, 0.023): the model is still learning fast at step 1,000.
- **Prenet dropout at inference:** ``benchmarks/prenet_dropout.py`` on these models.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

import tacolib
from tacolib import safe_io
from tacolib.data import load_datasets
from tacolib.evaluate import evaluate_free_running
from tacolib.samplers import epoch_batches, padding_fraction
from tacolib.train import Trainer

OUT = Path("outputs") / "ablations"

# name -> (config overrides, the variant it continues from or None)
VARIANTS = {
    "preset": ({}, None),
    "zoneout-0": ({"model.zoneout": 0.0}, None),
    "random": ({"train.sampler": "random"}, None),
    "sorted": ({"train.sampler": "sorted"}, None),
    "lr-constant": ({"train.lr_schedule": "none"}, "preset"),
    "lr-decay": ({"train.lr_schedule": "exponential", "train.lr_decay_rate": 0.5}, "preset"),  # halving every --more / 3 steps
}


def run_dir(variant: str, seed: int, more: int = 0) -> Path:
    return OUT / (f"{variant}-{more}" if VARIANTS[variant][1] else variant) / f"seed{seed}"


def heldout(model, test_set, dropout_seed: int | None) -> dict:
    """All held-out sentences free running; ``dropout_seed`` None switches the prenet's dropout off."""
    prenet = model.decoder.prenet
    prenet.dropout_in_eval = dropout_seed is not None
    try:
        with torch.random.fork_rng():
            torch.manual_seed(dropout_seed or 0)
            fr = evaluate_free_running(model, test_set, batch_size=16)
    finally:
        prenet.dropout_in_eval = True
    ok = [it["focus"] >= 0.5 and it["stop_reason"] == "gate" and abs(it["length"] - it["true_length"]) <= 0.1 * it["true_length"] for it in fr["items"]]
    return {k: fr[k] for k in ("focus", "stop_ok", "stop_error", "max_steps", "n")} | {"pass": float(np.mean(ok))}


def train(variant: str, seed: int, steps: int, more: int, val_every: int, n_infer: int) -> dict:
    overrides, parent = VARIANTS[variant]
    cfg = tacolib.get_config("tiny").override({"train.seed": seed, "train.val_every": val_every, "train.ckpt_every": 10**9, **overrides})
    if parent is not None:  # notebook 09's probe: the decay starts at the checkpoint, an eighth of the rate after --more steps
        cfg = cfg.override({"train.lr_decay_start": steps, "train.lr_decay_steps": max(1, more // 3)})
    splits = load_datasets(cfg, progress=False)
    out = run_dir(variant, seed, more)
    trainer = Trainer(cfg, out, splits["train"], splits["test"], n_infer=n_infer, tensorboard=False, progress=False)
    resume: bool | Path = True
    total = steps
    if parent is not None:
        resume = run_dir(parent, seed) / "checkpoints" / f"step_{steps:08d}.pt"
        if not resume.is_file():
            raise SystemExit(f"{resume} is missing: run --variant {parent} --seed {seed} --steps {steps} first")
        total = steps + more
    c0, w0 = time.process_time(), time.perf_counter()
    result = trainer.fit(max_steps=total, resume=resume)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    model = trainer.model.eval()
    pad = float(np.mean([padding_fraction(epoch_batches(splits["train"], cfg.train.batch_size, cfg.train.sampler, seed, e), splits["train"].lengths) for e in range(3)]))
    record = {
        "variant": variant if parent is None else f"{variant}-{more}", "seed": seed, "step": result["step"], "train_cpu_s": cpu, "train_wall_s": wall,
        "threads": torch.get_num_threads(), "padding": pad,
        "val": [{k: v for k, v in r.items() if isinstance(v, (int, float))} for r in trainer.history["val"]],
        "heldout": {"dropout seed 0": heldout(model, splits["test"], 0), "dropout seed 1": heldout(model, splits["test"], 1),
                    "dropout off": heldout(model, splits["test"], None)},
    }
    safe_io.atomic_write(out / "result.json", json.dumps(record, indent=1))
    return record


def fmt(r: dict, last: int) -> str:
    vals = [v for v in r["val"] if v["step"] > r["step"] - last]
    tf_loss = np.mean([v["loss"] for v in vals]) if vals else float("nan")
    final = r["val"][-1]["loss"] if r["val"] and r["val"][-1]["step"] == r["step"] else float("nan")
    h0, h1 = r["heldout"]["dropout seed 0"], r["heldout"]["dropout seed 1"]
    return (
        f"{r['variant']:15s} {r['seed']:4d} {r['step']:5d} {r['train_cpu_s'] / 60:5.1f} {r['padding']:5.0%}  {final:6.3f} {tf_loss:6.3f} "
        f"  {(h0['focus'] + h1['focus']) / 2:.3f}  {(h0['stop_ok'] + h1['stop_ok']) / 2:5.2f}  {(h0['stop_error'] + h1['stop_error']) / 2:5.3f}"
        f"  {(h0['pass'] + h1['pass']) / 2:5.2f}  | off: {r['heldout']['dropout off']['focus']:.3f} {r['heldout']['dropout off']['stop_ok']:5.2f} "
        f"{r['heldout']['dropout off']['max_steps']:5.2f}"
    )


def table(last: int) -> None:
    base = lambda v: v if v in VARIANTS else v.rsplit("-", 1)[0]  # noqa: E731  ("lr-decay-60" -> "lr-decay")
    order = lambda r: (list(VARIANTS).index(base(r["variant"])), r["variant"], r["seed"])  # noqa: E731
    rows = sorted((json.loads(p.read_text()) for p in OUT.glob("*/seed*/result.json")), key=order)
    print(f"held-out TinySpeech (100 sentences); tf loss: teacher-forced held-out loss at the end, and the mean of the validations in the last {last} steps;")
    print("focus / stop_ok / stop_err / pass: free running, mean over prenet-dropout seeds 0 and 1; off: dropout off (focus, stop_ok, never stopped)\n")
    print("variant         seed  step  CPUm  pad   tf loss (mean)   focus  stop_ok stop_err  pass")
    for r in rows:
        print(fmt(r, last))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=list(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1000, help="training steps from scratch")
    ap.add_argument("--more", type=int, default=400, help="steps the lr-* variants add to preset's run")
    ap.add_argument("--val-every", type=int, default=100)
    ap.add_argument("--n-infer", type=int, default=24, help="held-out sentences read free running at each validation")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", action="store_true", help="print the table of the finished runs")
    ap.add_argument("--last", type=int, default=300, help="--table: average the validations of the last this many steps")
    args = ap.parse_args()
    if args.table:
        table(args.last)
        return
    if args.variant is None:
        ap.error("--variant or --table")
    tacolib.setup(seed=args.seed, threads=args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load {load:.1f}", flush=True)
    r = train(args.variant, args.seed, args.steps, args.more, args.val_every, args.n_infer)
    print(fmt(r, args.last))


if __name__ == "__main__":
    main()
