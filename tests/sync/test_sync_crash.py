"""SIGKILL `dossier sync` again and again during one long pass against a real Dovecot."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Dossier
from tests.safety.crash import (
    add_customers,
    assert_archive_whole,
    dossier_argv,
    generated_messages,
    kill_loop,
    stored_count,
)

from .conftest import Mailbox, account_toml

MESSAGES = 1600
KILLS = 20


@pytest.mark.slow
def test_sync_survives_repeated_sigkill(dossier: Dossier, dovecot: Mailbox, monkeypatch):
    monkeypatch.setenv("DOSSIER_TEST_IMAP_PASSWORD", dovecot.password)
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + account_toml(dovecot))
    add_customers(dossier)
    messages = generated_messages(MESSAGES, seed=7)
    half = MESSAGES // 2
    dovecot.load_maildir("INBOX", messages[:half])
    dovecot.load_maildir("Customers", messages[half:])

    env = {**os.environ, "DOSSIER_TEST_IMAP_PASSWORD": dovecot.password}
    stored: list[int] = []
    count = stored_count(dossier)
    outcomes = kill_loop(dossier_argv(dossier, "sync"), kills=KILLS, seed=6, progress=count, total=MESSAGES,
                         env=env, after_kill=lambda: stored.append(count()))
    print("killed sync runs:", outcomes.count("killed"), "stored after each:", stored)
    assert outcomes.count("killed") >= KILLS - 2, outcomes
    # Sync commits 200 messages per batch, so the counts take few values; kills still land
    # between fetch, store, commit and cursor moves of different batches.
    assert len(set(stored)) >= 6

    final = dossier.json("sync")
    assert final["errors"] == 0
    # IMAP serves lines ending in CRLF: those are the bytes archived.
    assert_archive_whole(dossier, [m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for m in messages])
    again = dossier.json("sync")  # the cursors are right: nothing is fetched twice
    assert again["fetched"] == 0
