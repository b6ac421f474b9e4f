"""WaveNet quality against training time: how far does a CPU WaveNet get toward speech?

Trains the course's WaveNet (``WaveNetConfig()``: 16 layers, 64 channels, 256-way
μ-law) on TinySpeech training utterances (ground-truth mels; random 24-frame
segments, batch 4, as notebook 11; Adam, the learning rate halved every
``--lr-halve-every`` steps) and, every ``--eval-every`` steps, generates the first
``--seconds`` of three held-out utterances from their mels and measures the **mel
spectral convergence** of what it generated against the target mel
(:func:`tacolib.vocoder.griffin_lim.mel_spectral_convergence`, the same measure as
Griffin-Lim's from the same mel, and white noise's). Generation is sampled at
temperature 1 and, as a diagnostic, at ``--temperature`` (Gumbel noise scaled: a
sharper distribution). Each evaluation saves the model (``step_XXXXX.pt``,
:func:`tacolib.vocoder.wavenet.save_wavenet`), the optimizer (``optimizer.pt``) and
the curve (``curve.json``, with the training CPU time) in ``--out``; ``--resume``
continues from the newest. Steps are deterministic for a seed and thread count.

    .venv/bin/python benchmarks/wavenet_quality.py --steps 3000 --eval-every 300
    .venv/bin/python benchmarks/wavenet_quality.py --steps 4 --eval-every 2 --seconds 0.2 --n-train 8 --out /tmp/wq   # smoke test

Measured 2026-12-02, one thread on the course's 2-core AMD EPYC virtual machine (CPU
minutes are the process's own time; the wall time was about twice that, beside other
jobs), ``--steps 3000 --eval-every 300 --out outputs/wavenet-quality-2 --resume``,
started fresh and stopped after the step-2,100 evaluation. Mel spectral convergence of
the first second of TS-2001..2003 generated from their mels (mean of three); Griffin-Lim
(60 iterations) from the same mels 0.086, white noise 0.964:

===========  =====  =============  ==========  ============
CPU minutes  steps  training loss  mel SC T=1  mel SC T=0.7
===========  =====  =============  ==========  ============
0.0          0                     1.634       1.640
4.5          300    2.707          0.736       0.971
8.9          600    2.446          0.711       0.737
13.4         900    2.236          0.726       0.757
18.1         1200   2.034          0.689       0.755
22.3         1500   1.889          0.648       0.695
26.6         1800   1.861          0.664       0.649
30.7         2100   1.746          0.645       0.648
===========  =====  =============  ==========  ============

Half an hour of CPU leaves WaveNet far from Griffin-Lim (0.65 against 0.09), the
measure flattening while the loss still falls. ``step_02100.pt`` of this run is
``data/wavenet-tinyspeech.pt``, the WaveNet notebook 11 plays (``data/README.md``).
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
from tacolib import audio, safe_io
from tacolib.corpus import tinyspeech
from tacolib.vocoder import wavenet_generate
from tacolib.vocoder.griffin_lim import mel_spectral_convergence, mel_to_audio
from tacolib.vocoder.wavenet import WaveNet, WaveNetConfig, load_wavenet, save_wavenet
from tacolib.vocoder.wavenet_train import train_wavenet

_FRAME_NOISE = wavenet_generate.frame_noise


def sample_at(temperature: float):
    """Make the generators draw at ``temperature`` (Gumbel noise times T: argmax(logits / T + g))."""

    def noise(*args, **kwargs):
        g, u = _FRAME_NOISE(*args, **kwargs)
        return g * np.float32(temperature), u

    wavenet_generate.frame_noise = noise


def corpus(n_train: int, n_test: int, cfg):
    root = tinyspeech.build("full", progress=False)
    ids = [line.split("|")[0] for line in (root / "metadata.csv").read_text().splitlines()]
    test = sorted(set((root / "test.txt").read_text().split()))
    train = [i for i in ids if i not in set(test)][:n_train]
    load = lambda i: audio.load_wav(root / "wavs" / f"{i}.wav", cfg.sample_rate)  # noqa: E731
    wavs = [load(i) for i in train]
    held = [load(i) for i in test[:n_test]]
    return wavs, [audio.mel_spectrogram(w, cfg) for w in wavs], held, test[:n_test]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="training steps in all")
    ap.add_argument("--eval-every", type=int, default=300, help="steps between evaluations (and saves)")
    ap.add_argument("--n-train", type=int, default=500, help="training utterances")
    ap.add_argument("--seconds", type=float, default=1.0, help="audio generated per held-out utterance")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-halve-every", type=int, default=1000, help="steps between lr halvings (0: constant)")
    ap.add_argument("--out", default="outputs/wavenet-quality")
    ap.add_argument("--resume", action="store_true", help="continue from the newest step_*.pt in --out")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    tacolib.setup(seed=0, threads=args.threads)
    cfg = tacolib.get_config("tiny").audio
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wavs, mels, held, held_ids = corpus(args.n_train, 3, cfg)
    n_frames = int(args.seconds * cfg.frames_per_second)
    targets = [audio.mel_spectrogram(w, cfg)[:n_frames] for w in held]
    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig(n_mels=cfg.n_mels, hop_length=cfg.hop_length))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, cpu = 0, 0.0
    saved = sorted(out.glob("step_*.pt"))
    if args.resume and saved:
        model = load_wavenet(saved[-1])
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        opt.load_state_dict(safe_io.torch_load(out / "optimizer.pt"))
        curve = json.loads((out / "curve.json").read_text())
        step, cpu = curve["points"][-1]["step"], 60 * curve["points"][-1]["cpu_minutes"]
        print(f"resumed from {saved[-1]} at step {step} ({cpu / 60:.1f} CPU min)")
    else:
        gl = [float(mel_spectral_convergence(m, mel_to_audio(m, cfg, n_iter=60), cfg)) for m in targets]
        noise = [float(mel_spectral_convergence(m, 0.1 * torch.randn(n_frames * cfg.hop_length), cfg)) for m in targets]
        curve = {"griffin_lim": gl, "noise": noise, "held_out": held_ids, "seconds": args.seconds, "command": " ".join(os.sys.argv), "points": []}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{len(wavs)} training utterances ({sum(len(w) for w in wavs) / cfg.sample_rate / 60:.1f} min); held out {held_ids}; "
          f"load {load:.1f}; mel SC of Griffin-Lim {np.mean(curve['griffin_lim']):.3f}, of white noise {np.mean(curve['noise']):.3f}", flush=True)
    losses: list[float] = []
    while True:
        if step % args.eval_every == 0 and not (curve["points"] and curve["points"][-1]["step"] == step):
            scores = {}
            for temp in (1.0, args.temperature):
                sample_at(temp)
                gen = [wavenet_generate.generate(model, m, seed=0, progress=False) for m in targets]
                scores[temp] = [float(mel_spectral_convergence(m, g, cfg)) for m, g in zip(targets, gen)]
            sample_at(1.0)
            loss = float(np.mean(losses[-100:])) if losses else float("nan")
            curve["points"].append({"cpu_minutes": cpu / 60, "step": step, "loss": loss, "mel_sc": scores[1.0], "mel_sc_cold": scores[args.temperature]})
            save_wavenet(out / f"step_{step:05d}.pt", model, extra={"step": step, "cpu_minutes": cpu / 60})
            with safe_io.atomic_open(out / "optimizer.pt") as f:
                torch.save(opt.state_dict(), f)
            safe_io.atomic_write(out / "curve.json", json.dumps(curve, indent=1))
            print(f"{cpu / 60:6.1f} CPU min  step {step:5d}  loss {loss:.3f}  mel SC T=1 {np.mean(scores[1.0]):.3f}  "
                  f"T={args.temperature} {np.mean(scores[args.temperature]):.3f}", flush=True)
        if step >= args.steps:
            break
        n = min(args.eval_every - step % args.eval_every, args.steps - step)
        c0 = time.process_time()
        for k in range(n):  # one call per step: the segments of step s are drawn from seed s, whatever the chunking
            if args.lr_halve_every:
                for group in opt.param_groups:
                    group["lr"] = args.lr * 0.5 ** ((step + k) // args.lr_halve_every)
            hist = train_wavenet(model, wavs, mels, steps=1, batch_size=4, segment_frames=24, seed=step + k, progress=False, optimizer=opt)
            losses += hist["losses"]
        cpu += time.process_time() - c0
        step += n


if __name__ == "__main__":
    main()
