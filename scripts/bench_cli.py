#!/usr/bin/env python3
"""`dossier search` as a whole command (process start included), on its own and answered by `dossier daemon`.

Runs the entry point (``python -m config.cli``, what `dossier` runs) once per query: first with
``DOSSIER_NO_DAEMON=1`` (a fresh process imports SQLAlchemy, Whoosh and the ORM, then searches),
then with a `dossier daemon` started on the archive for the run (the command hands the search to
it over the data directory's socket). Checks that both print the same, and prints p50 / p95 of
each. The daemon is stopped at the end; run it on an archive no other daemon serves.

    .venv/bin/python scripts/bench_cli.py --data-dir DIR --truth TRUTH.json [--queries 50]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import _pct

ROOT = Path(__file__).resolve().parents[1]
CLIENT = [sys.executable, "-m", "config.cli"]


def _timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    return time.perf_counter() - started, done


def start_daemon(data: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as err:
        daemon = subprocess.Popen([*CLIENT, "--data-dir", str(data), "daemon"], stdout=subprocess.DEVNULL,
                                  stderr=err, cwd=ROOT)
    deadline = time.monotonic() + 120
    while '"serving"' not in log.read_text():
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the daemon did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    return daemon


def measure_cli(data: Path, queries: list[str], calls: int, *, seed: int = 3) -> dict:
    """p50 / p95 ms of `dossier search QUERY` on its own and with a daemon, over ``calls`` queries."""
    chosen = random.Random(seed).sample(queries, min(calls, len(queries)))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    alone, served, outputs = [], [], {}
    for query in chosen:
        elapsed, done = _timed([*CLIENT, "--data-dir", str(data), "search", query], {**env, "DOSSIER_NO_DAEMON": "1"})
        alone.append(elapsed)
        outputs[query] = (done.returncode, done.stdout, done.stderr)
    log = data.parent / f"{data.name}-bench-daemon.log"
    daemon = start_daemon(data, log)
    try:
        _timed([*CLIENT, "--data-dir", str(data), "search", chosen[0]], env)  # the daemon's first search loads it
        differ = 0
        for query in chosen:
            elapsed, done = _timed([*CLIENT, "--data-dir", str(data), "search", query], env)
            served.append(elapsed)
            differ += outputs[query] != (done.returncode, done.stdout, done.stderr)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)
    answered = log.read_text().count('"event": "served"')
    return {
        "calls": len(chosen),
        "alone_p50_ms": 1000 * _pct(alone, 50), "alone_p95_ms": 1000 * _pct(alone, 95),
        "served_p50_ms": 1000 * _pct(served, 50), "served_p95_ms": 1000 * _pct(served, 95),
        "served_max_ms": 1000 * max(served),
        "answered_by_daemon": answered, "outputs_differing": differ,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True, help="truth.json of scripts/gen_corpus.py")
    parser.add_argument("--queries", type=int, default=50, help="commands timed each way")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    queries = [q["q"] for q in json.loads(args.truth.read_text())["queries"]]
    result = measure_cli(args.data_dir.resolve(), queries, args.queries)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"dossier search, {result['calls']} queries, whole command:\n"
          f"  on its own          p50 {result['alone_p50_ms']:7.0f} ms   p95 {result['alone_p95_ms']:7.0f} ms\n"
          f"  with dossier daemon p50 {result['served_p50_ms']:7.0f} ms   p95 {result['served_p95_ms']:7.0f} ms"
          f"   (max {result['served_max_ms']:.0f} ms; {result['answered_by_daemon']} answered by the daemon, "
          f"{result['outputs_differing']} outputs differing)")


if __name__ == "__main__":
    main()
