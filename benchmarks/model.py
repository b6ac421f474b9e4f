"""Speed of the Tacotron 2 model: training step, decoder step at inference, RTF.

    python benchmarks/model.py                    # paper preset, CPU, 2 threads
    python benchmarks/model.py --threads 1        # one thread
    python benchmarks/model.py --preset tiny      # the course preset
    python benchmarks/model.py --device cuda      # GPU (default when one is present)

Prints, measured side by side in one run:

* parameter count;
* training step (forward + backward + Adam) for batch 16, 100 input symbols,
  400 mel frames;
* inference for a 100-symbol input run for exactly 500 decoder steps: milliseconds per
  step and real-time factor (compute time / duration of the audio produced), for
  tacolib's ``Decoder.inference`` and for a straightforward loop over the readable
  ``Decoder.step`` (what a typical implementation does each step: prenet with
  ``F.dropout``, separate location conv and dense layer, separate mel and stop
  projections, ``torch.no_grad``), with the ratio;
* ``nn.LSTMCell`` vs a one-step ``nn.LSTM`` at the paper's attention-LSTM size.

Timings on a shared machine are noisy: inference candidates run interleaved and the
best of three is kept; compare the ratios printed by one run, and quote absolute
numbers with the machine's load (printed at the end).

Measured 2026-12-01, paper preset, 2-core AMD EPYC (Zen 3) VM, load ~1-2: inference
7.61 ms/step (RTF 0.66) at 2 threads, 7.85 at 1; the readable loop 1.07-1.13x slower;
training step (B 16, 100 symbols, 400 frames) 38.8 s; LSTMCell 3.2x faster than a
one-step LSTM at batch 1, 1.04x at batch 16. At batch 1 the step streams the two
LSTM cells' 71 MB of fp32 weights (more than the 32 MB L3) from memory each step.

The int8 candidate (``tacolib.model.quantize_decoder``: the two decoder LSTMs with
int8 weights, 18 MB) removes that bottleneck. Measured 2026-12-02, same machine, two
runs, nothing else running: 1.91-1.98 ms/step (RTF 0.165-0.170) at 2 threads against
7.6-8.1 ms for fp32, i.e. 4.1-4.2x the readable loop; 2.92-3.01 ms at 1 thread
(2.9-3.1x). Relative mel difference to fp32 over 500 free-running steps (dropout
off): 0.0058. The fp32 loops ran as fast as on 2026-12-01, so the gain is int8's,
not a quieter machine's.
"""

from __future__ import annotations

import argparse
import os
import sys
import functools
import time

import torch
import torch.nn.functional as F

import tacolib
from tacolib.masks import lengths_to_mask
from tacolib.model import Tacotron2
from tacolib.model.speed import compare_lstm_step


print = functools.partial(print, flush=True)  # noqa: A001 (progress shows while it runs)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_batch(cfg, B, T_in, T_out, device):
    """A random batch in the collate layout (full lengths), on ``device``."""
    r = cfg.model.r
    T_out = -(-T_out // r) * r
    text = torch.randint(2, cfg.text.n_symbols, (B, T_in))
    text[:, -1] = 1
    mel_lengths = torch.full((B,), T_out, dtype=torch.long)
    gate = torch.zeros(B, T_out)
    gate[:, -1] = 1.0
    batch = {
        "text": text, "text_lengths": torch.full((B,), T_in, dtype=torch.long), "mel": torch.rand(B, T_out, cfg.audio.n_mels) * 8 - 4,
        "mel_lengths": mel_lengths, "gate_targets": gate, "mel_mask": lengths_to_mask(mel_lengths, T_out),
    }
    return {k: v.to(device) for k, v in batch.items()}


def train_step_seconds(model, batch, steps, device):
    """Median seconds of forward + backward + Adam step."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def step():
        out = model(batch)
        loss = (F.mse_loss(out["mel"], batch["mel"]) + F.mse_loss(out["mel_postnet"], batch["mel"])
                + F.binary_cross_entropy_with_logits(out["gate_logits"], batch["gate_targets"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(steps):
        _sync(device)
        t = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def readable_inference(model, ids, lengths, n_steps):
    """A step loop over the readable ``Decoder.step``, as typical implementations run it."""
    dec = model.decoder
    with torch.no_grad():
        memory = model.encoder(ids, lengths)
        pm = dec.attention.process_memory(memory)
        mask = lengths_to_mask(lengths, memory.shape[1])
        state, frame, frames, gates, aligns = dec.initial_state(memory), dec.go_frame(memory), [], [], []
        for _ in range(n_steps):
            f, g, w, state = dec.step(dec.prenet(frame), state, memory, pm, mask)
            frames.append(f)
            gates.append(g)
            aligns.append(w)
            frame = f[:, -dec.n_mels:]
            torch.sigmoid(g).gt(dec.gate_threshold).any().item()  # the stop check
        mel = torch.stack(frames, 1).view(ids.shape[0], -1, dec.n_mels)
        return model.postnet(mel)


def int8_error(model, int8, ids, n_steps) -> float:
    """Relative L2 difference of the postnet mels of the fp32 and int8 models.

    Prenet dropout is switched off for the comparison, so both runs see the same
    inputs and only int8 rounding (compounded over ``n_steps`` free-running steps)
    separates them.
    """
    saved = model.decoder.prenet.dropout_in_eval, int8.decoder.prenet.dropout_in_eval
    model.decoder.prenet.dropout_in_eval = int8.decoder.prenet.dropout_in_eval = False
    try:
        with torch.inference_mode():
            a = model.inference(ids, max_decoder_steps=n_steps, stop_on_gate=False)["mel_postnet"]
            b = int8.inference(ids, max_decoder_steps=n_steps, stop_on_gate=False)["mel_postnet"]
    finally:
        model.decoder.prenet.dropout_in_eval, int8.decoder.prenet.dropout_in_eval = saved
    return float((a - b).norm() / a.norm())


def interleaved_seconds(fns: dict, device, repeats=3) -> dict:
    """Best-of-``repeats`` wall time of each function, runs interleaved (a, b, a, b, ...).

    On a shared machine the load changes from second to second; interleaving exposes
    every candidate to the same conditions, and the minimum is the least disturbed run.
    """
    for fn in fns.values():
        fn()  # warm-up
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            _sync(device)
            t = time.perf_counter()
            fn()
            _sync(device)
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="paper")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--symbols", type=int, default=100)
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--decoder-steps", type=int, default=500)
    p.add_argument("--train-steps", type=int, default=2, help="measured training steps (after one warm-up)")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--no-int8", action="store_true", help="skip the int8 (CPU) inference candidate")
    args = p.parse_args(argv)

    tacolib.setup(seed=0, threads=args.threads)
    device = torch.device(args.device)
    cfg = tacolib.get_config(args.preset)
    r, hop, sr = cfg.model.r, cfg.audio.hop_length, cfg.audio.sample_rate
    model = Tacotron2(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tacolib model benchmark: preset={args.preset} device={device} threads={torch.get_num_threads()} torch={torch.__version__}")
    print(f"parameters: {n_params:,} ({n_params / 1e6:.2f} M)")

    model.eval()
    int8 = None
    if device.type == "cpu" and not args.no_int8:
        from tacolib.model.int8 import quantize_decoder

        int8 = quantize_decoder(model)
    ids = torch.randint(2, cfg.text.n_symbols, (1, args.symbols), device=device)
    ids[:, -1] = 1
    lengths = torch.tensor([args.symbols], device=device)
    n = args.decoder_steps
    audio_seconds = n * r * hop / sr
    print(f"inference, {args.symbols} symbols, exactly {n} decoder steps ({n * r} frames = {audio_seconds:.2f} s of audio):")
    thread_counts = [args.threads] if device.type == "cuda" or args.threads == 1 else [args.threads, 1]
    for threads in thread_counts:
        torch.set_num_threads(threads)
        fns = {
            "fast": lambda: model.inference(ids, max_decoder_steps=n, stop_on_gate=False),
            "readable": lambda: readable_inference(model, ids, lengths, n),
        }
        if int8 is not None:
            fns["int8"] = lambda: int8.inference(ids, max_decoder_steps=n, stop_on_gate=False)
        t = interleaved_seconds(fns, device)
        fast, slow = t["fast"], t["readable"]
        print(f"  [{threads} thread(s)] tacolib Decoder.inference : {fast / n * 1e3:.3f} ms/step  RTF {fast / audio_seconds:.3f}")
        print(f"  [{threads} thread(s)] readable step loop        : {slow / n * 1e3:.3f} ms/step  RTF {slow / audio_seconds:.3f}")
        print(f"  [{threads} thread(s)] speed-up of the fast loop : {slow / fast:.2f}x")
        if int8 is not None:
            q = t["int8"]
            print(f"  [{threads} thread(s)] int8 decoder LSTMs        : {q / n * 1e3:.3f} ms/step  RTF {q / audio_seconds:.3f}"
                  f"  -> {slow / q:.2f}x the readable loop, {fast / q:.2f}x the fp32 fast loop")
    torch.set_num_threads(args.threads)
    print("  (reference figure: a public PyTorch Tacotron 2, fp32, runs ~2.1 ms/step on this 2-core CPU on a quiet day,\n"
          "   RTF ~0.18; its loop is the 'readable' one above: compare with the ratios, measured side by side)")
    if int8 is not None:
        print(f"  int8 vs fp32, prenet dropout off, {n} free-running steps: relative mel difference {int8_error(model, int8, ids, n):.4f}")

    for B in (1, 16):
        res = compare_lstm_step(cfg.model.prenet_dim + cfg.model.encoder_embedding_dim, cfg.model.attention_rnn_dim, B, steps=100, device=device)
        print(f"LSTM step, batch {B:2d}: nn.LSTMCell {res['cell_ms']:.3f} ms, one-step nn.LSTM {res['lstm_ms']:.3f} ms "
              f"-> LSTM/cell = {res['ratio']:.2f}")
    if not args.skip_train:  # last: the slowest measurement
        model.train()
        batch = make_batch(cfg, args.batch, args.symbols, args.frames, device)
        sec = train_step_seconds(model, batch, args.train_steps, device)
        print(f"training step (fwd+bwd+Adam), batch {args.batch}, {args.symbols} symbols, {batch['mel'].shape[1]} frames: "
              f"{sec:.2f} s  ({sec / (batch['mel'].shape[1] // r) * 1e3:.1f} ms per decoder step)")

    if hasattr(os, "getloadavg"):
        print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
