"""Reading mail: search, thread, show, quotes (answered by the daemon when one serves the archive)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import click

import config

from ..protocol import parse_day
from .common import archive_options, ask, emit_json, open_archive, safe, styler


def day_option(value: str | None, option: str) -> str | None:
    """``--since``/``--until`` as the ISO 8601 UTC time a read operation takes."""
    if not value:
        return None
    try:
        return parse_day(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


@click.command("search")
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
@archive_options
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
    page = ask("search_threads" if as_threads else "search", text=query, customer=customer, from_address=from_,
               since=day_option(since, "--since"), until=day_option(until, "--until"), limit=limit, sort=sort)
    if page["missing_from_index"]:
        click.echo(f"warning: {page['missing_from_index']} archived messages are not in the search index, so this "
                   "result may be incomplete; run `dossier reindex` (or `dossier check --repair`)", err=True)
    rows = page["threads" if as_threads else "hits"]
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo("No messages found.")
    elif as_threads:
        _print_threads(rows)
    else:
        _print_hits(rows, page["total"])


def _print_threads(threads: list[dict]) -> None:
    for t in threads:
        customers = f"  [{', '.join(t['customers'])}]" if t["customers"] else ""
        click.echo(safe(f"{t['last'][:10]}  {t['thread']}  {t['messages']} messages, {len(t['hits'])} matching"
                        f"{customers}"))
        click.echo(safe(f"  {t['subject'] or '(no subject)'}  ({', '.join(t['people'][:4])})"))
        click.echo(safe(f"  {t['snippet'].replace('**', '')}"))
    click.echo(f"{len(threads)} conversations; `dossier thread ID` shows one")


def _print_hits(hits: list[dict], total: int) -> None:
    # click.style, not rich: rich took a third of a served search's time to print 20 hits.
    style = styler()
    lines = []
    for h in hits:
        who = f"{h['from_name']} <{h['from']}>" if h["from_name"] else h["from"]
        customers = "  " + style(safe(", ".join(h["customers"])), fg="cyan") if h["customers"] else ""
        lines.append(f"{style(h['date'][:10], bold=True)}  {style(h['id'], dim=True)}  {safe(who)}{customers}")
        lines.append("  " + style(safe(h["subject"] or "(no subject)"), bold=True))
        parts = safe(h["snippet"]).split("**")
        snippet = "".join(style(p, fg="yellow", bold=True) if i % 2 and p else p for i, p in enumerate(parts))
        where = style(f"in attachment {safe(', '.join(h['matched_attachments']))}:", fg="magenta") + " " \
            if h["matched_in"] in ("attachment", "filename") and h["matched_attachments"] else ""
        lines.append(f"  {where}{snippet}")
        if h["matched_attachments"] and not where:
            lines.append("  " + style(f"also in attachment {safe(', '.join(h['matched_attachments']))}", fg="magenta"))
        if h["attachments"]:
            lines.append("  " + style(f"attachments: {safe(', '.join(h['attachments']))}", dim=True))
    shown = len(hits)
    lines.append(style(f"{shown} of {total} matching messages shown" if total > shown else f"{shown} messages",
                       dim=True))
    click.echo("\n".join(lines))


def _local_date(view: dict) -> str:
    """The date as the sender wrote it (with its UTC offset), and in UTC when they differ."""
    utc = datetime.fromisoformat(view["date"])
    if not view["date_offset"]:
        return utc.isoformat()
    local = utc.astimezone(timezone(timedelta(minutes=view["date_offset"])))
    return f"{local.isoformat()}  ({utc.isoformat()})"


@click.command("show")
@click.argument("message_id")
@click.option("--raw", is_flag=True, help="Print the exact raw bytes as stored.")
@click.option("--html", "as_html", is_flag=True,
              help="Print the text of the message's HTML version instead of its plain text.")
@archive_options
def show_command(message_id: str, raw: bool, as_html: bool) -> None:
    """Show one message (by the id search prints, or its Message-ID header)."""
    if raw:
        sys.stdout.buffer.write(config.read_raw_message(open_archive(), message_id))
        sys.stdout.buffer.flush()
        return
    view = ask("message", id=message_id)
    lines = [f"Id:       {view['id']}  ({view['sha256']})"]
    if view["status"] == "ok" and view["error"]:
        lines.append(f"Status:   {view['error']} (the text below is the body as it stands)")
    if view["status"] != "ok":
        lines.append(f"Status:   failed to parse: {view['error']}")
        lines.append(f"Folders:  {', '.join(view['folders'])}")
        lines.append("The raw bytes are kept: `dossier show --raw " + view["id"] + "`")
        click.echo("\n".join(lines))
        return
    date_note = "" if view["date_source"] == "date" else f"  (from the {view['date_source']} time)"
    lines += [
        f"Date:     {_local_date(view)}{date_note}",
        f"Subject:  {view['subject']}",
    ]
    for role in ("from", "reply_to", "to", "cc", "bcc"):
        if view[role]:
            label = role.replace("_", "-").capitalize() + ":"
            lines.append(f"{label:<9} " + ", ".join(
                f"{a['name']} <{a['email']}>" if a["name"] else a["email"] for a in view[role]))
    if view["message_id"]:
        lines.append(f"Message-ID: {view['message_id']}")
    lines.append(f"Folders:  {', '.join(view['folders'])}")
    if view["labels"]:
        lines.append(f"Labels:   {', '.join(view['labels'])}")
    lines.append(f"Customers: {', '.join(view['customers']) or '-'}")
    for a in view["attachments"]:
        status = a["text_status"]
        text = f"; text {status}" if status and status != "ok" else ""
        lines.append(f"Attachment: {a['filename'] or '(unnamed)'} ({a['content_type']}, {a['size']} bytes{text})")
    lines.append("")
    if as_html and not view["html_text"] and not view["is_html_only"]:
        click.echo(f"message {view['id']} has no HTML version; its plain text follows", err=True)
    lines.append((view["html_text"] if as_html and view["html_text"] else view["text"]).rstrip())
    click.echo(safe("\n".join(lines)))


@click.command("thread")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array, oldest first.")
@archive_options
def thread_command(message_id: str, as_json: bool) -> None:
    """Show the conversation a message belongs to, oldest first.

    Messages join by References / In-Reply-To, else as a reply or forward (Re:, Fwd:, 回复:,
    转发:, 答复: …) to the same subject between the same people within 180 days. MESSAGE_ID
    is the id search prints or a Message-ID header.
    """
    rows = ask("thread", id=message_id)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        mark = "*" if row["is_selected"] else " "
        click.echo(safe(f"{mark} {row['date'][:16].replace('T', ' ')}  {row['id']}  {row['from']:<32}  "
                        f"{row['subject'] or '(no subject)'}"))
    click.echo(f"{len(rows)} messages in this conversation")


@click.command("quotes")
@click.option("--customer", help="Only quotes linked to this customer (name or part of it).")
@click.option("--since", help="Only quotes on or after this date (YYYY-MM-DD, UTC).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Most quotes shown.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def quotes_command(customer: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """List quotes newest first: customer, date, file name and the amounts found.

    A message is a quote when its subject, an attachment's file name or the title of an
    attachment's text reads as one (quotation, offer, price list, PI, 报价单, 形式发票 …).
    Amounts and trade terms ("USD 12,500", "FOB Ningbo") are read where the text allows.
    """
    page = ask("quotes", customer=customer, since=day_option(since, "--since"), limit=limit)
    rows = page["quotes"]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No quotes found.")
        return
    for r in rows:
        who = ", ".join(r["customers"]) or r["from"]
        click.echo(safe(f"{r['date'][:10]}  {r['id']}  {who}  {r['subject'] or '(no subject)'}"))
        if r["files"]:
            click.echo(safe(f"  files: {', '.join(r['files'])}"))
        if r["amounts"]:
            click.echo(safe(f"  amounts: {'; '.join(r['amounts'])}"))
    total = page["total"]
    click.echo(f"{len(rows)} of {total} quotes shown" if total > len(rows) else f"{len(rows)} quotes")
