"""Config values: the one definition of what a field may hold, and how text becomes a value.

:class:`tacolib.config.Config` builds every config through these (``from_dict``,
``load``, ``override``), and the command line's ``--set`` goes through ``override``::

    "train.lr=1e-3" ──parse_value──► "1e-3" (YAML 1.1 reads it as text)
                    ──coerce_value(float)──► 0.001
    "model.r=[1,2]" ──parse_value──► [1, 2] ──coerce_value(int)──► ValueError("model.r: expected an integer, got [1, 2]")
    {"lr": "1e-3"}  ──replace_checked(TrainConfig(), ..., "train")──► TrainConfig(lr=0.001, ...)  (unknown keys refused)

YAML is read with ``safe_load`` only (:func:`safe_yaml`): a tag like ``!!python/object``
is a one-line ``ValueError``, never constructed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
import typing
from typing import Any

__all__ = ["coerce_value", "replace_checked", "parse_value", "safe_yaml", "plain_containers", "did_you_mean"]



def coerce_value(where: str, value: Any, kind: type, default: Any = None) -> Any:
    """``value`` as the type ``kind`` of config field ``where`` (``"train.lr"``), or ValueError.

    ``bool``: true/false only. ``int``: whole numbers (``8.0`` and ``"8"`` too).
    ``float``: finite numbers (``"1e-3"`` too: YAML 1.1 reads it as text). ``str``: text,
    or a number written as text. ``tuple``: a list as long as ``default``, of numbers.
    """
    def fail(expected: str):
        raise ValueError(f"{where}: expected {expected}, got {value!r}")

    if kind is bool:
        return value if isinstance(value, bool) else fail("true or false")
    if kind in (int, float):
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                fail("an integer" if kind is int else "a number")
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            fail("an integer" if kind is int else "a number")
        if not math.isfinite(number):
            fail("a finite number")
        if kind is int:
            return int(number) if float(number).is_integer() else fail("an integer")
        return float(number)
    if kind is str:
        if isinstance(value, (str, os.PathLike)):
            return str(value)
        return str(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else fail("text")
    if kind is tuple:
        n = len(default) if isinstance(default, tuple) else None
        ok = isinstance(value, (list, tuple)) and (n is None or len(value) == n)
        if not ok or any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in value):
            fail(f"a list of {n} numbers" if n else "a list of numbers")
        floats = isinstance(default, tuple) and any(isinstance(v, float) for v in default)
        return tuple(float(v) for v in value) if floats else tuple(value)
    return value


def replace_checked(default: Any, values: Any, section: str) -> Any:
    """The config section ``default`` (a dataclass) with ``values`` (a mapping, or a dataclass) put in,
    each coerced by :func:`coerce_value`; an unknown key or a non-mapping is a ValueError naming ``section``."""
    if dataclasses.is_dataclass(values):
        values = dataclasses.asdict(values)
    if not isinstance(values, dict):
        raise ValueError(f"config section {section!r} must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(type(default))
    unknown = sorted(map(str, set(values) - set(hints)))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in config section {section!r}{did_you_mean(unknown[0], list(hints))}; valid keys: {sorted(hints)}")
    typed = {k: coerce_value(f"{section}.{k}", v, hints[k], getattr(default, k)) for k, v in values.items()}
    return dataclasses.replace(default, **typed)


def parse_value(key: str, text: str, kind: type) -> Any:
    """The value of ``key=text`` for a field of type ``kind``: YAML, except that a text
    field keeps ``text`` as written (``data.path=010`` stays ``"010"``); empty text is ``""``."""
    value = safe_yaml(text, key) if text else ""
    if kind is str and not isinstance(value, (list, dict)):
        return text
    return value


def safe_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load(text)``; a tag or a syntax error becomes one ValueError naming ``where``."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        if isinstance(e, yaml.constructor.ConstructorError):
            tag = getattr(e, "problem", "") or "a tag"
            raise ValueError(f"{where}: not plain YAML ({tag}{at}): config values are numbers, text, true/false or lists") from None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"{where}: not valid YAML ({problem}{at})") from None


def plain_containers(x: Any) -> Any:
    """``x`` with every tuple a list, nested (what ``yaml.safe_dump`` writes as a plain YAML list)."""
    if isinstance(x, dict):
        return {k: plain_containers(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain_containers(v) for v in x]
    return x


def did_you_mean(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the close matches of ``name`` among ``choices``, else ``""``."""
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
