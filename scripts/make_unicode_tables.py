#!/usr/bin/env python3
"""Write the text analyzer's Unicode tables for the running Python's Unicode version into
index/data/, so that commands load them instead of computing them (about 0.2 s each time).

    .venv/bin/python scripts/make_unicode_tables.py

Run it with each Python version Dossier supports whose Unicode version has no file yet;
tests/index/test_analysis.py checks the shipped file against a fresh computation.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.analysis import _SHIPPED_TABLES, tables_json  # noqa: E402

if __name__ == "__main__":
    target = ROOT / "index" / _SHIPPED_TABLES.format(version=unicodedata.unidata_version)
    target.write_text(tables_json() + "\n", encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)} ({target.stat().st_size:,} bytes)")
