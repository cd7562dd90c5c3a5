"""A parsed query lowered to field-level lookups every engine can run (pure).

:func:`lower` turns the syntax tree of :mod:`index.query` into a tree of :class:`Term`,
:class:`Phrase`, :class:`Prefix`, :class:`Wildcard` and :class:`DateSpan` leaves under
:class:`And`, :class:`Or` and :class:`Not`, with words already analysed as the index holds
them; each engine compiles that tree to its own queries. The semantics are plain set logic:
``Not(x)`` is every document but those of ``x``, :class:`Nothing` matches none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from . import query as q
from .analysis import STEM_MARK, query_words, stem
from .errors import QueryError
from .fields import DEFAULT_FIELDS, STEM_BOOST, STEMMED_FIELDS, keyword_term


@dataclass(frozen=True)
class Term:
    field: str
    text: str
    boost: float = 1.0  # of its score (an English stem's alternative counts less than the word)


@dataclass(frozen=True)
class Phrase:
    """Words at consecutive positions (CJK bigrams, "price list", the parts of an address)."""

    field: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Prefix:
    field: str
    text: str


@dataclass(frozen=True)
class Wildcard:
    """A glob over whole terms: ``*`` any run of characters, ``?`` one."""

    field: str
    pattern: str


@dataclass(frozen=True)
class DateSpan:
    start: datetime | None  # inclusive, naive UTC
    end: datetime | None  # exclusive


@dataclass(frozen=True)
class Every:
    pass


@dataclass(frozen=True)
class Nothing:
    pass


@dataclass(frozen=True)
class Not:
    child: Plan


@dataclass(frozen=True)
class And:
    children: tuple[Plan, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Plan, ...]


Plan = Term | Phrase | Prefix | Wildcard | DateSpan | Every | Nothing | Not | And | Or
Leaf = Term | Phrase | Prefix | Wildcard | DateSpan


#: Words in one phrase at most (Chinese counts each overlapping pair of characters): a longer
#: one took seconds to match and says no more than a part of it.
MAX_PHRASE_WORDS = 64


def _text(fieldname: str, text: str, *, is_prefix: bool = False) -> Plan | None:
    """``text`` in one text field: a term, a phrase of its tokens or a prefix. A lone English word
    in a field holding stems also matches its other forms (a phrase, a prefix and Chinese do not).
    Raises QueryError for a phrase of more than :data:`MAX_PHRASE_WORDS` words."""
    words = query_words(text)
    if not words:
        return None
    if len(words) > MAX_PHRASE_WORDS:
        raise QueryError(f"the phrase {q.shorten(text)!r} is too long to search for: {len(words)} words (in "
                         f"Chinese, each pair of characters), at most {MAX_PHRASE_WORDS}; quote a shorter part of it")
    if is_prefix and len(words) == 1:
        return Prefix(fieldname, words[0])
    if len(words) == 1:
        return _word(fieldname, words[0])
    return Phrase(fieldname, tuple(words))


def _word(fieldname: str, word: str) -> Plan:
    """The word itself, or any word with its stem: "invoice" finds "invoices" (indexed beside it as
    "~invoic") and "prices" finds "price" (whose stem is itself, so it has no stem term)."""
    stemmed = stem(word) if fieldname in STEMMED_FIELDS else None
    if stemmed is None:
        return Term(fieldname, word)
    forms = [Term(fieldname, word), Term(fieldname, STEM_MARK + stemmed, STEM_BOOST)]
    if stemmed != word and stem(stemmed) == stemmed:
        forms.append(Term(fieldname, stemmed, STEM_BOOST))
    return Or(tuple(forms))


def _any_field(fields: Iterable[str], text: str, is_prefix: bool = False) -> Plan:
    parts = [p for f in fields if (p := _text(f, text, is_prefix=is_prefix)) is not None]
    if not parts:
        return Nothing()
    return parts[0] if len(parts) == 1 else Or(tuple(parts))


def _domain(fieldname: str, domain: str, *, is_address_field: bool) -> Plan:
    """The domain or any subdomain of it."""
    domain = domain.lower().lstrip("@")
    if is_address_field:
        return Or((Wildcard(fieldname, "*@" + domain), Wildcard(fieldname, "*." + domain)))
    return Or((Term(fieldname, domain), Wildcard(fieldname, "*." + domain)))


def _customers(ids: tuple[int, ...]) -> Plan:
    if not ids:
        return Nothing()
    terms = tuple(Term("customer", str(i)) for i in ids)
    return Or(terms) if len(terms) > 1 else terms[0]


_PEOPLE = {"from": ("from_addr", "sender"), "to": ("to_addr", "to"), "cc": ("cc_addr", "cc")}
_FLAGS = {"has": "flag", "is": "flag", "lang": "lang"}


def _filter(node: q.FilterNode, customers: Mapping[str, tuple[int, ...]]) -> Plan:
    name, value = node.name, node.value
    if node.range is not None:
        return DateSpan(node.range.start, node.range.end)
    if name in _PEOPLE:
        address_field, text_field = _PEOPLE[name]
        lowered = value.lower()
        if not node.is_phrase and "@" in lowered.strip("@"):
            return (Prefix if node.is_prefix else Term)(address_field, lowered)
        if not node.is_phrase and "." in lowered and " " not in lowered:
            return _domain(address_field, lowered, is_address_field=True)
        return _text(text_field, value, is_prefix=node.is_prefix) or Nothing()
    if name == "customer":
        if value not in customers:
            raise QueryError(f"customer:{value} could not be looked up")
        return _customers(customers[value])
    if name == "domain":
        return _domain("domain", value, is_address_field=False)
    if name == "subject":
        return _text("subject", value, is_prefix=node.is_prefix) or Nothing()
    if name == "filename":
        return _text("attachment", value.lstrip("*"), is_prefix=node.is_prefix) or Nothing()
    if name in ("folder", "account"):
        lowered = value.lower().replace(",", " ")
        return Prefix(name, lowered) if node.is_prefix else Term(name, lowered)
    if name in _FLAGS:
        return Term(_FLAGS[name], value)
    raise QueryError(f"{name}: is not a filter")  # parse_query lets only known names through


def _lower(node: q.Node, customers: Mapping[str, tuple[int, ...]]) -> Plan:
    if isinstance(node, q.TextNode):
        return _any_field(DEFAULT_FIELDS, node.text, node.is_prefix)
    if isinstance(node, q.FilterNode):
        return _filter(node, customers)
    if isinstance(node, q.NotNode):
        return Not(_lower(node.child, customers))
    children = tuple(_lower(child, customers) for child in node.children)
    if isinstance(node, q.AndNode):
        positive = [c for c in children if not isinstance(c, Not)]
        # A query of NOTs only: everything but what they name.
        return And(children if positive else (Every(), *children))
    return Or(tuple(And((Every(), c)) if isinstance(c, Not) else c for c in children))


def lower(text: str, customers: Mapping[str, tuple[int, ...]]) -> tuple[Plan, bool]:
    """The plan for query ``text`` and whether it holds free text (else: filters only, which
    nothing ranks). ``customers`` maps each ``customer:`` value to the ids it names.

    Raises QueryError for a query that cannot be parsed or a customer not looked up.
    """
    node = q.parse_query(text)
    if node is None:
        return Every(), False
    plan = _lower(node, customers)
    if isinstance(node, q.NotNode):
        plan = And((Every(), plan))
    return plan, _has_text(node)


def _has_text(node: q.Node) -> bool:
    if isinstance(node, q.TextNode):
        return True
    if isinstance(node, q.NotNode):
        return False
    if isinstance(node, q.AndNode | q.OrNode):
        return any(_has_text(c) for c in node.children)
    return node.name in ("subject", "filename")


def request_filter(
    customer_ids: tuple[int, ...] | None, from_address: str | None, since: datetime | None, until: datetime | None,
    *, within: tuple[tuple[int, ...], tuple[str, ...]] | None = None,
) -> Plan | None:
    """What the options beside the query restrict to (they never count in relevance); ``within``
    (customer ids, account names) is a reader's scope: the mail of those customers or accounts."""
    parts: list[Plan] = []
    if within is not None:
        ids, accounts = within
        allowed = [Term("customer", str(i)) for i in sorted(ids)]
        allowed += [Term("account", keyword_term(a)) for a in sorted(accounts) if keyword_term(a)]
        if not allowed:
            return Nothing()
        parts.append(allowed[0] if len(allowed) == 1 else Or(tuple(allowed)))
    if customer_ids is not None:
        if not customer_ids:
            return Nothing()  # a customer with no mail: nothing can match
        parts.append(_customers(customer_ids))
    if from_address:
        value = from_address.strip().lower()
        if "@" in value.strip("@"):
            parts.append(Term("from_addr", value))
        else:  # a domain: the sender's host is it or one of its subdomains
            domain = value.lstrip("@")
            parts.append(Or((Wildcard("from_addr", "*@" + domain), Wildcard("from_addr", "*." + domain))))
    if since or until:
        parts.append(DateSpan(since, until))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def positive_leaves(plan: Plan) -> Iterable[Leaf]:
    """Every leaf not under a Not (the words a snippet marks)."""
    if isinstance(plan, Not | Every | Nothing):
        return
    if isinstance(plan, And | Or):
        for child in plan.children:
            yield from positive_leaves(child)
        return
    yield plan


def glob_regex(pattern: str) -> str:
    """A regular expression matching exactly what the glob ``pattern`` matches, whole."""
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
