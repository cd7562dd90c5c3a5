"""Schema migrations: new archives are at the newest revision with exactly the models' schema, and
archives made by earlier releases upgrade in place and stay whole."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import linker.models  # noqa: F401  (the linker's tables on the shared metadata)
from config import load_settings, migrations
from config.db import make_engine, run_migrations, schema_revision
from config.migrations import alembic_config
from ingest.models import Base
from tests.conftest import REPO, Dossier

RELEASE_0_1_0 = REPO / "tests" / "data" / "archives" / "release-0.1.0.tar.gz"


def test_head_names_the_newest_revision_script():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        script = ScriptDirectory.from_config(alembic_config(connection))
    assert script.get_heads() == [migrations.HEAD]


@pytest.fixture
def empty_database(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty database on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.db'}"
        return
    with request.getfixturevalue("postgres").new(template=None) as url:
        yield url


def test_a_new_database_has_exactly_the_schema_the_models_declare(empty_database: str):
    engine = make_engine(empty_database)
    with engine.connect() as connection:
        assert schema_revision(connection) == migrations.HEAD
        differences = compare_metadata(_context(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def _context(connection: sa.Connection) -> MigrationContext:
    return MigrationContext.configure(connection, opts={"compare_type": migrations.compare_type})


def _release_archive(tmp_path: Path) -> Dossier:
    with tarfile.open(RELEASE_0_1_0) as archive:
        archive.extractall(tmp_path, filter="data")
    return Dossier(tmp_path / "data")


def test_an_archive_of_the_previous_release_upgrades_on_demand_and_stays_whole(tmp_path: Path):
    old = _release_archive(tmp_path)
    with sa.create_engine(f"sqlite:///{old.data_dir / 'dossier.db'}").connect() as connection:
        assert schema_revision(connection) is None  # made before migrations existed

    result = old.run("upgrade")
    assert f"from revision (before migrations) to {migrations.HEAD}" in result.stdout
    assert "up to date" in old.run("upgrade").stdout

    assert "clean" in old.run("check").stdout
    status = old.json("status")
    assert (status["messages"], status["customers"], status["linked"]) == (34, 6, 28)
    # 0.1.0 kept the sheet's owner column as a custom field; revision 0003 made it the owner.
    acme = old.json("customers", "show", "Acme")
    assert (acme["owner"], acme["fields"]) == ("tom.baker@northwind-trading.com", {})
    # The link correction made with 0.1.0 (message fab2a2402153 pinned to Bristol) survives the
    # upgrade and a relink.
    old.run("relink")
    hits = old.json("search", "quotation", "--customer", "Bristol")
    assert "fab2a2402153" in [h["id"] for h in hits]
    assert "pin" in old.run("link", "explain", "fab2a2402153").stdout


def test_opening_an_archive_of_the_previous_release_with_any_command_upgrades_it(tmp_path: Path):
    old = _release_archive(tmp_path)
    assert len(old.json("search", "报价单")) == 8
    with sa.create_engine(f"sqlite:///{old.data_dir / 'dossier.db'}").connect() as connection:
        assert schema_revision(connection) == migrations.HEAD


def test_revision_0003_moves_an_owner_field_into_the_owner_column_and_back(tmp_path: Path):
    from alembic import command

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(sa.text(
            "INSERT INTO customers (name, country, notes, fields, created_at) VALUES "
            "('A', '', '', '{\"负责人\": \"小李\", \"Payment\": \"30 days\"}', '2024-01-01'), "
            "('B', '', '', '{\"Sales Rep\": \" Tom.Baker@Northwind-Trading.com \"}', '2024-01-01'), "
            "('C', '', '', '{\"销售额\": \"100\"}', '2024-01-01')"))
        command.upgrade(alembic_config(connection), "0003")
        rows = connection.execute(sa.text("SELECT name, owner, fields FROM customers ORDER BY name")).all()
        assert [(n, o, json.loads(f)) for n, o, f in rows] == [
            ("A", "小李", {"Payment": "30 days"}), ("B", "tom.baker@northwind-trading.com", {}),
            ("C", "", {"销售额": "100"}),  # sales figures are no salesperson
        ]
        command.downgrade(alembic_config(connection), "0001")
        rows = connection.execute(sa.text("SELECT name, fields FROM customers ORDER BY name")).all()
        assert [json.loads(f) for _, f in rows] == [
            {"Payment": "30 days", "owner": "小李"}, {"owner": "tom.baker@northwind-trading.com"}, {"销售额": "100"},
        ]
    engine.dispose()


def _baseline_module():
    path = migrations.SCRIPTS / "versions" / "0001_baseline.py"
    spec = importlib.util.spec_from_file_location("dossier_migration_0001", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_database_older_than_the_baseline_gets_the_columns_and_indexes_it_lacks(tmp_path: Path):
    """Before 0.1.0, Dossier added nullable columns on open; such a database still upgrades."""
    url = f"sqlite:///{tmp_path / 'older.db'}"
    baseline = sa.MetaData()
    _baseline_module()._tables(baseline)  # the 0.1.0 schema as the baseline froze it, not today's models
    older = sa.MetaData()
    for table in baseline.sorted_tables:
        columns = [sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                   for c in table.columns if (table.name, c.name) not in
                   {("messages", "is_bulk"), ("messages", "indexed_at"), ("attachments", "text_status")}]
        sa.Table(table.name, older, *columns)
    engine = sa.create_engine(url)
    older.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO messages (sha256, size, status, is_variant, subject, from_name, from_email, date, "
            "date_source, \"references\", is_html_only, defects, is_internal, stored_at) VALUES "
            "('ab', 1, 'ok', 0, 'kept', '', '', '2024-01-01', 'date', '[]', 0, '[]', 0, '2024-01-01')"))
    engine.dispose()

    engine = make_engine(url)
    inspector = sa.inspect(engine)
    assert {"is_bulk", "indexed_at"} <= {c["name"] for c in inspector.get_columns("messages")}
    assert "ix_messages_indexed_at" in {i["name"] for i in inspector.get_indexes("messages")}
    assert "text_status" in {c["name"] for c in inspector.get_columns("attachments")}
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT subject FROM messages")) == "kept"
        assert schema_revision(connection) == migrations.HEAD


def test_revision_0002_keys_existing_copies_by_server_folder_and_uidvalidity_and_marks_quotes(tmp_path: Path):
    from alembic import command

    from config.db import upgrade_schema

    engine = make_engine(f"sqlite:///{tmp_path / 'at-0001.db'}", upgrade=False)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        for n, subject in ((1, "报价单 Q7"), (2, "hello"), (3, "Re: hello")):
            connection.execute(sa.text(
                "INSERT INTO messages (id, sha256, size, status, is_variant, subject, from_name, from_email, date, "
                "date_source, \"references\", is_html_only, defects, is_internal, stored_at) VALUES "
                f"({n}, '{n}', 1, 'ok', 0, :s, '', '', '2024-01-01', 'date', '[]', 0, '[]', 0, '2024-01-01')"),
                {"s": subject})
        for message_id, filename in ((2, "photo.png"), (2, "Quotation_ACME.pdf"), (2, "PI-7.xlsx"), (3, "x.pdf")):
            connection.execute(sa.text(
                "INSERT INTO attachments (message_id, filename, content_type, size) VALUES (:m, :f, '', 1)"),
                {"m": message_id, "f": filename})
        connection.execute(sa.text(
            "INSERT INTO folder_states (account, folder, name, uidvalidity, last_uid, \"exists\", gaps, "
            "uidvalidity_changes) VALUES ('work', 'Customers/&Ti1W,VuiYjc-', 'Customers/中国客户', 7, 3, 2, '[]', 0)"))
        for message_id, account, folder, uid in ((1, "work", "Customers/中国客户", 3),
                                                 (2, "work", "Customers/中国客户", None),  # cleared by a rescan
                                                 (1, "work", "Archive", None),  # imported from a Maildir
                                                 (2, "local", "Customers/中国客户", None)):  # another account
            connection.execute(sa.text(
                "INSERT INTO message_copies (message_id, account, folder, origin, found_at, uid) VALUES "
                "(:m, :a, :f, '', '2024-01-01', :u)"), {"m": message_id, "a": account, "f": folder, "u": uid})

    assert upgrade_schema(engine) == ("0001", migrations.HEAD)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT message_id, account, folder, mailbox, uidvalidity, uid FROM message_copies ORDER BY id")).all()
        quotes = connection.execute(sa.text("SELECT id, quote_term FROM messages ORDER BY id")).all()
        files = connection.execute(sa.text("SELECT filename, is_quote FROM attachments ORDER BY id")).all()
    assert rows == [
        (1, "work", "Customers/中国客户", "Customers/&Ti1W,VuiYjc-", 7, 3),
        (2, "work", "Customers/中国客户", "Customers/&Ti1W,VuiYjc-", None, None),
        (1, "work", "Archive", "Archive", None, None),
        (2, "local", "Customers/中国客户", "Customers/中国客户", None, None),
    ]
    # As the dossier told quotes until now: by subject, else by the first quote file's name.
    assert quotes == [(1, "报价单"), (2, "quotation"), (3, None)]
    assert [bool(q) for _, q in files] == [False, True, True, False]
    # And back: 0002's downgrade restores 0001's schema (compared below) and keeps the rows.
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    reference = make_engine(f"sqlite:///{tmp_path / 'plain-0001.db'}", upgrade=False)
    with reference.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")

    def schema(engine: sa.Engine) -> list:
        inspector = sa.inspect(engine)
        return [([c["name"] for c in inspector.get_columns(table)],
                 sorted(i["name"] for i in inspector.get_indexes(table)),
                 [u["column_names"] for u in inspector.get_unique_constraints(table)])
                for table in ("messages", "attachments", "message_copies")]

    assert schema(engine) == schema(reference)
    assert upgrade_schema(engine) == ("0001", migrations.HEAD)
    with engine.connect() as connection:
        counts = [connection.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                  for t in ("messages", "attachments", "message_copies")]
    assert counts == [3, 4, 4]


def test_every_revision_downgrades_and_upgrades_again_without_losing_a_row(tmp_path: Path):
    """A revision that re-creates a table on SQLite must not cascade-delete the rows pointing at it."""
    old = _release_archive(tmp_path)
    engine = make_engine(f"sqlite:///{old.data_dir / 'dossier.db'}")
    tables = ["messages", "message_copies", "participants", "attachments", "customers", "customer_domains",
              "customer_contacts", "links", "link_overrides"]

    def counts() -> dict[str, int]:
        with engine.connect() as connection:
            return {t: connection.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables}

    at_head = counts()
    assert at_head["customer_domains"] and at_head["links"] and at_head["link_overrides"]
    run_migrations(engine, "downgrade", "0001")
    assert counts() == at_head
    run_migrations(engine, "upgrade", "head")
    assert counts() == at_head
    with engine.connect() as connection:
        assert schema_revision(connection) == migrations.HEAD


def _counts(engine: sa.Engine, tables: list[str]) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables}


def test_every_revision_downgrades_and_upgrades_again_on_either_database(dossier: Dossier):
    """The same round trip on an archive made today (the sample), on SQLite and on PostgreSQL."""
    dossier.run("customers", "import", REPO / "sample" / "customers.csv")
    dossier.run("import", REPO / "sample" / "mailbox", "--account", "sample")
    dossier.run("link", "pin", dossier.json("search", "quotation")[0]["id"], "Acme Industrial")
    settings = load_settings(dossier.data_dir)
    engine = make_engine(settings.database_url)
    tables = ["messages", "message_copies", "participants", "attachments", "customers", "customer_domains",
              "customer_contacts", "links", "link_overrides"]
    at_head = _counts(engine, tables)
    assert at_head["messages"] and at_head["links"] and at_head["link_overrides"]
    run_migrations(engine, "downgrade", "0001")
    assert _counts(engine, tables) == at_head
    run_migrations(engine, "upgrade", "head")
    assert _counts(engine, tables) == at_head
    with engine.connect() as connection:
        assert compare_metadata(_context(connection), Base.metadata) == []
    engine.dispose()
    assert "clean" in dossier.run("check").stdout


def test_revision_0005_lifts_the_length_limits_and_its_downgrade_cuts_to_them(empty_database: str):
    engine = make_engine(empty_database, upgrade=False)
    run_migrations(engine, "upgrade", "0004")
    address = "a" * 400 + "@" + "d" * 300 + ".example"
    insert = sa.text("INSERT INTO customers (name, country, notes, owner, fields, created_at) "
                     "VALUES (:name, '', '', :owner, '{}', '2024-01-01')")
    add_user = sa.text("INSERT INTO users (email, name, role, password_hash, is_disabled, created_at) "
                       "VALUES ('rep@x.example', :name, 'rep', 'h', false, '2024-01-01')")
    with engine.begin() as connection:
        connection.execute(insert, {"name": "Before", "owner": "o@x.example"})
    run_migrations(engine, "upgrade", "0005")
    with engine.begin() as connection:  # PostgreSQL refused these at 0004 (VARCHAR(320), VARCHAR(200))
        connection.execute(insert, {"name": "N" * 600, "owner": address})
        connection.execute(add_user, {"name": "R" * 300})
    run_migrations(engine, "downgrade", "0004")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT name, owner FROM customers ORDER BY id")).all()
        user = connection.scalar(sa.text("SELECT name FROM users"))
    engine.dispose()
    assert rows == [("Before", "o@x.example"), ("N" * 500, address[:320])]
    assert user == "R" * 200
