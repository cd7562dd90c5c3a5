"""The entry point pauses the garbage collector while a command starts up; every command that
does real work (import, sync, the daemon) must run with it collecting again, or a long import
would keep every cycle it ever made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Dossier
from tests.timing import scaled

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, data_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code, str(data_dir)], capture_output=True, text=True,
                          cwd=ROOT, timeout=scaled(120))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_collector_runs_again_once_the_archive_opens(dossier: Dossier):
    code = """
import gc, sys
from config import runtime
runtime.pause_collector()
paused = not gc.isenabled()
from config.archive import Archive
from config.settings import load_settings
Archive(load_settings(sys.argv[1])).close()
print(paused, gc.isenabled(), gc.get_freeze_count() > 0)
"""
    assert _run(code, dossier.data_dir) == "True True True"


def test_archive_leaves_a_caller_own_collector_setting_alone(dossier: Dossier):
    # A program that uses Dossier as a library and turned the collector off keeps it off.
    code = """
import gc, sys
gc.disable()
from config.archive import Archive
from config.settings import load_settings
Archive(load_settings(sys.argv[1])).close()
print(gc.isenabled(), gc.get_freeze_count())
"""
    assert _run(code, dossier.data_dir) == "False 0"
