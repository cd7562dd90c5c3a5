"""The read library: everything a front end shows, as records with ``as_json()``.

Each function takes the opened :class:`~config.archive.Archive` and plain typed arguments,
raises the stages' errors (``ConfigError``, ``LinkError``, ``SearchIndexError``, ``IngestError``
and their kinds), never prints, and returns a frozen record whose JSON form is what the CLI's
``--json`` prints (``dossier search`` and ``quotes`` print the rows of their page).
"""

from ingest.lazy import lazy_exports

# Each name loads its module on first use (PEP 562): a search needs neither the message parser
# (``show``) nor the dossier's rules.
_EXPORTS = {
    "accounts": ("AccountList", "AccountRow", "list_accounts"),
    "activity": ("CustomerOverview", "CustomerTimeline", "MarketList", "MarketRow", "customer_overview",
                 "customer_timeline", "list_markets"),
    "customers": ("CUSTOMER_ORDERS", "ConflictList", "CustomerDossierView", "CustomerList", "CustomerRow",
                  "DuplicateList", "UnlinkedList", "customer_dossier", "list_conflicts", "list_customers",
                  "list_duplicates", "list_owners",
                  "list_unlinked"),
    "messages": ("Conversation", "LinkExplanation", "MessageNotFoundError", "MessageSummary",
                 "MessageUnreadableError", "MessageView", "explain_links", "find_message", "read_message",
                 "read_raw_message", "read_thread"),
    "parts": ("MessagePart", "read_attachment", "read_html_body", "read_inline_part"),
    "scope": ("Scope",),
    "records": ("Listing", "Record", "iso"),
    "search": ("HitRow", "QuotePage", "SearchPage", "ThreadPage", "list_quotes", "search_messages",
               "search_threads"),
    "status": ("ArchiveStatus", "archive_status", "stored_message_count"),
}

__all__ = sorted(name for names in _EXPORTS.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
