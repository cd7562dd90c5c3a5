"""`dossier reindex` covers every stored message even when the clock was set back after they
were stored (NTP stepping a fast clock back, a restored VM snapshot)."""

from __future__ import annotations

from datetime import datetime, timezone

import time_machine

from tests.conftest import Dossier, make_message


def test_reindex_keeps_messages_stored_at_a_later_clock_time(dossier: Dossier, tmp_path):
    box = tmp_path / "mail"
    box.mkdir()
    for n in range(3):
        (box / f"{n}.eml").write_bytes(make_message(subject=f"pump order {n}", message_id=f"<m{n}@x>"))
    with time_machine.travel(datetime(2031, 1, 1, tzinfo=timezone.utc), tick=True):
        assert dossier.json("import", box)["stored"] == 3
    # Back to the real (earlier) time: the messages were stored "in the future".
    assert "Index rebuilt: 3 messages" in dossier.run("reindex").output
    assert len(dossier.json("search", "pump")) == 3
    assert dossier.json("check")["clean"]
