"""The course's main job in one command: from a fresh clone to a model speaking.

``tacolib quickstart`` (no arguments) runs the whole pipeline on the embedded corpus,
four stages that :func:`quickstart` runs top to bottom::

    1. corpus   build TinySpeech (or re-use it), cache its mels    tacolib.data.load_datasets
    2. train    the ``tiny`` preset, within a time budget          tacolib.train.Trainer (+ tacolib.threads)
    3. speak    three held-out sentences, free running             tacolib.evaluate (judge_free_running)
                (+ your own with --text), Griffin-Lim audio        tacolib.synthesize, tacolib.vocoder
    4. report   wavs, PNGs, report.html, report.md, metrics.json   tacolib.report

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
focus is at least :data:`tacolib.evaluate.FOCUS_MIN` and the stop token ends it within
:data:`tacolib.evaluate.STOP_ERROR_MAX` of the recording's length. When one does not,
the report says so, with the measured numbers.

Examples
--------
>>> from tacolib import quickstart
>>> metrics = quickstart.quickstart("outputs/quickstart", minutes=10)   # doctest: +SKIP
>>> metrics["heldout"]["min_focus"], metrics["generalized"]             # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from tacolib.config import get_config
from tacolib.data import load_datasets
from tacolib.evaluate import (FOCUS_MIN, N_HELDOUT, STOP_ERROR_MAX, attention_end_frame, judge_free_running, judge_sentence, pick_heldout,
                              summarize_sentences)
from tacolib.progress import BudgetBar, say
from tacolib.runtime import fast_mode, resolve_device
from tacolib.runlock import lock_run_folder
from tacolib.safe_io import OutputError, atomic_write, check_output_folder
from tacolib.text import text_to_ids
from tacolib.threads import ThreadTuner, thread_plan

__all__ = ["DEFAULT_OUT", "DEFAULT_STEPS", "DEFAULT_MINUTES", "FAST_MINUTES", "QuickstartError", "quickstart", "training_budget"]

DEFAULT_OUT = Path("outputs") / "quickstart"
#: Training steps of a plain ``tacolib quickstart``. Chosen on evidence
#: (``benchmarks/quickstart_budget.py``, two training seeds): from step 2000 on, the
#: three sentences pass on every dropout seed tried and all 100 held-out sentences
#: match the preset's full 3000 steps (free-running focus within 0.01, stop within
#: 10 % on 99-100 %). A step count, not a time: the same steps make the same model on
#: a fast machine and a slow one (2000 steps took 6-9 minutes at the 3.8-5.4 steps/s of
#: one 2-core machine, and ~20 minutes at the 1.65 steps/s of a slower one).
DEFAULT_STEPS = 2000
#: Training time ceiling (minutes) of a plain ``tacolib quickstart``: a machine too slow
#: for :data:`DEFAULT_STEPS` in this time stops here, and the report says how to go on.
#: An explicit ``--minutes`` is a budget instead, up to the preset's ``train.max_steps``.
DEFAULT_MINUTES = 30.0
#: Training budget with ``--fast`` / ``TACOLIB_FAST=1`` (CI-sized: checks the plumbing only).
FAST_MINUTES = 1.0
PRESET = "tiny"
METRICS_VERSION = 2  # bump when the records change: a re-run then re-synthesizes


class QuickstartError(ValueError):
    """A user error (bad option, an output folder holding another run): one line, no traceback."""


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
    text_input: str = "chars",
) -> dict[str, Any]:
    """Run the course's main job and return its metrics (also written to ``out/metrics.json``).

    Parameters
    ----------
    out : str or Path
        The output folder (created; a previous quickstart there is resumed or re-used).
    minutes : float, optional
        Training budget in minutes, counted over all runs in ``out`` (a re-run trains
        only for what is left). Default: :data:`DEFAULT_STEPS` steps within at most
        :data:`DEFAULT_MINUTES`; :data:`FAST_MINUTES` in fast mode.
    device : str, optional
        ``"auto"`` (the GPU when present, else CPU), ``"cpu"``, ``"cuda"``, ...
    texts : sequence of str
        Sentences of your own to speak, after the held-out ones.
    fast : bool, optional
        The CI-sized run (TinySpeech ``fast``, short budget). Default: ``TACOLIB_FAST``.
    threads : int, optional
        Torch CPU threads. Default: ``TACOLIB_THREADS`` when set, 1 in fast mode, else
        training starts with 1 and switches to up to ``min(MAX_TUNED_THREADS, cpu_count)``
        while that is measured to be faster (:func:`tacolib.threads.thread_plan`,
        :class:`tacolib.threads.ThreadTuner`); synthesis uses the threads training started with.
    max_steps : int, optional
        Cap on training steps. Default: :data:`DEFAULT_STEPS` when neither ``minutes``
        nor ``fast`` is given, else the preset's ``train.max_steps``.
    seed : int
        Seed of the prenet's dropout at inference.
    progress, tensorboard : bool
        tqdm bars; TensorBoard events in ``out/run/tb``.
    command : str
        How the run was started (recorded in the report).
    text_input : str
        What the model reads: ``"chars"`` (the course's default) or ``"phonemes"``
        (``tacolib quickstart --phonemes``; notebook 12). A folder holds one kind.

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
    t_start = time.time()
    fast = fast_mode() if fast is None else bool(fast)
    texts = list(texts)
    out = Path(out)
    cfg = get_config(PRESET).override([f"data.size={'fast' if fast else 'full'}", f"text.input={text_input}"])
    minutes, max_steps = training_budget(minutes, max_steps, fast, cfg.train.max_steps)
    _check_options(out, minutes, max_steps, threads, texts, cfg)
    dev = resolve_device(device)  # a bad --device: one line, before anything is built
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / "run"
    threads, tune = thread_plan(threads, fast)
    torch.set_num_threads(threads)
    load_start = _load_average()
    stages: dict[str, float] = {}
    reused: list[str] = []

    # stages 1 and 2 hold the run folder: a second quickstart (or tacolib train) there is refused at
    # once, naming this one's pid; the trainer shares the hold; speaking and the report need none
    with lock_run_folder(run_dir):
        # 1. corpus
        t = time.time()
        say(f"[1/4] corpus: TinySpeech ({cfg.data.size})")
        splits = load_datasets(cfg, progress)
        train_set, heldout = splits["train"], splits["test"]  # the held-out sentences (test.txt): training never sees them
        stages["corpus"] = round(time.time() - t, 2)
        say(f"      {len(train_set)} training and {len(heldout)} held-out utterances at {heldout.root} ({stages['corpus']:.1f} s)")

        # 2. train
        t = time.time()
        tr = _train(cfg, run_dir, train_set, heldout, minutes, max_steps, dev, progress, tensorboard, tune_threads=tune)
        stages["train"] = round(time.time() - t, 2)
        if tr["reused"]:
            reused.append("train")
        if tr["status"] == "interrupted":
            say(f"interrupted at step {tr['step']}: checkpoint saved to {tr['checkpoint']}. "
                f"Run the same command again to resume ({command}).")
            return {"status": "interrupted", "step": tr["step"], "checkpoint": tr["checkpoint"], "out": str(out)}
        if not tr["checkpoint"]:
            raise RuntimeError(f"training produced no checkpoint in {run_dir / 'checkpoints'}")
        say(f"      {tr['step']} steps, {tr['train_seconds'] / 60:.1f} min of training in total ({tr['status']})")

    # 3. speak
    t = time.time()
    metrics_path = out / "metrics.json"
    old = _previous_metrics(metrics_path)
    if _same_sentences(old, out, tr["step"], texts, seed, fast):
        say("[3/4] speaking: re-using the sentences already synthesized with this model")
        records = old["sentences"]
        reused.append("synthesize")
    else:
        say(f"[3/4] speaking {N_HELDOUT} held-out sentences" + (f" and {len(texts)} of yours" if texts else "")
            + " (free running, Griffin-Lim)")
        torch.set_num_threads(threads)  # step-by-step decoding: one thread, unless asked
        records = _speak(tr["checkpoint"], heldout, out, texts, dev, seed, progress)
    stages["synthesize"] = round(time.time() - t, 2)

    # 4. report
    t = time.time()
    say("[4/4] report")
    from tacolib import report  # here, not at the top: matplotlib would slow every `tacolib` command

    m: dict[str, Any] = {
        "version": METRICS_VERSION, "status": "done", "command": command, "config": cfg.name, "corpus": cfg.data.size,
        "text_input": cfg.text.input,
        "fast": fast, "device": str(dev), "threads": tr.get("threads"), "thread_choices": tr.get("thread_choices", []),
        "cpus": os.cpu_count(), "torch": torch.__version__, "seed": seed, "texts": texts, "minutes_budget": minutes,
        "max_steps": max_steps, "steps": tr["step"], "train_status": tr["status"], "train_minutes": round(tr["train_seconds"] / 60, 3),
        "checkpoint": report.relative(Path(tr["checkpoint"]), out), "run_dir": report.relative(run_dir, out),
        "sentences": records, "heldout": summarize_sentences([r for r in records if r["source"] == "held-out"]),
        "criteria": {"focus_min": FOCUS_MIN, "stop_error_max": STOP_ERROR_MAX},
    }
    if old is not None and "train" in reused and isinstance(old.get("stages_s"), dict):
        m["first_run_stages_s"] = old.get("first_run_stages_s") or old["stages_s"]
    m["generalized"], m["problems"] = report.verdict(m)
    if report.plot_training(run_dir, out / "training.png"):
        m["training_png"] = "training.png"
    m["reused"] = reused
    stages["report"] = round(time.time() - t, 2)
    m["stages_s"] = stages
    m["total_s"] = round(time.time() - t_start, 2)
    m["load_average"] = {"start": load_start, "end": _load_average()}
    m["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    atomic_write(out / "report.html", report.render_html(m))
    atomic_write(out / "report.md", report.render_markdown(m))
    atomic_write(metrics_path, json.dumps(m, indent=2) + "\n")
    stages["report"] = round(time.time() - t, 2)  # the report's own time, now that it is written
    m["total_s"] = round(time.time() - t_start, 2)
    atomic_write(metrics_path, json.dumps(m, indent=2) + "\n")
    return m


def training_budget(minutes: float | None, max_steps: int | None, fast: bool, preset_max_steps: int) -> tuple[float, int]:
    """The quickstart's ``(minutes, max_steps)``: training ends at whichever comes first.

    Neither given (and not ``fast``): :data:`DEFAULT_STEPS` within :data:`DEFAULT_MINUTES`.
    Otherwise an unset ``minutes`` is :data:`DEFAULT_MINUTES` (:data:`FAST_MINUTES` when
    ``fast``) and an unset ``max_steps`` the preset's ``preset_max_steps``: ``--minutes 15``
    is a 15-minute budget up to the preset's last step.
    """
    if minutes is None and max_steps is None and not fast:
        return DEFAULT_MINUTES, DEFAULT_STEPS  # the evidence's steps, at any machine's pace
    minutes = (FAST_MINUTES if fast else DEFAULT_MINUTES) if minutes is None else float(minutes)
    return minutes, preset_max_steps if max_steps is None else max_steps


# ---- before the stages: the options -----------------------------------------------------------


def _check_options(out: Path, minutes: float, max_steps: int | None, threads: int | None, texts: Sequence[str], cfg) -> None:
    """Refuse bad options, and a ``--text`` the model cannot read, before training rather than after."""
    try:
        cfg.text.n_symbols  # an unknown text.input raises, naming the valid ones
    except ValueError as e:
        raise QuickstartError(str(e)) from None
    if not (minutes > 0 and math.isfinite(minutes)):
        raise QuickstartError(f"--minutes must be a positive number, got {minutes}")
    if max_steps is not None and max_steps < 1:
        raise QuickstartError(f"--max-steps must be >= 1, got {max_steps}")
    max_len = cfg.text.max_text_len
    for text in texts:
        if not text.strip():
            raise QuickstartError("--text is empty: give the sentence to speak in quotes")
        try:
            n = len(text_to_ids(text, cfg=cfg.text))
        except ValueError as e:
            raise QuickstartError(f"--text {text!r}: {e}") from None
        if n > max_len:
            raise QuickstartError(f"--text is {n} symbols long after normalization, more than the model's {max_len}; give one sentence")
    if threads is not None and threads < 1:
        raise QuickstartError(f"--threads must be >= 1, got {threads}")
    try:
        check_output_folder(out)  # a file, below a file, read-only, forbidden or full: before the corpus and training
    except OutputError as e:
        raise QuickstartError(f"--out: {e}") from None


# ---- stage 2: training ----------------------------------------------------------------------------


def _train(cfg, run_dir: Path, train_set, val_set, budget_min: float, max_steps: int, device, progress: bool, tensorboard: bool,
           tune_threads: int = 0) -> dict:
    """Train (or resume, or re-use) the quickstart's run; returns what happened."""
    from tacolib.train import Trainer

    budget_s = 60.0 * budget_min
    prev = _previous_run(run_dir, cfg)
    spent = prev["elapsed"] if prev else 0.0
    left_s = budget_s - spent
    if prev and (prev["step"] >= max_steps or left_s < max(5.0, 0.01 * budget_s)):
        say(f"[2/4] training: re-using the finished run ({prev['step']} steps, {spent / 60:.1f} min of training) "
            f"in {run_dir}")
        return {"status": "reused", "step": prev["step"], "checkpoint": str(prev["checkpoint"]), "train_seconds": spent, "reused": True}
    if prev:
        say(f"[2/4] training: resuming at step {prev['step']} ({spent / 60:.1f} of {budget_min:g} min spent; "
            f"{left_s / 60:.1f} min left)")
    else:
        say(f"[2/4] training the '{cfg.name}' model for {budget_min:g} min (at most {max_steps} steps); "
            "Ctrl-C saves a checkpoint, re-running resumes")
    trainer = Trainer(cfg, run_dir, train_set=train_set, val_set=val_set, device=device, n_infer=4, tensorboard=tensorboard, progress=False)
    tune = tune_threads > 1 and trainer.device.type == "cpu"
    threads = f"{torch.get_num_threads()} torch thread(s)" + (f", trying up to {tune_threads}" if tune else "")
    say(f"      device {trainer.device}, {threads}, "
        f"{len(trainer.train_set)} training utterances, {len(trainer.val_set)} for validation")
    bar = BudgetBar(budget_s, spent, max_steps, prev["step"] if prev else 0, enabled=progress)
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


# ---- stage 3: speaking --------------------------------------------------------------------------


def _speak(checkpoint: str, heldout, out: Path, texts: Sequence[str], device, seed: int, progress: bool) -> list[dict]:
    """Free-running speech of the held-out picks and of ``texts``: wavs, plots, judged records."""
    from tqdm.auto import tqdm

    from tacolib import metrics
    from tacolib.report import write_sentence
    from tacolib.synthesize import load_model, synthesize
    from tacolib.vocoder.griffin_lim import GriffinLimVocoder

    model, mcfg = load_model(checkpoint, device)
    r = mcfg.model.r
    picks = pick_heldout([len(t) for t in heldout.texts])  # by text length: fixed, whatever the model does
    vocoder = GriffinLimVocoder(mcfg.audio)
    records: list[dict] = []
    bar = tqdm(total=len(picks) + len(texts), desc="speak", unit="sentence", disable=not progress, dynamic_ncols=True)
    try:
        # the prenet's dropout stays on at inference: seeded, decoded together
        by_id = {str(it["id"]): it for it in judge_free_running(model, heldout, picks, seed, batch_size=len(picks))}
        for k, idx in enumerate(picks):  # shortest first (the batch itself is ordered by text length)
            it = by_id[heldout.ids[idx]]
            rec = {"index": k, "source": "held-out", "id": str(it["id"]), "text": it["text"], **it["judged"]}
            ref = heldout.root / "wavs" / f"{it['id']}.wav"
            records.append(write_sentence(out, rec, vocoder.generate(it["mel"]), it["mel"], it["target_mel"], it["alignment"], mcfg,
                                          ref if ref.is_file() else None))
            bar.update(1)
        with tempfile.TemporaryDirectory() as tmp:
            for j, text in enumerate(texts):
                k = len(picks) + j
                res = synthesize(model, text, vocoder=vocoder, seed=seed + k)
                expected, ref = _expected_frames(text, mcfg, Path(tmp) / f"{k}.wav")
                focus = float(metrics.focus(res["alignment"][None])[0])
                rec = {"index": k, "source": "your text", "id": f"text-{j + 1}", "text": text,
                       **judge_sentence(focus, res["length"], expected, res["stop_reason"], attention_end_frame(res["alignment"], r))}
                records.append(write_sentence(out, rec, res["wav"], res["mel"], None, res["alignment"], mcfg, ref))
                bar.update(1)
    finally:
        bar.close()
    return records


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


def _previous_metrics(path: Path) -> dict | None:
    """The ``metrics.json`` of an earlier quickstart in the same folder (None: none, or unreadable)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError):
        return None


def _same_sentences(old: dict | None, out: Path, steps: int, texts: list[str], seed: int, fast: bool) -> bool:
    """Whether an earlier run already spoke these sentences with this model (its files still there)."""
    return (
        old is not None and old.get("version") == METRICS_VERSION and old.get("steps") == steps
        and old.get("texts") == texts and old.get("seed") == seed and old.get("fast") == fast
        and all((out / r[k]).is_file() for r in old.get("sentences", []) for k in ("wav", "alignment_png", "mel_png"))
    )


def _load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return []
