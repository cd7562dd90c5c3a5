"""The linker as a stage on its own: a session on an in-memory SQLite database (and on a fresh
PostgreSQL one) whose schema comes from the models' metadata (no ``config``), and a way to store
messages with their participants directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import linker.models  # noqa: F401  (the linker's tables on the shared metadata)
from ingest.models import Message, ParticipantRow
from linker import Customer, Directory, Link, load_directory, load_freemail
from tests.conftest import tables_session

OWN = "northwind-trading.com"


@pytest.fixture
def session(backend: str, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session on an in-memory SQLite database, or on a fresh PostgreSQL one, with the models' tables."""
    with tables_session(backend, request, "sqlite://") as s:
        yield s


def add_message(session: Session, header: str, day: int, *people: tuple[str, str], in_reply_to: str | None = None,
                bulk: bool = False) -> Message:
    """Store a message ``<header>`` with participants given as (role, address)."""
    when = datetime(2024, 3, day)
    message = Message(sha256=header.ljust(64, "0"), size=1, status="ok", header_message_id=header, subject=header,
                      from_email=people[0][1] if people else "", date=when, date_source="date",
                      in_reply_to=in_reply_to, references=[], defects=[], is_bulk=bulk, stored_at=when)
    session.add(message)
    session.flush()
    for role, email in people:
        session.add(ParticipantRow(message_id=message.id, role=role, name="", email=email,
                                   domain=email.rpartition("@")[2]))
    session.flush()
    return message


def directory(session: Session) -> Directory:
    return load_directory(session, own_domains=[OWN], freemail=load_freemail())


def links(session: Session) -> set[tuple[str, str, str]]:
    """Every stored link as (Message-ID, customer, method)."""
    rows = session.execute(select(Message.header_message_id, Customer.name, Link.method)
                           .join(Link, Link.message_id == Message.id).join(Customer, Customer.id == Link.customer_id))
    return {tuple(r) for r in rows}
