"""Index: the full-text search index over messages (Whoosh behind this package's own interface)."""

from .document import Document, build_document, detect_languages
from .errors import IndexLockedError, QueryError, SearchIndexError
from .query import FILTERS, filter_values, parse_query
from .search import Hit, SearchRequest, SearchResult, all_ids, search
from .store import IndexWriter, SearchIndex

__all__ = [
    "FILTERS",
    "Document",
    "Hit",
    "IndexLockedError",
    "IndexWriter",
    "QueryError",
    "SearchIndex",
    "SearchIndexError",
    "SearchRequest",
    "SearchResult",
    "all_ids",
    "build_document",
    "detect_languages",
    "filter_values",
    "parse_query",
    "search",
]
