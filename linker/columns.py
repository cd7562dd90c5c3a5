"""What a customer sheet's columns mean (by the notion a header names, in Chinese or English) and
what its cells hold (addresses, domains, names, phones), as pure functions over text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .domains import normalize_domain, normalize_email, registrable_domain
from .errors import CustomerFileError

__all__ = ["FIELDS", "CellValues", "Column", "header_key", "header_meaning", "parse_column_map", "plan_columns",
           "read_cell"]

#: The fields a column can feed; anything else is kept as a custom field.
FIELDS = ("name", "emails", "domains", "owner", "contacts", "phones", "country", "notes")
#: Fields a row may fill from several columns (numbered variants such as ``Email 2`` included).
LIST_FIELDS = frozenset({"emails", "domains", "owner", "contacts", "phones"})

# The notions, strongest first: "负责人邮箱" is the owner's address, "联系人邮箱" a contact's address,
# "联系人电话" a phone, "邮箱域名" a domain. Chinese words match anywhere in the header, English
# ones as whole words. Names are matched whole (a "客户编号" is no name).
_NOTIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("owner", ("负责人", "业务员", "跟进人", "跟单员", "客户经理", "销售"),
     ("owner", "sales rep", "salesrep", "sales representative", "salesperson", "sales person", "salesman",
      "account manager", "account owner", "rep", "responsible")),
    ("domains", ("域名",), ("domain", "domains")),
    ("website", ("网址", "官网", "网站", "主页", "网页"),
     ("website", "websites", "web", "site", "url", "homepage", "www")),
    ("emails", ("邮箱", "邮件", "电邮"), ("email", "emails", "mail", "mails", "mailbox")),
    ("phones", ("电话", "手机", "座机", "固话"),
     ("phone", "phones", "tel", "telephone", "mobile", "cell", "cellphone", "whatsapp")),
    ("contacts", ("联系人", "联络人", "对接人"), ("contact", "contacts", "contact person", "person", "attn")),
    ("country", ("国家", "地区", "国别"), ("country", "region", "nation")),
    ("notes", ("备注", "说明", "附注"), ("notes", "note", "remark", "remarks", "comment", "comments", "memo")),
)
_NOT_OWNER = ("销售额", "销售量")  # sales figures, not salespeople
_NAMES = frozenset({
    "name", "company", "company name", "customer", "customer name", "client", "client name", "account name",
    "客户", "客户名", "客户名称", "客户全称", "客户公司", "公司", "公司名", "公司名称", "公司全称", "单位", "单位名称",
    "企业名称", "名称",
})
# "Emails (separate with ;)" and "邮箱（多个用分号）" name the same column as "Emails".
_TRAILING_NOTE = re.compile(r"\s*\([^)]*\)$")
_GROUP = re.compile(r"(?<![a-z])(\d{1,2})(?!\d)")
_MAP_FIELDS = {
    **{f: f for f in FIELDS}, "email": "emails", "domain": "domains", "website": "website", "websites": "website",
    "contact": "contacts", "people": "contacts", "person": "contacts", "phone": "phones", "note": "notes",
    "custom": "", "field": "",
}


@dataclass(frozen=True)
class Column:
    """How one column of a sheet is read."""

    index: int
    header: str  # the header cell as written
    field: str  # one of FIELDS, or "" for a custom field
    key: str = ""  # the custom field's name
    how: str = "recognised"  # recognised | mapped (--map) | custom | repeated (a second name/country/notes)
    website: bool = False  # a website column: its URLs give registrable domains
    group: int = 0  # the number of a numbered variant ("Email 2" -> 2), 0 for none
    suggest: str = ""  # for a custom column whose cells look like addresses or domains: the field to map it to


@dataclass(frozen=True)
class CellValues:
    """What one cell holds, recognised by value: normalised addresses and domains, people as
    (name, phone) with either part possibly empty, and the tokens that looked like an address or a
    domain but are not valid."""

    emails: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    people: tuple[tuple[str, str], ...] = ()
    bad: tuple[str, ...] = ()


# Traditional characters of the header words above, so Taiwanese and Hong Kong sheets read alike.
_SIMPLIFIED = str.maketrans("戶稱郵網負責業務員聯繫絡電話國區備註說銷進機經單額號簡頁",
                            "户称邮网负责业务员联系络电话国区备注说销进机经单额号简页")


def header_key(cell: str) -> str:
    """A header cell compared by meaning: NFKC (full-width forms), case-folded, single-spaced, in
    Simplified characters, without trailing notes in brackets and the ``*`` or ``:`` people
    decorate headers with."""
    key = " ".join(unicodedata.normalize("NFKC", cell).casefold().translate(_SIMPLIFIED).split()).strip("*:： ")
    return _TRAILING_NOTE.sub("", key).strip("*:： ")


def header_meaning(cell: str) -> tuple[str, bool, int]:
    """(field or "", website?, group number) for a header cell, recognised by the notion it names."""
    key = header_key(cell)
    if not key:
        return "", False, 0
    if key in _NAMES:
        return "name", False, 0
    words = " " + " ".join(re.findall(r"[a-z]+", key.replace("e-mail", "email"))) + " "
    number = _GROUP.search(key)
    group = int(number.group(1)) if number else 0
    for notion, chinese, english in _NOTIONS:
        if any(w in key for w in chinese) or any(f" {w} " in words for w in english):
            if notion == "owner" and any(w in key for w in _NOT_OWNER):
                continue
            if notion == "website":
                return "domains", True, group
            return notion, False, group
    if key.rstrip("0123456789 ") in _NAMES:
        return "name", False, 0
    return "", False, 0


def parse_column_map(items: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """``--map`` values (``"联系人邮箱=emails"``) as {header key: (field or "" for custom, website?)}.

    Raises CustomerFileError naming a value without ``=`` or with an unknown field.
    """
    mapping: dict[str, tuple[str, bool]] = {}
    for item in items:
        header, eq, field = item.rpartition("=")
        if not eq or not header.strip():
            raise CustomerFileError(f"--map {item!r}: write it as HEADER=FIELD, e.g. --map \"联系人邮箱=emails\"")
        wanted = field.strip().casefold()
        if wanted not in _MAP_FIELDS:
            raise CustomerFileError(
                f"--map {item!r}: unknown field {field.strip()!r}; use one of {', '.join(FIELDS)}, website or custom"
            )
        target = _MAP_FIELDS[wanted]
        mapping[header_key(header)] = ("domains", True) if target == "website" else (target, False)
    return mapping


def plan_columns(header: Iterable[str], mapping: Mapping[str, tuple[str, bool]] | None = None) -> tuple[Column, ...]:
    """How each column of a header row is read: ``mapping`` (from :func:`parse_column_map`) first,
    then the header's meaning; a second name, country or notes column is kept as a custom field."""
    mapping = mapping or {}
    columns: list[Column] = []
    taken: set[str] = set()
    keys: set[str] = set()
    for index, cell in enumerate(header):
        key = header_key(cell)
        if key in mapping:
            field, website = mapping[key]
            group, how = header_meaning(cell)[2], "mapped"
        else:
            field, website, group = header_meaning(cell)
            how = "recognised"
        if field and (field in LIST_FIELDS or field not in taken):
            taken.add(field)
            columns.append(Column(index, cell, field, how=how, website=website, group=group))
            continue
        custom = _unique_key(" ".join(cell.split()) or f"column {index + 1}", keys)
        columns.append(Column(index, cell, "", key=custom, how="repeated" if field else "custom"))
    return tuple(columns)


def _unique_key(key: str, keys: set[str]) -> str:
    candidate, n = key, 2
    while candidate in keys:
        candidate, n = f"{key} ({n})", n + 1
    keys.add(candidate)
    return candidate


# Items of a cell: separated by ; , ， ； 、 | line breaks, or a slash between spaces.
_ITEM_SPLIT = re.compile(r"[;,；，、|\r\n]+|\s+/\s+")
_ADDRESS = re.compile(r"[^\s<>()\[\]\"'“”‘’]+@[^\s<>()\[\]\"'“”‘’]+")
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)|^[^\s@/]+\.[a-z][a-z0-9-]*(?:[/:?#].*)?$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[\d\s().\-/]{6,}(?:\s*(?:ext\.?|x|转|分机)\s*\d+)?$", re.IGNORECASE)
_NAME_PHONE = re.compile(r"^(\D*?)[\s:：]*(\+?\d[\d\s().\-/]{5,}\d)$")
_PLACEHOLDERS = frozenset({"-", "--", "/", "n/a", "na", "none", "null", "nil", "无", "暂无", "没有", "未知", "?", "？"})
_BRACKETS = "<>()[]\"'“”‘’（）【】「」"


def read_cell(text: str, field: str, *, website: bool = False) -> CellValues:
    """The values in one cell of a column read as ``field`` (one of LIST_FIELDS), recognised by
    value: every address in it (``王磊 <wang@x.cn>; li@x.cn``, full-width ``＠`` too), website URLs
    as their registrable domain, names beside addresses, names with phone numbers. Never raises."""
    text = unicodedata.normalize("NFKC", text).strip()
    emails: list[str] = []
    domains: list[str] = []
    people: list[tuple[str, str]] = []
    bad: list[str] = []
    for item in (i.strip() for i in _ITEM_SPLIT.split(text)):
        if not item or item.casefold() in _PLACEHOLDERS:
            continue
        if item.startswith("@") and item.count("@") == 1:
            item = item[1:]  # "@acme.com": how some sheets write a mail domain
        found = _ADDRESS.findall(item)
        if found:
            for token in found:
                address = normalize_email(token.strip(".。"))
                (emails.append(address) if address else bad.append(token))
            rest = _ADDRESS.sub(" ", item).translate({ord(c): " " for c in _BRACKETS}).split()
            bad += [token for token in rest if "@" in token]
            name = " ".join(token for token in rest if "@" not in token).strip(":：- ")
            if name and field in ("emails", "contacts", "owner"):
                people.append((name, ""))
            continue
        if field in ("emails", "domains") and " " not in item and _URLISH.match(item):
            domain = normalize_domain(item)
            if domain is None:
                bad.append(item)
            else:
                is_site = website or "://" in item or "/" in item or item.casefold().startswith("www.")
                domains.append(registrable_domain(domain) if is_site else domain)
            continue
        if field == "phones" or _PHONE.match(item):
            people.append(("", " ".join(item.split())))
        elif field in ("emails", "domains"):
            bad.append(item)
        elif (pair := _NAME_PHONE.match(item)) is not None:
            people.append((" ".join(pair.group(1).split()), " ".join(pair.group(2).split())))
        else:
            people.append((" ".join(item.split()), ""))
    return CellValues(tuple(emails), tuple(domains), tuple(people), tuple(bad))


def looks_like(cells: Iterable[str]) -> str:
    """"emails" or "domains" when most non-empty ``cells`` hold an address or a domain, else ""."""
    seen = emails = domains = 0
    for cell in cells:
        if not cell.strip():
            continue
        seen += 1
        if _ADDRESS.search(unicodedata.normalize("NFKC", cell)):
            emails += 1
        elif read_cell(cell, "domains").domains and "@" not in cell:
            domains += 1
    if not seen:
        return ""
    if emails * 2 > seen:
        return "emails"
    return "domains" if domains * 2 > seen else ""
