"""What every command shares: errors as one line, archive options, the archive, the daemon, output.

This module is on the path of every command, the ones a daemon answers included, so it loads no
more than click and the standard library at import; the archive (SQLAlchemy, the index) loads
through ``config``'s lazy names when a command opens it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import config

from ..protocol import ask_daemon
from ..runtime import locate, loose_permissions
from .failures import full_disk_line, full_disk_path, is_broken_pipe, leave_quietly

if TYPE_CHECKING:
    from ..archive import Archive
    from ..settings import Settings


def _user_errors() -> tuple[type[Exception], ...]:
    # Looked up only when a command raised something (see DossierGroup.invoke).
    from index.errors import SearchIndexError
    from ingest.errors import IngestError
    from linker.errors import LinkError

    return (config.ConfigError, IngestError, LinkError, SearchIndexError)


def _database_errors() -> tuple[type[Exception], ...]:
    # A command that never loaded SQLAlchemy cannot have raised its errors; importing it here
    # would cost a third of a second only to learn that.
    exc = sys.modules.get("sqlalchemy.exc")
    return (exc.SQLAlchemyError,) if exc is not None else ()


class DossierGroup(click.Group):
    """Turns every library error into one readable line and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            line = _one_line(exc)
            if line is None:
                raise
            raise click.ClickException(line) from exc


def _one_line(exc: Exception) -> str | None:
    """The one line for an error people can act on; None for a bug (its traceback is the report).
    A closed pipe ends the command quietly, wherever it was met."""
    if is_broken_pipe(exc):
        leave_quietly()
    written = full_disk_path(exc)
    if written is not None:
        return full_disk_line(locate(options().get("data_dir"))[0], written)
    if isinstance(exc, _user_errors()):
        return str(exc)
    if isinstance(exc, _database_errors()):
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return f"database error: {reason}; check that the database is reachable and not damaged"
    if isinstance(exc, OSError):  # permissions changed under us, a vanished directory
        where = f" ({os.fsdecode(exc.filename)})" if exc.filename else ""
        if exc.errno == errno.EROFS:
            return (f"cannot write{where}: the file system is read-only; Dossier writes to its data directory "
                    "(locks, database, index), so remount it read-write or copy the archive to a writable place")
        return f"{exc.strerror or exc}{where}; check free disk space and the data directory's permissions"
    return None


def options() -> dict:
    """The root context's options: data_dir, config_path, verbose."""
    return click.get_current_context().find_root().ensure_object(dict)


def archive_options(fn: Callable) -> Callable:
    """--data-dir and --config on every command (they also work before the command name)."""

    @click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                  help="Archive directory (default: $DOSSIER_HOME or ~/.local/share/dossier).")
    @click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                  help="Config file (default: DATA_DIR/dossier.toml).")
    @functools.wraps(fn)
    def wrapper(*args, data_dir=None, config_path=None, **kwargs):
        obj = options()
        if data_dir is not None:
            obj["data_dir"] = data_dir
        if config_path is not None:
            obj["config_path"] = config_path
        return fn(*args, **kwargs)

    return wrapper


def settings() -> Settings:
    """The settings of the archive the options name, for a command that runs library code here
    (which may log from now on). Raises ConfigError."""
    obj = options()
    start_logging(obj.get("verbose", 0))
    named = obj.get("config_path")
    if named is not None and not named.expanduser().exists():
        raise config.ConfigError(f"config file {named} does not exist; check the --config path (without "
                                 f"--config, {locate(obj.get('data_dir'))[1]} is read)")
    return config.load_settings(obj.get("data_dir"), named)


def start_logging(verbose: int) -> None:
    """Log warnings (-v: info, -vv: debug) to stderr. Only commands that run library code here
    load logging: a search the daemon answers never logs."""
    import logging

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose == 0:
        # Per-message warnings go into the import report instead of the terminal.
        logging.getLogger("config.pipeline").setLevel(logging.ERROR)
        logging.getLogger("ingest.records").setLevel(logging.ERROR)


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[threading.Event]:
    """While the block runs, the first Ctrl-C sets the event it yields (a long job then stops after
    the batch in flight, keeping what it stored) and says so; a second one interrupts at once."""
    stopped = threading.Event()

    def first(signum, frame) -> None:
        stopped.set()
        click.echo("stopping after the batch in flight (Ctrl-C again to stop at once)…", err=True)
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGINT, previous)


def open_archive(*, write: bool = False, shared: bool = False, database_url: str | None = None) -> Archive:
    """The archive the options name, closed with the command; ``write=True`` first takes the
    archive's write lock (see :func:`take_write_lock`), ``shared`` with other imports and syncs
    (on PostgreSQL, where several nodes import at once). ``database_url`` overrides the config's
    (``init --database-url``, perhaps with a password)."""
    found = settings()
    if database_url:
        from dataclasses import replace

        found = replace(found, database_url=database_url, database_source="--database-url")
    if write:
        take_write_lock(found, shared=shared)
    warn_loose_permissions(found.data_dir)
    archive = config.Archive(found)
    click.get_current_context().call_on_close(archive.close)
    return archive


def take_write_lock(found: Settings, *, shared: bool = False) -> None:
    """Hold the archive's write lock until the command ends (a file lock in the data directory on
    SQLite, an advisory lock every node sees on PostgreSQL), waiting up to $DOSSIER_LOCK_WAIT
    seconds (default 30) for a daemon job or another command."""
    try:
        wait = float(os.environ.get("DOSSIER_LOCK_WAIT", "30"))
    except ValueError:
        wait = 30.0
    lock = config.write_lock(found, config.command_line(), shared=shared, wait=wait,
                             on_wait=lambda text: click.echo(text, err=True))
    lock.acquire()
    click.get_current_context().call_on_close(lock.release)


def warn_loose_permissions(data_dir: Path) -> None:
    for path in loose_permissions(data_dir):
        mode = "700" if path.is_dir() else "600"
        click.echo(f"warning: {path} is readable by other users; run `chmod {mode} {path}`", err=True)


def ask(op: str, **args: Any) -> Any:
    """The JSON answer of read operation ``op`` (``config.operations``) with ``args``: from the
    ``dossier daemon`` serving this archive when there is one, else from the read library here.
    Either way the command renders the same JSON, so its output is the same."""
    obj = options()
    data_dir, config_path = locate(obj.get("data_dir"), obj.get("config_path"))
    answer = ask_daemon(str(data_dir), str(config_path), op, args)
    if answer is None:
        # The library loads before the archive opens: until then the collector is paused (runtime.py).
        operation = config.prepare_operation(op, args)
        return operation(open_archive())
    warn_loose_permissions(data_dir)
    if "error" in answer:
        raise click.ClickException(answer["error"])
    return answer["result"]


def progress(label: str, total: int | None, enabled: bool) -> Callable[[Iterable], Iterable]:
    """An iterable wrapper showing a progress bar on a terminal, or nothing."""
    if not enabled or not sys.stderr.isatty():
        return config.no_progress
    # rich loads only for a bar on a terminal: scripts and the tests never pay for it.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    def wrap(items: Iterable) -> Iterable:
        columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, transient=True, console=stderr_console()) as bar:
            yield from bar.track(items, total=total)

    return wrap


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


# Message text is data, never terminal commands: escape sequences and other control
# characters (C0 but tab and newline, DEL, C1) are shown as U+FFFD.
_CONTROLS = {c: "\ufffd" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def safe(text: str) -> str:
    return text.translate(_CONTROLS)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=None))


def styler() -> Callable[..., str]:
    """``style(text, **click.style options)``; colours dropped under NO_COLOR (bold and dim stay,
    as rich does). ``click.echo`` strips all of it when stdout is not a terminal."""
    if os.environ.get("NO_COLOR"):
        return lambda text, fg=None, **options: click.style(text, **options)
    return click.style
