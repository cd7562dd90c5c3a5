"""Fuzzing what people type and what exports are named (hypothesis, derandomized for CI): queries,
config files and file names. Each ends in a result or one error line of the package's own kind,
never a crash; every file is read once and stored."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.archive import Archive
from config.pipeline import Importer
from config.settings import ConfigError, init_data_dir, load_settings
from index import QueryError, SearchRequest, search
from index.plan import lower
from ingest.sources import iter_source
from tests.conftest import REPO, make_message
from tests.timing import scaled

# --- queries -------------------------------------------------------------------------------------

_QUERY_PARTS = ["(", ")", '"', "“", "”", "-", "NOT ", " OR ", " AND ", "*", "from:", "to:", "customer:", "date:",
                "date:2025-03..2025-06", "before:2024", "has:", "lang:zh", "报价单", "報價", "FOB", "price", " ",
                "ｆｒｏｍ：", "（", "@", "acme.com", "..", ":", "\x00", "\u200b", "é", "ß", "😀"]
queries = st.lists(st.one_of(st.sampled_from(_QUERY_PARTS), st.text(max_size=8)), max_size=60).map("".join)


@pytest.mark.slow
@settings(max_examples=1500, derandomize=True, deadline=None, database=None)
@given(queries)
def test_any_query_plans_or_is_one_query_error(text: str):
    started = time.monotonic()
    try:
        lower(text, {value: (1,) for value in _customer_values(text)})
    except QueryError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
    assert time.monotonic() - started < scaled(2)


def _customer_values(text: str) -> list[str]:
    from index import filter_values, parse_query

    try:
        return filter_values(parse_query(text), "customer")
    except QueryError:
        return []


class _Indexed:
    """One small archive with the sample imported, shared by the examples of the search fuzz test."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dossier-fuzz-query-"))
        init_data_dir(self.dir / "data", None)
        self.archive = Archive(load_settings(self.dir / "data"))
        self.archive.index.create()
        with Importer(self.archive, "fuzz") as importer:
            importer.add(iter_source(REPO / "sample" / "mailbox"))


_state: dict[str, _Indexed] = {}


@pytest.mark.slow
@settings(max_examples=200, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_any_query_searches_or_is_one_query_error(text: str):
    state = _state.get("archive") or _state.setdefault("archive", _Indexed())
    started = time.monotonic()
    try:
        search(state.archive.index, SearchRequest(text=text, customers={v: (1,) for v in _customer_values(text)}))
    except QueryError:
        pass
    assert time.monotonic() - started < scaled(5)


def test_the_query_fuzz_archive_closes():
    state = _state.pop("archive", None)
    if state is not None:
        state.archive.close()
        shutil.rmtree(state.dir, ignore_errors=True)


# --- config files --------------------------------------------------------------------------------

_TEMPLATE = (REPO / "config" / "dossier.example.toml").read_bytes()
_CONFIG_TOKENS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"[import]\nbatch_size = 99999999999999999999\n",
                  b"[[accounts]]\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\nport = 70000\npassword_env = \"P\"\n",
                  b"[index]\nengine = \"lucene\"\n", b"url = \"not a url\"\n", b"= =", b"\"\"\"", b"[[", b"]]",
                  "分公司".encode("gbk"), "分公司".encode(), b"\r\n", b"nightly = \"25:99\"\n", b"interval = nan\n"]


@st.composite
def config_files(draw) -> bytes:
    data = bytearray(_TEMPLATE)
    for where, token in draw(st.lists(st.tuples(st.floats(0, 1), st.one_of(st.sampled_from(_CONFIG_TOKENS),
                                                                           st.binary(max_size=12))), max_size=5)):
        at = int(where * len(data))
        data[at:at] = token
    if draw(st.booleans()) and draw(st.booleans()):
        text = bytes(data).decode("utf-8", "replace")
        data = bytearray(b"\xff\xfe" + text.encode("utf-16-le"))
    return bytes(data)


@pytest.mark.slow
@settings(max_examples=400, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config_files())
def test_any_config_file_loads_or_is_one_config_error(tmp_path: Path, data: bytes):
    (tmp_path / "dossier.db").touch(exist_ok=True)  # an archive is there
    (tmp_path / "dossier.toml").write_bytes(data)
    try:
        load_settings(tmp_path)
    except ConfigError as exc:
        assert "\n" not in str(exc).strip() or "not valid TOML" in str(exc)


# --- file names ----------------------------------------------------------------------------------

names = st.binary(min_size=1, max_size=60).filter(lambda n: b"/" not in n and b"\x00" not in n
                                                  and n not in (b".", b"..") and not n.startswith(b"."))


@pytest.mark.slow
@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(names, min_size=1, max_size=8, unique=True), st.sampled_from([b"", b"sub\xb1\xa8", b"\xff\xfe"]))
def test_any_file_names_are_read_once_and_stored(tmp_path: Path, files: list[bytes], folder: bytes):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    directory = os.path.join(os.fsencode(root), folder) if folder else os.fsencode(root)
    os.makedirs(directory, exist_ok=True)
    expected = {}
    for n, name in enumerate(files):
        data = make_message(subject=f"named {n}", message_id=f"<n{n}.{abs(hash(name))}@x>")
        with open(os.path.join(directory, name + b".eml"), "wb") as fh:
            fh.write(data)
        expected[data] = name
    items = list(iter_source(root))
    assert sorted(item.data for item in items) == sorted(expected)
    for item in items:
        item.origin.encode("utf-8")  # no surrogates: a database column and a terminal can hold it
        item.folder.encode("utf-8")
    data_dir = root / "archive"
    init_data_dir(data_dir, None)
    archive = Archive(load_settings(data_dir))
    try:
        archive.index.create()
        with Importer(archive, "names") as importer:
            importer.add_batch(items)
        assert importer.report.stored == len(files)
    finally:
        archive.close()
