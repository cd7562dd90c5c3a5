"""Charset labels and byte decoding for mail text whose declared charset is missing or wrong."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

__all__ = ["Decoded", "codec_for", "decode_bytes", "is_multibyte"]

# Labels seen on real mail, mapped to the Python codec that decodes what the
# sender's software actually wrote: superset codecs for the CJK families
# (GB2312 mail routinely contains GBK characters, Big5 mail HKSCS ones, EUC-KR
# mail Unified Hangul Code), and None for labels that name nothing usable.
_ALIASES: dict[str, str | None] = {
    **dict.fromkeys(
        (
            "gb2312", "gb_2312", "gb2312-80", "gb_2312-80", "gb2312_charset", "csgb2312",
            "x-gb2312", "euc-cn", "euccn", "x-euc-cn", "gbk", "x-gbk", "cp936", "ms936",
            "windows-936", "chinese", "iso-ir-58", "gb18030", "134",
        ),
        "gb18030",
    ),
    **dict.fromkeys(
        ("big5", "big-5", "x-big5", "cn-big5", "csbig5", "big5-hkscs", "big5hkscs", "136"),
        "big5hkscs",
    ),
    **dict.fromkeys(
        ("ks_c_5601-1987", "ks_c_5601", "ksc5601", "ksc_5601", "euc-kr", "x-euc-kr",
         "korean", "cp949", "windows-949", "129"),
        "cp949",
    ),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j", "csshiftjis",
         "cp932", "128"),
        "cp932",
    ),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e"), "iso8859_8"),
    **dict.fromkeys(("iso-8859-6-i", "iso-8859-6-e"), "iso8859_6"),
    **dict.fromkeys(("windows-874", "tis-620", "tis620", "iso-8859-11"), "cp874"),
    **dict.fromkeys(("utf8", "utf-8", "x-unicode20utf8", "unicode-1-1-utf-8"), "utf_8"),
    "unicode-1-1-utf-7": "utf_7",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "iso-2022-jp": "iso2022_jp",
    **dict.fromkeys(
        ("", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "invalid-charset",
         "default", "charset", "none", "8bit", "binary"),
        None,
    ),
}

# Codecs that codecs.lookup() knows but that do not turn mail bytes into text.
_NOT_TEXT = frozenset(
    {"undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode", "mbcs", "oem",
     "charmap", "palmos"}
)
# Declared single-byte "western" charsets decode any byte sequence, so a wrong
# label never fails; these are checked against what the bytes look like.
_LATIN = frozenset({"ascii", "iso8859_1", "cp1252", "iso8859_15"})
_WIDE = frozenset({"utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"})
_LATIN_SCRIPT = frozenset(
    {"cp1250", "iso8859_2", "cp1252", "iso8859_1", "iso8859_15", "cp1254", "iso8859_9", "cp1257",
     "cp1258", "mac_roman"}
)
_MULTIBYTE_PREFIXES = ("gb", "big5", "cp9", "euc", "shift_jis", "iso2022", "hz", "johab")
# Strict codecs fail on text written by real encoders; these supersets are
# tried before giving up on the declared label.
_WIDER: dict[str, tuple[str, ...]] = {
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"),
    "euc_jp": ("euc_jis_2004",),
    "big5hkscs": ("cp950",),
}
_DETECTION_CANDIDATES = [
    "utf_8", "gb18030", "big5", "cp949", "euc_jp", "cp932", "koi8_r", "koi8_u", "cp1251",
    "mac_cyrillic", "iso8859_5", "cp1250", "iso8859_2", "cp1252", "cp1253", "iso8859_7",
    "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
]
_DETECTION_SAMPLE = 16384
# Below this many non-ASCII bytes statistical detection guesses more than it knows
# (it called short GB2312 texts cp949, cp874 and cp1250 on the corpus).
_DETECTION_MIN_HIGH = 64

_HIGH_BYTES = bytes(range(0x80, 0x100))
# Enough text to tell GB2312 prose from Latin-1 accents and from Cyrillic.
_SHARE_SAMPLE = 4096
# One token per non-ASCII unit, scanned left to right: a GB2312 pair from the
# punctuation/kana rows or the level-1 hanzi block (what Chinese prose is made
# of; captured, so findall() yields it non-empty), any other double-byte pair,
# or a lone high byte.
_GB_UNITS = re.compile(
    rb"([\xa1-\xa9\xb0-\xd7][\xa1-\xfe])|[\x81-\xfe][\x40-\x7e\x80-\xfe]|[\x80-\xff]"
)
_GB_KANA = re.compile(rb"[\xa4\xa5][\xa1-\xf6]")
_ISO2022_ESCAPE = re.compile(rb"\x1b[$(][@ABCDJ]|\x1b\$\([CD]")
# Two Latin-1 letters in a row: the look of CJK bytes decoded one byte at a time.
_MOJIBAKE = re.compile(r"[\xa1-\xff]{2}")
_LABEL_JUNK = re.compile(r"[\s\"';]+")


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from bytes; ``note`` says why the declared charset was not used."""

    text: str
    charset: str
    note: str | None = None


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when it names nothing usable."""
    if label is None:
        return None
    # Quotes, blanks and a repeated "charset=" are common label damage.
    key = _LABEL_JUNK.sub("", label).lower().rpartition("=")[2]
    if key in _ALIASES:
        return _ALIASES[key]
    if not key.isascii():
        return None
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_TEXT:
        return None
    return info.name.replace("-", "_")


def decode_bytes(data: bytes, declared: str | None = None, hint: str | None = None) -> Decoded:
    """Decode ``data`` to text, trusting the ``declared`` label only as far as the bytes agree.

    ``hint`` is a charset declared elsewhere in the same message, tried for
    undeclared bytes before statistical detection. ``note`` is set when the
    declared label was missing, unknown or wrong and something else was used.
    Never raises: the last resort decodes with replacement characters.
    """
    label_codec = codec = codec_for(declared)
    if data.isascii():
        return _decode_ascii(data, codec)
    if codec in _WIDE and not _plausibly_wide(data):
        codec = None
    hint_codec = codec_for(hint)
    # A multi-byte CJK label is strong evidence: short legacy CJK text can be
    # valid UTF-8 by accident, so the label is tried before UTF-8.
    first = codec if codec is not None and is_multibyte(codec) else None
    if codec is None and hint_codec is not None and is_multibyte(hint_codec):
        first = hint_codec
    if first is not None:
        for candidate in (first, *_WIDER.get(first, ())):
            text = _strict(data, candidate)
            if text is not None:
                return Decoded(text, candidate, _note(declared, label_codec, candidate))
        cut = _cut_partial_tail(data, first)
        if cut is not None:
            return cut
    # Single-byte legacy text is practically never valid UTF-8 by accident,
    # while UTF-8 labelled as Latin-1 (or as nothing) is everyday mail.
    text = _strict(data, "utf_8")
    if text is not None:
        if _MOJIBAKE.search(text):
            repaired = _repair_mojibake(text)
            if repaired is not None:
                return Decoded(repaired, "gb18030", "GB text double-encoded as UTF-8 repaired")
        return Decoded(text, "utf_8", _note(declared, label_codec, "utf_8"))
    cut = _cut_partial_tail(data, "utf_8")
    if cut is not None:
        return cut
    if codec is not None and not is_multibyte(codec) and codec != "utf_8":
        if codec not in _LATIN:
            text = _strict(data, codec)
            if text is not None:
                return Decoded(text, codec)
        elif not _looks_cjk(data):
            western = _decode_western(data)
            if codec == "ascii":
                note = f"8-bit text labelled {declared!r} decoded as {western.charset}"
                return Decoded(western.text, western.charset, note)
            return western
    # Nothing fits exactly. A label that fits all but a stray or truncated
    # character beats a guess, and so does UTF-8 with one broken sequence.
    candidates = [c for c in (codec, "utf_8") if c is not None and c not in _LATIN]
    for candidate in dict.fromkeys(candidates):
        nearly = _nearly(data, candidate)
        if nearly is not None:
            return nearly
    guessed = _guess(data, hint_codec, tried=codec)
    return Decoded(guessed.text, guessed.charset, _note(declared, label_codec, guessed.charset))


def _cut_partial_tail(data: bytes, codec: str) -> Decoded | None:
    """Text whose only flaw is a multi-byte character cut off at the end (truncated subjects)."""
    try:
        data.decode(codec)
    except UnicodeDecodeError as exc:
        # Evidence is needed that the text really is in this codec: a lone
        # Latin-1 "é" at the end of ASCII text is not a truncated UTF-8 character.
        if exc.start < len(data) - 3 or data[: exc.start].isascii():
            return None
        text = _strict(data[: exc.start], codec)
        if text is not None:
            return Decoded(text, codec, f"incomplete {codec} character at the end dropped")
    except LookupError:
        pass
    return None


def _repair_mojibake(text: str) -> str | None:
    """GB2312 text once misread as Latin-1/cp1252 and re-encoded as UTF-8, restored."""
    for single_byte in ("latin_1", "cp1252"):
        try:
            data = text.encode(single_byte)
        except UnicodeEncodeError:
            continue
        if _looks_cjk(data):
            return _strict(data, "gb18030")
    return None


def _nearly(data: bytes, codec: str) -> Decoded | None:
    try:
        text = data.decode(codec, "replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    if bad > max(1, len(text) // 200) or good < 4 * bad:
        return None
    return Decoded(text, codec, f"{bad} undecodable byte sequence(s) replaced in {codec} text")


def _note(declared: str | None, codec: str | None, used: str) -> str | None:
    if codec == used:
        return None
    if declared is None or not declared.strip():
        # Raw UTF-8 is legitimate in modern headers (RFC 6532): not worth a note.
        return None if used == "utf_8" else f"undeclared 8-bit text decoded as {used}"
    if codec is None:
        return f"unknown charset {declared.strip()!r} decoded as {used}"
    return f"charset {declared.strip()!r} does not fit the text, decoded as {used}"


def is_multibyte(codec: str) -> bool:
    """True for the CJK multi-byte codecs, whose labels are strong evidence about 8-bit bytes."""
    return codec.startswith(_MULTIBYTE_PREFIXES)


def _plausibly_wide(data: bytes) -> bool:
    # UTF-16/32 labels on 8-bit text "decode" without error into nonsense.
    bom = data[:4]
    has_bom = bom.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    return has_bom or data.count(0) * 8 >= len(data)


def _decode_ascii(data: bytes, codec: str | None) -> Decoded:
    if codec in _WIDE and not _plausibly_wide(data):
        codec = None
    if codec is not None and codec not in _LATIN and codec != "utf_8":
        # 7-bit encodings (ISO-2022-*, UTF-7, HZ) are ASCII on the wire.
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text, codec)
    if b"\x1b" in data and _ISO2022_ESCAPE.search(data):
        for candidate in ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_kr"):
            text = _strict(data, candidate)
            if text is not None:
                return Decoded(text, candidate)
    return Decoded(data.decode("ascii"), "ascii")


def _decode_western(data: bytes) -> Decoded:
    # Mail labelled ISO-8859-1 is mostly written by Windows software in cp1252
    # (browsers assume the same); the five bytes cp1252 leaves undefined fall
    # back to Latin-1. 8-bit bytes labelled US-ASCII are the same story.
    text = _strict(data, "cp1252")
    if text is not None:
        return Decoded(text, "cp1252")
    return Decoded(data.decode("latin_1"), "iso8859_1")


def _guess(data: bytes, hint: str | None, tried: str | None) -> Decoded:
    """Decode undeclared or mislabelled bytes: hint, GB2312 pattern, detection, last resort."""
    if hint is not None and hint != tried and hint not in _WIDE and hint not in ("utf_8", "ascii"):
        if hint in _LATIN:
            if not _looks_cjk(data):
                return _decode_western(data)
        elif not is_multibyte(hint):
            text = _strict(data, hint)
            if text is not None:
                return Decoded(text, hint)
    sample = data[:_DETECTION_SAMPLE]
    high = _count_high(sample)
    gb_share, kana_share = _gb_shares(sample)
    cjk = "euc_jp" if kana_share > 0.2 else "gb18030"
    # Undeclared CJK in mail is overwhelmingly GB-family; on short text the
    # byte pattern is a better witness than statistics (EUC-KR is the known
    # confusion, accepted).
    if high < _DETECTION_MIN_HIGH and gb_share >= 0.6:
        text = _strict(data, cjk)
        if text is not None:
            return Decoded(text, cjk)
    detected = _detect(sample)
    if detected in _LATIN_SCRIPT and high < _DETECTION_MIN_HIGH:
        # Short western text: detection picks among Latin-script code pages
        # almost at random; cp1252 is by far the likeliest writer.
        detected = "cp1252"
    if detected is not None and detected != tried:
        text = _strict(data, detected)
        if text is not None:
            return Decoded(text, detected)
    if gb_share >= 0.5:
        text = _strict(data, cjk)
        if text is not None:
            return Decoded(text, cjk)
    if detected is not None:
        return Decoded(data.decode(detected, "replace"), detected)
    if gb_share >= 0.3:
        return Decoded(data.decode("gb18030", "replace"), "gb18030")
    return Decoded(data.decode("cp1252", "replace"), "cp1252")


def _detect(sample: bytes) -> str | None:
    if len(sample) == _DETECTION_SAMPLE:
        # Cut after the last ASCII byte so a multi-byte character split by the
        # sample end does not disqualify the right codec.
        cut = max(sample.rfind(b"\n"), sample.rfind(b" "))
        if cut > _DETECTION_SAMPLE // 2:
            sample = sample[: cut + 1]
    best = charset_normalizer.from_bytes(sample, cp_isolation=_DETECTION_CANDIDATES).best()
    if best is None:
        return None
    return codec_for(best.encoding)


def _gb_shares(data: bytes) -> tuple[float, float]:
    """Share of non-ASCII units that are common GB2312 pairs, and share of those that are kana."""
    sample = data[:_SHARE_SAMPLE]
    units = _GB_UNITS.findall(sample)
    common = sum(1 for pair in units if pair)
    if not common:
        return 0.0, 0.0
    return common / len(units), len(_GB_KANA.findall(sample)) / common


def _looks_cjk(data: bytes) -> bool:
    """True when bytes labelled as a western charset are really double-byte CJK text."""
    return _count_high(data[:_SHARE_SAMPLE]) >= 4 and _gb_shares(data)[0] >= 0.6


def _count_high(data: bytes) -> int:
    return len(data) - len(data.translate(None, _HIGH_BYTES))


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
