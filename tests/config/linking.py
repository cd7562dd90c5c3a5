"""Helpers for linking tests against a real archive: writing mail files, reading the stored links."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from config import Archive, load_settings
from ingest import Message
from linker import Customer, Link
from tests.conftest import OWN, Dossier  # noqa: F401  (OWN is re-exported for the tests)


def write_mail(folder: Path, name: str, raw: bytes, *headers: str) -> None:
    """Save one message, with extra header lines (``"In-Reply-To: <m1@x>"``) put in front."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"".join(h.encode() + b"\n" for h in headers) + raw)


def link_rows(d: Dossier) -> set[tuple[str, str, str, str, str]]:
    """Every link as (Message-ID, customer, role, method, matched), read from the database."""
    archive = Archive(load_settings(d.data_dir))
    try:
        with archive.sessions() as s:
            rows = s.execute(
                select(Message.header_message_id, Customer.name, Link.role, Link.method, Link.matched)
                .join(Link, Link.message_id == Message.id).join(Customer, Customer.id == Link.customer_id)
            ).all()
    finally:
        archive.close()
    return {tuple(r) for r in rows}


def links_of(d: Dossier) -> dict[str, set[tuple[str, str]]]:
    """Message-ID -> {(customer, method)}."""
    out: dict[str, set[tuple[str, str]]] = {}
    for mid, name, _, method, _ in link_rows(d):
        out.setdefault(mid, set()).add((name, method))
    return out
