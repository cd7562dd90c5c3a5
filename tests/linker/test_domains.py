"""Tests for address and domain normalisation, public suffixes and the free-mail list."""

from __future__ import annotations

from importlib import resources

import pytest

from linker.domains import (
    domain_suffixes,
    load_freemail,
    normalize_domain,
    normalize_email,
    parse_domain_list,
    registrable_domain,
)
from linker.errors import LinkError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bob@acme.com", "bob@acme.com"),
        ("  Bob.Smith@ACME.Com \n", "bob.smith@acme.com"),
        ("li@mail.acme.co.uk", "li@mail.acme.co.uk"),
        ("wang@bücher.de", "wang@xn--bcher-kva.de"),
        ("wang@xn--bcher-kva.de", "wang@xn--bcher-kva.de"),
        ("zhang@例子.中国", "zhang@xn--fsqu00a.xn--fiqs8s"),
        ("zhang＠acme。com", "zhang@acme.com"),  # full-width at sign and full stop from a CJK IME
        ("sales+cn@acme.com.", "sales+cn@acme.com"),
    ],
)
def test_normalize_email_accepts(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "acme.com", "foo@", "@acme.com", "a b@acme.com", "bob@acme com", "bob@acme",
        "bob@localhost", "a@b@acme.com", "bob@-acme.com", "bob@acme..com", "bob@1.2.3.4",
        "bob@[1.2.3.4]", "bob@acme_corp.com", "<bob@acme.com>", "bob@xn--zz.com",
        "bob@" + "a" * 64 + ".com",
    ],
)
def test_normalize_email_rejects(raw: str) -> None:
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.com", "acme.com"),
        ("  ACME.Com. ", "acme.com"),
        ("@acme.com", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("https://www.acme.com/", "acme.com"),
        ("http://Sales.Acme.co.uk:8080/en/index.html?x=1", "sales.acme.co.uk"),
        ("acme.com/contact", "acme.com"),
        ("www.com", "www.com"),  # stripping would leave a bare public suffix
        ("www.co.uk", "www.co.uk"),
        ("mail.acme.com", "mail.acme.com"),
        ("例子.中国", "xn--fsqu00a.xn--fiqs8s"),
    ],
)
def test_normalize_domain_accepts(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize("raw", ["", "acme", "bob@acme.com", "acme .com", "-acme.com", "https://", "1.2.3.4"])
def test_normalize_domain_rejects(raw: str) -> None:
    assert normalize_domain(raw) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("mail.acme.co.uk", "acme.co.uk"),
        ("sales.haitong-nb.cn", "haitong-nb.cn"),
        ("x.taipei-precision.com.tw", "taipei-precision.com.tw"),
        ("acme.com", "acme.com"),
        ("a.b.acme.com", "acme.com"),
        ("vip.163.com", "163.com"),
        ("co.uk", "co.uk"),  # itself a public suffix
        ("com", "com"),
        ("localhost", "localhost"),
        ("MAIL.Acme.COM.", "acme.com"),
    ],
)
def test_registrable_domain(host: str, expected: str) -> None:
    assert registrable_domain(host) == expected


def test_domain_suffixes_longest_first_down_to_registrable() -> None:
    assert domain_suffixes("a.b.acme.com") == ["a.b.acme.com", "b.acme.com", "acme.com"]
    assert domain_suffixes("mail.acme.co.uk") == ["mail.acme.co.uk", "acme.co.uk"]
    assert domain_suffixes("acme.com") == ["acme.com"]
    assert domain_suffixes("co.uk") == ["co.uk"]


def test_load_freemail_has_global_and_chinese_providers() -> None:
    free = load_freemail()
    for domain in ["qq.com", "vip.qq.com", "foxmail.com", "163.com", "vip.163.com", "126.com",
                   "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com", "139.com", "189.cn",
                   "gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.jp", "icloud.com",
                   "gmx.de", "web.de", "mail.ru", "yandex.ru", "proton.me", "naver.com"]:
        assert domain in free, domain
    assert len(free) > 300
    assert "alibaba.com" not in free


def test_bundled_freemail_lines_are_canonical_and_unique() -> None:
    text = resources.files("linker").joinpath("data", "freemail.txt").read_text(encoding="utf-8")
    entries = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    entries = [e for e in entries if e]
    assert [normalize_domain(e) for e in entries] == entries
    assert len(set(entries)) == len(entries)


def test_load_freemail_overrides_both_ways() -> None:
    free = load_freemail(extra=["@Example-Mail.org"], exclude=["gmx.de"])
    assert "example-mail.org" in free
    assert "gmx.de" not in free
    assert "gmx.de" in load_freemail()  # the bundled list is not changed by an earlier call


def test_load_freemail_rejects_a_bad_override() -> None:
    with pytest.raises(LinkError, match="'not a domain'"):
        load_freemail(extra=["not a domain"])


def test_parse_domain_list_skips_comments_and_blank_lines() -> None:
    assert parse_domain_list("# head\n\nQQ.com  # inline\n  163.com\n") == ["qq.com", "163.com"]
