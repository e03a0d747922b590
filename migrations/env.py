"""Alembic environment of this dbkit project: the body lives in dbkit.engine.alembic_env."""

from dbkit.engine.alembic_env import run

run()
