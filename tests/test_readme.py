"""README's two commands are the ones CI runs; its course map lists every notebook."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def _ci_var(name: str) -> str:
    m = re.search(rf"^{name}='(.+)'$", CI, re.M)
    assert m, f".ci/run defines no {name}"
    return m.group(1)


def _start_here_commands() -> list[str]:
    section = README.split("## Start here", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them():
    commands = _start_here_commands()
    assert len(commands) == 2, commands
    install, test = commands
    assert install.startswith(_ci_var("INSTALL") + " && "), "CI must install exactly as README's first command"
    assert install.endswith("tacolib quickstart"), "README's first command installs and runs the main job"
    assert test == _ci_var("TEST"), "CI must run README's test command"
    assert "pytest" in test


def test_course_map_lists_every_notebook():
    for nb in sorted((ROOT / "solutions").glob("*.ipynb")):
        assert f"`{nb.stem}`" in README, f"{nb.stem} is missing from README's course map"
    rows = re.findall(r"^\| (\d\d) \| `(\w+)`", README, re.M)
    assert [int(n) for n, _ in rows] == list(range(1, 13))


def test_course_map_names_every_module_the_learner_writes():
    from tacolib.checks import load_all

    rows = dict(re.findall(r"^\| \d\d \| `(\w+)` \| [^|]+ \| ([^|]+) \|", README, re.M))
    for name, ex in load_all().items():
        if ex.kind == "module":
            assert f"`{name}" in rows.get(ex.notebook, ""), f"README's course map: the 'you write' column of {ex.notebook} misses {name}"


def test_gpu_recipe_commands_parse_with_the_real_cli():
    """Every `tacolib`/`torchrun -m tacolib` line of README's LJSpeech recipe is a valid command."""
    import shlex

    from tacolib.cli import build_parser

    section = README.split("## Training on LJSpeech with GPUs", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    parser = build_parser()
    checked = 0
    for line in block.strip().splitlines():
        argv = shlex.split(line.split("  #", 1)[0])
        if argv[0].endswith("torchrun"):
            assert "-m" in argv and argv[argv.index("-m") + 1] == "tacolib", line
            argv = argv[argv.index("-m") + 2:]
        elif argv[0].endswith("/tacolib"):
            argv = argv[1:]
        else:
            continue
        args = parser.parse_args(argv)  # argparse exits (fails the test) on a bad option
        if "--set" in argv:
            from tacolib.config import get_config

            get_config(args.preset or "tiny").override(args.set)  # what the CLI's --set does
        checked += 1
    assert checked >= 5, block
