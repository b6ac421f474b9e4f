"""Reading conventions: where careful readers differ, which reading the front end says.

Every convention is a field of :class:`tacolib.config.TextConfig` (the defaults are the
course's, a US reader's):

``date_order = "mdy"``
    How a numeric date is read: ``7/4/2019`` is July fourth (``"mdy"``, US) or the
    seventh of April (``"dmy"``, most of the world). A first number above 12 is a day
    either way (``25/12/2019``), and ISO dates (``2019-04-07``) are year-month-day.
    Dates are said "july fourth twenty nineteen" (``mdy``) or "the fourth of july
    twenty nineteen" (``dmy``).
``number_and = False``
    "one hundred five" (US) or "one hundred and five" (British).
``number_hyphens = True``
    "twenty-five" or "twenty five" (the same sound; hyphens keep the word one token).
``normalizer = "tacolib"``
    This package's rules, or ``"nemo"``: NVIDIA's ``nemo_text_processing`` grammars
    (an optional extra, :mod:`tacolib.text.nemo`).

:func:`normalize` sets the conventions for the duration of one call (:func:`using`);
every step reads them with :func:`current`, so the steps stay plain ``str -> str``.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

from tacolib.config import TextConfig

__all__ = ["NORMALIZERS", "DATE_ORDERS", "current", "using", "checked"]

NORMALIZERS = ("tacolib", "nemo")
DATE_ORDERS = ("mdy", "dmy")

_CURRENT: contextvars.ContextVar[TextConfig] = contextvars.ContextVar("tacolib_text_style", default=TextConfig())


def current() -> TextConfig:
    """The conventions in force (the defaults outside :func:`using`)."""
    return _CURRENT.get()


def checked(cfg=None) -> TextConfig:
    """``None``, a :class:`TextConfig` or a whole ``Config`` -> a validated :class:`TextConfig`.

    Raises
    ------
    ValueError
        A convention with a value this package does not know (the message names the valid ones).
    """
    if cfg is None:
        return current()
    cfg = getattr(cfg, "text", cfg)  # a whole Config
    if not isinstance(cfg, TextConfig):
        raise TypeError(f"text conventions must be a TextConfig (cfg.text), got {type(cfg).__name__}")
    if cfg.normalizer not in NORMALIZERS:
        raise ValueError(f"text.normalizer must be one of {NORMALIZERS}, got {cfg.normalizer!r}")
    if cfg.date_order not in DATE_ORDERS:
        raise ValueError(f"text.date_order must be one of {DATE_ORDERS}, got {cfg.date_order!r}")
    return cfg


@contextlib.contextmanager
def using(cfg=None) -> Iterator[TextConfig]:
    """Run the block with the conventions of ``cfg`` (``None``: keep the current ones)."""
    token = _CURRENT.set(checked(cfg))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)
