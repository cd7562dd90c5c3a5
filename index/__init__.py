"""Index: the full-text search index over messages (Whoosh behind this package's own interface)."""

from .document import Document, build_document
from .errors import IndexLockedError, QueryError, SearchIndexError
from .search import Hit, SearchRequest, SearchResult, all_ids, search
from .store import IndexWriter, SearchIndex

__all__ = [
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
    "search",
]
