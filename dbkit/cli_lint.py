"""CLI command ``dbkit lint``.

Registered on :data:`dbkit.cli.main` when :mod:`dbkit.cli` imports this module.
"""

from __future__ import annotations

from .cli import main  # noqa: F401
