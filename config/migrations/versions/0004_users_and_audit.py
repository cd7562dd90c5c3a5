"""Users of the web front end and the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

- ``users``: id, email VARCHAR(320) NOT NULL UNIQUE, name VARCHAR(200) NOT NULL, role VARCHAR(16)
  NOT NULL (admin, manager, rep), password_hash VARCHAR(200) NOT NULL (Argon2), is_disabled
  BOOLEAN NOT NULL, created_at DATETIME NOT NULL.
- ``audit_events``: id, at DATETIME NOT NULL (UTC), actor VARCHAR(320) NOT NULL, action
  VARCHAR(32) NOT NULL, detail TEXT NOT NULL, address VARCHAR(64) NOT NULL; indexes
  ``ix_audit_events_at`` (at), ``ix_audit_events_actor`` (actor, at), ``ix_audit_events_address``
  (address, at): the sign-in throttle counts recent failures per account and per address.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("is_disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Index("ix_audit_events_at", "at"),
        sa.Index("ix_audit_events_actor", "actor", "at"),
        sa.Index("ix_audit_events_address", "address", "at"),
    )


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("users")
