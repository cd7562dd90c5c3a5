"""Snippets and highlights, Dossier's own for every engine: which stored text a hit is shown by,
and the fragments of it around the query's words, marked ``**like this**``.

The fragments are those Whoosh's highlighter made when it was Dossier's only engine (context
fragments of up to 240 characters with 80 around the matches, the best three by matched words,
in text order), so that a snippet reads the same whichever engine found the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from heapq import nlargest

from . import plan as p
from .analysis import STEM_MARK, iter_tokens, normalize_text, stem
from .fields import ATTACHMENT_SEPARATOR

#: Characters around a match in a snippet.
SNIPPET_CHARS = 240
MARK_OPEN, MARK_CLOSE = "**", "**"
#: Stored fields a snippet is taken from, in order of preference.
SNIPPET_FIELDS = ("body", "subject", "attachment_text", "quoted", "attachment")
#: Context before a match and after the last one of a fragment (in characters of tokens).
_SURROUND = 80
#: Fragments of one snippet at most, and the characters of a text fragments are looked for in.
_TOP = 3
_CHARLIMIT = 2**15
_BETWEEN = " … "


@dataclass(frozen=True)
class Leaves:
    """Per snippet field, the words of each positive leaf of the query (a prefix as its one
    word, a stem as its start), and what marks a token: its term among ``words``, starting with a
    ``prefixes``, or with its English stem among ``stems``."""

    by_field: Mapping[str, list[tuple[str, ...]]]
    words: Mapping[str, frozenset[str]]
    prefixes: Mapping[str, tuple[str, ...]]
    stems: Mapping[str, frozenset[str]] = field(default_factory=dict)


def query_leaves(plan: p.Plan) -> Leaves:
    by_field: dict[str, list[tuple[str, ...]]] = {}
    words: dict[str, set[str]] = {}
    prefixes: dict[str, list[str]] = {}
    stems: dict[str, set[str]] = {}
    for leaf in p.positive_leaves(plan):
        fieldname = getattr(leaf, "field", None)
        if fieldname not in SNIPPET_FIELDS:
            continue
        if isinstance(leaf, p.Phrase):
            found = leaf.words
            words.setdefault(fieldname, set()).update(leaf.words)
        elif isinstance(leaf, p.Term) and leaf.text.startswith(STEM_MARK):
            stemmed = leaf.text[len(STEM_MARK):]
            stems.setdefault(fieldname, set()).add(stemmed)
            # A stem is the start of its words but for its last letter ("happi" for "happy").
            found = (stemmed[:-1] if len(stemmed) > 3 else stemmed,)
        elif isinstance(leaf, p.Term):
            found = (leaf.text,)
            words.setdefault(fieldname, set()).add(leaf.text)
        elif isinstance(leaf, p.Prefix):
            found = (leaf.text,)
            prefixes.setdefault(fieldname, []).append(leaf.text)
        else:  # no snippet field is searched by pattern or date
            continue
        found = tuple(w for w in found if w)
        if found:
            by_field.setdefault(fieldname, []).append(found)
    return Leaves(by_field, {f: frozenset(w) for f, w in words.items()},
                  {f: tuple(x) for f, x in prefixes.items()}, {f: frozenset(x) for f, x in stems.items()})


# --- which text, and where in it ----------------------------------------------------------


def _contains(folded: str, leaves: list[tuple[str, ...]]) -> bool:
    """Whether ``folded`` (normalized text) holds every word of some leaf: a cheap check of
    which attachment matched, without re-tokenizing them all."""
    return any(all(word in folded for word in words) for words in leaves)


#: Characters of a long body around its first match that the highlighter re-reads.
_WINDOW = 2000


def _window(text: str, words: Iterable[str], positions: str | None = None) -> str:
    """A slice of ``text`` around the first place a query word occurs (highlighting re-tokenizes
    what it is given, so a whole long body would cost far more than the search itself).
    ``positions``: what :func:`_fold_to_match` gives for ``text``, when the caller has it."""
    if len(text) <= _WINDOW:
        return text
    if positions is None:
        positions, _ = _fold_to_match(text, [])
    found = [pos for pos in (positions.find(w) for w in words) if pos >= 0]
    start = max(0, min(found) - _WINDOW // 2) if found else 0
    return text[start:start + _WINDOW]


#: Characters of a long text folded at a time while looking for its first match.
_FOLD_STEP = 4000


def _fold_to_match(text: str, leaves: list[tuple[str, ...]], step: int = _FOLD_STEP) -> tuple[str, bool]:
    """(positions, whether some leaf has all its words in ``text``), folding no more of a long
    text than it takes: a quoted thread of 30,000 characters whose first lines match is folded
    up to there. Folding is cut before line breaks, where the parts folded apart give the same
    text as the whole. ``positions`` is text whose offsets are ``text``'s, for :func:`_window`:
    the folded part that holds a leaf's words, else the whole text folded (lowered instead when
    folding changed its length)."""
    parts: list[str] = []
    start = 0
    while start + step < len(text):
        cut = text.find("\n", start + step)
        if cut < 0:
            break
        part = normalize_text(text[start:cut])
        if len(part) != cut - start:  # offsets no longer the text's: fold the rest as one
            break
        parts.append(part)
        start = cut
        done = "".join(parts)
        if _contains(done, leaves):
            return done, True
    parts.append(normalize_text(text[start:]))
    folded = "".join(parts)
    return (folded if len(folded) == len(text) else text.lower()), _contains(folded, leaves)


#: Characters no token holds or joins across: text cut at one tokenizes the same on each side.
_CUT = frozenset(" \t\r\n,.;:!?()[]<>{}\"'|/=-，。、；：！？（）")
_TOKEN_CHARS_AFTER = re.compile(r"(?:[\W_]*[^\W_]){%d}" % (2 * _SURROUND + 20))
_CUT_SEARCH = 200


def _trim(text: str, words: Iterable[str]) -> str:
    """The part of ``text`` that decides its snippet: the highlighter tokenizes all it is
    given, but its fragments only reach ``_SURROUND`` characters before a match and end at most
    ``2 * _SURROUND`` token characters after the last one. Cut where no token spans the cut, the
    same fragments come out of the slice (their offsets shift, their text does not)."""
    folded = normalize_text(text)
    if len(folded) != len(text):  # folding changed lengths: its offsets are not the text's
        return text
    words = [w for w in words if w in folded]
    if not words:
        return text
    start = min(folded.find(w) for w in words) - 2 * _SURROUND
    last = max(folded.rfind(w) + len(w) for w in words)
    after = _TOKEN_CHARS_AFTER.match(text, last)
    end = after.end() if after else len(text)
    if start > 0:
        start = next((i for i in range(start, max(start - _CUT_SEARCH, -1), -1) if text[i] in _CUT), 0)
    if end < len(text):
        end = next((i for i in range(end, min(end + _CUT_SEARCH, len(text))) if text[i] in _CUT), len(text))
    return text[max(start, 0):end]


_LABELS = {"body": "body", "subject": "subject", "attachment_text": "attachment", "quoted": "quoted",
           "attachment": "filename"}


def make_snippet(fields: Mapping[str, object], leaves: Leaves) -> tuple[str, str, tuple[str, ...]]:
    """(snippet, where it comes from, attachments that matched) for a hit's stored ``fields``."""
    texts = str(fields.get("attachment_text") or "")
    names = list(fields.get("attachment_text_names") or [])
    segments = list(zip(names, texts.split(ATTACHMENT_SEPARATOR), strict=False)) if texts else []
    by_field = leaves.by_field
    matched: list[str] = []
    if by_field.get("attachment_text"):
        matched = [name for name, text in segments if _fold_to_match(text, by_field["attachment_text"])[1]]
    if by_field.get("attachment"):
        for name in str(fields.get("attachment") or "").split("\n"):
            if name and name not in matched and _contains(normalize_text(name), by_field["attachment"]):
                matched.append(name)
    for name in SNIPPET_FIELDS:
        field_leaves = by_field.get(name)
        if not field_leaves:
            continue
        words = [w for leaf in field_leaves for w in leaf]
        if name == "attachment_text":
            candidates = [(n, t) for n, t in segments if n in matched] or segments
        else:
            candidates = [("", str(fields.get(name) or ""))]
        for _, text in candidates:
            if not text:
                continue
            # Highlighting re-tokenizes; a cheap look for the words first skips fields without them.
            positions = None
            if name != "attachment_text" or len(text) > _WINDOW:
                positions, found = _fold_to_match(text, field_leaves)
                if name != "attachment_text" and not found:
                    continue
            marked = highlight(_trim(_window(text, words, positions), words),
                               leaves.words.get(name, frozenset()), leaves.prefixes.get(name, ()),
                               leaves.stems.get(name, frozenset()))
            if marked:
                return marked, _LABELS[name], tuple(matched)
    body = " ".join(str(fields.get("body") or "")[:SNIPPET_CHARS * 4].split())
    return body[:SNIPPET_CHARS] + ("…" if len(body) > SNIPPET_CHARS else ""), "", tuple(matched)


# --- the fragments --------------------------------------------------------------------------


class _Token:
    __slots__ = ("end", "matched", "start", "text")

    def __init__(self, text: str, start: int, end: int, matched: bool) -> None:
        self.text, self.start, self.end, self.matched = text, start, end, matched


def _marked_tokens(text: str, words: frozenset[str], prefixes: tuple[str, ...], stems: frozenset[str] = frozenset()):
    """Every token of ``text`` as indexed, matched ones that touch or overlap merged into one
    (a CJK word's bigrams); a matched token right after a merged run stays on its own."""
    run: _Token | None = None
    for term, _, start, end in iter_tokens(text):
        matched = (term in words or (bool(prefixes) and term.startswith(prefixes))
                   or (bool(stems) and stem(term) in stems))
        if not matched:
            if run is not None:
                yield run
                run = None
            yield _Token(term, start, end, False)
            continue
        if run is None:
            run = _Token(term, start, end, True)
        elif start <= run.end:
            if end > run.end:
                run.text += term[run.end - end:]
                run.end = end
        else:
            yield run
            run = None
            yield _Token(term, start, end, True)
    if run is not None:
        yield run


def _fragments(text: str, tokens) -> Iterable[tuple[int, int, list[_Token]]]:
    """(start, end, matched tokens) of each fragment: a matched token with up to ``_SURROUND``
    characters of tokens before it, extended while further matches follow within
    ``_SURROUND``, at most ``SNIPPET_CHARS`` characters of tokens long."""
    first: int | None = None
    firsts: list[int] = []  # starts of the tokens before a fragment, within _SURROUND
    countdown = -1  # < 0: not inside a fragment
    matches: list[_Token] = []
    end = 0
    length = 0
    for t in tokens:
        start, end = t.start, t.end
        size = end - start
        if end > _CHARLIMIT:
            break
        if countdown < 0 and not t.matched:
            firsts.append(start)
            while firsts and end - firsts[0] > _SURROUND:
                firsts.pop(0)
        elif length + size > SNIPPET_CHARS:
            countdown = 0
        elif t.matched:
            countdown = _SURROUND
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = start
                    countdown += _SURROUND
            matches.append(t)
        if countdown >= 0:
            length += size
            countdown -= size
            if countdown <= 0:
                yield _fragment(text, matches, first, end)
                matches, firsts, first, length = [], [], None, 0
    if matches:
        yield _fragment(text, matches, first, end)


def _fragment(text: str, matches: list[_Token], start: int | None, end: int) -> tuple[int, int, list[_Token]]:
    if start is None:
        start = matches[0].start if matches else 0
    return max(0, start), min(len(text), end), matches


def _score(matches: list[_Token]) -> int:
    # More matches count, different words a hundred times more.
    return len(matches) * (len({t.text for t in matches}) * 100 or 1)


def _format(text: str, start: int, end: int, matches: list[_Token]) -> str:
    """The fragment with its matches marked, overlapping ones (CJK bigrams) as one."""
    spans: list[list[int]] = []
    for t in sorted(matches, key=lambda t: (t.start, t.end)):
        if spans and t.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], t.end)
        else:
            spans.append([t.start, t.end])
    out, pos = [], start
    for a, b in spans:
        a = max(a, pos)
        if a >= b:
            continue
        out.append(text[pos:a])
        out.append(MARK_OPEN + text[a:b] + MARK_CLOSE)
        pos = b
    out.append(text[pos:end])
    return " ".join("".join(out).split())


def highlight(text: str, words: frozenset[str], prefixes: tuple[str, ...] = (),
              stems: frozenset[str] = frozenset()) -> str:
    """The best fragments of ``text`` around tokens whose term is one of ``words``, starts with
    one of ``prefixes`` or has its English stem among ``stems``, marked, in text order; "" when
    nothing matches."""
    if not words and not prefixes and not stems:
        return ""
    scored = ((_score(m), a, b, m) for a, b, m in _fragments(text, _marked_tokens(text, words, prefixes, stems)))
    best = [(a, b, m) for score, a, b, m in nlargest(_TOP, scored, key=lambda s: (s[0], s[1])) if score >= 1]
    best.sort(key=lambda f: f[0])
    return _BETWEEN.join(_format(text, a, b, m) for a, b, m in best)
