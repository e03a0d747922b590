"""One plan, many databases: the fleet file, its targets, and running a command over them.

* :mod:`dbkit.fleet.targets`: the fleet file (``fleet.toml``), ``${ENV}`` expansion, catalogs;
* :mod:`dbkit.fleet.scheduler`: worker threads within ``--jobs`` and the per-server limit;
* :mod:`dbkit.fleet.run`: the probe, per-target outcomes, the fleet's result and exit code;
* :mod:`dbkit.fleet.commands`: migrate, rollback, status, validate and drift over a fleet.

Callers use ``dbkit.api.fleet_*``.
"""
