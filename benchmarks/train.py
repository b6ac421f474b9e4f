"""Time to a generalizing alignment: train a preset and print held-out metrics against wall time.

The goal (issue 6): on 2 CPU cores, the ``tiny`` preset reaches, within 20 minutes of
training, a *generalizing* alignment on held-out TinySpeech sentences it never saw:

* mean free-running focus >= 0.5, and
* the stop token within 10 % of the true length on >= 90 % of the sentences.

Every ``--eval-every`` seconds of training, the model reads all held-out sentences
free running (no teacher forcing); evaluation time is excluded from the training
clock and reported separately. The run stops at the time budget (or, with
``--stop-at-goal``, as soon as the goal is met). Prints one row per evaluation,
then the time to goal, the load average and the command line.

    .venv/bin/python benchmarks/train.py                      # the 20-minute benchmark
    .venv/bin/python benchmarks/train.py --minutes 2 --n-eval 16 --eval-every 30   # smoke test
    .venv/bin/python benchmarks/train.py --set train.sampler=random   # compare a setting
    .venv/bin/python benchmarks/train.py --gpu-throughput     # paper preset steps/s, AMP on/off (needs CUDA)

Measured 2026-12-02 (``benchmarks/train.py --threads 1``, tiny preset with r = 4, a
fresh-clone quickstart training on the other core; 0.62 steps/s):

=========  =====  =====  =======  ========
train min  step   focus  stop_ok  stop_err
=========  =====  =====  =======  ========
   8.0      293   0.609    0.74     0.333
  10.0      375   0.545    0.65     0.084
  12.0      456   0.413    0.93     0.047
  14.0      529   0.474    0.70     0.074
  16.0      598   0.560    0.84     0.060
  18.0      671   0.580    0.82     0.060
  20.0      746   0.618    0.92     0.051   <- goal met
=========  =====  =====  =======  ========

The same preset at r = 3 (2026-12-01, ``tacolib evaluate`` on quickstart checkpoints)
had focus 0.48 / 0.53 / 0.57 and stop_ok 0.85 / 0.83 / 0.72 at 18 / 21 / 24 min: its
free-running speech ran about 5 % fast and the stop token fired early.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

import tacolib
from tacolib.config import get_config
from tacolib.data import load_datasets
from tacolib.evaluate import evaluate_free_running
from tacolib.train import Trainer

GOAL_FOCUS, GOAL_STOP_OK = 0.5, 0.9


def _load() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average unavailable"


def train_curve(args) -> int:
    info = tacolib.setup(seed=0, threads=args.threads)
    cfg = get_config(args.preset)
    overrides = ["train.val_every=0", f"train.max_steps={args.max_steps}", f"train.ckpt_every={10**9}", *args.set]
    cfg = cfg.override(overrides)
    print(f"# preset {cfg.name}, torch {info['torch']}, {info['threads']} thread(s), cores {os.cpu_count()}, {_load()}")
    print(f"# overrides: {args.set or 'none'}")
    t0 = time.time()
    splits = load_datasets(cfg, progress=False)
    test = splits["test"]
    n_eval = min(args.n_eval, len(test))
    print(f"# data: {len(splits['train'])} train / {len(test)} held-out utterances (evaluating {n_eval}); loaded in {time.time() - t0:.1f} s")
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-train-"))
    rows, state = [], {"train_s": 0.0, "eval_s": 0.0, "last": None, "next_eval": 0.0, "goal_at": None}

    def evaluate(trainer, loss):
        t = time.time()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            fr = evaluate_free_running(trainer.model, test, list(range(n_eval)), batch_size=16)
        state["eval_s"] += time.time() - t
        row = {"train_min": state["train_s"] / 60, "step": trainer.step, "loss": loss, "focus": fr["focus"], "stop_ok": fr["stop_ok"],
               "stop_err": fr["stop_error"], "never_stopped": fr["max_steps"], "eval_s": time.time() - t}
        rows.append(row)
        met = fr["focus"] >= GOAL_FOCUS and fr["stop_ok"] >= GOAL_STOP_OK
        if met and state["goal_at"] is None:
            state["goal_at"] = row
        print(f"{row['train_min']:9.2f} {row['step']:6d} {loss:7.3f} {fr['focus']:7.3f} {fr['stop_ok']:8.2f} {fr['stop_error']:8.3f} "
              f"{fr['max_steps']:8.2f} {row['eval_s']:7.1f}{'  <- goal' if met else ''}", flush=True)
        return met

    def on_step(trainer, record):
        now = time.time()
        state["train_s"] += now - state["last"]
        done = state["train_s"] >= 60 * args.minutes
        if state["train_s"] >= state["next_eval"] or done:
            state["next_eval"] += args.eval_every
            met = evaluate(trainer, record["loss"])
            if done or (met and args.stop_at_goal):
                trainer.request_stop()
        state["last"] = time.time()

    print(f"{'train_min':>9} {'step':>6} {'loss':>7} {'focus':>7} {'stop_ok':>8} {'stop_err':>8} {'no_stop':>8} {'eval_s':>7}")
    trainer = Trainer(cfg, out, splits["train"], test, device="cpu", tensorboard=False, progress=False, on_step=on_step)
    state["last"] = time.time()
    trainer.fit()
    trainer.close()
    g = state["goal_at"]
    steps_per_s = trainer.step / max(state["train_s"], 1e-9)
    print(f"# trained {trainer.step} steps in {state['train_s'] / 60:.1f} min ({steps_per_s:.2f} steps/s); evaluation took {state['eval_s'] / 60:.1f} min more")
    if g:
        print(f"# GOAL MET after {g['train_min']:.1f} min of training (step {g['step']}): focus {g['focus']:.3f}, stop within 10% on {g['stop_ok']:.0%}")
    else:
        last = rows[-1] if rows else {}
        print(f"# goal NOT met in {state['train_s'] / 60:.1f} min of training (budget {args.minutes:g}): last focus {last.get('focus', float('nan')):.3f}, stop within 10% on {last.get('stop_ok', 0):.0%}")
    print(f"# {_load()}; run folder {out}")
    print("# command: " + " ".join([os.path.basename(sys.executable), *sys.argv]))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "goal": g, "steps_per_s": steps_per_s, "overrides": args.set}, indent=2))
    return 0


def gpu_throughput(args) -> int:
    """Steps/s of the paper preset on LJSpeech-shaped random batches, fp32 vs AMP."""
    if not torch.cuda.is_available():
        print("no CUDA device: the GPU throughput benchmark needs one")
        return 1
    from tacolib.batching import collate
    from tacolib.train import Trainer

    cfg = get_config("paper").override([f"train.batch_size={args.batch_size}", *args.set])
    g = torch.Generator().manual_seed(0)
    # LJSpeech: ~1-10 s per clip (mean ~6.6 s ~ 570 frames), ~100-180 characters
    items = []
    for i in range(args.batch_size * 4):
        t_in = int(torch.randint(100, 180, (1,), generator=g))
        items.append({"id": str(i), "text": "x", "tokens": torch.randint(2, cfg.text.n_symbols, (t_in,), generator=g),
                      "mel": torch.randn(int(torch.randint(450, 800, (1,), generator=g)), cfg.audio.n_mels, generator=g).clamp(-4, 4)})
    batches = [collate(items[k::4], cfg) for k in range(4)]
    print(f"# paper preset, batch {args.batch_size}, {torch.cuda.get_device_name()}")
    for amp in (False, True):
        c = cfg.override({"train.amp": amp})
        trainer = Trainer(c, tempfile.mkdtemp(), train_set=[0], val_set=[0], device="cuda", tensorboard=False, progress=False, collate_fn=lambda x: x)
        for k in range(3):
            trainer.train_step(batches[k % 4])
        torch.cuda.synchronize()
        t = time.time()
        n = args.gpu_steps
        for k in range(n):
            trainer.train_step(batches[k % 4])
        torch.cuda.synchronize()
        dt = time.time() - t
        print(f"amp={amp!s:5}  {n / dt:6.2f} steps/s  {n * args.batch_size / dt:7.1f} utterances/s  peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
        torch.cuda.reset_peak_memory_stats()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="tiny")
    p.add_argument("--set", action="append", default=[], help="config override section.key=value (repeatable)")
    p.add_argument("--minutes", type=float, default=20.0, help="training-time budget (evaluation excluded)")
    p.add_argument("--max-steps", type=int, default=10**9, help="stop after this many steps instead (default: no limit)")
    p.add_argument("--eval-every", type=float, default=120.0, help="seconds of training between held-out evaluations")
    p.add_argument("--n-eval", type=int, default=100, help="held-out sentences per evaluation (default: all 100)")
    p.add_argument("--stop-at-goal", action="store_true", help="stop as soon as the goal is met")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: TACOLIB_THREADS, else 1)")
    p.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    p.add_argument("--json", default=None, help="also write the curve to this JSON file")
    p.add_argument("--gpu-throughput", action="store_true", help="instead: paper-preset steps/s with and without AMP (CUDA)")
    p.add_argument("--batch-size", type=int, default=32, help="GPU benchmark batch size")
    p.add_argument("--gpu-steps", type=int, default=20, help="GPU benchmark timed steps")
    args = p.parse_args()
    return gpu_throughput(args) if args.gpu_throughput else train_curve(args)


if __name__ == "__main__":
    raise SystemExit(main())
