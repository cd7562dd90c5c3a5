"""Likely duplicate customers: same registrable domain, same contact address, same name once legal
forms and punctuation are set aside."""

from __future__ import annotations

import pytest

from linker import CustomerRecord, find_duplicates, load_freemail, name_key


@pytest.mark.parametrize(("a", "b"), [
    ("宁波海通贸易有限公司", "宁波海通贸易"),
    ("ACME Co., Ltd.", "Acme"),
    ("Müller Maschinenbau GmbH", "MÜLLER MASCHINENBAU"),
    ("ＡＣＭＥ　Ｌｔｄ．", "acme limited"),  # full-width forms typed on a CJK keyboard
    ("台北精密股份有限公司", "台北精密"),
    ("Haitong (Ningbo) Co.,Ltd", "haitong ningbo"),
])
def test_names_equal_without_legal_forms_and_punctuation(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("a", "b"), [("Acme Industrial", "Acme"), ("AB Volvo", "Volvo"), ("宁波海通", "宁波海天")])
def test_different_names_stay_different(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


def test_pairs_with_their_reasons_and_the_merge_command_newer_into_older() -> None:
    records = [
        CustomerRecord(1, "Acme Industrial", domains=("acme.com",), emails=("buyer@gmail.com",)),
        CustomerRecord(2, "Acme Sales", domains=("sales.acme.com",)),
        CustomerRecord(3, "宁波海通贸易有限公司", domains=("haitong-nb.cn",)),
        CustomerRecord(4, "宁波海通贸易", emails=("buyer@gmail.com",)),
        CustomerRecord(5, "Gmail A", domains=("gmail.com",)),
        CustomerRecord(6, "Gmail B", domains=("gmail.com",)),  # a free-mail domain says nothing
        CustomerRecord(7, "Other", domains=("other.co.uk",)),
        CustomerRecord(8, "Different", domains=("co.uk",)),
    ]
    found = find_duplicates(records, load_freemail())
    assert [(d.customers, d.reasons) for d in found] == [
        (("Acme Industrial", "Acme Sales"), (("domain", "acme.com"),)),
        (("Acme Industrial", "宁波海通贸易"), (("email", "buyer@gmail.com"),)),
        (("宁波海通贸易有限公司", "宁波海通贸易"), (("name", "宁波海通贸易"),)),
    ]
    assert found[0].merge_command == "dossier customers merge 'Acme Sales' 'Acme Industrial'"
