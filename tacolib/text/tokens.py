"""Normalized text <-> token ids (id 0 = padding, id 1 = end of sequence).

The front end named by ``TextConfig.input`` decides what a token is: a character
(``"chars"``, :data:`tacolib.symbols.SYMBOLS`) or a phoneme (``"phonemes"``,
:data:`tacolib.symbols.PHONEME_SYMBOLS`, :mod:`tacolib.text.phonemes`).
"""

from __future__ import annotations

from typing import Iterable

import torch

from tacolib.symbols import EOS_ID, PAD_ID, symbol_ids, symbol_table
from tacolib.text.cleanup import filter_symbols
from tacolib.text.pipeline import normalize

__all__ = ["text_to_ids", "ids_to_text", "input_kind", "tokenize", "symbols_to_ids"]


def input_kind(cfg=None) -> str:
    """``"chars"`` or ``"phonemes"``: the ``input`` of a TextConfig or a whole Config (None: chars)."""
    kind = getattr(getattr(cfg, "text", cfg), "input", "chars")
    symbol_table(kind)  # raises ValueError naming the valid ones
    return kind


def tokenize(text: str, normalized: bool = False, cfg=None) -> list[str]:
    """Text -> the symbols the model reads (characters or phonemes, per ``cfg``), no EOS.

    Raises
    ------
    ValueError
        Empty text, or text with nothing speakable in it.
    """
    if input_kind(cfg) == "phonemes":
        from tacolib.text.phonemes import phonemize

        return phonemize(text, normalized=normalized, cfg=cfg)
    if normalized:
        if not isinstance(text, str) or not text.strip():
            normalize(text)  # raises the same TypeError / ValueError as raw text
        return list(filter_symbols(text))
    return list(normalize(text, cfg))


def symbols_to_ids(symbols: Iterable[str], add_eos: bool = True, cfg=None) -> torch.Tensor:
    """Symbols of the front end ``cfg`` names (from :func:`tokenize`) -> ``(T_in,)`` long ids.

    Raises
    ------
    ValueError
        No symbol, or one that is not in the table (named).
    """
    to_id = symbol_ids(input_kind(cfg))
    try:
        ids = [to_id[s] for s in symbols]
    except KeyError as e:
        raise ValueError(f"symbol {e.args[0]!r} is not in the {input_kind(cfg)} symbol table") from None
    if not ids:
        raise ValueError("text has no symbols left after filtering")
    if add_eos:
        ids.append(EOS_ID)
    return torch.tensor(ids, dtype=torch.long)


def text_to_ids(text: str, add_eos: bool = True, normalized: bool = False, cfg=None) -> torch.Tensor:
    """Text -> token ids.

    Parameters
    ----------
    text : str
        Raw text (normalized first) or, with ``normalized=True``, text already made of
        vocabulary symbols (unknown characters are then dropped with a warning).
    add_eos : bool
        Append the end-of-sequence id (``EOS_ID`` = 1).
    cfg : TextConfig or Config, optional
        Reading conventions for :func:`~tacolib.text.pipeline.normalize`, and the
        front end (``input``: characters, the default, or phonemes).

    Returns
    -------
    torch.Tensor
        ``(T_in,)`` long, values in ``[2, len(table))`` plus a final 1 with ``add_eos``,
        where ``table`` is the front end's symbol table. Id 0 (padding) never appears.

    Raises
    ------
    ValueError
        Empty text, or text with nothing speakable in it.
    """
    return symbols_to_ids(tokenize(text, normalized, cfg), add_eos, cfg)


def ids_to_text(ids: Iterable[int] | torch.Tensor, strip: bool = True, cfg=None) -> str:
    """Token ids -> text (characters, or phonemes joined into an IPA string, per ``cfg``).

    With ``strip``, padding (0) and end-of-sequence (1) are removed (and everything
    after the first EOS); otherwise they show as ``_`` and ``~``.

    Raises
    ------
    ValueError
        An id outside the symbol table.
    """
    table = symbol_table(input_kind(cfg))
    if isinstance(ids, torch.Tensor):
        ids = ids.reshape(-1).tolist()
    out = []
    for i in ids:
        i = int(i)
        if not 0 <= i < len(table):
            raise ValueError(f"token id {i} is outside the vocabulary [0, {len(table)})")
        if strip:
            if i == EOS_ID:
                break
            if i == PAD_ID:
                continue
        out.append(table[i])
    return "".join(out)
