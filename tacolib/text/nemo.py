"""Optional backend: NVIDIA's ``nemo_text_processing`` grammars (``text.normalizer = "nemo"``).

``pip install -e ".[nemo]"`` installs it (pynini and the English grammars, ~200 MB;
the grammars compile on first use, about 20 s, then load from a cache under the data
directory). The course never needs it: it is there for practitioners who want the
field's production normalizer and to compare the two front ends
(``benchmarks/text.py``). Its output goes through this package's pipeline
afterwards, so the guarantees (vocabulary symbols only, no digits, a warning naming
what was dropped) hold for both.
"""

from __future__ import annotations

import functools
import warnings

from tacolib.text.cleanup import TextWarning

__all__ = ["available", "nemo_normalize"]


def available() -> bool:
    """True when ``nemo_text_processing`` can be imported."""
    try:
        import nemo_text_processing  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _normalizer():
    try:
        from nemo_text_processing.text_normalization.normalize import Normalizer
    except ImportError as e:
        raise ImportError(
            'text.normalizer = "nemo" needs nemo_text_processing: pip install -e ".[nemo]" '
            '(or set text.normalizer = "tacolib")'
        ) from e
    from tacolib.runtime import data_dir

    cache = data_dir() / "nemo_tn_cache"
    cache.mkdir(parents=True, exist_ok=True)
    import logging

    logging.getLogger("NeMo-text-processing").setLevel(logging.WARNING)
    return Normalizer(input_case="cased", lang="en", cache_dir=str(cache))


def nemo_normalize(text: str) -> str:
    """``text`` through NeMo's English normalizer (raw, before this package's clean-up).

    Raises ``ImportError`` (with the install command) when the extra is missing. Text
    NeMo fails on is returned unchanged, with a :class:`TextWarning`.
    """
    normalizer = _normalizer()
    try:
        return normalizer.normalize(text, punct_post_process=True)
    except Exception as e:  # a grammar that cannot parse the input: our rules take over
        warnings.warn(f"nemo_text_processing failed ({type(e).__name__}: {e}); using tacolib's rules", TextWarning, stacklevel=3)
        return text
