"""`dossier init` and `dossier import`: every kind of source, dedupe, failures kept, byte-exact raw store."""

from __future__ import annotations

import gzip
import mailbox
import os
import stat
from pathlib import Path

from sqlalchemy import select

from config import Archive, load_settings
from ingest import Message, MessageCopy
from tests.conftest import Dossier, make_message


def test_init_creates_private_data_dir_with_config_db_index_and_raw(tmp_path: Path):
    d = Dossier(tmp_path / "archive")
    d.run("init")
    assert stat.S_IMODE(os.stat(d.data_dir).st_mode) == 0o700
    config = (d.data_dir / "dossier.toml").read_text()
    assert "own_domains" in config and config.lstrip().startswith("#")
    assert (d.data_dir / "dossier.db").is_file()
    assert (d.data_dir / "index").is_dir() and (d.data_dir / "raw").is_dir()


def test_everything_written_is_private_to_the_owner(dossier: Dossier, tmp_path: Path):
    (tmp_path / "m.eml").write_bytes(make_message())
    dossier.json("import", tmp_path / "m.eml")
    for path in dossier.data_dir.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_init_honours_dossier_home(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DOSSIER_HOME", str(tmp_path / "home"))
    d = Dossier(tmp_path / "unused")
    d.run("init", data_dir=False)
    assert (tmp_path / "home" / "dossier.toml").exists()
    assert d.run("status", "--json", data_dir=False).exit_code == 0


def test_example_config_in_repo_is_the_one_init_writes():
    repo = Path(__file__).resolve().parents[2]
    assert (repo / "dossier.example.toml").read_text() == (repo / "config" / "dossier.example.toml").read_text()


def test_commands_accept_data_dir_after_the_command_name(dossier: Dossier):
    result = dossier.runner.invoke(
        __import__("config.cli", fromlist=["main"]).main,
        ["status", "--json", "--data-dir", str(dossier.data_dir)], catch_exceptions=False,
    )
    assert result.exit_code == 0 and '"messages": 0' in result.stdout


def _mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(str(path))
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


def test_import_mbox_counts_and_reimport_adds_nothing(dossier: Dossier, tmp_path: Path):
    msgs = [make_message(subject=f"Order {i}", message_id=f"<o{i}@example.org>") for i in range(5)]
    box = _mbox(tmp_path / "orders.mbox", msgs)
    first = dossier.json("import", box)
    assert first["seen"] == 5 and first["stored"] == 5 and first["duplicates"] == 0 and first["failed"] == 0
    again = dossier.json("import", box)
    assert again["seen"] == 5 and again["stored"] == 0 and again["duplicates"] == 5
    assert dossier.json("status")["messages"] == 5


def test_import_maildir_tree_records_folders(dossier: Dossier, tmp_path: Path):
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1700000000.1.host:2,S").write_bytes(make_message(subject="in", message_id="<a@x>"))
    (root / ".Sent" / "cur" / "1700000001.2.host:2,S").write_bytes(make_message(subject="out", message_id="<b@x>"))
    assert dossier.json("import", root, "--account", "anna")["stored"] == 2
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as s:
        copies = {(c.account, c.folder) for c in s.scalars(select(MessageCopy))}
    assert copies == {("anna", "INBOX"), ("anna", "Sent")}


def test_import_folder_of_eml_and_numbered_files_and_single_file(dossier: Dossier, tmp_path: Path):
    tree = tmp_path / "export" / "inbox"
    tree.mkdir(parents=True)
    (tree / "1").write_bytes(make_message(subject="numbered", message_id="<n1@x>"))
    (tree / "msg.eml").write_bytes(make_message(subject="eml file", message_id="<n2@x>"))
    single = tmp_path / "one.eml"
    single.write_bytes(make_message(subject="single", message_id="<n3@x>"))
    report = dossier.json("import", tmp_path / "export", single)
    assert report["stored"] == 3


def test_raw_bytes_are_kept_exactly_and_compressed(dossier: Dossier, tmp_path: Path):
    raw = make_message(subject="Exact", message_id="<exact@x>").replace(b"\n", b"\r\n") + b"\r\n\r\n  trailing  "
    (tmp_path / "exact.eml").write_bytes(raw)
    dossier.json("import", tmp_path / "exact.eml")
    hit = dossier.json("search", "Exact")[0]
    assert gzip.decompress(Path(hit["path"]).read_bytes()) == raw
    shown = dossier.run("show", hit["id"], "--raw")
    assert shown.stdout_bytes == raw


def test_same_message_id_with_different_bytes_is_kept_as_a_variant(dossier: Dossier, tmp_path: Path):
    (tmp_path / "a.eml").write_bytes(make_message(subject="first", message_id="<dup@x>"))
    (tmp_path / "b.eml").write_bytes(make_message(subject="second", message_id="<dup@x>"))
    assert dossier.json("import", tmp_path)["stored"] == 2
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as s:
        variants = s.scalars(select(Message.is_variant).where(Message.header_message_id == "dup@x")).all()
    assert variants == [True, True]
    result = dossier.run("show", "<dup@x>", expect=1)
    assert "shared by 2 messages" in result.output


def test_non_message_files_are_kept_and_reported_failed(dossier: Dossier, tmp_path: Path):
    folder = tmp_path / "outlook-export"
    folder.mkdir()
    outlook = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4
    (folder / "mail.msg").write_bytes(outlook)
    (folder / "notes.txt").write_bytes(b"just a line of text, no headers at all\n")
    (folder / "good.eml").write_bytes(make_message(message_id="<good@x>"))
    report = dossier.json("import", folder)
    assert report == {**report, "seen": 3, "stored": 1, "failed": 2, "duplicates": 0}
    status = dossier.json("status")
    assert status["failed"] == 2 and status["messages"] == 1
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as s:
        failed = s.scalars(select(Message).where(Message.status == "failed")).all()
    assert {archive.raw.get(m.sha256) for m in failed} >= {outlook}
    assert all(m.error for m in failed)
    # a re-import finds them already archived instead of failing them again
    assert dossier.json("import", folder)["duplicates"] == 3


def test_missing_date_falls_back_to_received_then_import_time(dossier: Dossier, tmp_path: Path):
    raw = make_message(date=None, message_id="<nodate@x>", subject="No date")
    raw = b"Received: from mx by host; Tue, 02 Jan 2024 10:00:00 +0800\n" + raw
    (tmp_path / "r.eml").write_bytes(raw)
    (tmp_path / "n.eml").write_bytes(make_message(date=None, message_id="<none@x>", subject="Nothing"))
    dossier.json("import", tmp_path)
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as s:
        by_subject = {m.subject: m for m in s.scalars(select(Message))}
    assert by_subject["No date"].date_source == "received"
    assert by_subject["No date"].date.isoformat() == "2024-01-02T02:00:00"
    assert by_subject["Nothing"].date_source == "import"


def test_date_is_normalised_to_utc_with_offset_kept(dossier: Dossier, tmp_path: Path):
    raw = make_message(message_id="<tz@x>").replace(b"Date: Tue, 05 Mar 2024 09:30:00 +0000",
                                                    b"Date: Tue, 05 Mar 2024 17:30:00 +0800")
    assert b"+0800" in raw
    (tmp_path / "tz.eml").write_bytes(raw)
    dossier.json("import", tmp_path / "tz.eml")
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions() as s:
        m = s.scalars(select(Message)).one()
    assert m.date.isoformat() == "2024-03-05T09:30:00" and m.date_offset == 480


def test_unreadable_path_is_one_clear_line(dossier: Dossier, tmp_path: Path):
    result = dossier.run("import", tmp_path / "nope.mbox", expect=1)
    assert "Traceback" not in result.output
    assert str(tmp_path / "nope.mbox") in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_import_without_init_says_to_run_init(tmp_path: Path):
    d = Dossier(tmp_path / "never-initialised")
    result = d.run("import", tmp_path, expect=1)
    assert "dossier init" in result.output and "Traceback" not in result.output


def test_unknown_config_key_is_rejected_with_the_key_named(dossier: Dossier):
    config = dossier.data_dir / "dossier.toml"
    # [import] is the last table of the template, so this line lands in it
    config.write_text(config.read_text() + "\nbatchsize = 3\n")
    result = dossier.run("status", expect=1)
    assert "unknown key 'batchsize'" in result.output and "batch_size" in result.output


def test_config_elsewhere_via_config_option(tmp_path: Path):
    d = Dossier(tmp_path / "data")
    cfg = tmp_path / "etc" / "dossier.toml"
    d.run("--config", cfg, "init")
    assert cfg.exists() and not (d.data_dir / "dossier.toml").exists()
    cfg.write_text('[linking]\nown_domains = ["northwind-trading.com"]\n')
    assert d.run("--config", cfg, "status", "--json").exit_code == 0


def test_data_dir_that_cannot_be_created_is_one_clear_line(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    d = Dossier(blocker / "data")
    result = d.run("init", expect=1)
    assert "cannot create the data directory" in result.output and "Traceback" not in result.output


def test_small_batches_commit_everything(dossier: Dossier, tmp_path: Path):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 2"))
    msgs = [make_message(subject=f"batch {i}", message_id=f"<b{i}@x>") for i in range(7)]
    report = dossier.json("import", _mbox(tmp_path / "b.mbox", msgs))
    assert report["stored"] == 7
    status = dossier.json("status")
    assert status["indexed"] == 7 and status["pending_index"] == 0 and status["index_documents"] == 7


def test_a_missing_second_path_stops_before_anything_is_imported(dossier: Dossier, tmp_path: Path):
    (tmp_path / "ok.eml").write_bytes(make_message())
    result = dossier.run("import", tmp_path / "ok.eml", tmp_path / "missing", expect=1)
    assert "missing" in result.output
    assert dossier.json("status")["messages"] == 0


def test_status_warns_when_the_index_lost_documents(dossier: Dossier, tmp_path: Path):
    import shutil

    (tmp_path / "ok.eml").write_bytes(make_message())
    dossier.json("import", tmp_path / "ok.eml")
    shutil.rmtree(dossier.data_dir / "index")
    result = dossier.run("status")
    assert "dossier reindex" in result.output


def test_index_pending_catches_up_every_unindexed_message(dossier: Dossier, tmp_path: Path):
    import shutil

    from sqlalchemy import update

    from config import index_pending

    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 2"))
    msgs = [make_message(subject=f"catch-up {i}", message_id=f"<c{i}@x>") for i in range(7)]
    dossier.json("import", _mbox(tmp_path / "c.mbox", msgs))
    shutil.rmtree(dossier.data_dir / "index")
    archive = Archive(load_settings(dossier.data_dir))
    with archive.sessions.begin() as s:
        s.execute(update(Message).values(indexed_at=None))
    assert index_pending(archive) == 7
    assert archive.index.doc_count() == 7
    assert index_pending(archive) == 0
    assert len(dossier.json("search", "catch-up")) == 7


def test_addresses_domains_and_content_types_of_any_length_are_stored(dossier: Dossier, tmp_path: Path):
    # PostgreSQL enforced the old VARCHAR lengths (320, 255): one such message aborted its batch.
    domain = ".".join(["sub" + "d" * 60] * 5) + ".example"  # 331 characters
    long_local = "x" * 330
    hostile = "h" * 5000  # an address no mail system makes: kept cut, and the cut recorded
    raw = make_message(sender=f"Long <{long_local}@{domain}>", to=f"bob@northwind-trading.com, {hostile}@evil.example",
                       message_id="<long@x>", subject="long parts",
                       attachments=(("a.bin", b"data", "application/x-" + "y" * 300),))
    (tmp_path / "long.eml").write_bytes(raw)
    (tmp_path / "next.eml").write_bytes(make_message(message_id="<next@x>", subject="next"))
    report = dossier.json("import", tmp_path)
    assert (report["stored"], report["failed"]) == (2, 0)
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with archive.sessions() as s:
            message = s.scalars(select(Message).where(Message.subject == "long parts")).one()
            assert message.from_email == f"{long_local}@{domain}"
            assert {p.domain for p in message.participants} >= {domain}
            assert message.attachments[0].content_type == "application/x-" + "y" * 300
            cut = [p.email for p in message.participants if p.email.startswith("hhh")]
            assert cut and len(cut[0].encode()) <= 1000
            assert any("5013 characters kept as its first 1000" in d for d in message.defects)
    finally:
        archive.close()
    assert [h["subject"] for h in dossier.json("search", "--from", domain)] == ["long parts"]
