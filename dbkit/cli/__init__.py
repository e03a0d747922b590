"""The command line: one Click group, one error boundary, text and ``--json`` renderers.

Each module of a family of commands registers them on :data:`dbkit.cli.base.main` when
imported; the group imports a module only when one of its commands is used (or listed by
``dbkit --help``), so a command loads what it needs and nothing of the others.
``tests/test_layers.py`` checks that this table names every command of every module.
"""

from dbkit.cli.base import main

main.lazy_commands.update(
    {
        **dict.fromkeys(
            (
                "init",
                "new",
                "migrate",
                "rollback",
                "validate",
                "status",
                "history",
                "baseline",
                "repair",
                "sql",
                "db",
            ),
            "dbkit.cli.app",
        ),
        **dict.fromkeys(("verify", "drift", "show"), "dbkit.cli.gate"),
        "lint": "dbkit.cli.lint",
        "synth": "dbkit.cli.synth",
        "rebase": "dbkit.cli.team",
        "fleet": "dbkit.cli.fleet",
        **dict.fromkeys(("import", "adopt", "info"), "dbkit.cli.adopt"),
    }
)

__all__ = ["main"]
