"""IMAP accounts: ``dossier accounts`` list and test, ``dossier sync``, and ``dossier daemon``."""

from __future__ import annotations

import sys
import time

import click

import config

from .common import DossierGroup, archive_options, emit_json, open_archive, options, safe, settings, stderr_console


@click.group("accounts", cls=DossierGroup)
def accounts_group() -> None:
    """The IMAP accounts configured in dossier.toml ([[accounts]])."""


@accounts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def accounts_list(as_json: bool) -> None:
    """The configured accounts (never their passwords)."""
    found = settings()
    rows = config.list_accounts(found).as_json()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"No accounts configured; add [[accounts]] to {found.config_path}")
    for row in rows:
        click.echo(f"{row['name']:<16} {row['username']} at {row['host']}:{row['port']} ({row['security']}), "
                   f"every {row['interval_minutes']:g} min")


@accounts_group.command("test")
@click.argument("name")
@archive_options
def accounts_test(name: str) -> None:
    """Log in to account NAME and list the folders a sync would fetch, with message counts."""
    probe = config.probe_account(settings(), name)
    click.echo(f"Logged in to {probe.host}:{probe.port} as {probe.username} ({probe.security})")
    for folder in probe.folders:
        if folder.fetched:
            click.echo(f"  fetch  {safe(folder.name):<40} {folder.messages:>8} messages")
        else:
            click.echo(f"  skip   {safe(folder.name):<40} ({folder.reason})")
    if probe.missing:
        raise click.ClickException(
            f"account {name!r}: folder {', '.join(map(repr, probe.missing))} does not exist on the server; "
            "fix `folders` in the config"
        )


class _SyncBar:
    """Shows sync progress (folder, done/total, rate) on a terminal."""

    def __init__(self) -> None:
        # rich loads only for a bar on a terminal, as in common.progress.
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                            console=stderr_console(), transient=True)
        self.task = None
        self.started = 0.0
        self.count = 0

    def folder(self, account: str, folder: str, total: int) -> None:
        if self.task is None:
            self.bar.start()
        else:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(f"{account}/{safe(folder)}", total=total, rate="")
        self.started, self.count = time.monotonic(), 0

    def advance(self, count: int) -> None:
        self.count += count
        rate = self.count / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, advance=count, rate=f"{rate:.0f} msg/s")

    def done(self) -> None:
        pass

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()


@click.command("sync")
@click.option("--account", "account_names", multiple=True, help="Only this account (repeatable).")
@click.option("--folder", "folders", multiple=True, help="Only folders matching this name or glob (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@archive_options
def sync_command(account_names: tuple[str, ...], folders: tuple[str, ...], as_json: bool) -> None:
    """Fetch new mail from the configured IMAP accounts once (read-only on the server)."""
    archive = open_archive(write=True)
    bar = _SyncBar() if sys.stderr.isatty() and not as_json else None
    try:
        report = config.sync_accounts(archive, account_names, folders=folders, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        emit_json({**report.summary(), "error_messages": report.errors})
    else:
        s = report.summary()
        click.echo(f"Synced {s['folders']} folders ({s['unchanged']} unchanged): {s['fetched']} fetched, "
                   f"{s['stored']} new, {s['duplicates']} already archived, {s['remapped']} re-mapped, "
                   f"in {s['seconds']:.1f} s")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


@click.command("daemon")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="Log lines as JSON objects (for journald/log shippers) or plain text.")
@archive_options
def daemon_command(log_format: str) -> None:
    """Run the scheduler in the foreground: each account synced at its interval, a nightly
    re-index and re-link. Meanwhile it answers search, thread, quotes and customers show/list
    for this archive's CLI in about 0.1 s (DOSSIER_NO_DAEMON=1 opts out). Stops cleanly on
    SIGTERM or Ctrl-C."""
    config.run_daemon(settings(), log_format=log_format, verbosity=options().get("verbose", 0))
