"""The exercise registry and the comparison every check uses (see :mod:`tacolib.checks`)."""


from __future__ import annotations

import copy
import functools
import importlib
import math
import pkgutil
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch

from tacolib.checks.record import record_pass

__all__ = ["CheckFailed", "Exercise", "Variant", "mistake", "exercise", "assert_close", "REGISTRY", "load_all"]


class CheckFailed(AssertionError):
    """The learner's answer disagrees with the reference. The message says where."""


@dataclass
class Variant:
    """A known-wrong version of the reference, and the cause a learner's mistake would share with it.

    For a module exercise (:mod:`tacolib.checks.modules`) ``impl`` replaces the reference
    class's method ``method``; for a function exercise ``impl`` is the whole (wrong)
    function and ``method`` is unused. When the learner's answer behaves *exactly* like
    a variant, the check's message names ``cause`` and suggests ``fix``.
    """

    cause: str
    fix: str
    impl: Callable
    method: str = "forward"


def mistake(cause: str, fix: str, fn: Callable, **knobs) -> Variant:
    """A function exercise's :class:`Variant`: ``fn`` with some knobs turned (``fn(*args, **kwargs, **knobs)``)."""
    return Variant(cause, fix, functools.partial(fn, **knobs), method="")


@dataclass
class Exercise:
    """One notebook exercise: a reference implementation and the inputs to try.

    Attributes
    ----------
    name : str
        The function's name in the notebook (also the ``# EXERCISE:`` marker).
    notebook : str
        The notebook's file stem, e.g. ``"01_signal_to_mel"``.
    reference : callable
        tacolib's answer.
    cases : callable
        Returns a list of ``(args, kwargs)`` to call both functions with.
    compare : callable
        ``compare(got, expected, where)`` raises :class:`CheckFailed` on mismatch.
    observe : callable, optional
        ``observe(fn, *args, **kwargs)`` -> what is compared. Default: ``fn``'s return
        value. A *procedure* (a training step, an iterative algorithm, a step of a
        generator) is checked through what it does: ``observe`` runs it in a harness
        and returns, say, its return values and the parameters it updated.
    variants : list of Variant
        Known-wrong versions of the reference (:func:`mistake`), tried in order when the
        comparison fails: one whose observation equals the learner's names the cause.
    diagnose_on : callable, optional
        Selects the part of an observation that identifies a variant (default: all of
        it), e.g. the updated parameters but not a returned number the learner may
        compute some other way.
    """

    name: str
    notebook: str
    reference: Callable
    cases: Callable[[], Iterable[tuple[tuple, dict]]]
    compare: Callable[[Any, Any, str], None]
    observe: Callable[..., Any] | None = None
    variants: list = field(default_factory=list)
    diagnose_on: Callable[[Any], Any] | None = None

    kind = "function"

    def __call__(self, fn: Callable) -> Callable:
        return self.check(fn)

    def check(self, fn: Callable, verbose: bool = True) -> Callable:
        """Check ``fn``; return it when right, the reference when not written yet."""
        if not callable(fn):
            raise CheckFailed(f"{self.name}: expected a function, got {type(fn).__name__}")
        n = 0
        for i, (args, kwargs) in enumerate(self.cases()):
            where = f"{self.name}, case {i + 1} ({_describe(args, kwargs)})"
            try:
                got = self._observe(fn, args, kwargs)
            except NotImplementedError:
                if verbose:
                    print(f"⏭  {self.name}: not done yet — continuing with tacolib's reference.")
                return self.reference
            except CheckFailed:
                raise
            except Exception as e:
                raise CheckFailed(f"{where}: your function raised {type(e).__name__}: {e}" + self._diagnose(args, kwargs, e)) from e
            expected = self._observe(self.reference, args, kwargs)
            try:
                self.compare(got, expected, where)
            except CheckFailed as e:
                raise CheckFailed(str(e) + self._diagnose(args, kwargs, got)) from None
            n += 1
        if verbose:
            print(f"✅ {self.name}: matches tacolib's reference on {n} cases.")
        record_pass(self.name, self.notebook)
        return fn

    def _observe(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        return self.observe(fn, *args, **kwargs) if self.observe is not None else fn(*args, **kwargs)

    def _diagnose(self, args: tuple, kwargs: dict, got: Any) -> str:
        """``"\nLikely cause: ..."`` when the learner's observation, or exception, is exactly a known variant's; else ``""``."""
        pick = self.diagnose_on or (lambda obs: obs)
        for v in self.variants:
            try:
                theirs = self._observe(v.impl, args, kwargs)
            except Exception as e:  # a variant may fail the way the learner's function failed
                theirs = e
            if isinstance(got, Exception) or isinstance(theirs, Exception):
                same = type(got) is type(theirs) and str(got) == str(theirs)
            else:
                try:
                    self.compare(pick(got), pick(theirs), "variant")
                    same = True
                except Exception:
                    same = False
            if same:
                return f"\nLikely cause: your function behaves exactly like tacolib's reference with {v.cause}. {v.fix}"
        return ""


REGISTRY: dict[str, Exercise] = {}


def exercise(
    name: str,
    notebook: str,
    reference: Callable,
    cases: Callable[[], Iterable[tuple[tuple, dict]]],
    atol: float = 1e-5,
    rtol: float = 1e-4,
    compare: Callable[[Any, Any, str], None] | None = None,
    **spec,
) -> Exercise:
    """Declare an exercise and return its check (call it with the learner's function).

    ``compare`` defaults to :func:`assert_close` with ``atol``/``rtol``; ``spec`` holds
    the optional fields of :class:`Exercise` (``observe``, ``variants``, ``diagnose_on``).
    """
    if name in REGISTRY and REGISTRY[name].notebook != notebook:
        raise ValueError(f"exercise {name!r} is declared twice ({REGISTRY[name].notebook}, {notebook})")
    if compare is None:

        def compare(got, expected, where):
            assert_close(got, expected, where, atol=atol, rtol=rtol)

    ex = Exercise(name, notebook, reference, cases, compare, **spec)
    REGISTRY[name] = ex
    return ex



def load_all() -> dict[str, Exercise]:
    """Import every topic module of ``tacolib.checks`` so that REGISTRY is complete."""
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"tacolib.checks.{mod.name}")
    return REGISTRY


# ---- comparison ------------------------------------------------------------------


def _describe(args: tuple, kwargs: dict) -> str:
    def d(x):
        if isinstance(x, (torch.Tensor, np.ndarray)):
            return f"{type(x).__name__}{tuple(x.shape)}"
        r = repr(x)
        return r if len(r) <= 40 else r[:37] + "..."

    parts = [d(a) for a in args] + [f"{k}={d(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _as_array(x: Any) -> np.ndarray | None:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    return None


def assert_close(got: Any, expected: Any, where: str = "value", atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare nested results (tensors, arrays, numbers, strings, tuples, dicts).

    Raises
    ------
    CheckFailed
        Naming the first mismatch: type, shape, or the worst element with both
        values and the tolerance.
    """
    exp_arr = _as_array(expected)
    if exp_arr is not None:
        got_arr = _as_array(got)
        if got_arr is None:
            raise CheckFailed(f"{where}: expected a {type(expected).__name__} of shape {tuple(exp_arr.shape)}, got {type(got).__name__}")
        if got_arr.shape != exp_arr.shape:
            raise CheckFailed(f"{where}: expected shape {tuple(exp_arr.shape)}, got {tuple(got_arr.shape)}")
        if exp_arr.dtype == bool or got_arr.dtype == bool:
            bad = np.argwhere(got_arr != exp_arr)
            if bad.size:
                idx = tuple(int(i) for i in bad[0])
                raise CheckFailed(f"{where}: {len(bad)} of {exp_arr.size} entries differ; first at {idx}: got {got_arr[idx]}, expected {exp_arr[idx]}")
            return
        g = got_arr.astype(np.float64)
        e = exp_arr.astype(np.float64)
        if np.isnan(g).any() and not np.isnan(e).any():
            raise CheckFailed(f"{where}: your result contains NaN")
        err = np.abs(g - e)
        tol = atol + rtol * np.abs(e)
        bad = err > tol
        if bad.any():
            idx = np.unravel_index(int(np.argmax(np.where(bad, err - tol, -np.inf))), err.shape)
            idx = tuple(int(i) for i in idx)
            raise CheckFailed(
                f"{where}: {int(bad.sum())} of {bad.size} values differ; worst at index {idx}: "
                f"got {g[idx]:.6g}, expected {e[idx]:.6g} (|diff| {err[idx]:.3g} > tolerance {tol[idx]:.3g})"
            )
        return
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            raise CheckFailed(f"{where}: expected a dict with keys {sorted(expected)}, got {sorted(got) if isinstance(got, dict) else type(got).__name__}")
        for k in expected:
            assert_close(got[k], expected[k], f"{where}[{k!r}]", atol, rtol)
        return
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise CheckFailed(f"{where}: expected a {type(expected).__name__} of length {len(expected)}, got {got!r:.80}")
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_close(g, e, f"{where}[{i}]", atol, rtol)
        return
    if isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        if got != expected:
            raise CheckFailed(f"{where}: expected {expected!r}, got {got!r}")
        return
    if isinstance(expected, (int, float)):
        if isinstance(got, (torch.Tensor, np.ndarray)) and np.size(got) == 1:
            got = float(np.asarray(_as_array(got)).reshape(()))
        if not isinstance(got, (int, float, np.number)):
            raise CheckFailed(f"{where}: expected a number, got {type(got).__name__}")
        if not math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol):
            raise CheckFailed(f"{where}: expected {expected!r}, got {got!r} (|diff| {abs(float(got) - float(expected)):.3g})")
        return
    if got != expected:
        raise CheckFailed(f"{where}: expected {expected!r}, got {got!r}")
