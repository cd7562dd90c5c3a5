"""Every part a user may search reaches the reading: HTML alternatives (what they add beyond the
plain part, once) and machine-readable report parts."""

from __future__ import annotations

from ingest import parse_message, read_message
from ingest.reading import html_adds
from tests.ingest.recall_mail import abuse_report, alternative, bounce, related_in_alternative_in_mixed

PLAIN = "Dear Bob,\n\nplease see the offer below.\n\nRegards, Anna"
HTML = ("<html><body><p>Dear Bob,</p><p>please see the <b>offer</b> below.</p>"
        "<table><tr><td>Marigold pump</td><td>USD 1,200</td></tr></table>"
        "<p>报价有效期三十天</p><p>Regards, Anna</p></body></html>")


def test_what_the_html_alternative_adds_is_read_once():
    parsed = parse_message(alternative("Offer", PLAIN, HTML, "<alt1@acme>"))
    reading = read_message(parsed)

    assert parsed.text.startswith("Dear Bob,") and "Marigold" not in parsed.text
    assert "Marigold pump USD 1,200" in parsed.html_text
    # The table and the Chinese line are new; the lines repeating the plain part are not added again.
    assert "Marigold pump" in reading.body and "报价有效期三十天" in reading.body
    assert reading.body.count("please see") == 1 and reading.body.count("Regards") == 1


def test_html_nested_in_related_inside_alternative_inside_mixed_is_read():
    parsed = parse_message(related_in_alternative_in_mixed("Offer", "See the HTML version.", HTML, "<alt2@acme>"))
    reading = read_message(parsed)

    assert "Marigold pump" in reading.body
    assert [a.filename for a in parsed.attachments if a.filename] == ["note.txt"]


def test_an_html_alternative_that_only_repeats_the_plain_part_adds_nothing():
    html = "<p>Dear Bob,</p><p>please see the offer <i>below</i>.</p><p>Regards,<br>Anna</p>"
    parsed = parse_message(alternative("Offer", PLAIN, html, "<alt3@acme>"))

    assert read_message(parsed).body == PLAIN
    assert html_adds(parsed.html_text, parsed.text) == ""


def test_html_only_message_is_read_as_before():
    msg = alternative("x", "", HTML, "<alt4@acme>")
    parsed = parse_message(msg)
    assert parsed.is_html_only and "Marigold" in parsed.text and parsed.html_text == ""


def test_bounce_reports_recipient_diagnostic_and_bounced_headers():
    reading = read_message(parse_message(bounce()))

    text = reading.body + reading.quoted
    assert "Final-Recipient: rfc822; buyer@acme-gone.example" in text
    assert "mailbox zorblatt unknown" in text
    assert "Subject: Quotation QX-77 quillwort flanges" in text


def test_feedback_report_and_disposition_notification_are_read():
    parsed = parse_message(abuse_report())

    assert "Reported-Domain: spamhausen.example" in parsed.text
    assert "Original-Recipient: rfc822;joe.xylander@example.com" in parsed.text
