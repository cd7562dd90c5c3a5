"""Config: the composition root — settings, database wiring, the import pipeline and the CLI.

Nothing imports this package; it imports the stages (ingest, linker, index) and wires them.
"""

from .archive import Archive
from .settings import ConfigError, Settings, init_data_dir, load_settings
from .threads import find_thread

_PIPELINE = ("ImportReport", "import_paths", "index_pending", "reindex", "relink_all")

__all__ = ["Archive", "ConfigError", "Settings", "find_thread", "init_data_dir", "load_settings", *_PIPELINE]


def __getattr__(name: str):
    # The pipeline loads the parser and its libraries; read-only commands do without.
    if name in _PIPELINE:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
