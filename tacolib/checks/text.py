"""Checks for notebook 02 (text normalization)."""

from __future__ import annotations

import re

import torch

from tacolib import text as T
from tacolib.checks.core import CheckFailed, assert_close, exercise

NOTEBOOK = "02_text_normalization"


def _ref_ordinal_words(n: int) -> str:
    """``22`` -> ``"twenty-second"`` (no "and", no commas)."""
    return T.ordinal_to_words(n)


check_ordinal_words = exercise(
    "ordinal_words",
    NOTEBOOK,
    _ref_ordinal_words,
    lambda: [((n,), {}) for n in (1, 2, 3, 4, 5, 8, 9, 11, 12, 13, 20, 21, 22, 23, 30, 40, 99, 100, 101, 112, 1000, 1002, 2024)],
)


def _ref_expand_dollars(text: str) -> str:
    """Every ``$<digits>[.<2 digits>]`` in ``text`` -> words; the rest unchanged."""
    return re.sub(r"\$(\d+(?:\.\d\d)?)", lambda m: T.currency_to_words("$", m.group(1)), text)


check_expand_dollars = exercise(
    "expand_dollars",
    NOTEBOOK,
    _ref_expand_dollars,
    lambda: [
        (("It costs $3.50.",), {}),
        (("$1 or $2",), {}),
        (("only $0.05 left",), {}),
        (("$2.01 and $10.10",), {}),
        (("$100 for a $19.99 hat",), {}),
        (("no money here",), {}),
    ],
)


def _ref_tokenize(text: str) -> torch.Tensor:
    """Normalized text -> ``(len(text) + 1,)`` long: symbol ids, then EOS."""
    return T.text_to_ids(text, add_eos=True, normalized=True)


def _compare_tokens(got, expected, where):
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{where}: expected a torch.Tensor, got {type(got).__name__}")
    if got.dtype != torch.long:
        raise CheckFailed(f"{where}: expected dtype torch.long (embedding tables need integer ids), got {got.dtype}")
    assert_close(got, expected, where, atol=0, rtol=0)


check_tokenize = exercise(
    "tokenize",
    NOTEBOOK,
    _ref_tokenize,
    lambda: [(("hello, world.",), {}), (("a",), {}), (("don't stop (now)!",), {})],
    compare=_compare_tokens,
)
