"""The engine: connection, transactions, runner, registry, workflow, preservation, guard."""
