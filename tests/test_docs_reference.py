"""The reference pages list what the code has: every command, every error class, every card
field and every environment variable the code reads."""

import dataclasses
import re
from pathlib import Path

import hepml_coffea
from hepml_coffea.artifacts import ModelCard
from hepml_coffea.cli import build_parser

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_command_is_in_the_commands_reference():
    text = (DOCS / "reference" / "commands.md").read_text()
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them there
    missing = [name for name in commands if f"`{name}" not in text]
    assert not missing, missing


def test_every_error_class_is_in_the_errors_reference():
    text = (DOCS / "reference" / "errors.md").read_text()
    errors = [
        name
        for name, value in vars(hepml_coffea).items()
        if isinstance(value, type)
        and issubclass(value, hepml_coffea.HepmlCoffeaError)
        and value is not hepml_coffea.HepmlCoffeaError
    ]
    assert errors and not [name for name in errors if f"`{name}`" not in text]


def test_every_card_field_is_in_the_card_reference():
    text = (DOCS / "reference" / "model-card.md").read_text()
    missing = [f.name for f in dataclasses.fields(ModelCard) if f"`{f.name}`" not in text]
    assert not missing, missing


def test_every_environment_variable_read_is_in_the_reference():
    text = (DOCS / "reference" / "environment.md").read_text()
    source = "\n".join(path.read_text() for path in (DOCS.parent / "hepml_coffea").rglob("*.py"))
    read = set(re.findall(r'"(HEPML_COFFEA_[A-Z_]+)"', source))
    assert read and not [name for name in sorted(read) if f"`{name}" not in text]
