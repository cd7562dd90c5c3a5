"""`dossier check` finds every kind of damage, and `--repair` fixes what the raw store allows."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import delete, select, text

from config.archive import Archive
from config.settings import load_settings
from ingest import Message
from linker import Link
from tests.conftest import ENGINES, REPO, Dossier, make_message


def _archive(dossier: Dossier) -> Archive:
    return Archive(load_settings(dossier.data_dir))


def _kinds(dossier: Dossier, *args: str, expect: int) -> dict:
    result = dossier.run("check", "--json", *args, expect=expect)
    report = json.loads(result.stdout)
    return report


def test_check_is_clean_after_an_import_and_finds_and_repairs_damage(dossier: Dossier, tmp_path):
    dossier.run("customers", "import", REPO / "sample" / "customers.csv")
    dossier.run("import", REPO / "sample" / "mailbox", "--account", "sample")
    clean = _kinds(dossier, expect=0)
    assert clean["clean"] and clean["messages"] > 20 and clean["index_documents"] > 20
    assert "clean" in dossier.run("check").stdout

    archive = _archive(dossier)
    try:
        with archive.sessions() as session:
            shas = session.scalars(select(Message.sha256).where(Message.status == "ok").order_by(Message.id)).all()
        missing, corrupt, unindexed, relinked, dropped = shas[0], shas[1], shas[2], shas[3], shas[4]
        archive.raw.path_for(missing).unlink()
        archive.raw.path_for(corrupt).write_bytes(gzip.compress(b"not the message", mtime=0))
        with archive.index.writer() as writer:
            writer.delete(unindexed)
        with archive.sessions.begin() as session:
            mid = session.scalar(select(Message.id).where(Message.sha256 == relinked))
            session.execute(delete(Link).where(Link.message_id == mid))
            session.add(Link(message_id=mid, customer_id=1, role="to", method="address", matched="x@y"))
            # A row lost while its blob and index document stay: orphan blob and orphan document.
            session.execute(delete(Message).where(Message.sha256 == dropped))
        orphan_sha, _ = archive.raw.put(make_message(subject="Orphan blob", message_id="<orphan@x>"))
        (archive.raw.root / "tmp").mkdir(exist_ok=True)
        (archive.raw.root / "tmp" / "abc.part").write_bytes(b"half a blob")
    finally:
        archive.close()

    found = _kinds(dossier, expect=1)
    by_kind = {(f["kind"], f["subject"]) for f in found["findings"]}
    assert ("missing-blob", missing[:12]) in by_kind
    assert ("corrupt-blob", corrupt[:12]) in by_kind
    assert ("not-indexed", unindexed[:12]) in by_kind
    assert ("links-differ", relinked[:12]) in by_kind
    assert ("orphan-blob", dropped[:12]) in by_kind and ("orphan-blob", orphan_sha[:12]) in by_kind
    assert ("orphan-document", dropped[:12]) in by_kind
    assert any(kind == "partial-blob" for kind, _ in by_kind)
    text = dossier.run("check", expect=1)
    assert "missing-blob: " + missing[:12] in text.stdout and "cannot repair" in text.stdout

    repaired = _kinds(dossier, "--repair", expect=1)  # the missing and corrupt blobs remain
    left = {(f["kind"], f["subject"]) for f in repaired["findings"] if not f["repaired"]}
    assert left == {("missing-blob", missing[:12]), ("corrupt-blob", corrupt[:12])}
    again = _kinds(dossier, expect=1)
    assert {(f["kind"], f["subject"]) for f in again["findings"]} == left
    # The re-imported orphans are searchable again; the unindexed message is back.
    assert [h["subject"] for h in dossier.json("search", "orphan blob")] == ["Orphan blob"]
    assert any(h["sha256"] == unindexed for h in dossier.json("search", "", "--limit", "1000"))


@pytest.mark.parametrize("engine", ENGINES)
def test_check_rebuilds_an_unreadable_index(dossier: Dossier, engine: str):
    dossier.run("import", REPO / "sample" / "mailbox")
    index = dossier.data_dir / "index"
    for path in index.iterdir():
        if path.suffix == ".toc" or path.name == "meta.json":  # Whoosh's or tantivy's table of contents
            path.write_bytes(b"garbage")
    if engine == "postgres":  # its index is a table of the archive's database: lost with it
        archive = _archive(dossier)
        with archive.engine.begin() as connection:
            connection.execute(text("DROP TABLE search_documents"))
        archive.close()
    report = _kinds(dossier, expect=1)
    assert [f["kind"] for f in report["findings"]] == ["index-unreadable"]
    assert _kinds(dossier, "--repair", expect=0)["clean"]
    assert _kinds(dossier, expect=0)["clean"]
