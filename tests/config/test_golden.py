"""Every command prints what it printed when the golden outputs were recorded (tests/golden/).

A refactoring promises byte-identical output; a deliberate change of output re-records the
files with ``python -m tests.golden.harness --write`` and says so in its commit.
"""

from __future__ import annotations

import pytest

from tests.golden.harness import differences, record


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sample", "gen2000"])
def test_every_command_prints_what_it_printed_before(name: str):
    assert differences(name, record(name)) == []
