"""The team's access: ``dossier users``, ``dossier audit`` and ``dossier web`` (the browser front end)."""

from __future__ import annotations

import sys

import click

import config

from .common import DossierGroup, archive_options, emit_json, open_archive, safe, settings, warn_loose_permissions
from .search import day_option

ROLE_CHOICES = ("admin", "manager", "rep")  # config.ROLES, without loading it for --help


def _password() -> str:
    """Asked twice on a terminal; else the first line of standard input (for scripts)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("no password on standard input; pipe one line holding it, or run on a terminal")
    return line


@click.group("users", cls=DossierGroup)
def users_group() -> None:
    """People who may sign in to `dossier web`: add, change passwords, list, disable."""


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True,
              help="admin: everything; manager: every customer, handovers; rep: their own customers and accounts.")
@click.option("--name", default="", help="The person's name (a rep also sees customers whose owner is this name).")
@archive_options
def users_add(email: str, role: str, name: str) -> None:
    """Add a user; the password is asked twice (or read from standard input).

    \b
    Example: dossier users add anna.li@northwind-trading.com --role rep --name "Anna Li"
    """
    archive = open_archive(write=True)
    user = config.add_user(archive, email, role, _password(), name=name)
    click.echo(safe(f"added {user.email} ({user.role})"))


@users_group.command("passwd")
@click.argument("email")
@archive_options
def users_passwd(email: str) -> None:
    """Set a user's password (and enable them again); their sessions end."""
    archive = open_archive(write=True)
    user = config.set_password(archive, email, _password())
    click.echo(safe(f"password changed for {user.email}"))


@users_group.command("disable")
@click.argument("email")
@archive_options
def users_disable(email: str) -> None:
    """Stop a user from signing in; their open sessions end at their next page."""
    user = config.disable_user(open_archive(write=True), email)
    click.echo(safe(f"disabled {user.email}"))


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def users_list(as_json: bool) -> None:
    """List the users with their roles."""
    rows = config.list_users(open_archive()).as_json()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No users yet: `dossier users add EMAIL --role admin`.")
    for u in rows:
        state = "  disabled" if u["is_disabled"] else ""
        name = f"  {u['name']}" if u["name"] else ""
        click.echo(safe(f"{u['email']}  {u['role']}{name}{state}"))


@click.command("audit")
@click.option("--since", help="Only entries on or after this date (YYYY-MM-DD, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def audit_command(since: str | None, as_json: bool) -> None:
    """The audit log, newest first: sign-ins (and refused ones), exports, raw and attachment downloads."""
    from datetime import datetime

    start = day_option(since, "--since")
    rows = config.list_audit(open_archive(), since=datetime.fromisoformat(start).replace(tzinfo=None)
                             if start else None).as_json()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No audit entries.")
    for r in rows:
        detail = f"  {r['detail']}" if r["detail"] else ""
        address = f"  from {r['address']}" if r["address"] else ""
        click.echo(safe(f"{r['at'][:19].replace('T', ' ')}  {r['actor']}  {r['action']}{detail}{address}"))


@click.command("web")
@click.option("--host", default=None, help="Address to listen on (default: [web] listen's, else 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535),
              help="Port to listen on (default: [web] listen's, else 8400).")
@archive_options
def web_command(host: str | None, port: int | None) -> None:
    """Serve the web front end in the foreground (Ctrl-C stops it).

    Users sign in with the accounts `dossier users add` makes. Put it behind a reverse proxy for
    HTTPS (see the README) and list that proxy in [web] proxies.
    """
    found = settings()
    warn_loose_permissions(found.data_dir)
    default_host, default_port = "127.0.0.1", 8400
    if found.web_listen:
        default_host, default_port = config.parse_listen(found.web_listen)
    config.serve_web(found, host or default_host, port or default_port,
                     announce=lambda url: click.echo(f"Serving Dossier on {url} (Ctrl-C stops)", err=True))
