"""Text front end: raw English text -> normalized text -> token ids.

A TTS model reads characters, so every character it sees must be one it can learn to
pronounce. Written English is full of things that are *not* spelled the way they are
said: ``"Dr. Smith paid $3.50 at 5:30 p.m. on May 22nd, 1465"``. Normalization rewrites
such text into the spoken words ("doctor smith paid three dollars, fifty cents at
five thirty p m on may twenty-second, fourteen sixty-five"), then keeps only the
symbols of :mod:`tacolib.symbols`.

The pipeline is a list of small, named steps (:data:`PIPELINE`), each a pure
``str -> str`` function that can be tested and shown on its own::

    transliterate ─► drop_unknown ─► map_markup ─► whitespace ─► expand_abbreviations
        ─► expand_numbers ─► lowercase ─► symbols_to_words ─► filter_symbols ─► tidy

:func:`normalize` runs them all; :func:`normalize_steps` returns every stage (what the
interactive box of notebook 02 shows). :func:`text_to_ids` / :func:`ids_to_text` turn
normalized text into token ids and back.

Design rules
------------
* Characters that cannot be read are dropped with a :class:`TextWarning` naming them,
  never a crash. Known non-speech punctuation (quotes, brackets) is mapped silently.
* Text that is empty, or has no letter left after normalization, raises ``ValueError``.
* ``normalize(normalize(x)) == normalize(x)`` (idempotent), and the output holds only
  vocabulary symbols; both are property-tested with hypothesis.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Callable, Iterable

import torch

from tacolib.symbols import EOS, EOS_ID, PAD, PAD_ID, SYMBOL_TO_ID, SYMBOLS

__all__ = [
    "TextWarning",
    "PIPELINE",
    "normalize",
    "normalize_steps",
    "text_to_ids",
    "ids_to_text",
    "transliterate",
    "drop_unknown",
    "collapse_whitespace",
    "expand_abbreviations",
    "expand_numbers",
    "lowercase",
    "map_markup",
    "symbols_to_words",
    "filter_symbols",
    "tidy",
    "expand_currency",
    "expand_percent",
    "expand_time",
    "expand_ordinal",
    "expand_decimal",
    "expand_year",
    "expand_cardinal",
    "expand_range",
    "remove_number_commas",
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
    "currency_to_words",
]


class TextWarning(UserWarning):
    """Some characters of the input could not be read and were dropped."""


# ---- number words ------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _inflect():
    import inflect

    return inflect.engine()


_MAX_DIGITS = 15  # longer digit strings are read digit by digit


def _digits(s: str) -> str:
    names = "zero one two three four five six seven eight nine".split()
    return " ".join(names[int(c)] for c in s)


@functools.lru_cache(maxsize=4096)
def number_to_words(n: int | str) -> str:
    """A cardinal in words, without "and" or commas.

    Examples
    --------
    >>> number_to_words(1200042)
    'one million two hundred thousand forty-two'
    """
    s = str(n).lstrip("0") or "0"
    if len(s) > _MAX_DIGITS:
        return _digits(s)
    return _inflect().number_to_words(s, andword="").replace(",", "")


@functools.lru_cache(maxsize=4096)
def ordinal_to_words(n: int | str) -> str:
    """An ordinal in words: ``22`` -> ``"twenty-second"``."""
    s = str(n).lstrip("0") or "0"
    if len(s) > _MAX_DIGITS:
        return _digits(s) + "th"
    return _inflect().number_to_words(_inflect().ordinal(s), andword="").replace(",", "")


def year_to_words(n: int) -> str:
    """A number between 1001 and 2999 read as a year.

    ``1465`` -> "fourteen sixty-five", ``1900`` -> "nineteen hundred", ``1905`` ->
    "nineteen oh five", ``2000`` -> "two thousand", ``2005`` -> "two thousand five",
    ``2015`` -> "twenty fifteen".
    """
    n = int(n)
    if not 1000 < n < 3000:
        return number_to_words(n)
    if n == 2000:
        return "two thousand"
    if 2000 < n < 2010:
        return "two thousand " + number_to_words(n % 100)
    if n % 100 == 0:
        return number_to_words(n // 100) + " hundred"
    hi, lo = divmod(n, 100)
    return number_to_words(hi) + " " + ("oh " + number_to_words(lo) if lo < 10 else number_to_words(lo))


_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}


def currency_to_words(symbol: str, amount: str, scale: str = "") -> str:
    """An amount of money in words.

    Parameters
    ----------
    symbol : str
        One of ``$ £ € ¥``.
    amount : str
        Digits with an optional decimal part, commas already removed: ``"3.50"``.
    scale : str
        Optional ``"thousand"``, ``"million"``, ``"billion"``, ``"trillion"`` after it.

    Examples
    --------
    >>> currency_to_words("$", "3.50")
    'three dollars, fifty cents'
    >>> currency_to_words("£", "100")
    'one hundred pounds'
    >>> currency_to_words("$", "2.5", "million")
    'two point five million dollars'
    """
    one, many, sub_one, sub_many = _CURRENCY[symbol]
    if scale:
        words = expand_decimal(amount) if "." in amount else number_to_words(amount)
        return f"{words} {scale} {many}"
    whole, _, frac = amount.partition(".")
    whole_n = int(whole) if whole else 0
    if len(frac) > 2:  # not a price: read the number, then the unit
        return f"{expand_decimal((whole or '0') + '.' + frac)} {many}"
    cents_n = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if whole_n or not cents_n:
        parts.append(f"{number_to_words(whole_n)} {one if whole_n == 1 else many}")
    if cents_n:
        parts.append(f"{number_to_words(cents_n)} {sub_one if cents_n == 1 else sub_many}")
    return ", ".join(parts)


# ---- pipeline steps ----------------------------------------------------------------

_KEEP_UNICODE = "£€¥"  # currency symbols the number step reads; unidecode would spell them


def transliterate(text: str) -> str:
    """Unicode -> ASCII with ``unidecode`` ("café" -> "cafe", "’" -> "'").

    The currency symbols ``£ € ¥`` are kept for :func:`expand_currency`.
    """
    import unicodedata

    from unidecode import unidecode

    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)  # "①" -> "1", "ﬁ" -> "fi", full width -> ASCII
    text = re.sub("[«»‹›„‟]", '"', text)  # unidecode would make "<<" of these
    out = []
    for ch in text:
        if ch.isascii() or ch in _KEEP_UNICODE:
            out.append(ch)
            continue
        ascii_ = unidecode(ch)
        if ascii_ or unicodedata.category(ch)[0] in "MC":
            out.append(ascii_)  # combining marks and format characters vanish silently
        else:
            out.append(ch)  # no ASCII form (emoji, ...): drop_unknown names it
    return "".join(out)


# Everything a later step knows what to do with; the rest is dropped (with a warning).
_READABLE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_READABLE |= set(" \t\n\r!'(),-.:;?\"$%&+/#@[]{}=*_~`") | set(_KEEP_UNICODE)
_SILENT = set("\t\n\r\"[]{}`*_~")  # mapped or dropped without a warning later on


def drop_unknown(text: str) -> str:
    """Drop characters no later step can read, warning with their names."""
    bad = sorted({c for c in text if c not in _READABLE})
    if not bad:
        return text
    names = ", ".join(repr(c) for c in bad)
    warnings.warn(f"dropped unreadable character(s): {names}", TextWarning, stacklevel=3)
    return "".join(c if c in _READABLE else " " if c.isspace() else "" for c in text)


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace -> one space; no leading or trailing space."""
    return re.sub(r"\s+", " ", text).strip()


_ABBREVIATIONS = [
    (r"mrs", "missus"),
    (r"mr", "mister"),
    (r"ms", "miz"),
    (r"drs", "doctors"),
    (r"dr", "doctor"),
    (r"prof", "professor"),
    (r"jr", "junior"),
    (r"sr", "senior"),
    (r"co", "company"),
    (r"corp", "corporation"),
    (r"ltd", "limited"),
    (r"inc", "incorporated"),
    (r"capt", "captain"),
    (r"col", "colonel"),
    (r"gen", "general"),
    (r"gov", "governor"),
    (r"lt", "lieutenant"),
    (r"maj", "major"),
    (r"sgt", "sergeant"),
    (r"rev", "reverend"),
    (r"hon", "honorable"),
    (r"esq", "esquire"),
    (r"mt", "mount"),
    (r"ft", "fort"),
    (r"ave", "avenue"),
    (r"rd", "road"),
    (r"blvd", "boulevard"),
    (r"dept", "department"),
    (r"approx", "approximately"),
    (r"vs", "versus"),
    (r"jan", "january"),
    (r"feb", "february"),
    (r"aug", "august"),
    (r"sept", "september"),
    (r"oct", "october"),
    (r"nov", "november"),
    (r"dec", "december"),
]
_END = r"(\s*$)?"  # an abbreviation that ends the text keeps its full stop
_ABBREV_RE = [(re.compile(rf"\b{a}\.{_END}", re.I), w) for a, w in _ABBREVIATIONS]
_SAINT_RE = re.compile(r"\b[Ss][Tt]\.(?= ?[A-Z])")  # "St. Paul": saint before a capitalized word
_STREET_RE = re.compile(rf"\bst\.{_END}", re.I)  # "Elm St." otherwise: street
_NUMBER_ABBREV_RE = re.compile(r"\bno\.(?= ?\d)", re.I)  # "No. 5" -> "number 5"
_ETC_RE = re.compile(rf"\betc\.{_END}", re.I)
_LATIN_RE = [(re.compile(r"\be\.g\.", re.I), "for example"), (re.compile(r"\bi\.e\.", re.I), "that is")]


def expand_abbreviations(text: str) -> str:
    """Spell out common abbreviations that end with a period.

    ``Mr.`` -> mister, ``Mrs.`` -> missus, ``Dr.`` -> doctor, ``Co.`` -> company,
    ``etc.`` -> et cetera, ``e.g.`` -> for example, ``No. 5`` -> number 5, ...
    ``St.`` is "saint" before a capitalized word ("St. Paul") and "street" otherwise
    ("Elm St."), which is why this step runs before :func:`lowercase`. An
    abbreviation that ends the text keeps its full stop ("... and Co." -> "... and company.").
    """
    def word(w: str):
        return lambda m: w + "." if m.group(1) is not None else w

    text = _ETC_RE.sub(word("et cetera"), text)
    for pattern, words in _LATIN_RE:
        text = pattern.sub(words, text)
    text = _NUMBER_ABBREV_RE.sub("number", text)
    text = _SAINT_RE.sub("saint", text)
    text = _STREET_RE.sub(word("street"), text)
    for pattern, words in _ABBREV_RE:
        text = pattern.sub(word(words), text)
    return text


# -- numbers: one regex and one expander per pattern, applied in this order --------

_COMMA_NUMBER_RE = re.compile(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?![\d])")
_CURRENCY_RE = re.compile(r"([$£€¥])\s?(\d+(?:\.\d+)?|\.\d+)(?:\s(thousand|million|billion|trillion)\b)?", re.I)
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_TIME_RE = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?(?:\s?([ap])\.?\s?m\b\.?)"  # 5 pm, 5:30 p.m.
    r"|\b(\d{1,2}):(\d{2})\b",  # 17:45
    re.I,
)
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.I)
_DECIMAL_RE = re.compile(r"(\d*)\.(\d+)")
_RANGE_RE = re.compile(r"(?<=\d)-(?=\d)")
_NEGATIVE_RE = re.compile(r"(?<![\w.])-(?=\d)")
_NUMBER_RE = re.compile(r"\d+")


def remove_number_commas(text: str) -> str:
    """``12,000`` -> ``12000`` (comma-grouped thousands)."""
    return _COMMA_NUMBER_RE.sub(lambda m: m.group(0).replace(",", ""), text)


def expand_currency(text: str) -> str:
    """``$3.50`` -> "three dollars, fifty cents"; ``£100`` -> "one hundred pounds"."""

    def repl(m: re.Match) -> str:
        amount = m.group(2)
        if amount.startswith("."):
            amount = "0" + amount
        return currency_to_words(m.group(1), amount, (m.group(3) or "").lower())

    return _CURRENCY_RE.sub(repl, text)


def expand_percent(text: str) -> str:
    """``12%`` -> "12 percent" (the number itself is read by a later step)."""
    return _PERCENT_RE.sub(lambda m: f"{m.group(1)} percent", text)


def _sentence_end(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    return not rest or rest[0].isupper()


def expand_time(text: str) -> str:
    """Clock times: ``5:30 p.m.`` -> "five thirty p m", ``9:05`` -> "nine oh five",
    ``7:00 am`` -> "seven a m", ``12:00`` -> "twelve o'clock".

    A trailing ``p.m.`` that ends a sentence keeps its full stop.
    """

    def repl(m: re.Match) -> str:
        if m.group(4) is not None:
            hour, minute, ampm = m.group(4), m.group(5), None
        else:
            hour, minute, ampm = m.group(1), m.group(2), m.group(3)
        h = int(hour)
        if minute is not None and int(minute) > 59:
            return m.group(0)
        words = number_to_words(h)
        if minute is not None:
            mm = int(minute)
            if mm == 0:
                words += "" if ampm else " o'clock"
            elif mm < 10:
                words += " oh " + number_to_words(mm)
            else:
                words += " " + number_to_words(mm)
        if ampm:
            words += f" {ampm.lower()} m"
            if m.group(0).endswith(".") and _sentence_end(text, m.end()):
                words += "."
        return words

    return _TIME_RE.sub(repl, text)


def expand_ordinal(text: str) -> str:
    """``1st`` -> "first", ``22nd`` -> "twenty-second", ``103rd`` -> "one hundred third"."""
    return _ORDINAL_RE.sub(lambda m: ordinal_to_words(m.group(1)), text)


def expand_decimal(text: str) -> str:
    """``3.14`` -> "three point one four", ``.5`` -> "point five"."""

    def repl(m: re.Match) -> str:
        whole = number_to_words(m.group(1)) + " " if m.group(1) else ""
        return f"{whole}point {_digits(m.group(2))}"

    return _DECIMAL_RE.sub(repl, text)


def expand_year(text: str) -> str:
    """Four-digit numbers between 1001 and 2999 read as years ("fourteen sixty-five")."""

    def repl(m: re.Match) -> str:
        s = m.group(0)
        if len(s) == 4 and 1000 < int(s) < 3000:
            return year_to_words(int(s))
        return s

    return _NUMBER_RE.sub(repl, text)


def expand_range(text: str) -> str:
    """A hyphen between digits is a range: ``1990-1995`` -> "1990 to 1995", ``$5-10`` ->
    "$5 to 10" (runs before the other number steps so that each end is read alone)."""
    return _RANGE_RE.sub(" to ", text)


def expand_cardinal(text: str) -> str:
    """Every remaining digit string -> words ("42" -> "forty-two"); ``-5`` -> "minus five"."""
    text = _NEGATIVE_RE.sub("minus ", text)
    return _NUMBER_RE.sub(lambda m: number_to_words(m.group(0)), text)


_NUMBER_STEPS: list[tuple[str, Callable[[str], str]]] = [
    ("remove_number_commas", remove_number_commas),
    ("expand_range", expand_range),
    ("expand_currency", expand_currency),
    ("expand_percent", expand_percent),
    ("expand_time", expand_time),
    ("expand_ordinal", expand_ordinal),
    ("expand_decimal", expand_decimal),
    ("expand_year", expand_year),
    ("expand_cardinal", expand_cardinal),
]


def expand_numbers(text: str) -> str:
    """All number patterns, most specific first (currency before decimals, times
    before cardinals, years before cardinals). The output holds no digits."""
    for _, step in _NUMBER_STEPS:
        text = step(text)
    return text


def lowercase(text: str) -> str:
    """Lowercase everything (the model has one symbol per letter)."""
    return text.lower()


_MARKUP_MAP = [
    (re.compile(r"[\[{]"), "("),
    (re.compile(r"[\]}]"), ")"),
    (re.compile(r"[\"`*_~/]"), " "),  # quotes, markup and slashes carry no sound
    (re.compile(r"\s*-{2,}\s*"), ", "),  # a dash ("--", from "—") is a pause
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s*=\s*"), " equals "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"#\s*(?=\d)"), "number "),
    (re.compile(r"#"), " "),
]


def map_markup(text: str) -> str:
    """Quotes, markup and slashes become spaces; brackets become parentheses; a double
    dash becomes a comma; ``&`` ``+`` ``=`` ``@`` become words; ``#5`` -> "number 5".

    Runs before the abbreviations so that no later step can join an abbreviation and
    its period ("Mr*." would otherwise reach a second pass as "mr.").
    """
    for pattern, repl in _MARKUP_MAP:
        text = pattern.sub(repl, text)
    return text


_SYMBOL_WORDS = [
    (re.compile(r"%"), " percent "),
    (re.compile(r"\$"), " dollars "),
    (re.compile(r"£"), " pounds "),
    (re.compile(r"€"), " euros "),
    (re.compile(r"¥"), " yen "),
]


def symbols_to_words(text: str) -> str:
    """``% $ £ € ¥`` left over by the number step (no number next to them) become words."""
    for pattern, repl in _SYMBOL_WORDS:
        text = pattern.sub(repl, text)
    return text


_VOCAB = set(SYMBOLS) - {PAD, EOS}


def filter_symbols(text: str) -> str:
    """Keep only vocabulary symbols; anything else is dropped with a warning."""
    bad = sorted({c for c in text if c not in _VOCAB})
    if bad:
        names = ", ".join(repr(c) for c in bad)
        warnings.warn(f"dropped character(s) outside the symbol set: {names}", TextWarning, stacklevel=3)
        text = "".join(c for c in text if c in _VOCAB)
    return text


def tidy(text: str) -> str:
    """Whitespace collapsed, no space before ``, . ; : ! ? )`` or after ``(``."""
    text = collapse_whitespace(text)
    text = re.sub(r" ([,.;:!?)])(?!\d)", r"\1", text)  # but "a .5 chance" keeps its space
    text = re.sub(r"\( ", "(", text)
    return text


PIPELINE: list[tuple[str, Callable[[str], str]]] = [
    ("transliterate", transliterate),
    ("drop_unknown", drop_unknown),
    ("map_markup", map_markup),
    ("whitespace", tidy),
    ("expand_abbreviations", expand_abbreviations),
    ("expand_numbers", expand_numbers),
    ("lowercase", lowercase),
    ("symbols_to_words", symbols_to_words),
    ("filter_symbols", filter_symbols),
    ("tidy", tidy),
]
"""The normalization steps, in order, as ``(name, function)`` pairs."""


def _check_input(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: there is nothing to say")
    return text


def normalize_steps(text: str) -> list[tuple[str, str]]:
    """Every stage of :func:`normalize`: ``[("input", text), (step name, output), ...]``.

    Does not raise on text that normalizes to nothing (the last stage is then empty);
    it does raise ``ValueError`` on empty input.
    """
    text = _check_input(text)
    stages = [("input", text)]
    for name, step in PIPELINE:
        text = step(text)
        stages.append((name, text))
    return stages


def normalize(text: str) -> str:
    """Raw English text -> the spoken form, in vocabulary symbols only.

    Parameters
    ----------
    text : str
        Any Unicode string.

    Returns
    -------
    str
        Lowercase letters, spaces and ``!'(),-.:;?`` only; contains at least one letter.

    Raises
    ------
    ValueError
        ``text`` is empty or blank, or nothing speakable is left after normalization
        (e.g. only punctuation or emoji).

    Examples
    --------
    >>> normalize("Dr. Smith paid $3.50 at 5:30 p.m.")
    'doctor smith paid three dollars, fifty cents at five thirty p m.'
    """
    text = _check_input(text)
    out = text
    for _, step in PIPELINE:
        out = step(out)
    if not re.search(r"[a-z]", out):
        raise ValueError(f"text {text[:60]!r} normalizes to nothing speakable ({out!r})")
    return out


# ---- tokens ------------------------------------------------------------------------


def text_to_ids(text: str, add_eos: bool = True, normalized: bool = False) -> torch.Tensor:
    """Text -> token ids.

    Parameters
    ----------
    text : str
        Raw text (normalized first) or, with ``normalized=True``, text already made of
        vocabulary symbols (unknown characters are then dropped with a warning).
    add_eos : bool
        Append the end-of-sequence id (``EOS_ID`` = 1).

    Returns
    -------
    torch.Tensor
        ``(T_in,)`` long, values in ``[2, len(SYMBOLS))`` plus a final 1 with ``add_eos``.
        Id 0 (padding) never appears.

    Raises
    ------
    ValueError
        Empty text, or text with nothing speakable in it.
    """
    if normalized:
        _check_input(text)
        text = filter_symbols(text)
    else:
        text = normalize(text)
    ids = [SYMBOL_TO_ID[c] for c in text]
    if not ids:
        raise ValueError("text has no symbols left after filtering")
    if add_eos:
        ids.append(EOS_ID)
    return torch.tensor(ids, dtype=torch.long)


def ids_to_text(ids: Iterable[int] | torch.Tensor, strip: bool = True) -> str:
    """Token ids -> text. With ``strip``, padding (0) and end-of-sequence (1) are removed
    (and everything after the first EOS); otherwise they show as ``_`` and ``~``.

    Raises
    ------
    ValueError
        An id outside ``[0, len(SYMBOLS))``.
    """
    if isinstance(ids, torch.Tensor):
        ids = ids.reshape(-1).tolist()
    out = []
    for i in ids:
        i = int(i)
        if not 0 <= i < len(SYMBOLS):
            raise ValueError(f"token id {i} is outside the vocabulary [0, {len(SYMBOLS)})")
        if strip:
            if i == EOS_ID:
                break
            if i == PAD_ID:
                continue
        out.append(SYMBOLS[i])
    return "".join(out)
