"""Conversations, quoted replies and quote amounts: the pure helpers."""

from __future__ import annotations

from datetime import datetime

import pytest

from ingest import ThreadItem, find_amounts, group_threads, normalize_subject, split_reply


@pytest.mark.parametrize(("subject", "expected"), [
    ("Re: Quote", "quote"),
    ("RE: Fwd: RE[2]: Quote  for  valves", "quote for valves"),
    ("回复: 报价单", "报价单"),
    ("回复：转发：答复: 报价单", "报价单"),
    ("AW: WG: Angebot", "angebot"),
    ("[EXT] Re: Order", "order"),
    ("Ｒｅ： Order", "order"),
    ("Regarding the order", "regarding the order"),
])
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def _item(key, subject, people, *, mid=None, irt=None, refs=(), day=1) -> ThreadItem:
    return ThreadItem(key, mid, irt, tuple(refs), subject, datetime(2025, 1, day), frozenset(people))


def test_threads_by_references_and_by_subject_between_the_same_people() -> None:
    items = [
        _item(1, "Quote", {"a@x", "b@y"}, mid="m1", day=1),
        _item(2, "Re: Quote", {"a@x", "b@y"}, mid="m2", irt="m1", refs=["m1"], day=2),
        _item(3, "Changed subject", {"a@x", "b@y"}, mid="m3", refs=["m1", "m2"], day=3),
        _item(4, "回复: Quote", {"b@y", "a@x"}, mid="m4", day=4),  # no headers: same subject, same people
        _item(5, "Re: Quote", {"a@x", "c@z"}, mid="m5", day=5),  # same subject, someone else
        _item(6, "Other", {"a@x", "b@y"}, mid="m6", day=6),
        _item(7, "Other", {"a@x", "b@y"}, mid="m7", day=7),  # same subject, neither a reply: apart
    ]
    threads = group_threads(items)
    assert [[t.key for t in thread] for thread in threads] == [[1, 2, 3, 4], [5], [6], [7]]


def test_a_reply_by_subject_alone_joins_only_within_half_a_year() -> None:
    first = _item(1, "Invoice", {"a@x", "b@y"}, mid="m1", day=1)
    late = ThreadItem(2, "m2", None, (), "Re: Invoice", datetime(2025, 9, 1), frozenset({"a@x", "b@y"}))
    soon = ThreadItem(3, "m3", None, (), "Re: Invoice", datetime(2025, 3, 1), frozenset({"a@x", "b@y"}))
    assert [[t.key for t in thread] for thread in group_threads([first, late])] == [[1], [2]]
    assert [[t.key for t in thread] for thread in group_threads([first, soon])] == [[1, 3]]


def test_split_reply_moves_quotes_and_signature_out_of_the_new_text() -> None:
    text = "Price is fine.\n\n-- \nBob\nSales\n\nOn Mon, 3 Mar 2025, Anna <a@x> wrote:\n> zebra offer\n> more"
    new, quoted = split_reply(text)
    assert new == "Price is fine."
    assert "Bob" in quoted and "zebra offer" in quoted
    new, quoted = split_reply("好的。\n\n在 2025年3月3日，张三 写道：\n报价单如下")
    assert (new, quoted) == ("好的。", "在 2025年3月3日，张三 写道：\n报价单如下")
    new, quoted = split_reply("ok\nFrom: Anna\nSent: Monday\nSubject: x\nold text")
    assert new == "ok" and quoted.endswith("old text")
    new, quoted = split_reply("发件人: 张三\n发送时间: 2025年\n旧内容")
    assert new.startswith("发件人")  # all quote: kept as the new text
    assert split_reply("> only\n> quoted") == ("> only\n> quoted", "")


def test_find_amounts() -> None:
    text = "Unit price USD 12,500 FOB Ningbo; freight $300; total 1,234.50 EUR, CIF Hamburg. 单价：人民币 88元 FOB 宁波"
    assert find_amounts(text) == (
        "USD 12,500", "FOB Ningbo", "USD 300", "EUR 1,234.50", "CIF Hamburg", "CNY 88", "FOB 宁波",
    )
    assert find_amounts("FOB price terms") == ()


def test_find_thread_gathers_a_stored_conversation_by_headers_and_by_subject(session) -> None:
    from ingest import Message, ParticipantRow, find_thread

    def stored(n: int, subject: str, people: tuple[str, ...], *, irt: str | None = None, day: int = 1) -> Message:
        message = Message(sha256=f"{n:064d}", size=1, status="ok", header_message_id=f"m{n}@x", subject=subject,
                          date=datetime(2025, 1, day), date_source="date", in_reply_to=irt, references=[],
                          defects=[], stored_at=datetime(2025, 2, 1),
                          participants=[ParticipantRow(role="from", email=p, domain=p.split("@")[1]) for p in people])
        session.add(message)
        return message

    first = stored(1, "Pump order", ("li@acme.com", "anna@own.com"), day=1)
    reply = stored(2, "Re: Pump order", ("anna@own.com", "li@acme.com"), irt="m1@x", day=2)
    by_subject = stored(3, "回复: Pump order", ("li@acme.com", "anna@own.com"), day=3)  # no headers
    stored(4, "Re: Pump order", ("someone@else.com",), day=4)  # the subject, but other people
    stored(5, "Unrelated", ("li@acme.com", "anna@own.com"), day=5)
    session.flush()
    assert [m.id for m in find_thread(session, reply)] == [first.id, reply.id, by_subject.id]
    assert not session.dirty and not session.new  # a read: nothing written
