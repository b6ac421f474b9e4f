"""Offline speech synthesis with espeak-ng, through ctypes.

The ``espeakng-loader`` wheel ships ``libespeak-ng`` and its voice data, so this works
on any machine without system packages or a network. espeak-ng renders 22,050 Hz
16-bit audio (LJSpeech's rate) in milliseconds; the course uses it to build its
embedded corpus (TinySpeech) and as a stand-in voice where no recording is at hand.

The library keeps global state, so calls are serialized with a lock.
"""

from __future__ import annotations

import ctypes
import tempfile
import threading
from pathlib import Path

import numpy as np

from tacolib.safe_io import atomic_write

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

_lock = threading.Lock()
_lib = None
_sample_rate = 0
_chunks: list[np.ndarray] = []
_voice = None

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@_CALLBACK
def _on_audio(wav, n, events):  # called by espeak-ng with each rendered chunk
    if n > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
    return 0


def _load():
    global _lib, _sample_rate
    if _lib is not None:
        return _lib
    try:
        import espeakng_loader
    except ImportError as e:  # pragma: no cover - it is a hard dependency
        raise RuntimeError("espeak-ng is unavailable: pip install espeakng-loader") from e
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByFile.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if sr <= 0:
        raise RuntimeError(f"espeak-ng failed to initialize (returned {sr})")
    lib.espeak_SetSynthCallback(_on_audio)
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    _lib, _sample_rate = lib, sr
    return lib


def _steady_voice_file(language: str) -> Path:
    """A voice file for ``language`` with pitch flutter and roughness switched off.

    Both effects read oscillators that espeak-ng keeps in static variables and never
    resets, so with them on the same text renders differently depending on what was
    synthesized before (even across re-initialization). Off, synthesis is a pure
    function of the text, which is what a reproducible corpus needs.
    """
    if not language.replace("-", "").isalnum():
        raise ValueError(f"not an espeak-ng language name: {language!r}")
    folder = Path(tempfile.gettempdir()) / "tacolib-espeak"
    folder.mkdir(exist_ok=True)
    path = folder / f"{language}.voice"
    content = f"name tacolib-{language}\nlanguage {language}\nflutter 0\nroughness 0\n"
    if not path.is_file() or path.read_text() != content:
        atomic_write(path, content)
    return path


def sample_rate() -> int:
    """The rate espeak-ng renders at, in Hz (22,050)."""
    with _lock:
        _load()
        return _sample_rate


def synthesize(
    text: str, voice: str = "en-us", rate: int = 165, pitch: int = 50, seed: int = 0
) -> tuple[np.ndarray, int]:
    """Render ``text`` to speech.

    Parameters
    ----------
    text : str
        What to say; espeak-ng reads numbers and abbreviations its own way.
    voice : str
        espeak-ng language, e.g. ``"en-us"``, spoken with a steady voice (see
        ``_steady_voice_file``).
    rate : int
        Speaking rate in words per minute (80-450).
    pitch : int
        Base pitch, 0-100.
    seed : int
        Seed of espeak-ng's internal random source: the same text, voice and seed
        render to the same samples, whatever was synthesized before.

    Returns
    -------
    wav : np.ndarray
        ``(T,)`` float32 in [-1, 1].
    sample_rate : int
        Hz (22,050).

    Raises
    ------
    ValueError
        Empty text, or espeak-ng produced no audio for it.
    """
    global _voice
    if not text or not text.strip():
        raise ValueError("cannot synthesize empty text")
    with _lock:
        lib = _load()
        if voice != _voice:
            if lib.espeak_SetVoiceByFile(str(_steady_voice_file(voice)).encode()) != 0:
                raise ValueError(f"espeak-ng has no voice for language {voice!r}")
            _voice = voice
        lib.espeak_SetParameter(_PARAM["rate"], int(rate), 0)
        lib.espeak_SetParameter(_PARAM["pitch"], int(pitch), 0)
        lib.espeak_ng_SetRandSeed(seed)  # its noise sources (fricatives) draw from this
        _chunks.clear()
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        if err != 0:
            raise RuntimeError(f"espeak-ng failed to synthesize {text[:40]!r} (error {err})")
        pcm = np.concatenate(_chunks) if _chunks else np.zeros(0, np.int16)
        _chunks.clear()
    if pcm.size == 0:
        raise ValueError(f"espeak-ng produced no audio for {text[:40]!r}")
    return (pcm.astype(np.float32) / 32768.0), _sample_rate
