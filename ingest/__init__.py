"""Ingest: mail sources -> raw store -> parsed messages, and the message tables."""

from .errors import IngestError, ParseError, RawStoreError, SourceError
from .message import ROLES, Address, Attachment, ParsedMessage, Participant, RawItem
from .models import SHORT_ID_LENGTH, AttachmentRow, Base, FolderState, Message, MessageCopy, ParticipantRow
from .prices import find_amounts
from .quotes import quote_term
from .replies import split_reply
from .sources import count_messages, detect_kind, iter_source
from .store import RawStore, hash_bytes
from .threads import ThreadItem, group_threads, normalize_subject, thread_of

__all__ = [
    "ROLES",
    "SHORT_ID_LENGTH",
    "Address",
    "Attachment",
    "AttachmentRow",
    "AttachmentText",
    "Base",
    "ExtractLimits",
    "FolderState",
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
    "ThreadItem",
    "count_messages",
    "detect_kind",
    "extract_attachments",
    "find_amounts",
    "group_threads",
    "hash_bytes",
    "iter_source",
    "normalize_subject",
    "parse_message",
    "quote_term",
    "split_reply",
    "thread_of",
]


def __getattr__(name: str):
    # The parser pulls in mail-parser, BeautifulSoup and charset-normalizer (about 0.15 s);
    # commands that only read the archive never need it.
    if name == "parse_message":
        from .parse import parse_message

        return parse_message
    if name in ("AttachmentText", "ExtractLimits", "extract_attachments"):
        from . import extract  # loads the charset detector, like the parser

        return getattr(extract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
