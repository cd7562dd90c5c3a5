"""Addresses, domains, names, folders and content types are TEXT, without a length limit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12

PostgreSQL enforces a VARCHAR's length, SQLite never did: a message with an address over 320
characters (or a domain or content type over 255) stored on SQLite aborted its whole batch on
PostgreSQL. Every column holding a value from mail, a mail server or a customer sheet becomes
TEXT (the values ingest keeps in indexed columns are cut to a bound of their own, recorded as a
defect of the message: ``ingest.records.KEY_BYTES``):

- messages: header_message_id (was VARCHAR(998)), from_email (320), in_reply_to (998)
- message_copies: account (200), folder (1000), mailbox (1000)
- participants: email (320), domain (255)
- attachments: content_type (255)
- folder_states: account (200), folder (1000)
- customers: name (500), country (200), owner (320)
- customer_domains: domain (255); customer_contacts: email (320)
- customer_people: name (200), phone (100)
- links: matched (320)
- users: email (320), name (200); audit_events: actor (320) (the web front end's, revision 0004)

On PostgreSQL VARCHAR to TEXT changes no stored byte (no table is rewritten). SQLite never
enforced a VARCHAR's length and stores both alike, so there the revision changes nothing (re-creating
``messages`` would copy every row, and dropping the old table would cascade to the rows pointing at
it); :func:`config.migrations.compare_type` counts VARCHAR and TEXT as one type on SQLite. A
downgrade cuts longer values to the old lengths.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: table -> column -> (the old length, nullable)
COLUMNS: dict[str, dict[str, tuple[int, bool]]] = {
    "messages": {"header_message_id": (998, True), "from_email": (320, False), "in_reply_to": (998, True)},
    "message_copies": {"account": (200, False), "folder": (1000, False), "mailbox": (1000, False)},
    "participants": {"email": (320, False), "domain": (255, False)},
    "attachments": {"content_type": (255, False)},
    "folder_states": {"account": (200, False), "folder": (1000, False)},
    "customers": {"name": (500, False), "country": (200, False), "owner": (320, False)},
    "customer_domains": {"domain": (255, False)},
    "customer_contacts": {"email": (320, False)},
    "customer_people": {"name": (200, False), "phone": (100, False)},
    "links": {"matched": (320, False)},
    "users": {"email": (320, False), "name": (200, False)},
    "audit_events": {"actor": (320, False)},
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, (length, nullable) in columns.items():
                batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(length),
                                   existing_nullable=nullable)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        if sqlite:  # the declared types never changed; the values are cut as PostgreSQL's are
            op.execute(f"UPDATE {table} SET " + ", ".join(
                f"{column} = substr({column}, 1, {length})" for column, (length, _) in columns.items()))
            continue
        for column, (length, nullable) in columns.items():
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text(),
                            existing_nullable=nullable, postgresql_using=f"left({column}, {length})")
