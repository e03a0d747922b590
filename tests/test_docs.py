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
    for name, command in main.all_commands().items():
        assert f"dbkit {name}" in readme, f"README does not mention `dbkit {name}`"
        if isinstance(command, click.Group):
            for sub in command.list_commands(None):
                assert f"dbkit {name} {sub}" in readme or f"{name} {sub}" in readme
    for code in ExitCode:
        assert re.search(rf"\|\s*{int(code)}\s*\|", readme), f"exit code {int(code)} undocumented"
    assert "make run" in readme and "make test" in readme


def _numbered_list(text: str, after: str) -> list[str]:
    """The items of the first numbered list (``1. ...``) after the line holding ``after``,
    continuation lines joined."""
    items: list[str] = []
    for line in text[text.index(after) :].splitlines()[1:]:
        match = re.match(r"^\s*(\d+)\.\s+(.*)$", line)
        if match:
            assert int(match[1]) == len(items) + 1, f"list numbering skips at {line!r}"
            items.append(match[2])
        elif items and line.startswith("   ") and line.strip():
            items[-1] += " " + line.strip()
        elif items:
            break
    return items


def _quoted(item: str) -> set[str]:
    """The words of a list item quoted as code (Markdown `x` or reST ``x``)."""
    return {word for quoted in re.findall(r"`+([^`]+)`+", item) for word in quoted.split()}


def test_settings_precedence_is_documented_where_it_is_implemented():
    """README's numbered list and settings.py's docstring name the same sources in the same
    order, one per step; each step is matched whole (so ``DATABASE_URL`` is not found inside
    ``DBKIT_DATABASE_URL``) and a deleted or swapped step fails."""
    import dbkit.settings

    readme = _numbered_list((ROOT / "README.md").read_text(), "The database URL is resolved")
    code = _numbered_list(dbkit.settings.__doc__ or "", "Precedence for the database URL")
    expected = ["--url", "--env", "DBKIT_DATABASE_URL", "DATABASE_URL", "[tool.dbkit]"]
    assert len(readme) == len(code) == len(expected) + 1, (readme, code)
    for in_readme, in_code, source in zip(readme, code, expected, strict=False):
        assert source in _quoted(in_readme), (source, in_readme)
        assert source in _quoted(in_code), (source, in_code)
    assert "embedded default server" in readme[-1] and "embedded default server" in code[-1]
