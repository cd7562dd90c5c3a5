"""Tests for reading customer sheets: CSV in several dialects and encodings, and XLSX."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from linker.customers_file import CustomerRow, RowError, read_customer_file
from linker.errors import CustomerFileError, LinkError


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("Other").append(["name"])  # only the first sheet is read
    workbook.save(path)
    return path


def read(path: Path) -> list[CustomerRow | RowError]:
    return list(read_customer_file(path))


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


def test_csv_with_bom_and_capitalised_singular_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", " Name ,Domain,E-mail\r\nAcme,acme.com,Li@Acme.com\r\n",
                     encoding="utf-8-sig")
    [row] = read(path)
    assert isinstance(row, CustomerRow)
    assert (row.name, row.domains, row.emails) == ("Acme", ("acme.com",), ("li@acme.com",))


def test_gbk_csv_with_chinese_names(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "客户.csv",
        "客户名称,域名,邮箱,国家,备注\r\n"
        "宁波海通贸易有限公司,haitong-nb.cn,王磊 <wrong>；wang@haitong-nb.cn,中国,老客户\r\n"
        "台北精密,taipei-precision.com.tw,chen@taipei-precision.com.tw,台湾,\r\n",
        encoding="gbk",
    )
    rows = read(path)
    assert rows[0] == RowError(line=2, reason="bad email '王磊'; bad email '<wrong>'")
    assert rows[1] == CustomerRow(
        line=3, name="台北精密", domains=("taipei-precision.com.tw",),
        emails=("chen@taipei-precision.com.tw",), country="台湾", notes="", fields={},
    )


def test_utf8_is_preferred_over_gb18030(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "客户名称,备注\n宁波海通,老客户\n")
    [row] = read(path)
    assert isinstance(row, CustomerRow)
    assert (row.name, row.notes) == ("宁波海通", "老客户")


def test_semicolon_separated_csv_with_commas_inside_cells(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        'name;emails;notes\nMüller GmbH;"hans@mueller.de, eva@mueller.de";"Lieferant, seit 2019"\n',
    )
    [row] = read(path)
    assert isinstance(row, CustomerRow)
    assert row.emails == ("hans@mueller.de", "eva@mueller.de")
    assert row.notes == "Lieferant, seit 2019"


def test_tab_separated_utf16_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.txt", "name\tdomains\r\nAcme\tacme.com\r\n", encoding="utf-16")
    [row] = read(path)
    assert isinstance(row, CustomerRow)
    assert (row.name, row.domains) == ("Acme", ("acme.com",))


def test_unknown_columns_are_kept_as_fields(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "name,Sales rep,Payment terms,domains\nAcme,Lucy,,acme.com\n")
    [row] = read(path)
    assert isinstance(row, CustomerRow)
    assert row.fields == {"Sales rep": "Lucy"}  # empty cells do not become fields


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
    assert [(type(r).__name__, r.line) for r in read(path)] == [
        ("CustomerRow", 2), ("RowError", 4), ("CustomerRow", 5), ("RowError", 7), ("CustomerRow", 9),
    ]
    rows = read(path)
    assert rows[1] == RowError(line=4, reason="missing name")
    assert rows[2].name == "Beta Corp"
    assert rows[3] == RowError(line=7, reason="bad domain 'gamma'; bad domain '.com'")


def test_bad_email_names_the_value(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "name,emails\nAcme,ok@acme.com foo@\n")
    assert read(path) == [RowError(line=2, reason="bad email 'foo@'")]


def test_missing_name_column_is_a_file_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "company,domains\nAcme,acme.com\n")
    with pytest.raises(CustomerFileError, match=r"c\.csv has no 'name' column.*'company'") as info:
        read_customer_file(path)  # raised at the call, before any row is asked for
    assert isinstance(info.value, LinkError)


def test_empty_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(CustomerFileError, match="no 'name' column"):
        read_customer_file(write_csv(tmp_path / "c.csv", ""))


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(CustomerFileError, match="cannot read customer file .*missing.csv"):
        read_customer_file(tmp_path / "missing.csv")
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(CustomerFileError, match="old-style .xls.*save it as .xlsx or CSV"):
        read_customer_file(legacy)
    with pytest.raises(CustomerFileError, match="unsupported format '.pdf'"):
        read_customer_file(write_csv(tmp_path / "c.pdf", "%PDF-1.4"))
    with pytest.raises(CustomerFileError, match="not a valid .xlsx"):
        read_customer_file(write_csv(tmp_path / "broken.xlsx", "name\nAcme\n"))


def test_xlsx_with_chinese_headers_title_row_and_website_column(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "客户汇总表.xlsx",
        [
            ["2024 客户汇总表"],
            [],
            ["序号", "客户名称", "网站", "电子邮件", "国家地区", "备注", "跟进人"],
            [1, "宁波海通贸易有限公司", "https://www.haitong-nb.cn/", "wang@haitong-nb.cn", "中国", None, "小李"],
            [2, None, "http://orphan.com", None, None, None, None],
            [3, "Acme Ltd", "www.acme.co.uk", "buyer@acme.co.uk\nli@acme.co.uk", "UK", "VIP", None],
            [None, None, None, None, None, None, None],
            [4, "Taipei Precision", "x.taipei-precision.com.tw", None, "台湾", datetime(2024, 3, 5), None],
        ],
    )
    rows = read(path)
    assert rows == [
        CustomerRow(line=4, name="宁波海通贸易有限公司", domains=("haitong-nb.cn",),
                    emails=("wang@haitong-nb.cn",), country="中国", notes="",
                    fields={"序号": "1", "跟进人": "小李"}),
        RowError(line=5, reason="missing name"),
        CustomerRow(line=6, name="Acme Ltd", domains=("acme.co.uk",),
                    emails=("buyer@acme.co.uk", "li@acme.co.uk"), country="UK", notes="VIP",
                    fields={"序号": "3"}),
        CustomerRow(line=8, name="Taipei Precision", domains=("x.taipei-precision.com.tw",),
                    emails=(), country="台湾", notes="2024-03-05", fields={"序号": "4"}),
    ]


def test_xlsx_without_name_column(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "c.xlsx", [["公司简称", "邮箱"], ["Acme", "a@acme.com"]])
    with pytest.raises(CustomerFileError, match="no 'name' column"):
        read_customer_file(path)


def test_duplicate_columns(tmp_path: Path) -> None:
    # Two address columns merge; a second name column is kept as a custom field.
    path = write_csv(tmp_path / "c.csv", "客户,邮箱,Email,公司名称\nAcme,a@acme.com,b@acme.com;a@acme.com,ACME Ltd\n")
    [row] = read(path)
    assert isinstance(row, CustomerRow)
    assert row.emails == ("a@acme.com", "b@acme.com")
    assert (row.name, row.fields) == ("Acme", {"公司名称": "ACME Ltd"})


def test_csv_line_too_long_to_parse_is_a_file_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", 'name,notes\nAcme,"' + "x" * 200_000 + '"\n')
    with pytest.raises(CustomerFileError, match=r"c\.csv:2: cannot read this CSV line"):
        read_customer_file(path)
