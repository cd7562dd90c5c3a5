"""Index: the full-text search index over messages (Whoosh behind this package's own interface)."""

import sys
from types import ModuleType

from ingest.lazy import lazy_exports

# Each public name loads its module on first use (PEP 562): opening the index for a count needs
# the store, only searching needs the query parser and Whoosh's query and highlight modules.
_EXPORTS = {
    "document": ("Document", "build_document", "detect_languages"),
    "errors": ("IndexLockedError", "QueryError", "SearchIndexError"),
    "query": ("FILTERS", "filter_values", "parse_query"),
    "search": ("Hit", "SearchRequest", "SearchResult", "all_ids", "search"),
    "store": ("IndexWriter", "SearchIndex"),
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


class _Package(ModuleType):
    """Keeps ``index.search`` the function, as it was when this package imported it eagerly.

    Importing the submodule ``index.search`` sets the package's attribute ``search`` to that
    module, whoever imports it first; ignoring that assignment leaves the name to the function.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "search" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
