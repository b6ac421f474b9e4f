"""Keep the course's notebooks in their committed form.

The worked notebooks in ``solutions/`` are the single source. The learner's notebooks
in ``notebooks/`` are generated from them: every region of a code cell between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes ``raise NotImplementedError(...)``,
and every markdown cell tagged ``solution`` (the worked answers to a notebook's
questions) becomes a blank "Your answers" cell. Both are committed without outputs
(see README, "Contributing").

    python tools/notebooks.py build            # normalize solutions/, regenerate notebooks/
    python tools/notebooks.py check            # exit 1 if anything is out of date
    python tools/notebooks.py from-py SRC.py   # jupytext percent script -> solutions/, then build

``tests/test_notebooks_repo.py`` runs ``check``, so a notebook edited in Jupyter and
committed with outputs, or a student notebook that drifted from its solution, fails
CI with a message saying to run ``build``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
EXERCISE = re.compile(r"^# EXERCISE: (\w+)\s*$", re.M)
TODO = 'raise NotImplementedError("Exercise: replace this line with your code, then run the cell.")'

#: A markdown cell with this tag (cell metadata ``tags``) holds answers: solutions/ only.
ANSWERS_TAG = "solution"
ANSWERS_PLACEHOLDER = (
    "### Your answers\n\n"
    "_Write your answers here (double-click this cell to edit), then compare them with the worked answers in this "
    "notebook's copy in `solutions/`._"
)

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs, execution counts and volatile metadata; give cells stable ids."""
    nb = nbformat.from_dict(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i:03d}"
        keep = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
        cell.metadata = nbformat.from_dict(keep)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None) if cell.cell_type != "markdown" else None
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        cell.source = cell.source.rstrip("\n")
    return nb


def strip_solutions(source: str) -> str:
    """Replace each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region by a TODO."""
    out, inside, indent = [], False, ""
    for line in source.split("\n"):
        m = BEGIN.match(line)
        if m and not inside:
            inside, indent = True, m.group(1)
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}{TODO}")
            continue
        if inside:
            if END.match(line):
                inside = False
            continue
        out.append(line)
    if inside:
        raise ValueError("a '# BEGIN SOLUTION' has no matching '# END SOLUTION'")
    return "\n".join(out)


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's notebook: code solutions stripped, answer cells blanked."""
    nb = normalize(nb)
    for cell in nb.cells:
        tags = list(cell.metadata.get("tags", []))
        if ANSWERS_TAG in tags:
            if cell.cell_type != "markdown":
                raise ValueError(f"cell {cell.id}: the {ANSWERS_TAG!r} tag marks a markdown cell of answers; "
                                 "a code cell's solution goes between '# BEGIN SOLUTION' and '# END SOLUTION'")
            cell.source = ANSWERS_PLACEHOLDER
            tags.remove(ANSWERS_TAG)
            cell.metadata = nbformat.from_dict({"tags": tags} if tags else {})
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source:
            cell.source = strip_solutions(cell.source)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def expected_files() -> dict[Path, str]:
    """Every committed notebook's expected text, keyed by path."""
    files: dict[Path, str] = {}
    for src in sorted(SOLUTIONS.glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        files[src] = dumps(normalize(nb))
        files[NOTEBOOKS / src.name] = dumps(student_version(nb))
    return files


def build() -> list[Path]:
    changed = []
    NOTEBOOKS.mkdir(exist_ok=True)
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def check() -> list[str]:
    """Problems that ``build`` would fix, as messages (empty when all is in order)."""
    problems = []
    expected = expected_files()
    for path, text in expected.items():
        rel = path.relative_to(ROOT)
        if not path.exists():
            problems.append(f"{rel} is missing")
        elif path.read_text() != text:
            kind = "has outputs or unnormalized metadata" if path.parent == SOLUTIONS else "drifted from its solution"
            problems.append(f"{rel} {kind}")
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if path not in expected:
            problems.append(f"{path.relative_to(ROOT)} has no solution in solutions/")
    return problems


def from_py(src: Path) -> Path:
    import jupytext

    nb = jupytext.read(src)
    dest = SOLUTIONS / (src.stem + ".ipynb")
    dest.write_text(dumps(normalize(nb)))
    return dest


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "check", "from-py"):
        print(__doc__)
        return 2
    if argv[0] == "from-py":
        for a in argv[1:]:
            print(f"wrote {from_py(Path(a)).relative_to(ROOT)}")
        argv = ["build"]
    if argv[0] == "build":
        for p in build():
            print(f"updated {p.relative_to(ROOT)}")
        return 0
    problems = check()
    for p in problems:
        print(p)
    if problems:
        print("run: python tools/notebooks.py build")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
