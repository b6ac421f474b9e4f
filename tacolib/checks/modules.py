"""Module exercises: the learner writes a box of the model as an ``nn.Module``.

A function exercise (:class:`tacolib.checks.Exercise`) compares return values. A module
exercise compares a whole box, the way a careful reviewer would:

1. build tacolib's module and the learner's with the same constructor arguments (tiny
   sizes) and load tacolib's ``state_dict`` into the learner's, strictly: parameter
   names and shapes must be the documented ones, so tacolib's weights fit;
2. run both on fixed inputs (padded batches of different lengths) in each **stage**:
   eval mode, training mode without dropout, training mode with dropout drawn from
   the same seed, ...;
3. compare the outputs, then the gradients of a fixed random projection of the
   outputs with respect to every input and every parameter, then the buffers
   (BatchNorm's running statistics);
4. at the first difference, run known-wrong **variants** of the reference (mask not
   applied, BatchNorm after the ReLU, ...): when the learner's module behaves exactly
   like one of them, the message names the likely cause and the fix.

A class whose ``__init__`` or ``forward`` still raises ``NotImplementedError`` is not done
yet: the check says so and hands back tacolib's class. A class that passes is handed
back and saved (:mod:`tacolib.checks.learner`) so that notebook 08 can assemble the
learner's own Tacotron 2 from it.

Usage in a notebook::

    class Postnet(nn.Module):
        ...  # the learner's code
    Postnet = check_postnet(Postnet)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn as nn

from tacolib.checks.core import REGISTRY, CheckFailed, Variant, assert_close
from tacolib.checks.record import record_pass

__all__ = ["Case", "Stage", "Variant", "variant", "ModuleExercise", "module_exercise", "SEED"]

#: Every run of a stage starts from this torch seed: dropout and zoneout masks drawn by
#: the learner's module and by tacolib's are then the same random numbers.
SEED = 0


@dataclass
class Case:
    """One set of fixed inputs: ``inputs`` are passed to the stage's ``run`` by name."""

    desc: str
    inputs: dict


@dataclass
class Stage:
    """One way of running both modules.

    Attributes
    ----------
    name : str
        Shown in messages, e.g. ``"training mode, dropout 0"``.
    train : bool
        ``module.train(train)`` before the run.
    kwargs : dict
        Constructor arguments overriding the exercise's (e.g. ``{"dropout": 0.0}``).
    setup : callable, optional
        ``setup(module)`` on both modules before the run (e.g. switch a flag).
    run : callable, optional
        ``run(module, **inputs)`` -> outputs; default ``module(**inputs)``.
    cases : callable, optional
        Returns this stage's :class:`Case` list; default: the exercise's.
    hint : str
        Said when this stage is the first to fail and no variant explains it.
    """

    name: str
    train: bool = False
    kwargs: dict = field(default_factory=dict)
    setup: Callable[[nn.Module], None] | None = None
    run: Callable[..., Any] | None = None
    cases: Callable[[], list[Case]] | None = None
    hint: str = ""


def variant(cause: str, fix: str, fn: Callable, method: str = "forward", **knobs) -> Variant:
    """A :class:`Variant` whose method calls ``fn(self, *args, **kwargs, **knobs)``."""

    def impl(self, *args, **kwargs):
        return fn(self, *args, **kwargs, **knobs)

    return Variant(cause, fix, impl, method)


@dataclass
class _Observation:
    out: Any
    grads: dict | None  # "input x" / "parameter y" -> gradient; None: no gradient reached the inputs
    buffers: dict


def _leaves(x: Any, prefix: str) -> list[tuple[str, torch.Tensor]]:
    """Floating-point tensors inside nested tuples/lists/dicts, with readable names."""
    if isinstance(x, torch.Tensor):
        return [(prefix, x)] if x.is_floating_point() else []
    if isinstance(x, dict):
        return [leaf for k, v in x.items() for leaf in _leaves(v, f"{prefix}[{k!r}]")]
    if isinstance(x, (tuple, list)):
        return [leaf for i, v in enumerate(x) for leaf in _leaves(v, f"{prefix}[{i}]")]
    return []


def _call(module: nn.Module, **inputs):
    return module(**inputs)


@dataclass
class ModuleExercise:
    """One notebook exercise whose answer is an ``nn.Module`` class.

    Attributes
    ----------
    name : str
        The class's name in the notebook (also the ``# EXERCISE:`` marker).
    notebook : str
        The notebook's file stem.
    reference : type
        tacolib's class.
    kwargs : dict
        Constructor arguments for the check (tiny sizes).
    cases : callable
        Returns the default list of :class:`Case`.
    stages : list of Stage
    variants : list of Variant
        Known-wrong versions, tried in order when a check fails.
    from_reference : callable
        ``from_reference(module)`` -> constructor arguments that rebuild a module like
        the given tacolib one (used to swap the learner's box into a model).
    attributes : dict
        Attribute name -> type the learner's instance must have (tacolib's code reads them).
    grad_outputs : callable, optional
        Selects the outputs whose projection is differentiated (default: all of them).
    atol, rtol : float
        Tolerances for outputs, gradients and buffers.
    keep : bool
        Save a passing class for notebook 08 (False: a box notebook 08 does not use,
        such as WaveNet's layer).
    """

    name: str
    notebook: str
    reference: type
    kwargs: dict
    cases: Callable[[], list[Case]]
    stages: list
    variants: list = field(default_factory=list)
    from_reference: Callable[[nn.Module], dict] | None = None
    attributes: dict = field(default_factory=dict)
    grad_outputs: Callable[[Any], Any] | None = None
    atol: float = 1e-5
    rtol: float = 1e-4
    keep: bool = True

    kind = "module"

    def __call__(self, cls: type) -> type:
        return self.check(cls)

    # ---- the check ----------------------------------------------------------------
    def check(self, cls: type, verbose: bool = True, save: bool = True) -> type:
        """Check the class ``cls``; return it when right, tacolib's class when not written yet.

        On success and with ``save``, the class's source is saved for notebook 08
        (:func:`tacolib.checks.learner.save_module`).
        """
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise CheckFailed(f"{self.name}: expected a class deriving from nn.Module, got {cls!r:.80}")
        try:
            if cls is self.reference:  # the check cell run twice after a fallback
                raise NotImplementedError
            stages = self._compare_all(cls)
        except NotImplementedError:
            if verbose:
                print(f"⏭  {self.name}: not done yet — continuing with tacolib's reference.")
            return self.reference
        if verbose:
            print(f"✅ {self.name}: matches tacolib's {self.reference.__name__} (outputs and gradients) in "
                  f"{len(stages)} setting{'s' if len(stages) > 1 else ''}: {'; '.join(stages)}.")
        if save and self.keep:
            from tacolib.checks.learner import save_module

            save_module(self, cls, verbose=verbose)
        elif save:
            record_pass(self.name, self.notebook)  # passed; nothing downstream rebuilds it
        return cls

    def _compare_all(self, cls: type) -> list[str]:
        for si, stage in enumerate(self.stages):
            for ci, case in enumerate((stage.cases or self.cases)()):
                where = f"{self.name}, {stage.name}, case {ci + 1} ({case.desc})"
                mine = self._build(cls, stage, where)
                ref = self._build_reference(stage)
                self._load(mine, ref)
                self._check_attributes(mine)
                state = copy.deepcopy(ref.state_dict())  # before a training-mode pass updates running statistics
                expected = self._observe(ref, stage, case)
                try:
                    got = self._observe(mine, stage, case)
                except (NotImplementedError, CheckFailed):
                    raise
                except Exception as e:
                    raise CheckFailed(f"{where}: your module raised {type(e).__name__}: {e}") from e
                try:
                    self._compare(got, expected, where)
                except CheckFailed as e:
                    raise CheckFailed(str(e) + self._diagnose(stage, case, state, got, first_stage=si == 0)) from None
        return [s.name for s in self.stages]

    # ---- building -------------------------------------------------------------------
    def _kwargs(self, stage: Stage) -> dict:
        return {**self.kwargs, **stage.kwargs}

    def _build(self, cls: type, stage: Stage, where: str) -> nn.Module:
        kw = self._kwargs(stage)
        try:
            with torch.random.fork_rng(devices=[]):
                return cls(**kw)
        except (NotImplementedError, CheckFailed):
            raise
        except Exception as e:
            args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
            raise CheckFailed(f"{where}: {cls.__name__}({args}) raised {type(e).__name__}: {e}") from e

    def _build_reference(self, stage: Stage, cls: type | None = None) -> nn.Module:
        """tacolib's module (or a subclass: a variant), same weights every time, norms made non-trivial."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1234)
            m = (cls or self.reference)(**self._kwargs(stage))
            g = torch.Generator().manual_seed(5678)
            for mod in m.modules():  # BatchNorm at init is the identity in eval mode: make it matter
                if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                    with torch.no_grad():
                        mod.running_mean.copy_(0.3 * torch.randn(mod.num_features, generator=g))
                        mod.running_var.copy_(0.5 + torch.rand(mod.num_features, generator=g))
                        mod.weight.copy_(1.0 + 0.3 * torch.randn(mod.num_features, generator=g))
                        mod.bias.copy_(0.2 * torch.randn(mod.num_features, generator=g))
        return m

    def _load(self, mine: nn.Module, ref: nn.Module) -> None:
        """Strict ``load_state_dict``, with a message listing every name or shape that differs."""
        got, exp = mine.state_dict(), ref.state_dict()
        missing = [f"{k} {tuple(v.shape)}" for k, v in exp.items() if k not in got]
        unexpected = [f"{k} {tuple(v.shape)}" for k, v in got.items() if k not in exp]
        shapes = [f"{k}: yours {tuple(got[k].shape)}, tacolib's {tuple(v.shape)}" for k, v in exp.items() if k in got and got[k].shape != v.shape]
        if missing or unexpected or shapes:
            lines = [f"{self.name}: your module's parameters and buffers must have tacolib's names and shapes, "
                     "so that tacolib's weights load into it (load_state_dict, strict):"]
            lines += [f"  missing (tacolib has them, yours does not): {', '.join(missing)}"] if missing else []
            lines += [f"  unexpected (yours has them, tacolib does not): {', '.join(unexpected)}"] if unexpected else []
            lines += [f"  different shapes: {'; '.join(shapes)}"] if shapes else []
            lines.append("Use the attribute names and layer sizes of the docstring.")
            raise CheckFailed("\n".join(lines))
        mine.load_state_dict(exp, strict=True)

    def _check_attributes(self, mine: nn.Module) -> None:
        for attr, kind in self.attributes.items():
            if not isinstance(getattr(mine, attr, None), kind):
                have = type(getattr(mine, attr)).__name__ if hasattr(mine, attr) else "nothing"
                raise CheckFailed(
                    f"{self.name}: your module needs an attribute `{attr}` ({kind.__name__}, see the docstring): "
                    f"tacolib's code reads it. Found: {have}."
                )

    # ---- running and comparing ----------------------------------------------------------
    def _observe(self, module: nn.Module, stage: Stage, case: Case) -> _Observation:
        module.train(stage.train)
        if stage.setup is not None:
            stage.setup(module)
        inputs = copy.deepcopy(case.inputs)
        leaves = _leaves(inputs, "")
        for _, t in leaves:
            t.requires_grad_(True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            out = (stage.run or _call)(module, **inputs)
        targets = _leaves(self.grad_outputs(out) if self.grad_outputs is not None else out, "output")
        terms = []
        for i, (_, t) in enumerate(targets):
            if t.requires_grad:
                proj = torch.randn(t.shape, generator=torch.Generator().manual_seed(100 + i), dtype=t.dtype)
                terms.append((t * proj.to(t.device)).sum())
        grads = None
        params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if terms and (leaves or params):
            wrt = [t for _, t in leaves] + [p for _, p in params]
            names = [f"input {_pretty(n)}" for n, _ in leaves] + [f"parameter {n}" for n, _ in params]
            gs = torch.autograd.grad(sum(terms), wrt, allow_unused=True)
            grads = {n: (g if g is not None else torch.zeros_like(w)) for n, g, w in zip(names, gs, wrt)}
        buffers = {n: b.detach().clone() for n, b in module.named_buffers()}
        return _Observation(_detach(out), grads, buffers)

    def _compare(self, got: _Observation, expected: _Observation, where: str) -> None:
        """Raise :class:`CheckFailed` at the first tensor that differs: outputs, gradients, buffers."""
        assert_close(got.out, expected.out, f"{where}: output", self.atol, self.rtol)
        if expected.grads is not None:
            if got.grads is None:
                raise CheckFailed(
                    f"{where}: no gradient flows back through your output (did you use .detach(), .item(), "
                    "torch.no_grad() or build a new tensor from values?)"
                )
            for name, g in expected.grads.items():
                assert_close(got.grads[name], g, f"{where}: gradient w.r.t. {name}", self.atol, self.rtol)
        for name, b in expected.buffers.items():
            assert_close(got.buffers[name], b, f"{where}: buffer {name} after the forward pass", self.atol, self.rtol)

    def _diagnose(self, stage: Stage, case: Case, state: dict, got: _Observation, first_stage: bool) -> str:
        """Name the known-wrong variant the learner's module behaves like, if any (``state``: the weights both started from)."""
        for v in self.variants:
            cls = type(f"{self.reference.__name__}Variant", (self.reference,), {v.method: v.impl})
            try:
                m = self._build_reference(stage, cls)
                m.load_state_dict(state, strict=True)
                self._compare(self._observe(m, stage, case), got, "variant")
            except Exception:
                continue
            return f"\nLikely cause: your module behaves exactly like tacolib's {self.reference.__name__} with {v.cause}. {v.fix}"
        if stage.hint and not first_stage:
            return f"\nHint: the earlier settings ({', '.join(s.name for s in self.stages[: self.stages.index(stage)])}) agree. {stage.hint}"
        return ""


def _pretty(name: str) -> str:
    """``"['state']['h_att']"`` -> ``"state['h_att']"``: the first key is the argument's name."""
    if name.startswith("['"):
        end = name.index("']")
        return name[2:end] + name[end + 2 :]
    return name


def _detach(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, dict):
        return {k: _detach(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_detach(v) for v in x)
    return x


def module_exercise(name: str, notebook: str, reference: type, **spec) -> ModuleExercise:
    """Declare a module exercise (see :class:`ModuleExercise`) and return its check."""
    if name in REGISTRY and REGISTRY[name].notebook != notebook:
        raise ValueError(f"exercise {name!r} is declared twice ({REGISTRY[name].notebook}, {notebook})")
    ex = ModuleExercise(name, notebook, reference, **spec)
    REGISTRY[name] = ex
    return ex
