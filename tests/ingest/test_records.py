"""Message persistence on a real SQLite database: rows, failures, copies, variants, participants,
indexed marks; and that none of these functions commits."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import (
    Message,
    MessageCopy,
    ParticipantRow,
    RawItem,
    add_copy,
    extract_attachments,
    hash_bytes,
    mark_variants,
    parse_message,
    read_message,
    record_reading,
    save_participants,
    set_indexed_at,
    store_failed,
    store_message,
)
from tests.conftest import make_message

NOW = datetime(2025, 6, 1, 12, 0)


def _item(raw: bytes, folder: str = "INBOX", **imap) -> RawItem:
    return RawItem(data=raw, folder=folder, origin=f"/mail/{folder}/1", **imap)


def _store(session: Session, raw: bytes, **imap) -> Message:
    item = _item(raw, **imap)
    parsed = parse_message(raw)
    message = store_message(session, item, hash_bytes(raw), parsed, read_message(parsed), NOW)
    session.flush()
    return message


def _committed(session: Session, model) -> int:
    """Rows of ``model`` another connection sees: only what was committed."""
    with Session(session.get_bind()) as other:
        return other.scalar(select(func.count()).select_from(model))


def test_a_parsed_message_is_stored_with_its_attachments_and_nothing_is_committed(session: Session):
    raw = make_message(subject="报价单 Q7", sender="Li Wei <li.wei@acme.com>",
                       attachments=(("Q7.pdf", b"%PDF-1.4", "application/pdf"), ("a.txt", b"x", "text/plain")))
    message = _store(session, raw)
    assert (message.status, message.subject, message.from_email) == ("ok", "报价单 Q7", "li.wei@acme.com")
    assert (message.date, message.date_source, message.stored_at) == (datetime(2024, 3, 5, 9, 30), "date", NOW)
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("Q7.pdf", "application/pdf"), ("a.txt", "text/plain")]
    assert [a.text_status for a in message.attachments] == [None, None]  # their text was not read
    assert message.copies == []
    assert _committed(session, Message) == 0
    session.commit()
    assert _committed(session, Message) == 1


def test_how_each_attachment_was_read_is_kept_on_its_row(session: Session):
    raw = make_message(attachments=(("broken.pdf", b"%PDF-1.4 not really", "application/pdf"),
                                    ("note.txt", "单价 88 美元".encode(), "text/plain")))
    parsed = parse_message(raw)
    reading = read_message(parsed, extract_attachments(parsed.attachments))
    message = store_message(session, _item(raw), hash_bytes(raw), parsed, reading, NOW)
    statuses = [a.text_status for a in message.attachments]
    assert statuses[0].startswith("failed:") and statuses[1] == "ok"
    for row in message.attachments:  # as for mail stored before attachment text was read
        row.text_status = None
    record_reading(message, reading)  # what a re-index does
    assert [a.text_status for a in message.attachments] == statuses


def test_a_message_without_a_date_takes_the_imap_internaldate_else_the_import_time(session: Session):
    undated = make_message(date=None, message_id="<nodate@x>")
    served = _store(session, undated, uid=4, internaldate=datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc))
    assert (served.date, served.date_source, served.date_offset) == (datetime(2024, 1, 2, 3, 4), "server", 0)
    local = _store(session, undated + b"\n")
    assert (local.date, local.date_source) == (NOW, "import")


def test_message_ids_longer_than_a_header_line_are_cut(session: Session):
    long_id = "<" + "x" * 1200 + "@x>"
    message = _store(session, make_message(message_id=long_id))
    assert len(message.header_message_id) == 998


def test_a_message_that_failed_to_parse_is_kept_with_its_reason(session: Session):
    raw = b"not a message at all"
    message = store_failed(session, _item(raw), hash_bytes(raw), NOW, "no headers")
    session.flush()
    assert (message.status, message.error, message.size, message.date) == ("failed", "no headers", len(raw), NOW)
    assert _committed(session, Message) == 0


def test_participants_are_saved_in_one_statement_once_messages_have_ids(session: Session):
    raw = make_message(to="Bob <bob@own.com>", cc="Carol <carol@acme.com>")
    message = _store(session, raw)
    save_participants(session, [(message, parse_message(raw))])
    rows = session.execute(select(ParticipantRow.role, ParticipantRow.email, ParticipantRow.domain)
                           .order_by(ParticipantRow.id)).all()
    assert rows == [("from", "alice@example.org", "example.org"), ("to", "bob@own.com", "own.com"),
                    ("cc", "carol@acme.com", "acme.com")]
    assert _committed(session, ParticipantRow) == 0


def test_variants_share_a_message_id_with_other_bytes_stored_before_or_alongside(session: Session):
    earlier = _store(session, make_message(body="first", message_id="<same@x>"))
    mark_variants(session, [earlier])
    assert earlier.is_variant is False
    later = _store(session, make_message(body="second", message_id="<same@x>"))
    alone = _store(session, make_message(body="other", message_id="<other@x>"))
    mark_variants(session, [later, alone])
    assert (earlier.is_variant, later.is_variant, alone.is_variant) == (True, True, False)


def test_one_copy_per_folder_and_an_imap_copy_follows_the_server(session: Session):
    raw = make_message()
    message = _store(session, raw)
    inbox = add_copy(session, message, "work", _item(raw, "INBOX"), NOW)
    assert add_copy(session, message, "work", _item(raw, "INBOX"), NOW) is inbox
    archive = add_copy(session, message, "work", _item(raw, "Archive"), NOW)
    assert archive is not inbox and (inbox.uid, inbox.flags) == (None, None)
    session.commit()

    later = datetime(2025, 7, 1)
    fetched = _item(raw, "INBOX", uid=9, flags=("\\Seen",), labels=("Customers",),
                    internaldate=datetime(2025, 1, 1, tzinfo=timezone.utc))
    again = add_copy(session, session.get(Message, message.id), "work", fetched, later)  # from the database
    assert again.id == inbox.id
    assert (again.uid, again.flags, again.labels, again.internaldate) == (
        9, ["\\Seen"], ["Customers"], datetime(2025, 1, 1))
    assert session.scalar(select(func.count()).select_from(MessageCopy)) == 2


def test_indexed_marks_cover_any_number_of_ids(session: Session):
    raw = make_message()
    parsed = parse_message(raw)
    for n in range(1203):  # more than two IN lists' worth
        body = raw + b"\n" * n
        store_message(session, _item(body), hash_bytes(body), parsed, read_message(parsed), NOW)
    session.flush()
    ids = list(session.scalars(select(Message.id)))
    set_indexed_at(session, ids, NOW)
    assert session.scalar(select(func.count()).where(Message.indexed_at == NOW)) == 1203
    set_indexed_at(session, ids[:600], None)
    assert session.scalar(select(func.count()).where(Message.indexed_at.is_(None))) == 600
    assert _committed(session, Message) == 0


def test_the_quote_reading_found_is_kept_on_the_message_and_its_attachments(session: Session):
    raw = make_message(subject="Documents", attachments=(("Q8.txt", b"PROFORMA INVOICE\nEUR 300", "text/plain"),
                                                         ("terms.txt", b"Delivery terms", "text/plain")))
    parsed = parse_message(raw)
    reading = read_message(parsed, extract_attachments(parsed.attachments))
    message = store_message(session, _item(raw), hash_bytes(raw), parsed, reading, NOW)
    session.flush()
    assert message.quote_term == "pro forma invoice"
    assert [(a.filename, a.is_quote) for a in message.attachments] == [("Q8.txt", True), ("terms.txt", False)]
    record_reading(message, read_message(parsed))  # read again without attachment text: no longer a quote
    assert message.quote_term is None and not any(a.is_quote for a in message.attachments)
