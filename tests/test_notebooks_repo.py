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


def test_answer_cells_are_blanked_in_the_learners_version():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Questionnaire\n\n1. Why?"),
        nbformat.v4.new_markdown_cell("### Answers\n\n1. Because.", metadata={"tags": ["solution", "keep-me"]}),
        nbformat.v4.new_code_cell("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION"),
    ]
    student = nbtool.student_version(nb)
    assert student.cells[0].source == "## Questionnaire\n\n1. Why?"
    assert "Because" not in student.cells[1].source and student.cells[1].source == nbtool.ANSWERS_PLACEHOLDER
    assert student.cells[1].metadata == {"tags": ["keep-me"]}, "the solution tag goes, other tags stay"
    assert "return 1" not in student.cells[2].source
    solution = nbtool.normalize(nb)
    assert solution.cells[1].source == "### Answers\n\n1. Because." and "solution" in solution.cells[1].metadata["tags"]
    nb.cells[2].metadata["tags"] = ["solution"]
    with pytest.raises(ValueError, match="markdown cell of answers"):
        nbtool.student_version(nb)



@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_notebook_has_predictions_a_questionnaire_and_answers(path):
    """3-5 "predict, then run" questions, each before a code cell; a closing questionnaire of 8-15
    questions; the answers in a `solution` markdown cell of solutions/ only, one per question."""
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    predicts = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("**Predict:**")]
    assert 3 <= len(predicts) <= 5, f"{len(predicts)} predict questions"
    for i in predicts:
        assert "Write your guess, then" in " ".join(cells[i].source.split())
        assert any(c.cell_type == "code" for c in cells[i + 1 : i + 4]), f"cell {i}: no code cell follows the prediction"
    quiz = [c for c in cells if c.cell_type == "markdown" and c.source.startswith("## Questionnaire")]
    assert len(quiz) == 1, "one closing questionnaire"
    n_questions = len(re.findall(r"^\d+\. ", quiz[0].source, re.M))
    assert 8 <= n_questions <= 15, f"{n_questions} questions"
    answers = [c for c in cells if "solution" in c.metadata.get("tags", [])]
    assert len(answers) == 1 and answers[0].cell_type == "markdown" and cells.index(answers[0]) > cells.index(quiz[0])
    assert len(re.findall(r"^\d+\. ", answers[0].source, re.M)) == n_questions, "one answer per question"
    assert len(re.findall(r"^- \*", answers[0].source, re.M)) == len(predicts), "one answer per prediction"
    student = nbformat.read(ROOT / "notebooks" / path.name, as_version=4).cells
    assert not any("solution" in c.metadata.get("tags", []) for c in student)
    assert sum(c.source == nbtool.ANSWERS_PLACEHOLDER for c in student) == 1
