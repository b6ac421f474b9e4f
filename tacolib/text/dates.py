"""Dates and decades: ``2019-04-07``, ``7/4/2019``, ``Oct 3``, ``3 October 2019``, ``the 1970s``.

A numeric date is read in the order of :mod:`tacolib.text.style` (``date_order``: US
``"mdy"`` by default, ``"dmy"`` for most of the world); a first number above 12 can
only be a day, so ``25/12/2019`` is Christmas either way, and ISO dates
(``2019-04-07``) are always year-month-day. Dates are said as the same reader writes
them: "april seventh twenty nineteen" (``mdy``) or "the seventh of april twenty
nineteen" (``dmy``); "3 October" is "the third of october" in both. Month
abbreviations ("Oct 3", "Jan. 15") were spelled out by the abbreviations step.
"""

from __future__ import annotations

import re

from tacolib.text import style
from tacolib.text.abbreviations import MONTHS
from tacolib.text.words import number_to_words, ordinal_to_words, plural_words, year_to_words

__all__ = ["date_to_words", "expand_dates", "expand_decades"]

_MONTH = "|".join(MONTHS)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_END = r"(?![\w/-]|[.:]\d)"  # not followed by more of a number
_ISO_RE = re.compile(rf"(?<![\w./-])(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_END}")
_NUMERIC_RE = re.compile(rf"(?<![\w./-])(\d{{1,2}})([/.-])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_END}")
_ON_FRACTION_RE = re.compile(rf"(?<=\b[Oo]n )(\d{{1,2}})/(\d{{1,2}})(?![\w/]|[.:]\d)")  # "on 7/4"
_MONTH_DAY_RE = re.compile(
    rf"\b({_MONTH})(?:\s|-)({_DAY})(?:st|nd|rd|th)?(?!\d|:\d|\s?[AaPp]\.?[Mm]\b)(?:(,?\s|-)(\d{{4}}))?(?![\w])", re.I
)
_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.,])(\bthe\s)?({_DAY})(?:st|nd|rd|th)?(\sof)?[\s-]({_MONTH})\b(?:(,?\s|-)(\d{{4}})(?!\d))?", re.I
)
_MONTH_YEAR_RE = re.compile(rf"\b({_MONTH}),?\s(\d{{4}})(?![\w]|[.,:]\d)", re.I)
_DECADE = r"(?:'(\d0)|(\d{1,3}0))'?s"
_DECADE_RE = re.compile(rf"(?<![\w'.]){_DECADE}(?:\s?[-–]\s?{_DECADE})?\b")
_PLURAL_NUMBER_RE = re.compile(r"(?<![\w'.])(\d+)'?s\b")


def date_to_words(month: int, day: int | None = None, year: str | int | None = None, order: str | None = None) -> str:
    """``(4, 7, 2019)`` -> "april seventh twenty nineteen" (``mdy``) or "the seventh of april
    twenty nineteen" (``dmy``); ``day`` or ``year`` may be None; a two-digit year is
    read as written ("oh five")."""
    order = order or style.current().date_order
    name = MONTHS[month - 1]
    if day is None:
        words = name
    elif order == "dmy":
        words = f"the {ordinal_to_words(day)} of {name}"
    else:
        words = f"{name} {ordinal_to_words(day)}"
    return words if year is None else f"{words} {year_to_words(year)}"


def _numeric(a: int, b: int, year: str | None) -> str | None:
    """Month and day of ``a/b`` in the configured order; read in the order written."""
    order = style.current().date_order
    month, day = (b, a) if order == "dmy" else (a, b)
    if month > 12 and day <= 12:  # only one order is a date
        month, day = day, month
        order = "mdy" if order == "dmy" else "dmy"
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return date_to_words(month, day, year, order)


def expand_decades(text: str) -> str:
    """``1970s`` -> "nineteen seventies", ``'90s`` -> "nineties", ``1900s`` -> "nineteen
    hundreds", ``2000s`` -> "two thousands", ``1960s-80s`` -> "nineteen sixties to
    eighties"; any other number with a plural s: ``the 20s`` -> "the twenties", ``747s``."""

    def decade(short: str | None, full: str | None) -> str:
        if short:
            return plural_words(number_to_words(short))
        return plural_words(year_to_words(full) if len(full) == 4 else number_to_words(full))

    def repl(m: re.Match) -> str:
        words = decade(m.group(1), m.group(2))
        if m.group(3) or m.group(4):
            words += " to " + decade(m.group(3), m.group(4))
        return words

    text = _DECADE_RE.sub(repl, text)
    return _PLURAL_NUMBER_RE.sub(lambda m: plural_words(number_to_words(m.group(1))), text)


def expand_dates(text: str) -> str:
    """Dates in words (see the module docstring), then decades.

    ``2019-04-07`` -> "april seventh twenty nineteen", ``7/4/2019`` -> "july fourth twenty
    nineteen" (``dmy``: "the seventh of april ..."), ``07.04.2019``, ``11/17/05`` ->
    "november seventeenth oh five", ``May 22nd, 1465`` -> "may twenty-second, fourteen
    sixty-five", ``3 October 2019`` -> "the third of october twenty nineteen", ``on 7/4``
    -> "on july fourth" (without "on", ``7/4`` is a fraction).
    """

    def iso(m: re.Match) -> str:
        month, day = int(m.group(3)), int(m.group(4))
        if not (1 <= month <= 12 and 1 <= day <= 31 and 1000 <= int(m.group(1)) <= 2999):
            return m.group(0)
        return date_to_words(month, day, m.group(1))

    def numeric(m: re.Match) -> str:
        if m.group(2) != "/" and len(m.group(4)) == 2:  # "1.2.05", "3-4-05": not clearly dates
            return m.group(0)
        return _numeric(int(m.group(1)), int(m.group(3)), m.group(4)) or m.group(0)

    def named(m: re.Match, month: str, day: str, sep: str | None, year: str | None, order: str) -> str:
        """A date with the month's name, in the order it is written; the comma before the year stays."""
        if month == "may" and not year:  # "you may 5 ...", "5 may be": a verb
            return m.group(0)
        words = date_to_words(MONTHS.index(month.lower()) + 1, int(day), order=order)
        return words + (f"{',' * sep.startswith(',')} {year_to_words(year)}" if year else "")

    def month_day(m: re.Match) -> str:
        return named(m, m.group(1), m.group(2), m.group(3), m.group(4), "mdy")

    def day_month(m: re.Match) -> str:
        return named(m, m.group(4), m.group(2), m.group(5), m.group(6), "dmy")

    text = _ISO_RE.sub(iso, text)
    text = _NUMERIC_RE.sub(numeric, text)
    text = _ON_FRACTION_RE.sub(lambda m: _numeric(int(m.group(1)), int(m.group(2)), None) or m.group(0), text)
    text = _MONTH_DAY_RE.sub(month_day, text)
    text = _DAY_MONTH_RE.sub(day_month, text)
    text = _MONTH_YEAR_RE.sub(lambda m: m.group(0) if m.group(1) == "may" else f"{m.group(1)}{',' * (',' in m.group(0))} {year_to_words(m.group(2))}", text)
    return expand_decades(text)
