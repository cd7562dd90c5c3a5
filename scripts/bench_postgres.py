"""SQLite and PostgreSQL, file engines and the postgres engine, on one generated archive.

Builds a `gen_corpus.py` archive (``--messages``, default 2,000) and, for each setup (SQLite with
tantivy, PostgreSQL with tantivy, PostgreSQL with the postgres engine), imports it into a fresh
data directory, rebuilds its index and times the ground-truth queries warm
(`scripts/bench_search.py`). PostgreSQL is a private cluster this script starts on 127.0.0.1 and
stops (``tests/pgcluster.py``; ``fsync=off``, as for the tests). Prints one line per setup, or
``--json``. Needs Debian's postgresql (and postgresql-15-rum for RUM; else GIN).

    python scripts/bench_postgres.py [--messages 2000] [--seed 7] [--json]
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


def _measure(label: str, corpus: Path, data: Path, url: str | None) -> dict:
    engine, _ = SETUPS[label]
    env = {**os.environ, "DOSSIER_NO_DAEMON": "1"}

    def dossier(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "config.cli", "--data-dir", str(data), *args], check=True,
                              capture_output=True, text=True, env=env, cwd=ROOT).stdout

    dossier("init", "--engine", engine, "--own-domain", "northwind-trading.com",
            *(["--database-url", url] if url else []))
    dossier("customers", "import", str(corpus / "customers.csv"))
    started = time.monotonic()
    report = json.loads(dossier("import", str(corpus / "maildir"), "--account", "team", "--json"))
    imported = time.monotonic() - started
    started = time.monotonic()
    dossier("reindex")
    reindexed = time.monotonic() - started
    searched = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_search.py"), "--data-dir", str(data),
                               "--truth", str(corpus / "truth.json")], check=True, capture_output=True, text=True,
                              env=env, cwd=ROOT).stdout.splitlines()
    wall = next(line for line in searched if line.startswith("wall"))
    return {"setup": label, "messages": report["stored"], "import_seconds": round(imported, 1),
            "import_rate": round(report["stored"] / imported, 1), "reindex_seconds": round(reindexed, 1),
            "search": " ".join(wall.split()[1:7]), "index_mb": round(_index_bytes(engine, data, url) / 1e6, 1)}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.pgcluster import PostgresCluster

    root = Path(tempfile.mkdtemp(prefix="dossier-bench-pg-"))
    root.chmod(0o755)  # the server runs as the postgres user, which must reach its directory
    (root / "pg").mkdir()
    cluster = PostgresCluster(root / "pg")
    cluster.init()
    cluster.start()
    try:
        corpus = root / "corpus"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_corpus.py"), str(corpus), "--messages",
                        str(args.messages), "--seed", str(args.seed)], check=True, capture_output=True)
        results = []
        for label, (_, on_postgres) in SETUPS.items():
            url = cluster.url(cluster.create_database()) if on_postgres else None
            results.append(_measure(label, corpus, root / label, url))
            if not args.json:
                r = results[-1]
                print(f"{label:18} import {r['import_seconds']:6.1f} s ({r['import_rate']:.0f}/s)  "
                      f"reindex {r['reindex_seconds']:6.1f} s  search {r['search']}  index {r['index_mb']} MB",
                      flush=True)
        if args.json:
            print(json.dumps(results, indent=1))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
