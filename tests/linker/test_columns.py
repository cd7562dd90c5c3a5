"""What a cell holds, recognised by value, and the --map syntax: pure functions over text."""

from __future__ import annotations

import pytest

from linker.columns import header_meaning, parse_column_map, read_cell
from linker.errors import CustomerFileError


@pytest.mark.parametrize(("text", "field", "emails", "domains", "people", "bad"), [
    ("王磊 <wang@x.cn>；li@x.cn、ann＠X.cn", "emails", ("wang@x.cn", "li@x.cn", "ann@x.cn"), (), (("王磊", ""),), ()),
    ("https://www.acme.co.uk/en", "domains", (), ("acme.co.uk",), (), ()),
    ("sales.acme.com", "domains", (), ("sales.acme.com",), (), ()),  # a domain as typed stays as typed
    ("sales.acme.com", "website", (), ("acme.com",), (), ()),  # ... a website gives the registrable domain
    ("www.acme.com | buyer@acme.com", "emails", ("buyer@acme.com",), ("acme.com",), (), ()),
    ("n/a", "emails", (), (), (), ()),
    ("无", "phones", (), (), (), ()),
    ("foo@ bar", "emails", (), (), (), ("foo@ bar",)),
    ("just words", "domains", (), (), (), ("just words",)),
    ("Li Na: +86 574 8888 1234 / 王磊", "contacts", (), (), (("Li Na", "+86 574 8888 1234"), ("王磊", "")), ()),
    ("+86 (574) 8888-1234 ext. 5", "phones", (), (), (("", "+86 (574) 8888-1234 ext. 5"),), ()),
])
def test_cells_are_recognised_by_value(text, field, emails, domains, people, bad) -> None:
    website = field == "website"
    found = read_cell(text, "domains" if website else field, website=website)
    assert (found.emails, found.domains, found.people, found.bad) == (emails, domains, people, bad)


def test_traditional_and_full_width_headers() -> None:
    assert header_meaning("客戶名稱")[0] == "name"
    assert header_meaning("聯繫人郵箱")[0] == "emails"
    assert header_meaning("ＥＭＡＩＬ　２") == ("emails", False, 2)
    assert header_meaning("負責人")[0] == "owner"


def test_map_values() -> None:
    assert parse_column_map(["联系人邮箱=emails", " Web = website", "a=b=phone", "X=custom"]) == {
        "联系人邮箱": ("emails", False), "web": ("domains", True), "a=b": ("phones", False), "x": ("", False)}
    with pytest.raises(CustomerFileError, match="write it as HEADER=FIELD"):
        parse_column_map(["=emails"])
