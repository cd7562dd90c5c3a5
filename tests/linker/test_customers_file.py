"""Reading customer sheets as teams keep them: CSV in several dialects and encodings, XLSX with
title rows, several tabs and merged cells, legacy XLS; columns recognised by meaning."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import xlwt

from linker.customers_file import CustomerRow, RowError, read_customer_sheet
from linker.errors import CustomerFileError, LinkError
from linker.records import Person


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, *sheets: tuple[str, list[list[object]]], merged: dict[str, list[str]] | None = None
               ) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cells in (merged or {}).get(title, []):
            sheet.merge_cells(cells)
    workbook.save(path)
    return path


def read(path: Path, **options) -> list[CustomerRow | RowError]:
    return list(read_customer_sheet(path, **options).rows)


def test_plain_csv(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        "name,domains,emails,country,notes\n"
        'Acme Ltd,"acme.com, acme.co.uk",buyer@acme.com,UK,Key account\n'
        "Haitong,@Haitong-NB.cn,,China,\n",
    )
    assert read(path) == [
        CustomerRow(line=2, name="Acme Ltd", domains=("acme.com", "acme.co.uk"),
                    emails=("buyer@acme.com",), country="UK", notes="Key account", fields={}),
        CustomerRow(line=3, name="Haitong", domains=("haitong-nb.cn",), emails=(),
                    country="China", notes="", fields={}),
    ]


def test_the_issue_sheet_links_by_its_email_and_domain_columns(tmp_path: Path) -> None:
    # The sheet of issue 21: before, its address and domain columns became custom fields.
    path = write_csv(tmp_path / "客户汇总表.csv",
                     "客户名称,国家,联系人邮箱,公司域名,负责人,备注\n"
                     "宁波海通贸易有限公司,中国,wang@haitong-nb.cn,haitong-nb.cn,anna.li@northwind-trading.com,老客户\n"
                     "Acme Ltd,UK,buyer@acme.co.uk,https://www.acme.co.uk/en,小李,\n")
    reading = read_customer_sheet(path)
    assert [(c.header, c.field) for c in reading.tables[0].columns] == [
        ("客户名称", "name"), ("国家", "country"), ("联系人邮箱", "emails"), ("公司域名", "domains"),
        ("负责人", "owner"), ("备注", "notes"),
    ]
    assert reading.rows == (
        CustomerRow(line=2, name="宁波海通贸易有限公司", domains=("haitong-nb.cn",), emails=("wang@haitong-nb.cn",),
                    country="中国", notes="老客户", owner="anna.li@northwind-trading.com"),
        CustomerRow(line=3, name="Acme Ltd", domains=("acme.co.uk",), emails=("buyer@acme.co.uk",), country="UK",
                    owner="小李"),
    )


@pytest.mark.parametrize(("headers", "fields"), [
    (["Company", "E-mail 1", "E-mail 2", "Website", "Sales Rep", "Contact", "Phone", "Country/Region", "Remarks"],
     ["name", "emails", "emails", "domains", "owner", "contacts", "phones", "country", "notes"]),
    (["客户", "邮箱", "官网", "业务员", "联系人", "手机", "国家/地区", "说明"],
     ["name", "emails", "domains", "owner", "contacts", "phones", "country", "notes"]),
    (["公司名称 *", "电子邮件", "网址", "跟进人", "联络人", "联系电话", "国别", "备注"],
     ["name", "emails", "domains", "owner", "contacts", "phones", "country", "notes"]),
    (["Customer Name", "Email (separate with ;)", "Domain", "Account Manager", "Contact Person", "Tel",
      "Country", "Notes"],
     ["name", "emails", "domains", "owner", "contacts", "phones", "country", "notes"]),
    (["客户名称", "销售", "销售额", "客户编号", "Mailing address", "负责人邮箱", "邮箱域名"],
     ["name", "owner", "", "", "", "owner", "domains"]),
])
def test_headers_are_recognised_by_meaning_in_many_spellings(tmp_path: Path, headers, fields) -> None:
    path = write_csv(tmp_path / "c.csv", ",".join(headers) + "\n" + ",".join(["x"] * len(headers)) + "\n")
    assert [c.field for c in read_customer_sheet(path).tables[0].columns] == fields


def test_several_contacts_per_cell_and_numbered_columns_merge(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        "Company,Email 1,Email 2,Website,Contact,Phone,Contact 2,Phone 2\n"
        'Acme,"王磊 <wang@acme.com>；li@acme.com / Ann@ACME.com","bob@acme.com, wang@acme.com",'
        'www.acme.com/contact,"John Smith; Mary Lee","+1 555 0100; +1 555 0101",Zhao Min,13800000000\n',
    )
    [row] = read(path)
    assert row.emails == ("wang@acme.com", "li@acme.com", "ann@acme.com", "bob@acme.com")
    assert row.domains == ("acme.com",)
    assert row.people == (Person("John Smith", "+1 555 0100"), Person("Mary Lee", "+1 555 0101"),
                          Person("Zhao Min", "13800000000"), Person("王磊", ""))
    assert row.problems == ()


def test_names_and_phones_that_do_not_pair_stay_apart(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv",
                     "客户名称,联系人,电话\n海通,王磊 13811112222、李娜,0574-8888 1234；0574-8888 1235\n")
    [row] = read(path)
    assert row.people == (Person("王磊", "13811112222"), Person("李娜", ""), Person("", "0574-8888 1234"),
                          Person("", "0574-8888 1235"))


def test_csv_with_bom_and_capitalised_singular_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", " Name ,Domain,E-mail\r\nAcme,acme.com,Li@Acme.com\r\n",
                     encoding="utf-8-sig")
    [row] = read(path)
    assert (row.name, row.domains, row.emails) == ("Acme", ("acme.com",), ("li@acme.com",))


def test_gbk_csv_keeps_what_it_can_read_and_says_what_it_cannot(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "客户.csv",
        "客户名称,域名,邮箱,国家,备注\r\n"
        "宁波海通贸易有限公司,haitong-nb.cn,王磊 <wrong>；wang@haitong-nb.cn,中国,老客户\r\n"
        "台北精密,taipei-precision.com.tw,chen@taipei-precision.com.tw,台湾,\r\n",
        encoding="gbk",
    )
    rows = read(path)
    assert rows[0] == CustomerRow(line=2, name="宁波海通贸易有限公司", domains=("haitong-nb.cn",),
                                  emails=("wang@haitong-nb.cn",), country="中国", notes="老客户",
                                  problems=("邮箱: '王磊 <wrong>' is not a valid address, ignored",))
    assert rows[1] == CustomerRow(line=3, name="台北精密", domains=("taipei-precision.com.tw",),
                                  emails=("chen@taipei-precision.com.tw",), country="台湾")


def test_short_gbk_csv_is_not_taken_for_korean(tmp_path: Path) -> None:
    # Charset detection alone calls these few bytes EUC-KR; the recognisable header decides.
    [row] = read(write_csv(tmp_path / "c.csv", "客户名称,备注\r\n海通,好\r\n", encoding="gbk"))
    assert (row.name, row.notes) == ("海通", "好")


def test_big5_and_windows_1252_csv(tmp_path: Path) -> None:
    [row] = read(write_csv(tmp_path / "tw.csv", "客戶名稱,網站\r\n台北精密股份有限公司,www.taipei-precision.com.tw\r\n",
                           encoding="big5"))
    assert (row.name, row.domains) == ("台北精密股份有限公司", ("taipei-precision.com.tw",))
    [row] = read(write_csv(tmp_path / "de.csv", "name;notes\r\nMüller GmbH;Lieferant für Fräsmaschinen\r\n",
                           encoding="cp1252"))
    assert (row.name, row.notes) == ("Müller GmbH", "Lieferant für Fräsmaschinen")


def test_utf8_is_preferred_over_gb18030(tmp_path: Path) -> None:
    [row] = read(write_csv(tmp_path / "c.csv", "客户名称,备注\n宁波海通,老客户\n"))
    assert (row.name, row.notes) == ("宁波海通", "老客户")


def test_semicolon_separated_csv_with_commas_inside_cells(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        'name;emails;notes\nMüller GmbH;"hans@mueller.de, eva@mueller.de";"Lieferant, seit 2019"\n',
    )
    [row] = read(path)
    assert row.emails == ("hans@mueller.de", "eva@mueller.de")
    assert row.notes == "Lieferant, seit 2019"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_tab_separated_utf16_csv_with_or_without_bom(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "c.txt", "客户名称\t域名\r\n海通\thaitong-nb.cn\r\n", encoding=encoding)
    [row] = read(path)
    assert (row.name, row.domains) == ("海通", ("haitong-nb.cn",))


def test_unknown_columns_are_kept_as_fields(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "name,Sales rep,Payment terms,domains,Fax\nAcme,Lucy,,acme.com,+1 555\n")
    [row] = read(path)
    assert row.owner == "Lucy"
    assert row.fields == {"Fax": "+1 555"}  # empty cells do not become fields


def test_missing_name_reported_with_line_while_others_import(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        "name,domains\n"
        "Acme,acme.com\n"
        "\n"
        ",orphan.com\n"
        '"Beta\nCorp",beta.com\n'  # a quoted cell spanning two lines
        "Gamma,gamma .com\n"
        ",,\n"
        "Delta,delta.com\n",
    )
    rows = read(path)
    assert [(type(r).__name__, r.line) for r in rows] == [
        ("CustomerRow", 2), ("RowError", 4), ("CustomerRow", 5), ("CustomerRow", 7), ("CustomerRow", 9),
    ]
    assert rows[1] == RowError(line=4, reason="missing name")
    assert rows[2].name == "Beta Corp"
    assert (rows[3].domains, rows[3].problems) == ((), ("domains: 'gamma .com' is not a valid domain, ignored",))


def test_bad_email_names_the_value(tmp_path: Path) -> None:
    [row] = read(write_csv(tmp_path / "c.csv", "name,emails\nAcme,ok@acme.com foo@\n"))
    assert (row.emails, row.problems) == (("ok@acme.com",), ("emails: 'foo@' is not a valid address, ignored",))


def test_missing_name_column_is_a_file_error_that_says_how_to_map(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "Firma,domains\nAcme,acme.com\n")
    with pytest.raises(CustomerFileError, match=r"c\.csv has no 'name' column.*'Firma'.*--map \"HEADER=name\"") as info:
        read_customer_sheet(path)
    assert isinstance(info.value, LinkError)
    [row] = read(path, mapping=["firma=name"])  # headers compare ignoring case
    assert (row.name, row.domains) == ("Acme", ("acme.com",))


def test_map_overrides_the_meaning_and_is_checked(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "客户名称,Kontakt,负责人\nAcme,li@acme.com,小李\n")
    reading = read_customer_sheet(path)
    kontakt = reading.tables[0].columns[1]
    assert (kontakt.field, kontakt.suggest) == ("", "emails")  # a custom field whose cells look like addresses
    assert reading.rows[0].fields == {"Kontakt": "li@acme.com"}
    [row] = read(path, mapping=["Kontakt=emails", "负责人=custom"])
    assert (row.emails, row.owner, row.fields) == (("li@acme.com",), "", {"负责人": "小李"})
    with pytest.raises(CustomerFileError, match="--map 'Kontakt': write it as HEADER=FIELD"):
        read_customer_sheet(path, mapping=["Kontakt"])
    with pytest.raises(CustomerFileError, match="unknown field 'mails'; use one of name, emails"):
        read_customer_sheet(path, mapping=["Kontakt=mails"])
    with pytest.raises(CustomerFileError, match="--map names '联系人邮箱', but the sheet has no such column"):
        read_customer_sheet(path, mapping=["联系人邮箱=emails"])


def test_empty_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(CustomerFileError, match="no 'name' column"):
        read_customer_sheet(write_csv(tmp_path / "c.csv", ""))


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(CustomerFileError, match="cannot read customer file .*missing.csv"):
        read_customer_sheet(tmp_path / "missing.csv")
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(CustomerFileError, match="cannot open .*old.xls as an old-style .xls workbook"):
        read_customer_sheet(legacy)
    with pytest.raises(CustomerFileError, match="unsupported format '.pdf'"):
        read_customer_sheet(write_csv(tmp_path / "c.pdf", "%PDF-1.4"))
    with pytest.raises(CustomerFileError, match="not a valid .xlsx"):
        read_customer_sheet(write_csv(tmp_path / "broken.xlsx", "name\nAcme\n"))


def test_xlsx_with_title_rows_website_column_and_dates(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "客户汇总表.xlsx", ("客户", [
        ["2024 客户汇总表"],
        [],
        ["序号", "客户名称", "网站", "电子邮件", "国家地区", "备注", "跟进人"],
        [1, "宁波海通贸易有限公司", "https://www.haitong-nb.cn/", "wang@haitong-nb.cn", "中国", None, "小李"],
        [2, None, "http://orphan.com", None, None, None, None],
        [3, "Acme Ltd", "www.acme.co.uk", "buyer@acme.co.uk\nli@acme.co.uk", "UK", "VIP", None],
        [None, None, None, None, None, None, None],
        [4, "Taipei Precision", "x.taipei-precision.com.tw", None, "台湾", datetime(2024, 3, 5), None],
    ]))
    reading = read_customer_sheet(path)
    assert reading.tables[0].header_line == 3
    assert reading.rows == (
        CustomerRow(line=4, name="宁波海通贸易有限公司", domains=("haitong-nb.cn",), emails=("wang@haitong-nb.cn",),
                    country="中国", fields={"序号": "1"}, owner="小李", sheet="客户"),
        RowError(line=5, reason="missing name", sheet="客户"),
        CustomerRow(line=6, name="Acme Ltd", domains=("acme.co.uk",), emails=("buyer@acme.co.uk", "li@acme.co.uk"),
                    country="UK", notes="VIP", fields={"序号": "3"}, sheet="客户"),
        # A website gives the domain a company registers, which its mail comes from.
        CustomerRow(line=8, name="Taipei Precision", domains=("taipei-precision.com.tw",), country="台湾",
                    notes="2024-03-05", fields={"序号": "4"}, sheet="客户"),
    )


def test_every_tab_is_read_unless_one_is_named(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "c.xlsx",
        ("说明", [["How to fill this workbook"], ["one customer per row"]]),
        ("国内客户", [["客户名称", "邮箱"], ["宁波海通", "wang@haitong-nb.cn"]]),
        ("Export", [["Customers 2024"], ["Company", "Email"], ["Acme", "li@acme.com"]]),
    )
    reading = read_customer_sheet(path)
    assert reading.skipped == ("说明",)
    assert [(r.sheet, r.line, r.name) for r in reading.rows] == [("国内客户", 2, "宁波海通"), ("Export", 3, "Acme")]
    assert reading.where(reading.rows[1]) == f"{path}[Export]:3"
    assert [r.name for r in read(path, sheet="export")] == ["Acme"]
    with pytest.raises(CustomerFileError, match="has no sheet 'Other'; its sheets are '说明', '国内客户', 'Export'"):
        read_customer_sheet(path, sheet="Other")


def test_merged_cells_apply_to_every_row_they_span(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "c.xlsx", ("Sheet1", [
        ["客户名称", "国家", "联系人", "邮箱"],
        ["宁波海通", "中国", "王磊", "wang@haitong-nb.cn"],
        [None, None, "李娜", "li@haitong-nb.cn"],
        ["Acme", "UK", "John", "john@acme.com"],
    ]), merged={"Sheet1": ["A2:A3", "B2:B3"]})
    rows = read(path)
    assert [(r.line, r.name, r.country, r.emails) for r in rows] == [
        (2, "宁波海通", "中国", ("wang@haitong-nb.cn",)), (3, "宁波海通", "中国", ("li@haitong-nb.cn",)),
        (4, "Acme", "UK", ("john@acme.com",)),
    ]


def test_legacy_xls_with_merged_cells_numbers_and_dates(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("客户")
    sheet.write(0, 0, "客户汇总表")
    for col, text in enumerate(["客户名称", "联系人邮箱", "电话", "备注"]):
        sheet.write(1, col, text)
    sheet.write_merge(2, 3, 0, 0, "宁波海通贸易有限公司")
    sheet.write(2, 1, "wang@haitong-nb.cn")
    sheet.write(2, 2, 13800000000)  # a phone typed as a number
    sheet.write(2, 3, datetime(2024, 3, 5), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    sheet.write(3, 1, "li@haitong-nb.cn")
    book.save(str(tmp_path / "c.xls"))
    rows = read(tmp_path / "c.xls")
    assert rows == [
        CustomerRow(line=3, name="宁波海通贸易有限公司", emails=("wang@haitong-nb.cn",), notes="2024-03-05",
                    people=(Person("", "13800000000"),), sheet="客户"),
        CustomerRow(line=4, name="宁波海通贸易有限公司", emails=("li@haitong-nb.cn",), sheet="客户"),
    ]


def test_duplicate_columns(tmp_path: Path) -> None:
    # Two address columns merge; a second name column is kept as a custom field.
    path = write_csv(tmp_path / "c.csv", "客户,邮箱,Email,公司名称\nAcme,a@acme.com,b@acme.com;a@acme.com,ACME Ltd\n")
    [row] = read(path)
    assert row.emails == ("a@acme.com", "b@acme.com")
    assert (row.name, row.fields) == ("Acme", {"公司名称": "ACME Ltd"})


def test_csv_line_too_long_to_parse_is_a_file_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", 'name,notes\nAcme,"' + "x" * 200_000 + '"\n')
    with pytest.raises(CustomerFileError, match=r"c\.csv:2: cannot read this CSV line"):
        read_customer_sheet(path)
