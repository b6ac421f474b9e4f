"""benchmarks/gpu_check.sh stays runnable: its --dry-run does every GPU step at toy sizes on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_dry_run_writes_one_json_with_every_section(tmp_path):
    out = tmp_path / "gpu_check.json"
    work = tmp_path / "tmp"
    work.mkdir()
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(work)}
    # run from elsewhere with a relative output path: the script finds the repository itself
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", "gpu_check.json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert list(work.iterdir()) == [], "the work folder (mels, runs, logs) must be removed at the end"
    assert result["dry_run"] is True
    inference = result["inference"]
    assert inference["fp32_ms_per_step"] > 0 and inference["autocast_bfloat16_ms_per_step"] > 0, inference
    training = result["training"]
    assert training["fp32_steps_per_s"] > 0 and training["amp_steps_per_s"] > 0, training
    assert result["ddp"]["ok"], result["ddp"]
    if "skipped" not in result["ljspeech"]:
        lj = result["ljspeech"]
        assert lj["exit"] == 0 and lj["steps_done"] == lj["steps"], lj
        assert lj["loss_falls"], lj
