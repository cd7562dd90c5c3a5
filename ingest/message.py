"""Plain values passed between ingest stages: raw items from sources and parsed messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Roles a participant can have in a message, in the order they are shown.
ROLES = ("from", "sender", "reply_to", "to", "cc", "bcc")

#: Who builds a message's tree: mail-parser (the default), or the standard library's parser
#: alone ("stdlib": the very tree mail-parser builds, without mail-parser's own reading of it,
#: which Dossier does not use: about half the parse's time). Everything after is the same.
PARSERS = ("mail-parser", "stdlib")


@dataclass(frozen=True)
class RawItem:
    """One message's exact bytes as a source delivered them.

    ``folder`` is the folder name within the source as people read it ("INBOX", "Sent",
    "Customers/Acme"), ``origin`` a human locator for messages
    ("/path/x.mbox#12", "/path/Maildir/cur/17:2,S") used in reports.
    """

    data: bytes
    folder: str
    origin: str
    #: Set by IMAP fetches: the server's own name for the folder (modified UTF-7), its
    #: UIDVALIDITY and the message's UID, flags and INTERNALDATE (UTC), and Gmail labels (which
    #: an mbox from Google Takeout carries too, in X-Gmail-Labels).
    mailbox: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    flags: tuple[str, ...] = ()
    internaldate: datetime | None = None
    labels: tuple[str, ...] = ()
    #: What the source noticed about the item that the import report should say (an mbox
    #: message that seems to hold further messages).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Address:
    """A decoded mailbox: display name and address (address lower-cased, IDNA host)."""

    name: str
    email: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass(frozen=True)
class Participant:
    role: str
    address: Address


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    #: The decoded bytes (empty for a forwarded message, whose text is in the body), for
    #: ``ingest.extract``; kept out of repr and comparisons.
    data: bytes = field(default=b"", repr=False, compare=False)
    #: The charset its MIME part declares (text attachments), else None.
    charset: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ParsedMessage:
    """Everything Dossier reads out of one message.

    ``date`` is timezone-aware UTC or None; ``date_offset`` the original UTC
    offset in minutes; ``date_source`` says where the date came from
    ("date" header, "received" header, or None when neither gave one: the
    caller then uses the import time). ``defects`` are human-readable notes on
    what was wrong and how it was recovered.
    """

    message_id: str | None
    subject: str
    participants: tuple[Participant, ...]
    date: datetime | None
    date_offset: int | None
    date_source: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    is_html_only: bool
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...] = field(default=())
    # Sent by a list or a robot (List-Id, List-Unsubscribe, Precedence: bulk/list/junk,
    # Auto-Submitted other than "no"): the linker then links it by exact address only.
    is_bulk: bool = False
    #: The text of the HTML alternatives to the plain text in ``text`` (a multipart/alternative
    #: whose plain part was read), for what the HTML adds (``ingest.reading``) and to show it.
    html_text: str = ""
    #: Set when the parser could not finish the message (the reason): only the headers that
    #: parsed and the decoded text of its body were read, its attachments not at all.
    partial: str | None = None

    def addresses(self, *roles: str) -> tuple[Address, ...]:
        """The addresses with any of ``roles`` (all roles when none given), in order."""
        return tuple(p.address for p in self.participants if not roles or p.role in roles)

    @property
    def sender(self) -> Address | None:
        found = self.addresses("from")
        return found[0] if found else None
