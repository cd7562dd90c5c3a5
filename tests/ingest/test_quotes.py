"""Quote detection over subjects and attachment file names."""

import pytest

from ingest import quote_term
from ingest.quotes import load_quote_words


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Quotation for 500 valves", "quotation"),
        ("RE: your QUOTE", "quote"),
        ("Updated price list 2024", "price list"),
        ("Pricelist_2024.xlsx", "price list"),
        ("Price-List.pdf", "price list"),
        ("PI-2024-001.pdf", "PI"),
        ("PI No. 2024/17", "PI"),
        ("pi_acme.pdf", "PI"),
        ("附件是PI，请确认", "PI"),
        ("Proforma Invoice ACME", "pro forma invoice"),
        ("Pro-Forma for order 12", "pro forma"),
        ("Quotation_ACME.pdf", "quotation"),
        ("关于阀门的报价", "报价"),
        ("报价单-2024.xlsx", "报价单"),
        ("询价：不锈钢管", "询价"),
        ("形式发票", "形式发票"),
        ("最新价格表", "价格表"),
        ("Our best offer", "offer"),
    ],
)
def test_quote_term_finds_quotes(text, term):
    assert quote_term(text) == term


@pytest.mark.parametrize(
    "text",
    ["", "pipe fittings", "API access", "Pipeline meeting", "quoted-printable", "Happy new year", "PIN code", "Epic"],
)
def test_quote_term_ignores_other_text(text):
    assert quote_term(text) is None


def test_data_file_skips_comments_and_blank_lines():
    words = load_quote_words()
    assert "PI" in words and "报价" in words
    assert not any(word.startswith("#") or not word.strip() for word in words)
