"""The quickstart's report: per-sentence wavs and plots, report.html, report.md, training.png.

::

    judged sentence + its wav, mel, alignment ──write_sentence──► sentences/NN_*  (model.wav, alignment.png, mel.png)
    metrics dict (metrics.json) ──verdict──► generalized?, the problems in words
                                ──render_html / render_markdown──► report.html, report.md
    run/history.json ──plot_training──► training.png

Everything here reads the metrics dict the quickstart writes to ``metrics.json``
(see :func:`tacolib.quickstart.quickstart`); the pass criterion it reports is
:mod:`tacolib.evaluate`'s. The report is honest: when a held-out sentence fails, it
says which test failed, with the measured numbers.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import torch

from tacolib import viz
from tacolib.audio import save_wav
from tacolib.evaluate import FOCUS_MIN, STOP_ERROR_MAX
from tacolib.safe_io import atomic_write

__all__ = ["write_sentence", "verdict", "headline", "render_html", "render_markdown", "plot_training", "relative"]


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (POSIX separators, as links in the report), else ``path`` as is."""
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def _slug(text: str, n: int = 32) -> str:
    s = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    while "__" in s:
        s = s.replace("__", "_")
    return s[:n].rstrip("_") or "text"


def write_sentence(out: Path, rec: dict, wav, mel, target_mel, alignment, cfg, reference: Path | None) -> dict:
    """One sentence's files in ``out/sentences/``: the model's wav, its alignment and mel plots.

    Parameters
    ----------
    out : Path
        The report folder.
    rec : dict
        The sentence's record: ``index``, ``source``, ``id``, ``text`` and a
        :func:`tacolib.evaluate.judge_sentence` result. Updated in place with
        ``seconds`` and the files' paths relative to ``out`` (``wav``,
        ``alignment_png``, ``mel_png``, ``reference_wav``), and returned.
    wav : Tensor
        ``(T_samples,)`` what the model says.
    mel, target_mel : Tensor
        ``(T, n_mels)`` the model's mel and the recording's (None: there is none).
    alignment : Tensor
        ``(T_dec, T_in)``.
    cfg : Config
        ``cfg.audio.sample_rate``.
    reference : Path, optional
        A reference wav to copy beside it (the recording, or espeak-ng reading the text).
    """
    folder = out / "sentences"
    stem = f"{rec['index']:02d}_{_slug(rec['id'] if rec['source'] == 'held-out' else rec['text'])}"
    files = {"wav": folder / f"{stem}_model.wav", "alignment_png": folder / f"{stem}_alignment.png", "mel_png": folder / f"{stem}_mel.png"}
    save_wav(files["wav"], wav, cfg.audio.sample_rate)
    title = f"free running: focus {rec['focus']:.2f}, {rec['frames']} frames for {rec['expected_frames']} ({100 * rec['stop_error']:.1f}% off)"
    fig = viz.plot_alignment(alignment, title=title, text=rec["text"])
    viz.save_figure(fig, files["alignment_png"])
    if target_mel is not None:
        fig = viz.plot_mels([target_mel, mel], [f"reference: espeak-ng ({rec['expected_frames']} frames)", f"model, free running ({rec['frames']} frames)"])
    else:
        fig = viz.plot_mel(mel, title=f"model, free running ({rec['frames']} frames)")
    viz.save_figure(fig, files["mel_png"])
    if reference is not None:
        files["reference_wav"] = folder / f"{stem}_reference.wav"
        atomic_write(files["reference_wav"], Path(reference).read_bytes())
    wav = torch.as_tensor(wav).reshape(-1)
    rec["seconds"] = round(wav.numel() / cfg.audio.sample_rate, 2)
    rec.update({k: relative(v, out) for k, v in files.items()})
    return rec


def verdict(m: dict) -> tuple[bool, list[str]]:
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


def headline(m: dict) -> str:
    """The report's first line: did alignment generalize, with the numbers."""
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
        cls="ok" if m["generalized"] else "fail", headline_html=e(headline(m)),
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
    lines = ["# tacolib quickstart", "", f"**{headline(m)}**", ""]
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


def plot_training(run_dir: Path, path: Path) -> bool:
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
    viz.save_figure(fig, path)
    return True
