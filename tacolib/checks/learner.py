"""The learner's own Tacotron 2: modules saved when their checks pass, assembled in notebook 08.

Each notebook runs in its own kernel, so a class written in notebook 03 is gone by
notebook 08. When a module exercise passes (:mod:`tacolib.checks.modules`), its
exercise cell is saved as a Python file, together with the cells it calls (notebook
04's attention calls the three functions written before it):

    outputs/learner/                 (or $TACOLIB_LEARNER_DIR)
        Encoder.py                   the cell(s), with the imports they need
        Prenet.py  Decoder.py  ...
        passed.json                  which exercises passed, in which notebook, when

In an ipykernel a class's source cannot be read with ``inspect.getsource``, but each
method's code object names the cell's pseudo-file, whose text ``linecache`` holds;
an exercise cell is self-contained (CONTRIBUTING.md), so the whole cell is the source.

:func:`learner_model` builds a ``Tacotron2`` whose boxes are the learner's saved classes
where present and tacolib's otherwise, and says which is whose. Every saved class is
checked again first: one that no longer passes (tacolib changed, the file was edited)
is reported and replaced by tacolib's, never a crash. The learner's modules start from
tacolib's initial weights (the check proved the names match), so initialization,
notebook 08's topic, is the same for both.
"""

from __future__ import annotations

import ast
import datetime as _dt
import inspect
import linecache
import os
import re
import types
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import torch
import torch.nn as nn

from tacolib.checks.core import REGISTRY, CheckFailed, load_all
from tacolib.checks.record import learner_dir, passed, record_pass
from tacolib.runtime import repo_root
from tacolib.safe_io import atomic_write

__all__ = [
    "save_module", "load_saved", "learner_model", "learner_loss",
    "LearnerReport", "run_exercise_cells", "BOXES",
]

#: Where each box of ``Tacotron2`` comes from: (attribute path, exercise name). The
#: decoder's class comes before its parts, which are swapped into it.
BOXES = (
    ("encoder", "Encoder"),
    ("decoder", "Decoder"),
    ("decoder.prenet", "Prenet"),
    ("decoder.attention", "LocationSensitiveAttention"),
    ("decoder.attention_rnn", "ZoneoutLSTMCell"),
    ("decoder.decoder_rnn", "ZoneoutLSTMCell"),
    ("postnet", "Postnet"),
)
LOSS = "Tacotron2Loss"

_HEADER = """\
# Saved by tacolib.checks when your `{name}` passed its check in notebook {notebook} ({time}).
# Notebook 08 rebuilds your Tacotron 2 from files like this one: edit the notebook, not this file.
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
"""
_EXERCISE = re.compile(r"^# EXERCISE: (\w+)\s*$", re.M)


# ---- saving: the source of a class written in a notebook ------------------------------------------


def _functions(obj) -> list[types.FunctionType]:
    """The functions a class defines (methods, static/class methods, properties), or ``[obj]``."""
    if inspect.isfunction(obj):
        return [obj]
    out = []
    for v in vars(obj).values():
        v = v.fget if isinstance(v, property) else getattr(v, "__func__", v)
        if inspect.isfunction(v):
            out.append(v)
    return out


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return names


def _is_cell(filename: str) -> bool:
    """A notebook cell's pseudo-file (ipykernel, or :func:`run_exercise_cells`), not a module on disk."""
    return filename.startswith("<") or "ipykernel_" in filename or not os.path.isfile(filename)


def _source_of(obj) -> tuple[str, str] | None:
    """``(filename, text)``: the whole cell for a notebook object, the object's own source otherwise."""
    fns = _functions(obj)
    if not fns:
        return None
    filename = fns[0].__code__.co_filename
    if _is_cell(filename):
        text = "".join(linecache.getlines(filename))
        return (filename, text) if text.strip() else None
    try:
        return filename, inspect.getsource(obj)
    except (OSError, TypeError):
        return None


def _collect(obj, cells: dict, imports: dict, seen: set) -> None:
    """Add the source of ``obj`` and of what it calls (defined in the notebook) to ``cells``, dependencies first."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    src = _source_of(obj)
    if src is None:
        raise CheckFailed(f"the source code of {getattr(obj, '__name__', obj)!r} is not available")
    fns = _functions(obj)
    home = fns[0].__globals__.get("__name__")
    refs = []
    if isinstance(obj, type):  # base classes: `class Decoder(TacolibDecoder)`
        refs += [(None, b) for b in obj.__bases__ if b is not object]
    for f in fns:
        refs += [(n, f.__globals__[n]) for n in sorted(_names(f.__code__)) if n in f.__globals__]
    g = fns[0].__globals__
    for name, value in refs:
        if isinstance(value, types.ModuleType):
            imports[name] = f"import {value.__name__} as {name}" if name != value.__name__ else f"import {name}"
        elif inspect.isfunction(value) or isinstance(value, type):
            if value is obj:
                continue
            if getattr(value, "__module__", None) == home:  # written in the notebook: include its cell
                if _source_of(value) and _source_of(value)[0] != src[0]:
                    _collect(value, cells, imports, seen)
                continue
            module, qual = getattr(value, "__module__", None), getattr(value, "__qualname__", "")
            aliases = [name] if name else [k for k, v in g.items() if v is value and not k.startswith("_")]
            if module and "<" not in qual and "." not in qual and module != "builtins":
                for alias in aliases:
                    imports[alias] = f"from {module} import {qual}" + (f" as {alias}" if alias != qual else "")
    cells.setdefault(src[0], src[1])


def module_source(ex, cls: type) -> str:
    """The text of ``outputs/learner/<name>.py`` for the learner's class ``cls``."""
    cells: dict[str, str] = {}
    imports: dict[str, str] = {}
    _collect(cls, cells, imports, set())
    now = _dt.datetime.now().isoformat(timespec="seconds")
    parts = [_HEADER.format(name=ex.name, notebook=ex.notebook, time=now)]
    header_imports = {line for line in _HEADER.splitlines() if line.startswith("import ")}
    parts += [line + "\n" for line in sorted(set(imports.values()) - header_imports)]
    for text in cells.values():
        m = _EXERCISE.search(text)
        parts.append(f"\n\n# ---- cell: {m.group(1) if m else 'notebook'} ----\n{_definitions(text).rstrip()}\n")
    return "".join(parts)


def _definitions(text: str) -> str:
    """A cell's imports, functions, classes and constant assignments, in order (what it *defines*).

    Other statements (the check call in the same cell, a plot, a training loop) are left
    out: notebook 08 must rebuild the class, not rerun the cell. A cell Python cannot
    parse (an IPython magic) is kept whole.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(True)
    keep = []
    for node in tree.body:
        constant = isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_literal(node.value)
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or constant:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            keep.append("".join(lines[start - 1 : node.end_lineno]))
    head = [line for line in lines[: tree.body[0].lineno - 1] if line.startswith("#")] if tree.body else []
    return "".join(head) + "\n".join(keep)


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def _exec_source(text: str, filename: str, name: str) -> type:
    ns: dict = {"__name__": f"tacolib_learner_{name}", "__file__": filename}
    exec(compile(text, filename, "exec"), ns)
    cls = ns.get(name)
    if not isinstance(cls, type):
        raise CheckFailed(f"the saved file defines no class named {name}")
    return cls


def save_module(ex, cls: type, verbose: bool = True, folder: Path | None = None) -> Path | None:
    """Save the passing class ``cls`` of module exercise ``ex`` for notebook 08.

    The file is written only after the class, rebuilt from it in a fresh namespace,
    passes the check again: a cell that leans on other notebook variables is reported
    here, not in notebook 08. Returns the path, or None when nothing was saved.
    """
    folder = folder or learner_dir()
    path = folder / f"{ex.name}.py"
    try:
        text = module_source(ex, cls)
        ex.check(_exec_source(text, str(path), ex.name), verbose=False, save=False)
    except Exception as e:
        if verbose:
            print(f"   ⚠ not saved for notebook 08: rebuilt from its cell alone, your {ex.name} fails "
                  f"({type(e).__name__}: {str(e).splitlines()[0]}). Keep the exercise cell self-contained: "
                  "it may use np, torch, nn, F, math, the functions of earlier exercises and its own imports.")
        return None
    try:
        atomic_write(path, text)
    except OSError as e:
        if verbose:
            print(f"   ⚠ not saved for notebook 08: {e}")
        return None
    record_pass(ex.name, ex.notebook, path.name, folder)
    if verbose:
        try:
            shown = path.resolve().relative_to(repo_root())
        except ValueError:
            shown = path
        print(f"   saved for notebook 08: {shown}")
    return path


# ---- loading and assembling ---------------------------------------------------------------


def load_saved(name: str, folder: Path | None = None) -> tuple[type | None, str]:
    """The learner's saved class for exercise ``name`` if it still passes its check.

    Returns ``(cls, note)``; ``cls`` is None (use tacolib's) when nothing is saved, the
    file does not run, or the class no longer passes, and ``note`` says which.
    """
    load_all()
    ex = REGISTRY[name]
    path = (folder or learner_dir()) / f"{name}.py"
    if not path.is_file():
        return None, f"not done yet (notebook {ex.notebook})"
    try:
        cls = _exec_source(path.read_text(), str(path), name)
    except Exception as e:
        return None, f"your saved {path.name} does not run ({type(e).__name__}: {str(e).splitlines()[0]}); rerun notebook {ex.notebook}"
    try:
        got = ex.check(cls, verbose=False, save=False)
    except CheckFailed as e:
        return None, f"your saved {name} no longer passes its check ({str(e).splitlines()[0]}); rerun notebook {ex.notebook}"
    if got is not cls:
        return None, f"not done yet (notebook {ex.notebook})"
    when = passed(folder).get(name, {}).get("time", "")
    return cls, f"yours (notebook {ex.notebook}{', ' + when.replace('T', ' ') if when else ''})"


@dataclass
class LearnerReport:
    """Which box is whose. ``rows``: ``(box, exercise, yours, note)``; ``str()`` prints a table."""

    title: str
    folder: Path
    rows: list = field(default_factory=list)

    @property
    def yours(self) -> list[str]:
        """Boxes built from the learner's classes."""
        return [box for box, _, mine, _ in self.rows if mine]

    @property
    def tacolibs(self) -> list[str]:
        """Boxes that are tacolib's."""
        return [box for box, _, mine, _ in self.rows if not mine]

    def __str__(self) -> str:
        lines = [f"{self.title} (saved modules: {self.folder})"]
        for box, name, mine, note in self.rows:
            lines.append(f"  {box:24s} {name:27s} " + (note if mine else "tacolib's: " + note))
        lines.append(f"{len(self.yours)} of {len(self.rows)} yours.")
        return "\n".join(lines)


def _resolve(model: nn.Module, path: str) -> tuple[nn.Module, str]:
    *parents, attr = path.split(".")
    for p in parents:
        model = getattr(model, p)
    return model, attr


def learner_model(cfg, folder: Path | None = None):
    """Build a ``Tacotron2`` from the learner's saved modules, tacolib's where missing.

    Parameters
    ----------
    cfg : Config
        The model's configuration, as for ``Tacotron2(cfg)``.
    folder : Path, optional
        Default :func:`learner_dir`.

    Returns
    -------
    model : Tacotron2
        With the learner's classes swapped in box by box (:data:`BOXES`) and the same
        initial weights as ``Tacotron2(cfg)`` built from the same torch seed.
    report : LearnerReport
        Which box is whose, and why a box is tacolib's.
    """
    from tacolib.model import Tacotron2

    folder = folder or learner_dir()
    model = Tacotron2(cfg)  # tacolib's boxes and initial weights; consumes the RNG as usual
    init = model.state_dict()
    report = LearnerReport("Your Tacotron 2, box by box", folder)
    loaded: dict[str, tuple] = {}
    with torch.random.fork_rng(devices=[]):
        for box, name in BOXES:
            if name not in loaded:
                loaded[name] = load_saved(name, folder)
            cls, note = loaded[name]
            if cls is not None:
                parent, attr = _resolve(model, box)
                try:
                    setattr(parent, attr, cls(**REGISTRY[name].from_reference(getattr(parent, attr))))
                except Exception as e:
                    cls, note = None, f"building yours failed ({type(e).__name__}: {e})"
            report.rows.append((box, name, cls is not None, note))
    model.load_state_dict(init, strict=True)
    return model, report


def learner_loss(cfg, folder: Path | None = None):
    """The learner's ``Tacotron2Loss`` from notebook 07 (tacolib's when missing), for ``cfg.train``.

    Returns ``(criterion, report)`` like :func:`learner_model`.
    """
    from tacolib.loss import Tacotron2Loss

    folder = folder or learner_dir()
    ref = Tacotron2Loss.from_config(cfg)
    report = LearnerReport("Your loss", folder)
    cls, note = load_saved(LOSS, folder)
    if cls is not None and cfg.train.guided_attention_decay != 1.0:
        cls, note = None, "this config decays the guided-attention weight, which notebook 07's loss does not"
    criterion = ref
    if cls is not None:
        try:
            criterion = cls(**REGISTRY[LOSS].from_reference(ref))
        except Exception as e:
            cls, note = None, f"building yours failed ({type(e).__name__}: {e})"
    report.rows.append(("loss", LOSS, cls is not None, note))
    return criterion, report


# ---- running a notebook's exercise cells outside Jupyter ------------------------------------------


def run_exercise_cells(notebook: str | Path, save: bool = True, verbose: bool = False, namespace: dict | None = None) -> dict:
    """Run a notebook's exercise cells and their checks, in order, as its kernel would.

    Each ``# EXERCISE:`` cell is executed in one namespace (with ``np``, ``torch``, ``nn``,
    ``F``, ``math``), registered in ``linecache`` like an ipykernel cell; then its check
    rebinds the name (the learner's answer, or tacolib's while not done) and, with
    ``save``, saves a passing module. Used by the tests to install ``solutions/``' modules.

    Returns the namespace.
    """
    import math

    import numpy as np
    import torch.nn.functional as F

    load_all()
    path = Path(notebook)
    ns = namespace if namespace is not None else {"np": np, "torch": torch, "nn": nn, "F": F, "math": math}
    ns.setdefault("__name__", "__main__")
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        m = _EXERCISE.search(cell.source) if cell.cell_type == "code" else None
        if m is None:
            continue
        name = m.group(1)
        filename = f"<cell {path.stem}:{i}>"
        linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
        exec(compile(cell.source, filename, "exec"), ns)
        ex = REGISTRY[name]
        ns[name] = ex.check(ns[name], verbose=verbose, save=save) if ex.kind == "module" else ex.check(ns[name], verbose=verbose)
    return ns
