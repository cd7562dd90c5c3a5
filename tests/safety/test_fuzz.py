"""Fuzzing the parser and the importer with mutated real messages (hypothesis, derandomized for CI):
no crash, no hang, every input stored."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from config.archive import Archive
from config.pipeline import Importer
from config.settings import init_data_dir, load_settings
from ingest import Message, ParseError, RawItem, hash_bytes, parse_message
from tests.conftest import REPO
from tests.timing import scaled

SEEDS = sorted(
    [p.read_bytes() for p in (REPO / "tests" / "data").iterdir() if p.suffix in (".eml", ".bin", ".txt")]
    + [p.read_bytes() for p in sorted((REPO / "sample" / "mailbox" / "cur").iterdir())[:15]]
)
#: Fragments that steer mutations into the parser's awkward corners.
TOKENS = [b"\r\n", b"\n\n", b"\x00", b"=?utf-8?b?", b"=?gb2312?q?=B1=A8?=", b"?=", b"--", b"\r\n--b0--\r\n",
          b"Content-Type: multipart/mixed; boundary=b0\r\n", b"Content-Transfer-Encoding: base64\r\n",
          b"Content-Transfer-Encoding: quoted-printable\r\n", b"=\r\n", b"=ZZ", b"charset=\"x-unknown\"",
          b"From: <a@b>, \"\r\n", b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n", b"\xff\xfe", b"\x1b[2J",
          b"filename=\"../../etc/passwd\"", b"Content-Type: message/rfc822\r\n\r\n", b"<<>>@@", b"\t \t"]

_mutation = st.one_of(
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(TOKENS)),
    st.tuples(st.just("bytes"), st.floats(0, 1), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 400)),
    st.tuples(st.just("repeat"), st.floats(0, 1), st.integers(1, 30)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
)


@st.composite
def mutated_messages(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for kind, where, arg in draw(st.lists(_mutation, min_size=1, max_size=6)):
        at = int(where * len(data))
        if kind in ("insert", "bytes"):
            data[at:at] = arg
        elif kind == "delete":
            del data[at:at + arg]
        elif kind == "repeat":
            data[at:at] = bytes(data[at:at + 200]) * arg
        else:
            del data[at:]
    return bytes(data)


#: The time one message may take to parse (a typical one takes milliseconds; CI machines are slow),
#: before $DOSSIER_TEST_TIME_FACTOR.
PARSE_SECONDS = 5.0


@pytest.mark.slow
@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(mutated_messages())
def test_parser_never_crashes_or_hangs_on_mutated_messages(raw: bytes):
    started = time.monotonic()
    try:
        parsed = parse_message(raw)
    except ParseError:
        pass  # stored as failed by the importer
    else:
        assert isinstance(parsed.subject, str) and "\x00" not in parsed.subject
    assert time.monotonic() - started < scaled(PARSE_SECONDS)


class _Archive:
    """One archive in a temporary directory for every example of the importer fuzz test."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dossier-fuzz-"))
        init_data_dir(self.dir / "data", None, own_domains=["northwind-trading.com"])
        self.archive = Archive(load_settings(self.dir / "data"))
        self.archive.index.create()
        self.importer = Importer(self.archive, "fuzz").__enter__()


_state: dict[str, _Archive] = {}


@pytest.mark.slow
@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_messages(), min_size=1, max_size=3))
def test_importer_stores_every_mutated_message(batch: list[bytes]):
    state = _state.get("archive")
    if state is None:  # not setdefault: its argument would make (and leak) an archive every example
        state = _state["archive"] = _Archive()
    started = time.monotonic()
    state.importer.add_batch([RawItem(data=raw, folder="INBOX", origin=f"fuzz#{n}") for n, raw in enumerate(batch)])
    assert time.monotonic() - started < scaled(PARSE_SECONDS * len(batch) + 5)
    with state.archive.sessions() as session:
        for raw in batch:
            sha = hash_bytes(raw)
            status = session.scalar(select(Message.status).where(Message.sha256 == sha))
            assert status in ("ok", "failed")
            assert state.archive.raw.get(sha) == raw


def test_the_fuzzed_archive_indexes_and_checks_clean():
    """Runs after the fuzz test above (file order): the fuzzed archive indexes and checks clean."""
    state = _state.pop("archive", None)
    if state is None:
        state = _Archive()
    from config.check import check_archive

    state.importer.__exit__(None, None, None)
    report = check_archive(state.archive)
    assert report.is_clean, [f.line() for f in report.findings][:10]
    print(f"fuzzed archive: {report.messages} messages, {report.index_documents} indexed, clean")
    state.archive.close()
    shutil.rmtree(state.dir, ignore_errors=True)
