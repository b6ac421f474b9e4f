"""Normalized text <-> token ids (id 0 = padding, id 1 = end of sequence)."""

from __future__ import annotations

from typing import Iterable

import torch

from tacolib.symbols import EOS_ID, PAD_ID, SYMBOL_TO_ID, SYMBOLS
from tacolib.text.cleanup import filter_symbols
from tacolib.text.pipeline import normalize

__all__ = ["text_to_ids", "ids_to_text"]


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
        Reading conventions for :func:`~tacolib.text.pipeline.normalize`.

    Returns
    -------
    torch.Tensor
        ``(T_in,)`` long, values in ``[2, len(SYMBOLS))`` plus a final 1 with ``add_eos``.
        Id 0 (padding) never appears.

    Raises
    ------
    ValueError
        Empty text, or text with nothing speakable in it.
    """
    if normalized:
        if not isinstance(text, str) or not text.strip():
            normalize(text)  # raises the same TypeError / ValueError as raw text
        text = filter_symbols(text)
    else:
        text = normalize(text, cfg)
    ids = [SYMBOL_TO_ID[c] for c in text]
    if not ids:
        raise ValueError("text has no symbols left after filtering")
    if add_eos:
        ids.append(EOS_ID)
    return torch.tensor(ids, dtype=torch.long)


def ids_to_text(ids: Iterable[int] | torch.Tensor, strip: bool = True) -> str:
    """Token ids -> text. With ``strip``, padding (0) and end-of-sequence (1) are removed
    (and everything after the first EOS); otherwise they show as ``_`` and ``~``.

    Raises
    ------
    ValueError
        An id outside ``[0, len(SYMBOLS))``.
    """
    if isinstance(ids, torch.Tensor):
        ids = ids.reshape(-1).tolist()
    out = []
    for i in ids:
        i = int(i)
        if not 0 <= i < len(SYMBOLS):
            raise ValueError(f"token id {i} is outside the vocabulary [0, {len(SYMBOLS)})")
        if strip:
            if i == EOS_ID:
                break
            if i == PAD_ID:
                continue
        out.append(SYMBOLS[i])
    return "".join(out)
