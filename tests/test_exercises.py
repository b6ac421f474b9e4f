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


# ---- function exercises that know the usual mistakes ---------------------------------------------
# A procedure (a training step, an iterative algorithm, one step of a generator) is checked through
# what it does, and its check names known-wrong variants. A *realistic* mistake is the solution cell
# with one line changed the way a learner gets it wrong: (right, wrong, words the message must contain).

from tacolib.checks import audio as audio_checks  # noqa: E402
from tacolib.checks import text as text_checks  # noqa: E402
from tacolib.checks import train as train_checks  # noqa: E402
from tacolib.checks import vocoder as vocoder_checks  # noqa: E402
from tacolib.checks import wavenet as wavenet_checks  # noqa: E402
from tacolib.checks.core import Variant  # noqa: E402

WITH_VARIANTS = sorted(n for n in FUNCTIONS if REGISTRY[n].variants)
MISTAKES = {
    "train_step": [
        ("    optimizer.zero_grad()\n", "", "no optimizer.zero_grad()"),
        ("    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))\n    optimizer.step()\n",
         "    optimizer.step()\n    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))\n", "unclipped gradients"),
        ("grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))",
         "grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float('inf')))\n"
         "    torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)", "clip_grad_value_"),
        ("    model.train()\n", "", "left in eval mode"),
        ('losses["loss"].backward()', 'losses["mel"].backward()', "a term of the losses dict"),
    ],
    "fast_griffin_lim": [
        ("rebuilt - alpha * previous", "rebuilt + alpha * previous", "added instead of subtracted"),
        ("        previous = rebuilt\n", "        previous = t\n", "remembered as 'previous'"),
        ("alpha = momentum / (1.0 + momentum)", "alpha = momentum", "the momentum itself as the coefficient"),
    ],
    "layer_step": [
        ("x_past = queue.pop(0)  # x[t - d]\n    queue.append(x_t)", "x_past = queue[-1]\n    queue.append(x_t)\n    queue.pop(0)",
         "the newest queued input"),
        ("    queue.append(x_t)\n", "", "the queue must still hold"),
        ("z = torch.tanh(a) * torch.sigmoid(b)", "z = torch.sigmoid(a) * torch.tanh(b)", "the gate swapped"),
        ("x_t @ w[:, :, 1].T + x_past @ w[:, :, 0].T", "x_t @ w[:, :, 0].T + x_past @ w[:, :, 1].T", "two taps swapped"),
        ("(x_t + z @ layer.res.weight[:, :, 0].T + layer.res.bias)", "(z @ layer.res.weight[:, :, 0].T + layer.res.bias)",
         "the residual missing"),
    ],
    "mel_filterbank": [
        ("points = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))", "points = np.linspace(fmin, fmax, n_mels + 2)",
         "evenly spaced in Hz"),
        ("bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft", "bins = np.linspace(0, sample_rate, n_fft // 2 + 1)",
         "up to the sample rate"),
    ],
    "text_batch": [
        (" + [EOS_ID] for text in texts)", " for text in texts)", "no end-of-sequence id"),
        ("PAD_ID, dtype=torch.long)", "EOS_ID, dtype=torch.long)", "padding with the end-of-sequence id"),
        ("key=len, reverse=True)", "key=len)", "sorted shortest first"),
    ],
}
# the knob functions of the variants: at their defaults, the reference's computation written again
KNOBS = {"train_step": train_checks._step, "fast_griffin_lim": vocoder_checks._fast_gl, "layer_step": wavenet_checks._layer_step,
         "mel_filterbank": audio_checks._filterbank, "text_batch": text_checks._text_batch}


def test_every_check_with_variants_has_realistic_mistakes_and_knobs():
    assert set(MISTAKES) == set(WITH_VARIANTS) == set(KNOBS)
    assert all(len(m) >= 2 for m in MISTAKES.values())


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_every_variant_of_a_function_is_recognised(name):
    ex = REGISTRY[name]
    for v in ex.variants:
        assert isinstance(v, Variant)
        with pytest.raises(CheckFailed) as e:
            ex.check(v.impl, verbose=False)
        assert f"Likely cause: your function behaves exactly like tacolib's reference with {v.cause}" in str(e.value), str(e.value)


@pytest.mark.parametrize("name", WITH_VARIANTS)
def test_knob_function_at_its_defaults_is_the_reference(name):
    assert REGISTRY[name].check(KNOBS[name], verbose=False) is KNOBS[name]


@pytest.mark.parametrize("name, k", [(n, k) for n in sorted(MISTAKES) for k in range(len(MISTAKES[n]))])
def test_realistic_mistake_fails_with_a_useful_message(name, k):
    right, wrong, words = MISTAKES[name][k]
    source = SOLUTIONS[name][1]
    assert right in source, f"the solution of {name} changed; update MISTAKES: {right!r} not found"
    with pytest.raises(CheckFailed) as e:
        REGISTRY[name].check(_define(name, source.replace(right, wrong)), verbose=False)
    assert words in str(e.value) and name in str(e.value), str(e.value)


def test_a_learners_exception_is_diagnosed_when_a_variant_raises_it_too():
    """tacolib's loss returns its terms detached: backward() through one of them raises, and the check says why."""
    source = SOLUTIONS["train_step"][1].replace('losses["loss"].backward()', 'losses["gate"].backward()')
    with pytest.raises(CheckFailed) as e:
        REGISTRY["train_step"].check(_define("train_step", source), verbose=False)
    assert "your function raised RuntimeError" in str(e.value) and "Likely cause" in str(e.value)
