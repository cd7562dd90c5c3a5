"""Config: the composition root — settings, database wiring, the import pipeline and the CLI.

Nothing imports this package; it imports the stages (ingest, linker, index) and wires them.
"""

from ingest.lazy import lazy_exports

# Each public name loads its module on first use (PEP 562): `dossier --help` must not pay for the
# database, the index and the parser, and read-only commands do without the pipeline.
_EXPORTS = {
    "archive": ("Archive",),
    "pipeline": ("ImportReport", "import_paths", "index_pending", "reindex", "relink_all"),
    "settings": ("ConfigError", "Settings", "init_data_dir", "load_settings"),
}

__all__ = ["Archive", "ConfigError", "Settings", "init_data_dir", "load_settings",
           "ImportReport", "import_paths", "index_pending", "reindex", "relink_all"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
