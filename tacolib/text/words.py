"""Numbers in words: cardinals, ordinals, years, digits, decimals, fractions, plurals.

Pure functions of their arguments and of the conventions in force
(:mod:`tacolib.text.style`: "and" in numbers, hyphens). Cardinals come from
``inflect``, which names numbers below 10**36 (decillions); longer digit strings are
read digit by digit, on purpose.
"""

from __future__ import annotations

import functools

from tacolib.text import style

__all__ = [
    "MAX_WORD_DIGITS",
    "NUMBER",
    "digits_to_words",
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
    "decimal_to_words",
    "fraction_to_words",
    "plural_words",
]

MAX_WORD_DIGITS = 36  # inflect's range: below 10**36 a number has a name
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
"""Regex of a written number: ``1,250.5``, ``3.14``, ``.5``, ``42`` (no sign)."""
_ONES = "zero one two three four five six seven eight nine".split()


def digits_to_words(s: str) -> str:
    """Every digit of ``s`` said alone: ``"0042"`` -> "zero zero four two" (other characters are skipped)."""
    return " ".join(_ONES[int(c)] for c in s if c.isdigit())


@functools.lru_cache(maxsize=1)
def _inflect():
    import inflect

    return inflect.engine()


def _clean(n: int | str) -> tuple[str, str]:
    """``-1,200`` -> ("minus ", "1200"); leading zeros dropped."""
    s = str(n).replace(",", "").strip()
    sign = ""
    if s[:1] in "-−":
        sign, s = "minus ", s[1:]
    if not s.isdigit():
        raise ValueError(f"not a whole number: {n!r}")
    return sign, s.lstrip("0") or "0"


@functools.lru_cache(maxsize=8192)
def _cardinal(s: str, andword: str, hyphens: bool) -> str:
    words = _inflect().number_to_words(s, andword=andword).replace(",", "")
    return words if hyphens else words.replace("-", " ")


@functools.lru_cache(maxsize=8192)
def _ordinal(s: str, andword: str, hyphens: bool) -> str:
    words = _inflect().number_to_words(_inflect().ordinal(s), andword=andword).replace(",", "")
    return words if hyphens else words.replace("-", " ")


def number_to_words(n: int | str) -> str:
    """A cardinal in words, without commas; "and" and hyphens as the conventions say.

    ``n`` is an int or a digit string (commas and a leading minus allowed). Past
    inflect's range (36 digits) the digits are read one by one.

    Examples
    --------
    >>> number_to_words(1200042)
    'one million two hundred thousand forty-two'
    >>> number_to_words("-1,005")
    'minus one thousand five'
    """
    sign, s = _clean(n)
    if len(s) > MAX_WORD_DIGITS:
        return sign + digits_to_words(s)
    cfg = style.current()
    return sign + _cardinal(s, "and" if cfg.number_and else "", cfg.number_hyphens)


def ordinal_to_words(n: int | str) -> str:
    """An ordinal in words: ``22`` -> "twenty-second", ``0`` -> "zeroth"."""
    sign, s = _clean(n)
    if len(s) > MAX_WORD_DIGITS:
        return sign + digits_to_words(s) + "th"
    cfg = style.current()
    return sign + _ordinal(s, "and" if cfg.number_and else "", cfg.number_hyphens)


def year_to_words(n: int | str) -> str:
    """A number read as a year, in pairs: ``1465`` -> "fourteen sixty-five".

    ``1900`` -> "nineteen hundred", ``1905`` -> "nineteen oh five", ``2000`` -> "two
    thousand", ``2005`` -> "two thousand five", ``2015`` -> "twenty fifteen"; two digits
    (``"05"``, ``"98"``) -> "oh five", "ninety-eight"; outside 1001-2999 a cardinal.
    """
    s = str(n)
    if len(s) == 2 and s.isdigit():
        return ("oh " + _ONES[int(s[1])]) if s[0] == "0" else number_to_words(s)
    n = int(s)
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


def decimal_to_words(s: str) -> str:
    """``"3.14"`` -> "three point one four", ``".5"`` -> "point five", ``"-0.25"`` -> "minus
    zero point two five", ``"1,234.5"`` -> "one thousand two hundred thirty-four point five"."""
    sign = ""
    if s[:1] in "-−":
        sign, s = "minus ", s[1:]
    whole, _, frac = s.partition(".")
    words = number_to_words(whole) if whole else ""
    if frac:
        words = f"{words} point {digits_to_words(frac)}".strip()
    return sign + words


_SPECIAL_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters"), 100: ("hundredth", "hundredths")}


def fraction_to_words(numerator: int | str, denominator: int | str, whole: int | str | None = None) -> str:
    """``3/8`` -> "three eighths", ``1/2`` -> "one half", ``3/4`` -> "three quarters";
    with ``whole``: ``2 1/2`` -> "two and a half", ``2 3/4`` -> "two and three quarters".

    Denominators 0, 1 and above 100 are read with "over" ("one hundred forty-two over one").
    """
    num, den = int(str(numerator).replace(",", "")), int(str(denominator).replace(",", ""))
    if den in (0, 1) or den > 100 or num > 10**6:
        words = f"{number_to_words(num)} over {number_to_words(den)}"
    else:
        one, many = _SPECIAL_DENOMINATORS.get(den) or (ordinal_to_words(den), plural_words(ordinal_to_words(den)))
        if whole is not None and num == 1:
            words = f"a {one}"
        else:
            words = f"{number_to_words(num)} {one if num == 1 else many}"
    if whole is not None:
        words = f"{number_to_words(whole)} and {words}"
    return words


def plural_words(words: str) -> str:
    """Pluralize the last word of a number: "nineteen seventy" -> "nineteen seventies",
    "six" -> "sixes", "hundred" -> "hundreds", "thirty-second" -> "thirty-seconds"."""
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith(("x", "s")):
        last += "es"
    else:
        last += "s"
    return head + last
