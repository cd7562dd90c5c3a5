"""Baseline: the schema of Dossier 0.1.0, the last release before migrations.

Revision ID: 0001
Revises:
Create Date: 2026-12-06

The tables are written out here, frozen, rather than taken from the models (which move on with
later revisions). Archives made before migrations existed have no ``alembic_version`` table and
may lack columns or indexes that 0.1.0 added on open; this revision brings any of them to the
0.1.0 schema: it creates what is missing (tables, nullable columns, indexes) and leaves what is
there. On an empty database it simply creates everything.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "messages", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("header_message_id", sa.String(998), index=True),
        sa.Column("is_variant", sa.Boolean, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("from_name", sa.Text, nullable=False),
        sa.Column("from_email", sa.String(320), nullable=False, index=True),
        sa.Column("date", sa.DateTime, nullable=False, index=True),
        sa.Column("date_offset", sa.Integer),
        sa.Column("date_source", sa.String(16), nullable=False),
        sa.Column("in_reply_to", sa.String(998), index=True),
        sa.Column("references", sa.JSON, nullable=False),
        sa.Column("is_html_only", sa.Boolean, nullable=False),
        sa.Column("defects", sa.JSON, nullable=False),
        sa.Column("is_internal", sa.Boolean, nullable=False),
        sa.Column("is_bulk", sa.Boolean),
        sa.Column("stored_at", sa.DateTime, nullable=False),
        sa.Column("indexed_at", sa.DateTime, index=True),
    )
    sa.Table(
        "message_copies", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("folder", sa.String(1000), nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("found_at", sa.DateTime, nullable=False),
        sa.Column("uid", sa.BigInteger),
        sa.Column("flags", sa.JSON),
        sa.Column("internaldate", sa.DateTime),
        sa.Column("labels", sa.JSON),
        sa.UniqueConstraint("message_id", "account", "folder"),
        sa.Index("ix_message_copies_place_uid", "account", "folder", "uid"),
    )
    sa.Table(
        "participants", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Index("ix_participants_email", "email"),
        sa.Index("ix_participants_domain", "domain"),
        sa.Index("ix_participants_message", "message_id"),
    )
    sa.Table(
        "attachments", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("text_status", sa.Text),
        sa.Index("ix_attachments_message", "message_id"),
    )
    sa.Table(
        "folder_states", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("folder", sa.String(1000), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("uidvalidity", sa.BigInteger),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("uidnext", sa.BigInteger),
        sa.Column("highestmodseq", sa.BigInteger),
        sa.Column("exists", sa.Integer, nullable=False),
        sa.Column("gaps", sa.JSON, nullable=False),
        sa.Column("uidvalidity_changes", sa.Integer, nullable=False),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_attempt_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("account", "folder"),
    )
    sa.Table(
        "customers", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("country", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "customer_domains", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.UniqueConstraint("customer_id", "domain"),
        sa.Index("ix_customer_domains_domain", "domain"),
    )
    sa.Table(
        "customer_contacts", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.UniqueConstraint("customer_id", "email"),
        sa.Index("ix_customer_contacts_email", "email"),
    )
    sa.Table(
        "links", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("matched", sa.String(320), nullable=False),
        sa.UniqueConstraint("message_id", "customer_id", "role"),
        sa.Index("ix_links_customer", "customer_id"),
    )
    sa.Table(
        "link_overrides", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("message_id", "customer_id"),
        sa.Index("ix_link_overrides_customer", "customer_id"),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    _tables(metadata)
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            table.create(bind)
            continue
        # An archive from before 0.1.0: add what that release added on open (nullable columns
        # and their indexes), as it did.
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in present]
        if missing:
            with op.batch_alter_table(table.name) as batch:
                for column in missing:
                    batch.add_column(sa.Column(column.name, column.type, nullable=True))
        indexed = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexed:
                index.create(bind)


def downgrade() -> None:
    metadata = sa.MetaData()
    _tables(metadata)
    metadata.drop_all(op.get_bind())
