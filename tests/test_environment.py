"""environment.yml (conda) and pyproject.toml (pip) install the same packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pysoundfile": "soundfile"}  # conda-forge name -> PyPI name


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), 1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip_section = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        else:
            conda.add(CONDA_NAMES.get(_name(dep), _name(dep)))
    conda -= {"python", "pip", "libsndfile"}
    assert "libsndfile" in {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    assert conda | pip_section == pip_names, (
        f"only in pyproject: {sorted(pip_names - conda - pip_section)}; only in environment.yml: {sorted((conda | pip_section) - pip_names)}"
    )


def test_torch_is_pinned_to_the_cpu_wheel_everywhere():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]
    assert "torch==2.13.0" in (ROOT / "environment.yml").read_text()
