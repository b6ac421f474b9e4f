"""Every exercise check passes on its worked solution and fails on a wrong answer.

The solution of an exercise is the code cell in ``solutions/`` that starts with
``# EXERCISE: <name>``; the check is ``tacolib.checks.REGISTRY[<name>]``. Function
exercises are tested here; module exercises (an ``nn.Module`` class) have their own
tests in ``test_module_exercises.py``, except the fallback of an unfinished exercise,
tested here for both kinds.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.checks import REGISTRY, CheckFailed, load_all

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^# EXERCISE: (\w+)\s*$", re.M)


def _exercise_cells(folder: str) -> dict[str, tuple[str, str]]:
    cells = {}
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            m = MARKER.search(cell.source)
            if m:
                assert m.group(1) not in cells, f"exercise {m.group(1)} appears twice"
                cells[m.group(1)] = (path.stem, cell.source)
    return cells


SOLUTIONS = _exercise_cells("solutions")
STUDENT = _exercise_cells("notebooks")
load_all()
FUNCTIONS = sorted(n for n in SOLUTIONS if n in REGISTRY and REGISTRY[n].kind == "function")


def _define(name: str, source: str):
    import librosa

    ns = {"np": np, "torch": torch, "nn": nn, "F": F, "math": math, "librosa": librosa}
    exec(compile(source, f"<exercise {name}>", "exec"), ns)
    assert name in ns, f"the exercise cell for {name} does not define {name}"
    return ns[name]


def _perturb(x):
    """A plausible wrong answer: every number nudged, shapes kept."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool:
            return ~x
        if not x.is_floating_point():
            return x + 1
        return x + 0.05 * (x.abs().mean() + 1.0)
    if isinstance(x, np.ndarray):
        if x.dtype == bool:
            return ~x
        return x + 0.05 * (np.abs(x).mean() + 1.0) if np.issubdtype(x.dtype, np.floating) else x + 1
    if isinstance(x, bool):
        return not x
    if isinstance(x, (int, float)):
        return x + 0.05 * (abs(x) + 1.0) if isinstance(x, float) else x + 1
    if isinstance(x, str):
        return x + " wrong"
    if isinstance(x, tuple):
        return tuple(_perturb(v) for v in x)
    if isinstance(x, list):
        return [_perturb(v) for v in x]
    if isinstance(x, dict):
        return {k: _perturb(v) for k, v in x.items()}
    raise TypeError(f"cannot perturb {type(x).__name__}")


def test_every_exercise_has_a_solution_and_a_check():
    assert set(SOLUTIONS) == set(REGISTRY), (
        f"checks without a solution cell: {sorted(set(REGISTRY) - set(SOLUTIONS))}; "
        f"solution cells without a check: {sorted(set(SOLUTIONS) - set(REGISTRY))}"
    )
    for name, (nb, _) in SOLUTIONS.items():
        assert REGISTRY[name].notebook == nb, f"{name} is declared for {REGISTRY[name].notebook}, found in {nb}"


def test_every_notebook_has_exercises():
    notebooks = {p.stem for p in (ROOT / "solutions").glob("*.ipynb")}
    with_exercises = {nb for nb, _ in SOLUTIONS.values()}
    assert notebooks <= with_exercises, f"notebooks without exercises: {sorted(notebooks - with_exercises)}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_check_passes_on_solution(name):
    fn = _define(name, SOLUTIONS[name][1])
    assert REGISTRY[name].check(fn, verbose=False) is fn


@pytest.mark.parametrize("name", FUNCTIONS)
def test_check_fails_on_wrong_answer(name):
    fn = _define(name, SOLUTIONS[name][1])

    def wrong(*args, **kwargs):
        return _perturb(fn(*args, **kwargs))

    with pytest.raises(CheckFailed) as e:
        REGISTRY[name].check(wrong, verbose=False)
    # the message says what is wrong: which output, and a value/shape/expected comparison
    msg = str(e.value)
    assert "expected" in msg or "differ" in msg, f"unhelpful check message: {msg!r}"


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_unfinished_exercise_falls_back_to_reference(name, capsys):
    assert name in STUDENT, f"{name} is missing from the learner's notebook"
    fn = _define(name, STUDENT[name][1])
    got = REGISTRY[name].check(fn)
    assert got is REGISTRY[name].reference
    assert "not done yet" in capsys.readouterr().out
