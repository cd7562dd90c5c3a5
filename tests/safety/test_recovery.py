"""Losing the index loses nothing; a damaged database is one clear line; backup, export and restore."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from config.archive import Archive
from config.settings import load_settings
from ingest import Message, hash_bytes
from tests.conftest import ENGINES, REPO, Dossier, make_message
from tests.timing import scaled

from .crash import dossier_argv, generated_messages, stored_count


def _sample(dossier: Dossier) -> list[str]:
    dossier.run("customers", "import", REPO / "sample" / "customers.csv")
    dossier.run("import", REPO / "sample" / "mailbox", "--account", "sample")
    return sorted(h["sha256"] for h in dossier.json("search", "", "--limit", "10000"))


@pytest.mark.parametrize("engine", ENGINES)
def test_reindex_rebuilds_a_deleted_or_corrupted_index(dossier: Dossier):
    everything = _sample(dossier)
    index = dossier.data_dir / "index"
    shutil.rmtree(index)
    dossier.run("reindex")
    assert sorted(h["sha256"] for h in dossier.json("search", "", "--limit", "10000")) == everything

    for path in index.iterdir():  # every segment file damaged
        if path.is_file():
            path.write_bytes(b"\0garbage" * 10)
    failed = dossier.run("search", "quotation", expect=1)
    assert "dossier reindex" in failed.output and len(failed.output.strip().splitlines()) == 1
    dossier.run("reindex")
    assert sorted(h["sha256"] for h in dossier.json("search", "", "--limit", "10000")) == everything
    assert json.loads(dossier.run("check", "--json").stdout)["clean"]


@pytest.mark.parametrize("backend", ["sqlite"])  # a database file to damage: SQLite's
def test_a_corrupted_database_is_one_clear_line(dossier: Dossier):
    dossier.run("import", REPO / "sample" / "mailbox")
    db = dossier.data_dir / "dossier.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 500)
    for command in (["status"], ["search", "x"], ["check"]):
        result = dossier.run(*command, expect=1)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "database" in lines[0] and "backup" in lines[0], result.output
        assert "Traceback" not in result.output


def _restore(backup: Path, backend: str, request: pytest.FixtureRequest) -> Dossier:
    """The backup made a data directory again, as the README says: on PostgreSQL, its dump
    restored into a new database that the backup's config then names."""
    if backend == "postgres":
        from config.backup import libpq_environment, pg_tool

        url = request.getfixturevalue("postgres").cluster.url(_new_database(request))
        import sqlalchemy as sa

        subprocess.run([pg_tool("pg_restore"), "--no-owner", "--dbname", sa.make_url(url).database,
                        str(backup / "dossier.pgdump")], env=libpq_environment(sa.make_url(url)), check=True,
                       capture_output=True)
        config = backup / "dossier.toml"
        old = load_settings(backup).database_url
        config.write_text(config.read_text().replace(f'url = "{old}"', f'url = "{url}"'))
    return Dossier(backup)


def _new_database(request: pytest.FixtureRequest) -> str:
    databases = request.getfixturevalue("postgres")
    context = databases.new(template=None)
    url = context.__enter__()
    request.addfinalizer(lambda: context.__exit__(None, None, None))
    return url.rsplit("/", 1)[1]


def test_backup_while_writing_then_restore_searches_and_checks_clean(dossier: Dossier, tmp_path: Path, backend: str,
                                                                     request: pytest.FixtureRequest):
    everything = _sample(dossier)
    box = tmp_path / "more.mbox"
    import mailbox

    mbox = mailbox.mbox(str(box))
    for data in generated_messages(300, seed=9):
        mbox.add(data)
    mbox.flush()
    mbox.close()
    # An import writes (in another process, as the daemon would) while the backup runs.
    writer = subprocess.Popen(dossier_argv(dossier, "import", str(box), "--account", "late"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    count = stored_count(dossier)
    deadline = time.monotonic() + scaled(60)
    while count() <= len(everything) and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    backup = json.loads(dossier.run("backup", tmp_path / "backup", "--json").stdout)
    assert writer.wait() == 0
    assert backup["messages"] >= len(everything) and backup["missing_blobs"] == 0

    assert (tmp_path / "backup" / backup["database"]).is_file()
    restored = _restore(tmp_path / "backup", backend, request)
    restored.run("reindex")
    assert json.loads(restored.run("check", "--json").stdout)["clean"]
    hits = {h["sha256"] for h in restored.json("search", "", "--limit", "10000")}
    assert set(everything) <= hits and len(hits) == backup["messages"]
    assert restored.json("search", "quotation", "--customer", "acme")
    assert (tmp_path / "backup").stat().st_mode & 0o077 == 0
    assert "not empty" in dossier.run("backup", tmp_path / "backup", expect=1).output


def test_export_maildir_and_mbox_round_trip(dossier: Dossier, tmp_path: Path):
    dossier.run("import", REPO / "sample" / "mailbox")
    tricky = make_message(subject="From lines", message_id="<fl@x>", body="From here\n>From there\nFrom\n")
    (tmp_path / "t.eml").write_bytes(tricky)
    dossier.run("import", tmp_path / "t.eml")
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as session:
        shas = set(session.scalars(select(Message.sha256)))
    archive.close()

    assert dossier.json("export", tmp_path / "out-maildir", "--format", "maildir")["messages"] == len(shas)
    assert dossier.json("export", tmp_path / "out.mbox")["messages"] == len(shas)
    for source in ("out-maildir", "out.mbox"):
        other = Dossier(tmp_path / f"re-{source}")
        other.run("init")
        other.run("import", tmp_path / source)
        restored = Archive(load_settings(other.data_dir))
        with restored.sessions() as session:
            again = set(session.scalars(select(Message.sha256)))
        restored.close()
        if source == "out-maildir":
            assert again == shas  # byte for byte
        else:  # mboxrd quotes body lines starting "From " (">From "); every other message is exact
            assert shas - again == {hash_bytes(tricky)} and len(again) == len(shas)
    assert "already exists" in dossier.run("export", tmp_path / "out.mbox", expect=1).output


def test_export_one_customer(dossier: Dossier, tmp_path: Path):
    _sample(dossier)
    acme = dossier.json("search", "", "--customer", "acme", "--limit", "10000")
    report = dossier.json("export", tmp_path / "acme.mbox", "--customer", "acme")
    assert report["messages"] == len(acme) > 0


def test_a_backup_of_an_archive_whose_raw_store_is_shared_holds_its_own(tmp_path: Path, backend: str,
                                                                        database_url: str | None,
                                                                        request: pytest.FixtureRequest):
    shared = tmp_path / "shared-raw"
    d = Dossier(tmp_path / "data")
    d.run("init", "--raw-store", shared, *(["--database-url", database_url] if database_url else []))
    everything = _sample(d)
    d.run("backup", tmp_path / "backup")
    restored = _restore(tmp_path / "backup", backend, request)
    assert load_settings(restored.data_dir).raw_path == tmp_path / "backup" / "raw"
    shutil.rmtree(shared)  # the restored archive needs nothing of the live one
    restored.run("reindex")
    assert sorted(h["sha256"] for h in restored.json("search", "", "--limit", "10000")) == everything
    assert json.loads(restored.run("check", "--json").stdout)["clean"]


@pytest.mark.parametrize(("engine", "backend"), [("postgres", "postgres")])
def test_a_postgres_engine_backup_restores_with_its_index(dossier: Dossier, tmp_path: Path, backend: str,
                                                          request: pytest.FixtureRequest):
    everything = _sample(dossier)
    backup = dossier.json("backup", tmp_path / "backup")
    assert backup["database"] == "dossier.pgdump" and backup["blobs"] == len(everything)
    restored = _restore(tmp_path / "backup", backend, request)
    # The index came with the dump: searching needs no reindex.
    assert sorted(h["sha256"] for h in restored.json("search", "", "--limit", "10000")) == everything
    def hits(d: Dossier) -> list[dict]:  # as printed, but for where each raw file is
        return [{k: v for k, v in hit.items() if k != "path"} for hit in d.json("search", "quotation", "--customer",
                                                                                  "acme")]

    assert hits(restored) == hits(dossier)
    assert json.loads(restored.run("check", "--json").stdout)["clean"]
    told = dossier.run("backup", tmp_path / "again").stdout  # the restore the text names is this one
    assert f"pg_restore --no-owner -d NEWDB {tmp_path / 'again' / 'dossier.pgdump'}" in told
