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
        sign_in = "" if row["auth"] == "password" else f", {row['auth']}"
        click.echo(f"{row['name']:<16} {row['username']} at {row['host']}:{row['port']} ({row['security']}{sign_in}), "
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


@accounts_group.command("authorize")
@click.argument("name")
@click.option("--no-browser", is_flag=True, help="Only show the sign-in address; do not open a browser.")
@archive_options
def accounts_authorize(name: str, no_browser: bool) -> None:
    """Sign account NAME in with OAuth2 once (Microsoft: a code to enter on any device; Google: a
    browser on this machine) and store the grant in the data directory; every sync and the
    daemon then renew the access token themselves."""
    found = settings()
    path = config.authorize_account(found, name, tell=lambda text: click.echo(text, err=True),
                                    open_browser=not no_browser)
    click.echo(f"Signed in: the grant of account {name!r} is stored in {path}; check it with "
               f"`dossier accounts test {name}`")


@accounts_group.command("add")
@click.option("--address", help="The mailbox's address (the username, unless --username says otherwise).")
@click.option("--provider", "provider", help="A preset (" + ", ".join(config.presets()) + ") or \"other\".")
@click.option("--name", help="The account's name in Dossier (default: the address's local part).")
@click.option("--username", help="The login name, when it is not the address.")
@click.option("--host", help="IMAP server (provider \"other\").")
@click.option("--port", type=int, help="IMAP port (default 993 for ssl, 143 otherwise).")
@click.option("--security", type=click.Choice(["ssl", "starttls", "none"]), help="Connection security.")
@click.option("--auth", type=click.Choice(["password", "xoauth2", "oauthbearer"]),
              help="Sign in with a password or an OAuth2 token (default: the provider's way).")
@click.option("--password-env", help="Environment variable holding the password (or authorisation code).")
@click.option("--password-command", help="Command printing the password.")
@click.option("--token-command", help="Command printing an OAuth2 access token.")
@click.option("--client-id", help="OAuth2 client id for `dossier accounts authorize`.")
@click.option("--folder", "folders", multiple=True, help="Only folders matching this glob (repeatable).")
@click.option("--no-test", is_flag=True, help="Do not log in after writing the account.")
@archive_options
def accounts_add(**given) -> None:
    """Add an IMAP account to dossier.toml (keeping its comments), asking for what the options do
    not say, then log in to it as `dossier accounts test` does."""
    found = settings()
    table, authorize = _account_table(given)
    config.add_account(found.config_path, table)
    click.echo(f"Added account {table['name']!r} to {found.config_path}")
    if authorize:
        click.echo(f"Next: `dossier accounts authorize {table['name']}` signs it in"
                   + ("" if given["client_id"] else " (set oauth.client_id first: README, \"OAuth2\")"))
    elif not given["no_test"]:
        click.get_current_context().invoke(accounts_test, name=table["name"])


def _account_table(given: dict) -> tuple[dict, bool]:
    """The [[accounts]] table the options and answers describe, and whether it signs in with a
    grant that `accounts authorize` must store first."""
    address = given["address"] or click.prompt("Email address")
    suggested = config.preset_for_address(address)
    provider = (given["provider"] or click.prompt(
        "Provider", type=click.Choice([*config.presets(), "other"]),
        default=suggested.name if suggested else "other")).lower()
    preset = config.presets().get(provider)
    table: dict = {"name": given["name"] or click.prompt("Account name", default=config.account_name_for(address)),
                   "username": given["username"] or address}
    if preset is None:
        table["host"] = given["host"] or click.prompt("IMAP server")
        table["security"] = given["security"] or click.prompt(
            "Security", type=click.Choice(["ssl", "starttls", "none"]), default="ssl")
    else:
        table["provider"] = provider
        table["host"] = given["host"] or ""
        table["security"] = given["security"] or ""
        click.echo(f"{preset.title}. First: {preset.enable}. Secret: {preset.secret}.", err=True)
    table["port"] = given["port"]
    secrets = {k: given[k] for k in ("password_env", "password_command", "token_command") if given[k]}
    auth = given["auth"]
    if not secrets and auth is None:
        oauth = preset is not None and preset.has_oauth
        choices = ["authorize", "token_command", "password"] if oauth else ["password", "token_command"]
        way = click.prompt("Sign in with", type=click.Choice(choices), default=choices[0])
        if way == "authorize":
            auth = preset.auth
        elif way == "token_command":
            secrets["token_command"] = click.prompt("Command printing an OAuth2 access token")
        elif click.prompt("The password comes from", type=click.Choice(["env", "command"]), default="env") == "env":
            secrets["password_env"] = click.prompt("Environment variable holding it")
        else:
            secrets["password_command"] = click.prompt("Command printing it")
    if "token_command" in secrets and auth is None:
        auth = "xoauth2"
    table.update(secrets, auth=auth or "")
    if preset is not None and auth == "password" and not secrets:
        raise click.UsageError("give --password-env or --password-command for a password")
    table["folders"] = list(given["folders"])
    if given["client_id"]:
        table["oauth"] = {"client_id": given["client_id"]}
    return table, auth not in (None, "password") and "token_command" not in secrets


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

    def claimed(self, account: str) -> None:
        pass

    def released(self, account: str) -> None:
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
    archive = open_archive(write=True, shared=True)
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
    for skipped in report.skipped:
        click.echo(f"skipped {skipped}", err=True)
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
