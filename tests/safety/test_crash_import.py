"""SIGKILL `dossier import` again and again during one long import: nothing lost, nothing twice."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from tests.conftest import ENGINES, Dossier

from .crash import (
    add_customers,
    assert_archive_whole,
    dossier_argv,
    generated_messages,
    kill_loop,
    set_batch_size,
    stored_count,
)

MESSAGES = 2000
KILLS = 22


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)  # kills land in each engine's commits (and tantivy's merges)
def test_import_survives_repeated_sigkill(dossier: Dossier, tmp_path: Path):
    add_customers(dossier)
    set_batch_size(dossier, 25)  # many batch boundaries: kills land in every stage of a batch
    messages = generated_messages(MESSAGES)
    box = mailbox.mbox(str(tmp_path / "big.mbox"))
    for data in messages:
        box.add(data)
    box.flush()
    box.close()

    # Each run resumes the same import; the delays (seeded) cover start-up, index_pending at
    # start, mid-batch, index commits and the final commit.
    argv = dossier_argv(dossier, "import", str(tmp_path / "big.mbox"), "--account", "anna")
    stored: list[tuple[int, int]] = []

    def record() -> None:
        status = dossier.json("status")
        stored.append((status["messages"], status["pending_index"]))

    outcomes = kill_loop(argv, kills=KILLS, seed=20261129, progress=stored_count(dossier), total=MESSAGES,
                         after_kill=record)
    print("killed runs:", outcomes.count("killed"), "stored/pending after each:", stored)
    assert outcomes.count("killed") >= 20, outcomes
    assert any(0 < count < MESSAGES or pending for count, pending in stored)  # the kills left work half done
    assert len({count for count, _ in stored}) >= 10  # and landed at many different points

    final = dossier.json("import", tmp_path / "big.mbox", "--account", "anna")
    assert final["seen"] == MESSAGES and final["failed"] == 0
    assert_archive_whole(dossier, messages)
    # The links equal a fresh import's (check compares them with a relink; spot-check search too).
    assert dossier.json("search", "", "--customer", "acme", "--limit", "5")
