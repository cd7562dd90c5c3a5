"""The archive's database URL: what init records, where the password comes from, and one clear
line (never a traceback) for a URL or a server Dossier cannot use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Databases, Dossier
from tests.pgcluster import PASSWORD_ROLE


def _one_line_error(result, *words: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(("url", "words"), [
    ("postgresql+psycopg2://dossier@db.example/dossier", ("'psycopg2'", "postgresql+psycopg://")),
    ("mysql://dossier@db.example/dossier", ("'mysql'", "SQLite or PostgreSQL")),
    ("mysql+pymysql://dossier@db.example/dossier", ("'mysql'",)),
    ("dossier@db.example", ("is not a database URL", "postgresql+psycopg://USER@HOST/DATABASE")),
    ("postgresql+psycopg://dossier@db.example", ("names no database",)),
])
def test_a_url_dossier_cannot_use_is_one_line_naming_where_it_came_from(tmp_path: Path, monkeypatch, url, words):
    d = Dossier(tmp_path / "data")
    d.run("init")
    monkeypatch.setenv("DOSSIER_DATABASE_URL", url)
    _one_line_error(d.run("status", expect=None), "DOSSIER_DATABASE_URL", *words)
    monkeypatch.delenv("DOSSIER_DATABASE_URL")
    config = d.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace('\nurl = ""\n', f'\nurl = "{url}"\n', 1))
    _one_line_error(d.run("search", "x", expect=None), f"{config} [database] url", *words)
    # init refuses it before writing anything
    _one_line_error(Dossier(tmp_path / "other").run("init", "--database-url", url, expect=None), "--database-url")
    assert not (tmp_path / "other").exists()


@pytest.fixture
def database(postgres: Databases) -> Iterator[str]:
    with postgres.new() as url:
        yield url


@pytest.mark.postgres
def test_plain_postgresql_urls_get_the_driver_dossier_uses(tmp_path: Path, database: str):
    d = Dossier(tmp_path / "data")
    d.run("init", "--database-url", database.replace("postgresql+psycopg://", "postgres://"))
    assert f'url = "{database}"' in (d.data_dir / "dossier.toml").read_text()
    assert d.json("status")["messages"] == 0


@pytest.mark.postgres
def test_an_unreachable_server_or_a_missing_database_is_one_line_with_the_fix(tmp_path: Path, postgres: Databases):
    d = Dossier(tmp_path / "data")
    d.run("init")
    cluster = postgres.cluster
    config = d.data_dir / "dossier.toml"
    text = config.read_text()
    config.write_text(text.replace('\nurl = ""\n', f'\nurl = "{cluster.url("no_such_db")}"\n', 1))
    _one_line_error(d.run("status", expect=None), "no_such_db", "does not exist", "createdb")
    closed = cluster.url("dossier").replace(f":{cluster.port}/", ":1/")
    config.write_text(text.replace('\nurl = ""\n', f'\nurl = "{closed}"\n', 1))
    _one_line_error(d.run("status", expect=None), "127.0.0.1:1", "check that the server is running")


@pytest.mark.postgres
def test_init_records_the_url_without_its_password_which_comes_from_the_environment(
        tmp_path: Path, postgres: Databases, database: str, monkeypatch):
    cluster = postgres.cluster
    name = database.rsplit("/", 1)[1]
    cluster.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'pw-secret'" if not _role_exists(cluster) else
                    "SELECT 1", f'GRANT ALL ON DATABASE "{name}" TO {PASSWORD_ROLE}',
                    f"GRANT ALL ON SCHEMA public TO {PASSWORD_ROLE}", f"GRANT ALL ON ALL TABLES IN SCHEMA public TO "
                    f"{PASSWORD_ROLE}", f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {PASSWORD_ROLE}",
                    database=name)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    d = Dossier(tmp_path / "data")
    d.run("init", "--database-url", cluster.url(name, user=PASSWORD_ROLE, password="pw-secret"))
    config = (d.data_dir / "dossier.toml").read_text()
    assert "pw-secret" not in config and f'url = "{cluster.url(name, user=PASSWORD_ROLE)}"' in config

    line = _one_line_error(d.run("status", expect=None), "password", "PGPASSWORD or ~/.pgpass")
    assert "pw-secret" not in line
    monkeypatch.setenv("PGPASSWORD", "pw-secret")
    assert d.json("status")["messages"] == 0
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{cluster.port}:{name}:{PASSWORD_ROLE}:pw-secret\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert d.json("status")["messages"] == 0
    # The whole URL in the environment wins over the config, password and all.
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.setenv("DOSSIER_DATABASE_URL", cluster.url(name, user=PASSWORD_ROLE, password="wrong"))
    line = _one_line_error(d.run("status", expect=None), "password authentication failed")
    assert "wrong" not in line


def _role_exists(cluster) -> bool:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres") as connection:
        return connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,)).fetchone() is not None
