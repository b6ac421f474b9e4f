"""`tacolib quickstart`, CI-sized: the README's main job, run as a learner runs it.

The end-to-end tests run the real command (``python -m tacolib quickstart --fast``) in a
subprocess, on the fast TinySpeech and a few training steps: every artifact must
exist and be what it claims (wavs that decode, PNGs, a report that links them), the
JSON metrics must be in range and consistent with the verdict, a re-run must re-use
the results, and Ctrl-C must leave a checkpoint that the next run resumes from.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tacolib import report
from tacolib.evaluate import FOCUS_MIN, N_HELDOUT, attention_end_frame, judge_sentence, pick_heldout, summarize_sentences
from tacolib.quickstart import DEFAULT_MINUTES, DEFAULT_STEPS, FAST_MINUTES, training_budget

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict:
    env = dict(os.environ)
    env.update({"TACOLIB_FAST": "1", "TACOLIB_THREADS": "1", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"})
    return env


def _quickstart(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tacolib", "quickstart", "--fast", *args],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout,
    )


def _checkpoints(out: Path) -> list[Path]:
    return sorted((out / "run" / "checkpoints").glob("step_*.pt"))


# ---- pure functions -------------------------------------------------------------------------------


def test_pick_heldout_spreads_over_lengths_and_is_fixed():
    lengths = [50, 10, 40, 30, 20, 60, 70, 80, 90]
    picks = pick_heldout(lengths, 3)
    assert len(set(picks)) == 3
    picked = [lengths[i] for i in picks]
    assert picked == sorted(picked), "shortest first"
    assert picked[0] <= 30 and 40 <= picked[1] <= 60 and picked[2] >= 70, picked
    assert pick_heldout(lengths, 3) == picks
    assert pick_heldout([5, 3], 3) == [1, 0], "fewer items than asked: all of them"
    assert len(set(pick_heldout([7] * 6, 3))) == 3, "ties still give distinct items"


def _metrics(focus: list[float], frames: list[int], expected: list[int], stop: list[str]) -> dict:
    sentences = []
    for k, (f, n, e, s) in enumerate(zip(focus, frames, expected, stop)):
        r = {"index": k, "source": "held-out", "id": f"TS-{k}", "text": f"sentence number {k}", **judge_sentence(f, n, e, s)}
        r.update(wav=f"sentences/{k}.wav", alignment_png=f"sentences/{k}_a.png", mel_png=f"sentences/{k}_m.png", seconds=1.0)
        sentences.append(r)
    m = {
        "config": "tiny", "corpus": "full", "steps": 1234, "train_minutes": 17.5, "minutes_budget": 18.0, "device": "cpu",
        "threads": 2, "cpus": 2, "train_status": "time_budget", "command": "tacolib quickstart", "run_dir": "run",
        "stages_s": {"corpus": 60.0, "train": 1050.0, "synthesize": 20.0, "report": 2.0}, "total_s": 1132.0,
        "reused": [], "finished_utc": "now", "sentences": sentences, "heldout": summarize_sentences(sentences),
    }
    m["generalized"], m["problems"] = report.verdict(m)
    return m


def test_report_says_when_alignment_did_not_generalize_with_the_numbers():
    m = _metrics([0.62, 0.31, 0.70], [200, 250, 1200], [210, 240, 300], ["gate", "gate", "max_steps"])
    assert not m["generalized"]
    assert m["heldout"]["min_focus"] == pytest.approx(0.31) and m["heldout"]["n_ok"] == 1
    html, md = report.render_html(m), report.render_markdown(m)
    for text in (html, md):
        assert "did NOT generalize" in text
        assert "focus 0.31 &lt; 0.5" in text or "focus 0.31 < 0.5" in text
        assert "never fired" in text and "1200" in text
        assert "--minutes" in text, "tells how to train longer"
    assert html.count("<audio") == 3 and html.count('<img src="sentences/') == 6


def test_report_counts_a_late_stop_as_a_failure_and_a_clean_run_as_a_success():
    late = _metrics([0.8, 0.8, 0.8], [100, 100, 120], [100, 100, 100], ["gate"] * 3)
    assert not late["generalized"] and "stop error 20.0% > 10%" in " ".join(late["problems"])
    good = _metrics([0.8, 0.6, 0.55], [100, 205, 290], [104, 200, 300], ["gate"] * 3)
    assert good["generalized"] and good["problems"] == []
    assert "Alignment generalized" in report.render_html(good) and "NOT" not in report.render_markdown(good)


# ---- the command ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "minutes, max_steps, fast, expected",
    [
        (None, None, False, (DEFAULT_MINUTES, DEFAULT_STEPS)),  # plain quickstart: the evidence's steps, a time ceiling
        (15, None, False, (15.0, 3000)),  # --minutes: a budget, up to the preset's last step
        (None, 500, False, (DEFAULT_MINUTES, 500)),  # --max-steps: those steps, within the ceiling
        (None, None, True, (FAST_MINUTES, 3000)),  # CI-sized: a short budget
        (2, 40, True, (2.0, 40)),
    ],
)
def test_training_budget(minutes, max_steps, fast, expected):
    assert training_budget(minutes, max_steps, fast, preset_max_steps=3000) == expected


def test_the_default_steps_fit_the_ceiling_and_stay_below_the_presets_last_step():
    from tacolib.config import get_config

    assert DEFAULT_STEPS < get_config("tiny").train.max_steps, "--max-steps / --minutes must have room to train on"
    assert DEFAULT_STEPS / (DEFAULT_MINUTES * 60) < 1.5, "the ceiling must leave a 1.65 step/s machine time for the steps"


def test_bad_options_get_one_line_and_status_2(tmp_path):
    bad = _quickstart("--out", str(tmp_path / "o"), "--minutes", "0", timeout=120)
    assert bad.returncode == 2, bad.stderr
    assert "--minutes must be a positive number" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "file").write_text("x")
    bad = _quickstart("--out", str(tmp_path / "file"), timeout=120)
    assert bad.returncode == 2 and "not a folder" in bad.stderr and "Traceback" not in bad.stderr
    bad = _quickstart("--out", str(tmp_path / "o"), "--text", "!!!", timeout=120)
    assert bad.returncode == 2 and "nothing speakable" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "o" / "run").exists(), "refused before any training"


@pytest.mark.slow
def test_quickstart_end_to_end_then_reuse(tmp_path):
    out = tmp_path / "qs"
    proc = _quickstart("--out", str(out), "--max-steps", "3", "--text", "Hello, Dr. Hall.")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert str(out) in last and "report.html" in last, last

    m = json.loads((out / "metrics.json").read_text())
    assert m["config"] == "tiny" and m["corpus"] == "fast" and m["fast"] is True
    assert m["device"] == "cpu" and m["steps"] == 3 and m["threads"] == 1
    assert set(m["stages_s"]) == {"corpus", "train", "synthesize", "report"}
    assert all(v >= 0 for v in m["stages_s"].values()) and m["stages_s"]["train"] > 0
    assert m["total_s"] >= sum(m["stages_s"].values()) - 1.0
    held = [r for r in m["sentences"] if r["source"] == "held-out"]
    mine = [r for r in m["sentences"] if r["source"] == "your text"]
    assert len(held) == N_HELDOUT and len(mine) == 1 and mine[0]["text"] == "Hello, Dr. Hall."

    # the held-out sentences are the corpus's test split, never trained on
    corpus = ROOT / "data" / "tinyspeech-fast" if not os.environ.get("TACOLIB_DATA") else Path(os.environ["TACOLIB_DATA"]) / "tinyspeech-fast"
    test_ids = set((corpus / "test.txt").read_text().split())
    assert {r["id"] for r in held} <= test_ids and len({r["id"] for r in held}) == N_HELDOUT

    for r in m["sentences"]:
        assert 0.0 <= r["focus"] <= 1.0
        assert r["frames"] >= 1 and r["expected_frames"] > 10
        assert r["stop_error"] == pytest.approx(abs(r["frames"] - r["expected_frames"]) / r["expected_frames"], abs=1e-3)
        assert r["stop_reason"] in ("gate", "max_steps")
        assert r["focus_ok"] == (r["focus"] >= FOCUS_MIN)
        for key in ("wav", "reference_wav"):
            data = (out / r[key]).read_bytes()
            assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 1000, r[key]
        for key in ("alignment_png", "mel_png"):
            assert (out / r[key]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", r[key]
    h = m["heldout"]
    assert h["mean_focus"] == pytest.approx(sum(r["focus"] for r in held) / len(held), abs=1e-3)
    assert h["max_stop_error"] == pytest.approx(max(r["stop_error"] for r in held), abs=1e-4)
    assert m["generalized"] == all(r["focus_ok"] and r["stop_ok"] for r in held)

    html = (out / "report.html").read_text()
    assert (out / "report.md").is_file()
    for r in m["sentences"]:
        assert f'src="{r["wav"]}"' in html and f'src="{r["alignment_png"]}"' in html and f'src="{r["mel_png"]}"' in html
    if not m["generalized"]:  # 3 steps cannot align: the report must say so, with the numbers
        assert "did NOT generalize" in html and f"{h['mean_focus']:.2f}" in html

    # a second run re-uses everything: no training, same files
    ckpts = _checkpoints(out)
    stamps = {p: p.stat().st_mtime_ns for p in ckpts}
    wav_stamp = (out / held[0]["wav"]).stat().st_mtime_ns
    again = _quickstart("--out", str(out), "--max-steps", "3", "--text", "Hello, Dr. Hall.")
    assert again.returncode == 0, again.stderr[-3000:]
    m2 = json.loads((out / "metrics.json").read_text())
    assert m2["steps"] == 3 and set(m2["reused"]) == {"train", "synthesize"}
    assert "re-using" in again.stdout
    assert _checkpoints(out) == ckpts and all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert (out / held[0]["wav"]).stat().st_mtime_ns == wav_stamp
    assert m2["sentences"] == m["sentences"]


def test_a_folder_holding_a_run_of_the_other_size_is_refused(tmp_path):
    import torch

    from tacolib.checkpoint import save_checkpoint
    from tacolib.config import get_config

    full = get_config("tiny")  # data.size "full": not what --fast continues
    save_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000007.pt", {"step": 7, "config": full.to_dict(), "model": {"w": torch.zeros(1)}})
    proc = _quickstart("--out", str(tmp_path), timeout=120)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "trained on TinySpeech 'full'" in proc.stderr and "--out" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in _checkpoints(tmp_path)] == ["step_00000007.pt"], "the other run is left alone"


@pytest.mark.slow
def test_ctrl_c_keeps_a_checkpoint_and_the_next_run_resumes(tmp_path):
    out = tmp_path / "qs"
    cmd = [sys.executable, "-m", "tacolib", "quickstart", "--fast", "--out", str(out), "--max-steps", "12"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = threading.Event()
    err_chunks: list[str] = []

    def watch():  # the progress bar (stderr) shows "step N/M, loss" once training runs
        buf = ""
        while True:
            c = proc.stderr.read(1)
            if not c:
                return
            buf += c
            err_chunks.append(c)
            if re.search(r"step [2-9]/\d+, loss", buf[-200:]):
                seen.set()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        assert seen.wait(180), "training never started: " + "".join(err_chunks)[-2000:]
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    t.join(5)
    assert proc.returncode == 130, stdout[-2000:] + "".join(err_chunks)[-2000:]
    assert "Run the same command again to resume" in stdout
    ckpts = _checkpoints(out)
    assert ckpts, "Ctrl-C must leave a checkpoint"
    step = int(ckpts[-1].stem.split("_")[1])
    assert 2 <= step < 12
    assert not (out / "metrics.json").exists(), "nothing is synthesized from an interrupted run"

    again = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming at step {step}" in again.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 12 and "train" not in m["reused"]


def test_attention_end_frame_finds_where_reading_reaches_the_last_symbols():
    import torch

    a = torch.zeros(10, 6)  # 10 decoder steps, 5 symbols + EOS
    for t in range(10):
        a[t, min(t, 5)] = 1.0  # one symbol per step, then stays on EOS
    assert attention_end_frame(a, r=3) == 5 * 3  # argmax reaches symbol 4 (= T_in - 2) at step 5
    stuck = torch.zeros(10, 6)
    stuck[:, 1] = 1.0
    assert attention_end_frame(stuck, r=3) is None
    m = _metrics([0.4, 0.8, 0.8], [1200, 100, 100], [210, 100, 100], ["max_steps", "gate", "gate"])
    m["sentences"][0]["attention_end_frame"] = 225
    m["generalized"], m["problems"] = report.verdict(m)
    assert "reached the end of the text at frame 225" in m["problems"][0]
