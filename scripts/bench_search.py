#!/usr/bin/env python3
"""Warm search latency: a result page per ground-truth query in one process, as `dossier search` makes it.

Opens the archive once (as the CLI does), then per query does the whole work of a result page
(``config.queries.search_messages``, what the CLI or the daemon computes before printing): look
up the ``customer:`` names, run the search, load the hits' rows (sender, recipients, customers,
attachments, folders), and check the index when nothing matched. Every query runs once
unmeasured (the warm-up), then ``--repeat`` times; a query's latency is its fastest repeat (the
noise of a shared machine only ever adds). Prints p50 / p95 / max over the queries and the
slowest ten. ``--dump`` writes every page (ids, snippets, where
they matched) as JSON, to check that a change keeps results identical; ``--profile`` runs the
measured passes under cProfile and prints where the time goes.

    .venv/bin/python scripts/bench_search.py --data-dir DIR --truth TRUTH.json [--repeat 3] [--sort relevance]
    .venv/bin/python scripts/bench_search.py --data-dir DIR --query WORD [--query …] [--repeat 20]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def result_page(archive, text: str, limit: int, sort: str = "date") -> tuple[int, list[dict]]:
    """What `dossier search TEXT --limit LIMIT --sort SORT` computes before printing: (total, hit rows)."""
    from config.queries import search_messages

    page = search_messages(archive, text, limit=limit, sort=sort).as_json()
    return page["total"], page["hits"]


def main() -> None:
    from bench import _pct

    from config import Archive, load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--truth", type=Path, help="truth.json of scripts/gen_corpus.py")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per query (its fastest counts)")
    parser.add_argument("--limit", type=int, default=20, help="hits per page, as `dossier search --limit`")
    parser.add_argument("--sort", choices=("date", "relevance"), default="date",
                        help="newest first (the default) or by relevance, as `dossier search --sort`")
    parser.add_argument("--query", action="append", help="time these queries instead of truth.json's")
    parser.add_argument("--dump", type=Path, help="write every result page to this JSON file")
    parser.add_argument("--profile", type=int, metavar="N", help="profile the measured runs; print the top N")
    args = parser.parse_args()

    if not args.query and not args.truth:
        parser.error("give --truth or --query")
    queries = args.query or [q["q"] for q in json.loads(args.truth.read_text())["queries"]]
    archive = Archive(load_settings(args.data_dir))
    started = time.perf_counter()
    pages = {text: result_page(archive, text, args.limit, args.sort) for text in queries}  # warm-up, not measured
    warmup = time.perf_counter() - started
    profiler = cProfile.Profile() if args.profile else None
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    for _ in range(args.repeat):
        for text in queries:
            if profiler:
                profiler.enable()
            t, c = time.perf_counter(), time.process_time()
            result_page(archive, text, args.limit, args.sort)
            elapsed, cpu = time.perf_counter() - t, time.process_time() - c
            if profiler:
                profiler.disable()
            best[text] = min(elapsed, best.get(text, elapsed))
            best_cpu[text] = min(cpu, best_cpu.get(text, cpu))
    archive.close()

    print(f"{len(queries)} queries, sort {args.sort}, limit {args.limit}, best of {args.repeat} "
          f"(warm-up pass {warmup:.1f} s)")
    # CPU time as well: on a busy machine it moves less than the wall clock.
    for name, values in (("wall", list(best.values())), ("cpu ", list(best_cpu.values()))):
        print(f"{name}  p50 {1000 * _pct(values, 50):5.1f} ms   p95 {1000 * _pct(values, 95):5.1f} ms   "
              f"max {1000 * max(values):5.1f} ms   mean {1000 * sum(values) / len(values):5.1f} ms")
    print("slowest:")
    for text, seconds in sorted(best.items(), key=lambda kv: -kv[1])[:10]:
        total, rows = pages[text]
        print(f"  {1000 * seconds:7.1f} ms  {total:6d} hits  {text}")
    if args.dump:
        args.dump.write_text(json.dumps(
            {text: {"total": total, "hits": [{k: r[k] for k in ("sha256", "snippet", "matched_in",
                                                               "matched_attachments", "is_quote", "amounts",
                                                               "customers", "folders", "to", "cc", "score")}
                                             for r in rows]}
             for text, (total, rows) in pages.items()}, ensure_ascii=False, indent=1))
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
