"""Settings resolution: precedence and validation (no database needed; masking is in
test_secrets.py)."""

from __future__ import annotations

import pytest

from dbkit import settings
from dbkit.errors import ProjectError, UsageError


@pytest.fixture
def project(tmp_path):
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dbkit]\nurl = "postgresql://cfg@h/cfg"\nlock_timeout = "2s"\n'
    )
    return tmp_path


def test_precedence_flag_then_environment_then_config_then_embedded(project):
    env = {"DBKIT_DATABASE_URL": "postgresql://a@h/a", "DATABASE_URL": "postgresql://b@h/b"}
    flag = settings.resolve(project, url="postgresql://f@h/f", environ=env)
    assert (flag.url, flag.url_source) == ("postgresql://f@h/f", "--url")
    dbkit_env = settings.resolve(project, environ=env)
    assert (dbkit_env.url, dbkit_env.url_source) == ("postgresql://a@h/a", "DBKIT_DATABASE_URL")
    plain_env = settings.resolve(project, environ={"DATABASE_URL": "postgresql://b@h/b"})
    assert plain_env.url_source == "DATABASE_URL"
    config = settings.resolve(project, environ={})
    assert (config.url, config.url_source) == ("postgresql://cfg@h/cfg", "[tool.dbkit] url")
    assert config.lock_timeout == "2s"
    (project / "pyproject.toml").write_text("[tool.dbkit]\n")
    embedded = settings.resolve(project, environ={})
    assert embedded.url is None and embedded.uses_embedded
    assert embedded.display_url() == f"embedded server ({project / '.dbkit'})"


def test_dbkit_toml_overrides_pyproject(project):
    (project / "dbkit.toml").write_text('url = "postgres://t@h/t"\nlock_retries = 7\n')
    resolved = settings.resolve(project, environ={})
    assert resolved.url == "postgresql://t@h/t"
    assert resolved.lock_retries == 7


def test_project_is_found_from_a_subdirectory(project):
    inner = project / "sql" / "deep"
    inner.mkdir(parents=True)
    assert settings.resolve(inner, environ={}).project_dir == project


def test_sqlalchemy_driver_suffix_is_dropped_and_other_schemes_refused():
    assert settings.normalize_url("postgresql+psycopg://u@h/d") == "postgresql://u@h/d"
    assert settings.normalize_url("host=h dbname=d") == "host=h dbname=d"
    with pytest.raises(UsageError, match="unsupported database URL scheme 'sqlite'"):
        settings.normalize_url("sqlite:///x.db")
    with pytest.raises(UsageError, match="is not a database URL"):
        settings.normalize_url("just-a-word")


def test_bad_settings_are_clear_errors(project):
    (project / "dbkit.toml").write_text('lock_timeout = "soon"\n')
    with pytest.raises(UsageError, match="lock_timeout = 'soon' is not a duration"):
        settings.resolve(project, environ={})
    (project / "dbkit.toml").write_text("lock_retries = [1]\n")
    with pytest.raises(
        ProjectError, match=r"lock_retries = \[1\] is an array, expected an integer"
    ):
        settings.resolve(project, environ={})
    (project / "dbkit.toml").write_text("url = \n")
    with pytest.raises(ProjectError, match="not valid TOML"):
        settings.resolve(project, environ={})
