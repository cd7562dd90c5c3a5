"""Tests for ingest.parse and ingest.charsets: real message bytes in, ParsedMessage out."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest.charsets import codec_for, decode_bytes
from ingest.errors import ParseError
from ingest.message import Address, Attachment, ParsedMessage, Participant
from ingest.parse import MAX_TEXT_CHARS, parse_message

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def load(name: str) -> ParsedMessage:
    return parse_message((DATA / name).read_bytes())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- encoded-word subjects and declared body charsets ----------------------------


def test_gb2312_subject_split_mid_character_over_two_encoded_words() -> None:
    msg = load("subject_gb2312.eml")
    assert msg.subject == "关于合同报价的确认"
    assert msg.sender == Address("王小明", "wang@example.cn")
    # 喆 is GBK, not GB2312: the gb2312 label is decoded with the GB18030 superset.
    assert msg.text == "王经理：\n附件是本月的报价单，请查收。\n王喆"
    assert msg.defects == ()


def test_big5_subject_and_body() -> None:
    msg = load("subject_big5.eml")
    assert msg.subject == "會議紀錄與報價單"
    assert msg.text == "您好，\n請參閱附件中的會議紀錄。"


def test_iso2022jp_subject_display_name_and_body() -> None:
    msg = load("subject_iso2022jp.eml")
    assert msg.subject == "見積書の送付について"
    assert msg.sender == Address("山田太郎", "yamada@example.jp")
    assert msg.text == "山田様\nお世話になっております。\n見積書を送付いたします。"


def test_koi8r_q_encoded_subject_and_quoted_printable_body() -> None:
    msg = load("subject_koi8r.eml")
    assert msg.subject == "Счёт на оплату"
    assert msg.text == "Добрый день!\nСчёт во вложении."


def test_latin1_labelled_encoded_word_holding_gb2312_bytes() -> None:
    msg = load("latin1_label_gb_bytes.eml")
    assert msg.subject == "Fw: 样品已寄出"
    assert any("iso-8859-1" in d and "gb18030" in d for d in msg.defects)


def test_encoded_word_wrapped_without_folding_whitespace() -> None:
    msg = load("broken_header_wrap.eml")
    assert msg.subject == "请问有没有关于新产品的价格表和交货期的详细说明文件"
    # The headers after the broken line are still headers, not body.
    assert msg.sender == Address("Sun", "sun@example.cn")
    assert msg.message_id == "wrapped@example.cn"
    assert msg.text == "Body text."


# --- undeclared and mislabelled 8-bit text -----------------------------------------


def test_raw_gb2312_body_without_any_charset_is_detected() -> None:
    msg = load("raw_gb2312_body.eml")
    assert msg.text == (
        "李先生：\n您好！关于上周讨论的报价，我们已经更新了价格，请查看附件后尽快回复。\n谢谢！"
    )
    assert "text/plain part: undeclared 8-bit text decoded as gb18030" in msg.defects


def test_raw_gb2312_bytes_in_subject_and_display_name() -> None:
    msg = load("raw_gb2312_subject.eml")
    assert msg.subject == "关于报价单的问题"
    assert msg.sender == Address("张三", "zhang@example.cn")


def test_unknown_and_damaged_charset_labels() -> None:
    msg = load("bad_charset_labels.eml")
    # x-unknown on UTF-8; charset="charset="GB2312""; cp1252 bytes labelled iso-8859-1.
    assert msg.text == "Preis: 12 € pro Stück\n\n数量：五百件\n\nCafé crème, 3\xa0€"
    assert "text/plain part: unknown charset 'x-unknown' decoded as utf_8" in msg.defects


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("EUC-CN", "gb18030"),
        ("x-gbk", "gb18030"),
        ("gbk", "gb18030"),
        ("gb2312_charset", "gb18030"),
        ("134", "gb18030"),
        ('"GB2312"', "gb18030"),
        ("big5", "big5hkscs"),
        ("ks_c_5601-1987", "cp949"),
        ("utf8", "utf_8"),
        ("windows-1251", "cp1251"),
        ("iso-8859-8-i", "iso8859_8"),
        ("x-unknown", None),
        ("invalid-charset", None),
        ("", None),
        ("base64", None),  # a codec, but not a text encoding
        ("no-such-charset", None),
    ],
)
def test_charset_labels(label: str, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_empty_charset_label_on_gb_bytes_decodes_as_gb18030() -> None:
    decoded = decode_bytes("请查收报价单".encode("gb2312"), "")
    assert (decoded.text, decoded.charset) == ("请查收报价单", "gb18030")


def test_latin1_label_on_utf8_bytes_decodes_as_utf8() -> None:
    decoded = decode_bytes("Grüße aus Köln".encode("utf-8"), "iso-8859-1")
    assert (decoded.text, decoded.charset) == ("Grüße aus Köln", "utf_8")
    assert decoded.note is not None


def test_us_ascii_label_on_8bit_bytes_decodes_as_cp1252() -> None:
    decoded = decode_bytes("Café – 5 €".encode("cp1252"), "us-ascii")
    assert decoded.text == "Café – 5 €"


def test_undecodable_bytes_never_raise() -> None:
    decoded = decode_bytes(bytes(range(128, 256)) * 3, "utf-16")
    assert isinstance(decoded.text, str) and decoded.text


# --- structure ------------------------------------------------------------------


def test_declared_multipart_without_boundary_still_yields_text() -> None:
    msg = load("multipart_no_boundary.eml")
    assert msg.subject == "发货通知"
    assert msg.text == "货物已于今天发出，预计三天后到达。\n请注意查收。"
    assert "multipart boundary not found in body; body read as text" in msg.defects


def test_nested_multipart_reusing_the_boundary() -> None:
    msg = load("nested_same_boundary.eml")
    assert msg.subject == "Same boundary twice"
    assert msg.text == "The inner body."


def test_html_the_stdlib_parser_rejects_still_yields_text() -> None:
    raw = b"From: a@example.com\nContent-Type: text/html\n\n<p>Price &amp; terms</p><![foo bar<div>attached</div>\n"
    msg = parse_message(raw)
    assert msg.is_html_only
    assert msg.text == "Price & terms\nattached"


def test_html_only_message_is_converted_to_text() -> None:
    msg = load("html_only.eml")
    assert msg.is_html_only
    assert msg.text == (
        "Dear customer,\n\nOur new price is 10 € per unit.\nValid until May.\n\n"
        "Item A\n\nItem B\n\nKind regards,\nAna Müller"
    )


def test_alternative_with_empty_plain_part_uses_html() -> None:
    msg = load("alternative_empty_plain.eml")
    assert msg.is_html_only
    assert msg.text == "Order 1001 is confirmed.\n\nThank you."


def test_alternative_with_plain_part_uses_plain() -> None:
    msg = load("attachments_rfc2231.eml")
    assert not msg.is_html_only
    assert msg.text == "Please find the documents attached."


def test_forwarded_message_text_and_attachments_are_included() -> None:
    msg = load("forwarded_rfc822.eml")
    assert msg.text == (
        "Please handle the complaint below.\n\n"
        "---------- Forwarded message ----------\n"
        "From: Zoë Client <zoe@customer.example>\n"
        "Date: Sun, 27 Mar 2005 20:00:00 +0000\n"
        "Subject: Beschwerde über Lieferung\n"
        "To: support@example.com\n\n"
        "The delivery was late and the box was damaged."
    )
    assert msg.attachments == (Attachment("box.jpg", "image/jpeg", 64),)
    # The forwarded message's own headers are not the outer message's.
    assert msg.subject == "Fwd: Complaint"
    assert msg.addresses("from") == (Address("", "manager@example.com"),)


def test_attachments_names_types_and_sizes() -> None:
    msg = load("attachments_rfc2231.eml")
    assert msg.attachments == (
        Attachment("报价单.pdf", "application/pdf", 9 + 256 * 4),  # RFC 2231 utf-8
        Attachment("Preisliste für März.xls", "application/vnd.ms-excel", 10),  # RFC 2231 continuations
        Attachment("合同.doc", "application/msword", 8),  # RFC 2047 in name=
        Attachment("passwd", "application/octet-stream", 10),  # ../../ and a control character
        Attachment("evil.exe", "application/octet-stream", 2),  # C:\Windows\
        Attachment("logo.png", "image/png", 32),  # inline image with a name
        Attachment("", "text/csv", 3),  # attachment without a name
    )


def test_deep_nesting_does_not_blow_up() -> None:
    depth = 1200
    raw = b"From: a@example.com\nSubject: deep\nMIME-Version: 1.0\n" + b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth)
    ) + b"Content-Type: text/plain\n\nhello\n" + b"".join(b"--b%d--\n" % i for i in reversed(range(depth)))
    msg = parse_message(raw)
    assert msg.subject == "deep"
    assert msg.sender == Address("", "a@example.com")
    # Read partially: the headers, and the body's text as it stands (issue 18.3).
    assert msg.partial == "MIME nesting deeper than Python's parser can follow"
    assert "hello" in msg.text.splitlines()


def test_text_is_capped() -> None:
    raw = b"From: a@example.com\nSubject: long\n\n" + b"x" * (MAX_TEXT_CHARS + 100)
    msg = parse_message(raw)
    assert len(msg.text) == MAX_TEXT_CHARS
    assert f"text truncated at {MAX_TEXT_CHARS} characters" in msg.defects


def test_line_endings_normalised_and_nul_removed() -> None:
    raw = b"From: a@example.com\r\nSubject: crlf\r\n\r\nline one\r\nline\x00 two\rline three\r\n"
    assert parse_message(raw).text == "line one\nline two\nline three"


# --- identifiers and dates ----------------------------------------------------------


def test_message_id_missing_and_threading_headers() -> None:
    msg = load("no_message_id.eml")
    assert msg.message_id is None
    assert msg.in_reply_to == "attachments@example.com"
    assert msg.references == ("first@example.com", "attachments@example.com")


def test_message_id_without_brackets() -> None:
    assert load("subject_gb2312.eml").message_id == "gb2312-subject@example.cn"


def test_date_is_utc_with_original_offset() -> None:
    msg = load("subject_gb2312.eml")
    assert (msg.date, msg.date_offset, msg.date_source) == (utc(2005, 3, 14, 1, 30), 480, "date")


def test_broken_date_falls_back_to_earliest_received() -> None:
    msg = load("broken_date_received.eml")
    # 11:00 +0200 (09:00 UTC) is earlier than 10:05 +0000.
    assert (msg.date, msg.date_offset, msg.date_source) == (utc(2005, 3, 25, 9, 0), 120, "received")
    assert any(d.startswith("unusable Date header") for d in msg.defects)


def test_no_date_at_all() -> None:
    msg = load("no_date.eml")
    assert (msg.date, msg.date_offset, msg.date_source) == (None, None, None)


def test_date_without_zone_is_taken_as_utc() -> None:
    msg = parse_message(b"From: a@example.com\nDate: 3 Apr 2005 10:20:30\n\nx\n")
    assert (msg.date, msg.date_offset, msg.date_source) == (utc(2005, 4, 3, 10, 20, 30), 0, "date")
    assert "Date has no time zone; UTC assumed" in msg.defects


@pytest.mark.parametrize("year", [b"1969", b"2999"])
def test_absurd_year_is_rejected(year: bytes) -> None:
    raw = (
        b"Received: from x by y; Mon, 4 Apr 2005 10:00:00 +0000\n"
        b"From: a@example.com\nDate: Mon, 4 Apr " + year + b" 10:00:00 +0000\n\nx\n"
    )
    msg = parse_message(raw)
    assert (msg.date, msg.date_source) == (utc(2005, 4, 4, 10, 0), "received")


# --- addresses ------------------------------------------------------------------


def test_address_roles_groups_and_malformed_addresses() -> None:
    msg = load("group_address.eml")
    assert msg.participants == (
        Participant("from", Address("Alice Example", "alice@example.com")),
        Participant("from", Address("", "bob@example.org")),
        Participant("sender", Address("Assistant", "assistant@example.com")),
        Participant("reply_to", Address("", "replies@example.com")),
        Participant("to", Address("", "carol@example.com")),
        Participant("to", Address("Doe, Dan", "dan@example.net")),
        Participant("to", Address("", "erin@example.com")),
        Participant("cc", Address("Frank", "frank@example.com")),
        Participant("bcc", Address("", "grace@example.com")),
    )
    assert any(d.startswith("Cc: dropped malformed address") for d in msg.defects)


def test_idna_domain_lower_case_and_decoded_display_name() -> None:
    msg = load("idna_domain.eml")
    assert msg.sender == Address("Jürgen Müller", "juergen@xn--bcher-kva.example")
    assert msg.addresses("to") == (Address("", "sales@example.com"),)
    assert msg.text == "Grüße"


# --- what is and is not a message -------------------------------------------------


def test_envelope_line_is_skipped() -> None:
    msg = load("envelope_line.eml")
    assert msg.subject == "With envelope"
    assert msg.sender == Address("Sender", "sender@example.org")
    assert msg.text == "Envelope line before the headers."


def test_utf8_bom_before_envelope_is_skipped() -> None:
    msg = parse_message(b"\xef\xbb\xbf" + (DATA / "envelope_line.eml").read_bytes())
    assert msg.subject == "With envelope"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("not_a_message.txt", "no header block"),
        ("outlook_msg_header.bin", "binary data"),
    ],
)
def test_not_a_message_raises(name: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        load(name)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty input"),
        (b" \r\n\r\n", "empty input"),
        (b"From someone@example.com  Thu Aug 22 12:36:23 2002\n", "only an mbox envelope line"),
        (b"Subject: x\nX-Junk: a\x00b\n\nbody\n", "NUL bytes in the header block"),
    ],
)
def test_empty_and_binary_input_raise(raw: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_message(raw)


# --- the shared corpus ---------------------------------------------------------------

# Ideographs, CJK punctuation and fullwidth forms, and the symbol rows of GB2312
# (● ★ ※ …) that Chinese subjects are decorated with.
_CJK = re.compile(r"[\u2460-\u27bf\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_MOJIBAKE = re.compile(r"[\u00c0-\u00ff]{2}")
# Files the corpus README names as not messages, plus mime4j's second no-header sample.
_NOT_MESSAGES = {
    "mime_edge/paperless/paperless/tests/samples/mail/broken.eml",
    "mime_edge/mime4j/malformedHeader-noheader.msg.eml",
    "mime_edge/mime4j/malformedHeaderStartsBody-noheader.msg.eml",
    "mime_edge/spamscope/mail_outlook_1",
}


def _subject_has_non_ascii(raw: bytes) -> bool:
    match = re.search(rb"^Subject:(.*(?:\r?\n[ \t].*)*)", raw, re.M | re.I)
    return match is not None and (b"=?" in match.group(1) or not match.group(1).isascii())


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_corpus_chinese_ham_decodes_to_chinese() -> None:
    files = sorted((CORPUS / "chinese" / "trec06c" / "ham").iterdir())
    assert len(files) > 1000
    text_ok = clean = subject_expected = subject_ok = 0
    for path in files:
        raw = path.read_bytes()
        msg = parse_message(raw)
        text_ok += bool(_CJK.search(msg.text))
        both = msg.subject + msg.text
        clean += "\ufffd" not in both and not _MOJIBAKE.search(both)
        # About 5% of these subjects are plain English on the wire; only the
        # ones that carry non-ASCII can be expected to decode to Chinese.
        if _subject_has_non_ascii(raw):
            subject_expected += 1
            subject_ok += bool(_CJK.search(msg.subject))
    assert text_ok >= 0.99 * len(files)
    assert clean >= 0.99 * len(files)
    assert subject_ok >= 0.99 * subject_expected


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_corpus_mime_edge_parses_or_raises_parse_error() -> None:
    failed: set[str] = set()
    count = 0
    for path in sorted((CORPUS / "mime_edge").rglob("*")):
        if not path.is_file():
            continue
        count += 1
        try:
            assert isinstance(parse_message(path.read_bytes()), ParsedMessage)
        except ParseError:
            failed.add(path.relative_to(CORPUS).as_posix())
    assert count >= 700
    assert failed == _NOT_MESSAGES


_SAMPLE = DATA.parents[1] / "sample" / "mailbox"
_PARITY_FILES = sorted([*DATA.rglob("*.eml"), *_SAMPLE.glob("*/cur/*"), *_SAMPLE.glob("*/new/*"),
                        *_SAMPLE.glob("cur/*"), *_SAMPLE.glob("new/*")])


@pytest.mark.parametrize("path", _PARITY_FILES, ids=lambda p: p.name)
def test_the_stdlib_parser_reads_every_message_as_mail_parser_does(path: Path) -> None:
    # [import] parser = "stdlib" skips mail-parser's own reading of the tree, never what is read.
    raw = path.read_bytes()
    try:
        expected = parse_message(raw)
    except ParseError as exc:
        with pytest.raises(ParseError, match=re.escape(str(exc))):
            parse_message(raw, parser="stdlib")
        return
    assert parse_message(raw, parser="stdlib") == expected
