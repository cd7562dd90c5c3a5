"""Finding where a long text first matches folds only as much of it as it takes, and must agree
with folding the whole text: the same answer to "does it match", the same place for the snippet."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import normalize_text
from index.snippets import _contains, _fold_to_match

# Lines of ASCII, Traditional and Simplified Chinese, full-width letters, and the characters
# whose folding changes the length ("ß", "ﬁ", a soft hyphen) or joins ("e" + combining acute).
_CHARS = st.sampled_from(list("abcé價价報报單单ＡＢ ß\u00adﬁe\u0301,"))
_LINES = st.lists(st.text(_CHARS, max_size=12), min_size=1, max_size=40).map("\n".join)
_LEAVES = st.lists(st.lists(st.sampled_from(["a", "bc", "价", "报价", "单", "ss", "fi", "é", "ab"]),
                            min_size=1, max_size=2).map(tuple), min_size=1, max_size=3)


def _first(text: str, words: list[str]) -> int | None:
    found = [pos for pos in (text.find(w) for w in words) if pos >= 0]
    return min(found) if found else None


@settings(max_examples=500, deadline=None)
@given(text=_LINES, leaves=_LEAVES, step=st.integers(1, 40))
def test_folding_part_of_a_text_agrees_with_folding_all_of_it(text, leaves, step):
    folded = normalize_text(text)
    positions, found = _fold_to_match(text, leaves, step)
    assert found == _contains(folded, leaves)
    if found and len(folded) == len(text):  # the folded offsets are the text's: the same first match
        words = [w for leaf in leaves for w in leaf]
        assert _first(positions, words) == _first(folded, words)
    if len(positions) == len(text) or positions == folded[:len(positions)]:
        return
    raise AssertionError("positions are neither the text's offsets nor a prefix of its fold")
