"""Ingest: mail sources -> raw store -> parsed messages, and the message tables."""

from .errors import IngestError, ParseError, RawStoreError, SourceError
from .message import ROLES, Address, Attachment, ParsedMessage, Participant, RawItem
from .models import SHORT_ID_LENGTH, AttachmentRow, Base, Message, MessageCopy, ParticipantRow
from .sources import count_messages, detect_kind, iter_source
from .store import RawStore, hash_bytes

__all__ = [
    "ROLES",
    "SHORT_ID_LENGTH",
    "Address",
    "Attachment",
    "AttachmentRow",
    "Base",
    "IngestError",
    "Message",
    "MessageCopy",
    "ParseError",
    "ParsedMessage",
    "Participant",
    "ParticipantRow",
    "RawItem",
    "RawStore",
    "RawStoreError",
    "SourceError",
    "count_messages",
    "detect_kind",
    "hash_bytes",
    "iter_source",
    "parse_message",
]


def __getattr__(name: str):
    # The parser pulls in mail-parser, BeautifulSoup and charset-normalizer (about 0.15 s);
    # commands that only read the archive never need it.
    if name == "parse_message":
        from .parse import parse_message

        return parse_message
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
