"""Index: the full-text search index over messages, behind this package's own interface.

The engine (tantivy by default, Whoosh) is an archive's choice, recorded in its index
directory; nothing outside this package names one.
"""

from ingest.lazy import lazy_exports

# Each public name loads its module on first use (PEP 562): opening the index for a count needs
# the store and its engine, only searching needs the query language and the snippets.
_EXPORTS = {
    "analysed": ("Analysed", "analyse_document"),
    "document": ("Document", "build_document", "complete_document", "detect_languages"),
    "engine": ("DEFAULT_ENGINE", "ENGINES", "Feed"),
    "errors": ("IndexLockedError", "QueryError", "SearchIndexError"),
    "query": ("FILTERS", "filter_values", "parse_query"),
    "searching": ("Hit", "SearchRequest", "SearchResult", "search"),
    "store": ("IndexWriter", "SearchIndex"),
}

__all__ = [
    "Analysed",
    "DEFAULT_ENGINE",
    "ENGINES",
    "FILTERS",
    "Document",
    "Feed",
    "Hit",
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
