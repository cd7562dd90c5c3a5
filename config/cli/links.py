"""Links between mail and customers: ``dossier unlinked``, and ``dossier link`` explain, pin, block, clear."""

from __future__ import annotations

import click

import config

from .common import DossierGroup, archive_options, ask, emit_json, open_archive, safe


@click.command("unlinked")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1), help="Most rows shown.")
@click.option("--include-bulk", is_flag=True, help="Count newsletters and robot mail too.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def unlinked_command(limit: int, include_bulk: bool, as_json: bool) -> None:
    """External domains and free-mail addresses with the most mail that links to no customer.

    \b
    Turn one into a customer with: dossier customers add-from-domain DOMAIN
    """
    rows = ask("unlinked", limit=limit, include_bulk=include_bulk)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("Every external message links to a customer.")
    for r in rows:
        more = f" +{len(r['addresses']) - 3}" if len(r["addresses"]) > 3 else ""
        who = r["value"] if r["kind"] == "address" else f"{r['value']}  ({', '.join(r['addresses'][:3])}{more})"
        click.echo(safe(f"{r['messages']:>6}  {r['first'][:10]} .. {r['last'][:10]}  {who}  "
                        f"-> \"{r['suggested_name']}\""))


@click.group("link", cls=DossierGroup)
def link_group() -> None:
    """Why a message is linked to a customer, and corrections that survive every relink."""


@link_group.command("explain")
@click.argument("message_id")
@archive_options
def link_explain(message_id: str) -> None:
    """Print, for each participant of a message, which rule linked it or why none did."""
    why = ask("link_explanation", id=message_id)
    kind = " (bulk mail: links by exact address only)" if why["is_bulk"] else ""
    kind += " (internal)" if why["is_internal"] else ""
    lines = [f"Message {why['id']}  {why['subject'] or '(no subject)'}{kind}", "Participants:"]
    for p in why["participants"]:
        lines.append(f"  {p['role']:<8} {p['email']}: {p['why']}")
    if not why["participants"]:
        lines.append("  (none)")
    if why["in_reply_to"]:
        inherited = why["inherited"]
        lines.append(f"Thread:   answers <{why['in_reply_to']}>"
                     + (f"; inherited {', '.join(inherited)} (weaker link)" if inherited else
                        "; inherits nothing (participants matched, or the answered message has no links)"))
    for o in why["overrides"]:
        lines.append(f"Override: {'pinned to' if o['action'] == 'pin' else 'blocked from'} {o['customer']}")
    lines.append("Links:" if why["links"] else "Links:    none")
    for link in why["links"]:
        lines.append(f"  {link['customer']}: {link['method']} ({link['role']}) {link['matched']}")
    click.echo(safe("\n".join(lines)))


def _correct(message_id: str, customer: str, action: str | None) -> str:
    done = config.correct_link(open_archive(write=True), message_id, customer, action)
    return f"{done.message} / {done.customer}"


@link_group.command("pin")
@click.argument("message_id")
@click.argument("customer")
@archive_options
def link_pin(message_id: str, customer: str) -> None:
    """Link a message to a customer whatever the rules say (kept across relink and reindex)."""
    click.echo(f"Pinned {_correct(message_id, customer, 'pin')}")


@link_group.command("block")
@click.argument("message_id")
@click.argument("customer")
@archive_options
def link_block(message_id: str, customer: str) -> None:
    """Never link a message to a customer, whatever the rules say (kept across relink and reindex)."""
    click.echo(f"Blocked {_correct(message_id, customer, 'block')}")


@link_group.command("clear")
@click.argument("message_id")
@click.argument("customer")
@archive_options
def link_clear(message_id: str, customer: str) -> None:
    """Drop a pin or block: the rules decide this message's link to the customer again."""
    click.echo(f"Cleared {_correct(message_id, customer, None)}")
