"""The phoneme front end: normalized text -> the phonemes espeak-ng says for it.

Characters make the model learn English spelling on its way to sound ("ough" in
*though*, *through*, *tough*); phonemes hand it the pronunciation, so it only has to
learn how each sound sounds. The course asks espeak-ng's own phonemizer
(:func:`tacolib.espeak.phonemes`), with the steady voice TinySpeech is spoken with,
so on TinySpeech the phonemes are exactly what the recordings say::

    "Dr. Smith paid $3.50."
      ─normalize─► "doctor smith paid three dollars, fifty cents."
      ─phonemize─► d ˈ ɒ k t ə ␣ s m ˈ ɪ θ ␣ p ˈ eɪ d ␣ θ ɹ ˈ iː ␣ d ˈ ɒ l ə z , ␣ f ˈ ɪ f t i ␣ s ˈ ɛ n t s .
      (shown joined: "dˈɒktə smˈɪθ pˈeɪd θɹˈiː dˈɒləz, fˈɪfti sˈɛnts.")

The symbols are those of :data:`tacolib.symbols.PHONEME_SYMBOLS`: one per phoneme, a
stress mark before a stressed vowel, the space between words and the clause
punctuation ``!(),.:;?`` (espeak-ng reads punctuation as clause boundaries and does
not return it, so each clause is phonemized on its own and its punctuation put
back; a dash between words becomes a comma). A phoneme outside the table is dropped
with a :class:`~tacolib.text.cleanup.TextWarning`, like an unreadable character.

``TextConfig(input="phonemes")`` makes :func:`tacolib.text.text_to_ids`, the dataset
and ``Tacotron2.inference`` read phonemes; a :class:`PhonemeCache` keeps a corpus's
phonemes in a file beside its cached mels.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Sequence

from tacolib import espeak
from tacolib.safe_io import atomic_write
from tacolib.symbols import PHONEME_SYMBOLS, PHONEMES, STRESS
from tacolib.text.cleanup import TextWarning
from tacolib.text.pipeline import normalize

__all__ = ["VOICE", "phonemize", "phoneme_string", "PhonemeCache", "phonemize_all", "cache_key"]

#: The espeak-ng language whose phonemes are used (TinySpeech's voice; LJSpeech is US English too).
VOICE = "en-us"
_CLAUSE = re.compile(r"([!(),.:;?])")
_STRESS_SPLIT = re.compile(f"[{''.join(STRESS)}]|[^{''.join(STRESS)}]+")
_KNOWN = frozenset(PHONEMES)


def _word_tokens(word: str, unknown: list[str]) -> list[str]:
    """One espeak word (``"t_w_ˈɛ_n_t_i"``) -> symbols, stress marks split off the vowels."""
    out = []
    for phone in word.split(espeak.PHONEME_SEPARATOR):
        for tok in _STRESS_SPLIT.findall(phone):  # "" (a pause) yields nothing
            if tok in _KNOWN or tok in STRESS:
                out.append(tok)
            else:
                unknown.append(tok)
    return out


def phonemize(text: str, normalized: bool = False, cfg=None) -> list[str]:
    """Text -> its phonemes, as a list of symbols of :data:`~tacolib.symbols.PHONEME_SYMBOLS`.

    Parameters
    ----------
    text : str
        Raw text (normalized first by :func:`~tacolib.text.pipeline.normalize`), or
        with ``normalized=True`` text already normalized.
    cfg : TextConfig or Config, optional
        Reading conventions for the normalization.

    Returns
    -------
    list of str
        Phonemes, stress marks, ``" "`` between words and clause punctuation, in
        order; ``"".join`` of it reads as IPA (:func:`phoneme_string`).

    Raises
    ------
    ValueError
        Empty text, or text with no phoneme in it.
    """
    if not normalized:
        text = normalize(text, cfg)
    elif not isinstance(text, str) or not text.strip():
        normalize(text)  # raises the same TypeError / ValueError as raw text
    text = re.sub(r"(^|\s)-+(\s|$)", r",\2", text)  # a dash between words: a pause
    tokens: list[str] = []
    unknown: list[str] = []

    def space():
        if tokens and tokens[-1] != " ":
            tokens.append(" ")

    for piece in _CLAUSE.split(text):
        if _CLAUSE.fullmatch(piece):
            if tokens and tokens[-1] == " " and piece != "(":
                tokens.pop()  # "word ," -> "word,"
            tokens.append(piece)
            continue
        if piece[:1].isspace():
            space()
        for k, word in enumerate(espeak.phonemes(piece, VOICE).split()):
            if k:
                space()
            tokens += _word_tokens(word, unknown)
        if piece[-1:].isspace():
            space()
    while tokens and tokens[-1] == " ":
        tokens.pop()
    while tokens and tokens[0] == " ":
        tokens.pop(0)
    if unknown:
        names = ", ".join(repr(u) for u in sorted(set(unknown)))
        warnings.warn(f"dropped phoneme(s) outside the symbol set: {names}", TextWarning, stacklevel=2)
    if not any(t in _KNOWN for t in tokens):
        raise ValueError(f"text {text[:60]!r} has no phoneme espeak-ng can say")
    return tokens


def phoneme_string(text: str, normalized: bool = False, cfg=None) -> str:
    """The phonemes of ``text`` as one IPA string, e.g. ``"həlˈəʊ ðˈeə."``."""
    return "".join(phonemize(text, normalized, cfg))


def cache_key() -> str:
    """12 hex digits naming what the phonemes depend on: espeak-ng's version, the voice
    and the symbol table. A cache written under another key is recomputed."""
    what = {"espeak": espeak.version(), "voice": VOICE, "symbols": PHONEME_SYMBOLS}
    return hashlib.sha256(json.dumps(what, ensure_ascii=False).encode()).hexdigest()[:12]


class PhonemeCache:
    """:func:`phonemize` for normalized texts, remembered in a JSON file.

    The file (``{"key": cache_key(), "phonemes": {text: [symbols]}}``) looks entries
    up by the text itself, so an edited transcript is phonemized anew; a file written
    under another :func:`cache_key`, or unreadable, is ignored and rewritten.
    :class:`tacolib.data.TTSDataset` keeps one beside a corpus's cached mels.

    Parameters
    ----------
    path : str or Path, optional
        The JSON file; None keeps the phonemes in memory only.

    Examples
    --------
    >>> cache = PhonemeCache("data/cache/phonemes.json")      # doctest: +SKIP
    >>> cache("hello there."); cache.save()                    # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.key = cache_key()
        self.known: dict[str, list[str]] = {}
        self.changed = False
        if self.path is not None and self.path.is_file():
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
                if stored.get("key") == self.key:
                    self.known = dict(stored["phonemes"])
            except (ValueError, OSError, KeyError, AttributeError, TypeError):
                self.known = {}

    def __call__(self, text: str) -> list[str]:
        """The phonemes of one normalized ``text`` (raises like :func:`phonemize`)."""
        if text not in self.known:
            self.known[text] = phonemize(text, normalized=True)
            self.changed = True
        return list(self.known[text])

    def save(self) -> None:
        """Write the file when something new was phonemized (atomically)."""
        if self.path is not None and self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps({"key": self.key, "phonemes": self.known}, ensure_ascii=False))
            self.changed = False


def phonemize_all(texts: Sequence[str], cache: str | Path | None = None) -> list[list[str]]:
    """:func:`phonemize` every normalized text, re-using and updating a :class:`PhonemeCache` file."""
    phonemes = PhonemeCache(cache)
    out = [phonemes(t) for t in texts]
    phonemes.save()
    return out
