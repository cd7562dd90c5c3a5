"""Ingest: mail sources -> raw store -> parsed messages, and the message tables."""

from .lazy import lazy_exports

# Each public name loads its module on first use (PEP 562), so a command pays only for what it
# touches: the message tables load SQLAlchemy's ORM (about 0.3 s), the parser mail-parser,
# BeautifulSoup and charset-normalizer (about 0.15 s); `dossier --help` needs none of them.
_EXPORTS = {
    "clock": ("utcnow",),
    "errors": ("IngestError", "ParseError", "RawStoreError", "SourceError"),
    "extract": ("AttachmentText", "ExtractLimits", "extract_attachments"),
    "message": ("ROLES", "Address", "Attachment", "ParsedMessage", "Participant", "RawItem"),
    "models": ("SHORT_ID_LENGTH", "AttachmentRow", "Base", "FolderState", "Message", "MessageCopy", "ParticipantRow"),
    "parse": ("parse_message",),
    "prices": ("find_amounts",),
    "quotes": ("quote_term",),
    "reading": ("Reading", "read_message"),
    "records": ("add_copy", "mark_variants", "record_reading", "save_participants", "set_indexed_at", "store_failed",
                "store_message"),
    "replies": ("split_reply",),
    "sources": ("count_messages", "detect_kind", "iter_source"),
    "store": ("RawStore", "hash_bytes"),
    "threads": ("ThreadItem", "find_thread", "group_threads", "normalize_subject", "thread_of"),
}

__all__ = [
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
    "ROLES",
    "RawItem",
    "RawStore",
    "RawStoreError",
    "Reading",
    "SHORT_ID_LENGTH",
    "SourceError",
    "ThreadItem",
    "add_copy",
    "count_messages",
    "detect_kind",
    "extract_attachments",
    "find_amounts",
    "find_thread",
    "group_threads",
    "hash_bytes",
    "iter_source",
    "mark_variants",
    "normalize_subject",
    "parse_message",
    "quote_term",
    "read_message",
    "record_reading",
    "save_participants",
    "set_indexed_at",
    "split_reply",
    "store_failed",
    "store_message",
    "thread_of",
    "utcnow",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
