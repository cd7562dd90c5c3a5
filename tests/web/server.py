"""Runs `dossier web` for the browser tests with the clock at the golden tests' day, so that stages
and waits in screenshots do not drift: ``python -m tests.web.server DATA_DIR PORT``."""

from __future__ import annotations

import sys

import time_machine

from tests.golden.harness import CLOCK

if __name__ == "__main__":
    data_dir, port = sys.argv[1], sys.argv[2]
    with time_machine.travel(CLOCK, tick=True):
        from config.cli import main

        main(["--data-dir", data_dir, "web", "--port", port], standalone_mode=True)
