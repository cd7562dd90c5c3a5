"""The ``dossier`` command line: thin click commands over the pipeline and the stages' libraries."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from index import QueryError, SearchIndexError, SearchRequest, search
from ingest import SHORT_ID_LENGTH, IngestError, Message, MessageCopy, ParseError, count_messages
from linker import (
    Customer,
    CustomerRow,
    Link,
    LinkError,
    customer_activity,
    customer_names,
    customers_by_message,
    find_customer,
    normalize_domain,
    read_customer_file,
    save_customer,
)

from .archive import Archive, count_pending, no_progress
from .settings import ConfigError, init_data_dir, load_settings, loose_permissions

log = logging.getLogger("dossier")

_USER_ERRORS = (ConfigError, IngestError, LinkError, SearchIndexError)


class DossierGroup(click.Group):
    """Turns every library error into one readable line and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise click.ClickException(
                f"database error: {reason}; check that the database is reachable and not damaged"
            ) from exc
        except OSError as exc:  # disk full, permissions changed under us, a vanished directory
            where = f" ({exc.filename})" if exc.filename else ""
            raise click.ClickException(
                f"{exc.strerror or exc}{where}; check free disk space and the data directory's permissions"
            ) from exc


def _archive_options(fn):
    """--data-dir and --config on every command (they also work before the command name)."""

    @click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                  help="Archive directory (default: $DOSSIER_HOME or ~/.local/share/dossier).")
    @click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                  help="Config file (default: DATA_DIR/dossier.toml).")
    @functools.wraps(fn)
    def wrapper(*args, data_dir=None, config_path=None, **kwargs):
        obj = click.get_current_context().find_root().ensure_object(dict)
        if data_dir is not None:
            obj["data_dir"] = data_dir
        if config_path is not None:
            obj["config_path"] = config_path
        return fn(*args, **kwargs)

    return wrapper


def _pipeline():
    """The import pipeline, loaded only by the commands that write (it loads the parser)."""
    from . import pipeline

    return pipeline


def _open_archive() -> Archive:
    obj = click.get_current_context().find_root().ensure_object(dict)
    settings = load_settings(obj.get("data_dir"), obj.get("config_path"))
    if loose_permissions(settings.data_dir):
        click.echo(
            f"warning: {settings.data_dir} is readable by other users; run `chmod 700 {settings.data_dir}`",
            err=True,
        )
    archive = Archive(settings)
    click.get_current_context().call_on_close(archive.close)
    return archive


def _progress(label: str, total: int | None, enabled: bool):
    """An iterable wrapper showing a progress bar on a terminal, or nothing."""
    if not enabled or not sys.stderr.isatty():
        return no_progress
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    def wrap(items: Iterable) -> Iterable:
        columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, transient=True, console=_stderr_console()) as bar:
            yield from bar.track(items, total=total)

    return wrap


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).isoformat()


def _local_date(message: Message) -> str:
    """The date as the sender wrote it (with its UTC offset), and in UTC when they differ."""
    utc = message.date.replace(tzinfo=timezone.utc)
    if not message.date_offset:
        return utc.isoformat()
    local = utc.astimezone(timezone(timedelta(minutes=message.date_offset)))
    return f"{local.isoformat()}  ({utc.isoformat()})"


# Message text is data, never terminal commands: escape sequences and other control
# characters (C0 but tab and newline, DEL, C1) are shown as U+FFFD.
_CONTROLS = {c: "\ufffd" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def _safe(text: str) -> str:
    return text.translate(_CONTROLS)


def _emit_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=None))


@click.group(cls=DossierGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    # Everything Dossier writes (database, raw store, index) is private to the owner.
    os.umask(0o077)
    if data_dir is not None:
        ctx.obj["data_dir"] = data_dir
    if config_path is not None:
        ctx.obj["config_path"] = config_path
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose == 0:
        # Per-message warnings go into the import report instead of the terminal.
        logging.getLogger("config.pipeline").setLevel(logging.ERROR)


@main.command("init")
@click.option("--own-domain", "own_domains", multiple=True,
              help="Your company's mail domain (repeatable); written to own_domains in a new config.")
@_archive_options
def init_command(own_domains: tuple[str, ...]) -> None:
    """Create the data directory (private to you) and a commented dossier.toml.

    \b
    Example: dossier init --own-domain northwind-trading.com
    """
    for domain in own_domains:
        if normalize_domain(domain) is None:
            raise click.BadParameter(f"{domain!r} is not a mail domain", param_hint="--own-domain")
    obj = click.get_current_context().find_root().ensure_object(dict)
    config_path = init_data_dir(obj.get("data_dir"), obj.get("config_path"), own_domains=own_domains)
    archive = _open_archive()
    archive.index.create()
    click.echo(f"Dossier archive ready in {archive.settings.data_dir}")
    hint = "" if own_domains else " (set own_domains there: your company's mail domains)"
    click.echo(f"Configuration: {config_path}{hint}")


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--account", default="local", show_default=True,
              help="Label recorded with each message copy (e.g. the rep's mailbox).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@_archive_options
def import_command(paths: tuple[Path, ...], account: str, as_json: bool) -> None:
    """Import mbox files, Maildir folders, folders of .eml files or single messages.

    \b
    Example: dossier import ~/export/Inbox.mbox ~/Maildir --account anna
    """
    archive = _open_archive()
    total = 0
    for path in paths:
        total += count_messages(path) or 0
    report = _pipeline().import_paths(
        archive, list(paths), account=account,
        progress=_progress("Importing", total or None, not as_json),
    )
    if as_json:
        _emit_json(report.summary())
    else:
        s = report.summary()
        rate = s["seen"] / s["seconds"] if s["seconds"] else 0.0
        click.echo(
            f"{s['seen']} messages seen: {s['stored']} stored, {s['duplicates']} already archived, "
            f"{s['failed']} failed to parse (kept), {s['linked']} linked to customers "
            f"in {s['seconds']:.1f} s ({rate:.0f}/s)"
        )
        for origin, reason in report.failures[:20]:
            click.echo(f"  failed: {origin}: {reason}")
        if len(report.failures) > 20:
            click.echo(f"  … and {len(report.failures) - 20} more (see `dossier status`)")
    for origin, reason in report.unreadable:
        click.echo(f"unreadable: {origin}: {reason}", err=True)
    if report.unreadable:
        raise SystemExit(1)


# ---------------------------------------------------------------- customers


@main.group("customers", cls=DossierGroup)
def customers_group() -> None:
    """Customer records: import, add, list and show."""


@customers_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@_archive_options
def customers_import(file: Path) -> None:
    """Import customers from a CSV or XLSX sheet (name, domains, emails, country, notes).

    Extra columns are kept as custom fields. Existing customers (same name) get the new
    domains and addresses added. Messages already archived are re-linked.
    """
    archive = _open_archive()
    created = updated = 0
    errors: list[str] = []
    with archive.sessions.begin() as session:
        for row in read_customer_file(file):
            if not isinstance(row, CustomerRow):
                errors.append(f"{file}:{row.line}: {row.reason}")
                continue
            try:
                with session.begin_nested():
                    _, is_new = save_customer(
                        session, row.name, domains=row.domains, emails=row.emails,
                        country=row.country, notes=row.notes, fields=row.fields,
                    )
            except LinkError as exc:
                errors.append(f"{file}:{row.line}: {exc}")
                continue
            created += is_new
            updated += not is_new
    changed = _pipeline().relink_all(archive)
    for line in errors:
        click.echo(f"skipped {line}", err=True)
    click.echo(f"{created} customers added, {updated} updated, {len(errors)} rows skipped; "
               f"{changed} messages re-linked")
    if errors:
        raise SystemExit(1)


@customers_group.command("add")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, help="A mail domain of the customer (repeatable).")
@click.option("--email", "emails", multiple=True, help="A contact address (repeatable).")
@click.option("--country", default="", help="Country.")
@click.option("--notes", default="", help="Free-form notes.")
@_archive_options
def customers_add(name: str, domains: tuple[str, ...], emails: tuple[str, ...], country: str, notes: str) -> None:
    """Add a customer (or add domains and addresses to an existing one).

    \b
    Example: dossier customers add "Acme Industrial" --domain acme-industrial.com
    """
    archive = _open_archive()
    with archive.sessions.begin() as session:
        customer, created = save_customer(
            session, name, domains=domains, emails=emails, country=country, notes=notes
        )
        shown = customer.name
    changed = _pipeline().relink_all(archive)
    click.echo(f"{'Added' if created else 'Updated'} {shown}; {changed} messages re-linked")


def _customer_json(customer: Customer, activity) -> dict:
    return {
        "name": customer.name,
        "domains": [d.domain for d in customer.domains],
        "emails": [c.email for c in customer.contacts],
        "country": customer.country,
        "notes": customer.notes,
        "fields": customer.fields or {},
        "messages": activity.messages if activity else 0,
        "first_contact": _iso(activity.first_contact) if activity else None,
        "last_contact": _iso(activity.last_contact) if activity else None,
    }


@customers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def customers_list(as_json: bool) -> None:
    """List customers with their domains and message counts."""
    archive = _open_archive()
    with archive.sessions() as session:
        activity = customer_activity(session)
        customers = session.scalars(select(Customer).order_by(Customer.name)).all()
        rows = [_customer_json(c, activity.get(c.id)) for c in customers]
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo("No customers yet: `dossier customers import FILE` or `dossier customers add NAME`.")
    for row in rows:
        last = (row["last_contact"] or "")[:10] or "-"
        click.echo(f"{row['name']}  [{', '.join(row['domains'] + row['emails'])}]  "
                   f"{row['messages']} messages, last {last}")


@customers_group.command("show")
@click.argument("name")
@click.option("--limit", default=10, show_default=True, help="How many of the latest messages to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_archive_options
def customers_show(name: str, limit: int, as_json: bool) -> None:
    """Show one customer: contacts, domains, message count, first/last contact, latest mail."""
    archive = _open_archive()
    with archive.sessions() as session:
        customer = find_customer(session, name)
        data = _customer_json(customer, customer_activity(session).get(customer.id))
        latest = session.scalars(
            select(Message)
            .where(Message.id.in_(select(Link.message_id).where(Link.customer_id == customer.id)))
            .order_by(Message.date.desc())
            .limit(limit)
        ).all()
        data["latest"] = [_message_summary(m) for m in latest]
    if as_json:
        _emit_json(data)
        return
    click.echo(data["name"])
    for label, key in (("Domains", "domains"), ("Contacts", "emails")):
        click.echo(f"  {label}: {', '.join(data[key]) or '-'}")
    for label, key in (("Country", "country"), ("Notes", "notes")):
        if data[key]:
            click.echo(f"  {label}: {data[key]}")
    for key, value in data["fields"].items():
        click.echo(f"  {key}: {value}")
    click.echo(f"  Messages: {data['messages']}  first {(data['first_contact'] or '-')[:10]}"
               f"  last {(data['last_contact'] or '-')[:10]}")
    for m in data["latest"]:
        click.echo(f"  {m['date'][:10]}  {m['id']}  {m['from']}  {m['subject']}")


def _message_summary(message: Message) -> dict:
    return {
        "id": message.short_id,
        "message_id": message.header_message_id,
        "date": _iso(message.date),
        "from": message.from_email,
        "subject": message.subject,
    }


# ---------------------------------------------------------------- search and show


def _parse_day(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


@main.command("search")
@click.argument("query", required=False, default="")
@click.option("--customer", help="Only mail linked to this customer (name or part of it).")
@click.option("--from", "from_", help="Only mail from this address, or from this domain.")
@click.option("--since", help="Only mail on or after this date (YYYY-MM-DD, UTC).")
@click.option("--until", help="Only mail before this date (YYYY-MM-DD, UTC).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Most hits shown.")
@click.option("--sort", type=click.Choice(["date", "relevance"]), default="date", show_default=True,
              help="Newest first, or best match first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of hits.")
@_archive_options
def search_command(query: str, customer: str | None, from_: str | None, since: str | None,
                   until: str | None, limit: int, sort: str, as_json: bool) -> None:
    """Search subjects, bodies, people and attachment names; Chinese and English.

    \b
    QUERY supports AND/OR/NOT, "phrases" and prefix*; CJK text needs no spaces.
    Examples:
      dossier search quotation --customer "Acme Industrial"
      dossier search '报价单 FOB' --since 2024-01-01 --json
    """
    archive = _open_archive()
    since_dt, until_dt = _parse_day(since, "--since"), _parse_day(until, "--until")
    with archive.sessions() as session:
        customer_ids = None
        if customer:
            found = find_customer(session, customer)
            customer_ids = (found.id,)
        try:
            result = search(archive.index, SearchRequest(
                text=query, customer_ids=customer_ids, from_address=from_,
                since=since_dt, until=until_dt, limit=limit, sort=sort,
            ))
        except QueryError as exc:
            raise click.ClickException(str(exc)) from exc
        hits = _hit_rows(archive, session, result.hits)
    if as_json:
        _emit_json(hits)
        return
    if not hits:
        click.echo("No messages found.")
        return
    _print_hits(hits, result.total)


def _hit_rows(archive: Archive, session, hits) -> list[dict]:
    shas = [h.id for h in hits]
    # Load every hit's people, attachments and folders in three queries, not three per hit.
    query = select(Message).where(Message.sha256.in_(shas)).options(
        selectinload(Message.participants), selectinload(Message.attachments), selectinload(Message.copies)
    )
    messages = {m.sha256: m for m in session.scalars(query)}
    links = customers_by_message(session, [m.id for m in messages.values()])
    names = customer_names(session, [c for ids in links.values() for c in ids])
    rows = []
    for hit in hits:
        m = messages.get(hit.id)
        if m is None:  # indexed but no longer in the database: `dossier reindex` repairs
            continue
        rows.append({
            "id": m.short_id,
            "message_id": m.header_message_id,
            "date": _iso(m.date),
            "from": m.from_email,
            "from_name": m.from_name,
            "to": [p.email for p in m.participants if p.role == "to"],
            "cc": [p.email for p in m.participants if p.role == "cc"],
            "subject": m.subject,
            "customers": [names[c] for c in links.get(m.id, []) if c in names],
            "snippet": hit.snippet,
            "attachments": [a.filename for a in m.attachments],
            "folders": [f"{c.account}:{c.folder}" for c in m.copies],
            "path": str(archive.raw.path_for(m.sha256)),
            "score": round(hit.score, 3),
        })
    return rows


def _print_hits(hits: list[dict], total: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    for h in hits:
        who = f"{h['from_name']} <{h['from']}>" if h["from_name"] else h["from"]
        customers = f"  [cyan]{escape(', '.join(h['customers']))}[/]" if h["customers"] else ""
        console.print(f"[bold]{h['date'][:10]}[/]  [dim]{h['id']}[/]  {escape(_safe(who))}{customers}")
        console.print(f"  [bold]{escape(_safe(h['subject'] or '(no subject)'))}[/]")
        parts = escape(_safe(h["snippet"])).split("**")
        snippet = "".join(f"[yellow bold]{p}[/]" if i % 2 else p for i, p in enumerate(parts))
        console.print(f"  {snippet}")
        if h["attachments"]:
            console.print(f"  [dim]attachments: {escape(_safe(', '.join(h['attachments'])))}[/]")
    shown = len(hits)
    console.print(f"[dim]{shown} of {total} matching messages shown[/]" if total > shown
                  else f"[dim]{shown} messages[/]")


def _find_message(session, ident: str) -> Message:
    ident = ident.strip()
    hexish = ident.lower()
    if 4 <= len(hexish) <= 64 and all(c in "0123456789abcdef" for c in hexish):
        found = session.scalars(select(Message).where(Message.sha256.like(hexish + "%")).limit(2)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise click.ClickException(f"{ident!r} matches several messages; give more characters of the id")
    header = ident.strip("<>")
    found = session.scalars(select(Message).where(Message.header_message_id == header)).all()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        ids = ", ".join(m.short_id for m in found)
        raise click.ClickException(f"Message-ID {header!r} is shared by {len(found)} messages ({ids}); "
                                   "show one by its id")
    raise click.ClickException(f"no message {ident!r}; use the id `dossier search` prints")


@main.command("show")
@click.argument("message_id")
@click.option("--raw", is_flag=True, help="Print the exact raw bytes as stored.")
@_archive_options
def show_command(message_id: str, raw: bool) -> None:
    """Show one message (by the id search prints, or its Message-ID header)."""
    archive = _open_archive()
    with archive.sessions() as session:
        message = _find_message(session, message_id)
        data = archive.raw.get(message.sha256)
        if raw:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        links = customers_by_message(session, [message.id]).get(message.id, [])
        names = customer_names(session, links)
        copies = [f"{c.account}:{c.folder}" for c in message.copies]
        lines = [f"Id:       {message.short_id}  ({message.sha256})"]
        if message.status != "ok":
            lines.append(f"Status:   failed to parse: {message.error}")
            lines.append(f"Folders:  {', '.join(copies)}")
            lines.append("The raw bytes are kept: `dossier show --raw " + message.short_id + "`")
            click.echo("\n".join(lines))
            return
        from ingest.parse import parse_message

        try:
            parsed = parse_message(data)
        except ParseError as exc:
            raise click.ClickException(f"message {message.short_id} no longer parses: {exc}") from exc
        date_note = "" if message.date_source == "date" else f"  (from the {message.date_source} time)"
        lines += [
            f"Date:     {_local_date(message)}{date_note}",
            f"Subject:  {parsed.subject}",
        ]
        for role in ("from", "reply_to", "to", "cc", "bcc"):
            people = parsed.addresses(role)
            if people:
                label = role.replace("_", "-").capitalize() + ":"
                lines.append(f"{label:<9} " + ", ".join(
                    f"{a.name} <{a.email}>" if a.name else a.email for a in people))
        if parsed.message_id:
            lines.append(f"Message-ID: {parsed.message_id}")
        lines.append(f"Folders:  {', '.join(copies)}")
        lines.append(f"Customers: {', '.join(names[c] for c in links if c in names) or '-'}")
        for a in parsed.attachments:
            lines.append(f"Attachment: {a.filename or '(unnamed)'} ({a.content_type}, {a.size} bytes)")
        lines.append("")
        lines.append(parsed.text.rstrip())
        click.echo(_safe("\n".join(lines)))


# ---------------------------------------------------------------- maintenance


def _dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_archive_options
def status_command(as_json: bool) -> None:
    """Counts of messages, failures, customers and links; index freshness; disk use."""
    archive = _open_archive()
    with archive.sessions() as session:
        def count(*where) -> int:
            return session.scalar(select(func.count()).select_from(Message).where(*where)) or 0

        linked_ids = select(Link.message_id)
        data = {
            "messages": count(Message.status == "ok"),
            "failed": count(Message.status == "failed"),
            "customers": session.scalar(select(func.count()).select_from(Customer)) or 0,
            "linked": count(Message.status == "ok", Message.id.in_(linked_ids)),
            "unlinked": count(Message.status == "ok", Message.is_internal.is_(False), Message.id.not_in(linked_ids)),
            "internal": count(Message.status == "ok", Message.is_internal.is_(True)),
            "indexed": count(Message.status == "ok", Message.indexed_at.is_not(None)),
            "pending_index": count_pending(session),
            "index_documents": archive.index.doc_count(),
            "last_import": _iso(session.scalar(select(func.max(Message.stored_at)))),
            "last_indexed": _iso(session.scalar(select(func.max(Message.indexed_at)))),
            "folders": session.scalar(
                select(func.count()).select_from(
                    select(MessageCopy.account, MessageCopy.folder).distinct().subquery()
                )
            ) or 0,
            "data_dir": str(archive.settings.data_dir),
            "data_dir_bytes": _dir_size(archive.settings.data_dir),
        }
        failures = session.execute(
            select(Message.sha256, Message.error).where(Message.status == "failed").order_by(Message.id).limit(10)
        ).all()
    if as_json:
        _emit_json(data)
        return
    click.echo(f"Archive     {data['data_dir']} ({data['data_dir_bytes'] / 1e6:.1f} MB)")
    click.echo(f"Messages    {data['messages']} ({data['failed']} failed to parse, kept raw)")
    click.echo(f"Customers   {data['customers']}")
    click.echo(f"Linked      {data['linked']} messages; {data['unlinked']} unlinked; {data['internal']} internal")
    fresh = "up to date" if data["pending_index"] == 0 else f"{data['pending_index']} waiting (run `dossier reindex`)"
    click.echo(f"Index       {data['indexed']} messages indexed, {fresh}; last change {data['last_indexed'] or '-'}")
    click.echo(f"Last import {data['last_import'] or '-'}")
    if data["index_documents"] != data["indexed"]:
        click.echo(f"warning: the index holds {data['index_documents']} messages but {data['indexed']} are "
                   "recorded as indexed; run `dossier reindex`", err=True)
    for sha, error in failures:
        click.echo(f"  failed {sha[:SHORT_ID_LENGTH]}: {error}")


@main.command("reindex")
@_archive_options
def reindex_command() -> None:
    """Rebuild the search index from the stored messages (the live index serves until done)."""
    archive = _open_archive()
    with archive.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Message).where(Message.status == "ok"))
    count = _pipeline().reindex(archive, progress=_progress("Indexing", total, True))
    click.echo(f"Index rebuilt: {count} messages")


@main.command("relink")
@_archive_options
def relink_command() -> None:
    """Recompute every message's customer links from the current customer records."""
    archive = _open_archive()
    changed = _pipeline().relink_all(archive)
    click.echo(f"Re-linked all messages; {changed} changed customers")



if __name__ == "__main__":
    main()
