"""Settings resolution: the one place that decides which database and which limits a run uses.

Precedence for the database URL, highest first:

1. the ``--url`` command-line flag (``url=`` argument of :func:`resolve`);
2. the ``DBKIT_DATABASE_URL`` environment variable;
3. the ``DATABASE_URL`` environment variable;
4. ``url`` under ``[tool.dbkit]`` in the project's ``pyproject.toml`` (or the top level of
   ``dbkit.toml``);
5. the embedded default server, started on demand with its data under ``<project>/.dbkit/``.

The other settings (timeouts, retries) come from ``[tool.dbkit]`` / ``dbkit.toml`` with the
defaults below; a migration's revision file may override the two timeouts for itself.

Passwords never leave this module unmasked in anything meant for people: use :func:`mask_url`
(re-exported from :mod:`dbkit.secrets`, which masks the password *field* by parsing).
"""

from __future__ import annotations

import os
import re
import tomllib
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
}

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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_embedded(self) -> bool:
        return self.url is None

    def database_url(self) -> str:
        """The URL to connect to, starting the embedded server when none is configured."""
        if self.url is not None:
            return self.url
        from dbkit.embedded import server as embedded

        return embedded.ensure_running(self.project_dir)

    def display_url(self) -> str:
        if self.url is None:
            return f"embedded server ({self.project_dir / '.dbkit'})"
        return mask_url(self.url)


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
    """``[tool.dbkit]`` from pyproject.toml, then ``dbkit.toml`` on top of it."""
    config: dict[str, Any] = {}
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        config.update(_load_toml(pyproject).get("tool", {}).get("dbkit", {}))
    dbkit_toml = project_dir / "dbkit.toml"
    if dbkit_toml.is_file():
        config.update(_load_toml(dbkit_toml))
    return config


def _load_toml(path: Path) -> dict[str, Any]:
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
) -> Settings:
    """Resolve settings with the precedence documented in this module's docstring."""
    env = os.environ if environ is None else environ
    project = find_project_dir(Path(project_dir) if project_dir else None)
    config = read_project_config(project)

    chosen: tuple[str, str] | None = None
    for source, value in (
        ("--url", url),
        ("DBKIT_DATABASE_URL", env.get("DBKIT_DATABASE_URL")),
        ("DATABASE_URL", env.get("DATABASE_URL")),
        ("[tool.dbkit] url", config.get("url")),
    ):
        if value:
            chosen = (source, value)
            break

    values = {key: config.get(key, default) for key, default in DEFAULTS.items()}
    for key in ("lock_timeout", "statement_timeout"):
        values[key] = validate_duration(str(values[key]), key)
    try:
        values["lock_retries"] = int(values["lock_retries"])
        values["lock_retry_delay"] = float(values["lock_retry_delay"])
        values["lock_wait"] = float(values["lock_wait"])
        values["connect_timeout"] = int(values["connect_timeout"])
        values["perf_threshold"] = float(values["perf_threshold"])
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"[tool.dbkit] has a setting of the wrong type: {exc}") from exc
    extra = {k: v for k, v in config.items() if k not in DEFAULTS and k != "url"}

    if chosen is None:
        return Settings(project_dir=project, extra=extra, **values)
    source, raw_url = chosen
    return Settings(
        project_dir=project,
        url=normalize_url(raw_url, source),
        url_source=source,
        extra=extra,
        **values,
    )


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
