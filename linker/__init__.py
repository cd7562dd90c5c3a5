"""Linker: customers, their domains and contacts, and the rules that link messages to them."""

from importlib import import_module

# Each public name loads its module on first use (PEP 562): the customer tables and queries need
# SQLAlchemy's ORM, the domain rules the public-suffix list; a command pays only for what it uses.
_EXPORTS = {
    "changes": ("DomainConflict", "clear_override", "edit_customer", "find_conflicts", "linked_messages",
                "merge_customers", "overrides_for", "remove_customer", "rename_customer", "set_override",
                "upsert_customer"),
    "customers_file": ("CustomerFileError", "CustomerRow", "RowError", "read_customer_file"),
    "domains": ("load_freemail", "normalize_domain", "normalize_email", "registrable_domain"),
    "dossier": ("CustomerDossier", "CustomerStatus", "MessageFact", "build_dossier", "customer_status",
                "load_dossier"),
    "errors": ("LinkError",),
    "match": ("METHODS", "Directory", "LinkCandidate", "explain_participant", "is_freemail", "is_internal",
              "match_customers", "resolve_links"),
    "models": ("Contact", "Customer", "CustomerDomain", "Link", "LinkOverride"),
    "repository": ("CustomerActivity", "CustomerNotFoundError", "RelinkReport", "affected_messages",
                   "customer_activity", "customer_names", "customers_by_message", "find_customer", "link_message",
                   "load_directory", "messages_involving", "relink", "relink_replies", "save_customer",
                   "with_replies"),
    "unlinked": ("UnlinkedGroup", "find_unlinked", "suggest_name", "summarize_unlinked"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "METHODS",
    "Contact",
    "Customer",
    "CustomerActivity",
    "CustomerDomain",
    "CustomerDossier",
    "CustomerFileError",
    "CustomerStatus",
    "MessageFact",
    "CustomerNotFoundError",
    "CustomerRow",
    "Directory",
    "DomainConflict",
    "Link",
    "LinkCandidate",
    "LinkError",
    "LinkOverride",
    "RelinkReport",
    "RowError",
    "UnlinkedGroup",
    "affected_messages",
    "build_dossier",
    "clear_override",
    "customer_activity",
    "customer_names",
    "customer_status",
    "customers_by_message",
    "edit_customer",
    "explain_participant",
    "find_conflicts",
    "find_customer",
    "find_unlinked",
    "is_freemail",
    "is_internal",
    "link_message",
    "linked_messages",
    "load_directory",
    "load_dossier",
    "load_freemail",
    "match_customers",
    "merge_customers",
    "messages_involving",
    "normalize_domain",
    "normalize_email",
    "overrides_for",
    "read_customer_file",
    "registrable_domain",
    "relink",
    "relink_replies",
    "remove_customer",
    "rename_customer",
    "resolve_links",
    "save_customer",
    "set_override",
    "suggest_name",
    "summarize_unlinked",
    "upsert_customer",
    "with_replies",
]


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = import_module(f"{__name__}.{module}")
    for export in _EXPORTS[module]:  # bind the module's names here: the next lookup is a plain one
        globals()[export] = getattr(loaded, export)
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
