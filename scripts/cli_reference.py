"""Write docs/commands.md from the CLI's own --help texts, so the reference cannot drift.

Run `python scripts/cli_reference.py` (or `make docs`) after changing a command;
tests/test_docs.py fails while the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "commands.md"

HEADER = """\
# Command reference

Generated from `dbkit --help` by `scripts/cli_reference.py`; do not edit by hand
(`make docs` rewrites it, and a test fails when it is out of date).
"""


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name in group.list_commands(None):  # imports each lazily registered command
        command = group.get_command(None, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from dbkit.cli.app import main

    runner = CliRunner()
    parts = [HEADER]

    def help_of(args: list[str]) -> str:
        result = runner.invoke(main, [*args, "--help"], prog_name="dbkit", terminal_width=100)
        if result.exit_code != 0:
            raise SystemExit(f"dbkit {' '.join(args)} --help failed: {result.output}")
        return result.output.rstrip()

    parts.append(f"## dbkit\n\n```\n{help_of([])}\n```\n")
    for path, _command in _commands(main):
        title = " ".join(("dbkit", *path))
        parts.append(f"## {title}\n\n```\n{help_of(list(path))}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)}")
