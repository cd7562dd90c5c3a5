"""Config: the composition root — settings, database wiring, the import pipeline and the CLI.

Nothing imports this package; it imports the stages (ingest, linker, index) and wires them.
"""

from .pipeline import Archive, ImportReport, import_paths, index_pending, reindex, relink_all
from .settings import ConfigError, Settings, init_data_dir, load_settings

__all__ = [
    "Archive",
    "ConfigError",
    "ImportReport",
    "Settings",
    "import_paths",
    "index_pending",
    "init_data_dir",
    "load_settings",
    "reindex",
    "relink_all",
]
