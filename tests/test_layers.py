"""The house rules on imports, read from the source with ``ast`` (CONTRIBUTING.md, "The house").

* Layers: a module imports only from its own layer or lower ones (audio, text and the
  model never import training, evaluation or the command line).
* No import cycle between tacolib's modules (an import inside a function counts too).
* No module imports a private name (``_x``) of another module.

Every module must have a place in :data:`LAYERS`: a new module fails here until it is
placed, which is the moment to decide what it may import. The checker itself is
tested on a small package with one violation of each kind, so these tests cannot
pass by checking nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Lowest first. A module may import from its own layer and the layers before it.
LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["tacolib", "tacolib.symbols", "tacolib.config", "tacolib.config_values", "tacolib.runtime", "tacolib.masks",
                    "tacolib.safe_io", "tacolib.runlock"]),
    ("signal and text", ["tacolib.audio", "tacolib.text", "tacolib.text.*", "tacolib.espeak"]),
    ("boxes", ["tacolib.model", "tacolib.model.*", "tacolib.vocoder", "tacolib.vocoder.*", "tacolib.corpus", "tacolib.corpus.*",
               "tacolib.loss", "tacolib.metrics", "tacolib.schedule", "tacolib.samplers", "tacolib.viz", "tacolib.checkpoint",
               "tacolib.threads", "tacolib.progress", "tacolib.mcd"]),
    ("data", ["tacolib.data", "tacolib.batching"]),
    ("using a model", ["tacolib.evaluate", "tacolib.synthesize", "tacolib.overfit", "tacolib.longform", "tacolib.durations"]),
    ("training", ["tacolib.train", "tacolib.monitor", "tacolib.report"]),
    ("applications", ["tacolib.quickstart", "tacolib.course", "tacolib.cli", "tacolib.__main__", "tacolib.checks", "tacolib.checks.*",
                      "tacolib.widgets", "tacolib.widgets.*"]),
]


def modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``root/package``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(root: Path, package: str) -> dict[str, list[tuple[str, str | None, int]]]:
    """For each module: ``(imported module, imported name or None, line)`` of every import
    of the package, wherever it stands (module level or inside a function)."""
    mods = modules(root, package)
    out: dict[str, list[tuple[str, str | None, int]]] = {}
    for name, path in mods.items():
        found = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == package]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package
                    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))
                if base.split(".")[0] != package:
                    continue
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    found.append((sub, None, node.lineno) if sub in mods else (base, a.name, node.lineno))
        out[name] = found
    return out


def layer_of(module: str, layers) -> int | None:
    for i, (_, patterns) in enumerate(layers):
        for p in patterns:
            if module == p or (p.endswith(".*") and module.startswith(p[:-1])):
                return i
    return None


def layering_violations(root: Path, package: str, layers) -> list[str]:
    """Modules without a layer, and imports of a higher layer."""
    found = imports(root, package)
    problems = [f"{m} has no layer in LAYERS: place it" for m in found if layer_of(m, layers) is None]
    for m, targets in found.items():
        lm = layer_of(m, layers)
        for target, _, line in targets:
            lt = layer_of(target, layers)
            if lm is not None and lt is not None and lt > lm:
                problems.append(f"{m}:{line} imports {target} ({layers[lt][0]}, above {layers[lm][0]})")
    return problems


def private_imports(root: Path, package: str) -> list[str]:
    """``from other_module import _name`` anywhere in the package."""
    return [
        f"{m}:{line} imports {target}.{name}"
        for m, targets in imports(root, package).items()
        for target, name, line in targets
        if name and name.startswith("_") and not name.startswith("__") and target != m
    ]


def cycles(root: Path, package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph = {m: {t for t, _, _ in ts if t != m} for m, ts in imports(root, package).items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# ---- the rules, on tacolib ---------------------------------------------------------------------------


def test_lower_layers_never_import_higher_ones():
    assert layering_violations(ROOT, "tacolib", LAYERS) == []


def test_no_import_cycle():
    assert cycles(ROOT, "tacolib") == []


def test_no_private_name_is_imported_across_modules():
    assert private_imports(ROOT, "tacolib") == []


def test_the_layers_the_issue_names():
    """audio, text and the model import nothing from training, evaluation or the command line."""
    found = imports(ROOT, "tacolib")
    high = ("tacolib.train", "tacolib.evaluate", "tacolib.cli", "tacolib.quickstart", "tacolib.report")
    low = [m for m in found if m in ("tacolib.audio", "tacolib.text") or m == "tacolib.model" or m.startswith("tacolib.model.")]
    assert len(low) >= 10
    assert [(m, t) for m in low for t, _, _ in found[m] if t in high] == []


def test_contributing_maps_every_module():
    """Every module and subpackage has a row (or a mention) in CONTRIBUTING.md's map."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    per_topic = ("checks", "widgets")  # one module per notebook topic: the package's row covers them
    missing = []
    for m, path in modules(ROOT, "tacolib").items():
        parts = m.split(".")
        if path.name == "__init__.py":
            name = f"`{parts[-1]}/`" if len(parts) > 1 else None
        elif len(parts) > 2 and parts[1] in per_topic:
            name = f"`{parts[1]}/`"
        else:
            name = f"`{path.name}`"
        if name and name not in text:
            missing.append(m)
    assert missing == [], f"add these to the module table of CONTRIBUTING.md: {missing}"


# ---- the checker catches what it should ----------------------------------------------------------------


@pytest.fixture()
def bad_package(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("_secret = 1\n\n\ndef f():\n    from pkg import high  # upward, and a cycle\n    return high\n")
    (pkg / "high.py").write_text("from pkg.low import _secret\nfrom . import low\n")
    (pkg / "stray.py").write_text("import pkg.low\n")
    return tmp_path


def test_the_checker_reports_each_kind_of_violation(bad_package):
    layers = [("low", ["pkg", "pkg.low"]), ("high", ["pkg.high"])]
    problems = layering_violations(bad_package, "pkg", layers)
    assert "pkg.stray has no layer in LAYERS: place it" in problems
    assert any(p.startswith("pkg.low:5 imports pkg.high") for p in problems), problems
    assert private_imports(bad_package, "pkg") == ["pkg.high:1 imports pkg.low._secret"]
    assert cycles(bad_package, "pkg") == [["pkg.high", "pkg.low"]]
    found = imports(bad_package, "pkg")
    assert ("pkg.low", None, 2) in found["pkg.high"], "relative imports are resolved"
