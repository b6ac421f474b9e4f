"""Characters in, characters out: the steps at both ends of the pipeline.

Before the words are read: :func:`remove_control` (terminal colour codes and other
control characters), :func:`transliterate` (Unicode -> ASCII, keeping the signs later
steps read), :func:`drop_unknown`, :func:`map_markup`, :func:`tidy`. After them:
:func:`lowercase`, :func:`symbols_to_words`, :func:`filter_symbols`, :func:`tidy`.
Whatever is dropped is named in a :class:`TextWarning`; nothing here raises.
"""

from __future__ import annotations

import re
import unicodedata
import warnings

from tacolib.symbols import EOS, PAD, SYMBOLS

__all__ = [
    "TextWarning",
    "KEEP_UNICODE",
    "remove_control",
    "transliterate",
    "drop_unknown",
    "collapse_whitespace",
    "map_markup",
    "lowercase",
    "symbols_to_words",
    "filter_symbols",
    "tidy",
]


class TextWarning(UserWarning):
    """Some characters of the input could not be read and were dropped."""


def _warn(what: str, items) -> None:
    names = ", ".join(repr(c) for c in sorted(set(items)))
    warnings.warn(f"dropped {what}: {names}", TextWarning, stacklevel=4)


# ---- control characters ------------------------------------------------------------

# ESC [ ... final byte (colours, cursor moves), ESC ] ... BEL (window titles), ESC + one byte
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_SPACE_CONTROLS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"  # separators: they part words
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def remove_control(text: str) -> str:
    """Terminal escape sequences (``"\\x1b[31m"``) and control characters vanish whole,
    with a warning naming them; line and field separators become spaces."""
    dropped = _ANSI_RE.findall(text)
    text = _ANSI_RE.sub("", text)
    dropped += _CONTROL_RE.findall(text)
    if dropped:
        _warn("control character(s)", dropped)
        text = _CONTROL_RE.sub("", text)
    return re.sub(f"[{_SPACE_CONTROLS[3:]}]", " ", text)


# ---- Unicode -> ASCII ---------------------------------------------------------------

KEEP_UNICODE = "£€¥₩₹₽₪₱₺¢°μ"  # read by later steps (money, units); unidecode would spell them
_SPECIAL = {
    "µ": "μ",  # micro sign -> Greek mu (one spelling for the units step)
    "º": "°",
    "÷": " divided by ",
    "±": " plus or minus ",
    "∓": " minus or plus ",
    "≈": " approximately ",
    "≤": " less than or equal to ",
    "≥": " greater than or equal to ",
    "≠": " not equal to ",
    "‰": " per mille",
    "«": '"', "»": '"', "‹": '"', "›": '"', "„": '"', "‟": '"',  # unidecode would make "<<" of these
}
_SUPERSCRIPT_RE = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_VULGAR = dict(zip("½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒", "1/2 1/3 2/3 1/4 3/4 1/5 2/5 3/5 4/5 1/6 5/6 1/7 1/8 3/8 5/8 7/8 1/9 1/10".split()))
_VULGAR_RE = re.compile(f"(\\d?)([{''.join(_VULGAR)}])")


def transliterate(text: str) -> str:
    """Unicode -> ASCII with ``unidecode`` ("café" -> "cafe", "’" -> "'", "…" -> "...").

    Kept for later steps: the currency signs ``£ € ¥ ₩ ₹ ...``, ``°`` and ``μ``. Made
    readable: superscripts (``cm²`` -> ``cm^2``, ``10⁶`` -> ``10^6``), vulgar fractions
    (``2½`` -> ``2 1/2``) and math signs (``±`` -> "plus or minus").
    """
    from unidecode import unidecode

    if text.isascii():
        return text
    text = _SUPERSCRIPT_RE.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPT), text)
    text = _VULGAR_RE.sub(lambda m: (m.group(1) + " " if m.group(1) else "") + _VULGAR[m.group(2)], text)
    out = []
    for ch in text:
        if ch.isascii() or ch in KEEP_UNICODE:
            out.append(ch)
        elif ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        else:
            nfkc = unicodedata.normalize("NFKC", ch)  # "①" -> "1", "ﬁ" -> "fi", full width -> ASCII
            ascii_ = nfkc if nfkc.isascii() else unidecode(nfkc)
            if ascii_ or unicodedata.category(ch)[0] in "MC":
                out.append(ascii_)  # combining marks and format characters vanish silently
            else:
                out.append(ch)  # no ASCII form (emoji, ...): drop_unknown names it
    return "".join(out)


# Everything a later step knows what to do with; the rest is dropped (with a warning).
_READABLE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_READABLE |= set(" \t\n\r!'(),-.:;?\"$%&+/#@[]{}=*_~`") | set(KEEP_UNICODE)
_POWER_RE = re.compile(r"\^(?=-?\d)")  # "^" is read only before an exponent


def drop_unknown(text: str) -> str:
    """Drop characters no later step can read, warning with their names."""
    bad = [c for c in _POWER_RE.sub("", text) if c not in _READABLE]
    if not bad:
        return text
    _warn("unreadable character(s)", bad)
    keep = _READABLE | {"^"}
    text = "".join(c if c in keep else " " if c.isspace() else "" for c in text)
    return re.sub(r"\^(?!-?\d)", "", text)


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace -> one space; no leading or trailing space."""
    return re.sub(r"\s+", " ", text).strip()


_MARKUP_MAP = [
    (re.compile(r"[\[{]"), "("),
    (re.compile(r"[\]}]"), ")"),
    (re.compile(r"~\s*(?=[$£€¥₩₹\d.])"), " about "),  # "~5 km"
    (re.compile(r"(?<![\w.])(\d+)'\s?(\d{1,2})(?:\"|'')"), r"\1 ft \2in"),  # 5'11" (feet and inches)
    (re.compile(r"(?<=\d)\s*[*×]\s*(?=\d)"), " times "),  # "2*8"
    (re.compile(r"[\"`*_~]"), " "),  # quotes and markup carry no sound
    (re.compile(r"\s*-{2,}\s*"), ", "),  # a dash ("--", from "—") is a pause
    (re.compile(r"\s*\.{2,}\s*"), "... "),  # an ellipsis is a pause, never a decimal point
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\s*\+\s*/?\s*-(?!\d)\s*"), " plus or minus "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s*=\s*"), " equals "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"#\s*(?=\d)"), "number "),
    (re.compile(r"#"), " "),
]


def map_markup(text: str) -> str:
    """Quotes and markup become spaces; brackets become parentheses; a double dash becomes a
    comma and an ellipsis a pause ("wait...4" -> "wait... 4"); ``& + = @`` become words;
    ``#5`` -> "number 5". Slashes stay: fractions, dates and units read them.

    Runs before the abbreviations so that no later step can join an abbreviation and
    its period ("Mr*." would otherwise reach a second pass as "mr.").
    """
    for pattern, repl in _MARKUP_MAP:
        text = pattern.sub(repl, text)
    return text


def lowercase(text: str) -> str:
    """Lowercase everything (the model has one symbol per letter)."""
    return text.lower()


_SYMBOL_WORDS = [
    (re.compile(r"%"), " percent "),
    (re.compile(r"\$"), " dollar "),
    (re.compile(r"£"), " pound "),
    (re.compile(r"€"), " euro "),
    (re.compile(r"¥"), " yen "),
    (re.compile(r"₩"), " won "),
    (re.compile(r"₹"), " rupee "),
    (re.compile(r"₽"), " ruble "),
    (re.compile(r"₪"), " shekel "),
    (re.compile(r"₱"), " peso "),
    (re.compile(r"₺"), " lira "),
    (re.compile(r"¢"), " cent "),
    (re.compile(r"°"), " degrees "),
    (re.compile(r"μ"), " mu "),
    (re.compile(r"[/^]"), " "),  # "and/or" -> "and or"
]


def symbols_to_words(text: str) -> str:
    """Signs left over by the number steps (no number next to them) are said by name:
    ``%`` percent, ``$`` dollar, ``°`` degrees, ...; a slash becomes a space."""
    for pattern, repl in _SYMBOL_WORDS:
        text = pattern.sub(repl, text)
    return text


_VOCAB = set(SYMBOLS) - {PAD, EOS}


def filter_symbols(text: str) -> str:
    """Keep only vocabulary symbols; anything else is dropped with a warning."""
    bad = [c for c in text if c not in _VOCAB]
    if bad:
        _warn("character(s) outside the symbol set", bad)
        text = "".join(c for c in text if c in _VOCAB)
    return text


def tidy(text: str) -> str:
    """Whitespace collapsed, no space before ``, . ; : ! ? )`` or after ``(``; ``..`` -> ``...``."""
    text = collapse_whitespace(text)
    text = re.sub(r" ([,.;:!?)])(?!\d)", r"\1", text)  # but "a .5 chance" keeps its space
    text = re.sub(r"\( ", "(", text)
    text = re.sub(r"\.{2,}(?=[^\s.,;:!?)])", "... ", text)  # stops brought together are an ellipsis
    return re.sub(r"\.{2,}", "...", text)
