#!/usr/bin/env python3
"""Load on the web front end: N signed-in users searching and opening customers for a while, on loopback.

Builds (once, cached in --work) an archive of a generated corpus (``scripts/gen_corpus.py``) whose
customers get owners round-robin among four reps, adds the users, starts ``dossier web`` on a free
port of 127.0.0.1, then runs ``--users`` concurrent users for ``--seconds``: each signs in (reps
and managers mixed), then repeatedly searches (a query of the corpus's truth.json, newest first,
first page), opens a customer of their own list, and opens a message of the results, reading each
page ``--think`` seconds on average before the next click (0: at once, the server saturated). Prints the
page times (p50, p95, p99, max) per kind of page, requests per second and every error; the run is
bounded in time and sends traffic to 127.0.0.1 only.

    .venv/bin/python scripts/bench_web.py --corpus CORPUS [--users 20] [--seconds 60] [--json]
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOSSIER = [sys.executable, "-m", "config.cli"]
PASSWORD = "bench password 2026"
REPS = [f"rep{n}@northwind-trading.com" for n in range(1, 5)]
MANAGER = "manager@northwind-trading.com"


def run(*args: str, data: Path, stdin: str | None = None) -> None:
    subprocess.run([*DOSSIER, "--data-dir", str(data), *args], cwd=REPO, check=True, input=stdin, text=True,
                   stdout=subprocess.DEVNULL)


def build(corpus: Path, data: Path) -> None:
    """The archive of ``corpus`` with owners and users, made once."""
    if (data / "dossier.db").exists():
        return
    shutil.rmtree(data, ignore_errors=True)
    run("init", "--own-domain", "northwind-trading.com", data=data)
    sheet = data.parent / "customers-with-owners.csv"
    with (corpus / "customers.csv").open(newline="", encoding="utf-8") as src, \
            sheet.open("w", newline="", encoding="utf-8") as out:
        rows = list(csv.reader(src))
        writer = csv.writer(out)
        writer.writerow([*rows[0], "owner"])
        for n, row in enumerate(rows[1:]):
            writer.writerow([*row, REPS[n % len(REPS)]])
    run("customers", "import", str(sheet), data=data)
    started = time.monotonic()
    run("import", *[str(p) for p in sorted((corpus / "maildir").iterdir())], data=data)
    print(f"imported {corpus} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    for email in REPS:
        run("users", "add", email, "--role", "rep", data=data, stdin=PASSWORD + "\n")
    run("users", "add", MANAGER, "--role", "manager", data=data, stdin=PASSWORD + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class User(threading.Thread):
    """One signed-in person clicking through search results and customers until the deadline."""

    def __init__(self, base: str, email: str, queries: list[str], deadline: float, seed: int, think: float) -> None:
        super().__init__(daemon=True)
        self.base, self.email, self.queries, self.deadline, self.think = base, email, queries, deadline, think
        self.random = random.Random(seed)
        self.times: dict[str, list[float]] = {"search": [], "customer": [], "message": [], "customers": []}
        self.errors: list[str] = []
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, kind: str, path: str) -> str | None:
        if self.think:  # a person reads the page before the next click
            time.sleep(min(self.random.uniform(0.5, 1.5) * self.think, max(self.deadline - time.monotonic(), 0)))
        started = time.monotonic()
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                body = response.read().decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as exc:
            body, status = "", exc.code
        except OSError as exc:
            self.errors.append(f"{kind} {path}: {exc}")
            return None
        self.times[kind].append(time.monotonic() - started)
        if status != 200:
            self.errors.append(f"{kind} {path}: HTTP {status}")
            return None
        return body

    def sign_in(self) -> None:
        page = self.opener.open(self.base + "/signin").read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf": token, "email": self.email, "password": PASSWORD, "next": "/search"})
        self.opener.open(self.base + "/signin", data=form.encode()).read()

    def run(self) -> None:
        if self.think:  # people do not all sign in at the same instant
            time.sleep(self.random.uniform(0, 2 * self.think))
        self.sign_in()
        listing = self.get("customers", "/customers") or ""
        customers = re.findall(r'href="(/customer/[^"]+)"', listing)
        while time.monotonic() < self.deadline:
            q = self.random.choice(self.queries)
            results = self.get("search", "/search?" + urllib.parse.urlencode({"q": q}))
            messages = re.findall(r'href="(/message/[0-9a-f]+)"', results or "")
            if messages and time.monotonic() < self.deadline:
                self.get("message", self.random.choice(messages))
            if customers and time.monotonic() < self.deadline:
                self.get("customer", self.random.choice(customers))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="an output folder of scripts/gen_corpus.py")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dossier-bench-web"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a user reads a page before the next click (0: click at once)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = args.work / f"archive-{args.corpus.name}"
    data.parent.mkdir(parents=True, exist_ok=True)
    build(args.corpus, data)
    truth = json.loads((args.corpus / "truth.json").read_text(encoding="utf-8"))
    queries = [q["q"] for q in truth["queries"]]
    port = free_port()
    server = subprocess.Popen([*DOSSIER, "--data-dir", str(data), "web", "--port", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("dossier web did not start") from None
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        accounts = [REPS[n % len(REPS)] if n % 5 else MANAGER for n in range(args.users)]
        started = time.monotonic()
        users = [User(base, email, queries, started + args.seconds, seed=n, think=args.think)
                 for n, email in enumerate(accounts)]
        for user in users:
            user.start()
        for user in users:
            user.join(args.seconds + 60)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {"users": args.users, "seconds": round(elapsed, 1), "think": args.think, "archive": args.corpus.name,
              "pages": {}}
    everything: list[float] = []
    for kind in ("search", "customer", "message", "customers"):
        times = [t for u in users for t in u.times[kind]]
        everything += times
        if times:
            report["pages"][kind] = {"count": len(times), "p50_ms": round(statistics.median(times) * 1000, 1),
                                     "p95_ms": round(percentile(times, 95) * 1000, 1),
                                     "p99_ms": round(percentile(times, 99) * 1000, 1),
                                     "max_ms": round(max(times) * 1000, 1)}
    report["all"] = {"count": len(everything), "per_second": round(len(everything) / elapsed, 1),
                     "p50_ms": round(statistics.median(everything) * 1000, 1),
                     "p95_ms": round(percentile(everything, 95) * 1000, 1)}
    report["errors"] = [e for u in users for e in u.errors]
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    print(f"{args.users} users (think {args.think} s) for {report['seconds']} s on {args.corpus.name}: "
          f"{report['all']['count']} pages, "
          f"{report['all']['per_second']}/s, {len(report['errors'])} errors")
    for kind, row in report["pages"].items():
        print(f"  {kind:<10} {row['count']:>6}  p50 {row['p50_ms']:>7} ms  p95 {row['p95_ms']:>7} ms  "
              f"p99 {row['p99_ms']:>7} ms  max {row['max_ms']:>7} ms")
    for error in report["errors"][:20]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
