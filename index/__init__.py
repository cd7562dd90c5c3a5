"""Index: the full-text search index over messages, behind this package's own interface.

The engine (tantivy by default, Whoosh, or PostgreSQL's full-text search in the archive's own
database) is an archive's choice, recorded in its index directory; nothing outside this package
names one.
"""

from ingest.lazy import lazy_exports

# Each public name loads its module on first use (PEP 562): opening the index for a count needs
# the store and its engine, only searching needs the query language and the snippets.
_EXPORTS = {
    "analysed": ("Analysed", "analyse_document"),
    "document": ("Document", "build_document", "complete_document", "detect_languages"),
    "engine": ("DATABASE_ENGINE", "DEFAULT_ENGINE", "ENGINES", "Feed", "IndexDatabase"),
    "errors": ("IndexLockedError", "QueryError", "SearchIndexError"),
    "query": ("FILTERS", "filter_values", "parse_query"),
    "searching": ("Hit", "SearchRequest", "SearchResult", "search"),
    "store": ("IndexWriter", "SearchIndex"),
}

__all__ = [
    "Analysed",
    "DATABASE_ENGINE",
    "DEFAULT_ENGINE",
    "ENGINES",
    "FILTERS",
    "Document",
    "Feed",
    "Hit",
    "IndexDatabase",
    "IndexLockedError",
    "IndexWriter",
    "QueryError",
    "SearchIndex",
    "SearchIndexError",
    "SearchRequest",
    "SearchResult",
    "analyse_document",
    "build_document",
    "complete_document",
    "detect_languages",
    "filter_values",
    "parse_query",
    "search",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
