"""How notebooks are kept in git (see CONTRIBUTING.md), enforced."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks as nbtool  # noqa: E402

EXPECTED = [
    "01_signal_to_mel", "02_text_normalization", "03_encoder", "04_attention", "05_decoder", "06_postnet",
    "07_loss_and_masking", "08_single_batch_overfit", "09_full_training", "10_griffin_lim", "11_wavenet",
    "12_beyond_tacotron2",
]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_notebooks_are_normalized_and_in_sync_with_solutions():
    problems = nbtool.check()
    assert not problems, "\n".join(problems) + "\nrun: python tools/notebooks.py build"


def test_notebook_names_follow_the_course_map():
    names = [p.stem for p in SOLUTIONS]
    assert names, "no notebooks yet"
    assert set(names) <= set(EXPECTED), f"unexpected notebooks: {sorted(set(names) - set(EXPECTED))}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_anatomy(path):
    nb = json.loads(path.read_text())
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"]
    assert md.lstrip().startswith("# "), "the first cell is the title"
    assert "Learning objectives" in md
    assert "What you should see" in md, "a 'What you should see' note before a key figure"
    assert re.search(r"^## Recap", md, re.M), "a recap at the end"
    assert "tacolib.setup(" in code[0] or any("tacolib.setup(" in c for c in code[:2]), "seeds and threads are set first"
    assert any("# EXERCISE:" in c for c in code), "at least one exercise"
    assert any(("assert" in c or "check_" in c) for c in code)


@pytest.mark.parametrize("path", SOLUTIONS + sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_outputs_and_small(path):
    nb = json.loads(path.read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None
    assert path.stat().st_size < 150_000, "notebooks hold no outputs; keep them small"


def test_strip_solutions():
    src = "def f(x):\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n"
    out = nbtool.strip_solutions(src)
    assert "x + 1" not in out and "raise NotImplementedError" in out and out.startswith("def f(x):\n    # YOUR CODE")
    with pytest.raises(ValueError):
        nbtool.strip_solutions("# BEGIN SOLUTION\nx = 1\n")


def test_pytest_executes_every_notebook_with_nbval():
    """`pytest` (README's test command) must collect all 22 notebooks: a testpaths or
    addopts edit that drops them would make CI pass without running the course."""
    tomllib = pytest.importorskip("tomllib", reason="Python >= 3.11 reads pyproject.toml with tomllib")

    opts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert {"tests", "notebooks", "solutions"} <= set(opts["testpaths"])
    assert "--nbval-lax" in opts["addopts"] and "--nbval-current-env" in opts["addopts"]
    for folder in ("notebooks", "solutions"):
        assert sorted(p.stem for p in (ROOT / folder).glob("*.ipynb")) == EXPECTED, folder
