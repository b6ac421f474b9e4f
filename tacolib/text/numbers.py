"""The numbers left after dates, times, money and units: one small step per shape.

Most specific first (:data:`NUMBER_STEPS`): phone numbers, dotted addresses and
versions, scientific notation and powers, percentages, serial numbers, ranges,
fractions, ordinals, decimals, years, digit strings, and finally every cardinal. The
output of :func:`expand_numbers` holds no digits.

Readings a careful reader would choose: ``-2.5`` -> "minus two point five", ``1e6`` ->
"one times ten to the power of six", ``3/8`` -> "three eighths", ``2 3/4`` -> "two and
three quarters", ``007`` -> "zero zero seven" (a leading zero means the digits are a
name, not a quantity), ``1234567890123`` -> digit by digit (ten or more digits without
commas are an identifier; ``1,234,567,890`` is a quantity), ``555-123-4567`` -> "five
five five, one two three, four five six seven", ``1,750 people`` -> "one thousand
seven hundred fifty people" (commas mark a quantity; a bare ``1750`` is read as a year).
"""

from __future__ import annotations

import re
from typing import Callable

from tacolib.text.words import (
    decimal_to_words,
    digits_to_words,
    fraction_to_words,
    number_to_words,
    ordinal_to_words,
    year_to_words,
)

__all__ = [
    "NUMBER_STEPS",
    "LONG_DIGITS",
    "expand_numbers",
    "expand_phone",
    "expand_dotted",
    "expand_scientific",
    "expand_percent",
    "expand_serial",
    "expand_range",
    "expand_fraction",
    "expand_ordinal",
    "expand_decimal",
    "expand_year",
    "expand_digits",
    "expand_cardinal",
]

LONG_DIGITS = 10  # this many digits without commas are read one by one (IDs, card numbers)
_INT = r"\d{1,3}(?:,\d{3})+|\d+"
_SIGN = r"(?:(?<![\w.])[-−])"
_END = r"(?![\w]|[.,]\d)"  # the number ends here

_PHONE_RE = re.compile(
    r"(?<![\w.-])(?:(?:plus\s?|\+)(?P<cc>\d{1,3})[\s.-]?|(?P<one>1)[\s.-])?"
    r"(?:\((?P<area>\d{3})\)\s?-?\s?|(?P<area2>\d{3})[.-])(?P<a>\d{3})[\s.-](?P<b>\d{4})(?:[\s-](?P<ext>\d{1,4}))?(?![\w-])"
)
_DOTTED_RE = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?![\w]|\.\d)")
_SCI_RE = re.compile(r"(?<![\w.])(?P<sign>[-−])?(?P<m>\d+(?:\.\d+)?)(?:[eE](?P<e>[-+−]?\d+)|\s?[x×*]\s?10\^(?P<e2>[-−]?\d+))(?![\w.])")
_POWER_RE = re.compile(r"(?<![\w.])(?P<b>\d+(?:\.\d+)?|[A-Za-z]+)\^(?P<e>[-−]?\d+)")
_PERCENT_RE = re.compile(r"(\d)\s?%")
_SERIAL_RE = re.compile(r"(?<![\w.-])\d+(?:-\d+){2,}(?![\w-])")
_RANGE_RE = re.compile(r"(?<=\d)\s?[-–]\s?(?=\d)")
_MIXED_RE = re.compile(r"(?<![\w./])(\d+)\s(\d+)/(\d+)(?:st|nd|rd|th|s)?(?![\w/]|[.,]\d)")
_FRACTION_RE = re.compile(r"(?<![\w./])(-?\d+)/(\d+)(?:st|nd|rd|th|s)?(?![\w/]|[.,]\d)")
_SAID_AS_NAMES = {"24/7": "twenty-four seven", "9/11": "nine eleven", "50/50": "fifty-fifty"}
_ORDINAL_RE = re.compile(rf"(?<!\d)(?<!\d[.,])({_INT})(st|nd|rd|th)\b", re.I)
_DECIMAL_RE = re.compile(rf"{_SIGN}?(?<![\w.])(?:\d{{1,3}}(?:,\d{{3}})+|\d*)\.\d+(?![\w]|\.\d)")
_YEAR_RE = re.compile(r"(?<![\w.,$])(\d{4})(?![\w]|[.,]\d)")
_DIGITS_RE = re.compile(rf"(?<![\w.,])(0\d+|\d{{{LONG_DIGITS},}}){_END}")
_CARDINAL_RE = re.compile(rf"{_SIGN}?({_INT})")
_SUFFIXES = ("st", "nd", "rd", "th")


def expand_phone(text: str) -> str:
    """``555-123-4567``, ``(555) 123-4567``, ``+1 555 123 4567`` -> digits in groups, a
    comma (a pause) between groups: "five five five, one two three, four five six seven"."""

    def repl(m: re.Match) -> str:
        groups = [m.group(k) for k in ("area", "area2", "a", "b", "ext") if m.group(k)]
        words = ", ".join(digits_to_words(g) for g in groups)
        if m.group("cc"):
            words = f"plus {digits_to_words(m.group('cc'))}, {words}"
        elif m.group("one"):
            words = f"one, {words}"
        return words

    return _PHONE_RE.sub(repl, text)


def expand_dotted(text: str) -> str:
    """``192.168.0.1`` -> "one hundred ninety-two dot one hundred sixty-eight dot zero dot
    one"; a version ``3.11.2`` -> "three point eleven point two"."""

    def repl(m: re.Match) -> str:
        parts = m.group(0).split(".")
        ip = len(parts) == 4 and all(int(p) < 256 for p in parts)
        return (" dot " if ip else " point ").join(number_to_words(p) for p in parts)

    return _DOTTED_RE.sub(repl, text)


def _exponent(e: str) -> str:
    return {"2": "squared", "3": "cubed"}.get(e) or f"to the power of {number_to_words(e.replace('+', ''))}"


def expand_scientific(text: str) -> str:
    """``1e6`` -> "one times ten to the power of six", ``6.02 x 10^23``, ``1.5e-3`` -> "...
    to the power of minus three"; powers: ``x^2`` -> "x squared", ``2^10`` -> "two to the
    power of ten"."""

    def sci(m: re.Match) -> str:
        sign = "minus " if m.group("sign") else ""
        e = (m.group("e") or m.group("e2")).replace("−", "-")
        return f"{sign}{decimal_to_words(m.group('m'))} times ten {_exponent(e.replace('+', ''))}"

    def power(m: re.Match) -> str:
        b = m.group("b")
        base = decimal_to_words(b) if b[0].isdigit() else b
        return f"{base} {_exponent(m.group('e').replace('−', '-'))}"

    return _POWER_RE.sub(power, _SCI_RE.sub(sci, text))


def expand_percent(text: str) -> str:
    """``12%`` -> "12 percent" (the number itself is read by a later step)."""
    return _PERCENT_RE.sub(r"\1 percent", text)


def expand_serial(text: str) -> str:
    """Three or more hyphenated digit groups (``978-3-16-148410-0``) are read digit by
    digit, a pause between groups: "nine seven eight, three, one six, ..."."""
    return _SERIAL_RE.sub(lambda m: ", ".join(digits_to_words(g) for g in m.group(0).split("-")), text)


def expand_range(text: str) -> str:
    """A hyphen between digits is a range: ``1990-1995`` -> "1990 to 1995", ``10 - 20`` ->
    "10 to 20" (runs before the other number steps so that each end is read alone)."""
    return _RANGE_RE.sub(" to ", text)


def expand_fraction(text: str) -> str:
    """``3/8`` -> "three eighths", ``1/2`` -> "one half", ``2 3/4`` -> "two and three
    quarters", ``1/4th`` -> "one quarter"; ``24/7`` and ``9/11`` are said as names."""

    def mixed(m: re.Match) -> str:
        whole, num, den = m.groups()
        if int(num) >= int(den) or int(den) == 0:
            return m.group(0)
        return fraction_to_words(num, den, whole)

    def simple(m: re.Match) -> str:
        if m.group(0) in _SAID_AS_NAMES:
            return _SAID_AS_NAMES[m.group(0)]
        num, den = m.groups()
        sign = "minus " if num.startswith("-") else ""
        return sign + fraction_to_words(num.lstrip("-"), den)

    return _FRACTION_RE.sub(simple, _MIXED_RE.sub(mixed, text))


def expand_ordinal(text: str) -> str:
    """``1st`` -> "first", ``22nd`` -> "twenty-second", ``1,000th`` -> "one thousandth"."""
    def repl(m: re.Match) -> str:
        glued = m.start() > 0 and text[m.start() - 1].isalpha()  # "A21st": parted like a cardinal
        return (" " if glued else "") + ordinal_to_words(m.group(1))

    return _ORDINAL_RE.sub(repl, text)


def expand_decimal(text: str) -> str:
    """``3.14`` -> "three point one four", ``.5`` -> "point five", ``-2.5`` -> "minus two
    point five", ``1,234.5`` -> "one thousand two hundred thirty-four point five"."""
    return _DECIMAL_RE.sub(lambda m: decimal_to_words(m.group(0)), text)


def expand_year(text: str) -> str:
    """Four-digit numbers between 1001 and 2999 read as years ("fourteen sixty-five").

    Not when written with a comma (``1,750`` is a quantity) or a minus sign (``-1750``).
    """

    def repl(m: re.Match) -> str:
        s, i = m.group(1), m.start()
        negative = i > 0 and text[i - 1] in "-−" and (i == 1 or not text[i - 2].isalnum())
        return year_to_words(s) if 1000 < int(s) < 3000 and not negative else s

    return _YEAR_RE.sub(repl, text)


def expand_digits(text: str) -> str:
    """Digit strings that name rather than count, read digit by digit: a leading zero
    (``007``, ``0042``) or ten digits and more without commas (``12345678901234567890``)."""
    return _DIGITS_RE.sub(lambda m: digits_to_words(m.group(1)), text)


def expand_cardinal(text: str) -> str:
    """Every remaining digit string -> words ("42" -> "forty-two", "-5" -> "minus five",
    "1,250" -> "one thousand two hundred fifty"); digits glued to letters are parted
    from them ("4x4" was units; "A4" -> "A four", "5abc" -> "five abc")."""

    def repl(m: re.Match) -> str:
        words = number_to_words(m.group(0).replace("−", "-"))
        if m.start() > 0 and text[m.start() - 1].isalpha():
            words = " " + words
        if m.end() < len(text) and text[m.end()].isalpha() and text[m.end():m.end() + 2].lower() not in _SUFFIXES:
            words += " "  # (not before a stray ordinal suffix: "one st." would read as a street next time)
        return words

    return _CARDINAL_RE.sub(repl, text)


NUMBER_STEPS: list[tuple[str, Callable[[str], str]]] = [
    ("expand_phone", expand_phone),
    ("expand_dotted", expand_dotted),
    ("expand_scientific", expand_scientific),
    ("expand_percent", expand_percent),
    ("expand_serial", expand_serial),
    ("expand_range", expand_range),
    ("expand_fraction", expand_fraction),
    ("expand_ordinal", expand_ordinal),
    ("expand_decimal", expand_decimal),
    ("expand_year", expand_year),
    ("expand_digits", expand_digits),
    ("expand_cardinal", expand_cardinal),
]
"""The sub-steps of :func:`expand_numbers`, most specific first."""


def expand_numbers(text: str) -> str:
    """Every number left by the earlier steps, in words (:data:`NUMBER_STEPS` in order)."""
    for _, step in NUMBER_STEPS:
        text = step(text)
    return text
