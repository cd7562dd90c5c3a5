"""What a message says, read once when it is parsed: the text it adds and the text it quotes, its
attachments' text, and whether it is a quote (the words and files that say so, the amounts). Pure.

The index (``index.build_document``) and the linker (quotes sent, in a customer's dossier) read
this value or what the message's rows keep of it; neither splits replies or looks for quotes again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .message import ParsedMessage
from .prices import find_amounts
from .quotes import quote_term
from .replies import split_reply

if TYPE_CHECKING:
    from .extract import AttachmentText

__all__ = ["MAX_ATTACHMENT_CHARS", "MAX_BODY_CHARS", "Reading", "html_adds", "read_message"]

#: Body text read per message, so one huge message cannot bloat the index.
MAX_BODY_CHARS = 1_000_000
#: Attachment text kept per message, all attachments together.
MAX_ATTACHMENT_CHARS = 1_000_000
#: The start of an attachment's text that can name it a quote ("QUOTATION", "形式发票" as its title).
QUOTE_TITLE_CHARS = 300

# Words for comparing the HTML and plain versions: letter runs, digit runs, and each CJK character
# pair (CJK text has no spaces, and the two versions break its lines in different places).
_WORDS = re.compile(r"[^\W\d_\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]+|\d+|[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class Reading:
    """One message as read: ``body`` is what it says new, ``quoted`` the replies and signature it
    repeats; ``attachment_texts`` pairs each readable attachment's file name with its text
    (within :data:`MAX_ATTACHMENT_CHARS`), ``text_statuses`` says how reading each attachment
    went (one per attachment, in the parser's order; see ``ingest.extract``). ``quote_terms``
    are the quote words that tagged the message (empty: not a quote), ``quote_files`` the
    attachments named or titled as quotes, ``amounts`` the amounts and trade terms found."""

    body: str = ""
    quoted: str = ""
    attachment_texts: tuple[tuple[str, str], ...] = ()
    text_statuses: tuple[str, ...] = ()
    quote_terms: tuple[str, ...] = ()
    quote_files: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()

    @property
    def is_quote(self) -> bool:
        return bool(self.quote_terms)

    @property
    def quote_term(self) -> str | None:
        """The quote word that tagged the message first (subject before files), or None."""
        return self.quote_terms[0] if self.quote_terms else None


def read_message(parsed: ParsedMessage, texts: Sequence[AttachmentText] = ()) -> Reading:
    """Read ``parsed`` and the text of its attachments (``ingest.extract_attachments``, one per
    attachment, or none when they were not read). What an HTML alternative says beyond the plain
    text is read as part of the message (split into new and quoted text the same way)."""
    new, quoted = split_reply(parsed.text[:MAX_BODY_CHARS])
    adds = html_adds(parsed.html_text[:MAX_BODY_CHARS], parsed.text[:MAX_BODY_CHARS])
    if adds:
        more_new, more_quoted = split_reply(adds)
        new = "\n\n".join(t for t in (new, more_new) if t)
        quoted = "\n\n".join(t for t in (quoted, more_quoted) if t)
    kept: list[tuple[str, str]] = []
    room = MAX_ATTACHMENT_CHARS
    for t in texts:
        if t.text and room > 0:
            kept.append((t.filename, t.text[:room]))
            room -= len(t.text)

    terms: list[str] = []
    files: list[str] = []
    subject_term = quote_term(parsed.subject)
    if subject_term:
        terms.append(subject_term)
    titled = dict(kept)
    for name in (a.filename for a in parsed.attachments if a.filename):
        term = quote_term(name) or quote_term(titled.get(name, "")[:QUOTE_TITLE_CHARS])
        if term:
            terms.append(term)
            files.append(name)
    amounts: tuple[str, ...] = ()
    if terms:
        amounts = find_amounts("\n".join([parsed.subject, new] + [titled[n] for n in files if n in titled]))
    return Reading(
        body=new,
        quoted=quoted,
        attachment_texts=tuple(kept),
        text_statuses=tuple(t.status for t in texts),
        quote_terms=tuple(dict.fromkeys(terms)),
        quote_files=tuple(dict.fromkeys(files)),
        amounts=amounts,
    )


def html_adds(html_text: str, plain: str) -> str:
    """The lines of ``html_text`` (an HTML alternative as text) holding a word ``plain`` lacks: what
    the HTML adds, without the lines that only repeat the plain text in another layout (so that a
    message does not count twice for the same words)."""
    if not html_text.strip():
        return ""
    known = _words(plain)
    return "\n".join(line for line in html_text.splitlines() if not _words(line) <= known).strip()


def _words(text: str) -> set[str]:
    found: set[str] = set()
    for word in _WORDS.findall(text.casefold()):
        if len(word) > 1 and _CJK.match(word):
            found.update(word[i:i + 2] for i in range(len(word) - 1))
        else:
            found.add(word)
    return found
