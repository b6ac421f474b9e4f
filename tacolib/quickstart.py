"""The course's main job in one command: from a fresh clone to a model speaking.

``tacolib quickstart`` (no arguments) runs the whole pipeline on the embedded corpus::

    1. corpus       build TinySpeech (or re-use it)              tacolib.corpus.tinyspeech
    2. train        the ``tiny`` preset, within a time budget     tacolib.train.Trainer
    3. synthesize   three held-out sentences, free running        tacolib.train.evaluate_free_running
                    (+ your own with --text), Griffin-Lim audio   tacolib.vocoder.griffin_lim
    4. report       wavs, PNGs, report.html, report.md, metrics.json

and writes everything to one folder (default ``outputs/quickstart/``)::

    outputs/quickstart/report.html       plots and audio players: open it in a browser
    outputs/quickstart/report.md         the same, as Markdown
    outputs/quickstart/metrics.json      focus, stop-token error, stage wall times, ...
    outputs/quickstart/sentences/NN_*    model.wav, reference.wav, alignment.png, mel.png
    outputs/quickstart/training.png      held-out metrics against training time
    outputs/quickstart/run/              the training run (checkpoints, config, history)

Re-running is cheap and safe. Ctrl-C during training saves a checkpoint; the next run
resumes from it and trains only for what is left of the budget. A finished run is
re-used (no retraining); a larger ``--minutes`` continues it; a new ``--text`` is
synthesized with the trained model.

The report is honest: a held-out sentence passes when its free-running attention
focus is at least :data:`FOCUS_MIN` and the stop token ends it within
:data:`STOP_ERROR_MAX` of the recording's length. When one does not, the report says
so, with the measured numbers.

Examples
--------
>>> from tacolib import quickstart
>>> metrics = quickstart.quickstart("outputs/quickstart", minutes=15)   # doctest: +SKIP
>>> metrics["heldout"]["min_focus"], metrics["generalized"]             # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from tacolib.runtime import atomic_write
from tacolib.threads import MAX_TUNED_THREADS, ThreadTuner, thread_plan

__all__ = [
    "DEFAULT_OUT", "DEFAULT_MINUTES", "FAST_MINUTES", "FOCUS_MIN", "STOP_ERROR_MAX", "N_HELDOUT",
    "QuickstartError", "quickstart", "add_arguments", "run", "pick_heldout", "thread_plan", "attention_end_frame", "render_html", "render_markdown",
]

DEFAULT_OUT = Path("outputs") / "quickstart"
#: Training budget (minutes) of a plain ``tacolib quickstart``. Measured from a fresh
#: clone on 2 cores: install ~2.8 min and corpus ~1.2 min; with training, synthesis and
#: the report, 24.3 min in all, inside the course's 30 minutes.
DEFAULT_MINUTES = 20.0
#: Training budget with ``--fast`` / ``TACOLIB_FAST=1`` (CI-sized: checks the plumbing only).
FAST_MINUTES = 1.0
#: A held-out sentence "aligned" when its free-running attention focus reaches this ...
FOCUS_MIN = 0.5
#: ... and its stop token ends it within this fraction of the recording's length.
STOP_ERROR_MAX = 0.10
#: Held-out sentences the quickstart speaks and measures.
N_HELDOUT = 3
PRESET = "tiny"
METRICS_VERSION = 2  # bump when the records change: a re-run then re-synthesizes


class QuickstartError(ValueError):
    """A user error (bad option, an output folder holding another run): one line, no traceback."""


# ---- small helpers -------------------------------------------------------------------------------


def _say(msg: str) -> None:
    """A status line that does not tear tqdm bars."""
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stdout)
    sys.stdout.flush()


def _fmt_minutes(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return []


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _slug(text: str, n: int = 32) -> str:
    s = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    while "__" in s:
        s = s.replace("__", "_")
    return s[:n].rstrip("_") or "text"


def _savefig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- stage 1: the corpus -----------------------------------------------------------------------


def _config(fast: bool):
    from tacolib.config import get_config

    return get_config(PRESET).override([f"data.size={'fast' if fast else 'full'}"])


def _prepare_corpus(cfg, progress: bool):
    """Build (or re-use) TinySpeech and cache the mels of both splits (:func:`tacolib.data.load_datasets`).

    Returns ``(root, train_set, heldout_set)``: the training utterances and the
    held-out ones (``test.txt``), which training never sees.
    """
    from tacolib.data import load_datasets

    splits = load_datasets(cfg, progress=progress)
    return splits["test"].root, splits["train"], splits["test"]


# ---- stage 2: training -------------------------------------------------------------------------


class _BudgetBar:
    """A tqdm bar over the training time budget, with steps, loss and an ETA.

    Used as the trainer's ``on_step`` hook. Its total is the budget in seconds; the
    ETA is the budget's end, or the end of ``max_steps`` when that comes first.
    """

    def __init__(self, budget_s: float, spent_s: float, max_steps: int, start_step: int, enabled: bool = True):
        from tqdm.auto import tqdm

        self.budget_s, self.spent_s = budget_s, spent_s
        self.max_steps, self.start_step = max_steps, start_step
        self.t0 = time.time()
        self.bar = tqdm(
            total=round(budget_s), initial=min(round(spent_s), round(budget_s)), desc="train", unit="s",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s of budget{postfix}", dynamic_ncols=True, disable=not enabled,
        )
        self.bar.set_postfix_str(f"step {start_step}, starting (the first steps are slow)", refresh=True)

    def __call__(self, trainer, record: dict) -> None:
        now = time.time() - self.t0
        done = self.spent_s + now
        steps = trainer.step - self.start_step
        rate = steps / max(now, 1e-9)
        left = self.budget_s - done
        if trainer.step >= self.max_steps:
            left = 0.0
        elif rate > 0:
            left = min(left, (self.max_steps - trainer.step) / rate)
        self.bar.n = min(round(done), self.bar.total)
        self.bar.set_postfix_str(
            f"step {trainer.step}, loss {record['loss']:.3f}, {rate:.2f} step/s, ETA {_fmt_minutes(max(0.0, left))}",
            refresh=False,
        )
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _previous_run(run_dir: Path, cfg) -> dict | None:
    """Step and training seconds of the newest checkpoint in ``run_dir`` (None: no run yet).

    Raises :class:`QuickstartError` when the folder holds a run of another config.
    """
    from tacolib import checkpoint as ckpt

    latest = ckpt.latest_checkpoint(run_dir / "checkpoints")
    if latest is None:
        return None
    try:
        state = ckpt.load_checkpoint(latest, map_location="cpu", config=cfg)
    except ckpt.CheckpointError as e:
        raise QuickstartError(
            f"{run_dir.parent} holds a run the quickstart cannot continue ({e}); "
            "choose another --out, or delete that folder to start over"
        ) from None
    size = state["config"].get("data", {}).get("size")
    if size != cfg.data.size:
        raise QuickstartError(
            f"{run_dir.parent} holds a quickstart trained on TinySpeech '{size}', not '{cfg.data.size}' "
            f"({'drop --fast / TACOLIB_FAST' if size == 'full' else 'pass --fast'} to continue it); "
            "choose another --out, or delete that folder to start over"
        )
    return {"checkpoint": latest, "step": int(state["step"]), "elapsed": float(state.get("elapsed", 0.0))}


def _train(cfg, run_dir: Path, train_set, val_set, budget_min: float, max_steps: int, device, progress: bool, tensorboard: bool,
           tune_threads: int = 0) -> dict:
    """Train (or resume, or re-use) the quickstart's run; returns what happened."""
    from tacolib.train import Trainer

    budget_s = 60.0 * budget_min
    prev = _previous_run(run_dir, cfg)
    spent = prev["elapsed"] if prev else 0.0
    left_s = budget_s - spent
    if prev and (prev["step"] >= max_steps or left_s < max(5.0, 0.01 * budget_s)):
        _say(f"[2/4] training: re-using the finished run ({prev['step']} steps, {spent / 60:.1f} min of training) "
             f"in {run_dir}")
        return {"status": "reused", "step": prev["step"], "checkpoint": str(prev["checkpoint"]), "train_seconds": spent, "reused": True}
    if prev:
        _say(f"[2/4] training: resuming at step {prev['step']} ({spent / 60:.1f} of {budget_min:g} min spent; "
             f"{left_s / 60:.1f} min left)")
    else:
        _say(f"[2/4] training the '{cfg.name}' model for {budget_min:g} min (at most {max_steps} steps); "
             "Ctrl-C saves a checkpoint, re-running resumes")
    trainer = Trainer(cfg, run_dir, train_set=train_set, val_set=val_set, device=device, n_infer=4, tensorboard=tensorboard, progress=False)
    tune = tune_threads > 1 and trainer.device.type == "cpu"
    threads = f"{torch.get_num_threads()} torch thread(s)" + (f", trying up to {tune_threads}" if tune else "")
    _say(f"      device {trainer.device}, {threads}, "
         f"{len(trainer.train_set)} training utterances, {len(trainer.val_set)} for validation")
    bar = _BudgetBar(budget_s, spent, max_steps, prev["step"] if prev else 0, enabled=progress)
    tuner = ThreadTuner(tune_threads) if tune else None

    def on_step(tr, record):
        if tuner is not None:
            tuner(tr, record)
        bar(tr, record)

    trainer.on_step = on_step
    try:
        result = trainer.fit(max_steps=max_steps, max_minutes=left_s / 60.0, resume=bool(prev))
    finally:
        bar.close()
        trainer.close()
    return {
        "status": result["status"], "step": int(result["step"]), "checkpoint": result["checkpoint"],
        "train_seconds": float(result["wall_time"]), "reused": False, "device": str(trainer.device),
        "threads": torch.get_num_threads(), "thread_choices": tuner.decisions if tuner is not None else [],
    }


# ---- stage 3: speaking -------------------------------------------------------------------------


def pick_heldout(lengths: Sequence[int], n: int = N_HELDOUT) -> list[int]:
    """Indices of ``n`` held-out items spread over the length range (short, middle, long).

    The quantiles ``1/(2n), 3/(2n), ...`` of the lengths are taken, so the pick does
    not depend on what the model does with them (no cherry-picking), and both short
    and long sentences are measured.

    Parameters
    ----------
    lengths : sequence of int
        Length of every held-out item (any unit: frames or symbols).
    n : int
        How many to pick (all of them when there are fewer).

    Returns
    -------
    list of int
        Distinct indices, in increasing order of length.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    if len(order) <= n:
        return order
    picked: list[int] = []
    for k in range(n):
        q = (2 * k + 1) / (2 * n)
        j = min(len(order) - 1, int(q * len(order)))
        while order[j] in picked:
            j = (j + 1) % len(order)
        picked.append(order[j])
    return picked


def _expected_frames(text: str, cfg, work: Path) -> tuple[int, Path]:
    """Frames the corpus voice (espeak-ng, as TinySpeech uses it) needs for ``text``.

    The user's text has no recording; TinySpeech's voice reading it is the length the
    model was taught. Returns the frame count and the reference wav it measured.
    """
    from tacolib import audio, espeak
    from tacolib.corpus import tinyspeech
    from tacolib.text import normalize

    wav, sr = espeak.synthesize(normalize(text), **tinyspeech.VOICE)
    path = audio.save_wav(work, wav, sr)
    wav = audio.load_wav(path, cfg.audio.sample_rate, trim=cfg.audio.trim_silence, top_db=cfg.audio.trim_top_db)
    return int(audio.mel_spectrogram(wav, cfg.audio).shape[0]), path


def _sentence_record(k: int, source: str, uid: str, text: str, focus: float, length: int, expected: int, stop_reason: str,
                     read_end: int | None = None) -> dict:
    err = abs(length - expected) / max(1, expected)
    return {
        "index": k, "source": source, "id": uid, "text": text,
        "focus": round(float(focus), 4), "frames": int(length), "expected_frames": int(expected),
        "stop_error": round(float(err), 4), "stop_reason": stop_reason,
        "focus_ok": bool(focus >= FOCUS_MIN), "stop_ok": bool(err <= STOP_ERROR_MAX and stop_reason == "gate"),
        "attention_end_frame": read_end,
    }


def attention_end_frame(alignment, r: int) -> int | None:
    """Frame at which the attention first reaches the end of the text, or None if never.

    A diagnosis, not a criterion: when the stop token fails, it tells whether the
    model still read the whole sentence at the right pace (the end reached near the
    recording's length) and only failed to stop.

    Parameters
    ----------
    alignment : Tensor
        ``(T_dec, T_in)`` attention weights of one sentence (EOS is the last symbol).
    r : int
        Frames per decoder step.
    """
    a = torch.as_tensor(alignment)
    if a.dim() != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        return None
    at_end = (a.argmax(dim=1) >= a.shape[1] - 2).nonzero()
    return int(at_end[0, 0] + 1) * int(r) if len(at_end) else None


class _GriffinLim:
    """Griffin-Lim (60 iterations) as a vocoder object for :func:`tacolib.synthesize.synthesize`.

    A mel shorter than one FFT window (a model that stops at once) is padded with
    silence first, so every sentence gets a (short) wav instead of an error.
    """

    def __init__(self, cfg):
        self.cfg = cfg

    def generate(self, mel) -> torch.Tensor:
        from tacolib.vocoder.griffin_lim import mel_to_audio

        a = self.cfg.audio
        mel = torch.as_tensor(mel).float().cpu()
        min_frames = a.n_fft // a.hop_length + 2  # Griffin-Lim's reflect padding needs this many
        if mel.shape[0] < min_frames:
            mel = torch.cat([mel, mel.new_full((min_frames - mel.shape[0], mel.shape[1]), -a.max_abs_value)])
        return torch.as_tensor(mel_to_audio(mel, a, n_iter=60)).reshape(-1).clamp(-1, 1)


def _write_sentence(out: Path, rec: dict, wav, mel, target_mel, alignment, cfg, reference: Path | None) -> dict:
    """Griffin-Lim wav and plots of one sentence into ``out/sentences/``; fills ``rec``'s file names."""
    from tacolib import viz
    from tacolib.audio import save_wav

    folder = out / "sentences"
    stem = f"{rec['index']:02d}_{_slug(rec['id'] if rec['source'] == 'held-out' else rec['text'])}"
    files = {"wav": folder / f"{stem}_model.wav", "alignment_png": folder / f"{stem}_alignment.png", "mel_png": folder / f"{stem}_mel.png"}
    save_wav(files["wav"], wav, cfg.audio.sample_rate)
    title = f"free running: focus {rec['focus']:.2f}, {rec['frames']} frames for {rec['expected_frames']} ({100 * rec['stop_error']:.1f}% off)"
    fig = viz.plot_alignment(alignment, title=title, text=rec["text"])
    _savefig(fig, files["alignment_png"])
    if target_mel is not None:
        fig = viz.plot_mels([target_mel, mel], [f"reference: espeak-ng ({rec['expected_frames']} frames)", f"model, free running ({rec['frames']} frames)"])
    else:
        fig = viz.plot_mel(mel, title=f"model, free running ({rec['frames']} frames)")
    _savefig(fig, files["mel_png"])
    if reference is not None:
        files["reference_wav"] = folder / f"{stem}_reference.wav"
        shutil.copyfile(reference, files["reference_wav"])
    wav = torch.as_tensor(wav).reshape(-1)
    rec["seconds"] = round(wav.numel() / cfg.audio.sample_rate, 2)
    rec.update({k: _rel(v, out) for k, v in files.items()})
    return rec


def _speak(checkpoint: str, root: Path, heldout, out: Path, texts: Sequence[str], device, seed: int, progress: bool) -> list[dict]:
    """Free-running speech of the held-out picks and of ``texts``: wavs, plots, records."""
    from tqdm.auto import tqdm

    from tacolib import metrics
    from tacolib.data import make_collate
    from tacolib.synthesize import load_model, synthesize
    from tacolib.evaluate import evaluate_free_running

    model, mcfg = load_model(checkpoint, device)
    picks = pick_heldout([len(t) for t in heldout.texts])  # by text length: fixed, whatever the model does
    collate_fn = make_collate(mcfg)
    vocoder = _GriffinLim(mcfg)
    records: list[dict] = []
    bar = tqdm(total=len(picks) + len(texts), desc="speak", unit="sentence", disable=not progress, dynamic_ncols=True)
    try:
        with torch.random.fork_rng(devices=[]):  # the prenet's dropout stays on at inference: seed it
            torch.manual_seed(seed)
            fr = evaluate_free_running(model, heldout, picks, batch_size=len(picks), collate_fn=collate_fn)
        by_id = {str(it["id"]): it for it in fr["items"]}
        for k, idx in enumerate(picks):  # shortest first (the batch itself is ordered by text length)
            it = by_id[heldout.ids[idx]]
            rec = _sentence_record(k, "held-out", str(it["id"]), it["text"], it["focus"], it["length"], it["true_length"], it["stop_reason"],
                                   attention_end_frame(it["alignment"], mcfg.model.r))
            ref = root / "wavs" / f"{it['id']}.wav"
            records.append(_write_sentence(out, rec, vocoder.generate(it["mel"]), it["mel"], it["target_mel"], it["alignment"], mcfg, ref if ref.is_file() else None))
            bar.update(1)
        with tempfile.TemporaryDirectory() as tmp:
            for j, text in enumerate(texts):
                k = len(picks) + j
                res = synthesize(model, text, vocoder=vocoder, seed=seed + k)
                expected, ref = _expected_frames(text, mcfg, Path(tmp) / f"{k}.wav")
                foc = float(metrics.focus(res["alignment"][None])[0])
                rec = _sentence_record(k, "your text", f"text-{j + 1}", text, foc, res["length"], expected, res["stop_reason"],
                                       attention_end_frame(res["alignment"], mcfg.model.r))
                records.append(_write_sentence(out, rec, res["wav"], res["mel"], None, res["alignment"], mcfg, ref))
                bar.update(1)
    finally:
        bar.close()
    return records


# ---- stage 4: the report ------------------------------------------------------------------------------


def _summary(records: list[dict]) -> dict:
    held = [r for r in records if r["source"] == "held-out"]
    if not held:
        return {"n": 0}
    return {
        "n": len(held),
        "mean_focus": round(sum(r["focus"] for r in held) / len(held), 4),
        "min_focus": round(min(r["focus"] for r in held), 4),
        "mean_stop_error": round(sum(r["stop_error"] for r in held) / len(held), 4),
        "max_stop_error": round(max(r["stop_error"] for r in held), 4),
        "n_ok": sum(r["focus_ok"] and r["stop_ok"] for r in held),
    }


def _verdict(m: dict) -> tuple[bool, list[str]]:
    """Whether alignment generalized to the held-out sentences, and the reasons it did not."""
    problems = []
    for r in m["sentences"]:
        if r["source"] != "held-out":
            continue
        why = []
        if not r["focus_ok"]:
            why.append(f"focus {r['focus']:.2f} < {FOCUS_MIN}")
        if r["stop_reason"] != "gate":
            end = r.get("attention_end_frame")
            read = (f"the attention reached the end of the text at frame {end}" if end else "the attention never reached the end of the text")
            why.append(f"the stop token never fired (cut at {r['frames']} frames; {read}; the recording has {r['expected_frames']})")
        elif not r["stop_ok"]:
            why.append(f"stop error {100 * r['stop_error']:.1f}% > {100 * STOP_ERROR_MAX:.0f}% "
                       f"({r['frames']} frames vs {r['expected_frames']})")
        if why:
            problems.append(f"sentence {r['index'] + 1} (\"{r['text'][:60]}\"): " + "; ".join(why))
    return (not problems and m["heldout"].get("n", 0) > 0), problems


def _headline(m: dict) -> str:
    h = m["heldout"]
    if m["generalized"]:
        return (f"Alignment generalized: all {h['n']} held-out sentences read with focus >= {FOCUS_MIN} "
                f"(min {h['min_focus']:.2f}) and stop within {100 * STOP_ERROR_MAX:.0f}% "
                f"(max error {100 * h['max_stop_error']:.1f}%), after {m['steps']} steps ({m['train_minutes']:.1f} min).")
    return (f"Alignment did NOT generalize within the budget: {h.get('n_ok', 0)} of {h.get('n', 0)} held-out sentences "
            f"pass (focus >= {FOCUS_MIN} and stop within {100 * STOP_ERROR_MAX:.0f}%) after {m['steps']} steps "
            f"({m['train_minutes']:.1f} min of training). Measured: mean focus {h.get('mean_focus', float('nan')):.2f}, "
            f"max stop error {100 * h.get('max_stop_error', float('nan')):.1f}%.")


def _advice(m: dict) -> str:
    if m["generalized"]:
        return "Listen to the sentences below; `tacolib quickstart --text \"...\"` makes it say something else."
    if m.get("max_steps") and m["steps"] >= m["max_steps"]:
        return (f"Training stopped at --max-steps {m['max_steps']}: raise it (and --minutes if needed) to continue "
                "this run from its checkpoint.")
    more = max(m["minutes_budget"] * 2, m["minutes_budget"] + 10)
    return (f"Train longer: `tacolib quickstart --minutes {more:g}` continues this run from its checkpoint "
            "(a loaded machine trains fewer steps per minute; see steps and load below).")


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>tacolib quickstart: {status}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
.verdict {{ padding: .8em 1em; border-radius: 6px; margin: 1em 0; }}
.ok {{ background: #e6f4ea; border: 1px solid #34a853; }}
.fail {{ background: #fdecea; border: 1px solid #d93025; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: .25em .6em; text-align: left; font-size: .92em; }}
td.bad {{ color: #d93025; font-weight: 600; }}
section.sentence {{ border-top: 1px solid #ddd; padding-top: 1em; margin-top: 1.5em; }}
img {{ max-width: 100%; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }}
.plots img {{ max-width: 48%; }}
code {{ background: #f4f4f4; padding: 0 .25em; }}
</style></head><body>
<h1>tacolib quickstart</h1>
<p>The <code>{config}</code> model, trained on TinySpeech ({corpus}) for {steps} steps
({train_minutes:.1f} min on {device}), reads sentences it never saw, free running
(its own frames fed back, no teacher), vocoded with Griffin-Lim.</p>
<div class="verdict {cls}"><strong>{headline_html}</strong>{problems_html}<p>{advice_html}</p></div>
<h2>Sentences</h2>
<table><tr><th>#</th><th>source</th><th>text</th><th>focus</th><th>frames / expected</th><th>stop error</th><th>stop</th></tr>
{rows}
</table>
<p>Pass: focus &ge; {focus_min} and the stop token fires within {stop_pct:.0f}% of the expected length
(the recording's for held-out sentences; the corpus voice reading it, for your text).</p>
{sections}
{training}
<h2>Run</h2>
<table>{run_rows}</table>
<p>All numbers: <a href="metrics.json">metrics.json</a>. The training run (checkpoints, config, history):
<code>{run_dir}</code>.</p>
</body></html>
"""

_HTML_SECTION = """<section class="sentence">
<h3>{n}. {text} <small>({source}{id_part})</small></h3>
<p>focus {focus:.2f}, {frames} frames vs {expected} expected ({err:.1f}% off), stop: {stop_reason}, {seconds:.2f} s of audio</p>
<p>model: <audio controls preload="none" src="{wav}"></audio>{ref}</p>
<div class="plots"><img src="{alignment_png}" alt="alignment"><img src="{mel_png}" alt="mel spectrograms"></div>
</section>"""


def render_html(m: dict) -> str:
    """The HTML report of a quickstart's ``metrics.json`` dict (paths relative to its folder)."""
    e = html.escape
    rows, sections = [], []
    for r in m["sentences"]:
        bad_f = "" if r["focus_ok"] else ' class="bad"'
        bad_s = "" if r["stop_ok"] else ' class="bad"'
        rows.append(
            f"<tr><td>{r['index'] + 1}</td><td>{e(r['source'])}</td><td>{e(r['text'])}</td><td{bad_f}>{r['focus']:.2f}</td>"
            f"<td>{r['frames']} / {r['expected_frames']}</td><td{bad_s}>{100 * r['stop_error']:.1f}%</td><td>{e(r['stop_reason'])}</td></tr>"
        )
        ref = ""
        if r.get("reference_wav"):
            ref = f' &nbsp; reference (espeak-ng): <audio controls preload="none" src="{e(r["reference_wav"])}"></audio>'
        sections.append(_HTML_SECTION.format(
            n=r["index"] + 1, text=e(r["text"]), source=e(r["source"]), id_part=f", {e(r['id'])}" if r["source"] == "held-out" else "",
            focus=r["focus"], frames=r["frames"], expected=r["expected_frames"], err=100 * r["stop_error"],
            stop_reason=e(r["stop_reason"]), seconds=r["seconds"], wav=e(r["wav"]), ref=ref,
            alignment_png=e(r["alignment_png"]), mel_png=e(r["mel_png"]),
        ))
    problems = "".join(f"<li>{e(p)}</li>" for p in m.get("problems", []))
    training = ""
    if m.get("training_png"):
        training = f'<h2>Training</h2><p>Held-out metrics during training (teacher forced and free running).</p><img src="{e(m["training_png"])}" alt="training curves">'
    return _HTML.format(
        status="aligned" if m["generalized"] else "not aligned yet", config=e(m["config"]), corpus=e(m["corpus"]),
        steps=m["steps"], train_minutes=m["train_minutes"], device=e(m["device"]),
        cls="ok" if m["generalized"] else "fail", headline_html=e(_headline(m)),
        problems_html=f"<ul>{problems}</ul>" if problems else "", advice_html=e(_advice(m)).replace("`", ""),
        rows="\n".join(rows), focus_min=FOCUS_MIN, stop_pct=100 * STOP_ERROR_MAX, sections="\n".join(sections),
        training=training, run_rows=_run_rows_html(m), run_dir=e(m["run_dir"]),
    )


def _run_facts(m: dict) -> list[tuple[str, str]]:
    st = m["stages_s"]
    facts = [
        ("command", m["command"]),
        ("config", f"{m['config']} (TinySpeech {m['corpus']})"),
        ("device / threads", f"{m['device']} / {m['threads'] if m['threads'] is not None else 'n/a (training re-used)'}"
         + (f" (chosen while training: {m['thread_choices']})" if m.get("thread_choices") else "")),
        ("training", f"{m['steps']} steps, {m['train_minutes']:.1f} min in total (budget {m['minutes_budget']:g} min), {m['train_status']}"),
    ]
    for k in ("corpus", "train", "synthesize", "report"):
        if k in st:
            facts.append((f"stage: {k}", f"{st[k]:.1f} s" + (" (re-used)" if k in m.get("reused", []) else "")))
    facts.append(("total (this run)", f"{m['total_s']:.1f} s"))
    if m.get("load_average"):
        facts.append(("load average (1/5/15 min) at start / end", f"{m['load_average']['start']} / {m['load_average']['end']} on {m['cpus']} CPUs"))
    facts.append(("finished", m["finished_utc"]))
    return facts


def _run_rows_html(m: dict) -> str:
    return "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in _run_facts(m))


def render_markdown(m: dict) -> str:
    """The Markdown report of a quickstart's ``metrics.json`` dict."""
    lines = ["# tacolib quickstart", "", f"**{_headline(m)}**", ""]
    lines += [f"- {p}" for p in m.get("problems", [])]
    lines += ["", _advice(m), "", "| # | source | text | focus | frames / expected | stop error | stop |", "|---|---|---|---|---|---|---|"]
    for r in m["sentences"]:
        lines.append(f"| {r['index'] + 1} | {r['source']} | {r['text'].replace('|', '/')} | {r['focus']:.2f} | "
                     f"{r['frames']} / {r['expected_frames']} | {100 * r['stop_error']:.1f}% | {r['stop_reason']} |")
    lines.append("")
    for r in m["sentences"]:
        lines += [f"## {r['index'] + 1}. {r['text']}", "", f"Model: [{r['wav']}]({r['wav']})"
                  + (f" · reference (espeak-ng): [{r['reference_wav']}]({r['reference_wav']})" if r.get("reference_wav") else ""),
                  "", f"![alignment]({r['alignment_png']}) ![mel]({r['mel_png']})", ""]
    if m.get("training_png"):
        lines += ["## Training", "", f"![training]({m['training_png']})", ""]
    lines += ["## Run", ""] + [f"- {k}: {v}" for k, v in _run_facts(m)] + [""]
    return "\n".join(lines)


def _plot_training(run_dir: Path, path: Path) -> bool:
    """Held-out focus (teacher forced, free running) and stop accuracy against training time."""
    hist_path = run_dir / "history.json"
    if not hist_path.is_file():
        return False
    try:
        val = json.loads(hist_path.read_text()).get("val", [])
    except (ValueError, OSError):
        return False
    if not val:
        return False
    import matplotlib.pyplot as plt

    t = [v.get("time", 0.0) / 60 for v in val]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for key, label in (("focus", "focus, teacher forced"), ("infer_focus", "focus, free running"), ("infer_stop_ok", "stop within 10%, free running")):
        ys = [v.get(key) for v in val]
        if any(isinstance(y, (int, float)) for y in ys):
            ax.plot(t, [y if isinstance(y, (int, float)) else math.nan for y in ys], marker="o", ms=3, label=label)
    ax.axhline(FOCUS_MIN, color="gray", ls=":", lw=0.8)
    ax.set(xlabel="training time (min)", ylabel="held-out (validation) value", ylim=(0, 1.02), title="validation during training")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _savefig(fig, path)
    return True


def _check_texts(texts: Sequence[str]) -> None:
    """Refuse a ``--text`` the model cannot read before training, not after."""
    from tacolib.config import get_config
    from tacolib.text import text_to_ids

    max_len = get_config(PRESET).text.max_text_len
    for t in texts:
        if not t.strip():
            raise QuickstartError("--text is empty: give the sentence to speak in quotes")
        try:
            n = len(text_to_ids(t))
        except ValueError as e:
            raise QuickstartError(f"--text {t!r}: {e}") from None
        if n > max_len:
            raise QuickstartError(f"--text is {n} symbols long after normalization, more than the model's {max_len}; give one sentence")


# ---- the pipeline ------------------------------------------------------------------------------------


def quickstart(
    out: str | Path = DEFAULT_OUT,
    minutes: float | None = None,
    device: str | None = "auto",
    texts: Sequence[str] = (),
    fast: bool | None = None,
    threads: int | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    tensorboard: bool = False,
    command: str = "tacolib quickstart",
) -> dict[str, Any]:
    """Run the course's main job and return its metrics (also written to ``out/metrics.json``).

    Parameters
    ----------
    out : str or Path
        The output folder (created; a previous quickstart there is resumed or re-used).
    minutes : float, optional
        Training budget in minutes, counted over all runs in ``out`` (a re-run trains
        only for what is left). Default :data:`DEFAULT_MINUTES`, :data:`FAST_MINUTES`
        in fast mode.
    device : str, optional
        ``"auto"`` (the GPU when present, else CPU), ``"cpu"``, ``"cuda"``, ...
    texts : sequence of str
        Sentences of your own to speak, after the held-out ones.
    fast : bool, optional
        The CI-sized run (TinySpeech ``fast``, short budget). Default: ``TACOLIB_FAST``.
    threads : int, optional
        Torch CPU threads. Default: ``TACOLIB_THREADS`` when set, 1 in fast mode, else
        training starts with 1 and switches to up to ``min(MAX_TUNED_THREADS, cpu_count)``
        while that is measured to be faster (:func:`thread_plan`, :class:`tacolib.threads.ThreadTuner`); synthesis uses 1.
    max_steps : int, optional
        Cap on training steps (default: the preset's ``train.max_steps``).
    seed : int
        Seed of the prenet's dropout at inference.
    progress, tensorboard : bool
        tqdm bars; TensorBoard events in ``out/run/tb``.
    command : str
        How the run was started (recorded in the report).

    Returns
    -------
    dict
        What ``metrics.json`` holds: ``sentences`` (per sentence: ``focus``,
        ``frames``, ``expected_frames``, ``stop_error``, ``stop_reason``, file names),
        ``heldout`` (mean/min focus, mean/max stop error), ``generalized``,
        ``stages_s`` (wall seconds per stage), ``steps``, ``device``, ``config``, ...
        ``status`` is ``"interrupted"`` (and nothing is synthesized) when training
        was stopped with Ctrl-C.
    """
    from tacolib.runtime import fast_mode
    from tacolib.runtime import resolve_device

    t_start = time.time()
    fast = fast_mode() if fast is None else bool(fast)
    minutes = (FAST_MINUTES if fast else DEFAULT_MINUTES) if minutes is None else float(minutes)
    if not (minutes > 0 and math.isfinite(minutes)):
        raise QuickstartError(f"--minutes must be a positive number, got {minutes}")
    if max_steps is not None and max_steps < 1:
        raise QuickstartError(f"--max-steps must be >= 1, got {max_steps}")
    texts = [t for t in texts]
    _check_texts(texts)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise QuickstartError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / "run"
    if threads is not None and threads < 1:
        raise QuickstartError(f"--threads must be >= 1, got {threads}")
    dev = resolve_device(device)
    threads, tune = thread_plan(threads, fast)
    torch.set_num_threads(threads)
    cfg = _config(fast)
    if max_steps is None:
        max_steps = cfg.train.max_steps
    load_start = _load()
    stages: dict[str, float] = {}
    reused: list[str] = []

    # 1. corpus
    t = time.time()
    _say(f"[1/4] corpus: TinySpeech ({cfg.data.size})")
    root, train_set, heldout = _prepare_corpus(cfg, progress)
    stages["corpus"] = round(time.time() - t, 2)
    _say(f"      {len(train_set)} training and {len(heldout)} held-out utterances at {root} ({stages['corpus']:.1f} s)")

    # 2. training
    t = time.time()
    tr = _train(cfg, run_dir, train_set, heldout, minutes, max_steps, dev, progress, tensorboard, tune_threads=tune)
    stages["train"] = round(time.time() - t, 2)
    if tr["reused"]:
        reused.append("train")
    if tr["status"] == "interrupted":
        _say(f"interrupted at step {tr['step']}: checkpoint saved to {tr['checkpoint']}. "
             f"Run the same command again to resume ({command}).")
        return {"status": "interrupted", "step": tr["step"], "checkpoint": tr["checkpoint"], "out": str(out)}
    if not tr["checkpoint"]:
        raise RuntimeError(f"training produced no checkpoint in {run_dir / 'checkpoints'}")
    _say(f"      {tr['step']} steps, {tr['train_seconds'] / 60:.1f} min of training in total ({tr['status']})")

    # 3. speaking
    metrics_path = out / "metrics.json"
    old = None
    if metrics_path.is_file():
        try:
            old = json.loads(metrics_path.read_text())
        except (ValueError, OSError):
            old = None
    same = (
        old is not None and old.get("version") == METRICS_VERSION and old.get("steps") == tr["step"]
        and old.get("texts") == texts and old.get("seed") == seed and old.get("fast") == fast
        and all((out / r[k]).is_file() for r in old.get("sentences", []) for k in ("wav", "alignment_png", "mel_png"))
    )
    t = time.time()
    if same:
        _say("[3/4] speaking: re-using the sentences already synthesized with this model")
        records = old["sentences"]
        reused.append("synthesize")
    else:
        _say(f"[3/4] speaking {N_HELDOUT} held-out sentences" + (f" and {len(texts)} of yours" if texts else "")
             + " (free running, Griffin-Lim)")
        torch.set_num_threads(threads)  # step-by-step decoding: one thread, unless asked
        records = _speak(tr["checkpoint"], root, heldout, out, texts, dev, seed, progress)
    stages["synthesize"] = round(time.time() - t, 2)

    # 4. report
    t = time.time()
    _say("[4/4] report")
    m: dict[str, Any] = {
        "version": METRICS_VERSION,
        "status": "done",
        "command": command,
        "config": cfg.name,
        "corpus": cfg.data.size,
        "fast": fast,
        "device": str(dev),
        "threads": tr.get("threads"),
        "thread_choices": tr.get("thread_choices", []),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "seed": seed,
        "texts": texts,
        "minutes_budget": minutes,
        "max_steps": max_steps,
        "steps": tr["step"],
        "train_status": tr["status"],
        "train_minutes": round(tr["train_seconds"] / 60, 3),
        "checkpoint": _rel(Path(tr["checkpoint"]), out),
        "run_dir": _rel(run_dir, out),
        "sentences": records,
        "heldout": _summary(records),
        "criteria": {"focus_min": FOCUS_MIN, "stop_error_max": STOP_ERROR_MAX},
    }
    if old is not None and "train" in reused and isinstance(old.get("stages_s"), dict):
        m["first_run_stages_s"] = old.get("first_run_stages_s") or old["stages_s"]
    m["generalized"], m["problems"] = _verdict(m)
    if _plot_training(run_dir, out / "training.png"):
        m["training_png"] = "training.png"
    m["reused"] = reused
    stages["report"] = round(time.time() - t, 2)
    m["stages_s"] = stages
    m["total_s"] = round(time.time() - t_start, 2)
    m["load_average"] = {"start": load_start, "end": _load()}
    m["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    atomic_write(out / "report.html", render_html(m))
    atomic_write(out / "report.md", render_markdown(m))
    atomic_write(metrics_path, json.dumps(m, indent=2) + "\n")
    stages["report"] = round(time.time() - t, 2)
    m["total_s"] = round(time.time() - t_start, 2)
    atomic_write(metrics_path, json.dumps(m, indent=2) + "\n")
    return m


# ---- the command line --------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``tacolib quickstart``."""
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default: {DEFAULT_OUT}); a run there is resumed or re-used")
    p.add_argument("--minutes", type=float, default=None,
                   help=f"training time budget in minutes, over all runs into --out (default: {DEFAULT_MINUTES:g}; {FAST_MINUTES:g} with --fast); "
                        "a larger value continues a finished run")
    p.add_argument("--text", action="append", default=[], metavar="TEXT", help="also speak this sentence (quote it; repeatable)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: the GPU when present, else CPU)")
    p.add_argument("--threads", type=int, default=None, help=f"torch CPU threads (default: TACOLIB_THREADS, else 1 with --fast, else training measures 1 vs up to {MAX_TUNED_THREADS} and keeps the faster)")
    p.add_argument("--fast", action="store_true", help="CI-sized run: small corpus and budget (also TACOLIB_FAST=1); checks the plumbing, not the voice")
    p.add_argument("--max-steps", type=int, default=None, help="cap on training steps (default: the preset's train.max_steps)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prenet's dropout at inference (same seed, same speech)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/run/tb (slower validations)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """``tacolib quickstart``: run :func:`quickstart` and print where the results are.

    Returns the exit status: 0 when the pipeline ran (whether or not the alignment
    generalized: the report says which), 130 when training was interrupted, 1 when it
    diverged.
    """
    import shlex

    from tacolib.runtime import fast_mode, setup
    from tacolib.train import TrainingDiverged

    fast = bool(args.fast) or fast_mode()
    setup(seed=0, threads=1)  # seeds; quickstart() sets the threads (see its docstring)
    argv = sys.argv[1:]
    command = "tacolib " + shlex.join(argv) if argv[:1] == ["quickstart"] else "tacolib quickstart"
    try:
        m = quickstart(
            out=args.out, minutes=args.minutes, device=args.device, texts=args.text, fast=fast, threads=args.threads,
            max_steps=args.max_steps, seed=args.seed, progress=not args.no_progress, tensorboard=args.tensorboard,
            command=command,
        )
    except TrainingDiverged as e:  # names the last good checkpoint
        print(f"tacolib quickstart: {e}", file=sys.stderr)
        return 1
    if m.get("status") == "interrupted":
        return 130
    out = Path(args.out)
    print(_headline(m))
    for p in m["problems"]:
        print(f"  - {p}")
    st = m["stages_s"]
    print("stage wall times: " + ", ".join(f"{k} {v:.0f} s" + (" (re-used)" if k in m["reused"] else "") for k, v in st.items())
          + f"; total {_fmt_minutes(m['total_s'])} min")
    print(f"Results are in {out}/ : open {out / 'report.html'} (metrics: {out / 'metrics.json'})")
    return 0

