"""Config: the composition root — settings, database wiring, the import pipeline and the CLI.

Nothing imports this package; it imports the stages (ingest, linker, index) and wires them.
"""

from importlib import import_module

# Each public name loads its module on first use (PEP 562): `dossier --help` must not pay for the
# database, the index and the parser, and read-only commands do without the pipeline.
_EXPORTS = {
    "archive": ("Archive",),
    "pipeline": ("ImportReport", "import_paths", "index_pending", "reindex", "relink_all"),
    "settings": ("ConfigError", "Settings", "init_data_dir", "load_settings"),
    "threads": ("find_thread",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["Archive", "ConfigError", "Settings", "find_thread", "init_data_dir", "load_settings",
           "ImportReport", "import_paths", "index_pending", "reindex", "relink_all"]


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
