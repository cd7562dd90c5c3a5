"""Tests for ingest.sources: what each kind of path on disk yields, byte for byte."""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest

from ingest.errors import SourceError
from ingest.message import RawItem
from ingest.sources import count_messages, detect_kind, iter_source

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

ENVELOPE = b"From MAILER-DAEMON Thu Aug 22 12:36:23 2002"


def message(subject: str, body: str = "Hello.", eol: bytes = b"\n") -> bytes:
    lines = ["From: a@example.com", f"Subject: {subject}", "", body]
    return eol.join(line.encode() for line in lines) + eol


def mbox_bytes(*messages: bytes, eol: bytes = b"\n") -> bytes:
    return b"".join(ENVELOPE + eol + data + eol for data in messages)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def collect(path: Path) -> list[RawItem]:
    return list(iter_source(path))


# --- mbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_mbox_yields_each_message_byte_exact(tmp_path: Path, eol: bytes) -> None:
    messages = [message(f"m{n}", eol=eol) for n in range(1, 4)]
    path = write(tmp_path / "Customers.mbox", mbox_bytes(*messages, eol=eol))

    items = collect(path)

    assert [item.data for item in items] == messages
    assert [item.origin for item in items] == [f"{path}#1", f"{path}#2", f"{path}#3"]
    assert {item.folder for item in items} == {"Customers"}


def test_mbox_with_byte_order_mark_before_first_envelope(tmp_path: Path) -> None:
    messages = [message("one"), message("two")]
    path = write(tmp_path / "bom.mbox", b"\xef\xbb\xbf" + mbox_bytes(*messages))

    assert [item.data for item in collect(path)] == messages


def test_from_line_in_body_that_is_no_envelope_does_not_split(tmp_path: Path) -> None:
    body = (
        "My favourite film:\n\nFrom Russia with love\n\nFrom here on, 10 days left.\n"
        "Minutes\nFrom Dave Mon 10:30: a date, but no blank line before it."
    )
    messages = [message("films", body), message("next")]
    path = write(tmp_path / "films.mbox", mbox_bytes(*messages))

    items = collect(path)

    assert [item.data for item in items] == messages


def test_quoted_from_lines_are_kept_verbatim(tmp_path: Path) -> None:
    quoted = message("quoted", "Line one\n\n>From MAILER-DAEMON Thu Aug 22 12:36:23 2002\n>From me")
    path = write(tmp_path / "quoted.mbox", mbox_bytes(quoted, message("after")))

    items = collect(path)

    assert len(items) == 2
    assert items[0].data == quoted
    assert b"\n>From MAILER-DAEMON" in items[0].data


def test_truncated_last_message_is_yielded_as_it_is(tmp_path: Path) -> None:
    first = message("whole")
    cut = b"From: b@example.com\nSubj"
    path = write(tmp_path / "cut.mbox", mbox_bytes(first) + ENVELOPE + b"\n" + cut)

    items = collect(path)

    assert [item.data for item in items] == [first, cut]


def test_thunderbird_envelopes_without_blank_line_or_date_split(tmp_path: Path) -> None:
    first, second = message("one"), message("two")
    data = b"From - \n" + first + b"From - Mon Jan  1 00:00:00 2001\n" + second
    path = write(tmp_path / "Inbox.mbox", data)

    assert [item.data for item in collect(path)] == [first, second]


def test_envelope_forms_with_double_space_and_timezone_split(tmp_path: Path) -> None:
    first, second, third = message("one"), message("two"), message("three")
    data = (
        b"From user@host  Thu Aug 22 12:36:23 2002\n" + first + b"\n"
        b"From 1234@xxx Sat Aug 22 12:36:23 +0000 2020\n" + second + b"\n"
        b"From - Mon Jan 1 10:00:00 2001\n" + third
    )
    path = write(tmp_path / "forms.mbox", data)

    assert [item.data for item in collect(path)] == [first, second, third]


def test_empty_mbox_file_is_an_empty_mailbox(tmp_path: Path) -> None:
    path = write(tmp_path / "Drafts.mbox", b"")

    assert detect_kind(path) == "mbox"
    assert collect(path) == []
    assert count_messages(path) == 0


# --- single files ----------------------------------------------------------------------------


def test_eml_with_envelope_line_yields_the_whole_file(tmp_path: Path) -> None:
    data = b"From user@host  Thu Aug 22 12:36:23 2002\n" + message("one")
    path = write(tmp_path / "00001.abc.eml", data)

    items = collect(path)

    assert items == [RawItem(data=data, folder="", origin=str(path))]
    assert detect_kind(path) == "file"


def test_file_without_extension_holding_one_enveloped_message_is_whole(tmp_path: Path) -> None:
    data = mbox_bytes(message("only"))
    path = write(tmp_path / "17", data)

    assert detect_kind(path) == "file"
    assert [item.data for item in collect(path)] == [data]


def test_file_without_extension_holding_two_messages_is_an_mbox(tmp_path: Path) -> None:
    messages = [message("one"), message("two")]
    path = write(tmp_path / "Sent", mbox_bytes(*messages))

    assert detect_kind(path) == "mbox"
    items = collect(path)
    assert [item.data for item in items] == messages
    assert {item.folder for item in items} == {"Sent"}


def test_eml_with_two_envelopes_stays_one_message(tmp_path: Path) -> None:
    data = mbox_bytes(message("one"), message("two"))
    path = write(tmp_path / "two.eml", data)

    assert [item.data for item in collect(path)] == [data]


@pytest.mark.parametrize(
    "data",
    [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4, b"just a line of text", b""],
    ids=["outlook-msg", "text", "empty"],
)
def test_file_that_is_no_message_is_still_yielded(tmp_path: Path, data: bytes) -> None:
    tree = tmp_path / "export"
    write(tree / "a.eml", message("real"))
    junk = write(tree / "mail_outlook_1", data)

    items = collect(tree)

    assert RawItem(data=data, folder="export", origin=str(junk)) in items
    assert len(items) == 2


# --- Maildir ---------------------------------------------------------------------------------


def test_maildir_with_maildirpp_subfolders_names_folders(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    write(root / "cur" / "1220863042.12663_1.mindcrime!2,S", message("cur"))
    write(root / "new" / "1220863087.12663_9.mindcrime", message("new"))
    write(root / "tmp" / "1220863087.12663.ignore", message("tmp"))
    write(root / ".Sent" / "cur" / "17:2,S", message("sent"))
    write(root / ".Sent" / "new" / ".unknown", b"")  # a dot name in new/: not a message by convention
    write(root / ".Customers.Acme" / "cur" / "a;b=c!2,RS", message("acme"))
    write(root / ".Customers.Acme" / "new" / "x", message("acme2"))
    write(root / ".Kund&AOQ-r" / "cur" / "1", message("umlaut"))
    (root / ".Kund&AOQ-r" / "new").mkdir()
    for metadata in ("dovecot-uidlist", "dovecot.index.log", ".uidvalidity", "subscriptions",
                     "courierimapuiddb", ".DS_Store", ".Sent/maildirfolder"):
        write(root / metadata, b"metadata")

    items = collect(root)

    assert detect_kind(root) == "maildir"
    assert Counter(item.folder for item in items) == {
        "INBOX": 3, "Sent": 1, "Customers/Acme": 2, "Kundär": 1,
    }
    assert not any("dovecot" in item.origin or "uidvalidity" in item.origin for item in items)
    assert str(root / "cur" / "1220863042.12663_1.mindcrime!2,S") in {item.origin for item in items}
    assert count_messages(root) == len(items)


def test_maildir_inside_tree_is_named_by_its_path(tmp_path: Path) -> None:
    tree = tmp_path / "backup"
    write(tree / "alice" / "Mail" / "cur" / "1:2,S", message("alice cur"))
    write(tree / "alice" / "Mail" / "new" / "2", message("alice new"))
    write(tree / "alice" / "Mail" / ".Sent" / "cur" / "3:2,S", message("alice sent"))
    write(tree / "bob" / "Foo" / "cur" / "mail1", message("bob, only cur survived the copy"))

    items = collect(tree)

    assert detect_kind(tree) == "tree"
    assert Counter(item.folder for item in items) == {
        "alice/Mail": 2, "alice/Mail/Sent": 1, "bob/Foo": 1,
    }


# --- trees -----------------------------------------------------------------------------------


def test_tree_of_numbered_and_flagged_files_in_nested_folders(tmp_path: Path) -> None:
    tree = tmp_path / "allen-p"
    for name in ("10", "2", "1"):
        write(tree / "inbox" / name, message(f"inbox {name}"))
    write(tree / "inbox" / "junk_file" / "1", message("junk"))
    write(tree / "sent" / "17:2,", message("sent"))
    write(tree / "note.eml", message("root"))

    items = collect(tree)

    assert [(Path(item.origin).relative_to(tree).as_posix(), item.folder) for item in items] == [
        ("note.eml", "allen-p"),
        ("inbox/1", "inbox"),
        ("inbox/2", "inbox"),
        ("inbox/10", "inbox"),
        ("inbox/junk_file/1", "inbox/junk_file"),
        ("sent/17:2,", "sent"),
    ]
    assert items[1].data == message("inbox 1")
    assert count_messages(tree) == 6


def test_mbox_files_in_tree_are_split_and_named_by_relative_path(tmp_path: Path) -> None:
    tree = tmp_path / "export"
    write(tree / "enron.allen-p.inbox.mbox", mbox_bytes(message("a"), message("b")))
    write(tree / "Local Folders" / "Archive.mbx", mbox_bytes(message("c")))
    write(tree / "Local Folders" / "Inbox", mbox_bytes(message("d"), message("e")))
    write(tree / "Local Folders" / "Inbox.msf", b"// <!-- <mdb:mork:z v=\"1.4\"/> -->")
    write(tree / "single", mbox_bytes(message("f")))

    items = collect(tree)

    assert Counter(item.folder for item in items) == {
        "enron.allen-p.inbox": 2, "Local Folders/Archive": 1, "Local Folders/Inbox": 2, "export": 1,
    }
    assert count_messages(tree) == len(items) == 6


def test_directory_symlinks_are_not_followed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "a" / "1", message("one"))
    (tree / "a" / "loop").symlink_to(tree, target_is_directory=True)

    items = collect(tree)

    assert [item.folder for item in items] == ["a"]


# --- errors ----------------------------------------------------------------------------------


def assert_one_line_naming(error: pytest.ExceptionInfo[SourceError], path: Path) -> None:
    text = str(error.value)
    assert "\n" not in text
    assert str(path) in text


def test_missing_path_is_a_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mbox"

    with pytest.raises(SourceError) as error:
        iter_source(missing)

    assert_one_line_naming(error, missing)
    assert "check the path" in str(error.value)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_a_source_error(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.mbox", mbox_bytes(message("x")))
    path.chmod(0)

    with pytest.raises(SourceError) as error:
        iter_source(path)

    assert_one_line_naming(error, path)
    assert "permission denied" in str(error.value)


def test_symlink_loop_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "loop"
    path.symlink_to(path)

    with pytest.raises(SourceError) as error:
        detect_kind(path)

    assert_one_line_naming(error, path)


@pytest.mark.parametrize(
    "metadata", [[], ["dovecot-uidlist", ".DS_Store"]], ids=["empty", "metadata-only"]
)
def test_directory_without_files_is_a_source_error(tmp_path: Path, metadata: list[str]) -> None:
    root = tmp_path / "Maildir"
    for part in ("cur", "new", "tmp"):
        (root / part).mkdir(parents=True)
    for name in metadata:
        write(root / name, b"x")

    with pytest.raises(SourceError) as error:
        iter_source(root)

    assert_one_line_naming(error, root)


def test_file_vanishing_during_iteration_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in ("1", "2", "3"):
        write(tree / name, message(name))
    failures: list[tuple[str, str]] = []

    def record(origin: str, reason: str) -> None:
        failures.append((origin, reason))

    items = []
    for item in iter_source(tree, on_error=record):
        items.append(item)
        if len(items) == 1:
            (tree / "2").unlink()

    assert [item.data for item in items] == [message("1"), message("3")]
    assert failures == [(str(tree / "2"), "no such file or folder; check the path")]


def test_file_vanishing_without_a_handler_raises_source_error(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in ("1", "2"):
        write(tree / name, message(name))
    items = iter_source(tree)
    next(items)
    (tree / "2").unlink()

    with pytest.raises(SourceError) as error:
        next(items)

    assert_one_line_naming(error, tree / "2")


def test_fifo_in_tree_is_reported_not_read(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "1", message("1"))
    os.mkfifo(tree / "pipe")
    failures: list[str] = []

    items = list(iter_source(tree, on_error=lambda origin, reason: failures.append(origin)))

    assert len(items) == 1
    assert failures == [str(tree / "pipe")]


# --- detection and counting ------------------------------------------------------------------


def make_sources(root: Path) -> dict[str, Path]:
    maildir = root / "Maildir"
    write(maildir / "cur" / "1:2,S", message("a"))
    (maildir / "new").mkdir()
    return {
        "mbox": write(root / "archive.mbox", mbox_bytes(message("a"), message("b"), message("c"))),
        "maildir": maildir,
        "tree": write(root / "tree" / "sub" / "1", message("a")).parent.parent,
        "file": write(root / "one.eml", message("a")),
    }


@pytest.mark.parametrize("kind", ["mbox", "maildir", "tree", "file"])
def test_detect_kind_and_count_match_what_is_yielded(tmp_path: Path, kind: str) -> None:
    path = make_sources(tmp_path)[kind]

    assert detect_kind(path) == kind
    assert count_messages(path) == len(collect(path))


def test_detect_kind_sniffs_content_not_only_the_name(tmp_path: Path) -> None:
    disguised = write(tmp_path / "mail.txt", mbox_bytes(message("a"), message("b")))
    plain = write(tmp_path / "notes.mbox.txt", message("a"))

    assert detect_kind(disguised) == "mbox"
    assert detect_kind(plain) == "file"


# --- the shared corpus -----------------------------------------------------------------------


def manifest_rows(prefix: str) -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row for row in rows if row["path"].startswith(prefix)]


@pytest.mark.corpus
def test_corpus_sources_yield_every_message() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS}")

    mbox_items = list(iter_source(CORPUS / "enron" / "mbox"))
    assert len(mbox_items) == 3688
    assert len({item.origin.rpartition("#")[0] for item in mbox_items}) == 24
    assert len({item.folder for item in mbox_items}) == 24
    assert count_messages(CORPUS / "enron" / "mbox") == 3688

    maildir_items = list(iter_source(CORPUS / "enron" / "maildir"))
    assert len(maildir_items) == 4230
    assert count_messages(CORPUS / "enron" / "maildir") == 4230

    mu_items = list(iter_source(CORPUS / "mime_edge" / "mu"))
    expected = {
        str(CORPUS / row["path"]): row["sha256"] for row in manifest_rows("mime_edge/mu/")
    }
    assert {item.origin: hashlib.sha256(item.data).hexdigest() for item in mu_items} == expected
    assert len(mu_items) == len(expected) == 48


def test_maildir_dotfiles_and_vcs_placeholders_are_not_messages(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "tmp" / ".gitkeep").write_bytes(b"")
    (root / "cur" / ".hidden-by-convention").write_bytes(b"junk")
    (root / "cur" / "1700000000.1.host:2,S").write_bytes(b"From: a@b.example\n\nhi\n")
    tree = tmp_path / "export"
    tree.mkdir()
    (tree / ".gitkeep").write_bytes(b"")
    (tree / "a.eml").write_bytes(b"From: a@b.example\n\nhi\n")
    assert [i.origin for i in iter_source(root)] == [str(root / "cur" / "1700000000.1.host:2,S")]
    assert count_messages(root) == 1
    assert [i.origin for i in iter_source(tree)] == [str(tree / "a.eml")]
