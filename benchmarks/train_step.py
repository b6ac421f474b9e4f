"""Speed of one training step: tacolib's fast decoder loop vs its readable loop vs an NVIDIA-style loop.

    .venv/bin/python benchmarks/train_step.py                       # tiny and paper, 1 and 2 threads
    .venv/bin/python benchmarks/train_step.py --presets tiny --repeats 5
    .venv/bin/python benchmarks/train_step.py --profile tiny        # where the fast step's time goes
    /work/bin/cpu-exclusive .venv/bin/python benchmarks/train_step.py   # on the shared course machine

One training step is forward, the preset's loss (masked MSEs, stop BCE, guided
attention for ``tiny``), backward, gradient clipping and Adam, on one fixed padded
batch (16 utterances of different lengths, the shape of a median TinySpeech bucket
batch for ``tiny``; 100 symbols and 400 frames for ``paper``). Three candidates,
each a model with the same initial weights:

``fast``
    tacolib as trained (``model.fast_paths``): ``Decoder.forward`` runs
    ``tacolib.model.recurrence`` (batched precompute, a hand-written backward,
    oneDNN products on CPU) and the encoder's BiLSTM runs ``bidirectional_lstm``.
``readable``
    the same model with the readable paths (``model.fast_paths=false``): the loop
    over ``Decoder.step`` with autograd through every op and the packed ``nn.LSTM``
    (what the fast paths are tested against: same losses and gradients).
``reference``
    tacolib's readable encoder and its postnet with an NVIDIA-style decoder (:class:`ReferenceDecoder`,
    written here from the published description of NVIDIA's Tacotron 2): per step
    ``LSTMCell``, dropout 0.1 on each LSTM's hidden state, location conv and dense
    layer, and both output projections inside the loop.

Candidates run interleaved (a, b, c, a, b, c, ...) and the best of ``--repeats`` is
kept, so every one sees the same machine; the ratios are the result. The step's
arithmetic is estimated by counting multiply-adds (forward, times 3 for forward +
backward) and set against the machine's float32 matrix-product rate measured in the
same run (a 2048-cube product through torch's default MKL and through oneDNN).

Measured 2026-12-02, 2-core AMD EPYC VM (AVX-512), torch 2.13 CPU wheel, under
``/work/bin/cpu-exclusive``, in two runs (``tiny`` best of 5 interleaved rounds,
``paper`` of 1 after a warm-up)::

    .venv/bin/python benchmarks/train_step.py --presets tiny --repeats 5
    .venv/bin/python benchmarks/train_step.py --presets paper --repeats 2

======  =======  =======  ===========  ============  ===============  ================
preset  threads  fast ms  readable ms  reference ms  readable / fast  reference / fast
======  =======  =======  ===========  ============  ===============  ================
tiny       1       171        287          305            1.68             1.79
tiny       2       119        209          218            1.76             1.83
paper      1      6822      16353        16147            2.40             2.37
paper      2      4238      11301        11549            2.67             2.73
======  =======  =======  ===========  ============  ===============  ================

First-step losses of fast and readable differ by 3e-6 (``tiny``) and 6e-6
(``paper``) in ~14: float32 rounding (tests/test_fast_paths.py holds them equal to
1e-9 in float64). The fast ``tiny`` step gained ~13 % over the issue's first part
(the same session's side-by-side runs: 136.5 -> 118 ms at 2 threads, 190 -> 167
ms at 1; ratios 1.59 -> 1.69 and 1.63 -> 1.72 in those runs; the readable step's
own time moves by up to 10 % between sessions on this shared VM, so compare ratios
within a run). Where it came from (profiles of one step under cpu-exclusive):
the postnet's time-major twin (channels-last convolutions, sigmoid-form tanh,
dropout masks contiguous; postnet forward + backward 46 -> 34 ms at 2 threads,
73 -> 54 ms at 1), Adam with ``foreach`` (bit-identical; 7.4 -> 3.8 ms in a
micro-benchmark), and fewer
ops per decoder step (LSTM backward factors batched over steps, the attention's
tanh as a sigmoid of a doubled pre-activation, the location weight gradient as one
product): the profiler's op calls per step fell from ~26,900 to ~19,900.

The goal of a 2.5x ``tiny`` step is not reached. What is left at 2 threads (119
ms; the arithmetic alone is 44 ms at the 2048-cube oneDNN rate): products in the
decoder loops ~25 ms (16-row products, ~1.3x from the second thread), the
postnet's convolutions ~23 ms (near oneDNN's rate), dropout/zoneout random numbers
~9 ms (torch's CPU generator is serial; the fast path must draw the readable
path's numbers), Python time in the two loops ~12 ms, the encoder ~10 ms, and a
long tail of small pointwise ops. Running the loop at 1 thread inside a 2-thread
step did not help (131 vs 130 ms). At ``paper`` size this part changed nothing
(within 2 %); the reference ratio there stays ~2.4-2.7x. The ``tiny`` step is
~21 GFLOP (the postnet 48 % of the multiply-adds, the two decoder LSTMs 33 %). A
2048-cube product ran at 112-117 GFLOP/s through torch's MKL and 247-253 through
oneDNN at 1 thread (217-227 and 450-493 at 2): MKL takes a slower code path on
this AMD processor, which is about half of the gain.

``torch.compile`` (gcc, inductor, same machine, 1 thread, ``tiny`` decoder step
forward): the LSTM cell's pointwise math 79 us compiled vs 52 us eager; a step with
its pointwise pieces compiled 426 us vs 420 us eager; compiling a whole step fails
with oneDNN's packed products (inductor's mkldnn lowering wants constant weights) and
with plain products runs 588 us vs 646 us eager on MKL (the eager oneDNN step: 420).
``torch.compile(model)`` of the readable model took 13 minutes to compile (the loop
unrolled) and ran a step ~6 % faster (under shared load). Nothing compiled is used.

Compiling the decoder loops themselves (2026-12-03, a prototype not kept): the
two per-step loops of ``DecoderRecurrence`` written in C++ as the same ATen calls in
the same order (built by ``torch.utils.cpp_extension`` in 11 s with g++; outputs
and gradients bit-identical to the Python loops at 1 thread). Forward + backward of
the recurrence alone, ``tiny`` shapes (batch 16, 64 symbols, 300 frames), best of 6
interleaved, under ``/work/bin/cpu-exclusive``:

=========================================  =================  =================
loops                                      2 threads (ms)     1 thread (ms)
=========================================  =================  =================
Python (tacolib today)                     27.8 + 41.8        32.2 + 49.7
C++, same ATen calls                       23.1 + 37.8        25.4 + 45.2
C++, batch rows split over two threads     31.6 + 50.1        --
=========================================  =================  =================

So Python's share of the loops is ~10 ms of a ~120-150 ms step (~6 %), and giving
each core half the rows makes things worse. Half the batch at 1 thread costs 85 % of
the whole batch (56-62 vs 71 ms; two such processes at once run as fast as one
alone, so the two cores are independent): the loops cost per op, inside ATen (the
16-row products, a 65,536-element sigmoid per step, ~3,300 small pointwise ops),
not per row and not in Python. What is left for a 2.5x step is fusing each step's
pointwise work (both LSTM cells, the attention's energies, softmax and context)
into hand-written vectorized kernels; a compiled copy of today's ops is not worth
its build step for ~6 %.

Different numerics would not reach it either: the fast step under CPU bfloat16
autocast (this CPU has AVX512-BF16; the recurrence stays in float32; forward and loss
under autocast, backward outside, as the trainer does on GPUs) took 116 vs 130 ms at
2 threads and 146 vs 174 ms at 1 (same run, interleaved, best of 6): the readable
step over it 1.94x and 2.08x.
"""

from __future__ import annotations

import argparse
import copy
import functools
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import tacolib
from tacolib.loss import Tacotron2Loss
from tacolib.masks import lengths_to_mask, make_gate_targets
from tacolib.model import LocationSensitiveAttention, Tacotron2
from tacolib.model.layers import linear
from tacolib.model import onednn
from tacolib.model.onednn import onednn_available
from tacolib.model.tacotron2 import set_fast_paths

print = functools.partial(print, flush=True)  # noqa: A001

SHAPES = {"tiny": (64, 300), "paper": (100, 400)}  # (T_in symbols, T_out frames) of the longest utterance


# ---- the NVIDIA-style reference decoder ----------------------------------------------------


class ReferenceDecoder(nn.Module):
    """A per-step teacher-forced decoder in the style of NVIDIA's public Tacotron 2.

    Same boxes and widths as :class:`tacolib.model.Decoder`; what differs is how the
    loop is written: ``nn.LSTMCell`` with dropout (p = 0.1) on each hidden state
    instead of zoneout, a separate location convolution and dense layer per step,
    ``torch.cat`` of the attention weights each step, and the mel and stop projections
    inside the loop. ``forward`` has ``Decoder.forward``'s signature and outputs.
    """

    def __init__(self, cfg):
        super().__init__()
        m, n_mels = cfg.model, cfg.audio.n_mels
        self.n_mels, self.r = n_mels, m.r
        self.prenet = nn.ModuleList([linear(n_mels, m.prenet_dim, bias=False), linear(m.prenet_dim, m.prenet_dim, bias=False)])
        self.attention_rnn = nn.LSTMCell(m.prenet_dim + m.encoder_embedding_dim, m.attention_rnn_dim)
        self.attention_layer = LocationSensitiveAttention(
            m.attention_rnn_dim, m.encoder_embedding_dim, m.attention_dim, m.attention_location_n_filters, m.attention_location_kernel_size
        )
        self.decoder_rnn = nn.LSTMCell(m.attention_rnn_dim + m.encoder_embedding_dim, m.decoder_rnn_dim)
        self.linear_projection = linear(m.decoder_rnn_dim + m.encoder_embedding_dim, n_mels * m.r)
        self.gate_layer = linear(m.decoder_rnn_dim + m.encoder_embedding_dim, m.r, nonlinearity="sigmoid")
        self.p_attention_dropout = self.p_decoder_dropout = 0.1

    def forward(self, memory, text_lengths, mel):
        B, T_out, n_mels = mel.shape
        T = T_out // self.r
        x = torch.cat([memory.new_zeros(B, 1, n_mels), mel.view(B, T, self.r, n_mels)[:, :-1, -1]], 1).transpose(0, 1)
        for layer in self.prenet:
            x = F.dropout(F.relu(layer(x)), p=0.5, training=True)  # (T, B, d_pre)
        H_a, H_d, D = self.attention_rnn.hidden_size, self.decoder_rnn.hidden_size, memory.shape[2]
        h_a, c_a, h_d, c_d = (memory.new_zeros(B, h) for h in (H_a, H_a, H_d, H_d))
        weights, weights_cum, context = memory.new_zeros(B, memory.shape[1]), memory.new_zeros(B, memory.shape[1]), memory.new_zeros(B, D)
        processed_memory = self.attention_layer.memory_layer(memory)
        mask = ~lengths_to_mask(text_lengths, memory.shape[1])
        mels, gates, aligns = [], [], []
        for t in range(T):
            h_a, c_a = self.attention_rnn(torch.cat((x[t], context), -1), (h_a, c_a))
            h_a = F.dropout(h_a, self.p_attention_dropout, self.training)
            weights_cat = torch.cat((weights.unsqueeze(1), weights_cum.unsqueeze(1)), dim=1)
            energies = self.attention_layer.energies(h_a, processed_memory, weights_cat).masked_fill(mask, float("-inf"))
            weights = F.softmax(energies, dim=1)
            context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
            weights_cum = weights_cum + weights
            h_d, c_d = self.decoder_rnn(torch.cat((h_a, context), -1), (h_d, c_d))
            h_d = F.dropout(h_d, self.p_decoder_dropout, self.training)
            y = torch.cat((h_d, context), dim=1)
            mels.append(self.linear_projection(y))
            gates.append(self.gate_layer(y))
            aligns.append(weights)
        return {
            "mel": torch.stack(mels, 1).view(B, T_out, n_mels),
            "gate_logits": torch.stack(gates, 1).view(B, T_out),
            "alignments": torch.stack(aligns, 1),
        }


# ---- batch, models, step ----------------------------------------------------------------------


def make_batch(cfg, B: int, T_in: int, T_out: int, seed: int = 0) -> dict:
    """A padded batch in the collate layout: lengths spread over the top quarter, as in a bucket."""
    g = torch.Generator().manual_seed(seed)
    r = cfg.model.r
    T_out = -(-T_out // r) * r
    text_lengths = torch.randint(T_in * 3 // 4, T_in + 1, (B,), generator=g)
    mel_lengths = torch.randint(T_out * 3 // 4, T_out + 1, (B,), generator=g)
    text_lengths[0], mel_lengths[0] = T_in, T_out
    text = torch.randint(2, cfg.text.n_symbols, (B, T_in), generator=g) * lengths_to_mask(text_lengths, T_in)
    mel_mask = lengths_to_mask(mel_lengths, T_out)
    mel = torch.where(mel_mask[..., None], torch.rand(B, T_out, cfg.audio.n_mels, generator=g) * 8 - 4, cfg.audio.pad_value)
    return {"text": text, "text_lengths": text_lengths, "mel": mel, "mel_lengths": mel_lengths,
            "gate_targets": make_gate_targets(mel_lengths, T_out), "mel_mask": mel_mask}


def make_models(cfg) -> dict:
    """The three candidates, from the same initial weights (the reference's decoder has its own)."""
    torch.manual_seed(0)
    fast = Tacotron2(cfg)
    readable = copy.deepcopy(fast)
    set_fast_paths(readable, False)
    reference = copy.deepcopy(readable)
    reference.decoder = ReferenceDecoder(cfg)
    return {"fast": fast, "readable": readable, "reference": reference}


def make_step(model, cfg, batch, foreach: bool = False):
    """A closure running one training step; returns the loss.

    ``foreach``: Adam's one-kernel-for-all-tensors update, as tacolib's trainer runs it
    (``tacolib.schedule.make_optimizer``; bit-identical to the per-tensor loop, which is
    torch's default on CPU and what the readable and reference steps keep).
    """
    criterion = Tacotron2Loss.from_config(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, foreach=foreach)
    model.train()

    def step() -> float:
        loss = criterion(model(batch), batch)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        return float(loss.detach())

    return step


def interleaved_best(fns: dict, repeats: int) -> dict:
    """Best wall time of each function over ``repeats`` rounds run a, b, c, a, b, c, ... (after one warm-up each)."""
    for fn in fns.values():
        fn()
    best = {k: math.inf for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


# ---- arithmetic -------------------------------------------------------------------------------


def step_macs(cfg, B: int, T_in: int, T_out: int) -> dict:
    """Multiply-adds of one forward pass, by box (padding included, as computed).

    Backward costs about twice the forward (input and weight gradients), so a
    training step is about ``3 * sum``. Elementwise work (nonlinearities, softmax,
    BatchNorm, Adam) is left out: it is small next to the products.
    """
    m, n_mels = cfg.model, cfg.audio.n_mels
    T = T_out // m.r
    E, D, A, k, F_ = m.symbols_embedding_dim, m.encoder_embedding_dim, m.attention_dim, m.attention_location_kernel_size, m.attention_location_n_filters
    Ha, Hd, P, Q = m.attention_rnn_dim, m.decoder_rnn_dim, m.prenet_dim, m.postnet_embedding_dim
    post = [n_mels] + [Q] * (m.postnet_n_convs - 1) + [n_mels]
    return {
        "encoder convs": B * T_in * m.encoder_kernel_size * (E * D + (m.encoder_n_convs - 1) * D * D),
        "encoder BiLSTM": 2 * B * T_in * 4 * (D // 2) * (D + D // 2),
        "prenet": B * T * (n_mels * P + P * P),
        "attention LSTM": B * T * 4 * Ha * (P + D + Ha),
        "attention": B * T_in * D * A + B * T * (Ha * A + T_in * (2 * k * F_ + F_ * A + A + D)),
        "decoder LSTM": B * T * 4 * Hd * (Ha + D + Hd),
        "projections": B * T * (Hd + D) * (m.r * n_mels + m.r),
        "postnet": B * T_out * m.postnet_kernel_size * sum(a * b for a, b in zip(post[:-1], post[1:])),
    }


def matmul_gflops(n: int = 2048) -> dict:
    """Achieved float32 GFLOP/s of an n-cube matrix product: torch's default (MKL) and oneDNN."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    fns = {"torch.mm": lambda: a @ b}
    if onednn_available():
        bt = b.t().contiguous()
        fns["oneDNN"] = lambda: torch.ops.mkldnn._linear_pointwise(a, bt, None, "none", [], "")
    t = interleaved_best(fns, 3)
    return {k: 2 * n**3 / v / 1e9 for k, v in t.items()}


# ---- main -------------------------------------------------------------------------------------


def profile(preset: str, threads: int, B: int) -> None:
    """torch.profiler table of the fast step's most expensive ops."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    torch.set_num_threads(threads)
    cfg = tacolib.get_config(preset)
    batch = make_batch(cfg, B, *SHAPES[preset])
    model = make_models(cfg)["fast"]
    step = make_step(model, cfg, batch, foreach=True)
    step()
    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
    events = sorted(prof.key_averages(group_by_input_shape=True), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"{preset}, {threads} thread(s): {total / 1e3:.1f} ms of op time in one fast step; top ops (self time):")
    for e in events[:40]:
        print(f"{e.self_cpu_time_total / 1e3:8.2f} ms {e.count:5d} x {e.key[:34]:34s} {str(e.input_shapes)[:80]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="tiny,paper")
    p.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds (tiny); paper runs max(1, repeats - 1)")
    p.add_argument("--paper-frames", type=int, default=SHAPES["paper"][1], help="T_out of the paper batch (r = 1: decoder steps)")
    p.add_argument("--profile", metavar="PRESET", help="instead: profile the fast step of PRESET at the first thread count")
    p.add_argument("--no-onednn", action="store_true", help="plain torch products in the fast path (what a GPU or a build without oneDNN gets)")
    args = p.parse_args(argv)
    if args.no_onednn:
        onednn._STATE["ok"] = False
    threads = [int(x) for x in args.threads.split(",")]
    tacolib.setup(seed=0, threads=threads[0])
    if args.profile:
        profile(args.profile, threads[0], args.batch)
        return 0
    SHAPES["paper"] = (SHAPES["paper"][0], args.paper_frames)
    print(f"# train_step benchmark: torch {torch.__version__}, {os.cpu_count()} CPUs, oneDNN products: {onednn_available()}")
    rows = []
    for preset in args.presets.split(","):
        cfg = tacolib.get_config(preset)
        T_in, T_out = SHAPES[preset]
        batch = make_batch(cfg, args.batch, T_in, T_out)
        macs = step_macs(cfg, args.batch, T_in, batch["mel"].shape[1])
        gflop = 3 * 2 * sum(macs.values()) / 1e9
        models = make_models(cfg)
        steps = {name: make_step(model, cfg, batch, foreach=name == "fast") for name, model in models.items()}
        torch.set_num_threads(threads[0])
        torch.manual_seed(1)
        loss_fast = steps["fast"]()
        torch.manual_seed(1)
        loss_readable = steps["readable"]()
        print(f"\n## {preset}: batch {args.batch}, {T_in} symbols, {batch['mel'].shape[1]} frames, r = {cfg.model.r}"
              f" ({batch['mel'].shape[1] // cfg.model.r} decoder steps)")
        print(f"first-step loss, same seed: fast {loss_fast:.6f}, readable {loss_readable:.6f} (difference {loss_fast - loss_readable:+.1e})")
        print("forward multiply-adds by box (M): " + ", ".join(f"{k} {v / 1e6:.0f}" for k, v in macs.items()))
        print(f"training step ~ 3 x forward = {gflop:.1f} GFLOP")
        for n in threads:
            torch.set_num_threads(n)
            peak = matmul_gflops()
            t = interleaved_best(steps, args.repeats if preset == "tiny" else max(1, args.repeats - 1))
            row = {"preset": preset, "threads": n, **{k: v * 1e3 for k, v in t.items()}}
            rows.append(row)
            best_peak = max(peak.values())
            print(f"[{n} thread(s)] matmul 2048^3: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()))
            print(f"[{n} thread(s)] step ms: fast {row['fast']:.0f}, readable {row['readable']:.0f}, reference {row['reference']:.0f}"
                  f"  -> readable/fast {t['readable'] / t['fast']:.2f}x, reference/fast {t['reference'] / t['fast']:.2f}x")
            print(f"[{n} thread(s)] fast step: {gflop / t['fast']:.0f} GFLOP/s = {gflop / t['fast'] / best_peak:.0%} of the best matmul rate"
                  f" (arithmetic alone: {gflop / best_peak * 1e3:.0f} ms)")
    print("\n| preset | threads | fast ms | readable ms | reference ms | readable / fast | reference / fast |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['threads']} | {r['fast']:.0f} | {r['readable']:.0f} | {r['reference']:.0f} | "
              f"{r['readable'] / r['fast']:.2f} | {r['reference'] / r['fast']:.2f} |")
    if hasattr(os, "getloadavg"):
        print(f"# load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
