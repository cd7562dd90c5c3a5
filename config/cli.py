"""The ``dossier`` command line: thin click commands over the pipeline and the stages' libraries."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from index import ENGINES
from ingest.clock import utcnow as _utcnow

from .settings import ConfigError, init_data_dir, load_settings, loose_permissions

if TYPE_CHECKING:
    from ingest import Message
    from linker import Customer

    from .archive import Archive

# Each command imports what it uses inside its function: SQLAlchemy, the index, the stages and the
# parser together take about a second to import, which `dossier --help` and every command that
# needs only some of them should not pay.

log = logging.getLogger("dossier")


def _user_errors() -> tuple[type[Exception], ...]:
    from index.errors import SearchIndexError
    from ingest.errors import IngestError
    from linker.errors import LinkError

    return (ConfigError, IngestError, LinkError, SearchIndexError)


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
        except _user_errors() as exc:  # an except clause's types are looked up only when something is raised
            raise click.ClickException(str(exc)) from exc
        except _database_errors() as exc:
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


def _open_archive(*, write: bool = False) -> Archive:
    """The archive the options name; ``write=True`` first takes the data directory's write lock
    (waiting up to $DOSSIER_LOCK_WAIT seconds, default 30, for a daemon job or another command)."""
    from .archive import Archive

    obj = click.get_current_context().find_root().ensure_object(dict)
    served = _served()
    if served is not None:  # answering for `dossier daemon`: its archive, kept open between commands
        archive = served.archive(obj.get("data_dir"), obj.get("config_path"), write=write)
        _warn_loose_permissions(archive.settings.data_dir)
        return archive
    settings = load_settings(obj.get("data_dir"), obj.get("config_path"))
    if write:
        from .lock import ArchiveLock, command_line

        lock = ArchiveLock(settings.data_dir, command_line(), wait=_lock_wait(),
                           on_wait=lambda text: click.echo(text, err=True))
        lock.acquire()
        click.get_current_context().call_on_close(lock.release)
    _warn_loose_permissions(settings.data_dir)
    archive = Archive(settings)
    click.get_current_context().call_on_close(archive.close)
    return archive


def _lock_wait() -> float:
    """Seconds a writing command waits for the write lock ($DOSSIER_LOCK_WAIT, default 30)."""
    try:
        return float(os.environ.get("DOSSIER_LOCK_WAIT", "30"))
    except ValueError:
        return 30.0


def _warn_loose_permissions(data_dir: Path) -> None:
    for path in loose_permissions(data_dir):
        mode = "700" if path.is_dir() else "600"
        click.echo(f"warning: {path} is readable by other users; run `chmod {mode} {path}`", err=True)


def _served():
    """The daemon's request this command answers (``config.serve``), or None in a process of its own."""
    serve = sys.modules.get(f"{__package__}.serve")
    return serve.SERVED.get() if serve is not None else None


def _progress(label: str, total: int | None, enabled: bool):
    """An iterable wrapper showing a progress bar on a terminal, or nothing."""
    from .archive import no_progress

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
    if data_dir is not None:
        ctx.obj["data_dir"] = data_dir
    if config_path is not None:
        ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose
    if _served() is not None:  # answering for `dossier daemon`: its process, its umask and logging
        return
    # Everything Dossier writes (database, raw store, index) is private to the owner.
    os.umask(0o077)
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose == 0:
        # Per-message warnings go into the import report instead of the terminal.
        logging.getLogger("config.pipeline").setLevel(logging.ERROR)


@main.command("init")
@click.option("--own-domain", "own_domains", multiple=True,
              help="Your company's mail domain (repeatable); written to own_domains in a new config.")
@click.option("--engine", type=click.Choice(ENGINES),
              help="Search engine of the new index (default: the config's [index] engine, tantivy).")
@_archive_options
def init_command(own_domains: tuple[str, ...], engine: str | None) -> None:
    """Create the data directory (private to you) and a commented dossier.toml.

    \b
    Example: dossier init --own-domain northwind-trading.com
    """
    from linker import normalize_domain

    for domain in own_domains:
        if normalize_domain(domain) is None:
            raise click.BadParameter(f"{domain!r} is not a mail domain", param_hint="--own-domain")
    obj = click.get_current_context().find_root().ensure_object(dict)
    config_path = init_data_dir(obj.get("data_dir"), obj.get("config_path"), own_domains=own_domains, engine=engine)
    archive = _open_archive(write=True)
    if engine and archive.index.exists and archive.index.engine_name != engine:
        raise click.ClickException(f"the archive in {archive.settings.data_dir} already has a "
                                   f"{archive.index.engine_name} index; convert it with "
                                   f"`dossier reindex --engine {engine}`")
    if engine:  # a config kept from an earlier init may name another
        archive.index.new_engine = engine
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
    from ingest import count_messages

    archive = _open_archive(write=True)
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
        partly = f" ({s['partial']} read partially, their text searchable)" if s["partial"] else ""
        click.echo(
            f"{s['seen']} messages seen: {s['stored']} stored{partly}, {s['duplicates']} already archived, "
            f"{s['failed']} failed to parse (kept), {s['linked']} linked to customers "
            f"in {s['seconds']:.1f} s ({rate:.0f}/s)"
        )
        problems = [("failed", o, r) for o, r in report.failures] + [("partial", o, r) for o, r in report.partials]
        for kind, origin, reason in problems[:20]:
            click.echo(f"  {kind}: {origin}: {reason}")
        if len(problems) > 20:
            click.echo(f"  … and {len(problems) - 20} more (see `dossier status`)")
    for origin, note in report.warnings:
        click.echo(f"warning: {origin}: {note}", err=True)
    for origin, reason in report.unreadable:
        click.echo(f"unreadable: {origin}: {reason}", err=True)
    if report.unreadable:
        raise SystemExit(1)


# ---------------------------------------------------------------- customers


@main.group("customers", cls=DossierGroup)
def customers_group() -> None:
    """Customer records: import, add, edit, merge, remove; the dossier; dormant and waiting customers."""


@customers_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--map", "mapping", multiple=True, metavar="HEADER=FIELD",
              help="Read the column HEADER as FIELD (name, emails, domains, website, owner, contacts, phones, "
                   "country, notes or custom); repeatable.")
@click.option("--sheet", metavar="NAME", help="Read only this tab of a workbook (default: every tab).")
@click.option("--dry-run", is_flag=True, help="Show how each column is read and what each row would become; "
                                               "write nothing.")
@_archive_options
def customers_import(file: Path, mapping: tuple[str, ...], sheet: str | None, dry_run: bool) -> None:
    """Import customers from a CSV, XLSX or XLS sheet (every tab, title rows and merged cells too).

    Columns are recognised by meaning, in Chinese or English: names (客户名称, Company), e-mail
    addresses (邮箱, 联系人邮箱, Email 2), domains and websites (域名, 官网, Website), the owner
    (负责人, 业务员, Sales Rep), contact persons (联系人), phones (电话, 手机), country (国家),
    notes (备注); other columns are kept as custom fields. A row updates the customer with the
    same name, else the one owning one of its domains, instead of adding a duplicate. The
    messages the new domains and addresses concern are re-linked.

    \b
    Example: dossier customers import 客户汇总表.xlsx --map "Kontakt=emails" --dry-run
    """
    from linker import import_customers, read_customer_sheet

    reading = read_customer_sheet(file, mapping=mapping, sheet=sheet)
    archive = _open_archive(write=not dry_run)
    plans = []
    if dry_run:
        with archive.sessions() as session:
            plans.append(import_customers(session, reading, archive.directory(session), dry_run=True))
        _print_import_preview(plans[0])
    else:
        changed = _pipeline().change_customers(
            archive, lambda session: plans.append(import_customers(session, reading, archive.directory(session))))
    plan = plans[0]
    for p in plan.rows:
        if p.action == "skip":
            click.echo(f"skipped {reading.where(p.row)}: {p.reason}", err=True)
    for line in plan.notices():
        click.echo(f"warning: {_safe(line)}", err=True)
    if not dry_run:
        for action in ("create", "update"):
            for p in plan.rows:
                if p.action == action:
                    click.echo(f"{action}d {_safe(p.target)}")
    counts = (f"{plan.count('create')} customers added, {plan.count('update')} updated, "
              f"{plan.count('unchanged')} unchanged, {plan.count('skip')} rows skipped")
    click.echo(f"dry run, nothing written: {counts}" if dry_run else f"{counts}; {changed} messages re-linked")
    if plan.count("skip") or any(p.row.problems for p in plan.rows if p.action != "skip"):
        raise SystemExit(1)


def _print_import_preview(plan, rows: int = 5) -> None:
    """How ``dossier customers import --dry-run`` shows a sheet: each column's reading, then the
    first rows as they would be stored."""
    for table in plan.reading.tables:
        click.echo(f"{'Sheet ' + repr(table.sheet) + ', h' if table.sheet else 'H'}eader on line {table.header_line}:")
        for c in table.columns:
            read = {"": f"custom field {c.key!r}", "domains": "domains (website: its registrable domain)"
                    if c.website else "domains"}.get(c.field, c.field)
            how = {"mapped": " (--map)", "repeated": " (a second one)"}.get(c.how, "")
            hint = f"  (looks like {c.suggest}: --map \"{c.header.strip()}={c.suggest}\")" if c.suggest else ""
            click.echo(_safe(f"  {c.header.strip() or f'column {c.index + 1}'} -> {read}{how}{hint}"))
    for name in plan.reading.skipped:
        click.echo(f"Sheet {name!r}: no header row with a name column, skipped")
    click.echo("First rows as they would be stored:")
    for p in [p for p in plan.rows if p.record is not None][:rows]:
        r = p.record
        details = [("domains", ", ".join(r.domains)), ("emails", ", ".join(r.emails)), ("owner", r.owner),
                   ("people", ", ".join(x.label() for x in r.people)), ("country", r.country), ("notes", r.notes),
                   ("fields", ", ".join(f"{k}={v}" for k, v in r.fields.items()))]
        click.echo(_safe(f"  {plan.reading.where(p.row)}: {p.action} {r.name}"))
        for label, value in details:
            if value:
                click.echo(_safe(f"    {label}: {value}"))


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
    from linker import save_customer

    archive = _open_archive(write=True)
    result: dict = {}

    def change(session) -> None:
        customer, created = save_customer(
            session, name, domains=domains, emails=emails, country=country, notes=notes
        )
        result.update(name=customer.name, created=created)

    changed = _pipeline().change_customers(archive, change)
    click.echo(f"{'Added' if result['created'] else 'Updated'} {result['name']}; {changed} messages re-linked")


@customers_group.command("edit")
@click.argument("name")
@click.option("--add-domain", "add_domains", multiple=True, help="Add a mail domain (repeatable).")
@click.option("--remove-domain", "remove_domains", multiple=True, help="Remove a mail domain (repeatable).")
@click.option("--add-email", "add_emails", multiple=True, help="Add a contact address (repeatable).")
@click.option("--remove-email", "remove_emails", multiple=True, help="Remove a contact address (repeatable).")
@click.option("--country", default="", help="New country.")
@click.option("--notes", default="", help="New notes.")
@_archive_options
def customers_edit(name: str, add_domains: tuple[str, ...], remove_domains: tuple[str, ...],
                   add_emails: tuple[str, ...], remove_emails: tuple[str, ...], country: str, notes: str) -> None:
    """Change a customer's domains, contacts, country or notes; its whole history is re-linked."""
    from linker import edit_customer, find_customer, save_customer

    archive = _open_archive(write=True)
    shown: dict = {}

    def change(session) -> None:
        customer = find_customer(session, name)
        edit_customer(session, customer, remove_domains=remove_domains, remove_emails=remove_emails)
        save_customer(session, customer.name, domains=add_domains, emails=add_emails, country=country, notes=notes)
        shown["name"] = customer.name

    changed = _pipeline().change_customers(archive, change)
    click.echo(f"Updated {shown['name']}; {changed} messages re-linked")


@customers_group.command("rename")
@click.argument("name")
@click.argument("new_name")
@_archive_options
def customers_rename(name: str, new_name: str) -> None:
    """Give a customer a new name (its links and history stay)."""
    from linker import find_customer, rename_customer

    archive = _open_archive(write=True)
    with archive.sessions.begin() as session:
        customer = find_customer(session, name)
        old = customer.name
        rename_customer(session, customer, new_name)
        shown = customer.name
    click.echo(f"Renamed {old} to {shown}")


@customers_group.command("merge")
@click.argument("source")
@click.argument("target")
@_archive_options
def customers_merge(source: str, target: str) -> None:
    """Merge customer SOURCE into TARGET: domains, contacts, fields and corrections move; SOURCE goes."""
    from linker import find_customer, merge_customers

    archive = _open_archive(write=True)
    shown: dict = {}

    def change(session) -> set[int]:
        a, b = find_customer(session, source), find_customer(session, target)
        shown.update(source=a.name, target=b.name)
        return merge_customers(session, a, b)

    changed = _pipeline().change_customers(archive, change)
    click.echo(f"Merged {shown['source']} into {shown['target']}; {changed} messages re-linked")


@customers_group.command("remove")
@click.argument("name")
@_archive_options
def customers_remove(name: str) -> None:
    """Remove a customer and its links; the mail itself stays in the archive."""
    from linker import find_customer, remove_customer

    archive = _open_archive(write=True)
    shown: dict = {}

    def change(session) -> set[int]:
        customer = find_customer(session, name)
        shown["name"] = customer.name
        return remove_customer(session, customer)

    changed = _pipeline().change_customers(archive, change)
    click.echo(f"Removed {shown['name']}; {changed} messages re-linked (no mail deleted)")


@customers_group.command("add-from-domain")
@click.argument("domain")
@click.option("--name", default="", help="Customer name (default: the name `dossier unlinked` suggests).")
@_archive_options
def customers_add_from_domain(domain: str, name: str) -> None:
    """Create a customer for DOMAIN (named as `dossier unlinked` suggests) and link its history."""
    from linker import LinkError, find_unlinked, is_freemail, normalize_domain, save_customer, suggest_name

    archive = _open_archive(write=True)
    shown: dict = {}

    def change(session) -> None:
        found = normalize_domain(domain)
        if found is None:
            raise LinkError(f"{domain!r} is not a domain; write it like 'example.com'")
        directory = archive.directory(session)
        if is_freemail(f"x@{found}", directory):
            raise LinkError(f"{found} is a free-mail provider; add its people by address: "
                            f"dossier customers add NAME --email ADDRESS")
        suggested = name or next((g.suggested_name for g in find_unlinked(session, directory)
                                  if g.kind == "domain" and g.value == found), "") or suggest_name("domain", found, ())
        customer, created = save_customer(session, suggested, domains=[found])
        shown.update(name=customer.name, created=created, domain=found)

    changed = _pipeline().change_customers(archive, change)
    verb = "Added" if shown["created"] else "Updated"
    click.echo(f"{verb} {_safe(shown['name'])} ({shown['domain']}); {changed} messages re-linked")


@customers_group.command("conflicts")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def customers_conflicts(as_json: bool) -> None:
    """Domains and addresses that several customers claim (their mail links to all of them)."""
    from linker import find_conflicts

    archive = _open_archive()
    with archive.sessions() as session:
        rows = [{"kind": c.kind, "value": c.value, "customers": list(c.customers), "messages": c.messages}
                for c in find_conflicts(session)]
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo("No domain or address is claimed by more than one customer.")
    for row in rows:
        click.echo(f"{row['value']}  ({row['kind']}, {row['messages']} messages linked to several): "
                   f"{', '.join(row['customers'])}")
    if rows:
        click.echo("Add a contact address to one customer to settle who a sender belongs to, "
                   "or `dossier link pin/block` single messages.")


@customers_group.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def customers_duplicates(as_json: bool) -> None:
    """Customers that are likely one: the same registrable domain, the same contact address, or names
    equal without legal forms and punctuation (有限公司, Co., Ltd., GmbH); with the merge command."""
    from linker import stored_duplicates

    archive = _open_archive()
    with archive.sessions() as session:
        found = stored_duplicates(session, archive.directory(session).freemail)
    if as_json:
        _emit_json([{"customers": list(d.customers), "reasons": [{"kind": k, "value": v} for k, v in d.reasons],
                     "merge": d.merge_command} for d in found])
        return
    if not found:
        click.echo("No likely duplicates among the customers.")
    for d in found:
        click.echo(_safe(f"{d.customers[0]} / {d.customers[1]}: {d.why}\n  {d.merge_command}"))


def _customer_json(customer: Customer, activity) -> dict:
    data = {
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
    # The owner and the people on file only where the customer has them.
    if customer.owner:
        data["owner"] = customer.owner
    if customer.people:
        data["people"] = [{"name": p.name, "phone": p.phone} for p in customer.people]
    return data


def _people_text(people: list[dict]) -> str:
    return ", ".join(f"{p['name']} ({p['phone']})" if p["name"] and p["phone"] else p["name"] or p["phone"]
                     for p in people)


def _parse_duration(value: str | None, option: str) -> timedelta | None:
    """``90d``, ``12w``, ``6m`` (30-day months), ``1y`` (365 days) or a bare number of days."""
    if value is None:
        return None
    text = value.strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "d")
    if not number.isdigit():
        raise click.BadParameter(f"{value!r} is not a duration; use e.g. 90d, 12w, 6m or 1y", param_hint=option)
    return timedelta(days=int(number) * units[unit])


def _days(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 86400, 1)


@customers_group.command("list")
@click.option("--dormant", metavar="AGE", help="Only customers with mail once but none in AGE (90d, 12w, 6m, 1y).")
@click.option("--waiting", is_flag=True, help="Only customers whose last message is unanswered, longest wait first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def customers_list(dormant: str | None, waiting: bool, as_json: bool) -> None:
    """List customers with their domains and message counts."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from linker import Customer, customer_activity, customer_status

    quiet = _parse_duration(dormant, "--dormant")
    archive = _open_archive()
    now = _utcnow()
    with archive.sessions() as session:
        activity = customer_activity(session)
        status = customer_status(session, archive.directory(session)) if waiting else {}
        # Loaded with their domains, contacts and people in three queries, not three per customer.
        customers = session.scalars(select(Customer).order_by(Customer.name).options(
            selectinload(Customer.domains), selectinload(Customer.contacts), selectinload(Customer.people))).all()
        rows = []
        for c in customers:
            act = activity.get(c.id)
            if quiet is not None and (act is None or act.last_contact is None or now - act.last_contact < quiet):
                continue
            row = _customer_json(c, act)
            if waiting:
                since = status[c.id].waiting_since if c.id in status else None
                if since is None:
                    continue
                row["waiting_since"], row["waiting_days"] = _iso(since), _days(now - since)
            rows.append(row)
    if waiting:
        rows.sort(key=lambda r: r["waiting_since"])
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo("No customers match." if dormant or waiting else
                   "No customers yet: `dossier customers import FILE` or `dossier customers add NAME`.")
    for row in rows:
        last = (row["last_contact"] or "")[:10] or "-"
        wait = f", waiting {row['waiting_days']} days" if waiting else ""
        owner = f"  owner {row['owner']}" if "owner" in row else ""
        people = f"  people {_people_text(row['people'])}" if "people" in row else ""
        click.echo(f"{row['name']}  [{', '.join(row['domains'] + row['emails'])}]{owner}{people}  "
                   f"{row['messages']} messages, last {last}{wait}")


@customers_group.command("show")
@click.argument("name")
@click.option("--limit", default=10, show_default=True, help="How many of the latest messages to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_archive_options
def customers_show(name: str, limit: int, as_json: bool) -> None:
    """The page to read before a call: contacts, domains, mail in and out, quotes sent, threads
    waiting for an answer, the team's median reply time, and the latest mail."""
    from sqlalchemy import select

    from ingest import Message
    from linker import Link, customer_activity, find_customer, load_dossier

    archive = _open_archive()
    now = _utcnow()
    with archive.sessions() as session:
        customer = find_customer(session, name)
        data = _customer_json(customer, customer_activity(session).get(customer.id))
        data.update(_dossier_json(load_dossier(session, customer, archive.directory(session), now)))
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
    if "owner" in data:
        click.echo(_safe(f"  Owner: {data['owner']}"))
    if "people" in data:
        click.echo(_safe(f"  People on file: {_people_text(data['people'])}"))
    for label, key in (("Country", "country"), ("Notes", "notes")):
        if data[key]:
            click.echo(f"  {label}: {data[key]}")
    for key, value in data["fields"].items():
        click.echo(f"  {key}: {value}")
    click.echo(f"  Messages: {data['messages']} ({data['messages_in']} in, {data['messages_out']} out)"
               f"  first {(data['first_contact'] or '-')[:10]}  last {(data['last_contact'] or '-')[:10]}")
    reply = data["median_reply_hours"]
    click.echo(f"  Median reply: {'-' if reply is None else f'{reply} hours'}")
    lines = []
    if data["contacts"]:
        lines.append("  People:")
        for c in data["contacts"]:
            who = f"{c['name']} <{c['email']}>" if c["name"] else c["email"]
            last = f"last {c['last_date'][:10]} {c['last_id']} {c['last_subject']}" if c["last_date"] else "no mail yet"
            lines.append(f"    {who}  {c['messages']} messages, {last}")
    if data["open_threads"]:
        lines.append("  Waiting for our answer:")
        for t in data["open_threads"]:
            lines.append(f"    {t['waiting_days']:>6} days  {t['date'][:10]}  {t['id']}  {t['from']}  {t['subject']}")
    if data["quotes"]:
        lines.append("  Quotes sent:")
        for q in data["quotes"]:
            files = f"  [{', '.join(q['files'])}]" if q["files"] else ""
            lines.append(f"    {q['date'][:10]}  {q['id']}  {q['subject']}{files}")
    if data["latest"]:
        lines.append("  Latest mail:")
    for m in data["latest"]:
        lines.append(f"    {m['date'][:10]}  {m['id']}  {m['from']}  {m['subject']}")
    if lines:
        click.echo(_safe("\n".join(lines)))


def _dossier_json(d) -> dict:
    return {
        "messages_in": d.messages_in,
        "messages_out": d.messages_out,
        "median_reply_hours": None if d.median_reply is None else round(d.median_reply.total_seconds() / 3600, 1),
        "contacts": [{"email": c.email, "name": c.name, "messages": c.messages, "last_date": _iso(c.last_date),
                      "last_id": c.last_id, "last_subject": c.last_subject} for c in d.contacts],
        "quotes": [{"id": q.id, "date": _iso(q.date), "subject": q.subject, "term": q.term, "files": list(q.files)}
                   for q in d.quotes],
        "open_threads": [{"id": t.id, "date": _iso(t.date), "subject": t.subject, "from": t.from_email,
                          "waiting_days": _days(t.waiting)} for t in d.open_threads],
    }


def _message_summary(message: Message) -> dict:
    return {
        "id": message.short_id,
        "message_id": message.header_message_id,
        "date": _iso(message.date),
        "from": message.from_email,
        "subject": message.subject,
    }


# ---------------------------------------------------------------- link corrections


@main.command("unlinked")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1), help="Most rows shown.")
@click.option("--include-bulk", is_flag=True, help="Count newsletters and robot mail too.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def unlinked_command(limit: int, include_bulk: bool, as_json: bool) -> None:
    """External domains and free-mail addresses with the most mail that links to no customer.

    \b
    Turn one into a customer with: dossier customers add-from-domain DOMAIN
    """
    from linker import find_unlinked

    archive = _open_archive()
    with archive.sessions() as session:
        groups = find_unlinked(session, archive.directory(session), include_bulk=include_bulk)
    rows = [{"kind": g.kind, "value": g.value, "messages": g.messages, "first": _iso(g.first),
             "last": _iso(g.last), "addresses": list(g.addresses), "suggested_name": g.suggested_name}
            for g in groups[:limit]]
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo("Every external message links to a customer.")
    for r in rows:
        more = f" +{len(r['addresses']) - 3}" if len(r["addresses"]) > 3 else ""
        who = r["value"] if r["kind"] == "address" else f"{r['value']}  ({', '.join(r['addresses'][:3])}{more})"
        click.echo(_safe(f"{r['messages']:>6}  {r['first'][:10]} .. {r['last'][:10]}  {who}  "
                         f"-> \"{r['suggested_name']}\""))




@main.group("link", cls=DossierGroup)
def link_group() -> None:
    """Why a message is linked to a customer, and corrections that survive every relink."""


@link_group.command("explain")
@click.argument("message_id")
@_archive_options
def link_explain(message_id: str) -> None:
    """Print, for each participant of a message, which rule linked it or why none did."""
    from sqlalchemy import select

    from ingest import Address, Participant
    from linker import Link, customer_names, explain_participant, overrides_for

    archive = _open_archive()
    with archive.sessions() as session:
        message = _find_message(session, message_id)
        directory = archive.directory(session)
        links = session.execute(
            select(Link.customer_id, Link.role, Link.method, Link.matched)
            .where(Link.message_id == message.id).order_by(Link.customer_id, Link.role)
        ).all()
        overrides = overrides_for(session, message.id)
        names = customer_names(session, [c for c, *_ in links] + [c for c, _ in overrides]
                               + [c for ids in directory.by_email.values() for c in ids]
                               + [c for ids in directory.by_domain.values() for c in ids])
        kind = " (bulk mail: links by exact address only)" if message.is_bulk else ""
        kind += " (internal)" if message.is_internal else ""
        lines = [f"Message {message.short_id}  {message.subject or '(no subject)'}{kind}", "Participants:"]
        for p in message.participants:
            person = Participant(p.role, Address(p.name, p.email))
            why = explain_participant(person, directory, is_bulk=bool(message.is_bulk), names=names)
            lines.append(f"  {p.role:<8} {p.email}: {why}")
        if not message.participants:
            lines.append("  (none)")
        if message.in_reply_to:
            inherited = [names.get(c, str(c)) for c, role, method, _ in links if method == "thread"]
            lines.append(f"Thread:   answers <{message.in_reply_to}>"
                         + (f"; inherited {', '.join(inherited)} (weaker link)" if inherited else
                            "; inherits nothing (participants matched, or the answered message has no links)"))
        for customer_id, action in overrides:
            lines.append(f"Override: {'pinned to' if action == 'pin' else 'blocked from'} "
                         f"{names.get(customer_id, customer_id)}")
        lines.append("Links:" if links else "Links:    none")
        for customer_id, role, method, matched in links:
            lines.append(f"  {names.get(customer_id, customer_id)}: {method} ({role}) {matched}")
    click.echo(_safe("\n".join(lines)))


def _correct_link(message_id: str, customer: str, action: str | None) -> str:
    from linker import LinkError, clear_override, find_customer, set_override

    archive = _open_archive(write=True)
    shown: dict[str, str] = {}

    def change(session) -> None:
        message = _find_message(session, message_id)
        found = find_customer(session, customer)
        shown.update(message=message.short_id, customer=found.name)
        if action is None:
            if not clear_override(session, message.id, found.id):
                raise LinkError(f"message {message.short_id} has no pin or block for {found.name!r}")
        else:
            set_override(session, message.id, found.id, action)
        return [message.id]

    _pipeline().change_customers(archive, change)
    return f"{shown['message']} / {shown['customer']}"


@link_group.command("pin")
@click.argument("message_id")
@click.argument("customer")
@_archive_options
def link_pin(message_id: str, customer: str) -> None:
    """Link a message to a customer whatever the rules say (kept across relink and reindex)."""
    click.echo(f"Pinned {_correct_link(message_id, customer, 'pin')}")


@link_group.command("block")
@click.argument("message_id")
@click.argument("customer")
@_archive_options
def link_block(message_id: str, customer: str) -> None:
    """Never link a message to a customer, whatever the rules say (kept across relink and reindex)."""
    click.echo(f"Blocked {_correct_link(message_id, customer, 'block')}")


@link_group.command("clear")
@click.argument("message_id")
@click.argument("customer")
@_archive_options
def link_clear(message_id: str, customer: str) -> None:
    """Drop a pin or block: the rules decide this message's link to the customer again."""
    click.echo(f"Cleared {_correct_link(message_id, customer, None)}")


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
@click.option("--threads", "as_threads", is_flag=True,
              help="One entry per conversation (References/In-Reply-To, else Re:/Fwd: of the same subject "
                   "between the same people).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of hits (or of threads).")
@_archive_options
def search_command(query: str, customer: str | None, from_: str | None, since: str | None,
                   until: str | None, limit: int, sort: str, as_threads: bool, as_json: bool) -> None:
    """Search subjects, bodies, people and attachments (names and text); Chinese and English.

    \b
    QUERY: words (all must match), "phrases", prefix*, AND/OR/NOT or -word,
    (parentheses); Chinese needs no spaces, Traditional finds Simplified.
    Filters: from: to: cc: (address, domain or name), customer:NAME,
    domain: subject: filename: folder: account: has:attachment is:quote
    lang:zh|ja|ko|en, before:DATE after:DATE date:2025-03..2025-06
    (DATE is YYYY, YYYY-MM or YYYY-MM-DD; after: includes it, before: not).
    Examples:
      dossier search quotation --customer "Acme Industrial"
      dossier search '报价单 FOB' --since 2024-01-01 --json
      dossier search 'from:acme.com filename:pdf date:2025-03..2025-06 "unit price"'
    """
    from index import QueryError, SearchRequest, filter_values, parse_query, search
    from linker import find_customer

    archive = _open_archive()
    since_dt, until_dt = _parse_day(since, "--since"), _parse_day(until, "--until")
    with archive.sessions() as session:
        customer_ids = None
        if customer:
            found = find_customer(session, customer)
            customer_ids = (found.id,)
        try:
            names = filter_values(parse_query(query), "customer")
            customers = {name: (find_customer(session, name).id,) for name in names}
            request = SearchRequest(
                text=query, customer_ids=customer_ids, from_address=from_, since=since_dt, until=until_dt,
                limit=limit * 5 if as_threads else limit, sort=sort, customers=customers,
            )
            result = search(archive.index, request)
        except QueryError as exc:
            raise click.ClickException(str(exc)) from exc
        hits = _hit_rows(archive, session, result.hits)
        if as_threads:
            threads = _thread_rows(session, hits, limit)
        if not hits:
            _warn_if_index_incomplete(archive, session)
    if as_threads:
        if as_json:
            _emit_json(threads)
        elif not threads:
            click.echo("No messages found.")
        else:
            _print_threads(threads)
        return
    if as_json:
        _emit_json(hits)
        return
    if not hits:
        click.echo("No messages found.")
        return
    _print_hits(hits, result.total)


def _warn_if_index_incomplete(archive: Archive, session) -> None:
    """An empty result must mean "there is none": say so when the index lacks messages the
    database holds (deleted or damaged index, an import still running or killed)."""
    from sqlalchemy import func, select

    from ingest import Message

    from .archive import count_pending

    indexed = session.scalar(
        select(func.count()).select_from(Message).where(Message.status == "ok", Message.indexed_at.is_not(None))
    ) or 0
    pending = count_pending(session)
    documents = archive.index.doc_count()
    if documents < indexed or pending:
        missing = max(indexed - documents, 0) + pending
        click.echo(f"warning: {missing} archived messages are not in the search index, so this result may be "
                   "incomplete; run `dossier reindex` (or `dossier check --repair`)", err=True)


def _thread_rows(session, hits: list[dict], limit: int) -> list[dict]:
    """Hits folded into their conversations, in the order of each conversation's best hit."""
    from sqlalchemy import select

    from ingest import Message, find_thread

    threads: list[dict] = []
    seen: dict[int, dict] = {}
    for hit in hits:
        message = session.scalar(select(Message).where(Message.sha256 == hit["sha256"]))
        if message.id in seen:
            seen[message.id]["hits"].append(hit["id"])
            continue
        if len(threads) >= limit:
            continue
        members = find_thread(session, message)
        row = {
            "thread": members[0].short_id,
            "subject": members[0].subject,
            "messages": len(members),
            "first": _iso(members[0].date),
            "last": _iso(members[-1].date),
            "people": sorted({m.from_email for m in members if m.from_email}),
            "customers": hit["customers"],
            "hits": [hit["id"]],
            "snippet": hit["snippet"],
        }
        threads.append(row)
        for m in members:
            seen[m.id] = row
    return threads


def _print_threads(threads: list[dict]) -> None:
    for t in threads:
        customers = f"  [{', '.join(t['customers'])}]" if t["customers"] else ""
        click.echo(_safe(f"{t['last'][:10]}  {t['thread']}  {t['messages']} messages, {len(t['hits'])} matching"
                         f"{customers}"))
        click.echo(_safe(f"  {t['subject'] or '(no subject)'}  ({', '.join(t['people'][:4])})"))
        click.echo(_safe(f"  {t['snippet'].replace('**', '')}"))
    click.echo(f"{len(threads)} conversations; `dossier thread ID` shows one")


#: Hits whose rows are read with one query per table (bounded IN lists, for any --limit).
_HIT_PAGE = 500


def _hit_rows(archive: Archive, session, hits) -> list[dict]:
    hits = list(hits)
    return [row for start in range(0, len(hits), _HIT_PAGE)
            for row in _hit_page_rows(archive, session, hits[start:start + _HIT_PAGE])]


def _hit_page_rows(archive: Archive, session, hits) -> list[dict]:
    from sqlalchemy import select

    from ingest import SHORT_ID_LENGTH, AttachmentRow, Message, MessageCopy, ParticipantRow
    from linker import customer_names, customers_by_message

    shas = [h.id for h in hits]
    # The page's columns in one query per table, not three per hit; plain rows, not ORM objects
    # with their collections (loading those took longer than the search itself).
    messages = {m.sha256: m for m in session.execute(
        select(Message.id, Message.sha256, Message.header_message_id, Message.date, Message.from_email,
               Message.from_name, Message.subject).where(Message.sha256.in_(shas))
    )}
    ids = [m.id for m in messages.values()]
    people: dict[tuple[int, str], list[str]] = {}
    for message_id, role, email in session.execute(
        select(ParticipantRow.message_id, ParticipantRow.role, ParticipantRow.email)
        .where(ParticipantRow.message_id.in_(ids), ParticipantRow.role.in_(("to", "cc"))).order_by(ParticipantRow.id)
    ):
        people.setdefault((message_id, role), []).append(email)
    files: dict[int, list[str]] = {}
    for message_id, filename in session.execute(
        select(AttachmentRow.message_id, AttachmentRow.filename)
        .where(AttachmentRow.message_id.in_(ids)).order_by(AttachmentRow.id)
    ):
        files.setdefault(message_id, []).append(filename)
    folders: dict[int, list[str]] = {}
    for message_id, account, folder in session.execute(
        select(MessageCopy.message_id, MessageCopy.account, MessageCopy.folder)
        .where(MessageCopy.message_id.in_(ids)).order_by(MessageCopy.id)
    ):
        folders.setdefault(message_id, []).append(f"{account}:{folder}")
    links = customers_by_message(session, ids)
    names = customer_names(session, [c for linked in links.values() for c in linked])
    rows = []
    for hit in hits:
        m = messages.get(hit.id)
        if m is None:  # indexed but no longer in the database: `dossier reindex` repairs
            continue
        rows.append({
            "id": m.sha256[:SHORT_ID_LENGTH],
            "message_id": m.header_message_id,
            "date": _iso(m.date),
            "from": m.from_email,
            "from_name": m.from_name,
            "to": people.get((m.id, "to"), []),
            "cc": people.get((m.id, "cc"), []),
            "subject": m.subject,
            "customers": [names[c] for c in links.get(m.id, []) if c in names],
            "snippet": hit.snippet,
            "matched_in": hit.matched_in,
            "matched_attachments": list(hit.attachments),
            "attachments": files.get(m.id, []),
            "is_quote": hit.is_quote,
            "amounts": list(hit.amounts),
            "folders": folders.get(m.id, []),
            "path": str(archive.raw.path_for(m.sha256)),
            "sha256": m.sha256,
            "score": round(hit.score, 3),
        })
    return rows


def _styler():
    """``style(text, **click.style options)``; colours dropped under NO_COLOR (bold and dim stay,
    as rich does). ``click.echo`` strips all of it when stdout is not a terminal."""
    served = _served()
    env = served.env if served is not None else os.environ  # the client's, when answering for the daemon
    if env.get("NO_COLOR"):
        return lambda text, fg=None, **options: click.style(text, **options)
    return click.style


def _print_hits(hits: list[dict], total: int) -> None:
    # click.style, not rich: rich took a third of a served search's time to print 20 hits.
    style = _styler()
    lines = []
    for h in hits:
        who = f"{h['from_name']} <{h['from']}>" if h["from_name"] else h["from"]
        customers = "  " + style(_safe(", ".join(h["customers"])), fg="cyan") if h["customers"] else ""
        lines.append(f"{style(h['date'][:10], bold=True)}  {style(h['id'], dim=True)}  {_safe(who)}{customers}")
        lines.append("  " + style(_safe(h["subject"] or "(no subject)"), bold=True))
        parts = _safe(h["snippet"]).split("**")
        snippet = "".join(style(p, fg="yellow", bold=True) if i % 2 and p else p for i, p in enumerate(parts))
        where = style(f"in attachment {_safe(', '.join(h['matched_attachments']))}:", fg="magenta") + " " \
            if h["matched_in"] in ("attachment", "filename") and h["matched_attachments"] else ""
        lines.append(f"  {where}{snippet}")
        if h["matched_attachments"] and not where:
            lines.append("  " + style(f"also in attachment {_safe(', '.join(h['matched_attachments']))}", fg="magenta"))
        if h["attachments"]:
            lines.append("  " + style(f"attachments: {_safe(', '.join(h['attachments']))}", dim=True))
    shown = len(hits)
    lines.append(style(f"{shown} of {total} matching messages shown" if total > shown else f"{shown} messages",
                       dim=True))
    click.echo("\n".join(lines))


def _find_message(session, ident: str) -> Message:
    from sqlalchemy import select

    from ingest import Message

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
@click.option("--html", "as_html", is_flag=True,
              help="Print the text of the message's HTML version instead of its plain text.")
@_archive_options
def show_command(message_id: str, raw: bool, as_html: bool) -> None:
    """Show one message (by the id search prints, or its Message-ID header)."""
    from ingest import ParseError
    from linker import customer_names, customers_by_message

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
        if message.status == "ok" and message.error:
            lines.append(f"Status:   {message.error} (the text below is the body as it stands)")
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
        labels = list(dict.fromkeys(label for c in message.copies for label in c.labels or ()))
        if labels:
            lines.append(f"Labels:   {', '.join(labels)}")
        lines.append(f"Customers: {', '.join(names[c] for c in links if c in names) or '-'}")
        rows = message.attachments
        statuses = [r.text_status for r in rows] if len(rows) == len(parsed.attachments) else []
        for n, a in enumerate(parsed.attachments):
            status = statuses[n] if statuses else None
            text = f"; text {status}" if status and status != "ok" else ""
            lines.append(f"Attachment: {a.filename or '(unnamed)'} ({a.content_type}, {a.size} bytes{text})")
        lines.append("")
        if as_html and not parsed.html_text and not parsed.is_html_only:
            click.echo(f"message {message.short_id} has no HTML version; its plain text follows", err=True)
        lines.append((parsed.html_text if as_html and parsed.html_text else parsed.text).rstrip())
        click.echo(_safe("\n".join(lines)))


@main.command("thread")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array, oldest first.")
@_archive_options
def thread_command(message_id: str, as_json: bool) -> None:
    """Show the conversation a message belongs to, oldest first.

    Messages join by References / In-Reply-To, else as a reply or forward (Re:, Fwd:, 回复:,
    转发:, 答复: …) to the same subject between the same people within 180 days. MESSAGE_ID
    is the id search prints or a Message-ID header.
    """
    from ingest import find_thread
    from linker import customer_names, customers_by_message

    archive = _open_archive()
    with archive.sessions() as session:
        message = _find_message(session, message_id)
        members = find_thread(session, message)
        links = customers_by_message(session, [m.id for m in members])
        names = customer_names(session, [c for ids in links.values() for c in ids])
        rows = [
            {**_message_summary(m), "is_selected": m.id == message.id,
             "customers": [names[c] for c in links.get(m.id, []) if c in names]}
            for m in members
        ]
    if as_json:
        _emit_json(rows)
        return
    for row in rows:
        mark = "*" if row["is_selected"] else " "
        click.echo(_safe(f"{mark} {row['date'][:16].replace('T', ' ')}  {row['id']}  {row['from']:<32}  "
                         f"{row['subject'] or '(no subject)'}"))
    click.echo(f"{len(rows)} messages in this conversation")


@main.command("quotes")
@click.option("--customer", help="Only quotes linked to this customer (name or part of it).")
@click.option("--since", help="Only quotes on or after this date (YYYY-MM-DD, UTC).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Most quotes shown.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def quotes_command(customer: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """List quotes newest first: customer, date, file name and the amounts found.

    A message is a quote when its subject, an attachment's file name or the title of an
    attachment's text reads as one (quotation, offer, price list, PI, 报价单, 形式发票 …).
    Amounts and trade terms ("USD 12,500", "FOB Ningbo") are read where the text allows.
    """
    from index import SearchRequest, search
    from ingest import SHORT_ID_LENGTH
    from linker import find_customer

    archive = _open_archive()
    since_dt = _parse_day(since, "--since")
    with archive.sessions() as session:
        customer_ids = (find_customer(session, customer).id,) if customer else None
        result = search(archive.index, SearchRequest(
            text="is:quote", customer_ids=customer_ids, since=since_dt, limit=limit, sort="date",
        ))
        hits = _hit_rows(archive, session, result.hits)
        quote_files = {h.id[:SHORT_ID_LENGTH]: list(h.quote_files) for h in result.hits}
    rows = [
        {"id": h["id"], "date": h["date"], "customers": h["customers"], "from": h["from"],
         "subject": h["subject"], "files": quote_files.get(h["id"], []), "amounts": h["amounts"]}
        for h in hits
    ]
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo("No quotes found.")
        return
    for r in rows:
        who = ", ".join(r["customers"]) or r["from"]
        click.echo(_safe(f"{r['date'][:10]}  {r['id']}  {who}  {r['subject'] or '(no subject)'}"))
        if r["files"]:
            click.echo(_safe(f"  files: {', '.join(r['files'])}"))
        if r["amounts"]:
            click.echo(_safe(f"  amounts: {'; '.join(r['amounts'])}"))
    click.echo(f"{len(rows)} of {result.total} quotes shown" if result.total > len(rows) else f"{len(rows)} quotes")


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
    from sqlalchemy import func, select

    from ingest import SHORT_ID_LENGTH, Message, MessageCopy
    from linker import Customer, Link

    from .archive import count_pending

    archive = _open_archive()
    with archive.sessions() as session:
        def count(*where) -> int:
            return session.scalar(select(func.count()).select_from(Message).where(*where)) or 0

        linked_ids = select(Link.message_id)
        data = {
            "messages": count(Message.status == "ok"),
            "failed": count(Message.status == "failed"),
            "partial": count(Message.status == "ok", Message.error.is_not(None)),
            "customers": session.scalar(select(func.count()).select_from(Customer)) or 0,
            "linked": count(Message.status == "ok", Message.id.in_(linked_ids)),
            "unlinked": count(Message.status == "ok", Message.is_internal.is_(False), Message.id.not_in(linked_ids)),
            "internal": count(Message.status == "ok", Message.is_internal.is_(True)),
            "indexed": count(Message.status == "ok", Message.indexed_at.is_not(None)),
            "pending_index": count_pending(session),
            "index_documents": archive.index.doc_count(),
            "engine": archive.index.engine_name,
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
            select(Message.sha256, Message.status, Message.error).where(Message.error.is_not(None))
            .order_by(Message.id).limit(10)
        ).all()
        data["sync"] = _sync_status(session)
    if as_json:
        _emit_json(data)
        return
    click.echo(f"Archive     {data['data_dir']} ({data['data_dir_bytes'] / 1e6:.1f} MB)")
    partly = f"; {data['partial']} read partially, their text searchable" if data["partial"] else ""
    click.echo(f"Messages    {data['messages']} ({data['failed']} failed to parse, kept raw{partly})")
    click.echo(f"Customers   {data['customers']}")
    click.echo(f"Linked      {data['linked']} messages; {data['unlinked']} unlinked; {data['internal']} internal")
    fresh = "up to date" if data["pending_index"] == 0 else f"{data['pending_index']} waiting (run `dossier reindex`)"
    click.echo(f"Index       {data['indexed']} messages indexed, {fresh}; last change {data['last_indexed'] or '-'}")
    click.echo(f"Engine      {data['engine']}")
    click.echo(f"Last import {data['last_import'] or '-'}")
    if data["index_documents"] != data["indexed"]:
        click.echo(f"warning: the index holds {data['index_documents']} messages but {data['indexed']} are "
                   "recorded as indexed; run `dossier reindex`", err=True)
    for sha, status, error in failures:
        if status == "failed":
            click.echo(f"  failed {sha[:SHORT_ID_LENGTH]}: {error}")
        else:
            click.echo(f"  partial {sha[:SHORT_ID_LENGTH]}: {error.removeprefix('read partially: ')}")
    if data["sync"]:
        click.echo("Sync")
    for row in data["sync"]:
        where = f"{row['account']}/{row['folder']}" if row["folder"] else f"{row['account']} (account)"
        last = row["last_success"] or "never"
        line = f"  {_safe(where):<40} {row['messages']:>7} messages, last success {last}"
        if row["gaps"]:
            line += f", {row['gaps']} to retry"
        click.echo(line)
        if row["error"]:
            click.echo(f"    error: {_safe(row['error'])}")


def _sync_status(session) -> list[dict]:
    """Per IMAP account and folder: last successful sync, messages archived, last error."""
    from sqlalchemy import func, select

    from ingest import FolderState, MessageCopy

    counts = dict(
        ((account, folder), n) for account, folder, n in session.execute(
            select(MessageCopy.account, MessageCopy.folder, func.count())
            .where(MessageCopy.uid.is_not(None))
            .group_by(MessageCopy.account, MessageCopy.folder)
        )
    )
    rows = []
    for state in session.scalars(select(FolderState).order_by(FolderState.account, FolderState.name)):
        rows.append({
            "account": state.account,
            "folder": state.name,
            "messages": counts.get((state.account, state.name), 0),
            "last_success": _iso(state.last_success_at),
            "last_attempt": _iso(state.last_attempt_at),
            "error": state.last_error,
            "gaps": len(state.gaps or []),
            "uidvalidity_changes": state.uidvalidity_changes,
        })
    return rows


@main.command("reindex")
@click.option("--engine", type=click.Choice(ENGINES),
              help="Convert the index to this engine (every stored message must be readable).")
@_archive_options
def reindex_command(engine: str | None) -> None:
    """Rebuild the search index from the stored messages (the live index serves until done).

    With --engine, the new index uses that engine and replaces the old one only once it holds
    every stored message.
    """
    from sqlalchemy import func, select

    from ingest import Message

    archive = _open_archive(write=True)
    with archive.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Message).where(Message.status == "ok"))
    count = _pipeline().reindex(archive, progress=_progress("Indexing", total, True), engine=engine)
    click.echo(f"Index rebuilt with {engine}: {count} messages" if engine else f"Index rebuilt: {count} messages")


@main.command("upgrade")
@_archive_options
def upgrade_command() -> None:
    """Bring the archive's database schema to this version of Dossier (opening the archive
    with any command does so too; this says what changed)."""
    from .db import make_engine, upgrade_schema
    from .lock import ArchiveLock, command_line

    obj = click.get_current_context().find_root().ensure_object(dict)
    settings = load_settings(obj.get("data_dir"), obj.get("config_path"))
    lock = ArchiveLock(settings.data_dir, command_line(), wait=_lock_wait(),
                       on_wait=lambda text: click.echo(text, err=True))
    lock.acquire()
    try:
        engine = make_engine(settings.database_url, upgrade=False)
        before, after = upgrade_schema(engine)
        engine.dispose()
    finally:
        lock.release()
    if before == after:
        click.echo(f"The database schema is up to date (revision {after}).")
    else:
        click.echo(f"Upgraded the database schema from revision {before or '(before migrations)'} to {after}.")


@main.command("relink")
@_archive_options
def relink_command() -> None:
    """Recompute every message's customer links from the current customer records."""
    archive = _open_archive(write=True)
    changed = _pipeline().relink_all(archive)
    click.echo(f"Re-linked all messages; {changed} changed customers")


@main.command("check")
@click.option("--repair", is_flag=True,
              help="Fix what the raw store allows (re-import, re-link, re-index, drop stale rows and documents).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@_archive_options
def check_command(repair: bool, as_json: bool) -> None:
    """Verify the whole archive: every raw message exists and matches its hash, every message
    is indexed once and every index document has a row, no orphan blob or row, links agree with
    the rules. One line per finding; exits non-zero while problems remain."""
    from sqlalchemy import func, select

    from ingest import Message

    from .check import check_archive

    archive = _open_archive(write=True)  # a check must not see an import half done
    with archive.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Message))
    report = check_archive(archive, repair=repair, progress=_progress("Checking", total, not as_json))
    if as_json:
        _emit_json(report.summary())
    else:
        for finding in report.findings:
            click.echo(_safe(finding.line()))
        s = report.summary()
        verdict = "clean" if report.is_clean else f"{s['problems']} problems remain"
        click.echo(f"Checked {s['messages']} messages, {s['blobs']} raw blobs, {s['index_documents']} index "
                   f"documents, {s['links']} links: {verdict}" + (f", {s['repaired']} repaired" if repair else ""))
        if s["failed_to_parse"] or s["read_partially"]:
            click.echo(f"Parse problems: {s['failed_to_parse']} messages failed to parse, {s['read_partially']} "
                       "were read partially (their headers and text are searchable); the raw bytes of both are "
                       "kept (`dossier status` lists them)")
        if not report.is_clean and not repair:
            click.echo("run `dossier check --repair` to fix what can be fixed", err=True)
    if not report.is_clean:
        raise SystemExit(1)


@main.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@_archive_options
def backup_command(dest: Path, as_json: bool) -> None:
    """Write a consistent snapshot of the archive into the new directory DEST, safe while the
    daemon runs: config, database (SQLite online backup) and raw store (hard links where
    possible). The index is not copied. To restore, use DEST as the data directory and run
    `dossier reindex`. For PostgreSQL, use pg_dump for the database.
    """
    from .backup import backup_archive

    archive = _open_archive()
    report = backup_archive(archive, dest)
    if as_json:
        _emit_json(report.summary())
    else:
        click.echo(f"Backed up {report.messages} messages ({report.blobs} raw files, {report.linked} hard-linked) "
                   f"to {dest}; restore: dossier --data-dir {dest} reindex")
    if report.missing:
        click.echo(f"warning: {report.missing} raw messages were already missing; run `dossier check`", err=True)
        raise SystemExit(1)


@main.command("export")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["mbox", "maildir"]), default="mbox", show_default=True,
              help="One mbox file (mboxrd quoting), or a Maildir with every message byte for byte.")
@click.option("--customer", help="Only the messages linked to this customer.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@_archive_options
def export_command(dest: Path, fmt: str, customer: str | None, as_json: bool) -> None:
    """Write the raw messages (all, or one customer's), oldest first, to an mbox file or a Maildir."""
    from .backup import export_messages

    archive = _open_archive()
    report = export_messages(archive, dest, fmt=fmt, customer=customer)
    if as_json:
        _emit_json(report.summary())
    else:
        click.echo(f"Exported {report.messages} messages to {dest} ({fmt})")
    if report.missing:
        click.echo(f"warning: {report.missing} raw messages are missing; run `dossier check`", err=True)
        raise SystemExit(1)



# ---------------------------------------------------------------------------- IMAP accounts, sync, daemon


@main.group("accounts", cls=DossierGroup)
def accounts_group() -> None:
    """The IMAP accounts configured in dossier.toml ([[accounts]])."""


@accounts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_archive_options
def accounts_list(as_json: bool) -> None:
    """The configured accounts (never their passwords)."""
    obj = click.get_current_context().find_root().ensure_object(dict)
    settings = load_settings(obj.get("data_dir"), obj.get("config_path"))
    rows = [
        {"name": a.name, "host": a.host, "port": a.port, "security": a.security, "username": a.username,
         "folders": list(a.folders), "exclude_folders": list(a.exclude_folders), "interval_minutes": a.interval}
        for a in settings.accounts
    ]
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo(f"No accounts configured; add [[accounts]] to {settings.config_path}")
    for row in rows:
        click.echo(f"{row['name']:<16} {row['username']} at {row['host']}:{row['port']} ({row['security']}), "
                   f"every {row['interval_minutes']:g} min")


@accounts_group.command("test")
@click.argument("name")
@_archive_options
def accounts_test(name: str) -> None:
    """Log in to account NAME and list the folders a sync would fetch, with message counts."""
    from ingest.imap import ImapConnection, choose_folders

    from .sync import imap_account

    obj = click.get_current_context().find_root().ensure_object(dict)
    settings = load_settings(obj.get("data_dir"), obj.get("config_path"))
    account = settings.account(name)
    with ImapConnection(imap_account(account)) as connection:
        folders = connection.list_folders()
        chosen = choose_folders(folders, account.folders, account.exclude_folders)
        click.echo(f"Logged in to {account.host}:{account.port} as {account.username} ({account.security})")
        picked = {f.raw for f in chosen}
        for folder in folders:
            if folder.raw in picked:
                click.echo(f"  fetch  {_safe(folder.name):<40} {connection.message_count(folder):>8} messages")
            else:
                why = "not selectable" if not folder.selectable else (folder.special_use or "excluded")
                click.echo(f"  skip   {_safe(folder.name):<40} ({why})")
        missing = [p for p in account.folders if not any(ch in p for ch in "*?[")
                   and not any(f.name.casefold() == p.casefold() for f in folders)]
        if missing:
            raise click.ClickException(
                f"account {name!r}: folder {', '.join(map(repr, missing))} does not exist on the server; "
                "fix `folders` in the config"
            )


class _SyncBar:
    """Shows sync progress (folder, done/total, rate) on a terminal."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                            console=_stderr_console(), transient=True)
        self.task = None
        self.started = 0.0
        self.count = 0

    def folder(self, account: str, folder: str, total: int) -> None:
        if self.task is None:
            self.bar.start()
        else:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(f"{account}/{_safe(folder)}", total=total, rate="")
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


@main.command("sync")
@click.option("--account", "account_names", multiple=True, help="Only this account (repeatable).")
@click.option("--folder", "folders", multiple=True, help="Only folders matching this name or glob (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@_archive_options
def sync_command(account_names: tuple[str, ...], folders: tuple[str, ...], as_json: bool) -> None:
    """Fetch new mail from the configured IMAP accounts once (read-only on the server)."""
    from .sync import LogProgress, sync

    archive = _open_archive(write=True)
    settings = archive.settings
    accounts = [settings.account(n) for n in account_names] if account_names else list(settings.accounts)
    if not accounts:
        raise click.ClickException(f"no accounts configured; add [[accounts]] to {settings.config_path}")
    bar = _SyncBar() if sys.stderr.isatty() and not as_json else LogProgress()
    try:
        report = sync(archive, accounts, folders=folders, progress=bar)
    finally:
        if isinstance(bar, _SyncBar):
            bar.close()
    if as_json:
        _emit_json({**report.summary(), "error_messages": report.errors})
    else:
        s = report.summary()
        click.echo(f"Synced {s['folders']} folders ({s['unchanged']} unchanged): {s['fetched']} fetched, "
                   f"{s['stored']} new, {s['duplicates']} already archived, {s['remapped']} re-mapped, "
                   f"in {s['seconds']:.1f} s")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


@main.command("daemon")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="Log lines as JSON objects (for journald/log shippers) or plain text.")
@_archive_options
def daemon_command(log_format: str) -> None:
    """Run the scheduler in the foreground: each account synced at its interval, a nightly
    re-index and re-link. Meanwhile it answers search, thread, quotes and customers show/list
    for this archive's CLI in about 0.1 s (DOSSIER_NO_DAEMON=1 opts out). Stops cleanly on
    SIGTERM or Ctrl-C."""
    from .daemon import run_daemon

    obj = click.get_current_context().find_root().ensure_object(dict)
    settings = load_settings(obj.get("data_dir"), obj.get("config_path"))
    run_daemon(settings, log_format=log_format, verbosity=obj.get("verbose", 0))


if __name__ == "__main__":
    main()
