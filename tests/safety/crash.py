"""Helpers for the crash tests: a generated corpus, a kill loop, and the "archive is whole" assertion."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import func, select

from config.archive import Archive
from config.settings import load_settings
from ingest import Message, MessageCopy
from tests.conftest import REPO, Dossier
from tests.timing import scaled

#: Customers the generated mail links to (by domain, by exact address).
CUSTOMERS = [
    ("Acme Industrial", "acme-industrial.com", None),
    ("Haitong Trading", "haitong.cn", None),
    ("Joe Buyer", None, "buyer.joe@gmail.com"),
]
_SENDERS = ["li.wei@acme-industrial.com", "zhang@haitong.cn", "buyer.joe@gmail.com",
            "news@mailer.example.net", "someone@unknown-co.de"]


def generated_messages(count: int, *, seed: int = 6) -> list[bytes]:
    """``count`` small distinct messages: customer mail, replies that inherit links, Chinese text."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    out = []
    for n in range(count):
        msg = EmailMessage()
        sender = rng.choice(_SENDERS)
        inbound = rng.random() < 0.6
        msg["From"] = sender if inbound else "rep@northwind-trading.com"
        msg["To"] = "rep@northwind-trading.com" if inbound else sender
        if n and rng.random() < 0.3:  # a reply to an earlier message (some by an unknown address)
            parent = rng.randrange(n)
            msg["In-Reply-To"] = f"<gen{parent}@example.org>"
            if rng.random() < 0.5:
                msg.replace_header("From", "assistant@private-mail.example")
                msg.replace_header("To", "rep@northwind-trading.com")
        msg["Subject"] = f"Order {n} " + rng.choice(["quotation", "报价单", "shipment", "invoice"])
        msg["Date"] = format_datetime(start + timedelta(minutes=37 * n))
        msg["Message-ID"] = f"<gen{n}@example.org>"
        msg.set_content(f"Message number {n}. " + rng.choice(["Unit price USD 12.50 FOB Ningbo.", "请确认交货期。",
                                                             "See you next week."]) + " filler" * rng.randrange(5, 60))
        out.append(msg.as_bytes())
    return out


def add_customers(dossier: Dossier) -> None:
    for name, domain, email in CUSTOMERS:
        args = ["customers", "add", name]
        args += (["--domain", domain] if domain else []) + (["--email", email] if email else [])
        dossier.run(*args)


def set_batch_size(dossier: Dossier, size: int) -> None:
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace("batch_size = 200", f"batch_size = {size}"))


def kill_loop(argv: list[str], *, kills: int, seed: int, progress, total: int, env=None,
              after_kill=lambda: None) -> list[str]:
    """Run ``argv`` again and again, SIGKILLing it at ``kills`` points spread over one long run.

    Kill points are drawn from ``seed``: a threshold of ``progress()`` (say, messages stored)
    between 0 and ``total``, rising run by run, plus a delay of up to half a second after the
    threshold is crossed, so kills land in start-up, mid-batch, in index commits and in the
    final commit. Returns how each run ended ("killed", or "finished" before its kill point);
    ``after_kill`` runs after each run (to record progress).
    """
    rng = random.Random(seed)
    thresholds = sorted(rng.randrange(0, total) for _ in range(kills))
    outcomes = []
    for threshold in thresholds:
        extra = rng.uniform(0.0, 0.5)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO)
        deadline = time.monotonic() + scaled(120)
        while proc.poll() is None and progress() < threshold and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(extra)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            outcomes.append("killed")
        else:
            outcomes.append("finished")
        proc.wait()
        after_kill()
    return outcomes


def stored_count(dossier: Dossier):
    """A cheap progress probe: rows in ``messages``, read with sqlite3 or psycopg (no SQLAlchemy, no lock)."""
    url = load_settings(dossier.data_dir).database_url
    if not url.startswith("sqlite"):
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")

        def count_on_server() -> int:
            try:
                with psycopg.connect(conninfo, connect_timeout=2) as connection:
                    return connection.execute("SELECT count(*) FROM messages").fetchone()[0]
            except psycopg.Error:
                return 0

        return count_on_server
    db = dossier.data_dir / "dossier.db"

    def count() -> int:
        try:
            with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as connection:
                return connection.execute("SELECT count(*) FROM messages").fetchone()[0]
        except sqlite3.Error:
            return 0

    return count


def dossier_argv(dossier: Dossier, *args: str) -> list[str]:
    return [sys.executable, "-m", "config.cli", "--data-dir", str(dossier.data_dir), *args]


def assert_archive_whole(dossier: Dossier, expected: list[bytes], *, folders: int = 1) -> None:
    """Every expected message stored exactly once (one copy per folder), the index holds exactly
    the stored messages, no orphan blob or row, and `dossier check` is clean."""
    archive = Archive(load_settings(dossier.data_dir))
    try:
        with archive.sessions() as session:
            shas = session.scalars(select(Message.sha256)).all()
            statuses = Counter(session.scalars(select(Message.status)))
            headers = Counter(session.scalars(select(Message.header_message_id)))
            copies = session.scalar(select(func.count()).select_from(MessageCopy))
            pending = session.scalar(select(func.count()).select_from(Message).where(Message.indexed_at.is_(None)))
        documents = Counter(doc_id for doc_id, _ in archive.index.stored_documents())
        blobs = set(archive.raw.iter_hashes())
        partial = archive.raw.temp_files()
    finally:
        archive.close()
    from ingest import hash_bytes

    want = {hash_bytes(m) for m in expected}
    assert set(shas) == want and len(shas) == len(want)
    assert statuses == {"ok": len(want)}
    assert all(count == 1 for count in headers.values())
    assert copies == len(want) * folders
    assert pending == 0
    assert set(documents) == want and all(count == 1 for count in documents.values())
    assert blobs == want and not partial
    report = json.loads(dossier.run("check", "--json").stdout)
    assert report["clean"], report["findings"][:10]
