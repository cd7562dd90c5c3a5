"""Commands on the archive as a whole: init, import, status, reindex, upgrade, relink, check, backup, export."""

from __future__ import annotations

import os
from pathlib import Path

import click

import config
import ingest
import linker
from index import ENGINES

from ..runtime import DB_NAME
from .common import (
    archive_options,
    ask,
    emit_json,
    open_archive,
    options,
    progress,
    safe,
    settings,
    stop_on_interrupt,
    take_write_lock,
)


@click.command("init")
@click.option("--own-domain", "own_domains", multiple=True,
              help="Your company's mail domain (repeatable); written to own_domains in a new config.")
@click.option("--engine", type=click.Choice(ENGINES),
              help="Search engine of the new index (default: the config's [index] engine, tantivy).")
@click.option("--database-url", metavar="URL",
              help="The archive's database (default: $DOSSIER_DATABASE_URL, else SQLite in the data directory); "
                   "recorded in the new config without its password.")
@click.option("--raw-store", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the raw messages here (a shared store of several nodes) instead of DATA_DIR/raw.")
@archive_options
def init_command(own_domains: tuple[str, ...], engine: str | None, database_url: str | None,
                 raw_store: Path | None) -> None:
    """Create the data directory (private to you) and a commented dossier.toml.

    \b
    Example: dossier init --own-domain northwind-trading.com
    PostgreSQL: dossier init --database-url postgresql+psycopg://dossier@dbhost/dossier
    """
    for domain in own_domains:
        if linker.normalize_domain(domain) is None:
            raise click.BadParameter(f"{domain!r} is not a mail domain", param_hint="--own-domain")
    given = database_url or os.environ.get("DOSSIER_DATABASE_URL")
    source = "--database-url" if database_url else "DOSSIER_DATABASE_URL"
    recorded = config.url_without_password(config.check_url(given, source)) if given else None
    obj = options()
    raw_dir = str(raw_store.expanduser().resolve()) if raw_store else None
    config_path = config.init_data_dir(obj.get("data_dir"), obj.get("config_path"), own_domains=own_domains,
                                       engine=engine, database_url=recorded, raw_dir=raw_dir)
    archive = open_archive(write=True, database_url=database_url)
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


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--account", default="local", show_default=True,
              help="Label recorded with each message copy (e.g. the rep's mailbox).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@archive_options
def import_command(paths: tuple[Path, ...], account: str, as_json: bool) -> None:
    """Import mbox files, Maildir folders, folders of .eml files or single messages.

    \b
    Example: dossier import ~/export/Inbox.mbox ~/Maildir --account anna
    """
    archive = open_archive(write=True, shared=True)
    total = sum(ingest.count_messages(path) or 0 for path in paths)
    with stop_on_interrupt() as stopped:
        report = config.import_paths(archive, list(paths), account=account, should_stop=stopped.is_set,
                                     progress=progress("Importing", total or None, not as_json))
    if as_json:
        emit_json(report.summary())
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
    if report.interrupted:
        click.echo("interrupted: what is listed above is stored; run the same import again to continue", err=True)
        raise SystemExit(130)  # as a shell reports a command stopped by Ctrl-C
    if report.unreadable:
        raise SystemExit(1)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@archive_options
def status_command(as_json: bool) -> None:
    """Counts of messages, failures, customers and links; index freshness; disk use; the nodes
    (data directories, on PostgreSQL several) with what each daemon holds and its last heartbeat."""
    data = ask("status")
    failures = data.pop("failures")
    if as_json:
        emit_json(data)
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
    for failure in failures:
        if failure["partial"]:
            click.echo(f"  partial {failure['id']}: {failure['error'].removeprefix('read partially: ')}")
        else:
            click.echo(f"  failed {failure['id']}: {failure['error']}")
    if data.get("nodes"):
        click.echo("Nodes")
    for node in data.get("nodes") or ():
        where = f"{node['host']}:{node['data_dir']}"
        if node["alive"]:
            state = f"daemon pid {node['daemon_pid']}, heartbeat {node['heartbeat']}"
            state += f"; holds {', '.join(node['holds'])}" if node["holds"] else "; idle"
        else:
            state = f"no daemon (last heartbeat {node['heartbeat']})" if node["heartbeat"] else "no daemon"
        click.echo(f"  {node['id'][:8]} {safe(where)}  {state}")
    if data["sync"]:
        click.echo("Sync")
    for row in data["sync"]:
        where = f"{row['account']}/{row['folder']}" if row["folder"] else f"{row['account']} (account)"
        last = row["last_success"] or "never"
        line = f"  {safe(where):<40} {row['messages']:>7} messages, last success {last}"
        if row["gaps"]:
            line += f", {row['gaps']} to retry"
        click.echo(line)
        if row["error"]:
            click.echo(f"    error: {safe(row['error'])}")


@click.command("reindex")
@click.option("--engine", type=click.Choice(ENGINES),
              help="Convert the index to this engine (every stored message must be readable).")
@archive_options
def reindex_command(engine: str | None) -> None:
    """Rebuild the search index from the stored messages (the live index serves until done).

    With --engine, the new index uses that engine and replaces the old one only once it holds
    every stored message.
    """
    archive = open_archive(write=True)
    total = config.stored_message_count(archive, parsed_only=True)
    count = config.reindex(archive, progress=progress("Indexing", total, True), engine=engine)
    click.echo(f"Index rebuilt with {engine}: {count} messages" if engine else f"Index rebuilt: {count} messages")


@click.command("upgrade")
@archive_options
def upgrade_command() -> None:
    """Bring the archive's database schema to this version of Dossier (opening the archive
    with any command does so too; this says what changed)."""
    found = settings()
    take_write_lock(found)
    engine = config.make_engine(found.database_url, upgrade=False, source=found.database_source)
    try:
        before, after = config.upgrade_schema(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"The database schema is up to date (revision {after}).")
    else:
        click.echo(f"Upgraded the database schema from revision {before or '(before migrations)'} to {after}.")


@click.command("relink")
@archive_options
def relink_command() -> None:
    """Recompute every message's customer links from the current customer records."""
    changed = config.relink_all(open_archive(write=True))
    click.echo(f"Re-linked all messages; {changed} changed customers")


@click.command("check")
@click.option("--repair", is_flag=True,
              help="Fix what the raw store allows (re-import, re-link, re-index, drop stale rows and documents).")
@click.option("--verbose", is_flag=True, help="One line per finding, not one per kind.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object (every finding).")
@archive_options
def check_command(repair: bool, verbose: bool, as_json: bool) -> None:
    """Verify the whole archive: every raw message exists and matches its hash, every message
    is indexed once and every index document has a row, no orphan blob or row, links agree with
    the rules. One line per kind of finding, with a count (--verbose: one per finding); exits
    non-zero while problems remain."""
    archive = open_archive(write=True)  # a check must not see an import half done
    total = config.stored_message_count(archive)
    report = config.check_archive(archive, repair=repair, progress=progress("Checking", total, not as_json))
    if as_json:
        emit_json(report.summary())
    else:
        groups = report.groups()
        for line in ([f.line() for f in report.findings] if verbose else [g.line() for g in groups]):
            click.echo(safe(line))
        if not verbose and any(len(g.findings) > 1 for g in groups):
            click.echo("every finding: `dossier check --verbose` (or --json)", err=True)
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


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@archive_options
def backup_command(dest: Path, as_json: bool) -> None:
    """Write a consistent snapshot of the archive into the new directory DEST, safe while the
    daemon runs: config, database (SQLite online backup, or on PostgreSQL pg_dump's custom format
    in dossier.pgdump) and the raw messages it names (hard links where possible). To restore, use
    DEST as the data directory (on PostgreSQL after pg_restore into a new database) and run
    `dossier reindex`.
    """
    report = config.backup_archive(open_archive(), dest)
    if as_json:
        emit_json(report.summary())
    else:
        restore = f"dossier --data-dir {dest} reindex"
        if report.database != DB_NAME:  # PostgreSQL: the dump goes into a new database first
            restore = (f"pg_restore --no-owner -d NEWDB {dest / report.database}, set [database] url in "
                       f"{dest / 'dossier.toml'} to it, then {restore}")
        click.echo(f"Backed up {report.messages} messages ({report.blobs} raw files, {report.linked} hard-linked) "
                   f"to {dest}; restore: {restore}")
    if report.missing:
        click.echo(f"warning: {report.missing} raw messages were already missing; run `dossier check`", err=True)
        raise SystemExit(1)


@click.command("export")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["mbox", "maildir"]), default="mbox", show_default=True,
              help="One mbox file (mboxrd quoting), or a Maildir with every message byte for byte.")
@click.option("--customer", help="Only the messages linked to this customer.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@archive_options
def export_command(dest: Path, fmt: str, customer: str | None, as_json: bool) -> None:
    """Write the raw messages (all, or one customer's), oldest first, to an mbox file or a Maildir."""
    archive = open_archive()
    report = config.export_messages(archive, dest, fmt=fmt, customer=customer)
    import getpass  # the audit log names who exported, as the web front end names its users

    which = f" customer {customer}" if customer else ""
    config.record_event(archive, f"cli:{getpass.getuser()}", "export",
                        f"{fmt} {dest}{which} ({report.messages} messages)")
    if as_json:
        emit_json(report.summary())
    else:
        click.echo(f"Exported {report.messages} messages to {dest} ({fmt})")
    if report.missing:
        click.echo(f"warning: {report.missing} raw messages are missing; run `dossier check`", err=True)
        raise SystemExit(1)
