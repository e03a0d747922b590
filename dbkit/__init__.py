"""dbkit: schema-first PostgreSQL migrations with paired rollbacks, phases, checks and history."""

__version__ = "0.1.0"
