"""Settings resolution: the one place that decides which database and which limits a run uses.

A project may name environments, each a table under ``env`` in ``dbkit.toml`` (or
``[tool.dbkit.env.NAME]`` in pyproject.toml)::

    [env.staging]
    url = "${STAGING_DATABASE_URL}"   # ${VAR} is read from the environment when resolving
    lock_timeout = "2s"               # any setting below, for this environment only
    protected = true                  # destructive commands ask for confirmation

The environment is chosen with ``--env NAME`` (``env=`` argument of :func:`resolve`), else
the ``DBKIT_ENV`` environment variable; without either, none is used.

Precedence for the database URL, highest first:

1. the ``--url`` command-line flag (``url=`` argument of :func:`resolve`);
2. the chosen environment's ``url`` (so ``--env production`` never silently runs against a
   ``DATABASE_URL`` left in the shell);
3. the ``DBKIT_DATABASE_URL`` environment variable;
4. the ``DATABASE_URL`` environment variable;
5. ``url`` under ``[tool.dbkit]`` in the project's ``pyproject.toml`` (or the top level of
   ``dbkit.toml``);
6. the embedded default server, started on demand with its data under ``<project>/.dbkit/``.

``scratch_url`` (a project or environment key, ``${VAR}`` expanded) names the server on which
``dbkit verify`` and ``dbkit drift`` create their throwaway database, for a project whose
migrations need what the embedded server lacks (an extension, say); ``verify --url`` and
``drift --scratch-url`` override it for one run.

``version_schema`` (a project or environment key) names the schema of ``alembic_version``.
dbkit always writes the table schema-qualified, so neither a role's ``search_path`` nor a
migration's ``SET search_path`` can make it read or write another one. Unset, each connection
settles it once, when it opens (:meth:`Settings.version_table_schema`, then
:func:`dbkit.engine.database.connect`): the schema of the ``alembic_version`` the session's
``search_path`` finds (an existing database keeps the table it has), else ``public``, else
the session's ``current_schema()``. A fleet tenant's schema always holds its own table.

The other settings (timeouts, retries) come from the chosen environment's table, then
``[tool.dbkit]`` / ``dbkit.toml``, then the defaults below; a migration's revision file may
override the two timeouts for itself. ``protected`` exists only per environment.

Passwords never leave this module unmasked in anything meant for people: use :func:`mask_url`
(re-exported from :mod:`dbkit.secrets`, which masks the password *field* by parsing).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbkit.errors import ProjectError, UsageError
from dbkit.secrets import mask_url

DEFAULTS: dict[str, Any] = {
    "lock_timeout": "5s",
    "statement_timeout": "0",
    "lock_retries": 3,
    "lock_retry_delay": 1.0,
    "lock_wait": 60.0,
    "connect_timeout": 10,
    "perf_threshold": 0.2,
    "check_timeout": "5min",
    "big_table_rows": 1_000_000,
    "ids": "sequential",
    "version_schema": None,
}
#: How ``dbkit new`` numbers a migration: ``sequential`` (0001, 0002, ...) or ``timestamp``
#: (UTC ``YYYYMMDDHHMMSS``, so two branches rarely pick the same id; ``dbkit init --ids``).
ID_STYLES = ("sequential", "timestamp")

#: keys an ``[env.NAME]`` table may hold
ENV_KEYS = ("url", "scratch_url", "protected", *(k for k in DEFAULTS if k != "ids"))
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$")
_POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know before it touches a database."""

    project_dir: Path
    url: str | None = None
    url_source: str = "embedded"
    lock_timeout: str = DEFAULTS["lock_timeout"]
    statement_timeout: str = DEFAULTS["statement_timeout"]
    lock_retries: int = DEFAULTS["lock_retries"]
    lock_retry_delay: float = DEFAULTS["lock_retry_delay"]
    lock_wait: float = DEFAULTS["lock_wait"]
    connect_timeout: int = DEFAULTS["connect_timeout"]
    perf_threshold: float = DEFAULTS["perf_threshold"]
    check_timeout: str = DEFAULTS["check_timeout"]  # budget of one check or key query ("0": none)
    # `dbkit lint` with a database: a check reading all of a relation this big is named
    big_table_rows: int = DEFAULTS["big_table_rows"]
    ids: str = DEFAULTS["ids"]
    env: str | None = None  # the named environment chosen (--env / DBKIT_ENV)
    protected: bool = False  # that environment asks before destructive commands
    extra: dict[str, Any] = field(default_factory=dict)
    #: where each limit came from: "project" (dbkit.toml / [tool.dbkit]) or "default"
    sources: dict[str, str] = field(default_factory=dict)
    # Schema-per-tenant (``dbkit fleet``): the migrations run with ``search_path`` set to this
    # schema, which holds its own ``alembic_version``; the history lives in ``dbkit_<schema>``.
    # None (every single-database command): the connection's own search_path, registry ``dbkit``.
    schema: str | None = None
    # Schemas after the tenant's on its search_path (extensions in ``public``, say).
    shared_schemas: tuple[str, ...] = ()
    # Server for verify's and drift's throwaway databases (``scratch_url`` key); None: their
    # defaults (verify: the embedded server; drift: the live server).
    scratch_url: str | None = None
    #: ``version_schema`` key: the schema of ``alembic_version`` (None: settled per connection;
    #: see :attr:`version_table_schema`)
    version_schema: str | None = DEFAULTS["version_schema"]

    @property
    def version_table_schema(self) -> str | None:
        """The schema qualifying ``alembic_version``: a tenant's own schema, else the
        ``version_schema`` setting; None means "settle it when connecting" (the schema of the
        table the session's search_path finds, else ``public``, else ``current_schema()``)."""
        return self.schema or self.version_schema

    @property
    def offline_version_schema(self) -> str:
        """The schema an offline script (``dbkit sql``, ``alembic --sql``) qualifies
        ``alembic_version`` with: no connection to ask, so ``public`` unless set."""
        return self.version_table_schema or "public"

    @property
    def uses_embedded(self) -> bool:
        return self.url is None

    @property
    def registry_schema(self) -> str:
        """The schema holding dbkit's history tables for this target."""
        return "dbkit" if self.schema is None else f"dbkit_{self.schema}"

    def database_url(self) -> str:
        """The URL to connect to, starting the embedded server when none is configured."""
        if self.url is not None:
            return self.url
        from dbkit.embedded import server as embedded

        return embedded.ensure_running(self.project_dir)

    def limits(self, migration: Any) -> tuple[str, str]:
        """``(lock_timeout, statement_timeout)`` for ``migration``: its revision file's own
        values, else these settings'. Every path that runs or renders a migration asks here."""
        from dbkit.plan.preamble import limits_for

        return limits_for(migration, self.lock_timeout, self.statement_timeout)

    def display_url(self) -> str:
        if self.url is None:
            where = f"embedded server ({self.project_dir / '.dbkit'})"
        else:
            where = mask_url(self.url)
        return where if self.schema is None else f"{where} schema {self.schema}"


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding ``migrations/versions``.

    Falls back to ``start`` itself so that ``dbkit init`` and helpful errors still work there.
    """
    start = (start or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / "migrations" / "versions").is_dir():
            return candidate
    return start


def read_project_config(project_dir: Path) -> dict[str, Any]:
    """``[tool.dbkit]`` from pyproject.toml, then ``dbkit.toml`` on top of it.

    Each file is checked on its own (:func:`check_config`), so an error names the file, the
    key and what was expected.
    """
    config: dict[str, Any] = {}
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        table = _load_toml(pyproject).get("tool", {}).get("dbkit", {})
        config.update(check_config(table, f"{pyproject} [tool.dbkit]"))
    dbkit_toml = project_dir / "dbkit.toml"
    if dbkit_toml.is_file():
        config.update(check_config(_load_toml(dbkit_toml), str(dbkit_toml)))
    return config


#: What each key of ``[tool.dbkit]`` / ``dbkit.toml`` holds: the accepted Python types (as TOML
#: reads them) and how to say it. ``url`` and ``env`` are the keys that are not a DEFAULTS limit.
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "url": ((str,), "a string (postgresql://user@host/db)"),
    "scratch_url": ((str,), "a string (postgresql://user@host/db, or 'embedded')"),
    "env": ((dict,), "a table of environments ([env.NAME])"),
    "lock_timeout": ((str, int), "a duration string such as '5s'"),
    "statement_timeout": ((str, int), "a duration string such as '30s', or '0'"),
    "lock_retries": ((int,), "an integer, 0 or more"),
    "lock_retry_delay": ((int, float), "a number of seconds, 0 or more"),
    "lock_wait": ((int, float), "a number of seconds, 0 or more"),
    "connect_timeout": ((int,), "an integer number of seconds, 0 or more"),
    "perf_threshold": ((int, float), "a number, 0 or more (0.2 = 20%)"),
    "check_timeout": ((str, int), "a duration string such as '60s', or '0'"),
    "big_table_rows": ((int,), "an integer number of rows, 0 or more"),
    "ids": ((str,), "'sequential' or 'timestamp'"),
    "version_schema": ((str,), "a schema name (lowercase letters, digits, _)"),
    "protected": ((bool,), "true or false"),
}
_NOT_NEGATIVE = (
    "lock_retries",
    "lock_retry_delay",
    "lock_wait",
    "connect_timeout",
    "perf_threshold",
    "big_table_rows",
)


def known_keys() -> list[str]:
    """Every key a project's configuration may hold."""
    return sorted({*DEFAULTS, "url", "scratch_url", "env"})


def check_config(
    table: dict[str, Any], where: str, *, known: list[str] | tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Refuse an unknown key (suggesting the nearest known one) and a value of the wrong type
    or out of range, naming ``where`` (the file, and the table in it)."""
    import difflib

    known = list(known) if known is not None else known_keys()
    for key, value in table.items():
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            raise ProjectError(
                f"{where}: unknown setting {key!r}",
                hint=f"did you mean {near[0]!r}?" if near else f"known: {', '.join(known)}",
            )
        types, expected = _KINDS.get(key, ((object,), "any value"))
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ProjectError(
                f"{where}: {key} = {value!r} is {_toml_type(value)}, expected {expected}"
            )
        if key in _NOT_NEGATIVE and value < 0:
            raise ProjectError(f"{where}: {key} = {value!r} is negative, expected {expected}")
        if key in ("lock_timeout", "statement_timeout"):
            validate_duration(str(value), f"{where}: {key}")
    return table


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def config_file(project_dir: Path) -> str:
    """Where the project's settings live, as hints should name it: ``dbkit.toml`` when the
    project has one (or has neither), else ``[tool.dbkit] in pyproject.toml``."""
    if (project_dir / "dbkit.toml").is_file():
        return "dbkit.toml"
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file() and "[tool.dbkit" in pyproject.read_text(
        encoding="utf-8", errors="replace"
    ):
        return "[tool.dbkit] in pyproject.toml"
    return "dbkit.toml"


def _load_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when a project has a configuration file (~5 ms to import)

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read: {exc.strerror}") from exc


def resolve(
    project_dir: Path | str | None = None,
    *,
    url: str | None = None,
    environ: dict[str, str] | None = None,
    env: str | None = None,
    need_url: bool = True,
) -> Settings:
    """Resolve settings with the precedence documented in this module's docstring.

    This is the one place configuration is read: commands that need no database (``dbkit
    sql``, ``dbkit show``, the Alembic path) pass ``need_url=False`` and get the same limits
    without the URL sources being consulted.
    """
    environ_ = os.environ if environ is None else environ
    project = find_project_dir(Path(project_dir) if project_dir else None)
    config = read_project_config(project)
    env_name = env or environ_.get("DBKIT_ENV") or None
    env_config = environment(config, env_name) if env_name else {}
    if env_config:
        check_config(env_config, f"[env.{env_name}]", known=ENV_KEYS)
    if url is not None and not url.strip():
        raise UsageError(
            "--url is empty",
            hint="give a database URL, or leave --url out to use the configured one",
        )

    chosen: tuple[str, str] | None = None
    for source, value in (
        ("--url", url),
        (f"[env.{env_name}] url", env_config.get("url")),
        ("DBKIT_DATABASE_URL", environ_.get("DBKIT_DATABASE_URL")),
        ("DATABASE_URL", environ_.get("DATABASE_URL")),
        ("[tool.dbkit] url", config.get("url")),
    ):
        if value and need_url:
            if not isinstance(value, str):
                raise ProjectError(f"{source} must be a string")
            chosen = (source, _expand(value, source, environ_))
            break

    merged = {**config, **env_config}
    values = {key: merged.get(key, default) for key, default in DEFAULTS.items()}
    sources = {
        key: ("environment" if key in env_config else "project" if key in config else "default")
        for key in DEFAULTS
    }
    for key in ("lock_timeout", "statement_timeout", "check_timeout"):
        values[key] = validate_duration(str(values[key]), key)
    try:
        values["lock_retries"] = int(values["lock_retries"])
        values["lock_retry_delay"] = float(values["lock_retry_delay"])
        values["lock_wait"] = float(values["lock_wait"])
        values["connect_timeout"] = int(values["connect_timeout"])
        values["perf_threshold"] = float(values["perf_threshold"])
        values["big_table_rows"] = int(values["big_table_rows"])
    except (TypeError, ValueError) as exc:
        raise ProjectError(
            f"{config_file(project)} has a setting of the wrong type: {exc}"
        ) from exc
    values["ids"] = validate_id_style(values["ids"])
    if values["version_schema"] is not None:
        values["version_schema"] = validate_version_schema(
            values["version_schema"],
            f"[env.{env_name}] version_schema"
            if "version_schema" in env_config
            else f"{config_file(project)} version_schema",
        )
    protected = env_config.get("protected", False)
    if not isinstance(protected, bool):
        raise ProjectError(f"[env.{env_name}] protected must be true or false")
    extra = {
        k: v
        for k, v in config.items()
        if k not in DEFAULTS and k not in ("url", "scratch_url", "env")
    }
    scratch_url = None
    for source, value in (
        (f"[env.{env_name}] scratch_url", env_config.get("scratch_url")),
        (f"{config_file(project)} scratch_url", config.get("scratch_url")),
    ):
        if value:
            expanded = _expand(value, source, environ_)
            scratch_url = expanded if expanded == "embedded" else normalize_url(expanded, source)
            break

    common = {
        "project_dir": project,
        "extra": extra,
        "env": env_name,
        "protected": protected,
        "sources": sources,
        "scratch_url": scratch_url,
    }
    if chosen is None:
        return Settings(**common, **values)
    source, raw_url = chosen
    return Settings(
        url=normalize_url(raw_url, source),
        url_source=source,
        **common,
        **values,
    )


def environments(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``[env.NAME]`` tables of a project's configuration."""
    envs = config.get("env", {})
    if not isinstance(envs, dict) or not all(isinstance(v, dict) for v in envs.values()):
        raise ProjectError("`env` must hold tables: [env.staging], [env.production], ...")
    return envs


def environment(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The settings of environment ``name``; refuses an unknown name."""
    envs = environments(config)
    if name not in envs:
        known = ", ".join(sorted(envs)) or "none"
        raise UsageError(
            f"unknown environment {name!r} (--env or DBKIT_ENV)",
            hint=f"environments defined in dbkit.toml / [tool.dbkit]: {known}",
        )
    return envs[name]  # its keys and values are checked by check_config


def _expand(value: str, source: str, environ: Any) -> str:
    """``${VAR}`` replaced by the environment variable; an unset one is an error naming it."""

    def variable(match: re.Match) -> str:
        name = match[1]
        if not environ.get(name):
            raise UsageError(
                f"{source} needs the environment variable {name}, which is not set",
                hint=f"export {name}=postgresql://... or pass --url",
            )
        return environ[name]

    return _VARIABLE.sub(variable, value)


def validate_id_style(value: Any) -> str:
    if value not in ID_STYLES:
        raise ProjectError(
            f"ids = {value!r} is not a revision id style",
            hint=f"use one of: {', '.join(ID_STYLES)}",
        )
    return value


def id_style(project_dir: Path) -> str:
    """The project's revision id style (``ids`` in dbkit.toml / [tool.dbkit]), for ``new``."""
    return validate_id_style(read_project_config(project_dir).get("ids", DEFAULTS["ids"]))


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# PostgreSQL truncates identifiers at 63 bytes; the registry schema adds "dbkit_".
MAX_SCHEMA_LENGTH = 63 - len("dbkit_")


def validate_schema(name: str, source: str = "schema") -> str:
    """A tenant schema name dbkit can use unquoted in search_path and its registry's name."""
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
        raise UsageError(
            f"{source} = {name!r} is not a usable schema name",
            hint="use lowercase letters, digits and underscores, starting with a letter or _",
        )
    if len(name) > MAX_SCHEMA_LENGTH or name.startswith("pg_") or name in ("dbkit", "public"):
        raise UsageError(
            f"{source} = {name!r} cannot be a tenant schema",
            hint=f"at most {MAX_SCHEMA_LENGTH} characters, not pg_*, dbkit or public",
        )
    return name


def validate_version_schema(name: str, source: str = "version_schema") -> str:
    """A ``version_schema`` dbkit can write unquoted (``public`` and ``dbkit_*`` allowed)."""
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name) or len(name) > 63:
        raise ProjectError(
            f"{source} = {name!r} is not a usable schema name",
            hint="use lowercase letters, digits and underscores, starting with a letter or _",
        )
    if name.startswith("pg_"):
        raise ProjectError(f"{source} = {name!r} is a system schema name (pg_*)")
    return name


def validate_duration(value: str, name: str) -> str:
    """Accept PostgreSQL duration strings such as ``5s``, ``500ms``, ``2min`` or ``0``."""
    if not _DURATION.match(value):
        raise UsageError(
            f"{name} = {value!r} is not a duration",
            hint="use PostgreSQL units, e.g. '5s', '500ms', '2min', or '0' for no limit",
        )
    return value.strip()


def normalize_url(url: str, source: str = "--url") -> str:
    """Check the URL is a PostgreSQL one and drop an SQLAlchemy ``+driver`` suffix.

    libpq keyword/value strings (``host=... dbname=...``) are accepted unchanged.
    """
    url = url.strip()
    if "://" not in url:
        if "=" in url:
            return url
        raise UsageError(
            f"{source}: {mask_url(url)!r} is not a database URL",
            hint="expected postgresql://user:password@host:port/dbname",
        )
    scheme, rest = url.split("://", 1)
    base_scheme = scheme.split("+", 1)[0].lower()
    if base_scheme not in _POSTGRES_SCHEMES:
        raise UsageError(
            f"{source}: unsupported database URL scheme {scheme!r}: dbkit works with "
            "PostgreSQL only",
            hint="expected postgresql://user:password@host:port/dbname",
        )
    return f"postgresql://{rest}"
