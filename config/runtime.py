"""What the entry point, the settings and the archive share before anything heavy is loaded: the
data directory the environment names, the daemon socket's name, and the collector paused while a
command starts (standard library only)."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping

#: The daemon's socket in the data directory (mode 0600 in the owner's private directory).
SOCKET_NAME = "daemon.sock"


def data_dir_from_env(environ: Mapping[str, str]) -> str:
    """``$DOSSIER_HOME``, else ``$XDG_DATA_HOME/dossier``, else ``~/.local/share/dossier``."""
    if environ.get("DOSSIER_HOME"):
        return os.path.expanduser(environ["DOSSIER_HOME"])
    xdg = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(os.path.expanduser(xdg), "dossier")


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
