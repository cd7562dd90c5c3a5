"""Errors raised by the search index."""


class SearchIndexError(Exception):
    """Root of every error the index stage raises."""


class IndexLockedError(SearchIndexError):
    """Another process is writing to the index (transient: retry later)."""


class QueryError(SearchIndexError):
    """A search query cannot be understood; the message points at the problem."""
