"""CI runs what README tells a new user to run, in a fresh virtual environment (issue 14, item 2)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The indented shell commands of README's "Two commands" section, without trailing comments."""
    section = (
        ROOT.joinpath("README.md").read_text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    )
    return [
        line.split("#", 1)[0].strip() for line in section.splitlines() if re.match(r"^ {4}\S", line)
    ]


def test_ci_runs_the_readme_commands_in_a_fresh_virtual_environment():
    commands = readme_commands()
    assert len(commands) == 2 and all(c.startswith("pip install -e ") for c in commands)
    ci = [line.strip() for line in ROOT.joinpath(".ci", "run").read_text().splitlines()]
    assert any(re.fullmatch(r'python3? -m venv "\$venv"', line) for line in ci)
    assert '. "$venv/bin/activate"' in ci
    for command in commands:
        assert any(line.replace(" --quiet", "") == command for line in ci), command
    # nothing is installed into the base interpreter before the venv exists
    venv_line = next(i for i, line in enumerate(ci) if "-m venv" in line)
    assert not any("pip install" in line for line in ci[:venv_line])
