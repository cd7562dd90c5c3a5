"""Writers that share the archive (nodes on PostgreSQL share its write lock): a batch that another
writer stored part of in the same moment is saved again, and a reply and the message it answers
stored by two writers at once still end up linked."""

from __future__ import annotations

from pathlib import Path

import config.pipeline as pipeline
from config import Archive, import_paths, load_settings
from ingest import Message, RawItem
from tests.conftest import OWN, Dossier, make_message

PARENT = make_message(subject="Pump order", message_id="<parent@acme-industrial.com>",
                      sender="Jim <jim@acme-industrial.com>", to=f"anna@{OWN}", body="We need 40 pumps.")
REPLY = make_message(subject="Re: Pump order", message_id="<reply@gmail.com>",
                     sender="Jim at home <jim.private@gmail.com>", to=f"anna@{OWN}", body="Make it fifty.").replace(
    b"Message-ID: <reply@gmail.com>", b"Message-ID: <reply@gmail.com>\nIn-Reply-To: <parent@acme-industrial.com>")


def _folder(root: Path, *messages: bytes) -> Path:
    root.mkdir(parents=True)
    for n, raw in enumerate(messages):
        (root / f"{n + 1}.eml").write_bytes(raw)
    return root


def test_a_batch_another_writer_stored_at_the_same_moment_is_saved_again(team: Dossier, tmp_path: Path,
                                                                        monkeypatch):
    archive, other = (Archive(load_settings(team.data_dir)) for _ in range(2))
    read = pipeline.Importer._read

    def meanwhile(importer_, items):
        batch = read(importer_, items)  # this writer found the message new ...
        if not meanwhile.done:
            meanwhile.done = True  # ... and another writer commits it before this one can
            with pipeline.Importer(other, "elsewhere") as importer:
                importer.add_batch([RawItem(data=PARENT, folder="INBOX", origin="elsewhere")])
        return batch

    meanwhile.done = False
    monkeypatch.setattr(pipeline.Importer, "_read", meanwhile)
    report = import_paths(archive, [_folder(tmp_path / "mail", PARENT, make_message(message_id="<two@x>"))])
    assert (report.stored, report.duplicates, report.seen) == (1, 1, 2)
    with archive.sessions() as session:
        parent = session.query(Message).filter_by(header_message_id="parent@acme-industrial.com").one()
        assert {c.account for c in parent.copies} == {"elsewhere", "local"}
    for a in (archive, other):
        a.close()
    assert team.json("check")["clean"]


def test_a_reply_and_its_parent_stored_by_two_writers_at_once_are_linked_after_both_commit(
        team: Dossier, tmp_path: Path, monkeypatch):
    team.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")
    archive = Archive(load_settings(team.data_dir))
    monkeypatch.setattr(Archive, "shares_writes", property(lambda self: True))  # as on PostgreSQL
    import_paths(archive, [_folder(tmp_path / "reply", REPLY)])
    # The parent's writer saved it in a transaction that began before the reply's committed: the
    # batch's own look for replies found none. What it does once committed must find the reply.
    relink_replies = pipeline.relink_replies
    calls: list[int] = []

    def unseen_in_the_batch(session, directory, messages):
        calls.append(1)
        return set() if len(calls) == 1 else relink_replies(session, directory, messages)

    monkeypatch.setattr(pipeline, "relink_replies", unseen_in_the_batch)
    import_paths(archive, [_folder(tmp_path / "parent", PARENT)])
    archive.close()
    assert len(calls) == 2
    # The parent's writer linked the reply once both had committed.
    assert [h["subject"] for h in team.json("search", "fifty", "--customer", "Acme")] == ["Re: Pump order"]
    assert team.json("check")["clean"]
