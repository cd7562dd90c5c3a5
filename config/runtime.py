"""What every process needs before anything heavy loads (standard library only).

The entry point, the settings and the daemon share: where the archive and its files are, whether
they are private, the daemon socket's name, and the collector paused while a command starts.
"""

from __future__ import annotations

import gc
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

CONFIG_NAME = "dossier.toml"
DB_NAME = "dossier.db"
INDEX_DIR = "index"
RAW_DIR = "raw"
#: The daemon's socket in the data directory (mode 0600 in the owner's private directory).
SOCKET_NAME = "daemon.sock"


def data_dir_from_env(environ: Mapping[str, str]) -> str:
    """``$DOSSIER_HOME``, else ``$XDG_DATA_HOME/dossier``, else ``~/.local/share/dossier``."""
    if environ.get("DOSSIER_HOME"):
        return os.path.expanduser(environ["DOSSIER_HOME"])
    xdg = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(os.path.expanduser(xdg), "dossier")


def locate(data_dir: Path | None = None, config_path: Path | None = None) -> tuple[Path, Path]:
    """The data directory (absolute; from the environment when not given) and the config file
    (``DATA_DIR/dossier.toml`` when not given) that an archive's options name."""
    data_dir = Path(data_dir_from_env(os.environ) if data_dir is None else data_dir).expanduser().resolve()
    return data_dir, Path(config_path).expanduser() if config_path else data_dir / CONFIG_NAME


def loose_permissions(data_dir: Path) -> list[Path]:
    """The data directory, database, config, index and raw store when group or others can read
    or enter them (empty when all are private)."""
    loose = []
    for path in (data_dir, data_dir / DB_NAME, data_dir / CONFIG_NAME, data_dir / INDEX_DIR, data_dir / RAW_DIR):
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            loose.append(path)
    return loose


#: glibc's malloc arenas at most in a process that opens an archive. Each thread that allocates
#: gets an arena of its own (up to eight per CPU) and keeps what is freed there: tantivy's indexing
#: and merge threads made an import's memory grow with the archive (30,000 messages in five
#: folders, one process: 203 -> 344 MB of anonymous memory), where two arenas held it at 244 MB.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)
_arenas_limited = False


def limit_malloc_arenas() -> None:
    """Limit glibc's malloc arenas to :data:`MALLOC_ARENAS` in this process, before the index
    writer's threads start. A no-op off Linux, without glibc's ``mallopt``, a second time, and
    when ``MALLOC_ARENA_MAX`` is set in the environment (the user's own choice stands)."""
    global _arenas_limited
    if _arenas_limited or "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    _arenas_limited = True
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


_collector_paused = False


def pause_collector() -> None:
    """Stop the cyclic garbage collector while a command starts up. Importing SQLAlchemy, its ORM
    and Whoosh makes a few hundred thousand objects that live until exit, and the collector would
    walk them over and over while they are made (timed with and without on `dossier search` run on
    its own over a generated archive: it still saves CPU time)."""
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True


def resume_collector() -> None:
    """Start the collector again, once the archive opens (:class:`config.archive.Archive`): what
    exists by then lives until exit, so it is frozen out of every later collection. Every command
    that does real work opens the archive, the daemon included; a no-op when nothing was paused."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()
