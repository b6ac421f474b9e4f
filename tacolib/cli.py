"""The ``tacolib`` command (also ``python -m tacolib``): the notebooks' functions, from a shell.

    tacolib prepare tinyspeech --size full          build the course corpus (offline, espeak-ng)
    tacolib prepare ljspeech                        download, verify and extract LJSpeech 1.1
    tacolib prepare custom my_voice/                check your own recordings (LJSpeech's layout)
    tacolib train --preset tiny --out runs/tiny     train (Ctrl-C saves; --resume continues)
    tacolib train --preset paper --set train.batch_size=32 --set data.corpus=ljspeech
    torchrun --nproc_per_node 8 -m tacolib train --preset paper ...   one process per GPU
    tacolib synthesize "Hello there." -o hello.wav --checkpoint runs/tiny --plot hello.png
    tacolib evaluate --checkpoint runs/tiny         metrics on the held-out split

Every command has ``--help``. Bad arguments (a missing checkpoint, an unknown preset,
a malformed ``--set``, a bad ``--device`` or ``--threads``), an output location that
cannot be written (full, read-only, below a file), a corpus folder tacolib did not make
and a run folder another run holds end with one line on stderr and exit status 2 (set
``TACOLIB_DEBUG=1`` for the traceback), found before the long work starts; a diverged
run exits 1, an interrupted one 130.

Each command is a pair ``(add_arguments, run)`` registered in :data:`COMMANDS`, so a
new command is one more entry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable

from tacolib.checkpoint import CheckpointError
from tacolib.corpus.folders import ForeignFolderError
from tacolib.corpus.ljspeech import DownloadError
from tacolib.runlock import RunLockedError
from tacolib.safe_io import OutputError, atomic_write, check_output_file, check_output_folder

__all__ = ["main", "build_parser", "COMMANDS", "CLIError"]


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


# ---- helpers -------------------------------------------------------------------------------


def _config_from_args(args, checkpoint_state: dict | None = None):
    """--config FILE, else a resumed checkpoint's config, else --preset; then every --set."""
    from tacolib.config import Config, get_config

    if args.config:
        cfg = Config.load(args.config)
    elif checkpoint_state is not None and not args.preset:
        cfg = Config.from_dict(checkpoint_state["config"])
    else:
        cfg = get_config(args.preset or "tiny")
    return _override(cfg, args.set)


def _override(cfg, assignments: list[str]):
    """``cfg`` with the ``--set section.key=value`` assignments applied (:meth:`tacolib.config.Config.override`,
    the one definition of how text becomes a typed value); a bad one is a :class:`CLIError` starting ``--set``."""
    if not assignments:
        return cfg
    try:
        return cfg.override(assignments)
    except ValueError as e:
        raise CLIError(f"--set {e}") from None


def _checked_text(cfg):
    """``cfg``, its text settings validated now: an unknown ``text.input``, normalizer or date order would
    otherwise fail only after the corpus is built (minutes); a bad one is a one-line :class:`CLIError`."""
    from tacolib.text import style

    try:
        style.checked(cfg)
        cfg.text.n_symbols  # an unknown text.input raises, naming the valid ones
    except ValueError as e:
        raise CLIError(str(e)) from None
    return cfg


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: the GPU when present, else CPU)")


def _add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: TACOLIB_THREADS, else 1; always 1 per process under torchrun unless given)")


def _device(args):
    """``--threads`` and ``--device`` checked (one line each) and the device resolved, before anything slow."""
    from tacolib.runtime import resolve_device

    if args.threads is not None and args.threads < 1:
        raise CLIError(f"--threads must be >= 1, got {args.threads}")
    try:
        return resolve_device(args.device)
    except ValueError as e:
        raise CLIError(f"--device {e}") from None


def _setup(args, seed: int) -> None:
    from tacolib.runtime import setup

    threads = args.threads
    if threads is None and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        threads = 1  # several processes on one machine: never oversubscribe the cores
    setup(seed=seed, threads=threads)


# ---- prepare ---------------------------------------------------------------------------------


def _prepare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("corpus", nargs="?", default="tinyspeech", choices=["tinyspeech", "ljspeech", "custom"],
                   help="which corpus (default: tinyspeech); custom: check your own recordings in PATH")
    p.add_argument("path", nargs="?", default=None, help="custom: the folder of your recordings (metadata.csv with id|transcript lines, wavs/<id>.wav)")
    p.add_argument("--size", default="full", choices=["fast", "full"], help="TinySpeech size: fast (CI, seconds) or full (the course's; default)")
    p.add_argument("--root", default=None, help="where to put it (default: a folder under TACOLIB_DATA or <repo>/data)")
    p.add_argument("--mels", action="store_true", help="also precompute and cache the mel spectrograms of the tiny preset")
    p.add_argument("--preset", default="tiny", help="config whose audio settings the cached mels use (with --mels; default: tiny)")
    p.add_argument("--url", default=None, help="LJSpeech: download from this mirror (http(s):// or file://) instead of the official address; the checksum is still verified")


def _prepare_run(args) -> int:
    from tacolib.config import get_config

    if args.corpus == "custom":
        return _prepare_custom(args)
    if args.path:
        raise CLIError(f"a PATH ({args.path}) only applies to: tacolib prepare custom PATH; --root says where to put {args.corpus}")
    if args.url and args.corpus != "ljspeech":
        raise CLIError("--url only applies to: tacolib prepare ljspeech")
    if args.corpus == "tinyspeech":
        from tacolib.corpus import tinyspeech

        root = tinyspeech.build(size=args.size, root=args.root or tinyspeech.default_root(args.size))
    else:
        from tacolib.corpus import ljspeech

        root = ljspeech.prepare_ljspeech(args.root, url=args.url or ljspeech.URL)
    print(f"{args.corpus} ready at {root}")
    if args.mels:
        from tacolib.data import load_datasets

        cfg = get_config(args.preset).override([f"data.corpus={args.corpus}", f"data.path={root}", f"data.size={args.size}"])
        n = sum(len(ds) for ds in load_datasets(cfg).values())
        print(f"cached the mels of {n} utterances ({args.preset} preset's audio settings)")
    return 0


def _prepare_custom(args) -> int:
    """Check a folder of one's own recordings (:func:`tacolib.corpus.custom.check_voice`); exit 2 when unusable."""
    from tacolib.config import get_config
    from tacolib.corpus.custom import check_voice

    if not args.path:
        raise CLIError("give the folder of your recordings: tacolib prepare custom PATH")
    cfg = get_config(args.preset).override(["data.corpus=custom", f"data.path={args.path}"])
    report = check_voice(args.path, cfg)
    print(report.format())
    print(f"fine-tune on it: notebook 12, or tacolib train --set data.corpus=custom --set data.path={args.path} ...")
    if args.mels:
        from tacolib.data import TTSDataset

        n = len(TTSDataset(args.path, cfg, ids=report.usable).preprocess())
        print(f"cached the mels of {n} utterances ({args.preset} preset's audio settings)")
    return 0


# ---- train ------------------------------------------------------------------------------------------


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default=None, help="config preset: tiny (CPU course model, default) or paper (GPU)")
    p.add_argument("--config", default=None, help="a config file (YAML/JSON, e.g. a run's config.yaml) instead of a preset")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override one config value, e.g. --set train.lr=5e-4 (repeatable)")
    p.add_argument("--out", default=None, help="run folder (default: runs/<config name>)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT", help="continue the run: from CHECKPOINT, or (no value) from the newest checkpoint in --out")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total (default: train.max_steps)")
    p.add_argument("--minutes", type=float, default=None, help="time budget for this session; saves and stops when spent")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard events")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_device(p)
    _add_threads(p)


def _train_run(args) -> int:
    from tacolib import checkpoint as ckpt
    from tacolib.train import Trainer, TrainingDiverged

    device = _device(args)
    if args.max_steps is not None and args.max_steps < 1:
        raise CLIError(f"--max-steps must be >= 1, got {args.max_steps}")
    if args.minutes is not None and not (0 < args.minutes < float("inf")):
        raise CLIError(f"--minutes must be a positive number, got {args.minutes}")
    state = None
    if isinstance(args.resume, str):
        state = ckpt.load_checkpoint(args.resume)
    cfg = _config_from_args(args, state)
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    check_output_folder(out)  # a file, below a file, read-only, full: before the corpus is built
    if args.resume is True and not args.config and not args.preset and (out / "config.yaml").is_file():
        from tacolib.config import Config

        cfg = Config.load(out / "config.yaml")
        cfg = _override(cfg, args.set)
    _checked_text(cfg)
    existing = ckpt.latest_checkpoint(out / "checkpoints")
    if existing is not None and not args.resume:
        raise CLIError(f"{out} already holds checkpoints (newest: {existing.name}); pass --resume to continue, or choose another --out")
    if args.resume is True and existing is None:
        print(f"no checkpoint in {out / 'checkpoints'} yet: starting a new run")
    _setup(args, cfg.train.seed)
    # holds the run folder (another run there: RunLockedError naming its pid) before building the corpus
    trainer = Trainer(cfg, out, device=device, tensorboard=not args.no_tensorboard, progress=not args.no_progress)
    try:
        result = trainer.fit(max_steps=args.max_steps, max_minutes=args.minutes, resume=args.resume)
    except TrainingDiverged as e:
        print(f"tacolib train: {e}", file=sys.stderr)
        return 1
    finally:
        trainer.close()
    if trainer.is_main:
        v = result["val"]
        summary = ", ".join(f"{k} {v[k]:.3f}" for k in ("loss", "focus", "infer_focus", "infer_stop_ok") if isinstance(v.get(k), float))
        print(f"{result['status']} at step {result['step']} after {result['wall_time'] / 60:.1f} min; {summary}")
        print(f"checkpoint: {result['checkpoint']}   TensorBoard: tensorboard --logdir {out}")
    return 130 if result["status"] == "interrupted" else 0


# ---- synthesize ---------------------------------------------------------------------------------------


def _synthesize_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help="what to say (quote it)")
    p.add_argument("-o", "--out", required=True, help="output wav file")
    p.add_argument("--checkpoint", default="runs/tiny", help="a checkpoint file or a run folder (default: runs/tiny; best.pt preferred)")
    p.add_argument("--wavenet", default=None, help="a WaveNet vocoder checkpoint (default: Griffin-Lim)")
    p.add_argument("--plot", default=None, metavar="PNG", help="also save the alignment, mel and stop-token plot")
    p.add_argument("--seed", type=int, default=0, help="seed of the prenet's dropout (same seed, same speech)")
    p.add_argument("--gl-iters", type=int, default=60, help="Griffin-Lim iterations (default 60)")
    p.add_argument("--max-decoder-steps", type=int, default=None, help="cap on decoder steps (default: the config's)")
    p.add_argument("--int8", action="store_true", help="CPU only: run the decoder's LSTMs with int8 weights (several times faster at the paper size)")
    _add_device(p)
    _add_threads(p)


def _synthesize_run(args) -> int:
    from tacolib.audio import save_wav
    from tacolib.synthesize import load_model, plot_result, synthesize

    if not args.text.strip():
        raise CLIError("the text to synthesize is empty")
    if args.max_decoder_steps is not None and args.max_decoder_steps < 1:
        raise CLIError(f"--max-decoder-steps must be >= 1, got {args.max_decoder_steps}")
    if args.gl_iters < 1:
        raise CLIError(f"--gl-iters must be >= 1, got {args.gl_iters}")
    device = _device(args)
    if args.int8 and device.type != "cpu":
        raise CLIError(f"--int8 runs on the CPU; add --device cpu (the model would run on {device})")
    check_output_file(args.out, suffixes=(".wav",))  # before the model is loaded and the sentence spoken
    if args.plot:
        check_output_file(args.plot, suffixes=(".png",))
    _setup(args, args.seed)
    model, cfg = load_model(args.checkpoint, device)
    if args.int8:
        from tacolib.model.int8 import quantize_decoder

        model = quantize_decoder(model, inplace=True)
    vocoder = None
    if args.wavenet:
        from tacolib.vocoder.wavenet_generate import WaveNetVocoder

        vocoder = WaveNetVocoder.load(args.wavenet, audio=cfg.audio, device=device)
    result = synthesize(model, args.text, vocoder=vocoder, seed=args.seed, gl_iters=args.gl_iters, max_decoder_steps=args.max_decoder_steps)
    path = save_wav(args.out, result["wav"], result["sample_rate"])
    seconds = result["wav"].numel() / result["sample_rate"]
    note = "" if result["stop_reason"] == "gate" else " (the stop token never fired: the model may not be trained enough)"
    print(f"wrote {path}: {seconds:.2f} s, {result['length']} frames{note}")
    if args.plot:
        plot_result(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


# ---- evaluate ---------------------------------------------------------------------------------------------


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default="runs/tiny", help="a checkpoint file or a run folder (default: runs/tiny)")
    p.add_argument("--split", default="test", choices=["test", "train"], help="which split to measure (default: test, the held-out sentences)")
    p.add_argument("--n", type=int, default=None, help="only the first N utterances of the split")
    p.add_argument("--data", default=None, help="corpus folder (default: the one in the checkpoint's config)")
    p.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    p.add_argument("--batch-size", type=int, default=8, help="sentences decoded together (default 8)")
    p.add_argument("--mcd", action="store_true", help="also the mel-cepstral distortion (MCD-DTW, dB) of the Griffin-Lim speech to the recordings, with its floor")
    _add_device(p)
    _add_threads(p)


def _evaluate_run(args) -> int:
    from tacolib.corpus import corpus_root, read_metadata
    from tacolib.data import TTSDataset
    from tacolib.evaluate import evaluate_free_running, evaluate_teacher_forced
    from tacolib.synthesize import load_model

    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.n is not None and args.n < 1:
        raise CLIError(f"--n must be >= 1, got {args.n}")
    device = _device(args)
    if args.data:
        if not (Path(args.data) / "metadata.csv").is_file():
            raise CLIError(f"--data {args.data} is not a corpus folder (no metadata.csv in it); give one made by "
                           "tacolib prepare, or leave --data out to use the checkpoint's corpus")
        read_metadata(args.data)  # not UTF-8, no valid line: one line naming file:line, before the model is loaded
    if args.json:
        check_output_file(args.json)
    _setup(args, 0)
    model, cfg = load_model(args.checkpoint, device)
    # the folder as it is (--data), or the checkpoint's corpus (TinySpeech is built when missing); only this split
    root = Path(args.data) if args.data else corpus_root(cfg.data, build=True, progress=False)
    dataset = TTSDataset(root, cfg, split=args.split).preprocess(progress=False)
    indices = list(range(len(dataset) if args.n is None else min(args.n, len(dataset))))
    if not indices:
        raise CLIError(f"the {args.split} split is empty")
    tf = evaluate_teacher_forced(model, dataset, cfg, indices, batch_size=args.batch_size)
    fr = evaluate_free_running(model, dataset, indices, batch_size=args.batch_size)
    metrics = {"checkpoint_step": getattr(model, "checkpoint_step", None), "split": args.split, "n": len(indices), **tf}
    metrics.update({f"infer_{k}": v for k, v in fr.items() if k != "items"})
    if args.mcd:
        from tacolib.evaluate import evaluate_mcd

        metrics.update({f"infer_{k}": v for k, v in evaluate_mcd(fr["items"], cfg.audio).items() if k != "n"})
    for k, v in metrics.items():
        print(f"{k:>22}: {v:.4f}" if isinstance(v, float) else f"{k:>22}: {v}")
    if args.mcd:
        print(f"MCD-DTW {metrics['infer_mcd']:.2f} dB; its floor (Griffin-Lim of the recordings' own mels) {metrics['infer_mcd_floor']:.2f} dB: "
              "lower is closer to the recordings, and no model gets below the floor")
    if args.json:
        atomic_write(args.json, json.dumps(metrics, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


# ---- quickstart ---------------------------------------------------------------------------------------------


def _quickstart_args(p: argparse.ArgumentParser) -> None:
    from tacolib.quickstart import DEFAULT_MINUTES, DEFAULT_OUT, DEFAULT_STEPS, FAST_MINUTES
    from tacolib.threads import MAX_TUNED_THREADS

    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default: {DEFAULT_OUT}); a run there is resumed or re-used")
    p.add_argument("--minutes", type=float, default=None,
                   help=f"training time budget in minutes, over all runs into --out, up to the preset's steps (default: {DEFAULT_STEPS} steps "
                        f"within at most {DEFAULT_MINUTES:g} min; {FAST_MINUTES:g} min with --fast); a larger value continues a finished run")
    p.add_argument("--text", action="append", default=[], metavar="TEXT", help="also speak this sentence (quote it; repeatable)")
    _add_device(p)
    p.add_argument("--threads", type=int, default=None, help=f"torch CPU threads (default: TACOLIB_THREADS, else 1 with --fast, else training measures 1 vs up to {MAX_TUNED_THREADS} and keeps the faster)")
    p.add_argument("--fast", action="store_true", help="CI-sized run: small corpus and budget (also TACOLIB_FAST=1); checks the plumbing, not the voice")
    p.add_argument("--max-steps", type=int, default=None, help=f"cap on training steps (default: {DEFAULT_STEPS}, or the preset's train.max_steps with --minutes or --fast)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prenet's dropout at inference (same seed, same speech)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events to OUT/run/tb (slower validations)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--phonemes", action="store_true", help="the model reads espeak-ng's phonemes instead of characters (text.input=phonemes; notebook 12)")


def _quickstart_run(args) -> int:
    """Run :func:`tacolib.quickstart.quickstart` and print where the results are.

    Exit status 0 when the pipeline ran (whether or not the alignment generalized: the
    report says which), 130 when training was interrupted, 1 when it diverged.
    """
    import shlex

    from tacolib.progress import minutes_seconds
    from tacolib.quickstart import quickstart
    from tacolib.report import headline
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
            command=command, text_input="phonemes" if args.phonemes else "chars",
        )
    except TrainingDiverged as e:  # names the last good checkpoint
        print(f"tacolib quickstart: {e}", file=sys.stderr)
        return 1
    if m.get("status") == "interrupted":
        return 130
    out = Path(args.out)
    print(headline(m))
    for p in m["problems"]:
        print(f"  - {p}")
    st = m["stages_s"]
    print("stage wall times: " + ", ".join(f"{k} {v:.0f} s" + (" (re-used)" if k in m["reused"] else "") for k, v in st.items())
          + f"; total {minutes_seconds(m['total_s'])} min")
    print(f"Results are in {out}/ : open {out / 'report.html'} (metrics: {out / 'metrics.json'})")
    return 0


# ---- the command ---------------------------------------------------------------------------------------------------

#: name -> (help line, add_arguments, run, aliases)
COMMANDS: dict[str, tuple[str, Callable, Callable, list[str]]] = {
    "prepare": ("build TinySpeech or download LJSpeech (and optionally cache mels)", _prepare_args, _prepare_run, ["download"]),
    "train": ("train a model (preset + overrides), resumable, TensorBoard logs", _train_args, _train_run, []),
    "synthesize": ("speak a sentence with a trained checkpoint -> wav (+ plot)", _synthesize_args, _synthesize_run, []),
    "evaluate": ("teacher-forced and free-running metrics on the held-out split", _evaluate_args, _evaluate_run, []),
    "quickstart": ("build TinySpeech, train the tiny model, speak held-out sentences, write a report", _quickstart_args, _quickstart_run, []),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tacolib",
        description="Tacotron 2 from the command line: prepare data, train, synthesize, evaluate.",
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from tacolib import __version__

    parser.add_argument("--version", action="version", version=f"tacolib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_line, add_args, run, aliases) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line, aliases=aliases)
        add_args(p)
        p.set_defaults(func=run, command=name)
    return parser


# errors that are the user's (bad paths, values, configs): one line, no traceback
# (DownloadError: offline, HTTP error, bad checksum -- the message says what to do;
# OutputError: full, read-only or forbidden location; ForeignFolderError: a corpus folder
# tacolib did not make; RunLockedError: another run holds the run folder, its pid named)
_USER_ERRORS = (CLIError, CheckpointError, DownloadError, OutputError, ForeignFolderError, RunLockedError, FileNotFoundError,
                ValueError, KeyError)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``tacolib``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except _USER_ERRORS as e:
        if os.environ.get("TACOLIB_DEBUG"):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"tacolib {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tacolib {args.command}: interrupted", file=sys.stderr)
        return 130
