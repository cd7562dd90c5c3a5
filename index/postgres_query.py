"""The postgres engine's lexemes and its queries: plans compiled to SQL and ``tsquery`` text.

A token of a text field is the lexeme ``<field><chunk>:<term>`` (``b:price``, ``s2:报价``), a keyword
value ``<field>:<value>`` (``F:ann@acme.com``), and an address's hosts ``F@:acme.com`` /
``F.:com`` (see ``index.postgres_engine``).
"""

from __future__ import annotations

import re

from . import plan as p

#: PostgreSQL's limit of bytes per lexeme.
MAX_LEXEME_BYTES = 2000
#: Each field's lexeme prefix.
TEXT_PREFIX = {"subject": "s", "sender": "f", "recipients": "r", "to": "t", "cc": "c", "attachment": "n",
               "body": "b", "quoted": "q", "attachment_text": "x"}
KEYWORD_PREFIX = {"from_addr": "F", "to_addr": "T", "cc_addr": "C", "addr": "A", "domain": "D", "customer": "U",
                  "folder": "O", "account": "K", "lang": "L", "flag": "G"}
#: Fields whose values are addresses: their hosts are indexed too, for ``*@host`` and ``*.domain``.
ADDRESS_FIELDS = ("from_addr", "to_addr", "cc_addr", "addr")


def cut(term: str) -> str:
    """``term`` within PostgreSQL's bytes per lexeme."""
    data = term.encode()
    return term if len(data) <= MAX_LEXEME_BYTES else data[:MAX_LEXEME_BYTES].decode("utf-8", "ignore")


def quote(lexeme: str) -> str:
    """A lexeme as tsvector and tsquery text write it."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def namespace(prefix: str, chunk: int) -> str:
    """What the lexemes of chunk ``chunk`` of the field written ``prefix`` start with."""
    return f"{prefix}{chunk or ''}:"


#: A glob a host lexeme answers: "*@host" or "*.suffix" with nothing else wild.
_HOST_GLOB = re.compile(r"^\*([@.])([^*?]+)$")


class Compiler:
    """Turns a plan into a WHERE clause: text lookups into ``tsv @@ tsquery`` (one tsquery for a
    whole subtree where it can), dates into comparisons; its bound values in :attr:`params`."""

    def __init__(self, chunks: dict[str, int]) -> None:
        self.chunks = chunks
        self.params: dict[str, object] = {}

    def _param(self, value: object) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def condition(self, node: p.Plan) -> str:
        tsq = self.tsquery(node)
        if tsq is not None:
            return f"tsv @@ CAST({self._param(tsq)} AS tsquery)"
        if isinstance(node, p.DateSpan):
            parts = []
            if node.start is not None:
                parts.append(f"date >= {self._param(node.start)}")
            if node.end is not None:
                parts.append(f"date < {self._param(node.end)}")
            return " AND ".join(parts) or "TRUE"
        if isinstance(node, p.Every):
            return "TRUE"
        if isinstance(node, p.Nothing):
            return "FALSE"
        if isinstance(node, p.Wildcard):
            like = "".join("%" if ch == "*" else "_" if ch == "?" else "\\" + ch if ch in "%_\\" else ch
                           for ch in node.pattern)
            return (f"EXISTS (SELECT 1 FROM jsonb_array_elements_text(keywords -> {self._param(node.field)}) AS v "
                    f"WHERE v LIKE {self._param(like)})")
        if isinstance(node, p.Not):
            return f"NOT ({self.condition(node.child)})"
        joiner = " AND " if isinstance(node, p.And) else " OR "
        return joiner.join(f"({self.condition(child)})" for child in node.children)

    def tsquery(self, node: p.Plan) -> str | None:
        """The tsquery text of ``node``, or None when part of it is no text lookup."""
        if isinstance(node, p.Term):
            return self._alternatives(node.field, lambda ns: quote(cut(ns + node.text)))
        if isinstance(node, p.Prefix):
            return self._alternatives(node.field, lambda ns: quote(cut(ns + node.text)) + ":*")
        if isinstance(node, p.Phrase):
            return self._alternatives(node.field, lambda ns: " <-> ".join(quote(cut(ns + w)) for w in node.words))
        if isinstance(node, p.Wildcard):
            found = _HOST_GLOB.match(node.pattern)
            prefix = KEYWORD_PREFIX.get(node.field)
            if found is None or prefix is None or (found.group(1) == "@" and node.field not in ADDRESS_FIELDS):
                return None
            return quote(cut(f"{prefix}{found.group(1)}:{found.group(2)}"))
        if isinstance(node, p.Not):
            child = self.tsquery(node.child)
            return None if child is None else f"!({child})"
        if isinstance(node, p.And | p.Or):
            parts = [self.tsquery(child) for child in node.children]
            if any(part is None for part in parts):
                return None
            return (" & " if isinstance(node, p.And) else " | ").join(f"({part})" for part in parts)
        return None

    def _alternatives(self, field: str, lexemes) -> str:
        if field in KEYWORD_PREFIX:
            return lexemes(KEYWORD_PREFIX[field] + ":")
        prefix = TEXT_PREFIX[field]
        return " | ".join(f"({lexemes(namespace(prefix, chunk))})" for chunk in range(self.chunks.get(prefix, 1)))

    def rank_queries(self, plan: p.Plan) -> dict[float, str]:
        """What relevance is measured by: every text lookup the query asks for (OR), one tsquery
        per boost of its terms."""
        parts: dict[float, list[str]] = {}
        for leaf in p.positive_leaves(plan):
            if not isinstance(leaf, p.DateSpan) and (part := self.tsquery(leaf)) is not None:
                parts.setdefault(leaf.boost if isinstance(leaf, p.Term) else 1.0, []).append(f"({part})")
        return {boost: " | ".join(found) for boost, found in parts.items()}

