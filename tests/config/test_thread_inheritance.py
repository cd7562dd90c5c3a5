"""A reply stored before the message it answers inherits that message's customers once it
arrives, in the database and in its index document (issue 20, item 6), whether the two arrive
in separate batches of one run (ordinary in an IMAP sync) or in separate runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import OWN, Dossier, make_message

PARENT = make_message(subject="Pump order", message_id="<parent@acme-industrial.com>",
                      sender="Jim <jim@acme-industrial.com>", to=f"anna@{OWN}", body="We need 40 pumps.")
# From an address no rule links (a stranger on free mail): the reply can only inherit Acme.
REPLY = make_message(subject="Re: Pump order", message_id="<reply@gmail.com>",
                     sender="Jim at home <jim.private@gmail.com>", to=f"anna@{OWN}",
                     body="Sent from home: make it fifty pumps.").replace(
    b"Message-ID: <reply@gmail.com>",
    b"Message-ID: <reply@gmail.com>\nIn-Reply-To: <parent@acme-industrial.com>")
# A reply to the reply, stored first of all: inheritance runs down the whole thread.
REPLY2 = make_message(subject="Re: Re: Pump order", message_id="<reply2@gmail.com>",
                      sender="Jim at home <jim.private@gmail.com>", to=f"anna@{OWN}",
                      body="Also six valves.").replace(
    b"Message-ID: <reply2@gmail.com>",
    b"Message-ID: <reply2@gmail.com>\nIn-Reply-To: <reply@gmail.com>")


@pytest.fixture
def acme(team: Dossier) -> Dossier:
    config = team.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 1"))
    team.run("customers", "add", "Acme Industrial", "--domain", "acme-industrial.com")
    return team


def _folder(root: Path, *messages: bytes) -> Path:
    root.mkdir(parents=True)
    for n, raw in enumerate(messages):
        (root / f"{n + 1}.eml").write_bytes(raw)  # imported in this order, one per batch
    return root


def _assert_thread_found_by_customer(d: Dossier) -> None:
    subjects = sorted(h["subject"] for h in d.json("search", "", "--customer", "Acme"))
    assert subjects == ["Pump order", "Re: Pump order", "Re: Re: Pump order"]
    assert d.json("search", "fifty", "--customer", "Acme")[0]["subject"] == "Re: Pump order"
    assert d.json("search", "valves", "--customer", "Acme")[0]["subject"] == "Re: Re: Pump order"
    check = d.json("check")
    assert check["clean"], d.run("check", expect=None).output


@pytest.mark.parametrize(("engine", "child_writer"), [("tantivy", False), ("whoosh", True), ("whoosh", False),
                                                     ("postgres", False)],
                         ids=["tantivy", "whoosh-child-writer", "whoosh-in-process-writer", "postgres"])
def test_replies_stored_before_their_parent_in_earlier_batches_of_the_same_run(
    acme: Dossier, tmp_path: Path, monkeypatch, child_writer: bool
):
    monkeypatch.setattr("index.whoosh_engine.USE_CHILD_WRITER", child_writer)
    report = acme.json("import", _folder(tmp_path / "mail", REPLY2, REPLY, PARENT))
    assert report["stored"] == 3
    _assert_thread_found_by_customer(acme)


def test_replies_stored_in_an_earlier_run_than_their_parent(acme: Dossier, tmp_path: Path):
    acme.json("import", _folder(tmp_path / "first", REPLY2, REPLY))
    assert acme.json("search", "", "--customer", "Acme") == []
    acme.json("import", _folder(tmp_path / "second", PARENT))
    _assert_thread_found_by_customer(acme)
