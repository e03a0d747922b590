"""The fleet file: which databases (and tenant schemas) one plan is applied to.

``fleet.toml`` in the project (or ``--fleet FILE``)::

    [fleet]
    jobs = 8          # default --jobs: targets run at the same time
    per_server = 4    # never more connections than this to one server (host and port)
    shared_schemas = ["public"]  # after a tenant's schema on its search_path (extensions)

    [[targets]]
    name = "eu-1"
    url = "postgresql://app:${EU_PASSWORD}@eu1.db.example.com/app"
    groups = ["eu", "canary"]

    [[targets]]
    name = "acme"
    url = "${TENANTS_URL}"
    schema = "acme"             # schema per tenant: search_path and its own registry

    [[catalogs]]                # targets listed by a query on a catalog database
    url = "${CATALOG_URL}"
    query = "SELECT name, schema, groups FROM tenants WHERE active ORDER BY name"
    default_url = "${TENANTS_URL}"  # for rows without a url column (or a NULL one)

    [groups]
    canary = ["eu-1", "acme"]   # groups may also be listed here, by target name

``${NAME}`` is replaced by the environment variable (``${NAME:-default}`` with a default; ``$$``
is a literal ``$``). Everything in the file is checked before anything is connected to: an
unknown key, a missing variable, a bad URL or schema name, two targets with one name or naming
the same database is a malformed fleet file (exit 2). A catalog query's rows are checked the
same way once it has run, before any target is connected to.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from dbkit.errors import ProjectError
from dbkit.secrets import mask_url
from dbkit.settings import normalize_url, validate_schema

FLEET_FILE = "fleet.toml"
DEFAULT_JOBS = 4
DEFAULT_PER_SERVER = 4

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$")
_SHARED = re.compile(r"^[a-z_][a-z0-9_]*$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_FLEET_KEYS = {"jobs", "per_server", "shared_schemas"}
_TARGET_KEYS = {"name", "url", "schema", "groups"}
_CATALOG_KEYS = {"url", "query", "default_url", "groups"}
_TOP_KEYS = {"fleet", "targets", "catalogs", "groups"}


class FleetFileError(ProjectError):
    """The fleet file (or a catalog's rows) cannot be used; nothing was connected to."""


@dataclass(frozen=True)
class Target:
    """One database, or one tenant schema in a database, the plan is applied to."""

    name: str
    url: str
    schema: str | None = None
    groups: tuple[str, ...] = ()
    origin: str = ""  # where it was declared: "fleet.toml [[targets]] #3" or "catalog #1 row 7"

    @cached_property
    def server(self) -> str:
        """host:port, the unit of the per-server connection limit."""
        host, port, _ = address(self.url)
        return f"{host}:{port}"

    @property
    def display(self) -> str:
        where = mask_url(self.url)
        return where if self.schema is None else f"{where} schema {self.schema}"

    def identity(self) -> tuple[str, str, str, str | None]:
        host, port, dbname = address(self.url)
        return host, port, dbname, self.schema


@dataclass(frozen=True)
class Catalog:
    url: str
    query: str
    default_url: str | None
    groups: tuple[str, ...]
    origin: str


@dataclass
class FleetSpec:
    """A parsed, checked fleet file (catalog queries not run yet)."""

    path: Path
    targets: list[Target] = field(default_factory=list)
    catalogs: list[Catalog] = field(default_factory=list)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    jobs: int = DEFAULT_JOBS
    per_server: int = DEFAULT_PER_SERVER
    shared_schemas: tuple[str, ...] = ()


def address(url: str) -> tuple[str, str, str]:
    """(host, port, dbname) of a URL or key=value string, with libpq's defaults filled in."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - reported as a bad URL by the caller
        return ("?", "?", "?")
    host = str(info.get("host") or os.environ.get("PGHOST") or "/var/run/postgresql")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    user = str(info.get("user") or os.environ.get("PGUSER") or "")
    dbname = str(info.get("dbname") or os.environ.get("PGDATABASE") or user)
    return host, port, dbname


def expand(text: str, environ: dict[str, str], where: str) -> str:
    """Replace ``${NAME}`` / ``${NAME:-default}`` / ``$$`` in ``text``."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise FleetFileError(
            f"{where}: environment variable {name} is not set",
            hint=f"export {name}=..., or write ${{{name}:-default}}",
        )

    return _VARIABLE.sub(replace, text)


def find_fleet_file(project_dir: Path, given: str | Path | None) -> Path:
    path = Path(given) if given else project_dir / FLEET_FILE
    if not path.is_file():
        raise FleetFileError(
            f"no fleet file at {path}",
            hint=f"write {FLEET_FILE} in the project (see docs/fleet.md) or pass --fleet FILE",
        )
    return path


def load(path: Path, environ: dict[str, str] | None = None) -> FleetSpec:
    """Read and check the fleet file; raises FleetFileError before anything is connected to."""
    env = dict(os.environ if environ is None else environ)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise FleetFileError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise FleetFileError(f"{path}: cannot read: {exc.strerror}") from None
    label = path.name
    _known(data, _TOP_KEYS, label)
    spec = FleetSpec(path=path)

    fleet = _table(data.get("fleet", {}), f"{label} [fleet]")
    _known(fleet, _FLEET_KEYS, f"{label} [fleet]")
    spec.jobs = _positive(fleet.get("jobs", DEFAULT_JOBS), f"{label} [fleet] jobs")
    spec.per_server = _positive(
        fleet.get("per_server", DEFAULT_PER_SERVER), f"{label} [fleet] per_server"
    )
    where = f"{label} [fleet] shared_schemas"
    shared = _array(fleet.get("shared_schemas", []), where)
    for name in shared:
        if not isinstance(name, str) or not _SHARED.match(name):
            raise FleetFileError(f"{where}: {name!r} is not a plain lowercase schema name")
    spec.shared_schemas = tuple(shared)

    for number, raw in enumerate(_array(data.get("targets", []), f"{label} [[targets]]"), 1):
        where = f"{label} [[targets]] #{number}"
        raw = _table(raw, where)
        _known(raw, _TARGET_KEYS, where)
        if "name" not in raw or "url" not in raw:
            raise FleetFileError(f"{where}: a target needs a name and a url")
        spec.targets.append(
            make_target(
                raw["name"],
                expand(_string(raw["url"], f"{where} url"), env, f"{where} url"),
                raw.get("schema"),
                raw.get("groups", ()),
                where,
            )
        )

    for number, raw in enumerate(_array(data.get("catalogs", []), f"{label} [[catalogs]]"), 1):
        where = f"{label} [[catalogs]] #{number}"
        raw = _table(raw, where)
        _known(raw, _CATALOG_KEYS, where)
        if "url" not in raw or "query" not in raw:
            raise FleetFileError(f"{where}: a catalog needs a url and a query")
        url = normalize_url(expand(_string(raw["url"], f"{where} url"), env, f"{where} url"), where)
        default = raw.get("default_url")
        if default is not None:
            default = normalize_url(
                expand(_string(default, f"{where} default_url"), env, f"{where} default_url"),
                f"{where} default_url",
            )
        spec.catalogs.append(
            Catalog(
                url=url,
                query=_string(raw["query"], f"{where} query"),
                default_url=default,
                groups=_groups(raw.get("groups", ()), f"{where} groups"),
                origin=where,
            )
        )

    groups = _table(data.get("groups", {}), f"{label} [groups]")
    for group, members in groups.items():
        where = f"{label} [groups] {group}"
        _groups([group], where)
        names = _array(members, where)
        for member in names:
            _string(member, where)
        spec.groups[group] = tuple(names)

    if not spec.targets and not spec.catalogs:
        raise FleetFileError(f"{path}: no [[targets]] and no [[catalogs]]: the fleet is empty")
    check_unique(spec.targets)
    _check_group_members(spec, spec.targets, final=not spec.catalogs)
    return spec


def make_target(name: Any, url: str, schema: Any, groups: Any, where: str) -> Target:
    name = _string(name, f"{where} name")
    if not _NAME.match(name):
        raise FleetFileError(
            f"{where}: target name {name!r} is not usable",
            hint="letters, digits and _ . : @ -, starting with a letter or digit",
        )
    url = normalize_url(url, f"{where} url")
    if schema is not None:
        schema = validate_schema(_string(schema, f"{where} schema"), f"{where} schema")
    return Target(name, url, schema, _groups(groups, f"{where} groups"), where)


def check_unique(targets: list[Target]) -> None:
    """Two targets with one name, or naming the same database (and schema), are refused."""
    names: dict[str, Target] = {}
    places: dict[tuple, Target] = {}
    for target in targets:
        if target.name in names:
            raise FleetFileError(
                f"{target.origin}: target name {target.name!r} is used twice (first at "
                f"{names[target.name].origin})"
            )
        names[target.name] = target
        key = target.identity()
        if key in places:
            raise FleetFileError(
                f"{target.origin}: target {target.name} names the same database as "
                f"{places[key].name} ({target.display})",
                hint="each database (or tenant schema) may be listed once",
            )
        places[key] = target


def group_members(spec: FleetSpec, targets: list[Target], group: str) -> list[Target]:
    listed = set(spec.groups.get(group, ()))
    return [t for t in targets if group in t.groups or t.name in listed]


def known_groups(spec: FleetSpec, targets: list[Target]) -> set[str]:
    return set(spec.groups) | {g for t in targets for g in t.groups}


def _check_group_members(spec: FleetSpec, targets: list[Target], *, final: bool) -> None:
    if not final:
        return  # catalog targets may be the members
    names = {t.name for t in targets}
    for group, members in spec.groups.items():
        for member in members:
            if member not in names:
                raise FleetFileError(
                    f"{spec.path.name} [groups] {group}: no target is named {member!r}"
                )


def catalog_targets(spec: FleetSpec, catalog: Catalog, rows: list[dict[str, Any]]) -> list:
    """Targets from a catalog query's rows (columns: name, and url, schema, groups)."""
    targets = []
    for number, row in enumerate(rows, 1):
        where = f"{catalog.origin} row {number}"
        unknown = set(row) - _TARGET_KEYS
        if unknown:
            raise FleetFileError(
                f"{where}: the query returned unknown columns {', '.join(sorted(unknown))}",
                hint="return name, and optionally url, schema and groups",
            )
        if row.get("name") is None:
            raise FleetFileError(f"{where}: the query returned no name")
        url = row.get("url") or catalog.default_url
        if url is None:
            raise FleetFileError(
                f"{where}: no url for target {row['name']!r}",
                hint="return a url column, or set default_url in the [[catalogs]] table",
            )
        groups = row.get("groups") or ()
        if isinstance(groups, str):
            groups = [g.strip() for g in groups.split(",") if g.strip()]
        targets.append(
            make_target(
                str(row["name"]),
                url,
                row.get("schema"),
                tuple(catalog.groups) + tuple(groups),
                where,
            )
        )
    return targets


def finish(spec: FleetSpec, extra: list[Target]) -> list[Target]:
    """All targets: the file's and the catalogs', checked together."""
    targets = spec.targets + extra
    check_unique(targets)
    _check_group_members(spec, targets, final=True)
    return targets


# -- small validators --------------------------------------------------------------------


def _known(table: dict, keys: set[str], where: str) -> None:
    unknown = set(table) - keys
    if unknown:
        raise FleetFileError(
            f"{where}: unknown key {', '.join(sorted(unknown))}",
            hint=f"expected {', '.join(sorted(keys))}",
        )


def _table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise FleetFileError(f"{where}: expected a table, not {type(value).__name__}")
    return value


def _array(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise FleetFileError(f"{where}: expected an array, not {type(value).__name__}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FleetFileError(f"{where}: expected a non-empty string, not {value!r}")
    return value


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FleetFileError(f"{where}: expected a whole number of 1 or more, not {value!r}")
    return value


def _groups(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise FleetFileError(f"{where}: expected a list of group names, not {value!r}")
    for group in value:
        if not isinstance(group, str) or not _GROUP.match(group):
            raise FleetFileError(f"{where}: {group!r} is not a usable group name")
    return tuple(value)
