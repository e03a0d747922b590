"""The docs say what the code does: the command reference is generated, the README complete."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click

from dbkit.cli.app import main
from dbkit.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts/cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_reference_is_up_to_date():
    generator = load_generator()
    assert generator.TARGET.read_text() == generator.render(), (
        "docs/commands.md is out of date: run `make docs`"
    )


def test_readme_names_every_command_and_exit_code():
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert f"dbkit {name}" in readme, f"README does not mention `dbkit {name}`"
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert f"dbkit {name} {sub}" in readme or f"{name} {sub}" in readme
    for code in ExitCode:
        assert re.search(rf"\|\s*{int(code)}\s*\|", readme), f"exit code {int(code)} undocumented"
    assert "make run" in readme and "make test" in readme


def test_settings_precedence_is_documented_where_it_is_implemented():
    readme = (ROOT / "README.md").read_text()
    order = ["--url", "DBKIT_DATABASE_URL", "DATABASE_URL", "[tool.dbkit]"]
    positions = [readme.find(item) for item in order]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
