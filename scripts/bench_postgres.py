"""SQLite and PostgreSQL, file engines and the postgres engine, on one generated archive.

Builds a `gen_corpus.py` archive (``--messages``, default 2,000), or reads one already built
(``--corpus DIR``: its ``maildir/``, ``customers.csv`` and ``truth.json``, never written), and, for
each setup (SQLite with tantivy, PostgreSQL with tantivy, PostgreSQL with the postgres engine),
imports it into a fresh data directory, rebuilds its index (not with ``--no-reindex``) and times
the ground-truth queries warm (`scripts/bench_search.py`), newest first and by relevance. With
``--common WORD`` the postgres engine's archive also times that word (a term most messages hold)
with its RUM index, then with plain GIN: the same rows, the RUM index dropped and a GIN index made
in its place, as the engine makes it where the server lacks RUM. With ``--nodes`` it then measures
several nodes: two data directories on one PostgreSQL archive (postgres engine, one shared raw
store) importing different halves of the Maildir's mailboxes at once, each pinned to its own core
(``taskset -c 0`` / ``-c 1``), against one node pinned to core 0 importing one half into a fresh
archive. PostgreSQL is a private cluster this script starts on 127.0.0.1 and stops
(``tests/pgcluster.py``; ``fsync=off``, as for the tests). Every measure records the load average
(`uptime`) before and after it: the machine may be shared. Prints one line per measure, or
``--json``. Needs Debian's postgresql (and postgresql-15-rum for RUM; else GIN).

    python scripts/bench_postgres.py [--messages 2000] [--seed 7] [--corpus DIR] [--no-reindex]
                                     [--setups LABEL,...] [--common WORD] [--nodes] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: label -> (index engine, on PostgreSQL)
SETUPS = {"sqlite+tantivy": ("tantivy", False), "postgres+tantivy": ("tantivy", True),
          "postgres+postgres": ("postgres", True)}
ENV = {**os.environ, "DOSSIER_NO_DAEMON": "1"}


def _load() -> str:
    """The load averages (1, 5, 15 min), as `uptime` prints them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _dossier(data: Path, *args: str, pin: str | None = None) -> str:
    command = [sys.executable, "-m", "config.cli", "--data-dir", str(data), *args]
    if pin is not None:
        command = ["taskset", "-c", pin, *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, env=ENV, cwd=ROOT).stdout


def _search(data: Path, *args: str) -> dict:
    """bench_search.py's wall-clock p50 / p95 / max (ms), and the hits of a single query."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_search.py"), "--data-dir", str(data),
                          *args], check=True, capture_output=True, text=True, env=ENV, cwd=ROOT).stdout.splitlines()
    wall = next(line for line in out if line.startswith("wall")).split()
    slowest = out[out.index("slowest:") + 1].split() if "slowest:" in out else []
    return {"p50_ms": float(wall[2]), "p95_ms": float(wall[5]), "max_ms": float(wall[8]),
            "hits_of_slowest": int(slowest[2]) if len(slowest) > 2 else None}


def _measure(label: str, corpus: Path, data: Path, url: str | None, *, reindex: bool, common: str | None) -> dict:
    engine, _ = SETUPS[label]
    _dossier(data, "init", "--engine", engine, "--own-domain", "northwind-trading.com",
             *(["--database-url", url] if url else []))
    _dossier(data, "customers", "import", str(corpus / "customers.csv"))
    result: dict = {"setup": label, "load_before_import": _load()}
    started = time.monotonic()
    report = json.loads(_dossier(data, "import", str(corpus / "maildir"), "--account", "team", "--json"))
    imported = time.monotonic() - started
    result.update(load_after_import=_load(), messages=report["stored"], import_seconds=round(imported, 1),
                  import_rate=round(report["stored"] / imported, 1))
    if reindex:
        started = time.monotonic()
        _dossier(data, "reindex")
        result["reindex_seconds"] = round(time.monotonic() - started, 1)
    result["load_before_search"] = _load()
    truth = ["--truth", str(corpus / "truth.json")]
    result["search_date"] = _search(data, *truth)
    result["search_relevance"] = _search(data, *truth, "--sort", "relevance")
    if engine == "postgres" and common:
        result["common"] = {"term": common}
        for kind in ("rum", "gin"):
            if kind == "gin":
                result["common"]["gin_swap_seconds"] = _to_gin(url)
            result["common"][kind] = {sort: _search(data, "--query", common, "--repeat", "20", "--sort", sort)
                                      for sort in ("date", "relevance")}
        # The ground-truth queries once more, on GIN.
        result["search_date_gin"] = _search(data, *truth)
    result["load_after_search"] = _load()
    result["index_mb"] = round(_index_bytes(engine, data, url) / 1e6, 1)
    return result


def _to_gin(url: str) -> float:
    """Replace the postgres engine's RUM index by the GIN index it makes without RUM; seconds taken."""
    import sqlalchemy as sa

    database = sa.create_engine(url)
    started = time.monotonic()
    with database.begin() as connection:
        kind = connection.scalar(sa.text("SELECT value FROM search_documents_meta WHERE key = 'rum'"))
        if not kind:
            raise SystemExit("the postgres engine's archive has no RUM index (is postgresql-15-rum installed?)")
        connection.execute(sa.text("DROP INDEX search_documents_tsv"))
        connection.execute(sa.text("CREATE INDEX search_documents_tsv ON search_documents USING gin (tsv)"))
        connection.execute(sa.text("UPDATE search_documents_meta SET value = 0 WHERE key = 'rum'"))
    with database.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE search_documents"))
    database.dispose()
    return round(time.monotonic() - started, 1)


def _index_bytes(engine: str, data: Path, url: str | None) -> int:
    """The index's size: its files, or the postgres engine's table with its indexes and TOAST."""
    if engine != "postgres":
        return sum(p.stat().st_size for p in (data / "index").rglob("*") if p.is_file())
    import sqlalchemy as sa

    database = sa.create_engine(url)
    with database.connect() as connection:
        size = connection.scalar(sa.text("SELECT pg_total_relation_size('search_documents')"))
    database.dispose()
    return size


def _nodes(corpus: Path, root: Path, cluster) -> dict:
    """Two nodes importing different halves at once (cores 0 and 1) against one node (core 0) one half."""
    mailboxes = sorted(p for p in (corpus / "maildir").iterdir() if p.is_dir())
    halves = [mailboxes[: len(mailboxes) // 2], mailboxes[len(mailboxes) // 2: 2 * (len(mailboxes) // 2)]]
    result: dict = {"halves": [[p.name for p in half] for half in halves]}

    def node(name: str, url: str, raw: Path) -> Path:
        data = root / name
        _dossier(data, "init", "--engine", "postgres", "--own-domain", "northwind-trading.com",
                 "--database-url", url, "--raw-store", str(raw))
        return data

    def start(data: Path, half: list[Path], core: str) -> subprocess.Popen:
        return subprocess.Popen(["taskset", "-c", core, sys.executable, "-m", "config.cli", "--data-dir", str(data),
                                 "import", *map(str, half), "--account", data.name, "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)

    def finish(process: subprocess.Popen) -> int:
        out, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"node import failed: {err.strip()[-2000:]}")
        return json.loads(out)["stored"]

    # One node, one core, one half, a fresh archive.
    url = cluster.url(cluster.create_database())
    one = node("one-node", url, root / "raw-one")
    _dossier(one, "customers", "import", str(corpus / "customers.csv"))
    result["one_load_before"] = _load()
    started = time.monotonic()
    stored = finish(start(one, halves[0], "0"))
    seconds = time.monotonic() - started
    result.update(one_load_after=_load(), one_stored=stored, one_seconds=round(seconds, 1),
                  one_rate=round(stored / seconds, 1))
    # Two nodes, one archive, one shared raw store, each its own half on its own core.
    url = cluster.url(cluster.create_database())
    shared = root / "raw-shared"
    first, second = node("node-a", url, shared), node("node-b", url, shared)
    _dossier(first, "customers", "import", str(corpus / "customers.csv"))
    result["two_load_before"] = _load()
    started = time.monotonic()
    processes = [start(first, halves[0], "0"), start(second, halves[1], "1")]
    stored_each = [finish(p) for p in processes]
    seconds = time.monotonic() - started
    result.update(two_load_after=_load(), two_stored=stored_each, two_seconds=round(seconds, 1),
                  two_rate=round(sum(stored_each) / seconds, 1))
    result["ratio"] = round(result["two_rate"] / result["one_rate"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, help="a gen_corpus.py archive already built (read only)")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated, of: " + ", ".join(SETUPS))
    parser.add_argument("--no-reindex", action="store_true", help="skip timing `dossier reindex`")
    parser.add_argument("--common", metavar="WORD", help="time WORD on the postgres engine with RUM, then GIN")
    parser.add_argument("--nodes", action="store_true", help="also two nodes against one, pinned (taskset)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    labels = [label for label in args.setups.split(",") if label]
    if unknown := set(labels) - set(SETUPS):
        parser.error(f"unknown setups: {', '.join(sorted(unknown))}")
    from tests.pgcluster import PostgresCluster

    root = Path(tempfile.mkdtemp(prefix="dossier-bench-pg-"))
    root.chmod(0o755)  # the server runs as the postgres user, which must reach its directory
    (root / "pg").mkdir()
    cluster = PostgresCluster(root / "pg")
    cluster.init()
    cluster.start()
    results: list[dict] = []
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = root / "corpus"
            subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_corpus.py"), str(corpus), "--messages",
                            str(args.messages), "--seed", str(args.seed)], check=True, capture_output=True)
        for label in labels:
            on_postgres = SETUPS[label][1]
            url = cluster.url(cluster.create_database()) if on_postgres else None
            results.append(_measure(label, corpus, root / label, url, reindex=not args.no_reindex,
                                    common=args.common))
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
        if args.nodes:
            results.append({"setup": "nodes", **_nodes(corpus, root, cluster)})
            if not args.json:
                print(json.dumps(results[-1]), flush=True)
        if args.json:
            print(json.dumps(results, indent=1))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
