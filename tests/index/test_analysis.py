"""Tests for index.analysis: folding, word and CJK bigram tokens, offsets, and a real Whoosh index."""

from __future__ import annotations

import pickle
import re
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import highlight
from whoosh import index as whoosh_index
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import QueryParser
from whoosh.query import Phrase, Term
from whoosh.searching import Searcher

from index.analysis import TextTokenizer, index_tokens, iter_tokens, normalize_text, stem, text_analyzer

DOCS = {
    "en": (
        "Dear Alice, the revised quotation for 12,500 units of part ABC123 is attached. "
        "Questions to alice.w@acme-corp.co.uk please. To be or not to be. Straße 5, ΛΌΓΟΣ."
    ),
    "zh": "您好！附件是贵司询价的报价单（编号：Q-2024-118），单价USD 3.20，FOB上海，有效期至6月30日。",
    "zh_long": (
        "关于贵司三月份订单的交货安排，我们已与工厂确认，首批货物将于四月十日前发运，"
        "其余部分预计四月底完成。如需调整包装规格或唛头内容，请在本周五之前告知，以免影响生产进度。"
    ),
    "zh_spaces": "您好 附件 是 贵司 询价 的 最新 报价单 请 查收 谢谢",
    # 报价 and 价单 both occur, but never as 报价单: the phrase-precision case.
    "zh_apart": "报价已经发出，价单另附",
    # Big5-era Traditional Chinese, decoded from Big5: full-width digits and colon,
    # ideographic space, a small comma, and 兀 from Big5's duplicate code C94A,
    # which decodes to the compatibility ideograph U+FA0C.
    "zh_tw": (
        "敬啟者：茲寄上貴公司詢價之報價單乙份﹐單價新臺幣１２５元。\u3000突".encode("big5")
        + b"\xc9\x4a"
        + "之處敬請見諒".encode("big5")
    ).decode("big5"),
    "ja": "お世話になっております。カタログとｶﾞｲﾄﾞブックを送付いたします。㈱東洋と㍿",
    "ko": "견적서를 첨부합니다 감사합니다",
    "mixed": "PI报价单USD 1200 for Model-X 型号ＺＹ９ 交期 ASAP",
    "fullwidth": "ＡＢＣ１２３ ＨＥＬＬＯ Ｗｏｒｌｄ，ＴＥＳＴ！",
    "expanded": "㈱北京 ﬁnance №5 ½ inch 报价单 Ｑ３",
}


def _tokens(text: str, mode: str = "query", **kwargs: object) -> list[tuple[str, int, int, int]]:
    return [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in text_analyzer()(text, positions=True, chars=True, mode=mode, **kwargs)
    ]


def _texts(text: str, mode: str = "query") -> list[str]:
    return [t[0] for t in _tokens(text, mode)]


# --- normalisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＡＢＣ１２３", "abc123"),
        ("报价，单价：１２，５００！", "报价,单价:12,500!"),
        ("Hello WORLD", "hello world"),
        ("Straße ΛΌΓΟΣ", "strasse λόγοσ"),
        ("㈱ ﬁne ㍿", "(株) fine 株式会社"),
        ("ｶﾞｲﾄﾞ", "ガイド"),
        ("cafe\u0301", "café"),
        ("infor\u00admation zero\u200bwidth", "information zerowidth"),
        ("\ufa0c", "兀"),
    ],
)
def test_normalize_text_folds_width_compatibility_and_case(raw: str, folded: str) -> None:
    assert normalize_text(raw) == folded
    assert normalize_text(folded) == folded


def test_normalize_text_matches_what_the_analyzer_indexes() -> None:
    for text in DOCS.values():
        assert " ".join(_texts(text)) == " ".join(_texts(normalize_text(text)))


# --- tokens -------------------------------------------------------------------------


def test_words_split_on_punctuation_and_keep_one_letter_tokens() -> None:
    assert _texts("alice.w@acme-corp.co.uk") == ["alice", "w", "acme", "corp", "co", "uk"]
    assert _texts("12,500 units, first_last; I/O") == ["12", "500", "units", "first", "last", "i", "o"]


def test_no_stop_words_and_stems_only_where_asked() -> None:
    assert _texts("To be or not to be, the quotations") == [
        "to", "be", "or", "not", "to", "be", "the", "quotations",
    ]  # fmt: skip
    stemmed = [(t, pos) for t, pos, _, _ in iter_tokens("The quotations: 报价 invoices, fob PO4500", stems=True)]
    assert stemmed == [("the", 0), ("quotations", 1), ("~quotat", 1), ("报价", 2), ("报", 2), ("价", 2),
                       ("invoices", 3), ("~invoic", 3), ("fob", 4), ("po", 5), ("4500", 6)]


def test_stem_is_snowballs_english_stem_of_ascii_words_only() -> None:
    assert [stem(w) for w in ("invoices", "invoice", "quotations", "happy", "fob", "über", "po4500", "ab")] == [
        "invoic", "invoic", "quotat", "happi", "fob", None, None, None]


def test_combining_marks_stay_inside_words() -> None:
    assert _texts("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_cjk_run_gives_overlapping_bigrams_at_consecutive_positions() -> None:
    assert _tokens("报价单") == [("报价", 0, 0, 2), ("价单", 1, 1, 3)]
    assert _tokens("报") == [("报", 0, 0, 1)]
    assert _texts("PI报价") == ["pi", "报价"]
    assert _texts("型号ZY9 交期") == ["型号", "zy", "9", "交期"]
    assert _texts("ジョン・スミス") == ["ジョ", "ョン", "スミ", "ミス"]  # the middle dot separates


def test_query_positions_are_consecutive_across_words_and_bigrams() -> None:
    tokens = _tokens("PI报价单USD 1200")
    assert [t[0] for t in tokens] == ["pi", "报价", "价单", "usd", "1200"]
    assert [t[1] for t in tokens] == [0, 1, 2, 3, 4]


def test_indexing_adds_unigrams_without_moving_the_bigrams() -> None:
    assert _tokens("报价单USD", mode="index") == [
        ("报价", 0, 0, 2), ("报", 0, 0, 1),
        ("价单", 1, 1, 3), ("价", 1, 1, 2),
        ("单", 1, 2, 3),  # shares the last bigram's position: next to "usd"
        ("usd", 2, 3, 6),
    ]  # fmt: skip
    # A repeated last character already holds that position.
    assert _tokens("谢谢", mode="index") == [("谢谢", 0, 0, 2), ("谢", 0, 0, 1)]
    # Bigrams sit where a query puts them.
    assert [t for t in _tokens("报价单USD", mode="index") if len(t[0]) != 1] == _tokens("报价单USD")


def test_unigrams_can_be_turned_off() -> None:
    analyzer = TextTokenizer(cjk_unigrams=False)
    assert [t.text for t in analyzer("报价单", mode="index")] == ["报价", "价单"]


def test_offsets_point_into_the_original_text_where_folding_changes_length() -> None:
    text = DOCS["expanded"]
    got = [(t, text[start:end]) for t, _, start, end in _tokens(text, mode="index")]
    assert got == [
        ("株", "㈱"),
        ("北京", "北京"), ("北", "北"), ("京", "京"),
        ("finance", "ﬁnance"),
        ("no", "№"), ("5", "5"),
        ("1", "½"), ("2", "½"), ("inch", "inch"),
        ("报价", "报价"), ("报", "报"), ("价单", "价单"), ("价", "价"), ("单", "单"),
        ("q", "Ｑ"), ("3", "３"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "ｶﾞｲﾄﾞブック",  # half-width kana + voiced mark fold to one character
        "㍿テスト",  # one character folds to four
        "cafe\u0301 naïve",  # decomposed e + accent fold to one character
        "報\u00ad價\u200b單",  # ignorables vanish inside a CJK run
        "ＡＢＣ，ＤＥＦ",
        "İstanbul ǅemal Straße",  # case folding that changes length
    ],
)
def test_every_token_covers_original_text_that_folds_to_contain_it(text: str) -> None:
    tokens = _tokens(text, mode="index")
    assert tokens
    for token, _, start, end in tokens:
        assert 0 <= start < end <= len(text)
        assert token in normalize_text(text[start:end]), (token, text[start:end])


def test_kana_offsets_follow_the_original_half_width_characters() -> None:
    text = "ｶﾞｲﾄﾞ"
    assert [(t, text[s:e]) for t, _, s, e in _tokens(text)] == [("ガイ", "ｶﾞｲ"), ("イド", "ｲﾄﾞ")]


def test_start_pos_start_char_and_keeporiginal() -> None:
    tokens = list(
        (t.text, t.pos, t.startchar, t.endchar, t.original)
        for t in text_analyzer()(
            "㈱ Acme", positions=True, chars=True, keeporiginal=True, start_pos=10, start_char=100
        )
    )
    assert tokens == [("株", 10, 100, 101, "㈱"), ("acme", 11, 102, 106, "Acme")]


def test_untokenized_value_is_folded_whole() -> None:
    # Whoosh asks for this for wildcard, prefix and range terms.
    assert [t.text for t in text_analyzer()("ＡＣＭＥ-Corp", tokenize=False)] == ["acme-corp"]


def test_analyzer_pickles_as_whoosh_needs() -> None:
    analyzer = text_analyzer()
    restored = pickle.loads(pickle.dumps(analyzer))
    assert restored == analyzer
    assert restored[0] == TextTokenizer() != TextTokenizer(cjk_unigrams=False)
    assert [t.text for t in restored("报价单")] == ["报价", "价单"]


# --- a real Whoosh index --------------------------------------------------------------


def _schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        body=TEXT(analyzer=text_analyzer(), stored=True, multitoken_query="phrase"),
    )


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("whoosh"))
    ix = whoosh_index.create_in(path, _schema())
    with ix.writer() as writer:
        for doc_id, text in DOCS.items():
            writer.add_document(id=doc_id, body=text)
    return path


@pytest.fixture()
def searcher(index_dir: str) -> Iterator[Searcher]:
    # Reopened from disk: the schema, analyzer included, comes back from the pickle.
    ix = whoosh_index.open_dir(index_dir)
    with ix.searcher() as s:
        yield s


def _hits(searcher: Searcher, query: str) -> set[str]:
    parsed = QueryParser("body", searcher.schema).parse(query)
    return {hit["id"] for hit in searcher.search(parsed, limit=None)}


def test_query_parser_turns_a_cjk_word_into_a_phrase_of_bigrams(searcher: Searcher) -> None:
    parser = QueryParser("body", searcher.schema)
    phrase = parser.parse("报价单")
    assert isinstance(phrase, Phrase) and phrase.words == ["报价", "价单"]
    assert parser.parse("报价") == Term("body", "报价")
    assert parser.parse("报") == Term("body", "报")


def _cjk_letter(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(
        (
            "CJK UNIFIED IDEOGRAPH",
            "CJK COMPATIBILITY IDEOGRAPH",
            "HIRAGANA LETTER",
            "KATAKANA LETTER",
            "HALFWIDTH KATAKANA LETTER",
            "KATAKANA-HIRAGANA PROLONGED",
            "HANGUL SYLLABLE",
        )
    )


def _splits_a_letter(text: str, end: int) -> bool:
    # A substring ending before a voiced-sound mark would cut "ﾄﾞ" (one letter) in two.
    if end == len(text):
        return False
    return "VOICED SOUND MARK" in unicodedata.name(text[end], "") or unicodedata.combining(text[end]) > 0


def test_every_cjk_substring_of_two_to_six_characters_finds_its_document(searcher: Searcher) -> None:
    misses = []
    tried = 0
    for doc_id, text in DOCS.items():
        for length in range(2, 7):
            for start in range(len(text) - length + 1):
                sub = text[start : start + length]
                if all(_cjk_letter(ch) for ch in sub) and not _splits_a_letter(text, start + length):
                    tried += 1
                    if doc_id not in _hits(searcher, sub):
                        misses.append((doc_id, sub))
    assert misses == []
    assert tried > 500  # the sample really exercises the guarantee


def test_every_single_cjk_character_finds_its_document(searcher: Searcher) -> None:
    misses = [
        (doc_id, ch)
        for doc_id, text in DOCS.items()
        for i, ch in enumerate(text)
        if _cjk_letter(ch) and not _splits_a_letter(text, i + 1) and doc_id not in _hits(searcher, ch)
    ]
    assert misses == []


def test_cjk_substrings_across_punctuation_and_words_find_their_document(searcher: Searcher) -> None:
    assert "zh" in _hits(searcher, '"报价单（编号"')
    assert "mixed" in _hits(searcher, "单USD")  # a CJK tail next to a word
    assert "mixed" in _hits(searcher, "PI报")


def test_phrase_needs_the_bigrams_contiguous(searcher: Searcher) -> None:
    assert "zh_apart" in _hits(searcher, "报价") & _hits(searcher, "价单")
    # Traditional and Simplified fold together: "價單" is "价单".
    assert _hits(searcher, "报价单") == {"zh", "zh_spaces", "mixed", "expanded", "zh_tw"}
    everywhere = {"zh", "zh_spaces", "mixed", "expanded", "zh_tw", "zh_apart"}
    assert _hits(searcher, "價單") == _hits(searcher, "价单") == everywhere
    assert _hits(searcher, "报价单另附") == set()


def test_chinese_and_english_in_one_query(searcher: Searcher) -> None:
    assert _hits(searcher, "报价单 USD") == {"zh", "mixed"}  # two words: AND
    assert _hits(searcher, "报价单USD") == {"mixed"}  # one word: a phrase
    assert _hits(searcher, "型号ZY9") == {"mixed"}


def test_full_width_and_half_width_match_both_ways(searcher: Searcher) -> None:
    assert _hits(searcher, "ＡＢＣ１２３") == {"en", "fullwidth"}
    assert _hits(searcher, "abc123") == {"en", "fullwidth"}
    assert _hits(searcher, "Hello") == {"fullwidth"}
    assert _hits(searcher, "单价新台币125元") == {"zh_tw"}  # simplified finds traditional ...
    assert _hits(searcher, "單價新臺幣125元") == {"zh_tw"}  # ... and full-width digits fold
    assert "\ufa0c" in DOCS["zh_tw"]
    assert _hits(searcher, "突\u5140") == {"zh_tw"}  # the unified ideograph finds Big5's U+FA0C


def test_case_insensitive(searcher: Searcher) -> None:
    assert _hits(searcher, "QUOTATION") == _hits(searcher, "Quotation") == {"en"}
    assert _hits(searcher, "strasse") == _hits(searcher, "STRASSE") == {"en"}
    assert _hits(searcher, "λόγος") == {"en"}  # final sigma folds too


def test_email_address_and_its_parts(searcher: Searcher) -> None:
    for query in ("alice.w@acme-corp.co.uk", "acme", "acme-corp", "corp.co.uk", "ALICE.W"):
        assert _hits(searcher, query) == {"en"}, query
    assert _hits(searcher, "corp-acme") == set()


def test_phrase_of_stop_words(searcher: Searcher) -> None:
    assert _hits(searcher, '"to be or not to be"') == {"en"}


def test_compatibility_characters_match_their_expansion(searcher: Searcher) -> None:
    assert _hits(searcher, "株式会社") == {"ja"}  # ㍿
    assert "ja" in _hits(searcher, "株")  # ㈱
    assert _hits(searcher, "finance") == {"expanded"}  # ﬁnance
    assert _hits(searcher, "ガイド") == {"ja"}  # ｶﾞｲﾄﾞ


def _marked(snippet: str) -> list[str]:
    return re.findall(r"<b[^>]*>(.*?)</b>", snippet)


def _plain(snippet: str) -> str:
    return re.sub(r"<[^>]+>", "", snippet)


@pytest.mark.parametrize(
    ("query", "doc_id", "expected"),
    [
        ("报价单", "zh", "报价单"),
        ("报价单", "expanded", "报价单"),  # after ㈱, ﬁ, № and ½, which fold longer
        ("價單", "zh_tw", "價單"),
        ("价", "zh_apart", "价"),  # one character inside longer runs
        ("finance", "expanded", "ﬁnance"),
        ("ガイド", "ja", "ｶﾞｲﾄﾞ"),
    ],
)
def test_highlighted_snippet_marks_the_original_text(
    searcher: Searcher, query: str, doc_id: str, expected: str
) -> None:
    parsed = QueryParser("body", searcher.schema).parse(query)
    results = searcher.search(parsed, limit=None, terms=True)
    results.fragmenter = highlight.ContextFragmenter(surround=10)
    hit = next(h for h in results if h["id"] == doc_id)
    snippet = hit.highlights("body")
    assert expected in _plain(snippet)
    marked = _marked(snippet)
    assert marked and all(m in expected for m in marked)
    # Overlapping bigram marks may be split by Whoosh's formatter, but together
    # they cover the match from its first character.
    assert expected.startswith(marked[0])


@pytest.mark.parametrize("query", ["ＡＢＣ１２３", "报价单 USD", "Straße", "ｶﾞｲﾄﾞ", "價單"])
def test_query_folded_before_parsing_finds_the_same(searcher: Searcher, query: str) -> None:
    # Search folds the whole query string with normalize_text before parsing it.
    assert _hits(searcher, normalize_text(query)) == _hits(searcher, query) != set()



def test_letters_and_digits_split_so_part_numbers_are_found_by_either_part(tmp_path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), _schema())
    with ix.writer() as writer:
        writer.add_document(id="a", body="SM134 Proforma2.xls for PO4500-2291")
        writer.add_document(id="b", body="Proforma invoice")
    with ix.searcher() as s:
        assert _hits(s, "proforma") == {"a", "b"}
        assert _hits(s, "4500") == {"a"}
        assert _hits(s, "PO4500") == {"a"}
        assert _hits(s, "SM134") == {"a"}
        assert _hits(s, "SM135") == set()


# --- IndexPositions: the fast index-mode path writes exactly what Whoosh's Positions would -----

_POSTING_TEXTS = [
    "",
    "Hello, World! hello world",
    "报价单报价单 USD报价 谢谢谢谢 单",
    "報價單 Proforma2 PO4500 ＡＢＣ１２３ Straße ﬁle soft\u00adhyphen",
    "한국어 텍스트 日本語のテキスト カタカナ ・ 中文 a 中 b",
    "Re: 回复：关于 FOB Ningbo 的报价 (USD 12.50) — e-mail anna.li@northwind-trading.com",
    "\u0915\u093f\u0924\u093e\u092c e\u0301t\u00e9 \U00020000\U00020001 x",
]


@pytest.mark.parametrize("stems", [True, False])
@pytest.mark.parametrize("unigrams", [True, False])
@pytest.mark.parametrize("text", [*_POSTING_TEXTS, "The invoices and quotations, invoice quotation happily"])
def test_index_positions_match_whoosh_positions(text: str, unigrams: bool, stems: bool):
    from whoosh.analysis import CompositeAnalyzer
    from whoosh.formats import Positions

    from index.analysis import IndexPositions, TextTokenizer

    analyzer = CompositeAnalyzer(TextTokenizer(cjk_unigrams=unigrams, stems=stems))
    expected = list(Positions(field_boost=2.0).word_values(text, analyzer, mode="index"))
    assert list(IndexPositions(field_boost=2.0).word_values(text, analyzer, mode="index")) == expected


# --- the shipped Unicode tables -------------------------------------------------------


def test_shipped_unicode_tables_equal_a_fresh_computation():
    """Commands load the tables shipped for this Python's Unicode version instead of computing
    them; a stale or hand-edited file would change what every token is."""
    import json
    import unicodedata
    from importlib.resources import files

    from index.analysis import _SHIPPED_TABLES, _tables, compute_tables, tables_json

    shipped = files("index").joinpath(_SHIPPED_TABLES.format(version=unicodedata.unidata_version))
    if not shipped.is_file():
        pytest.skip(f"no tables shipped for Unicode {unicodedata.unidata_version}: computed at run time")
    assert json.loads(shipped.read_text(encoding="utf-8")) == json.loads(tables_json())
    assert _tables() == compute_tables()


# The index side's token lists (what tantivy and the postgres engine take pre-tokenized) are built
# by a faster loop than iter_tokens; they must stay the very tokens iter_tokens gives, or a query
# analysed by iter_tokens would miss what the index holds.
_MIXED = st.text(alphabet=st.sampled_from(list("ab éE\u0301ｘ１2_.@-报价单謝謝谢USD\n ßﬁ〇ア한𠀀")), max_size=60)


@settings(max_examples=400, deadline=None)
@given(text=_MIXED | st.text(max_size=40), stems=st.booleans())
def test_index_tokens_are_exactly_iter_tokens(text: str, stems: bool) -> None:
    expected = [(term, pos) for term, pos, _, _ in iter_tokens(text, offsets=False, stems=stems)]
    terms, positions = index_tokens(text, stems=stems)
    assert list(zip(terms, positions, strict=True)) == expected


def test_index_tokens_of_a_mixed_line() -> None:
    terms, positions = index_tokens("報價單 invoices 谢谢", stems=True)
    assert list(zip(terms, positions, strict=True)) == [
        ("报价", 0), ("报", 0), ("价单", 1), ("价", 1), ("单", 1),
        ("invoices", 2), ("~invoic", 2), ("谢谢", 3), ("谢", 3)]
