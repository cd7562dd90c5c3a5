#!/usr/bin/env python3
"""A large benchmark archive in seconds: a generated corpus (scripts/gen_corpus.py) K times over.

Copy k of every message gets Message-ID, In-Reply-To and References rewritten ("<x@y>" becomes
"<ck.x@y>"), so each copy is a distinct message with its own bytes and threads stay within their
copy. The customer file is the source's; the ground truth lists every copy (a query expects each
copy of the messages it expected). Vocabulary does not grow with the copies as it would in a real
archive of that size: term dictionaries are those of the source, posting lists K times longer.

    python scripts/replicate_corpus.py SRC OUT [--copies 10]

SRC is a gen_corpus.py output folder (maildir/, customers.csv, truth.json); OUT gets the same
layout without mbox/ (use scripts/bench.py --no-mbox on it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

#: The header fields that carry message ids, with their continuation lines.
_ID_FIELD = re.compile(rb"^(message-id|in-reply-to|references):.*(?:\r?\n[ \t].*)*", re.IGNORECASE | re.MULTILINE)


def _copy_ids(header: bytes, copy: int) -> bytes:
    tag = b"<c%d." % copy
    return _ID_FIELD.sub(lambda m: m.group().replace(b"<", tag), header)


def _copy_message(data: bytes, copy: int) -> bytes:
    end = re.search(rb"\r?\n\r?\n", data)
    cut = end.start() if end else len(data)
    return _copy_ids(data[:cut], copy) + data[cut:]


def _copy_id(message_id: str, copy: int) -> str:
    return message_id.replace("<", f"<c{copy}.", 1)


def replicate(src: Path, out: Path, copies: int) -> int:
    shutil.rmtree(out, ignore_errors=True)
    (out / "maildir").mkdir(parents=True)
    shutil.copy2(src / "customers.csv", out / "customers.csv")
    written = 0
    for path in sorted((src / "maildir").rglob("*")):
        if not path.is_file() or path.parent.name not in ("cur", "new"):
            continue
        data = path.read_bytes()
        target_dir = out / "maildir" / path.parent.relative_to(src / "maildir")
        target_dir.mkdir(parents=True, exist_ok=True)
        for copy in range(copies):
            # Maildir names are "unique:info"; the copy number goes into the unique part.
            unique, sep, info = path.name.partition(":")
            (target_dir / f"{unique}.c{copy}{sep}{info}").write_bytes(_copy_message(data, copy))
            written += 1
    truth = json.loads((src / "truth.json").read_text())
    truth["summary"] = {**truth["summary"], "messages": truth["summary"]["messages"] * copies,
                        "copies_of": str(src), "copies": copies}
    truth["messages"] = {_copy_id(mid, k): customers for mid, customers in truth["messages"].items()
                         for k in range(copies)}
    for query in truth["queries"]:
        query["expected"] = [_copy_id(mid, k) for mid in query["expected"] for k in range(copies)]
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    print(f"{replicate(args.src, args.out, args.copies)} messages written to {args.out / 'maildir'}")


if __name__ == "__main__":
    main()
