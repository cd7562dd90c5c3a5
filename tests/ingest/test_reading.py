"""Reading a parsed message once: new and quoted text, attachment text within its bound, quotes."""

from __future__ import annotations

from ingest import AttachmentText, parse_message, read_message
from ingest.reading import MAX_ATTACHMENT_CHARS
from tests.conftest import make_message


def _text(name: str, text: str, status: str = "ok") -> AttachmentText:
    return AttachmentText(name, "application/pdf", text, status)


def test_the_new_text_and_the_quoted_reply_are_split_once():
    parsed = parse_message(make_message(subject="Re: pumps", body="Agreed, fifty.\n\nOn Monday, Anna wrote:\n> forty"))
    reading = read_message(parsed)
    assert (reading.body, reading.quoted) == ("Agreed, fifty.", "On Monday, Anna wrote:\n> forty")
    assert not reading.is_quote and reading.quote_term is None and reading.amounts == ()


def test_a_quote_by_subject_file_name_or_title_with_its_amounts():
    parsed = parse_message(make_message(
        subject="报价单 for valves", body="Unit price USD 12,500 FOB Ningbo.",
        attachments=(("Quotation_Q7.pdf", b"%PDF", "application/pdf"), ("Q8.pdf", b"%PDF", "application/pdf"),
                     ("photo.png", b"png", "image/png"))))
    texts = (_text("Quotation_Q7.pdf", "Q7 details"), _text("Q8.pdf", "PROFORMA INVOICE\nTotal EUR 300"),
             _text("photo.png", "", "skipped: no text extractor for image/png"))
    reading = read_message(parsed, texts)
    assert reading.quote_terms == ("报价单", "quotation", "pro forma invoice")
    assert reading.quote_term == "报价单"
    assert reading.quote_files == ("Quotation_Q7.pdf", "Q8.pdf")  # Q8 by its title
    assert reading.amounts == ("USD 12,500", "FOB Ningbo", "EUR 300")
    assert reading.text_statuses == ("ok", "ok", "skipped: no text extractor for image/png")
    assert [name for name, _ in reading.attachment_texts] == ["Quotation_Q7.pdf", "Q8.pdf"]  # only text


def test_attachment_text_is_bounded_per_message_in_attachment_order():
    parsed = parse_message(make_message(attachments=(("a.txt", b"a", "text/plain"), ("b.txt", b"b", "text/plain"),
                                                     ("c.txt", b"c", "text/plain"))))
    big = "x" * (MAX_ATTACHMENT_CHARS - 10)
    reading = read_message(parsed, (_text("a.txt", big), _text("b.txt", "y" * 50), _text("c.txt", "z")))
    assert [(n, len(t)) for n, t in reading.attachment_texts] == [("a.txt", len(big)), ("b.txt", 10)]
