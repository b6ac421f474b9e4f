"""Widgets without a browser: the guards that keep the browser suite honest.

Each widget module's own callbacks are tested headlessly beside it (test_widgets_mel,
test_widgets_attention, test_widgets_audio, test_text, test_overfit). This file checks
what ties them to ``tests/browser`` (run by ``bash tests/browser/run.sh``):

- every notebook that shows a widget is listed in the browser suite, and every widget
  module has a headless test somewhere in ``tests/``;
- Galata's minor version (package-lock.json) matches the installed JupyterLab's;
- the fixture notebooks are what ``make_fixtures.py`` writes, and their callbacks do
  what the browser suite expects: the fixture's plots, the negative control's raises.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BROWSER = ROOT / "tests" / "browser"
SPEC = BROWSER / "widgets.spec.ts"
FIXTURES = BROWSER / "fixtures"
WIDGET_USE = re.compile(r"\btacolib\.widgets\b|\bimport ipywidgets\b|\bfrom ipywidgets\b")


def _code(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _listed_prefixes() -> set[str]:
    return set(re.findall(r"prefix:\s*'(\d\d)'", SPEC.read_text()))


def test_every_widget_notebook_is_in_the_browser_suite():
    listed = _listed_prefixes()
    assert "01" in listed, "could not read the notebook table of tests/browser/widgets.spec.ts"
    missing = [
        p.name
        for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
        if WIDGET_USE.search(_code(p)) and p.name[:2] not in listed
    ]
    assert not missing, (
        f"{missing} show widgets but tests/browser/widgets.spec.ts (COURSE) does not list them: "
        "add an entry saying what must render (sliders, audio, toggles, text box)"
    )


def test_every_widget_module_has_a_headless_test():
    tests = {p: p.read_text() for p in (ROOT / "tests").glob("test_*.py") if p.name != Path(__file__).name}
    untested = []
    for mod in sorted((ROOT / "tacolib" / "widgets").glob("*.py")):
        if mod.name == "__init__.py":
            continue
        name = f"tacolib.widgets.{mod.stem}"
        if not any(re.search(rf"\b{re.escape(name)}\b", text) for text in tests.values()):
            untested.append(name)
    assert not untested, f"{untested} have no headless test in tests/ (drive the callback: set a value, check the result)"


def test_galata_matches_jupyterlab():
    jupyterlab = pytest.importorskip("jupyterlab")
    lock = json.loads((BROWSER / "package-lock.json").read_text())
    galata = lock["packages"]["node_modules/@jupyterlab/galata"]["version"]
    lab_major, lab_minor = jupyterlab.__version__.split(".")[:2]
    g_major, g_minor = galata.split(".")[:2]
    assert (int(g_major), g_minor) == (int(lab_major) + 1, lab_minor), (
        f"Galata {galata} (tests/browser/package-lock.json) does not drive JupyterLab {jupyterlab.__version__}: "
        f"pin @jupyterlab/galata ~{int(lab_major) + 1}.{lab_minor}.x and rerun npm install"
    )


def test_browser_config_uses_the_system_chromium():
    config = (BROWSER / "playwright.config.ts").read_text()
    assert "/usr/bin/chromium" in config and "executablePath" in config
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        assert flag in config
    assert "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1" in (BROWSER / "run.sh").read_text()


def test_fixture_notebooks_are_up_to_date(tmp_path, monkeypatch):
    # make_fixtures.py writes next to itself: run a copy in a temporary folder.
    script = tmp_path / "make_fixtures.py"
    script.write_text((FIXTURES / "make_fixtures.py").read_text())
    runpy.run_path(str(script), run_name="__main__")
    written = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    assert written == sorted(p.name for p in FIXTURES.glob("*.ipynb")), "fixtures/ and make_fixtures.py disagree"
    for name in written:
        assert (tmp_path / name).read_text() == (FIXTURES / name).read_text(), (
            f"tests/browser/fixtures/{name} is stale: run python tests/browser/fixtures/make_fixtures.py"
        )


def _run_cells(nb_path: Path, monkeypatch) -> dict:
    """Execute a fixture's code cells in-process, with display a no-op (tagged cells must raise)."""
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: None)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns: dict = {}
    for cell in nbformat.read(nb_path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if "raises-exception" in cell.metadata.get("tags", []):
            with pytest.raises(Exception, match="negative control"):
                exec(compile(cell.source, str(nb_path), "exec"), ns)
        else:
            exec(compile(cell.source, str(nb_path), "exec"), ns)
    return ns


@pytest.mark.parametrize("name, raises", [("widget_fixture.ipynb", False), ("negative_control.ipynb", True)])
def test_fixture_callbacks(name, raises, monkeypatch):
    import matplotlib.pyplot as plt

    ns = _run_cells(FIXTURES / name, monkeypatch)
    slider = ns["w"].children[0]
    assert slider.value == 3
    ns["show"](3)  # the initial plot works in both
    if raises:
        with pytest.raises(RuntimeError, match="negative control"):
            ns["show"](4)
    else:
        ns["show"](4)
    plt.close("all")
