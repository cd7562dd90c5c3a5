"""Config: the composition root — settings, database wiring, the import pipeline, the read library
and the front ends (the CLI, the daemon's socket).

No other package imports this one; it imports the stages (ingest, linker, index) and wires them.
Its front ends reach the libraries through the names below, each loaded on first use.
"""

from ingest.lazy import lazy_exports

# Each public name loads its module on first use (PEP 562): `dossier --help` and a search the daemon
# answers must not pay for the database, the index and the parser, and reads do without the pipeline.
_EXPORTS = {
    "account_setup": ("account_name_for", "add_account"),
    "accounts": ("probe_account", "sync_accounts"),
    "archive": ("Archive", "no_progress"),
    "audit": ("list_audit", "record_event"),
    "backup": ("backup_archive", "export_messages"),
    "check": ("check_archive",),
    "daemon": ("run_daemon",),
    "db": ("check_url", "make_engine", "upgrade_schema", "url_without_password"),
    "edits": ("add_customer", "add_customer_for_domain", "correct_link", "edit_customer", "import_customers",
              "merge_customers", "reassign_customers", "remove_customer", "rename_customer"),
    "lock": ("ArchiveLock", "command_line", "write_lock"),
    "oauth": ("AuthorizationError", "authorize_account"),
    "operations": ("OPERATIONS", "RequestError", "prepare_operation", "run_operation"),
    "pipeline": ("ImportReport", "import_paths", "index_pending", "reindex", "relink_all"),
    "providers": ("preset_for_address", "presets"),
    "queries.accounts": ("list_accounts",),
    "queries.activity": ("list_markets",),
    "queries.messages": ("read_raw_message",),
    "queries.status": ("stored_message_count",),
    "settings": ("ConfigError", "Settings", "init_data_dir", "load_settings", "parse_listen"),
    "web": ("serve_web",),
    "users": ("ROLES", "add_user", "disable_user", "list_users", "set_password"),
}

__all__ = sorted(name for names in _EXPORTS.values() for name in names)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
