"""The archive knows itself: its identity and raw store, its nodes, the jobs run once per cluster.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12

- ``archive_identity``: id INTEGER PRIMARY KEY (always 1), archive TEXT NOT NULL (a UUID),
  raw_store TEXT NOT NULL, created_at DATETIME NOT NULL. Empty after the upgrade: the first
  command that opens the archive gives it its id (``config.identity``).
- ``nodes``: id TEXT PRIMARY KEY (a data directory's UUID), host TEXT NOT NULL, data_dir TEXT NOT
  NULL, joined_at DATETIME NOT NULL, pid INTEGER, started_at DATETIME, heartbeat_at DATETIME,
  stopped_at DATETIME, holds JSON NOT NULL.
- ``cluster_jobs``: name TEXT PRIMARY KEY, slot DATETIME NOT NULL, node TEXT NOT NULL,
  started_at DATETIME NOT NULL, finished_at DATETIME.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_identity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("archive", sa.Text, nullable=False),
        sa.Column("raw_store", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "nodes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("data_dir", sa.Text, nullable=False),
        sa.Column("joined_at", sa.DateTime, nullable=False),
        sa.Column("pid", sa.Integer),
        sa.Column("started_at", sa.DateTime),
        sa.Column("heartbeat_at", sa.DateTime),
        sa.Column("stopped_at", sa.DateTime),
        sa.Column("holds", sa.JSON, nullable=False),
    )
    op.create_table(
        "cluster_jobs",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("slot", sa.DateTime, nullable=False),
        sa.Column("node", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("cluster_jobs")
    op.drop_table("nodes")
    op.drop_table("archive_identity")
