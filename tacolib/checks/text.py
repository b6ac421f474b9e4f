"""Checks for notebook 02 (text normalization)."""

from __future__ import annotations

import re

import torch

from tacolib import text as T
from tacolib.checks.core import CheckFailed, assert_close, exercise, mistake
from tacolib.symbols import EOS_ID, PAD_ID, SYMBOL_TO_ID

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


def _ref_text_batch(texts: list) -> tuple:
    """Normalized texts -> ``(ids (B, T_in) long, lengths (B,) long)``, laid out by :func:`tacolib.batching.collate`."""
    from tacolib.config import get_config
    from tacolib.batching import collate

    items = [{"id": str(i), "text": t, "tokens": T.text_to_ids(t, add_eos=True, normalized=True), "mel": torch.zeros(1, 1)}
             for i, t in enumerate(texts)]
    batch = collate(items, get_config("tiny"))
    return batch["text"], batch["text_lengths"]


def _text_batch(texts, eos=True, pad=PAD_ID, order="longest_first"):
    """The reference written out with knobs, each one a learner's mistake."""
    rows = [[SYMBOL_TO_ID[c] for c in t] + ([EOS_ID] if eos else []) for t in texts]
    if order == "longest_first":
        rows = sorted(rows, key=len, reverse=True)  # sorted() is stable: ties keep their order
    elif order == "shortest_first":
        rows = sorted(rows, key=len)
    ids = torch.full((len(rows), max(map(len, rows))), pad, dtype=torch.long)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = torch.tensor(row)
    return ids, torch.tensor([len(r) for r in rows])


def _compare_batch(got, expected, where):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{where}: return a tuple (ids, lengths), got {type(got).__name__}")
    for name, g in zip(("ids", "lengths"), got):
        if not isinstance(g, torch.Tensor) or g.dtype != torch.long:
            raise CheckFailed(f"{where}, {name}: expected a torch.long tensor (embedding tables and packing need integers), "
                              f"got {getattr(g, 'dtype', type(g).__name__)}")
    assert_close(got[1], expected[1], f"{where}, lengths", atol=0, rtol=0)
    assert_close(got[0], expected[0], f"{where}, ids", atol=0, rtol=0)


check_text_batch = exercise(
    "text_batch",
    NOTEBOOK,
    _ref_text_batch,
    lambda: [((["hello, world.", "a", "don't stop (now)!"],), {}), ((["same", "size", "is", "fine"],), {}), ((["one"],), {})],
    compare=_compare_batch,
    variants=[
        mistake("no end-of-sequence id at the end of each row", "Append EOS_ID to every utterance's ids (and count it in lengths).",
                _text_batch, eos=False),
        mistake("padding with the end-of-sequence id", "Pad with PAD_ID (0): id 1 means 'the text ends here', once per row.",
                _text_batch, pad=EOS_ID),
        mistake("the rows left in the input order", "Sort the rows by decreasing length (stable: ties keep their order), as "
                "collate does for the encoder's packed LSTM.", _text_batch, order="input"),
        mistake("the rows sorted shortest first", "Longest first: sorted(rows, key=len, reverse=True).", _text_batch,
                order="shortest_first"),
    ],
)
