"""Clock times, durations and ratios: ``5:30 p.m.``, ``17:45``, ``9:05:30``, ``3.30 pm``, ``3:1``.

``5:30 p.m.`` -> "five thirty p m", ``9:05`` -> "nine oh five", ``7:00 am`` -> "seven a
m", ``12:00`` -> "twelve o'clock", ``00:15`` -> "twelve fifteen a m" (hour zero is
after midnight), ``3.30 pm`` -> "three thirty p m" (a dot separates hours and minutes
only before am/pm), ``9:05:30`` -> "nine hours five minutes and thirty seconds",
``2pm-5pm`` -> "two p m to five p m", ``9-11 am`` -> "nine to eleven a m", ``1:59 p.m.
EST`` -> "one fifty-nine p m E S T". A colon with one digit after it is a ratio: ``3:1``
-> "three to one".
"""

from __future__ import annotations

import re

from tacolib.text.words import number_to_words

__all__ = ["time_to_words", "expand_time"]

_AMPM = r"\s?[AaPp]\.?\s?[Mm]\b\.?"
_ZONES = "EST EDT CST CDT MST MDT PST PDT AKST HST GMT UTC BST CET CEST EET IST JST AEST AEDT ET PT CT MT"
_ZONE = r"\s?\(?(?P<tz>(?:" + "|".join(_ZONES.split()) + r")|(?i:e\.s\.t|est|pst|gmt|utc))\b\)?\.?"
_CLOCK = rf"\d{{1,2}}(?::\d{{2}}(?::\d{{2}})?|\.\d{{2}}(?={_AMPM}))?(?:{_AMPM})?"
_PARTS_RE = re.compile(rf"(\d{{1,2}})(?:[:.](\d{{2}})(?::(\d{{2}}))?)?((?:{_AMPM})?)")
_RANGE_RE = re.compile(rf"(?<![\w.:$])({_CLOCK})\s?[-–]\s?({_CLOCK})(?![\w:])")
_TIME_RE = re.compile(
    rf"(?<![\w.:$])(?:\d{{1,2}}(?:[:.]\d{{2}}(?::\d{{2}})?)?{_AMPM}|\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?![\d:]|[.,]\d))(?:{_ZONE})?"
)
_RATIO_RE = re.compile(r"(?<![\w.:,])(\d{1,3}(?:,\d{3})+|\d+):(\d{1,3}(?:,\d{3})+|\d)(?![\d:])")  # 3:1, 1:50,000


def _stop(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    return not rest or rest[0].isupper()


def time_to_words(hour: int, minute: int | None = None, second: int | None = None, ampm: str = "") -> str:
    """``(17, 45)`` -> "seventeen forty-five", ``(9, 5, None, "a")`` -> "nine oh five a m",
    ``(9, 5, 30)`` -> "nine hours five minutes and thirty seconds", ``(0, 15)`` -> "twelve fifteen a m"."""
    ampm = ampm.lower()[:1]
    if second is not None and not (ampm and second == 0):
        parts = [(hour, "hour"), (minute or 0, "minute"), (second, "second")]
        said = [f"{number_to_words(n)} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n] or ["zero seconds"]
        words = " ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1]
        return words + (f" {ampm} m" if ampm else "")
    if hour == 0 and minute is not None:
        hour, ampm = 12, ampm or "a"
    words = number_to_words(hour)
    if minute is not None:
        if minute == 0:
            words += "" if ampm else " o'clock"
        elif minute < 10:
            words += " oh " + number_to_words(minute)
        else:
            words += " " + number_to_words(minute)
    return words + (f" {ampm} m" if ampm else "")


def _parse(s: str) -> tuple[str, bool] | None:
    """A written time -> (words, has am/pm); None when it is not a time (25:00, 9:75)."""
    m = _PARTS_RE.fullmatch(s.strip())
    if m is None:
        return None
    hour, minute, second = int(m.group(1)), m.group(2), m.group(3)
    ampm = re.sub(r"[\s.]", "", m.group(4))
    if hour > 24 or (minute and int(minute) > 59) or (second and int(second) > 59) or (ampm and hour > 12):
        return None
    minute = int(minute) if minute is not None else None
    second = int(second) if second is not None else None
    return time_to_words(hour, minute, second, ampm), bool(ampm)


def expand_time(text: str) -> str:
    """Clock times, durations, time ranges and ratios in words (see the module docstring).

    A trailing ``p.m.`` that ends a sentence keeps its full stop.
    """

    def time_range(m: re.Match) -> str:
        a, b = _parse(m.group(1)), _parse(m.group(2))
        if a is None or b is None or not (a[1] or b[1] or ":" in m.group(0)):
            return m.group(0)  # "10-20" is a number range, not a time
        return f"{a[0]} to {b[0]}" + ("." if m.group(0).endswith(".") and _stop(text, m.end()) else "")

    def one(m: re.Match) -> str:
        s = m.group(0)
        zone = m.group("tz")
        core = s[: m.start("tz") - m.start()] if zone else s
        parsed = _parse(core.rstrip(" (."))
        if parsed is None:
            return s
        words = parsed[0]
        if zone:
            words += " " + " ".join(c.upper() for c in zone if c.isalpha())
        if s.endswith(".") and _stop(text, m.end()):
            words += "."
        return words

    text = _RANGE_RE.sub(time_range, text)
    text = _TIME_RE.sub(one, text)
    return _RATIO_RE.sub(lambda m: f"{number_to_words(m.group(1))} to {number_to_words(m.group(2))}", text)
