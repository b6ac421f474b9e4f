"""The normalization pipeline: small named steps, run in order.

::

    remove_control ─► transliterate ─► drop_unknown ─► map_markup ─► whitespace
      ─► expand_abbreviations ─► expand_roman ─► expand_dates ─► expand_time ─► expand_currency
      ─► expand_units ─► expand_numbers ─► lowercase ─► symbols_to_words
      ─► filter_symbols ─► tidy

Each step is a pure ``str -> str`` function that can be tested and shown on its own;
the order carries meaning (abbreviations need capitals, so they come before
``lowercase``; dates, times, money and units each claim their numbers before the
general number step reads what is left). :func:`normalize` runs them all under the
conventions of a :class:`~tacolib.config.TextConfig`; :func:`normalize_steps` returns
every stage (what the interactive box of notebook 02 shows).
"""

from __future__ import annotations

import re
from typing import Callable

from tacolib.text import style
from tacolib.text.abbreviations import expand_abbreviations
from tacolib.text.cleanup import (
    drop_unknown,
    filter_symbols,
    lowercase,
    map_markup,
    remove_control,
    symbols_to_words,
    tidy,
    transliterate,
)
from tacolib.text.dates import expand_dates
from tacolib.text.money import expand_currency
from tacolib.text.numbers import expand_numbers
from tacolib.text.roman import expand_roman
from tacolib.text.times import expand_time
from tacolib.text.units import expand_units

__all__ = ["PIPELINE", "normalize", "normalize_steps"]

PIPELINE: list[tuple[str, Callable[[str], str]]] = [
    ("remove_control", remove_control),
    ("transliterate", transliterate),
    ("drop_unknown", drop_unknown),
    ("map_markup", map_markup),
    ("whitespace", tidy),
    ("expand_abbreviations", expand_abbreviations),
    ("expand_roman", expand_roman),
    ("expand_dates", expand_dates),
    ("expand_time", expand_time),
    ("expand_currency", expand_currency),
    ("expand_units", expand_units),
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


def normalize_steps(text: str, cfg=None) -> list[tuple[str, str]]:
    """Every stage of :func:`normalize`: ``[("input", text), (step name, output), ...]``.

    Does not raise on text that normalizes to nothing (the last stage is then empty);
    it does raise ``ValueError`` on empty input. Always the ``"tacolib"`` rules.
    """
    text = _check_input(text)
    stages = [("input", text)]
    with style.using(cfg):
        for name, step in PIPELINE:
            text = step(text)
            stages.append((name, text))
    return stages


def normalize(text: str, cfg=None) -> str:
    """Raw English text -> the spoken form, in vocabulary symbols only.

    Parameters
    ----------
    text : str
        Any Unicode string.
    cfg : TextConfig or Config, optional
        Reading conventions (date order, "and" in numbers, hyphens) and the normalizer
        (``"tacolib"`` or ``"nemo"``); see :mod:`tacolib.text.style`. Default: the
        course's (``TextConfig()``).

    Returns
    -------
    str
        Lowercase letters, spaces and ``!'(),-.:;?`` only; contains at least one letter.

    Raises
    ------
    ValueError
        ``text`` is empty or blank, or nothing speakable is left after normalization
        (e.g. only punctuation or emoji); or ``cfg`` names an unknown convention.

    Examples
    --------
    >>> normalize("Dr. Smith paid $3.50 at 5:30 p.m.")
    'doctor smith paid three dollars, fifty cents at five thirty p m.'
    >>> normalize("7/4/2019"), normalize("7/4/2019", TextConfig(date_order="dmy"))
    ('july fourth twenty nineteen', 'the seventh of april twenty nineteen')
    """
    text = _check_input(text)
    with style.using(cfg) as conventions:
        out = text
        if conventions.normalizer == "nemo":
            from tacolib.text.nemo import nemo_normalize

            out = nemo_normalize(remove_control(out))
        for _, step in PIPELINE:
            out = step(out)
    if not re.search(r"[a-z]", out):
        raise ValueError(f"text {text[:60]!r} normalizes to nothing speakable ({out!r})")
    return out
