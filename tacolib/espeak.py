"""Offline speech synthesis with espeak-ng, through ctypes.

The ``espeakng-loader`` wheel ships ``libespeak-ng`` and its voice data, so this works
on any machine without system packages or a network. espeak-ng renders 22,050 Hz
16-bit audio (LJSpeech's rate) in milliseconds; the course uses it to build its
embedded corpus (TinySpeech) and as a stand-in voice where no recording is at hand.
Its phonemizer (:func:`phonemes`, ``espeak_TextToPhonemes``) gives the phonemes that
voice says for a text: the course's phoneme front end (:mod:`tacolib.text.phonemes`).

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
_PHONEMES_IPA = 0x02  # espeak_TextToPhonemes: IPA names instead of espeak's ASCII mnemonics
PHONEME_SEPARATOR = "_"  # between the phonemes of a word (bits 8-23 of phonememode)

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
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
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


def _use_voice(lib, voice: str) -> None:
    """Make ``voice`` (a language, spoken steadily) the current one; call under ``_lock``."""
    global _voice
    if voice != _voice:
        if lib.espeak_SetVoiceByFile(str(_steady_voice_file(voice)).encode()) != 0:
            raise ValueError(f"espeak-ng has no voice for language {voice!r}")
        _voice = voice


def version() -> str:
    """espeak-ng's version string (``espeak_Info``), e.g. ``"1.52.0"``."""
    with _lock:
        lib = _load()
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        return lib.espeak_Info(None).decode()


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
    if not text or not text.strip():
        raise ValueError("cannot synthesize empty text")
    with _lock:
        lib = _load()
        _use_voice(lib, voice)
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


def phonemes(text: str, voice: str = "en-us", ipa: bool = True) -> str:
    """The phonemes espeak-ng says for ``text`` (its own phonemizer, ``espeak_TextToPhonemes``).

    Parameters
    ----------
    text : str
        Words to transcribe. espeak-ng reads punctuation as clause boundaries and
        does not return it (:mod:`tacolib.text.phonemes` puts it back).
    voice : str
        espeak-ng language, the same steady voice :func:`synthesize` speaks with, so
        the phonemes are the ones that voice pronounces.
    ipa : bool
        IPA names (``"h_ə_l_ˈəʊ"``) or espeak's ASCII mnemonics (``"h_@_l_'oU"``).

    Returns
    -------
    str
        Words separated by spaces, the phonemes of a word by
        :data:`PHONEME_SEPARATOR`; a stress mark (``ˈ`` primary, ``ˌ`` secondary)
        precedes the vowel it stresses. Empty for text with no word in it.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    mode = (_PHONEMES_IPA if ipa else 0) | (ord(PHONEME_SEPARATOR) << 8)
    buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
    ptr = ctypes.c_void_p(ctypes.addressof(buf))
    clauses = []
    with _lock:
        lib = _load()
        _use_voice(lib, voice)
        while ptr.value:  # one clause per call; espeak-ng moves the pointer on (NULL at the end)
            out = lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, mode)
            if out:
                clauses.append(out.decode("utf-8").strip())
    return " ".join(c for c in clauses if c)
