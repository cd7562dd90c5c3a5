"""The ``dossier`` command line: one module per command group, loaded when its command runs.

Each command parses its options, calls one library function (or asks for one read operation,
answered by the daemon or the read library) and renders the result.

A command's module loads when the command runs or ``--help`` lists it (click's lazy-loading
group); the libraries it calls load when it calls them (``config``'s lazy names). So ``dossier
--help`` and a search the daemon answers start without SQLAlchemy, the index or the parser.
"""

from __future__ import annotations

import gc
import importlib
import os
from pathlib import Path

import click

from ..runtime import pause_collector
from .common import DossierGroup

__all__ = ["main", "run"]

#: Command name -> "module:object" of its click command, relative to this package.
COMMANDS = {
    "init": "archive:init_command",
    "import": "archive:import_command",
    "status": "archive:status_command",
    "reindex": "archive:reindex_command",
    "upgrade": "archive:upgrade_command",
    "relink": "archive:relink_command",
    "check": "archive:check_command",
    "backup": "archive:backup_command",
    "export": "archive:export_command",
    "customers": "customers:customers_group",
    "markets": "customers:markets_command",
    "users": "team:users_group",
    "audit": "team:audit_command",
    "web": "team:web_command",
    "unlinked": "links:unlinked_command",
    "link": "links:link_group",
    "search": "search:search_command",
    "thread": "search:thread_command",
    "show": "search:show_command",
    "quotes": "search:quotes_command",
    "accounts": "accounts:accounts_group",
    "sync": "accounts:sync_command",
    "daemon": "accounts:daemon_command",
}


class LazyGroup(DossierGroup):
    """A group whose commands are imported when first used (click docs, "Lazily Loading
    Subcommands")."""

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_subcommands:
            return super().get_command(ctx, cmd_name)
        module, _, name = self.lazy_subcommands[cmd_name].partition(":")
        command = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        if not isinstance(command, click.Command):
            raise ValueError(f"{self.lazy_subcommands[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy_subcommands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), help="Archive directory.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), help="Config file.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="dossier")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, config_path: Path | None, verbose: int) -> None:
    """Dossier: every customer's correspondence and quotes, one query away.

    The archive lives in a data directory (--data-dir, or $DOSSIER_HOME, default
    ~/.local/share/dossier) holding dossier.toml, dossier.db, the raw store and the index.
    """
    ctx.ensure_object(dict)
    if data_dir is not None:
        ctx.obj["data_dir"] = data_dir
    if config_path is not None:
        ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose  # logging starts with the first library call (common.settings)
    # Everything Dossier writes (database, raw store, index) is private to the owner.
    os.umask(0o077)


def run() -> None:
    """The ``dossier`` entry point: the CLI with the collector paused while it starts up (see
    ``config.runtime``)."""
    pause_collector()
    try:
        main()
    finally:
        # The interpreter's exit runs full collections over every object the command imported
        # or made (SQLAlchemy, Whoosh); frozen objects are left out of them, exit handlers still
        # run (timed with and without, as the pause above: it still saves CPU time).
        gc.freeze()
