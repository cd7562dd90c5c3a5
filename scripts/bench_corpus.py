#!/usr/bin/env python3
"""Benchmark on a folder of real mail (default ../shared/corpus): import rate and search latency.

Imports every subfolder of the corpus into a fresh data directory, then times a query set
drawn from the imported subjects (English words and Chinese substrings, plain and with
filters) in a warm process and as whole `dossier search` CLI calls. Prints a table and,
with --json, one JSON object. Not part of the test run.

    python scripts/bench_corpus.py [--corpus DIR] [--fsync] [--queries 200] [--cli-queries 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from config import Archive, import_paths, init_data_dir, load_settings
from index import SearchRequest, search
from ingest import Message
from linker import Customer

ROOT = Path(__file__).resolve().parents[1]
_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
_WORD = re.compile(r"(?<![^\W_])[A-Za-z]{5,}(?![^\W_])")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _queries(archive: Archive, count: int, rng: random.Random) -> list[SearchRequest]:
    with archive.sessions() as session:
        subjects = session.scalars(select(Message.subject).where(Message.status == "ok")).all()
        customers = session.scalars(select(Customer.id)).all()
    english = [w for s in subjects for w in _WORD.findall(s)]
    chinese = [w for s in subjects for w in _CJK.findall(s)]
    requests: list[SearchRequest] = []
    while len(requests) < count:
        kind = rng.choice(["en", "en2", "zh", "phrase", "date"] + (["customer"] if customers else []))
        if kind == "zh" and chinese:
            run = rng.choice(chinese)
            start = rng.randrange(max(1, len(run) - 1))
            text = run[start:start + rng.randint(2, 4)]
        elif kind == "en2":
            text = f"{rng.choice(english)} {rng.choice(english)}"
        elif kind == "phrase":
            subject = rng.choice(subjects)
            words = _WORD.findall(subject)
            text = f'"{" ".join(words[:2])}"' if len(words) >= 2 else rng.choice(english)
        else:
            text = rng.choice(english)
        requests.append(SearchRequest(
            text=text,
            since=datetime(2001, 1, 1) if kind == "date" else None,
            customer_ids=(rng.choice(customers),) if kind == "customer" else None,
        ))
    return requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--data-dir", type=Path, help="Where to build the archive (default: a temporary dir).")
    parser.add_argument("--fsync", action="store_true", help="fsync every raw blob (the default for users).")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cli-queries", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("config.pipeline").setLevel(logging.CRITICAL)  # failures are counted below
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}; give --corpus DIR", file=sys.stderr)
        return 2

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="dossier-bench-")) / "data"
    config = init_data_dir(data_dir)
    if not args.fsync:
        config.write_text(config.read_text().replace("fsync = true", "fsync = false"))
    archive = Archive(load_settings(data_dir))
    sources = sorted(p for p in args.corpus.iterdir() if p.is_dir())
    report = import_paths(archive, sources, account="bench")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rng = random.Random(args.seed)
    requests = _queries(archive, args.queries, rng)
    search(archive.index, requests[0])  # warm: open the index, load caches
    warm = []
    for request in requests:
        started = time.perf_counter()
        search(archive.index, request)
        warm.append((time.perf_counter() - started) * 1000)

    cli = []
    dossier = Path(sys.executable).with_name("dossier")
    for request in requests[: args.cli_queries]:
        argv = [str(dossier), "--data-dir", str(data_dir), "search", request.text, "--json"]
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        cli.append((time.perf_counter() - started) * 1000)

    result = {
        "messages_seen": report.seen,
        "stored": report.stored,
        "duplicates": report.duplicates,
        "failed": report.failed,
        "import_seconds": round(report.seconds, 1),
        "import_msgs_per_second": round(report.seen / report.seconds, 1),
        "fsync": args.fsync,
        "peak_rss_mb": round(peak_mb),
        "search_warm_p50_ms": round(statistics.median(warm), 1),
        "search_warm_p95_ms": round(_percentile(warm, 95), 1),
        "search_cli_p50_ms": round(statistics.median(cli), 1) if cli else None,
        "search_cli_p95_ms": round(_percentile(cli, 95), 1) if cli else None,
        "queries": len(warm),
        "cli_queries": len(cli),
    }
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
