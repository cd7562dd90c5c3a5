"""A real database (SQLite, and PostgreSQL) with the ingest tables, for the functions that take a Session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import tables_session


@pytest.fixture
def session(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session on a SQLite file, or on a fresh PostgreSQL database, holding the models' tables."""
    with tables_session(backend, request, f"sqlite:///{tmp_path / 'ingest.db'}") as session:
        yield session
