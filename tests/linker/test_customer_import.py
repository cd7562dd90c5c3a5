"""Importing a customer sheet: what each row becomes, customers that can link nothing, likely
duplicates; planned purely, then written through a real (in-memory) database session."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from linker import (
    Customer,
    CustomerRecord,
    Directory,
    import_customers,
    load_customer_records,
    load_freemail,
    plan_import,
    read_customer_sheet,
    relink,
    save_customer,
)
from linker.records import Person

from .conftest import OWN, add_message, directory, links

D = Directory(by_email={}, by_domain={}, own_domains=frozenset({OWN}), freemail=load_freemail())


def sheet(tmp_path: Path, text: str, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_create_update_by_name_or_domain_leave_unchanged_or_skip(tmp_path: Path) -> None:
    records = [CustomerRecord(1, "Ningbo Haitong", domains=("haitong-nb.cn",)),
               CustomerRecord(2, "Acme", domains=("acme.com",)), CustomerRecord(3, "Acme Two", domains=("acme2.com",))]
    reading = read_customer_sheet(sheet(tmp_path, "name,domains,emails,owner\n"
                                                  "宁波海通,haitong-nb.cn,wang@163.com,anna@northwind-trading.com\n"
                                                  "ACME,acme.com,,\n"
                                                  "Bristol,bristol.co.uk,,\n"
                                                  "Bristol,,pat@bristol.co.uk,\n"
                                                  "Both,acme.com;acme2.com,,\n"
                                                  ",x.com,,\n"))
    plan = plan_import(reading, records, D)
    assert [(p.action, p.target) for p in plan.rows] == [
        ("update", "Ningbo Haitong"), ("unchanged", "Acme"), ("create", "Bristol"), ("update", "Bristol"),
        ("skip", ""), ("skip", ""),
    ]
    assert plan.rows[0].record.owner == "anna@northwind-trading.com"
    assert plan.rows[3].record.emails == ("pat@bristol.co.uk",)
    assert plan.rows[4].reason.startswith("its domains belong to several customers (Acme, Acme Two)")
    assert (plan.count("create"), plan.count("update"), plan.count("unchanged"), plan.count("skip")) == (1, 2, 1, 2)
    assert plan.unlinkable == ()


def test_customers_that_can_link_nothing_are_named_with_a_mapping_hint(tmp_path: Path) -> None:
    # No column gives addresses or domains: every customer is unlinkable, and the notice says which
    # column to map (the one whose cells look like addresses).
    reading = read_customer_sheet(sheet(tmp_path, "客户名称,国家,Kontakt,负责人\n"
                                                  "海通,中国,wang@haitong-nb.cn,小李\n"
                                                  "Acme,UK,li@acme.com,Tom\n"))
    plan = plan_import(reading, [], D)
    assert [p.target for p in plan.unlinkable] == ["海通", "Acme"]
    notices = plan.notices()
    assert notices[0] == ("2 of 2 customers can link no mail (no e-mail address or company domain): "
                          f"{reading.path}:2 海通, {reading.path}:3 Acme")
    assert notices[1] == ("columns read as: 客户名称=name, 国家=country, Kontakt=custom field, 负责人=owner; "
                          "'Kontakt' looks like emails: read it so with --map \"Kontakt=emails\" (repeatable)")


def test_a_row_without_address_or_domain_is_unlinkable_even_with_free_mail_or_own_domains(tmp_path: Path) -> None:
    reading = read_customer_sheet(sheet(tmp_path, "name,domains,emails\n"
                                                  "Gmail Only,gmail.com,\n"
                                                  "Ours,northwind-trading.com,tom@northwind-trading.com\n"
                                                  "Fine,,carlos@gmail.com\n"
                                                  "Later,,\n"
                                                  "Later,later.com,\n"))
    plan = plan_import(reading, [], D)
    # A free-mail domain links nothing by domain; the team's own addresses never link; "Later" gets
    # its domain from a later row.
    assert [p.target for p in plan.unlinkable] == ["Gmail Only", "Ours"]
    assert plan.notices()[1].startswith("columns read as: name=name, domains=domains, emails=emails; give those "
                                        "customers an address or a domain")

    reading = read_customer_sheet(sheet(tmp_path, "Firma,Land,Kontakt\nAcme,UK,Li Wei\n"), mapping=["Firma=name"])
    assert plan_import(reading, [], D).notices()[1] == (
        "no column gave addresses or domains; columns read as: Firma=name, Land=custom field, Kontakt=custom field; "
        "say which column holds them with --map \"Land=emails\" or --map \"Land=domains\" (repeatable)")


def test_an_import_that_creates_a_likely_duplicate_says_so(tmp_path: Path) -> None:
    records = [CustomerRecord(1, "宁波海通贸易有限公司", domains=("haitong-nb.cn",)),
               CustomerRecord(2, "Acme Industrial", emails=("buyer@acme.com",))]
    reading = read_customer_sheet(sheet(tmp_path, "name,domains,emails\n"
                                                  "宁波海通贸易,,\n"
                                                  "Haitong Sales,sales.haitong-nb.cn,\n"
                                                  "Acme Buying Office,,buyer@acme.com\n"
                                                  "New Co,newco.com,\n"))
    plan = plan_import(reading, records, D)
    assert [(p.target, [(d.customers, d.reasons) for d in p.duplicates]) for p in plan.rows] == [
        ("宁波海通贸易", [(("宁波海通贸易有限公司", "宁波海通贸易"), (("name", "宁波海通贸易"),))]),
        ("Haitong Sales", [(("宁波海通贸易有限公司", "Haitong Sales"), (("domain", "haitong-nb.cn"),))]),
        ("Acme Buying Office", [(("Acme Industrial", "Acme Buying Office"), (("email", "buyer@acme.com"),))]),
        ("New Co", []),
    ]
    assert (f"{reading.path}:2: 宁波海通贸易 is likely a duplicate of 宁波海通贸易有限公司 (same name); "
            "to merge: dossier customers merge '宁波海通贸易' '宁波海通贸易有限公司'") in plan.notices()


def test_import_writes_the_plan_and_a_second_run_changes_nothing(session: Session, tmp_path: Path) -> None:
    add_message(session, "m1", 1, ("from", "wang@haitong-nb.cn"), ("to", f"anna@{OWN}"))
    add_message(session, "m2", 2, ("from", "pat@mail.bristol.co.uk"), ("to", f"tom@{OWN}"))
    path = sheet(tmp_path, "客户名称,联系人邮箱,官网,负责人,联系人,电话,Payment terms\n"
                           "宁波海通,wang@haitong-nb.cn,,anna.li@northwind-trading.com,王磊,13800000000,30 days\n"
                           "Bristol,,https://www.bristol.co.uk/en,Tom Baker,,,\n")
    reading = read_customer_sheet(path)
    dry = import_customers(session, reading, directory(session), dry_run=True)
    assert dry.count("create") == 2 and session.scalars(select(Customer)).all() == []

    plan = import_customers(session, reading, directory(session))
    assert plan.count("create") == 2
    stored = {r.name: r for r in load_customer_records(session)}
    assert stored["宁波海通"] == CustomerRecord(
        stored["宁波海通"].id, "宁波海通", emails=("wang@haitong-nb.cn",), owner="anna.li@northwind-trading.com",
        people=(Person("王磊", "13800000000"),), fields={"Payment terms": "30 days"})
    assert (stored["Bristol"].domains, stored["Bristol"].owner) == (("bristol.co.uk",), "Tom Baker")
    relink(session, directory(session))
    assert links(session) == {("m1", "宁波海通", "address"), ("m2", "Bristol", "domain")}

    again = import_customers(session, reading, directory(session))
    assert [p.action for p in again.rows] == ["unchanged", "unchanged"]
    assert load_customer_records(session) == list(stored.values())


def test_save_customer_finds_names_ignoring_non_ascii_case(session: Session) -> None:
    # SQLite's lower() folds only ASCII; "ÖKO" and "öko" must still be one customer.
    first, created = save_customer(session, "ÖKO Handel", domains=["oeko.de"], owner=" Anna.Li@Northwind-Trading.com ")
    again, created_again = save_customer(session, "öko handel", people=[Person("Eva", "")])
    assert (created, created_again, again.id) == (True, False, first.id)
    assert (again.owner, [p.name for p in again.people]) == ("anna.li@northwind-trading.com", ["Eva"])
