"""The layout is the architecture: these tests read the package's imports (with ast, without
importing anything) and fail when a module climbs a layer, an import circle appears, or a CLI
command does more than call one function of :mod:`dbkit.api`.

Layers, bottom up (README "Architecture"): ``errors``/``settings``, ``plan`` (files, the graph,
SQL text; never a database), ``lint``, ``engine`` (the database), ``compare``, ``embedded``,
then ``api`` (the facade) and ``cli`` (on top, imported by nothing).
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import click
from projects import BASIC, write_project

import dbkit
from dbkit.cli import main

PACKAGE = Path(dbkit.__file__).parent

#: The modules that parse SQL, the only ones allowed to import pglast (it costs ~115 ms).
#: A new module that parses SQL goes here, and nowhere else may import it.
PGLAST_MODULES = {
    "dbkit.plan.sqltext",  # splitting and classifying migration SQL
    "dbkit.plan.checks",  # check files: one SELECT each
    "dbkit.plan.sqlrules",  # the statement rules migrate and lint share
    "dbkit.lint.rules",  # dbkit's SQL rules
    "dbkit.plan.importers.sqitch",  # what a Sqitch verify script holds
    "dbkit.synth.catalog",  # CHECK constraints read as ranges and lists
}

#: What each layer must never import, at any depth of a function (lazy imports count) and
#: in TYPE_CHECKING blocks too. A prefix names a package and everything under it.
FORBIDDEN = {
    "dbkit.errors": ("dbkit.",),
    "dbkit.plan": (
        "psycopg",
        "dbkit.engine",
        "dbkit.compare",
        "dbkit.lint",
        "dbkit.embedded",
        "dbkit.api",
        "dbkit.cli",
    ),
    "dbkit.lint": ("psycopg", "dbkit.engine", "dbkit.compare", "dbkit.embedded", "dbkit.api"),
    "dbkit.engine": ("dbkit.compare", "dbkit.lint", "dbkit.embedded", "dbkit.api"),
    "dbkit.compare": ("dbkit.lint", "dbkit.api"),
    "dbkit.embedded": ("dbkit.plan", "dbkit.engine", "dbkit.compare", "dbkit.lint", "dbkit.api"),
}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (dbkit.engine.registry for `from dbkit.engine import registry`)
    line: int
    eager: bool  # runs when the importing module is imported (not in a function or TYPE_CHECKING)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "templates" not in p.relative_to(PACKAGE).parts
    }


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(name: str, path: Path) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, eager: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(name, a.name, child.lineno, eager) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    candidate = f"{child.module}.{alias.name}"
                    target = candidate if candidate in MODULES else child.module
                    found.append(Import(name, target, child.lineno, eager))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or (
                isinstance(child, ast.If) and _is_type_checking(child)
            ):
                visit(child, False)
            else:
                visit(child, eager)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return found


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports_of(name, path)]


def _under(module: str, prefix: str) -> bool:
    return module == prefix.rstrip(".") or module.startswith(prefix.rstrip(".") + ".")


def test_the_tree_has_one_subpackage_per_layer():
    for layer in ("cli", "plan", "engine", "compare", "lint", "embedded"):
        assert (PACKAGE / layer / "__init__.py").is_file(), layer
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == {
        "__init__",
        "__main__",
        "api",
        "errors",
        "revision",
        "secrets",
        "settings",
        "text",
    }


def test_no_layer_imports_what_lies_above_it():
    violations = [
        f"{imp.source} imports {imp.target} (line {imp.line})"
        for imp in IMPORTS
        for layer, forbidden in FORBIDDEN.items()
        if _under(imp.source, layer)
        and any(_under(imp.target, f) or imp.target.startswith(f) for f in forbidden)
        and not _under(imp.target, layer)
    ]
    assert violations == []


def test_nothing_imports_the_cli():
    importers = sorted(
        f"{imp.source} (line {imp.line})"
        for imp in IMPORTS
        if _under(imp.target, "dbkit.cli")
        and not _under(imp.source, "dbkit.cli")
        and imp.source != "dbkit.__main__"
    )
    assert importers == []


def test_pglast_is_imported_only_where_sql_is_parsed():
    importers = {imp.source for imp in IMPORTS if _under(imp.target, "pglast")}
    assert importers <= PGLAST_MODULES, importers - PGLAST_MODULES
    assert importers, "the SQL-parsing modules import pglast (else this test reads nothing)"


def test_no_import_circles():
    """Among the imports that run when a module is imported (lazy imports inside functions
    are how a lower layer may reach a heavier peer, e.g. settings -> embedded server)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in IMPORTS:
        if imp.eager and imp.target in MODULES and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    # `from dbkit.x import y` also imports the package dbkit.x: parents are not edges here,
    # since a package's __init__ importing its children is the normal direction.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert cycles == []


def test_the_import_walk_sees_a_known_edge():
    """Guard against a walk that finds nothing: the runner does import the registry."""
    assert any(
        i.source == "dbkit.engine.runner" and i.target == "dbkit.engine.registry" and i.eager
        for i in IMPORTS
    )
    assert any(i.source == "dbkit.api" and i.target == "dbkit.engine.workflow" for i in IMPORTS)


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.all_commands().items():
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


def _api_calls(function) -> list[str]:
    while hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0]
    return [
        node.func.attr
        for node in ast.walk(body)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "api"
    ]


def test_every_cli_command_calls_exactly_one_api_function():
    commands = _commands(main)
    assert len(commands) >= 18
    wrong = {
        name: calls for name, cmd in commands.items() if len(calls := _api_calls(cmd.callback)) != 1
    }
    assert wrong == {}
    from dbkit import api

    for name, cmd in commands.items():
        (called,) = _api_calls(cmd.callback)
        assert callable(getattr(api, called, None)), f"{name} calls api.{called}, which is missing"


def test_importing_the_cli_and_the_api_loads_no_driver_or_heavy_layer():
    """The facade imports the engine's light modules (connection, registry: no driver until
    they connect); the runner, workflow, preservation, guard, compare, lint and the embedded
    server are imported by the api functions that use them."""
    code = (
        "import sys, dbkit.cli, dbkit.api\n"
        "heavy = ('psycopg', 'pglast', 'sqlfluff', 'alembic', 'sqlalchemy',"
        " 'dbkit.engine.runner', 'dbkit.engine.workflow', 'dbkit.engine.preserve',"
        " 'dbkit.engine.guard', 'dbkit.compare', 'dbkit.lint', 'dbkit.embedded',"
        " 'dbkit.plan.checks')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_status_loads_only_what_it_needs(db_url, tmp_path):
    """`dbkit status` on a migrated database: the command group imports the module of the
    command used, not the fleet, synth, lint, import or compare families nor rich."""
    from click.testing import CliRunner

    project = write_project(tmp_path, BASIC)
    args = ["--project", str(project), "--url", db_url]
    migrated = CliRunner().invoke(main, [*args, "migrate"])
    assert migrated.exit_code == 0, migrated.output
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dbkit.cli import main\n"
        f"r = CliRunner().invoke(main, ['--project', {str(project)!r}, '--url', {db_url!r},"
        " 'status'])\n"
        "assert r.exit_code == 0, r.output\n"
        "unneeded = ('dbkit.engine.runner', 'dbkit.engine.workflow', 'dbkit.engine.preserve',"
        " 'dbkit.engine.guard', 'dbkit.engine.adopt', 'pglast', 'dbkit.plan.importers',"
        " 'dbkit.plan.checks', 'dbkit.fleet', 'dbkit.synth', 'dbkit.lint', 'dbkit.compare',"
        " 'dbkit.embedded', 'rich', 'sqlfluff', 'alembic', 'dbkit.cli.fleet', 'dbkit.cli.synth',"
        " 'dbkit.cli.lint', 'dbkit.cli.gate', 'dbkit.cli.adopt', 'dbkit.cli.team',"
        " 'tomllib')\n"  # a project without dbkit.toml parses no TOML
        "print(sorted(m for m in sys.modules if m.startswith(unneeded)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_lazy_command_table_names_every_command_of_every_cli_module():
    """The group imports a command's module on use: its table (dbkit/cli/__init__.py) must
    name each command of each module, with the module that defines it, and nothing else."""
    code = (
        "import importlib, pkgutil, dbkit.cli\n"
        "from dbkit.cli.base import main\n"
        "for m in pkgutil.iter_modules(dbkit.cli.__path__):\n"
        "    importlib.import_module('dbkit.cli.' + m.name)\n"
        "defined = {n: c.callback.__module__ for n, c in main.commands.items()}\n"
        "print(sorted(defined.items()) == sorted(main.lazy_commands.items()))\n"
        "print(sorted(set(defined.items()) ^ set(main.lazy_commands.items())))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["True", "[]"], out.stdout


def test_help_lists_every_command_though_none_is_imported_before():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dbkit.cli import main\n"
        "before = sorted(m for m in sys.modules if m.startswith('dbkit.cli.'))\n"
        "r = CliRunner().invoke(main, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "listed = r.output.split('Commands:', 1)[1]\n"
        "print(before)\n"
        "print(all(f'  {n} ' in listed for n in main.lazy_commands))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["['dbkit.cli.base']", "True"], out.stdout
