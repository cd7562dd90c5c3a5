"""``dossier customers``: import, add, edit, rename, merge, remove; conflicts, duplicates, the list, the dossier."""

from __future__ import annotations

from pathlib import Path

import click

import config
import linker

from .common import DossierGroup, archive_options, ask, emit_json, open_archive, safe


@click.group("customers", cls=DossierGroup)
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
@archive_options
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
    reading = linker.read_customer_sheet(file, mapping=mapping, sheet=sheet)
    done = config.import_customers(open_archive(write=not dry_run), reading, dry_run=dry_run)
    plan = done.plan
    if dry_run:
        _print_import_preview(plan)
    for p in plan.rows:
        if p.action == "skip":
            click.echo(f"skipped {reading.where(p.row)}: {p.reason}", err=True)
    for line in plan.notices():
        click.echo(f"warning: {safe(line)}", err=True)
    if not dry_run:
        for action in ("create", "update"):
            for p in plan.rows:
                if p.action == action:
                    click.echo(f"{action}d {safe(p.target)}")
    counts = (f"{plan.count('create')} customers added, {plan.count('update')} updated, "
              f"{plan.count('unchanged')} unchanged, {plan.count('skip')} rows skipped")
    click.echo(f"dry run, nothing written: {counts}" if dry_run else f"{counts}; {done.relinked} messages re-linked")
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
            click.echo(safe(f"  {c.header.strip() or f'column {c.index + 1}'} -> {read}{how}{hint}"))
    for name in plan.reading.skipped:
        click.echo(f"Sheet {name!r}: no header row with a name column, skipped")
    click.echo("First rows as they would be stored:")
    for p in [p for p in plan.rows if p.record is not None][:rows]:
        r = p.record
        details = [("domains", ", ".join(r.domains)), ("emails", ", ".join(r.emails)), ("owner", r.owner),
                   ("people", ", ".join(x.label() for x in r.people)), ("country", r.country), ("notes", r.notes),
                   ("fields", ", ".join(f"{k}={v}" for k, v in r.fields.items()))]
        click.echo(safe(f"  {plan.reading.where(p.row)}: {p.action} {r.name}"))
        for label, value in details:
            if value:
                click.echo(safe(f"    {label}: {value}"))


@customers_group.command("add")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, help="A mail domain of the customer (repeatable).")
@click.option("--email", "emails", multiple=True, help="A contact address (repeatable).")
@click.option("--country", default="", help="Country.")
@click.option("--notes", default="", help="Free-form notes.")
@archive_options
def customers_add(name: str, domains: tuple[str, ...], emails: tuple[str, ...], country: str, notes: str) -> None:
    """Add a customer (or add domains and addresses to an existing one).

    \b
    Example: dossier customers add "Acme Industrial" --domain acme-industrial.com
    """
    done = config.add_customer(open_archive(write=True), name, domains=domains, emails=emails, country=country,
                               notes=notes)
    click.echo(f"{'Added' if done.created else 'Updated'} {done.name}; {done.relinked} messages re-linked")


@customers_group.command("edit")
@click.argument("name")
@click.option("--add-domain", "add_domains", multiple=True, help="Add a mail domain (repeatable).")
@click.option("--remove-domain", "remove_domains", multiple=True, help="Remove a mail domain (repeatable).")
@click.option("--add-email", "add_emails", multiple=True, help="Add a contact address (repeatable).")
@click.option("--remove-email", "remove_emails", multiple=True, help="Remove a contact address (repeatable).")
@click.option("--country", default="", help="New country.")
@click.option("--notes", default="", help="New notes.")
@archive_options
def customers_edit(name: str, add_domains: tuple[str, ...], remove_domains: tuple[str, ...],
                   add_emails: tuple[str, ...], remove_emails: tuple[str, ...], country: str, notes: str) -> None:
    """Change a customer's domains, contacts, country or notes; its whole history is re-linked."""
    done = config.edit_customer(open_archive(write=True), name, add_domains=add_domains,
                                remove_domains=remove_domains, add_emails=add_emails, remove_emails=remove_emails,
                                country=country, notes=notes)
    click.echo(f"Updated {done.name}; {done.relinked} messages re-linked")


@customers_group.command("rename")
@click.argument("name")
@click.argument("new_name")
@archive_options
def customers_rename(name: str, new_name: str) -> None:
    """Give a customer a new name (its links and history stay)."""
    done = config.rename_customer(open_archive(write=True), name, new_name)
    click.echo(f"Renamed {done.old} to {done.new}")


@customers_group.command("merge")
@click.argument("source")
@click.argument("target")
@archive_options
def customers_merge(source: str, target: str) -> None:
    """Merge customer SOURCE into TARGET: domains, contacts, fields and corrections move; SOURCE goes."""
    done = config.merge_customers(open_archive(write=True), source, target)
    click.echo(f"Merged {done.source} into {done.target}; {done.relinked} messages re-linked")


@customers_group.command("remove")
@click.argument("name")
@archive_options
def customers_remove(name: str) -> None:
    """Remove a customer and its links; the mail itself stays in the archive."""
    done = config.remove_customer(open_archive(write=True), name)
    click.echo(f"Removed {done.name}; {done.relinked} messages re-linked (no mail deleted)")


@customers_group.command("add-from-domain")
@click.argument("domain")
@click.option("--name", default="", help="Customer name (default: the name `dossier unlinked` suggests).")
@archive_options
def customers_add_from_domain(domain: str, name: str) -> None:
    """Create a customer for DOMAIN (named as `dossier unlinked` suggests) and link its history."""
    done = config.add_customer_for_domain(open_archive(write=True), domain, name=name)
    verb = "Added" if done.created else "Updated"
    click.echo(f"{verb} {safe(done.name)} ({done.domain}); {done.relinked} messages re-linked")


@customers_group.command("conflicts")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def customers_conflicts(as_json: bool) -> None:
    """Domains and addresses that several customers claim (their mail links to all of them)."""
    rows = ask("conflicts")
    if as_json:
        emit_json(rows)
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
@archive_options
def customers_duplicates(as_json: bool) -> None:
    """Customers that are likely one: the same registrable domain, the same contact address, or names
    equal without legal forms and punctuation (有限公司, Co., Ltd., GmbH); with the merge command."""
    rows = ask("duplicates")
    if as_json:
        emit_json([{k: v for k, v in row.items() if k != "why"} for row in rows])
        return
    if not rows:
        click.echo("No likely duplicates among the customers.")
    for d in rows:
        click.echo(safe(f"{d['customers'][0]} / {d['customers'][1]}: {d['why']}\n  {d['merge']}"))


def _people_text(people: list[dict]) -> str:
    return ", ".join(f"{p['name']} ({p['phone']})" if p["name"] and p["phone"] else p["name"] or p["phone"]
                     for p in people)


def _parse_duration(value: str | None, option: str) -> int | None:
    """``90d``, ``12w``, ``6m`` (30-day months), ``1y`` (365 days) or a bare number of days, in days."""
    if value is None:
        return None
    text = value.strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "d")
    if not number.isdigit():
        raise click.BadParameter(f"{value!r} is not a duration; use e.g. 90d, 12w, 6m or 1y", param_hint=option)
    return int(number) * units[unit]


STAGE_CHOICES = ("prospect", "new", "active", "dormant", "lost")  # linker.STAGES, without loading the linker


@customers_group.command("list")
@click.option("--dormant", metavar="AGE", help="Only customers with mail once but none in AGE (90d, 12w, 6m, 1y).")
@click.option("--waiting", is_flag=True, help="Only customers whose last message is unanswered, longest wait first.")
@click.option("--stage", type=click.Choice(STAGE_CHOICES),
              help="Only customers at this stage: prospect (never wrote to us), new (first mail within 90 days), "
                   "active, dormant (no mail for [customers] dormant_days, 90), lost (no mail for a year).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def customers_list(dormant: str | None, waiting: bool, stage: str | None, as_json: bool) -> None:
    """List customers with their domains, stage and message counts."""
    args = {"stage": stage} if stage else {}
    rows = ask("customers", dormant=_parse_duration(dormant, "--dormant"), waiting=waiting, **args)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No customers match." if dormant or waiting or stage else
                   "No customers yet: `dossier customers import FILE` or `dossier customers add NAME`.")
    for row in rows:
        last = (row["last_contact"] or "")[:10] or "-"
        wait = f", waiting {row['waiting_days']} days" if waiting else ""
        owner = f"  owner {row['owner']}" if "owner" in row else ""
        people = f"  people {_people_text(row['people'])}" if "people" in row else ""
        click.echo(f"{row['name']}  [{', '.join(row['domains'] + row['emails'])}]{owner}{people}  "
                   f"{row['stage']}, {row['messages']} messages, last {last}{wait}")


@customers_group.command("show")
@click.argument("name")
@click.option("--limit", default=10, show_default=True, help="How many of the latest messages to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@archive_options
def customers_show(name: str, limit: int, as_json: bool) -> None:
    """The page to read before a call: contacts, domains, mail in and out, quotes sent, threads
    waiting for an answer, the team's median reply time, and the latest mail."""
    data = ask("customer", name=name, limit=limit)
    if as_json:
        emit_json(data)
        return
    click.echo(data["name"])
    for label, key in (("Domains", "domains"), ("Contacts", "emails")):
        click.echo(f"  {label}: {', '.join(data[key]) or '-'}")
    if "owner" in data:
        click.echo(safe(f"  Owner: {data['owner']}"))
    if "people" in data:
        click.echo(safe(f"  People on file: {_people_text(data['people'])}"))
    for label, key in (("Country", "country"), ("Notes", "notes")):
        if data[key]:
            click.echo(f"  {label}: {data[key]}")
    for key, value in data["fields"].items():
        click.echo(f"  {key}: {value}")
    click.echo(f"  Stage: {data['stage']}")
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
        click.echo(safe("\n".join(lines)))


@customers_group.command("reassign")
@click.option("--from", "previous", required=True, metavar="OWNER",
              help="The owner whose customers are handed over (an address, or a name as the sheet writes it).")
@click.option("--to", "owner", required=True, metavar="OWNER", help="The new owner.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@archive_options
def customers_reassign(previous: str, owner: str, as_json: bool) -> None:
    """Hand every customer of one owner to another (a rep leaving): the new owner sees their
    whole history at once.

    \b
    Example: dossier customers reassign --from tom.baker@northwind-trading.com --to anna.li@northwind-trading.com
    """
    done = config.reassign_customers(open_archive(write=True), previous, owner)
    if as_json:
        emit_json(done.as_json())
        return
    for name in done.customers:
        click.echo(safe(f"reassigned {name}"))
    click.echo(safe(f"{len(done.customers)} customers handed from {done.previous} to {done.owner}"))


@click.command("markets")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@archive_options
def markets_command(as_json: bool) -> None:
    """Customers by country: how many, active and dormant, mail and quotes in the last 12 months,
    the last contact (most mail first)."""
    rows = ask("markets")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No customers yet: `dossier customers import FILE` or `dossier customers add NAME`.")
        return
    click.echo(f"{'country':<24} {'customers':>9} {'active':>6} {'dormant':>7} {'lost':>5} {'mail 12m':>8} "
               f"{'quotes 12m':>10}  last contact")
    for r in rows:
        click.echo(safe(f"{(r['country'] or '(none)')[:24]:<24} {r['customers']:>9} {r['active']:>6} "
                        f"{r['dormant']:>7} {r['lost']:>5} {r['messages_12m']:>8} {r['quotes_12m']:>10}  "
                        f"{(r['last_contact'] or '-')[:10]}"))
