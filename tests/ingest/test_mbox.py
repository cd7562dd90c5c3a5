"""Tests for ingest.mbox: splitting generated Takeout and mboxo files, against Python's mailbox."""

from __future__ import annotations

import mailbox
import random
from pathlib import Path

import pytest

from ingest.mbox import gmail_labels, split_mbox
from ingest.sources import count_messages, iter_source

LABELS = ["Inbox", "Important", "Opened", "Category Personal", "Customers/Acme", "报价", '"Orders, 2024"']


def takeout_message(n: int, rng: random.Random) -> bytes:
    """A message as Google Takeout writes it: X-GM-THRID and X-Gmail-Labels first, a body that
    sometimes holds mbox-quoted ``>From`` lines, sometimes multipart with an HTML part."""
    labels = ",".join(rng.sample(LABELS, rng.randint(1, 3)))
    head = (
        f"X-GM-THRID: {1844347839636459560 + n}\n"
        f"X-Gmail-Labels: {labels}\n"
        f"Delivered-To: anna@northwind-trading.com\n"
        f"From: Buyer {n} <buyer{n}@acme.example>\n"
        f"To: anna@northwind-trading.com\n"
        f"Subject: order {n}\n"
        f"Date: Mon, 3 Mar 2025 10:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <takeout{n}@acme.example>\n"
        "MIME-Version: 1.0\n"
    )
    body = f"Hello,\n\nplease confirm order {n}.\n\n>From the warehouse: 20 pallets.\n"
    if n % 3 == 0:
        boundary = f"b{n}"
        return (head + f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
                f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
                f"--{boundary}\nContent-Type: text/html; charset=utf-8\n\n<p>please confirm order {n}</p>\n"
                f"--{boundary}--\n").encode()
    return (head + "Content-Type: text/plain; charset=utf-8\n\n" + body).encode()


def takeout_mbox(count: int, seed: int = 3) -> tuple[bytes, list[bytes]]:
    rng = random.Random(seed)
    messages = [takeout_message(n, rng) for n in range(count)]
    out = b""
    for n, data in enumerate(messages):
        # Takeout's envelopes: an id and "@xxx", with or without a date.
        envelope = f"From {1844347839636459560 + n}@xxx" + (" Mon Mar 03 10:00:00 +0000 2025" if n % 2 else "")
        out += envelope.encode() + b"\n" + data + b"\n"
    return out, messages


def mboxo_message(n: int, *, quoted: bool) -> bytes:
    # A body paragraph starting "From " after a blank line, with a day and a time in it: the
    # mboxo writer should have quoted it as ">From"; a careless one leaves it.
    line = f"From next Mon at 10:{n % 60:02d} we move to the new office, {n} Harbour Road."
    mark = ">" if quoted else ""
    body = f"Dear all,\n\n{mark}{line}\nBring your badge.\n\n{mark}From here on, call 5550{n}.\n"
    return (f"From: office{n}@acme.example\nTo: all@acme.example\nSubject: move {n}\n"
            f"Date: Tue, 4 Mar 2025 09:00:00 +0000\nMessage-ID: <move{n}@acme.example>\n\n{body}").encode()


def mboxo(count: int, *, quoted: bool) -> tuple[bytes, list[bytes]]:
    messages = [mboxo_message(n, quoted=quoted) for n in range(count)]
    out = b"".join(b"From MAILER-DAEMON Tue Mar  4 09:00:00 2025\n" + m + b"\n" for m in messages)
    return out, messages


def reference(path: Path) -> list[bytes]:
    """The messages Python's mailbox module splits ``path`` into, without their envelopes."""
    box = mailbox.mbox(str(path), create=False)
    try:
        return [box.get_bytes(key) for key in box.keys()]
    finally:
        box.close()


def test_takeout_mbox_with_dateless_envelopes_splits_as_the_reference_does(tmp_path: Path) -> None:
    data, messages = takeout_mbox(40)
    path = tmp_path / "All mail Including Spam and Trash.mbox"
    path.write_bytes(data)

    items = list(iter_source(path))

    assert [item.data for item in items] == reference(path) == messages
    assert count_messages(path) == 40
    assert all(item.folder == "All mail Including Spam and Trash" for item in items)
    assert all(item.notes == () for item in items)


def test_takeout_labels_are_read_decoded_and_in_order(tmp_path: Path) -> None:
    data = (b"X-GM-THRID: 1\nX-Gmail-Labels: Inbox,Important,\n =?UTF-8?B?5oql5Lu3?=,\"Orders, 2024\"\n"
            b"From: a@example.com\nSubject: s\n\nbody\nX-Gmail-Labels: not,a,header\n")
    path = tmp_path / "takeout.mbox"
    path.write_bytes(b"From 1@xxx\n" + data)

    (item,) = iter_source(path)

    assert item.labels == ("Inbox", "Important", "报价", "Orders, 2024")
    assert gmail_labels(b"From: a@example.com\n\nX-Gmail-Labels: body\n") == ()


def test_unquoted_from_paragraph_in_mboxo_body_does_not_split(tmp_path: Path) -> None:
    data, messages = mboxo(25, quoted=False)
    path = tmp_path / "office.mbox"
    path.write_bytes(data)

    items = list(iter_source(path))

    assert [item.data for item in items] == messages
    # The fixture really holds the trap: Python's mailbox splits at every such line.
    assert len(reference(path)) > 25


def test_quoted_mboxo_file_splits_as_the_reference_does(tmp_path: Path) -> None:
    data, messages = mboxo(25, quoted=True)
    path = tmp_path / "office.mbox"
    path.write_bytes(data)

    assert [item.data for item in iter_source(path)] == reference(path) == messages


def test_envelope_without_header_block_after_it_is_body_text(tmp_path: Path) -> None:
    # An exact asctime envelope inside a body (no blank line before it, prose after it).
    first = (b"From: a@example.com\nSubject: log\n\nThe old header read:\n"
             b"From MAILER-DAEMON Thu Aug 22 12:36:23 2002\nand then the body went on.\n")
    second = b"From: b@example.com\nSubject: next\n\nHello.\n"
    path = tmp_path / "log.mbox"
    path.write_bytes(b"From x Thu Aug 22 12:36:23 2002\n" + first + b"\nFrom y\n" + second)

    assert [item.data for item in iter_source(path)] == [first, second]


def test_messages_run_together_without_envelopes_are_noted(tmp_path: Path) -> None:
    one = b"From: a@example.com\nSubject: one\nMessage-ID: <1@x>\n\nFirst.\n"
    two = b"From: b@example.com\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nMessage-ID: <2@x>\n\nSecond.\n"
    three = b"Received: by mx\nFrom: c@example.com\nMessage-ID: <3@x>\n\nThird.\n"
    forwarded = (b"From: d@example.com\nSubject: fwd\nMessage-ID: <4@x>\nContent-Type: multipart/mixed; boundary=b\n"
                 b"\n--b\nContent-Type: message/rfc822\n\nFrom: e@example.com\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n"
                 b"Message-ID: <5@x>\n\nInner.\n--b--\n")
    path = tmp_path / "joined.mbox"
    # A writer that dropped the envelopes between the first three messages.
    path.write_bytes(b"From - \n" + one + b"\n" + two + b"\n" + three + b"\nFrom - \n" + forwarded)

    items = list(iter_source(path))

    assert len(items) == 2
    assert "2 more header block(s)" in items[0].notes[0]
    assert items[1].notes == ()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_split_holds_bytes_exactly_with_either_line_ending(tmp_path: Path, eol: bytes) -> None:
    data, messages = takeout_mbox(6)
    data, messages = data.replace(b"\n", eol), [m.replace(b"\n", eol) for m in messages]
    path = tmp_path / "crlf.mbox"
    path.write_bytes(data)

    with path.open("rb") as stream:
        assert [m.data for m in split_mbox(stream)] == messages
