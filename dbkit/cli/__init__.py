"""The command line: one Click group, one error boundary, text and ``--json`` renderers.

Each module registers its family of commands on :data:`dbkit.cli.base.main` when imported.
"""

from dbkit.cli import adopt, app, fleet, gate, lint, synth, team  # noqa: F401
from dbkit.cli.base import main

__all__ = ["main"]
