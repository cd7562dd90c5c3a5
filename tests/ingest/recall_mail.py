"""Messages whose words reach no index unless every part type is read (issue 18): HTML alternatives
with words their plain part lacks, bounce and abuse reports, a 100,000-address To:."""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


def alternative(subject: str, plain: str, html: str, message_id: str) -> bytes:
    """multipart/alternative: a plain part and an HTML part."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Anna <anna@acme-industrial.com>", "bob@northwind-trading.com", subject
    msg["Date"], msg["Message-ID"] = "Mon, 3 Mar 2025 10:00:00 +0000", message_id
    msg.set_content(plain)
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def related_in_alternative_in_mixed(subject: str, plain: str, html: str, message_id: str) -> bytes:
    """multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html, image ] ],
    attachment ]: the HTML nested two levels down, as Outlook and Apple Mail send it."""
    related = MIMEMultipart("related")
    related.attach(MIMEText(html, "html", "utf-8"))
    image = MIMEImage(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "png")
    image.add_header("Content-ID", "<logo>")
    related.attach(image)
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText(plain, "plain", "utf-8"))
    alt.attach(related)
    mixed = MIMEMultipart("mixed")
    for name, value in (("From", "Anna <anna@acme-industrial.com>"), ("To", "bob@northwind-trading.com"),
                        ("Subject", subject), ("Date", "Mon, 3 Mar 2025 11:00:00 +0000"), ("Message-ID", message_id)):
        mixed[name] = value
    mixed.attach(alt)
    note = MIMEText("see attached", "plain", "utf-8")
    note.add_header("Content-Disposition", "attachment", filename="note.txt")
    mixed.attach(note)
    return mixed.as_bytes()


def bounce(message_id: str = "<dsn1@mx.example.com>") -> bytes:
    """An RFC 3464 bounce of a quotation: the recipient, the diagnostic and the bounced message's
    headers are only in the machine-readable parts."""
    return (
        "From: MAILER-DAEMON@mx.northwind-trading.com\nTo: anna@northwind-trading.com\n"
        "Subject: Undelivered Mail Returned to Sender\nDate: Tue, 4 Mar 2025 08:00:00 +0000\n"
        f"Message-ID: {message_id}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nThis is the mail system. Your message could not be delivered.\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.northwind-trading.com\n\n"
        "Final-Recipient: rfc822; buyer@acme-gone.example\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox zorblatt unknown\n\n"
        "--B\nContent-Type: text/rfc822-headers\n\nFrom: anna@northwind-trading.com\n"
        "To: buyer@acme-gone.example\nSubject: Quotation QX-77 quillwort flanges\nMessage-ID: <q77@northwind>\n\n"
        "--B--\n"
    ).encode()


def abuse_report(message_id: str = "<arf1@isp.example>") -> bytes:
    """An RFC 5965 (ARF) feedback report and an RFC 8098 read receipt in one report."""
    return (
        "From: abuse@isp.example\nTo: postmaster@northwind-trading.com\nSubject: FW: abuse report\n"
        f"Date: Wed, 5 Mar 2025 08:00:00 +0000\nMessage-ID: {message_id}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="A"\n\n'
        "--A\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n"
        "--A\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\n"
        "Original-Mail-From: <bulk@spamhausen.example>\nReported-Domain: spamhausen.example\n\n"
        "--A\nContent-Type: message/disposition-notification\n\nReporting-UA: joes-pc; Foomail 97.1\n"
        "Original-Recipient: rfc822;joe.xylander@example.com\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n\n"
        "--A--\n"
    ).encode()


def huge_to(addresses: int = 100_000) -> bytes:
    """A message whose To: holds ``addresses`` folded encoded-word addresses (a real mailing to a
    whole customer list), with a body a user searches for."""
    to = ",\n ".join(f"=?utf-8?b?5byg5LiJ?= <user{n}@example{n % 97}.com>" for n in range(addresses))
    return (f"From: Anna <anna@northwind-trading.com>\nTo: {to}\nSubject: Spring price list\n"
            "Date: Thu, 6 Mar 2025 08:00:00 +0000\nMessage-ID: <huge-to@northwind-trading.com>\n"
            "Content-Type: text/plain; charset=utf-8\n\nOur spring price list: the hollyhock pumps are 5% off.\n"
            ).encode()
