#!/usr/bin/env python3
"""The benchmark suite: Dossier at 10k / 100k messages, side by side with notmuch and mbsync.

Builds (or reuses) a generated archive (scripts/gen_corpus.py) and measures in one run:
import throughput from Maildir and from mbox (whole `dossier import` commands), peak RSS of the
importing process and of its index writer, the share of time per stage (read, store, parse,
link, database, index; an in-process sequential import of the first --stage-sample messages),
raw store / database / index size against the Maildir's, `dossier reindex` time, search latency
p50/p95 for the ground-truth query set in a warm process (and for whole `dossier search` calls),
what the searches find against the ground truth, and linking precision/recall. Where `notmuch`
is installed it runs `notmuch new` (with XAPIAN_CJK_NGRAM=1) and `notmuch search` on the same
Maildir and queries; `--sync` also runs scripts/bench_sync.py (mbsync vs dossier sync on a
local Dovecot, its own generated mailbox of the same size). Prints a table, or JSON with --json.
Not part of the test run; figures on a shared machine are noisy, compare ratios from one run.

    .venv/bin/python scripts/bench.py [--size 10000] [--work /tmp/dossier-bench] [--sync] [--json]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOSSIER = [sys.executable, "-m", "config.cli"]


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))] if ordered else 0.0


def _du(path: Path, *, allocated: bool = False) -> int:
    """Bytes in the files under ``path``: their sizes, or (``allocated``) the disk blocks they
    take, which counts the file system's rounding of many small files."""
    def size(p: Path) -> int:
        st = p.stat()
        return st.st_blocks * 512 if allocated else st.st_size

    if path.is_file():
        return size(path)
    return sum(size(p) for p in path.rglob("*") if p.is_file())


def _sizes(data: Path, allocated: bool = False) -> dict[str, int]:
    return {"raw": _du(data / "raw", allocated=allocated), "db": _du(data / "dossier.db", allocated=allocated),
            "index": _du(data / "index", allocated=allocated)}


def _run(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:4]))} failed: {done.stderr.strip()[-800:]}")
    return elapsed, done.stdout


#: The index engine of the archives built (--engine); None: the default.
ENGINE: str | None = None
#: Their `[import] workers` (--workers); None: the default (one per CPU).
WORKERS: int | None = None
#: Their `[import] parser` (--parser); None: the default (mail-parser).
PARSER: str | None = None


def _fresh_archive(data: Path, corpus: Path) -> None:
    shutil.rmtree(data, ignore_errors=True)
    _run(DOSSIER + ["--data-dir", str(data), "init"] + (["--engine", ENGINE] if ENGINE else []))
    config = data / "dossier.toml"
    text = config.read_text().replace("own_domains = []", 'own_domains = ["northwind-trading.com"]')
    if WORKERS is not None:
        text = text.replace("fsync = true", f"fsync = true\nworkers = {WORKERS}")
    if PARSER is not None:
        text = text.replace("fsync = true", f'fsync = true\nparser = "{PARSER}"')
    config.write_text(text)
    _run(DOSSIER + ["--data-dir", str(data), "customers", "import", str(corpus / "customers.csv")])


_IMPORT_CHILD = """
import json, re, resource, sys, threading, time
from pathlib import Path
sys.path.insert(0, {root!r})
from config import Archive, import_paths, load_settings
# Peak RSS counts the index files tantivy maps and reads (file pages, the page cache's) as well as
# the process's own memory: sampled apart, the anonymous part is what the process holds.
peaks = {{"RssAnon": 0, "RssFile": 0}}
def sample():
    while True:
        status = open("/proc/self/status").read()
        for key in peaks:
            peaks[key] = max(peaks[key], int(re.search(key + r":\\s+(\\d+)", status).group(1)))
        time.sleep(0.2)
threading.Thread(target=sample, daemon=True).start()
archive = Archive(load_settings(Path({data!r})))
t = time.perf_counter()
report = import_paths(archive, [Path(p) for p in {paths!r}])
elapsed = time.perf_counter() - t
me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"seconds": elapsed, "report": report.summary(),
    "rss_mb": me.ru_maxrss / 1024, "children_rss_mb": children.ru_maxrss / 1024,
    "rss_anon_peak_mb": peaks["RssAnon"] / 1024, "rss_file_peak_mb": peaks["RssFile"] / 1024,
    "cpu_s": me.ru_utime + me.ru_stime, "children_cpu_s": children.ru_utime + children.ru_stime}}))
"""


def measure_import(data: Path, corpus: Path, paths: list[Path]) -> dict:
    """One import in a fresh process (the library call, as `dossier import` makes it)."""
    _fresh_archive(data, corpus)
    code = _IMPORT_CHILD.format(root=str(ROOT), data=str(data), paths=[str(p) for p in paths])
    wall, out = _run([sys.executable, "-c", code])
    result = json.loads(out.strip().splitlines()[-1])
    seen = result["report"]["seen"]
    result["wall_s"] = wall
    result["msg_per_s"] = seen / result["seconds"] if result["seconds"] else 0.0
    return result


def measure_stages(data: Path, corpus: Path, limit: int) -> dict:
    """Time per stage of a sequential in-process import (the index writer and the readers in this
    process)."""
    import config.pipeline as pipeline
    import config.readers as readers
    from config import Archive, load_settings
    from ingest import iter_source

    _fresh_archive(data, corpus)
    archive = Archive(load_settings(data))
    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    import index.whoosh_engine as whoosh_engine

    saved = {n: getattr(pipeline, n) for n in ("link_message", "relink_replies", "_documents")}
    saved_read = readers.read_raw
    saved_put, saved_add, saved_exit = archive.raw.put, pipeline._Indexer.add, pipeline._Indexer.__exit__
    saved_child, whoosh_engine.USE_CHILD_WRITER = whoosh_engine.USE_CHILD_WRITER, False
    readers.read_raw = timed("parse and attachment text", saved_read)
    pipeline.link_message = timed("link", saved["link_message"])
    pipeline.relink_replies = timed("link", saved["relink_replies"])
    pipeline._documents = timed("index (documents)", saved["_documents"])
    archive.raw.put = timed("store", saved_put)
    pipeline._Indexer.add = timed(f"index ({archive.index.engine_name})", saved_add)
    pipeline._Indexer.__exit__ = timed(f"index ({archive.index.engine_name})", saved_exit)
    items = []
    t = time.perf_counter()
    for item in iter_source(corpus / "maildir"):
        items.append(item)
        if len(items) >= limit:
            break
    spent["read"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        in_process = readers.Readers(0, analyse=archive.index.takes_analysed())
        with pipeline.Importer(archive, "local", readers=in_process) as importer:
            importer.add(items)
        total = time.perf_counter() - t + spent["read"]
    finally:
        for name, value in saved.items():
            setattr(pipeline, name, value)
        readers.read_raw = saved_read
        pipeline._Indexer.add, pipeline._Indexer.__exit__ = saved_add, saved_exit
        whoosh_engine.USE_CHILD_WRITER = saved_child
    accounted = sum(spent.values())
    spent["database and the rest"] = max(0.0, total - accounted)
    return {"messages": len(items), "seconds": total,
            "share": {k: round(v / total, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}}


def measure_search(data: Path, truth: dict, cli_calls: int) -> dict:
    from sqlalchemy import select

    from config import Archive, load_settings
    from index import SearchRequest, search
    from ingest import Message

    archive = Archive(load_settings(data))
    with archive.sessions() as session:
        by_sha = dict(session.execute(select(Message.sha256, Message.header_message_id)).all())
    queries = truth["queries"]
    search(archive.index, SearchRequest(text=queries[0]["q"]))  # warm: open the index, load tables
    latencies, found = [], defaultdict(lambda: [0, 0])
    for query in queries:
        t = time.perf_counter()
        search(archive.index, SearchRequest(text=query["q"], limit=20))
        latencies.append(time.perf_counter() - t)
        hits = search(archive.index, SearchRequest(text=query["q"], limit=100_000)).hits
        got = {f"<{by_sha.get(h.id)}>" for h in hits}
        kind = found[query["kind"]]
        kind[0] += 1
        kind[1] += set(query["expected"]) <= got
    archive.close()
    from bench_cli import measure_cli  # the whole command, on its own and answered by a daemon

    cli = measure_cli(data, [q["q"] for q in queries], cli_calls)
    return {
        "queries": len(queries),
        "warm_p50_ms": 1000 * _pct(latencies, 50), "warm_p95_ms": 1000 * _pct(latencies, 95),
        "cli_p50_ms": cli["alone_p50_ms"], "cli_p95_ms": cli["alone_p95_ms"],
        "cli_daemon_p50_ms": cli["served_p50_ms"], "cli_daemon_p95_ms": cli["served_p95_ms"],
        "cli_daemon_outputs_differing": cli["outputs_differing"],
        "all_expected_found": {k: f"{v[1]}/{v[0]}" for k, v in sorted(found.items())},
    }


def measure_linking(data: Path, truth: dict) -> dict:
    from sqlalchemy import select

    from config import Archive, load_settings
    from ingest import Message
    from linker import Customer, Link

    archive = Archive(load_settings(data))
    with archive.sessions() as session:
        rows = session.execute(
            select(Message.header_message_id, Customer.name).join(Link, Link.message_id == Message.id)
            .join(Customer, Customer.id == Link.customer_id)
        ).all()
    got: dict[str, set[str]] = defaultdict(set)
    for header, name in rows:
        got[f"<{header}>"].add(name)
    tp = fp = fn = 0
    for header, expected in truth["messages"].items():
        have, want = got.get(header, set()), set(expected)
        tp += len(have & want)
        fp += len(have - want)
        fn += len(want - have)
    return {"precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0}


def measure_relink(data: Path, target: int = 7000) -> dict:
    """A customer edit re-linking about ``target`` messages, as a user runs it: the customer
    with the most linked mail is given the domains of the next customers by mail until their
    messages reach ``target`` (every one of them re-linked and re-indexed), then they are removed
    again. The generated archives have no single customer with 7,000 messages."""
    import re

    from sqlalchemy import func, select

    from config import Archive, load_settings
    from linker import Customer, CustomerDomain, Link

    archive = Archive(load_settings(data))
    try:
        with archive.sessions() as session:
            ranked = session.execute(
                select(Customer.id, Customer.name, func.count(Link.message_id))
                .join(Link, Link.customer_id == Customer.id)
                .group_by(Customer.id).order_by(func.count(Link.message_id).desc(), Customer.id)
            ).all()
            (top_id, top, _), rest = ranked[0], ranked[1:]
            own = set(session.scalars(select(CustomerDomain.domain).where(CustomerDomain.customer_id == top_id)))
            domains: list[str] = []
            messages = 0
            for customer_id, _, count in rest:
                theirs = [d for d in session.scalars(select(CustomerDomain.domain)
                                                     .where(CustomerDomain.customer_id == customer_id)) if d not in own]
                if theirs:
                    domains += theirs
                    messages += count
                if messages >= target:
                    break
    finally:
        archive.close()
    base = DOSSIER + ["--data-dir", str(data), "customers", "edit", top]
    add_s, out = _run(base + [a for d in domains for a in ("--add-domain", d)])
    remove_s, out2 = _run(base + [a for d in domains for a in ("--remove-domain", d)])

    def relinked(text: str) -> int:
        found = re.search(r"(\d[\d,]*) messages? re-linked", text)
        return int(found.group(1).replace(",", "")) if found else -1

    return {"customer": top, "domains": len(domains), "their_messages": messages,
            "add_s": add_s, "add_relinked": relinked(out), "remove_s": remove_s, "remove_relinked": relinked(out2)}


def measure_notmuch(maildir: Path, work: Path, truth: dict, cli_calls: int) -> dict | None:
    if not shutil.which("notmuch"):
        return None
    db = work / "notmuch-mail"
    shutil.rmtree(db, ignore_errors=True)
    shutil.copytree(maildir, db)  # notmuch indexes its own mail root in place
    conf = work / "notmuch-config"
    conf.write_text(f"[database]\npath={db}\n[user]\nname=Bench\nprimary_email=bench@{'northwind-trading.com'}\n"
                    "[new]\ntags=inbox;\n[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=false\n")
    env = dict(os.environ, NOTMUCH_CONFIG=str(conf), XAPIAN_CJK_NGRAM="1")
    seconds, _ = _run(["notmuch", "new", "--quiet"], env)
    count = len(truth["messages"])
    latencies, found = [], defaultdict(lambda: [0, 0])
    rng = random.Random(3)
    sample = rng.sample(truth["queries"], min(cli_calls, len(truth["queries"])))
    for query in truth["queries"]:
        t = time.perf_counter()
        _, out = _run(["notmuch", "search", "--output=messages", "--limit=100000", query["q"]], env)
        if query in sample:
            latencies.append(time.perf_counter() - t)
        got = {f"<{line[3:]}>" for line in out.split()}
        kind = found[query["kind"]]
        kind[0] += 1
        kind[1] += set(query["expected"]) <= got
    return {
        "new_seconds": seconds, "msg_per_s": count / seconds,
        "size_bytes": _du(db / ".notmuch"),
        "search_p50_ms": 1000 * _pct(latencies, 50), "search_p95_ms": 1000 * _pct(latencies, 95),
        "all_expected_found": {k: f"{v[1]}/{v[0]}" for k, v in sorted(found.items())},
    }


def measure_mu(maildir: Path, work: Path, count: int) -> dict | None:
    """`mu index` of the same Maildir (mu 1.8 has no n-gram option of its own; Xapian's
    XAPIAN_CJK_NGRAM is set as for notmuch). Its time and database size; mu's query language
    differs from the generator's, so no search figures."""
    if not shutil.which("mu"):
        return None
    home = work / "mu-home"
    shutil.rmtree(home, ignore_errors=True)
    env = dict(os.environ, XAPIAN_CJK_NGRAM="1")
    _run(["mu", "init", f"--muhome={home}", f"--maildir={maildir}", "--quiet"], env)
    seconds, _ = _run(["mu", "index", f"--muhome={home}", "--quiet"], env)
    size = _du(home)
    shutil.rmtree(home, ignore_errors=True)
    return {"index_seconds": seconds, "msg_per_s": count / seconds, "size_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="messages (10000, 100000, 1000000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/dossier-bench"))
    parser.add_argument("--stage-sample", type=int, default=2000,
                        help="messages for the per-stage split (0: skip it)")
    parser.add_argument("--cli-queries", type=int, default=20)
    parser.add_argument("--no-mbox", action="store_true", help="skip the mbox import")
    parser.add_argument("--no-notmuch", action="store_true")
    parser.add_argument("--no-reindex", action="store_true", help="skip `dossier reindex`")
    parser.add_argument("--copies-of", type=int, metavar="N",
                        help="build the archive as --size/N copies of the generated N-message one "
                             "(scripts/replicate_corpus.py: seconds instead of hours; no mbox)")
    parser.add_argument("--sync", action="store_true", help="also run scripts/bench_sync.py (needs Dovecot)")
    parser.add_argument("--engine", choices=["tantivy", "whoosh"], help="index engine of the archives built")
    parser.add_argument("--workers", type=int, help="[import] workers of the archives built (0: read in-process)")
    parser.add_argument("--parser", choices=["mail-parser", "stdlib"], help="[import] parser of the archives built")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global ENGINE, WORKERS, PARSER
    ENGINE, WORKERS, PARSER = args.engine, args.workers, args.parser

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    # An installed Dossier has its modules compiled; with PYTHONDONTWRITEBYTECODE set (as on the
    # development machine) every CLI call would compile them again and time that too.
    for package in ("config", "index", "ingest", "linker"):
        compileall.compile_dir(ROOT / package, quiet=1)
    corpus = work / f"corpus-{args.size}-{args.seed}"
    if args.copies_of:
        corpus = work / f"corpus-{args.copies_of}x{args.size // args.copies_of}-{args.seed}"
    if not (corpus / "truth.json").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        size = args.copies_of or args.size
        source = work / f"corpus-{size}-{args.seed}"
        if not (source / "truth.json").exists():
            _run([sys.executable, str(ROOT / "scripts" / "gen_corpus.py"), str(source), "--messages", str(size),
                  "--seed", str(args.seed)])
        if args.copies_of:
            _run([sys.executable, str(ROOT / "scripts" / "replicate_corpus.py"), str(source), str(corpus),
                  "--copies", str(args.size // args.copies_of)])
    if args.copies_of:
        args.no_mbox = True  # copies are made of the Maildir only
    truth = json.loads((corpus / "truth.json").read_text())
    maildir_bytes = _du(corpus / "maildir")
    results: dict = {"size": args.size, "maildir_mb": maildir_bytes / 1e6}

    data = work / "data-maildir"
    results["import_maildir"] = measure_import(data, corpus, [corpus / "maildir"])
    sizes = _sizes(data)
    n = results["import_maildir"]["report"]["stored"] or 1
    results["bytes_per_message"] = {k: v / n for k, v in sizes.items()}
    results["disk_vs_maildir"] = sum(sizes.values()) / maildir_bytes
    results["disk_vs_maildir_allocated"] = (
        sum(_sizes(data, allocated=True).values()) / _du(corpus / "maildir", allocated=True)
    )
    results["linking"] = measure_linking(data, truth)
    results["search"] = measure_search(data, truth, args.cli_queries)
    results["relink"] = measure_relink(data)
    if not args.no_reindex:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        results["reindex_s"], _ = _run(DOSSIER + ["--data-dir", str(data), "reindex"])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers
        results["reindex_cpu_s"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        # The rebuilt index is one segment: the size an archive has after the nightly reindex.
        sizes = _sizes(data)
        results["bytes_per_message_after_reindex"] = {k: v / n for k, v in sizes.items()}
        results["disk_vs_maildir_after_reindex"] = sum(sizes.values()) / maildir_bytes
    if not args.no_mbox:
        results["import_mbox"] = measure_import(work / "data-mbox", corpus, sorted((corpus / "mbox").iterdir()))
        shutil.rmtree(work / "data-mbox", ignore_errors=True)
    if args.stage_sample:
        results["stages"] = measure_stages(work / "data-stages", corpus, args.stage_sample)
        shutil.rmtree(work / "data-stages", ignore_errors=True)
    if not args.no_notmuch:
        results["notmuch"] = measure_notmuch(corpus / "maildir", work, truth, args.cli_queries)
        shutil.rmtree(work / "notmuch-mail", ignore_errors=True)
        results["mu"] = measure_mu(corpus / "maildir", work, len(truth["messages"]))
    if args.sync:
        _, out = _run([sys.executable, str(ROOT / "scripts" / "bench_sync.py"), "--messages", str(args.size),
                       "--json"])
        results["sync"] = json.loads(out)

    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    print_table(results)


def print_table(r: dict) -> None:
    im = r["import_maildir"]
    nm = r.get("notmuch")
    rows = [
        ("messages", f"{r['size']:,}", ""),
        ("Maildir size", f"{r['maildir_mb']:.1f} MB", ""),
        ("import from Maildir", f"{im['msg_per_s']:.0f} msg/s ({im['seconds']:.1f} s)",
         f"notmuch new (CJK n-grams) {nm['msg_per_s']:.0f} msg/s: ratio {im['msg_per_s'] / nm['msg_per_s']:.2f}"
         if nm else ""),
    ]
    if r.get("mu"):
        rows.append(("mu index", f"{r['mu']['msg_per_s']:.0f} msg/s ({r['mu']['index_seconds']:.1f} s), "
                     f"db {r['mu']['size_bytes'] / r['size'] / 1024:.1f} KB per message",
                     f"Dossier / mu {im['msg_per_s'] / r['mu']['msg_per_s']:.2f}"))
    if "import_mbox" in r:
        mb = r["import_mbox"]
        rows.append(("import from mbox", f"{mb['msg_per_s']:.0f} msg/s ({mb['seconds']:.1f} s)", ""))
    rows += [
        ("CPU (importer / its reader workers and child writer)",
         f"{im.get('cpu_s', 0):.1f} s / {im.get('children_cpu_s', 0):.1f} s", ""),
        ("peak RSS (importer / largest child: a reader or the index writer)",
         f"{im['rss_mb']:.0f} MB / {im['children_rss_mb']:.0f} MB", ""),
    ]
    if "stages" in r:
        rows.append(("stage shares (sequential, first "
                     f"{r['stages']['messages']})",
                     ", ".join(f"{k} {v:.0%}" for k, v in r["stages"]["share"].items()), ""))
    rows += [
        ("bytes per message", ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in r["bytes_per_message"].items()),
         f"notmuch db {nm['size_bytes'] / r['size'] / 1024:.1f} KB" if nm else ""),
        ("store+db+index vs Maildir", f"{r['disk_vs_maildir']:.2f}x (in disk blocks "
         f"{r['disk_vs_maildir_allocated']:.2f}x)", ""),
    ]
    if "reindex_s" in r:
        rows += [
            ("reindex (wall, CPU)", f"{r['reindex_s']:.1f} s, {r.get('reindex_cpu_s', 0):.1f} s", ""),
            ("bytes per message after reindex",
             ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in r["bytes_per_message_after_reindex"].items()), ""),
            ("store+db+index vs Maildir after reindex", f"{r['disk_vs_maildir_after_reindex']:.2f}x", ""),
        ]
    rows += [
        ("search warm p50 / p95", f"{r['search']['warm_p50_ms']:.1f} / {r['search']['warm_p95_ms']:.1f} ms", ""),
        ("search CLI p50 / p95", f"{r['search']['cli_p50_ms']:.0f} / {r['search']['cli_p95_ms']:.0f} ms",
         f"notmuch search {nm['search_p50_ms']:.0f} / {nm['search_p95_ms']:.0f} ms" if nm else ""),
        ("search CLI with dossier daemon p50 / p95",
         f"{r['search']['cli_daemon_p50_ms']:.0f} / {r['search']['cli_daemon_p95_ms']:.0f} ms "
         f"({r['search']['cli_daemon_outputs_differing']} outputs differing)", ""),
        ("queries with every expected hit", ", ".join(f"{k} {v}" for k, v in r["search"]["all_expected_found"].items()),
         "notmuch " + ", ".join(f"{k} {v}" for k, v in nm["all_expected_found"].items()) if nm else ""),
        ("customer edit re-linking ~7,000 messages: domains added / removed again",
         f"{r['relink']['add_s']:.1f} / {r['relink']['remove_s']:.1f} s ({r['relink']['add_relinked']:,} / "
         f"{r['relink']['remove_relinked']:,} re-linked)", ""),
        ("linking precision / recall", f"{r['linking']['precision']:.3f} / {r['linking']['recall']:.3f}", ""),
    ]
    if "sync" in r:
        s = r["sync"]
        rows.append(("sync initial / re-sync", json.dumps({k: v for k, v in s.items() if k.endswith("_s")}), ""))
    width = max(len(a) for a, _, _ in rows)
    for name, value, peer in rows:
        print(f"{name:<{width}}  {value}" + (f"   [{peer}]" if peer else ""))


if __name__ == "__main__":
    main()
