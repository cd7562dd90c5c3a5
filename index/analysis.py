"""Text analysis shared by every engine: NFKC, case and Traditional->Simplified folding, word
tokens and CJK bigrams, with offsets into the original text (pure: no engine here)."""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

__all__ = ["STEM_MARK", "index_positions", "index_tokens", "iter_tokens", "normalize_text", "query_words", "stem"]

#: Starts the extra term an English word's stem is indexed as, beside the word itself ("invoices"
#: at a position, "~invoic" at the same one): no token holds this character, so a stem never
#: matches a word, a prefix or a phrase.
STEM_MARK = "~"


def normalize_text(s: str) -> str:
    """Fold ``s`` exactly as the analyzer does before tokenizing: NFKC, case folding, then
    Traditional Chinese characters to Simplified ("報價" -> "报价").

    Full-width forms become ASCII ("ＡＢＣ１２３，" -> "abc123,"), compatibility
    characters are expanded ("㈱" -> "(株)", "ﬁ" -> "fi"), case is folded
    ("Straße" -> "strasse") and default-ignorable characters (soft hyphen,
    zero-width space, variation selectors) are dropped. Idempotent.
    """
    return _normalize(s)[0]


def iter_tokens(
    value: str, *, unigrams: bool = True, offsets: bool = True, stems: bool = False
) -> Iterator[tuple[str, int, int, int]]:
    """``(term, position, start, end)`` of every token of ``value``, in one regex pass.

    * Text is folded as ``normalize_text`` does; ``start``/``end`` always refer to the
      ORIGINAL text, also where folding changed its length (0, 0 when ``offsets`` is false).
    * A run of letters, digits and combining marks that is not CJK is one token;
      everything else (spaces, punctuation, "_", "@", ".") separates tokens.
    * A CJK run (Han incl. extensions and compatibility ideographs, kana, hangul,
      bopomofo) of n >= 2 characters yields its n-1 overlapping bigrams at
      consecutive positions ("报价单" -> 报价@p, 价单@p+1), so a phrase of
      bigrams matches exactly the contiguous substring; a run of one character
      yields that character.
    * ``unigrams`` (what an index holds; a query asks for bigrams only): each character of a
      longer CJK run is also a token, at the position of the bigram it starts (the last one
      shares the last bigram's). A one-character query thus finds the character anywhere,
      and "单USD" finds "报价单USD". The price, on Chinese-only text: about 40% more index and
      slower indexing; and a one-character CJK token inside a phrase matches a little loosely
      ("USD价" also finds "USD报价").
    * ``stems`` (what an index holds for the fields of :data:`index.fields.STEMMED_FIELDS`): an
      English word whose stem differs from it is followed by :data:`STEM_MARK` + its stem at
      the same position (``invoices`` -> ``invoices``, ``~invoic``; see :func:`stem`).
    * No stop words.
    """
    text, folded_map = _normalize(value)
    want = offsets

    def span(a: int, b: int) -> tuple[int, int]:
        # Offsets [a, b) are into the folded text; the token's are into the original.
        if not want:
            return 0, 0
        if folded_map is not None:
            return folded_map.start(a), folded_map.end(b)
        return a, b

    pos = 0
    for match in _tables().token.finditer(text):
        run = match.group(1)
        if run is None or len(run) == 1:
            # A word, or a CJK run of one character: one token.
            word = match.group()
            yield (word, pos, *span(match.start(), match.end()))
            if stems and (stemmed := _stem_term(word)) is not None:
                yield (stemmed, pos, *span(match.start(), match.end()))
            pos += 1
            continue
        base = match.start()
        last = len(run) - 1
        for i in range(last):
            yield (run[i : i + 2], pos, *span(base + i, base + i + 2))
            if unigrams:
                yield (run[i], pos, *span(base + i, base + i + 1))
            pos += 1
        # The last character shares the last bigram's position, so it stays adjacent to
        # whatever token follows the run; a repeat of the character before it ("谢谢")
        # already holds that position.
        if unigrams and run[last] != run[last - 1]:
            yield (run[last], pos - 1, *span(base + last, base + last + 1))


def index_tokens(value: str, *, stems: bool = False) -> tuple[list[str], list[int]]:
    """The terms and positions an index holds for ``value``: exactly those of
    ``iter_tokens(value, offsets=False, stems=stems)``, in its order, as two lists (what an
    engine takes pre-tokenized), built in one loop without a tuple or a call per token."""
    text, _ = _normalize(value)
    terms: list[str] = []
    positions: list[int] = []
    add_term, add_pos = terms.append, positions.append
    stem_terms = _STEM_TERMS
    pos = 0
    for word, run in _index_pattern().findall(text):
        if word or len(run) == 1:
            word = word or run
            add_term(word)
            add_pos(pos)
            if stems:
                stemmed = stem_terms.get(word, "")
                if stemmed == "":
                    stemmed = _remember_stem_term(word)
                if stemmed is not None:
                    add_term(stemmed)
                    add_pos(pos)
            pos += 1
            continue
        last = len(run) - 1
        for i in range(last):
            add_term(run[i : i + 2])
            add_pos(pos)
            add_term(run[i])
            add_pos(pos)
            pos += 1
        if run[last] != run[last - 1]:
            add_term(run[last])
            add_pos(pos - 1)
    return terms, positions


@cache
def _index_pattern() -> re.Pattern[str]:
    # The token pattern ("word|digits|(cjk run)") with the word alternatives captured as group 1
    # and the CJK run as group 2: findall then gives (word, run) pairs without a match object
    # per token (about half the time of finditer and two group() calls).
    pattern = _tables().token.pattern
    cut = pattern.rindex("|([")
    return re.compile(f"({pattern[:cut]})|{pattern[cut + 1:]}")


def query_words(value: str) -> list[str]:
    """The terms a query word or phrase looks up: its tokens without CJK unigrams, in order."""
    return [term for term, _, _, _ in iter_tokens(value, unigrams=False, offsets=False)]


def index_positions(value: str, unigrams: bool = True, stems: bool = False) -> dict[str, list[int]]:
    """Each term's positions, exactly as :func:`iter_tokens` yields them, in first-seen order
    (what an index writer records; one loop without tuples per token)."""
    text, _ = _normalize(value)
    poses: dict[str, list[int]] = {}
    pos = 0
    stem_term = _stem_term if stems else None
    for match in _tables().token.finditer(text):
        run = match.group(1)
        if run is None or len(run) == 1:
            word = match.group()
            if word in poses:
                poses[word].append(pos)
            else:
                poses[word] = [pos]
            if stem_term is not None and (stemmed := stem_term(word)) is not None:
                if stemmed in poses:
                    poses[stemmed].append(pos)
                else:
                    poses[stemmed] = [pos]
            pos += 1
            continue
        last = len(run) - 1
        for i in range(last):
            for word in (run[i : i + 2], run[i]) if unigrams else (run[i : i + 2],):
                if word in poses:
                    poses[word].append(pos)
                else:
                    poses[word] = [pos]
            pos += 1
        if unigrams and run[last] != run[last - 1]:
            word = run[last]
            if word in poses:
                poses[word].append(pos - 1)
            else:
                poses[word] = [pos - 1]
    return poses


def stem(word: str) -> str | None:
    """The English stem of ``word`` (a folded token: Snowball's English stemmer, PyStemmer), or
    None for what is not stemmed: anything but 3 or more ASCII letters ("quotations" -> "quotat",
    "报价", "po4500" and "fob" -> None when the stem is the word itself is still the stem)."""
    if len(word) < 3 or not word.isascii() or not word.isalpha():
        return None
    found = _STEMS.get(word)
    if found is None:
        if len(_STEMS) > _STEM_CACHE:
            _STEMS.clear()
        found = _STEMS[word] = _stemmer().stemWord(word)
    return found


def _stem_term(word: str) -> str | None:
    """The marked stem term indexed beside ``word``, or None when its stem is the word itself."""
    found = stem(word)
    return None if found is None or found == word else STEM_MARK + found


_STEMS: dict[str, str] = {}
_STEM_CACHE = 200_000
#: Each word's stem term or None (none to index): index_tokens' one lookup per word.
_STEM_TERMS: dict[str, str | None] = {}


def _remember_stem_term(word: str) -> str | None:
    if len(_STEM_TERMS) > _STEM_CACHE:
        _STEM_TERMS.clear()
    found = _STEM_TERMS[word] = _stem_term(word)
    return found


@cache
def _stemmer():
    import Stemmer  # PyStemmer: Snowball's C stemmers

    return Stemmer.Stemmer("english")


#: What Whoosh pickled into every existing Whoosh index's table of contents by this module's
#: name; the classes live with the Whoosh engine and load from here on demand.
_WHOOSH_NAMES = frozenset({"TextTokenizer", "IndexPositions", "text_analyzer"})


def __getattr__(name: str) -> object:
    if name in _WHOOSH_NAMES:
        from . import whoosh_analysis

        return getattr(whoosh_analysis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- normalisation with an offset map -------------------------------------------

# Default-ignorable code points (Unicode's DerivedCoreProperties): soft hyphens
# and zero-width spaces from HTML mail, BOMs, bidi marks, variation selectors
# after kanji. They are dropped, as NFKC_Casefold does, so they split no word.
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
_DROP_IGNORABLE = {cp: None for a, b in _IGNORABLE for cp in range(a, b + 1)}


def _fold(s: str) -> str:
    # Case folding can leave text that is not NFKC ("ΐ" folds to ι + two marks);
    # the outer NFKC recomposes it so that folding is idempotent.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())


def _fold_piece(s: str) -> str:
    # Ignorables are always "unsafe", so only these short pieces need the
    # (slower) translate; the long stretches between them never contain one.
    return _fold(s).translate(_DROP_IGNORABLE)


@dataclass(frozen=True, slots=True)
class _OffsetMap:
    """Maps offsets in folded text to the original, given the pieces whose folding changed.

    Between pieces, folding is one character for one character, so an offset
    there is shifted by a constant; an offset inside a piece maps to the piece's
    start (for a token start) or end (for a token end).
    """

    starts: list[int]  # folded start of each piece, ascending
    pieces: list[tuple[int, int, int, int]]  # (folded start, folded end, original start, original end)

    def start(self, n: int) -> int:
        i = bisect_right(self.starts, n) - 1  # the last piece starting at or before n
        if i < 0:
            return n
        _, fe, os_, oe = self.pieces[i]
        return os_ if n < fe else oe + (n - fe)

    def end(self, n: int) -> int:
        i = bisect_left(self.starts, n) - 1  # the last piece starting before the char at n - 1
        if i < 0:
            return n
        _, fe, _, oe = self.pieces[i]
        return oe if n <= fe else oe + (n - fe)


def _normalize(s: str) -> tuple[str, _OffsetMap | None]:
    """Fold ``s``; the map is None when every character folded to exactly one."""
    if s.isascii():
        return s.lower(), None  # NFKC leaves ASCII alone; lower() is its case folding
    # Only the rare "unsafe" characters, which expand, vanish or combine with
    # the character before, are folded piece by piece; each stretch between
    # them is folded by one C-level call and maps one to one.
    parts: list[str] = []
    starts: list[int] = []
    pieces: list[tuple[int, int, int, int]] = []
    orig = folded = 0

    def add(a: int, b: int, out: str, is_piece: bool) -> None:
        # A piece maps as a whole: even at the same length its combining marks
        # may have been reordered. A stretch maps one to one, unless a future
        # Unicode version breaks that: then it too maps as a whole.
        nonlocal folded
        parts.append(out)
        if len(out) != b - a or (is_piece and b - a > 1):
            starts.append(folded)
            pieces.append((folded, folded + len(out), a, b))
        folded += len(out)

    tables = _tables()
    spans: list[list[int]] = []
    for m in tables.unsafe.finditer(s):
        a, b = m.span()
        if a and ord(s[a]) in tables.joins:
            a -= 1  # a combining character is folded together with its base
        if spans and a < spans[-1][1]:
            spans[-1][1] = b  # ... which ended the previous piece
        else:
            spans.append([a, b])
    for a, b in spans:
        if a > orig:
            add(orig, a, _fold(s[orig:a]), False)
        add(a, b, _fold_piece(s[a:b]), True)
        orig = b
    if orig < len(s):
        add(orig, len(s), _fold(s[orig:]), False)
    # Traditional to Simplified, character for character: the offsets above stay valid.
    return "".join(parts).translate(_simplify_table()), (_OffsetMap(starts, pieces) if pieces else None)


@cache
def _simplify_table() -> list[int]:
    """:func:`_traditional_to_simplified` as a list indexed by code point, identity where it
    maps nothing: ``str.translate`` with a dict pays a failed lookup (an exception inside
    CPython) for every character it leaves alone, and most are; with the list, folding
    Chinese text is 2-2.5x faster (about 6 MB, once per process). Characters past the last
    mapped one are left alone, as with the dict."""
    mapping = _traditional_to_simplified()
    table = list(range(max(mapping) + 1))
    for source, target in mapping.items():
        table[source] = target
    return table


@cache
def _traditional_to_simplified() -> dict[int, int]:
    """OpenCC's Traditional -> Simplified character table, one character to one (its first
    choice), chains resolved so that folding is idempotent ("乾" and "幹" both fold to "干").

    Applied to index and query alike, so "報價單" and "报价单" find each other; the price is
    that the few characters both scripts use in different senses fold together too.
    """
    from importlib.resources import files

    table: dict[int, int] = {}
    text = files("opencc").joinpath("dictionary/TSCharacters.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0].strip() if targets else ""
        if len(source) == 1 and len(target) == 1 and source != target:
            table[ord(source)] = ord(target)
    for key in list(table):
        seen = {key}
        value = table[key]
        while value in table and value not in seen:
            seen.add(value)
            value = table[value]
        table[key] = value
    return {k: v for k, v in table.items() if k != v}


# --- character tables -------------------------------------------------------------

# Blocks whose characters are bigrammed: their letters, digits and marks only
# (the katakana middle dot "・", say, still separates words).
_CJK_BLOCKS = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x3035),  # kana repeat marks
    (0x3038, 0x303C),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3200, 0x33FF),  # Enclosed CJK, CJK compatibility
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFFDC),  # half-width katakana and hangul
    (0x1AFF0, 0x1B16F),  # kana extensions and supplement
    (0x20000, 0x323AF),  # CJK extensions B-H, compatibility supplement
)
# Every code point with a decomposition, a case folding, a combining class or
# mark category lies in planes 0-2 or 14 (so in Unicode 14, which Python 3.11
# ships); scanning only those keeps the one-off table build near 0.1 s. Should a
# later version add one elsewhere, _normalize still maps offsets safely, if coarsely.
_SCANNED = (range(0x0000, 0xD800), range(0xE000, 0x30000), range(0xE0000, 0xE1000))
# Conjoining hangul vowels and trailing consonants compose with the jamo before
# them algorithmically, without an entry in the decomposition table.
_HANGUL_JOINERS = (range(0x1161, 0x1176), range(0x11A8, 0x11C3))


@dataclass(frozen=True, slots=True)
class _Tables:
    token: re.Pattern[str]  # group 1 set: a CJK run; otherwise a word
    unsafe: re.Pattern[str]  # characters that must be folded apart from the text around them
    joins: frozenset[int]  # ... because they may compose or reorder with the one before


def _char_class(codepoints: Iterable[int]) -> str:
    """The inside of a regex character class matching exactly ``codepoints``."""
    out: list[str] = []
    first = prev = -2
    for cp in sorted(set(codepoints)):
        if cp != prev + 1:
            if first >= 0:
                out.append(f"\\U{first:08x}-\\U{prev:08x}")
            first = cp
        prev = cp
    if first >= 0:
        out.append(f"\\U{first:08x}-\\U{prev:08x}")
    return "".join(out)


def _one_of(codepoints: Iterable[int]) -> str:
    """A regex matching one of ``codepoints``, fast for the common BMP characters.

    re matches a class holding astral ranges range by range, but a BMP-only
    class with one bitmap lookup; the astral part sits behind a one-range guard.
    """
    cps = set(codepoints)
    bmp = _char_class(cp for cp in cps if cp <= 0xFFFF)
    astral = _char_class(cp for cp in cps if cp > 0xFFFF)
    if not astral:
        return f"[{bmp}]"
    return f"(?:[{bmp}]|(?=[\\U00010000-\\U0010ffff])[{astral}])"


#: Tables computed ahead for a Unicode version (scripts/make_unicode_tables.py): computing
#: them takes about 0.2 s, paid by every command that searches.
_SHIPPED_TABLES = "data/unicode-tables-{version}.json"


@cache
def _tables() -> _Tables:
    """The tables for the running Python's Unicode database: shipped ones when there are some
    for its version, else computed (see :func:`compute_tables`)."""
    from importlib.resources import files

    shipped = files(__package__).joinpath(_SHIPPED_TABLES.format(version=unicodedata.unidata_version))
    if shipped.is_file():
        data = json.loads(shipped.read_text(encoding="utf-8"))
        return _Tables(token=re.compile(data["token"]), unsafe=re.compile(data["unsafe"]),
                       joins=frozenset(data["joins"]))
    return compute_tables()


def tables_json() -> str:
    """:func:`compute_tables` as the shipped file holds them."""
    tables = compute_tables()
    return json.dumps({"unicode": unicodedata.unidata_version, "token": tables.token.pattern,
                       "unsafe": tables.unsafe.pattern, "joins": sorted(tables.joins)}, indent=0)


def compute_tables() -> _Tables:
    # Derived from the running Python's Unicode database, so that they agree with the
    # normalisation that this Python performs.
    normalize, combining, category = unicodedata.normalize, unicodedata.combining, unicodedata.category
    decomposition = unicodedata.decomposition

    composes_second: set[int] = {cp for r in _HANGUL_JOINERS for cp in r}
    marks: list[int] = []
    changed: list[str] = []  # has a decomposition, a combining class or a case folding
    for r in _SCANNED:
        for cp in r:
            ch = chr(cp)
            if category(ch)[0] == "M":
                marks.append(cp)
            d = decomposition(ch)
            if d:
                changed.append(ch)
                if d[0] != "<" and d.count(" ") == 1:  # canonical pair: the second may compose
                    composes_second.add(int(d.split()[1], 16))
            elif combining(ch) or ch.casefold() != ch or cp in _DROP_IGNORABLE:
                changed.append(ch)

    def joins_previous(ch: str) -> bool:
        return bool(combining(ch)) or ord(ch) in composes_second

    # "Unsafe": folds to other than one character, or may compose or reorder
    # with the character before it (itself, or the first character it folds to,
    # as half-width "ﾞ" folds to a combining voiced mark).
    expands: list[int] = []
    joins: list[int] = list(composes_second)
    for ch in changed:
        if len(_fold_piece(ch)) != 1:
            expands.append(ord(ch))
        nf = normalize("NFKC", ch)
        if joins_previous(ch) or any(x and joins_previous(x[0]) for x in (nf, nf.casefold())):
            joins.append(ord(ch))

    cjk = _char_class(
        cp
        for a, b in _CJK_BLOCKS
        for cp in range(a, min(b, 0x1FFFF) + 1)  # (the ideograph planes are listed whole below)
        if chr(cp).isalnum() or category(chr(cp))[0] == "M"
    ) + "\\U00020000-\\U000323af"
    # A word: a run of letters (\w without digits, "_" and CJK), with any
    # combining marks inside it (Devanagari, Thai, Arabic vowel signs are not
    # \w); or a run of digits. Letters and digits split, so "Proforma2" is
    # found by "proforma" and "PO4500" by "4500" (and still by "PO4500", a phrase).
    letter = f"[^\\W\\d_{cjk}]"
    mark = _one_of(marks)
    return _Tables(
        token=re.compile(f"{letter}+(?:{mark}+{letter}*)*|\\d+|([{cjk}]+)"),
        unsafe=re.compile(_one_of(joins + expands) + _one_of(joins) + "*"),
        joins=frozenset(joins),
    )
