"""Your own voice: check a folder of recordings before fine-tuning on it.

A custom corpus has LJSpeech's layout (:mod:`tacolib.corpus`)::

    <root>/metadata.csv     id|transcript  (or id|raw|normalized), UTF-8, one line per wav
    <root>/wavs/<id>.wav    one sentence each, mono, ideally 22,050 Hz, 1-10 s
    <root>/test.txt         optional: ids to hold out (else 5 % are, at random but fixed)

:func:`check_voice` (``tacolib prepare custom PATH``) reads every file and says what
would hurt training, in three grades:

``error``    the folder cannot be used at all (missing, empty, no ``metadata.csv``,
             not UTF-8, no usable utterance): raised as :class:`VoiceError`, one line;
``problem``  this utterance is left out (missing or unreadable wav, sample rate under
             16 kHz, shorter than 0.5 s, silent, a transcript with nothing to say);
``warning``  it is used, but look at it (clipping, mostly silence, over 12 s, resampled,
             characters the front end drops, a speaking rate far from the others':
             the transcript may not belong to this wav, a wav with no transcript line).

:func:`write_example_voice` makes a stand-in "own voice" with espeak-ng (another
pitch and pace than TinySpeech's), for the notebook and the tests.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tacolib.corpus import read_metadata, read_test_ids

__all__ = ["VoiceError", "VoiceReport", "check_voice", "write_example_voice", "EXAMPLE_VOICE", "LIMITS"]

#: What the checks call too short, too long, too quiet, ... (seconds, Hz, fractions).
LIMITS = {
    "min_seconds": 0.5, "max_seconds": 12.0, "min_rate": 16000, "silent_peak": 0.01, "clip_level": 0.999,
    "clip_fraction": 0.001, "max_silence_fraction": 0.5, "rate_factor": 2.0, "min_total_seconds": 60.0,
}
#: The stand-in voice of :func:`write_example_voice`: espeak-ng, higher and slower than TinySpeech's (165 wpm, pitch 50).
EXAMPLE_VOICE = {"voice": "en-us", "rate": 135, "pitch": 80}


class VoiceError(ValueError):
    """The folder cannot be used for training at all (the message says why and what to do)."""


@dataclass
class VoiceReport:
    """What :func:`check_voice` found.

    Attributes
    ----------
    root : Path
    listed : int
        Utterances in ``metadata.csv``.
    usable : list of str
        Ids that pass (warnings allowed), in ``metadata.csv`` order.
    problems, warnings : list of (str, str)
        ``(id or file, message)``: left out / used but suspicious.
    notes : list of str
        Facts about the whole folder (sample rates, totals).
    seconds : float
        Audio of the usable utterances (before trimming silence).
    rates : dict
        Id -> speaking rate, in transcript characters per second of trimmed audio.
    """

    root: Path
    listed: int = 0
    usable: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rates: dict[str, float] = field(default_factory=dict)

    def format(self, max_lines: int = 12) -> str:
        """The report as text: a headline, then problems, warnings and notes (``max_lines`` each)."""
        lines = [f"{self.root}: {len(self.usable)} usable utterance(s) of the {self.listed} in metadata.csv, "
                 f"{self.seconds / 60:.1f} min of audio"]
        for title, rows in (("left out", self.problems), ("warnings", self.warnings)):
            if rows:
                lines.append(f"{title} ({len(rows)}):")
                lines += [f"  {who}: {msg}" for who, msg in rows[:max_lines]]
                if len(rows) > max_lines:
                    lines.append(f"  ... and {len(rows) - max_lines} more")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _read_metadata(root: Path, report: VoiceReport):
    """``read_metadata`` with its skipped lines collected as problems; UTF-8 checked first."""
    path = root / "metadata.csv"
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise VoiceError(f"{path} is not UTF-8 (byte 0x{raw[e.start]:02x} on line {line}): save it as UTF-8 text") from None
    from tacolib.corpus import logger

    handler = _Collect()
    logger.addHandler(handler)
    try:
        utts = read_metadata(root)
    except ValueError:
        raise VoiceError(f"{path} has no line of the form id|transcript: see the layout in `tacolib prepare custom --help`") from None
    finally:
        logger.removeHandler(handler)
    for msg in handler.messages:  # "<file>:<line>: skipped: <why>"
        where, _, why = msg.partition(": skipped: ")
        report.problems.append((f"metadata.csv:{where.rsplit(':', 1)[-1]}", why))
    return utts


def _check_transcript(uid: str, text: str, cfg, report: VoiceReport) -> int | None:
    """Symbols the model would read for ``text`` (None: nothing to say, recorded as a problem)."""
    from tacolib.text import TextWarning, normalize, tokenize

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TextWarning)
        try:
            n = len(tokenize(normalize(text, cfg.text), normalized=True, cfg=cfg.text))
        except ValueError as e:
            report.problems.append((uid, f"transcript has nothing to say ({e})"))
            return None
    for w in caught:
        if issubclass(w.category, TextWarning):
            report.warnings.append((uid, f"transcript: {w.message} (the model will not read them)"))
    return n


def _check_audio(uid: str, path: Path, cfg, report: VoiceReport) -> tuple[float, float] | None:
    """(seconds, trimmed seconds) of a usable wav, else None (the problem recorded)."""
    import librosa
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # libsndfile's errors vary by version
        report.problems.append((uid, f"{path.name} is not readable audio ({str(e).splitlines()[0]})"))
        return None
    seconds = data.shape[0] / sr
    if data.shape[0] == 0 or not np.isfinite(data).all():
        report.problems.append((uid, f"{path.name} holds no samples, or NaN/inf"))
        return None
    if sr < LIMITS["min_rate"]:
        report.problems.append((uid, f"sample rate {sr} Hz is under {LIMITS['min_rate']} Hz: the mels reach "
                                     f"{cfg.audio.mel_fmax / 1000:g} kHz, this file stops at {sr / 2000:g} kHz; record at 22,050 Hz or more"))
        return None
    if sr != cfg.audio.sample_rate:
        report.warnings.append((uid, f"sample rate {sr} Hz: resampled to {cfg.audio.sample_rate} Hz on load"))
    if data.shape[1] > 1:
        report.warnings.append((uid, f"{data.shape[1]} channels: mixed down to mono on load"))
    wav = data.mean(axis=1)
    peak = float(np.abs(wav).max())
    if peak < LIMITS["silent_peak"]:
        report.problems.append((uid, f"silent (peak {20 * math.log10(max(peak, 1e-9)):.0f} dBFS): check the microphone"))
        return None
    if seconds < LIMITS["min_seconds"]:
        report.problems.append((uid, f"{seconds:.2f} s is too short (under {LIMITS['min_seconds']} s)"))
        return None
    if seconds > LIMITS["max_seconds"]:
        report.warnings.append((uid, f"{seconds:.1f} s is long (over {LIMITS['max_seconds']:g} s): split it into sentences"))
    clipped = float(np.mean(np.abs(data) >= LIMITS["clip_level"]))
    if clipped > LIMITS["clip_fraction"]:
        report.warnings.append((uid, f"clipped: {100 * clipped:.2f} % of samples at full scale; record quieter"))
    trimmed, _ = librosa.effects.trim(wav, top_db=cfg.audio.trim_top_db)
    speech = trimmed.size / sr
    if seconds > 1.0 and 1.0 - speech / seconds > LIMITS["max_silence_fraction"]:
        report.warnings.append((uid, f"{100 * (1 - speech / seconds):.0f} % silence ({seconds:.1f} s, {speech:.1f} s of sound; trimmed on load)"))
    return seconds, speech


def check_voice(root: str | Path, cfg=None, progress: bool = True) -> VoiceReport:
    """Check a folder of recordings in LJSpeech's layout (see the module docstring).

    Parameters
    ----------
    root : str or Path
        The folder.
    cfg : Config, optional
        Whose audio and text settings training will use (default: the ``tiny`` preset).
    progress : bool
        A progress bar over the recordings (when there are more than 20).

    Returns
    -------
    VoiceReport
        ``usable`` ids, ``problems``, ``warnings``, ``notes``; ``format()`` prints it.

    Raises
    ------
    VoiceError
        The folder cannot be used at all; the message is one line saying what to fix.
    """
    from tacolib.config import get_config

    cfg = cfg if cfg is not None else get_config("tiny")
    root = Path(root)
    if not root.exists():
        raise VoiceError(f"{root} does not exist: give the folder that holds metadata.csv and wavs/")
    if not root.is_dir():
        raise VoiceError(f"{root} is a file, not a folder: give the folder that holds metadata.csv and wavs/")
    if not any(root.iterdir()):
        raise VoiceError(f"{root} is empty: put metadata.csv (id|transcript per line) and wavs/<id>.wav in it")
    if not (root / "metadata.csv").is_file():
        raise VoiceError(f"{root} has no metadata.csv: write one line id|transcript per recording (LJSpeech's layout)")
    report = VoiceReport(root)
    utts = _read_metadata(root, report)
    report.listed = len(utts)
    wav_dir = root / "wavs"
    on_disk = {p.stem: p for p in wav_dir.glob("*")} if wav_dir.is_dir() else {}
    if not on_disk:
        raise VoiceError(f"{root} has no recordings in {wav_dir}: put the wav files there, named <id>.wav")
    listed = {u.id for u in utts}
    for stem in sorted(set(on_disk) - listed):
        report.warnings.append((on_disk[stem].name, "no line in metadata.csv: not used (add its transcript, or remove it)"))
    test = set(read_test_ids(root) or [])
    for uid in sorted(test - listed):
        report.warnings.append(("test.txt", f"{uid!r} is not in metadata.csv"))
    from tqdm.auto import tqdm

    lengths: dict[str, tuple[float, float, int]] = {}
    for u in tqdm(utts, desc="checking", unit="wav", disable=not progress or len(utts) <= 20):
        if not u.wav.is_file():
            report.problems.append((u.id, f"no recording: {u.wav.relative_to(root)} is missing"))
            continue
        n_symbols = _check_transcript(u.id, u.normalized, cfg, report)
        audio = _check_audio(u.id, u.wav, cfg, report)
        if n_symbols is None or audio is None:
            continue
        lengths[u.id] = (*audio, n_symbols)
    if not lengths:
        raise VoiceError(f"{root}: no usable utterance ({len(report.problems)} left out; first: "
                         f"{report.problems[0][0]}: {report.problems[0][1]})" if report.problems else f"{root}: no usable utterance")
    report.rates = {uid: n / max(speech, 1e-3) for uid, (_, speech, n) in lengths.items()}
    median = float(np.median(list(report.rates.values())))
    for uid, rate in report.rates.items():
        if len(lengths) >= 3 and not median / LIMITS["rate_factor"] <= rate <= median * LIMITS["rate_factor"]:
            report.warnings.append((uid, f"{rate:.1f} {cfg.text.input}/s against {median:.1f} for the others: "
                                         "does the transcript belong to this recording?"))
    report.usable = [u.id for u in utts if u.id in lengths]
    report.seconds = sum(s for s, _, _ in lengths.values())
    report.notes.append(f"speaking rate: median {median:.1f} {cfg.text.input} per second of sound")
    if report.seconds < LIMITS["min_total_seconds"]:
        report.notes.append(f"only {report.seconds:.0f} s of audio: fine-tuning adapts the voice's pace and timbre a little; "
                            "give it several minutes (50+ sentences) to do more")
    return report


def write_example_voice(root: str | Path, texts: list[str], test: list[str] = (), voice: dict | None = None) -> Path:
    """A stand-in for your own recordings: ``texts`` spoken by espeak-ng in LJSpeech's layout.

    Parameters
    ----------
    root : str or Path
        Folder to write (created; ``metadata.csv``, ``wavs/V-NNNN.wav``, ``test.txt``).
    texts, test : list of str
        Sentences to train on, and to hold out (listed in ``test.txt``).
    voice : dict, optional
        ``tacolib.espeak.synthesize`` arguments; default :data:`EXAMPLE_VOICE`.

    Returns
    -------
    Path
        ``root``.
    """
    from tacolib.audio import save_wav
    from tacolib.espeak import synthesize
    from tacolib.safe_io import atomic_write

    root = Path(root)
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    voice = dict(EXAMPLE_VOICE if voice is None else voice)
    from tqdm.auto import tqdm

    lines, held = [], []
    for k, text in enumerate(tqdm([*texts, *test], desc="example voice", unit="utt", disable=len(texts) + len(test) <= 20)):
        uid = f"V-{k + 1:04d}"
        wav, sr = synthesize(text, **voice)
        save_wav(root / "wavs" / f"{uid}.wav", wav, sr)
        lines.append(f"{uid}|{text}\n")
        if k >= len(texts):
            held.append(f"{uid}\n")
    if held:
        atomic_write(root / "test.txt", "".join(held))
    atomic_write(root / "metadata.csv", "".join(lines))
    return root
