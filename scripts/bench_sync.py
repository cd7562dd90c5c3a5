#!/usr/bin/env python3
"""Benchmark `dossier sync` against `mbsync` (Debian `isync`) on the same local Dovecot.

Starts a private Dovecot on 127.0.0.1 (as the test suite does; needs `dovecot-imapd`), loads a
generated mailbox of ``--messages`` messages (English and Chinese, ~3.8 KB median) spread over
``--folders`` folders, then times, each as a whole command including process start:

  1. `mbsync` initial sync into a scratch Maildir, and `dossier sync` initial sync into a fresh
     archive (fetch + store + parse + link + index);
  2. both again with nothing new (the no-change re-sync of every folder), ``--resyncs`` times
     each; the median counts.

Not part of the test run. Prints a table, or one JSON object with --json.

    .venv/bin/python scripts/bench_sync.py [--messages 10000] [--folders 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.sync.dovecot import DovecotServer, Mailbox  # noqa: E402

WORDS = ("quotation price offer sample order shipment invoice pump valve flange steel delivery FOB CIF "
         "Ningbo Shanghai container payment terms discount catalogue specification drawing tolerance").split()
CHINESE = "报价单价格样品订单发货发票水泵阀门法兰不锈钢交货期付款条件折扣目录规格图纸公差宁波上海集装箱"
DOMAINS = ["acme-industrial.com", "globex.de", "initech.co.uk", "haitong-trading.cn", "qq.com", "163.com"]


def generate(count: int, seed: int = 7):
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    for n in range(count):
        msg = EmailMessage()
        domain = rng.choice(DOMAINS)
        msg["From"] = f"Buyer {n % 97} <buyer{n % 97}@{domain}>"
        msg["To"] = "Anna <anna@northwind-trading.com>"
        msg["Subject"] = " ".join(rng.choices(WORDS, k=5)) + " " + "".join(rng.choices(CHINESE, k=4))
        msg["Date"] = format_datetime(start + timedelta(minutes=37 * n))
        msg["Message-ID"] = make_msgid(domain=domain)
        paragraphs = []
        for _ in range(rng.randint(4, 14)):
            paragraphs.append(" ".join(rng.choices(WORDS, k=rng.randint(20, 40))))
            if rng.random() < 0.4:
                paragraphs.append("".join(rng.choices(CHINESE, k=rng.randint(20, 60))))
        msg.set_content("\n\n".join(paragraphs))
        yield msg.as_bytes()


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {done.stderr.strip()[-500:]}")
    return elapsed, done


def mbsync_config(mailbox: Mailbox, target: Path) -> Path:
    conf = target.parent / "mbsyncrc"
    conf.write_text(f"""IMAPAccount bench
Host 127.0.0.1
Port {mailbox.port}
User {mailbox.user}
Pass {mailbox.password}
SSLType None
AuthMechs LOGIN

IMAPStore bench-remote
Account bench

MaildirStore bench-local
Path {target}/
Inbox {target}/INBOX
SubFolders Verbatim

Channel bench
Far :bench-remote:
Near :bench-local:
Patterns *
Create Near
Sync Pull
SyncState *
""")
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=10)
    parser.add_argument("--resyncs", type=int, default=5, help="no-change re-syncs timed each (the median counts)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dossier-bench-sync-"))
    os.chmod(work, 0o711)
    (work / "dovecot").mkdir()
    server = DovecotServer(work / "dovecot")
    server.start()
    try:
        mailbox = server.add_mailbox()
        messages = list(generate(args.messages))
        sizes = sorted(len(m) for m in messages)
        per_folder = -(-len(messages) // args.folders)
        names = ["INBOX"] + [f"Customers{n:02d}" for n in range(1, args.folders)]
        for i, name in enumerate(names):
            mailbox.load_maildir(name, messages[i * per_folder:(i + 1) * per_folder])
        mailbox_bytes = sum(sizes)

        results: dict[str, object] = {
            "messages": len(messages), "folders": len(names),
            "median_bytes": sizes[len(sizes) // 2], "mailbox_mb": round(mailbox_bytes / 1e6, 1),
        }
        if shutil.which("mbsync"):
            target = work / "mbsync-maildir"
            target.mkdir()
            conf = mbsync_config(mailbox, target)
            results["mbsync_initial_s"], _ = timed(["mbsync", "-q", "-c", str(conf), "bench"])
            results["mbsync_resync_s"] = median(timed(["mbsync", "-q", "-c", str(conf), "bench"])[0]
                                                for _ in range(args.resyncs))

        dossier = str(Path(sys.executable).with_name("dossier"))
        data = work / "dossier-data"
        env = {**os.environ, "DOSSIER_HOME": str(data), "DOSSIER_BENCH_PW": mailbox.password}
        timed([dossier, "init", "--own-domain", "northwind-trading.com"], env)
        config = data / "dossier.toml"
        config.write_text(config.read_text() + f"""
[[accounts]]
name = "bench"
host = "127.0.0.1"
port = {mailbox.port}
security = "none"
username = "{mailbox.user}"
password_env = "DOSSIER_BENCH_PW"
""")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        results["dossier_initial_s"], done = timed([dossier, "sync", "--json"], env)
        results["dossier_peak_rss_mb"] = round(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                                               / 1024, 1)
        results["dossier_initial_report"] = json.loads(done.stdout)
        resyncs = [timed([dossier, "sync", "--json"], env) for _ in range(args.resyncs)]
        results["dossier_resync_s"] = median(seconds for seconds, _ in resyncs)
        results["dossier_resync_all_s"] = [round(seconds, 3) for seconds, _ in resyncs]
        results["dossier_resync_report"] = json.loads(resyncs[-1][1].stdout)
        results["dossier_rate_msg_s"] = round(len(messages) / results["dossier_initial_s"], 1)
        if "mbsync_initial_s" in results:
            results["initial_ratio"] = round(results["dossier_initial_s"] / results["mbsync_initial_s"], 2)
        for key, value in list(results.items()):
            if isinstance(value, float):
                results[key] = round(value, 3)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['messages']} messages in {results['folders']} folders, median {results['median_bytes']} B, "
          f"{results['mailbox_mb']} MB")
    print(f"{'':28}{'initial sync':>14}{'no-change re-sync':>20}  (re-sync: median of {args.resyncs})")
    if "mbsync_initial_s" in results:
        print(f"{'mbsync':28}{results['mbsync_initial_s']:>13.2f}s{results['mbsync_resync_s']:>19.2f}s")
    print(f"{'dossier sync':28}{results['dossier_initial_s']:>13.2f}s{results['dossier_resync_s']:>19.2f}s")
    if "initial_ratio" in results:
        print(f"dossier / mbsync (initial): {results['initial_ratio']}x; dossier {results['dossier_rate_msg_s']} msg/s,"
              f" peak RSS {results['dossier_peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
