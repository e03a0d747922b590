"""CLI commands of the CI gate that compare catalogs: verify, drift and show.

Registered on :data:`dbkit.cli.main` when :mod:`dbkit.cli` imports this module.
"""

from __future__ import annotations

from .cli import main  # noqa: F401
