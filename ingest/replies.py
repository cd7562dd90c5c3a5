"""Splitting a message's text into what it says new and what it quotes (replies, signatures).

Pure: the index ranks the quoted part below the new text, so that a search finds the message
that said something first rather than every reply that quoted it.
"""

from __future__ import annotations

import re

__all__ = ["split_reply"]

# A line that starts the quoted original: "On Mon, 3 Mar 2025 Bob <b@x> wrote:", the Outlook
# separators, and their Chinese forms ("在 2025年3月3日，张三 写道：", "-----原始邮件-----").
_QUOTE_START = re.compile(
    r"^\s*(?:"
    r"On\b.{0,300}\bwrote:\s*$"
    r"|-{2,}\s*(?:Original Message|Reply Message|原始邮件|原始郵件|回复的原邮件)\s*-{2,}"
    r"|在.{0,200}(?:写道|寫道)\s*[:：]\s*$"
    r"|_{20,}\s*$"
    r")",
    re.I,
)
# An Outlook header block ("From: … / Sent: …", "发件人: … / 发送时间: …") quoting the original.
_HEADER_FROM = re.compile(r"^\s*\**(?:From|发件人|發件人|寄件者)\s*\**\s*[:：]", re.I)
_HEADER_NEXT = re.compile(
    r"^\s*\**(?:Sent|Date|To|Subject|发送时间|發送時間|寄件日期|日期|时间|收件人|主题|主旨)\s*\**\s*[:：]", re.I
)
_QUOTED_LINE = re.compile(r"^\s*>")
_SIGNATURE = re.compile(r"^(?:-- ?|—\s*|Sent from my \w+.*|发自我的\w+.*)$")


def split_reply(text: str) -> tuple[str, str]:
    """(new text, quoted text): lines quoted with ">", everything from a reply header on, and
    the signature after a "-- " line go to the second part; the rest stays in the first.

    Joining the two parts loses nothing but line order. A text that is all quote (a bare
    forward) keeps everything as new text.
    """
    if not text:
        return "", ""
    lines = text.split("\n")
    new: list[str] = []
    quoted: list[str] = []
    in_signature = False
    for number, line in enumerate(lines):
        if _QUOTE_START.match(line) or (
            _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(n) for n in lines[number + 1 : number + 4])
        ):
            quoted.extend(lines[number:])
            break
        if _QUOTED_LINE.match(line) or in_signature:
            quoted.append(line)
        elif _SIGNATURE.match(line.rstrip()) and number > 0:
            in_signature = True
            quoted.append(line)
        else:
            new.append(line)
    fresh = "\n".join(new).strip()
    if not fresh:
        return text, ""
    return fresh, "\n".join(quoted).strip()
