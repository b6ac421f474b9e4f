"""Distributed training: ``torchrun --nproc_per_node 2`` on CPU (gloo), a few steps on the fast TinySpeech."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tacolib import checkpoint as ckpt

SMALL = [
    "data.size=fast", "model.symbols_embedding_dim=32", "model.encoder_embedding_dim=32", "model.attention_dim=16",
    "model.attention_rnn_dim=32", "model.decoder_rnn_dim=32", "model.prenet_dim=32", "model.postnet_embedding_dim=32",
    "model.max_decoder_steps=20", "train.batch_size=4", "train.lr=1e-2", "train.log_every=1", "train.val_every=6", "train.ckpt_every=6",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_cpu_processes_train_and_rank0_saves(tmp_path):
    from tacolib.corpus import tinyspeech

    tinyspeech.build("fast", progress=False)  # outside the timed run
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "tacolib", "train", "--preset", "tiny", "--out", str(out), "--max-steps", "12", "--no-progress"]
    for s in SMALL:
        cmd += ["--set", s]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TACOLIB_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, f"torchrun failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.stdout.count("done at step 12") == 1, "exactly one process (rank 0) reports"

    state = ckpt.load_checkpoint(out / "checkpoints")
    assert state["step"] == 12
    # mid-run validation (rank 0 alone, the others wait at the next all-reduce) and checkpoints
    assert (out / "checkpoints" / "step_00000006.pt").is_file()
    assert [r["step"] for r in state["history"]["val"]] == [6, 12]
    from tacolib.synthesize import load_model

    model, cfg = load_model(out / "checkpoints" / "step_00000012.pt", "cpu")  # the rank-0 checkpoint loads
    assert cfg.train.batch_size == 4
    losses = [r["loss"] for r in state["history"]["train"]]
    assert len(losses) == 12
    assert sum(losses[-3:]) < 0.8 * sum(losses[:3]), f"loss did not decrease: {losses}"
    events = list((out / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1, f"only rank 0 writes TensorBoard events, found {events}"
