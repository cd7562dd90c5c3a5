"""Golden outputs: every command's stdout, stderr and exit status on two archives, recorded once
and compared byte for byte after every change that promises to keep the CLI's output.

Two archives: the bundled sample (``sample/``) and a generated 2,000-message one
(``scripts/gen_corpus.py --messages 2000 --seed 7``). Each is built in a fresh data directory,
then a fixed list of commands runs through the click CLI in this process, with the clock set to
a fixed day (``time_machine``), so "waiting N days" and dormant customers do not drift.
What no change can keep (the data directory's path and size, import timing, the time of the
last import) is replaced by a placeholder; nothing else is touched.

    python -m tests.golden.harness --write        # record (after a deliberate output change)
    python -m tests.golden.harness                # compare and list the commands that differ
    python -m tests.golden.harness --engine tantivy   # the same commands on tantivy, compared
    python -m tests.golden.harness --engine postgres --database-url URL   # on PostgreSQL (emptied first)

The outputs are recorded on archives with the Whoosh engine on SQLite (what every archive made
before engines were recorded uses); the same commands on tantivy or the postgres engine, on SQLite
or PostgreSQL, must print the same but for the engine's name, each hit's score and the order of
hits ranked by relevance.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
OWN = "northwind-trading.com"
#: The day the commands run on: after every message of both archives.
CLOCK = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)


def _runner():
    from click.testing import CliRunner

    from config.cli import main

    runner = CliRunner()

    def run(data: Path, args: list[str]) -> dict:
        result = runner.invoke(main, ["--data-dir", str(data), *args], catch_exceptions=False, color=False)
        out = result.stdout_bytes
        if args and args[0] == "show" and "--raw" in args:
            out = ("sha256:" + hashlib.sha256(out).hexdigest()).encode()
        return {"args": list(args), "exit": result.exit_code, "stdout": out.decode("utf-8", "replace"),
                "stderr": result.stderr_bytes.decode("utf-8", "replace")}

    return run


_VOLATILE = [
    # import timings
    (re.compile(r"in \d+\.\d s \(\d+/s\)"), "in <S> s (<RATE>/s)"),
    (re.compile(r'"seconds": [0-9.e-]+'), '"seconds": <S>'),
    # the data directory's size
    (re.compile(r'"data_dir_bytes": \d+'), '"data_dir_bytes": <BYTES>'),
    (re.compile(r"\(\d+\.\d MB\)"), "(<MB> MB)"),
    # when the import ran and the index last changed: the clock ticks from CLOCK while it runs
    (re.compile(r'("last_import"|"last_indexed"): "[0-9T:.+-]+"'), r'\1: "<TIME>"'),
    (re.compile(r"(Last import|last change) \d{4}-\d\d-\d\dT[0-9:.+-]+"), r"\1 <TIME>"),
]


def _normalize(text: str, data: Path, tmp: Path) -> str:
    text = text.replace(str(data), "<DATA>").replace(str(tmp), "<TMP>").replace(str(REPO), "<REPO>")
    for pattern, repl in _VOLATILE:
        text = pattern.sub(repl, text)
    return text


def _help_commands() -> Iterator[list[str]]:
    import click

    from config.cli import main

    def walk(group: click.Group, path: list[str]) -> Iterator[list[str]]:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            yield [*path, name, "--help"]
            if isinstance(command, click.Group):
                yield from walk(command, [*path, name])

    yield ["--help"]
    yield from walk(main, [])


def _ids(run, data: Path, *args: str) -> list[str]:
    return [h["id"] for h in json.loads(run(data, ["search", *args, "--json"])["stdout"])]


def _customers(run, data: Path) -> list[str]:
    return [c["name"] for c in json.loads(run(data, ["customers", "list", "--json"])["stdout"])]


def _reads(run, data: Path, queries: list[str], messages: list[str], customers: list[str]) -> Iterator[list[str]]:
    """The read-only commands, each in text and JSON where it has both."""
    yield ["status"]
    yield ["status", "--json"]
    for extra in ([], ["--json"], ["--dormant", "90d"], ["--dormant", "1y", "--json"], ["--waiting"],
                  ["--waiting", "--json"]):
        yield ["customers", "list", *extra]
    yield ["customers", "conflicts"]
    yield ["customers", "conflicts", "--json"]
    yield ["customers", "duplicates"]
    yield ["customers", "duplicates", "--json"]
    for name in customers:
        yield ["customers", "show", name]
        yield ["customers", "show", name, "--json", "--limit", "5"]
    yield ["customers", "show", "no such customer zzz"]
    for extra in ([], ["--json"], ["--include-bulk"], ["--limit", "3", "--json"]):
        yield ["unlinked", *extra]
    for extra in ([], ["--json"], ["--limit", "3"], ["--since", "2025-01-01"]):
        yield ["quotes", *extra]
    for n, q in enumerate(queries):
        yield ["search", q]
        if n % 3 == 0:
            yield ["search", q, "--json"]
        if n % 5 == 0:
            yield ["search", q, "--sort", "relevance", "--limit", "5"]
        if n % 7 == 0:
            yield ["search", q, "--threads"]
            yield ["search", q, "--threads", "--json"]
    yield ["search", "", "--limit", "50"]
    yield ["search", "", "--limit", "500", "--json"]
    yield ["search", "((broken"]
    yield ["search", "nosuchwordanywhere"]
    yield ["search", "quotation", "--customer", "no such customer zzz"]
    yield ["search", "x", "--since", "yesterday"]
    for mid in messages:
        yield ["show", mid]
        yield ["thread", mid]
        yield ["thread", mid, "--json"]
        yield ["link", "explain", mid]
    if messages:
        yield ["show", messages[0], "--raw"]
    yield ["show", "ffffffffffff"]
    yield ["thread", "nosuchmessage@example.org"]
    yield ["accounts", "list"]
    yield ["accounts", "list", "--json"]
    yield ["check", "--json"]
    yield ["check"]


def _writes(customers: list[str], messages: list[str]) -> Iterator[list[str]]:
    """Commands that change the archive, in an order that keeps each meaningful; then reads."""
    first, second = customers[0], customers[1]
    yield ["customers", "add", "Golden Test Co", "--domain", "golden-test.example", "--email", "buyer@gmail.com",
           "--country", "NZ"]
    yield ["customers", "add", "Golden Test Co", "--domain", "golden-test.example"]
    yield ["customers", "edit", "Golden Test Co", "--add-domain", "golden2.example", "--notes", "golden"]
    yield ["customers", "rename", "Golden Test Co", "Golden Renamed"]
    yield ["customers", "show", "Golden Renamed", "--json"]
    yield ["customers", "merge", "Golden Renamed", first]
    yield ["customers", "show", first]
    yield ["customers", "remove", "no such customer zzz"]
    if messages:
        yield ["link", "pin", messages[0], second]
        yield ["link", "explain", messages[0]]
        yield ["link", "block", messages[0], second]
        yield ["link", "explain", messages[0]]
        yield ["link", "clear", messages[0], second]
    yield ["relink"]
    yield ["customers", "list", "--json"]
    yield ["reindex"]
    yield ["status", "--json"]
    yield ["check"]


def _build(run, data: Path, mailbox: Path, customers_file: Path, account: str, engine: str,
           database_url: str | None = None) -> list[dict]:
    steps = []
    init = ["init", "--engine", engine, "--own-domain", OWN]
    steps.append(run(data, init + (["--database-url", database_url] if database_url else [])))
    steps[-1]["args"] = init  # the same command, whichever database the archive is in
    steps.append(run(data, ["customers", "import", str(customers_file), "--dry-run"]))
    steps.append(run(data, ["customers", "import", str(customers_file)]))
    steps.append(run(data, ["import", str(mailbox), "--account", account]))
    steps.append(run(data, ["import", str(mailbox), "--account", account, "--json"]))
    return steps


def record(name: str, engine: str = "whoosh", database_url: str | None = None) -> list[dict]:
    """Build archive ``name`` ("sample" or "gen2000") with index ``engine`` in a temporary
    directory (its database at ``database_url``, an empty PostgreSQL database, else SQLite)
    and run every command on it; return the normalized results in order. The recorded outputs
    are Whoosh's on SQLite (the engine of every archive made before engines were recorded);
    :func:`engine_differences` compares another engine's, or another database's, run with them."""
    import time_machine

    run = _runner()
    tmp = Path(tempfile.mkdtemp(prefix=f"golden-{name}-"))
    try:
        data = tmp / "data"
        with time_machine.travel(CLOCK, tick=True):
            if name == "sample":
                results = _build(run, data, REPO / "sample" / "mailbox", REPO / "sample" / "customers.csv", "sample",
                                 engine, database_url)
                queries = ["quotation --customer acme", "Felixstowe", "Hannover", "Fräsmaschine", "样品", "樣品",
                           "FOB Ningbo", "报价单", "proforma", "customer:acme filename:pdf", "is:quote",
                           "has:attachment", "lang:zh", "from:163.com", '"unit price"', "sample*", "-quotation",
                           "quotation OR 报价", "date:2024..2025", "subject:re"]
            else:
                corpus = tmp / "corpus"
                subprocess.run([sys.executable, str(REPO / "scripts" / "gen_corpus.py"), str(corpus),
                                "--messages", "2000", "--seed", "7"], check=True, capture_output=True)
                results = _build(run, data, corpus / "maildir", corpus / "customers.csv", "team", engine, database_url)
                truth = json.loads((corpus / "truth.json").read_text())
                queries = [q["q"] for q in truth["queries"]][::2]
            messages = _ids(run, data, "", "--limit", "500")
            step = max(len(messages) // 40, 1)
            messages = messages[::step][:40]
            customers = _customers(run, data)
            commands = list(_help_commands()) + list(_reads(run, data, queries, messages, customers))
            commands += list(_writes(customers, messages))
        for args in commands:
            # Each command starts on the same instant, however long the ones before it took on a
            # busy machine: "waiting 1105.9 days" must not round up to 1106.0 as the clock ticks.
            with time_machine.travel(CLOCK, tick=True):
                results.append(run(data, args))
        for result in results:
            result["args"] = [_normalize(a, data, tmp) for a in result["args"]]
            result["stdout"] = _normalize(result["stdout"], data, tmp)
            result["stderr"] = _normalize(result["stderr"], data, tmp)
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def differences(name: str, results: list[dict]) -> list[str]:
    """One line per command whose output differs from the recorded one."""
    expected = json.loads(golden_path(name).read_text(encoding="utf-8"))
    lines = []
    if len(expected) != len(results):
        lines.append(f"{len(results)} commands ran, {len(expected)} recorded")
    for want, got in zip(expected, results, strict=False):
        if want != got:
            keys = [k for k in ("args", "exit", "stdout", "stderr") if want.get(k) != got.get(k)]
            lines.append(f"{' '.join(want['args'])}: {', '.join(keys)} differ")
    return lines


_ENGINE_WORD = re.compile(r'(Engine +|"engine": ")(tantivy|whoosh|postgres)')


def _hit_blocks(text: str) -> tuple[list[str], str]:
    """A text search result as its hits (one block of lines each) and its closing count line."""
    lines = text.rstrip("\n").split("\n")
    blocks: list[str] = []
    for line in lines[:-1]:
        if line.startswith("  ") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks, lines[-1]


def comparable(result: dict) -> dict:
    """``result`` with what may differ between engines taken out: the engine's name, the score
    of each hit (each engine ranks its own way), and the order of hits ranked by relevance (or,
    when the limit cuts them, which of the equally valid hits are shown: their count and the
    total stay)."""
    args = result["args"]
    named = [i + 1 for i, a in enumerate(args[:-1]) if a == "--engine"]
    out = dict(result, args=["<ENGINE>" if i in named else a for i, a in enumerate(args)],
               stdout=_ENGINE_WORD.sub(r"\1<ENGINE>", result["stdout"]))
    if not args or args[0] != "search" or result["exit"] != 0:
        return out
    if "--json" in args:
        hits = json.loads(out["stdout"])
        for hit in hits:
            hit.pop("score", None)
        out["stdout"] = hits
    elif "--sort" in args and "relevance" in args and out["stdout"].strip() != "No messages found.":
        blocks, count = _hit_blocks(out["stdout"])
        shown_all = " of " not in count
        out["stdout"] = (sorted(blocks) if shown_all else len(blocks), count)
    return out


def engine_differences(name: str, results: list[dict]) -> list[str]:
    """One line per command whose output on another engine differs from the recorded (Whoosh)
    one in more than :func:`comparable` allows."""
    expected = json.loads(golden_path(name).read_text(encoding="utf-8"))
    lines = [f"{len(results)} commands ran, {len(expected)} recorded"] if len(expected) != len(results) else []
    for want, got in zip(expected, results, strict=False):
        want, got = comparable(want), comparable(got)
        if want != got:
            keys = [k for k in ("args", "exit", "stdout", "stderr") if want.get(k) != got.get(k)]
            lines.append(f"{' '.join(want['args'])}: {', '.join(keys)} differ")
    return lines


def _empty(url: str) -> None:
    """Drop everything in the database at ``url`` (for the next archive)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="Record the outputs instead of comparing.")
    parser.add_argument("--engine", default="whoosh", choices=["whoosh", "tantivy", "postgres"],
                        help="The archives' index engine; outputs are recorded with Whoosh, another engine's "
                             "are compared with them up to scores and relevance order.")
    parser.add_argument("--database-url", help="An empty PostgreSQL database for each archive in turn (emptied "
                                               "between them), compared with the recorded SQLite outputs.")
    parser.add_argument("names", nargs="*", default=["sample", "gen2000"])
    args = parser.parse_args()
    if args.write and (args.engine != "whoosh" or args.database_url):
        parser.error("outputs are recorded with the Whoosh engine on SQLite")
    failed = False
    for name in args.names:
        if args.database_url:
            _empty(args.database_url)
        results = record(name, args.engine, args.database_url)
        if args.write:
            golden_path(name).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            golden_path(name).chmod(0o644)
            print(f"{name}: {len(results)} commands recorded")
            continue
        same = args.engine == "whoosh" and not args.database_url
        diff = differences(name, results) if same else engine_differences(name, results)
        failed = failed or bool(diff)
        print(f"{name}: {len(results)} commands, {len(diff)} differ")
        for line in diff[:50]:
            print("  " + line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
