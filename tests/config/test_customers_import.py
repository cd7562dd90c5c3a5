"""`dossier customers import` and `customers duplicates` as a user runs them: columns read by meaning,
--map, --dry-run, customers that can link nothing, likely duplicates, and what show/list print."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from sqlalchemy import select

from config import Archive, load_settings
from linker import Customer
from tests.config.linking import OWN, links_of, write_mail
from tests.conftest import REPO, Dossier, make_message


def stored_customers(d: Dossier) -> dict[str, Customer]:
    """The customers as the database holds them, read through the library."""
    archive = Archive(load_settings(d.data_dir))
    try:
        with archive.sessions() as s:
            customers = s.scalars(select(Customer)).all()
            return {c.name: (c.owner, [(p.name, p.phone) for p in c.people], [e.email for e in c.contacts],
                             [x.domain for x in c.domains], c.fields) for c in customers}
    finally:
        archive.close()


def test_import_updates_by_name_or_domain_and_reports(team: Dossier, tmp_path: Path) -> None:
    team.run("customers", "add", "Ningbo Haitong", "--domain", "haitong-nb.cn")
    team.run("customers", "add", "Acme", "--domain", "acme.com")
    sheet = tmp_path / "c.csv"
    sheet.write_text(
        "name,domains,emails,country\n"
        "宁波海通,haitong-nb.cn,wang@163.com,CN\n"   # same domain, other name: update
        "Acme,acme.com,,\n"                          # nothing new
        "Bristol,bristol.co.uk,,UK\n"               # new
        ",x.com,,\n",                                # no name: skipped
        encoding="utf-8",
    )
    result = team.run("customers", "import", sheet, expect=1)
    assert "1 customers added, 1 updated, 1 unchanged, 1 rows skipped" in result.output
    assert "updated Ningbo Haitong" in result.output and "created Bristol" in result.output
    assert f"skipped {sheet}:5: missing name" in result.stderr
    customers = {c["name"]: c for c in team.json("customers", "list")}
    assert set(customers) == {"Ningbo Haitong", "Acme", "Bristol"}
    assert customers["Ningbo Haitong"]["emails"] == ["wang@163.com"]
    assert customers["Ningbo Haitong"]["country"] == "CN"


def test_the_issue_sheet_links_its_mail_and_shows_owner_and_people(team: Dossier, tmp_path: Path) -> None:
    box = tmp_path / "mail"
    write_mail(box, "1.eml", make_message(subject="RFQ", message_id="<q1@x>", sender="wang@haitong-nb.cn",
                                          to=f"anna.li@{OWN}"))
    write_mail(box, "2.eml", make_message(subject="Order", message_id="<q2@x>", sender="li@mail.acme.co.uk",
                                          to=f"tom@{OWN}"))
    team.json("import", box)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "客户汇总表"
    for row in (["2024年客户汇总表"],
                ["客户名称", "国家", "联系人邮箱", "公司域名", "负责人", "联系人", "电话", "备注"],
                ["宁波海通贸易有限公司", "中国", "wang@haitong-nb.cn", None, f"anna.li@{OWN}", "王芳", "13800000000",
                 "老客户"],
                ["Acme Ltd", "UK", None, "https://www.acme.co.uk/en", "Tom Baker", None, None, None]):
        sheet.append(row)
    path = tmp_path / "客户汇总表.xlsx"
    book.save(path)

    result = team.run("customers", "import", path)
    assert "2 customers added, 0 updated, 0 unchanged, 0 rows skipped; 2 messages re-linked" in result.stdout
    assert result.stderr == ""  # every customer can link: nothing to warn about
    assert links_of(team) == {"q1@x": {("宁波海通贸易有限公司", "address")}, "q2@x": {("Acme Ltd", "domain")}}
    assert stored_customers(team)["宁波海通贸易有限公司"] == (
        f"anna.li@{OWN}", [("王芳", "13800000000")], ["wang@haitong-nb.cn"], [], {})
    out = team.run("customers", "show", "海通").stdout
    assert f"  Owner: anna.li@{OWN}\n  People on file: 王芳 (13800000000)\n  Country: 中国\n" in out
    listed = team.run("customers", "list").stdout.splitlines()
    assert listed[1] == (f"宁波海通贸易有限公司  [wang@haitong-nb.cn]  owner anna.li@{OWN}  people 王芳 (13800000000)  "
                         "lost, 1 messages, last 2024-03-05")
    shown = team.json("customers", "show", "Acme")
    assert (shown["owner"], shown["domains"], "people" in shown) == ("Tom Baker", ["acme.co.uk"], False)


def test_a_sheet_with_no_linkable_column_says_so_and_map_fixes_it(team: Dossier, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("客户名称,国家,Kontakt\n海通,中国,wang@haitong-nb.cn\nAcme,UK,li@acme.com\n", encoding="utf-8")
    dry = team.run("customers", "import", path, "--dry-run")
    assert '  Kontakt -> custom field \'Kontakt\'  (looks like emails: --map "Kontakt=emails")' in dry.stdout
    assert "dry run, nothing written: 2 customers added" in dry.stdout
    assert team.json("customers", "list") == []
    result = team.run("customers", "import", path)
    assert "warning: 2 of 2 customers can link no mail" in result.stderr
    assert '--map "Kontakt=emails" (repeatable)' in result.stderr
    result = team.run("customers", "import", path, "--map", "Kontakt=emails")
    assert "0 customers added, 2 updated" in result.stdout and "can link no mail" not in result.stderr
    assert {c["name"]: c["emails"] for c in team.json("customers", "list")} == {
        "海通": ["wang@haitong-nb.cn"], "Acme": ["li@acme.com"]}
    out = team.run("customers", "import", path, "--map", "Kontakt=mails", expect=1).output
    assert out.strip().splitlines()[-1].startswith("Error: --map 'Kontakt=mails': unknown field 'mails'")


def test_dry_run_on_the_bundled_sample_shows_how_each_column_is_read(team: Dossier) -> None:
    out = team.run("customers", "import", REPO / "sample" / "customers.csv", "--dry-run").stdout
    assert out.startswith("Header on line 1:\n  name -> name\n  domains -> domains\n  emails -> emails\n"
                          "  country -> country\n  notes -> notes\n  owner -> owner\n"
                          "First rows as they would be stored:\n")
    assert "    owner: tom.baker@northwind-trading.com\n" in out
    assert out.endswith("dry run, nothing written: 6 customers added, 0 updated, 0 unchanged, 0 rows skipped\n")
    assert team.json("customers", "list") == []


def test_duplicates_lists_likely_duplicates_with_the_merge_command(team: Dossier, tmp_path: Path) -> None:
    team.run("customers", "add", "宁波海通贸易有限公司", "--domain", "haitong-nb.cn")
    path = tmp_path / "c.csv"
    path.write_text("name,domains\n宁波海通贸易,\nHaitong Sales,sales.haitong-nb.cn\n", encoding="utf-8")
    result = team.run("customers", "import", path)
    assert (f"warning: {path}:3: Haitong Sales is likely a duplicate of 宁波海通贸易有限公司 (same domain "
            "haitong-nb.cn); to merge: dossier customers merge 'Haitong Sales' '宁波海通贸易有限公司'") in result.stderr
    found = team.json("customers", "duplicates")
    assert [(d["customers"], d["merge"]) for d in found] == [
        (["宁波海通贸易有限公司", "Haitong Sales"], "dossier customers merge 'Haitong Sales' '宁波海通贸易有限公司'"),
        (["宁波海通贸易有限公司", "宁波海通贸易"], "dossier customers merge '宁波海通贸易' '宁波海通贸易有限公司'"),
    ]
    team.run("customers", "merge", "Haitong Sales", "宁波海通贸易有限公司")
    team.run("customers", "merge", "宁波海通贸易", "宁波海通贸易有限公司")
    assert team.run("customers", "duplicates").stdout == "No likely duplicates among the customers.\n"
