"""A folder copy is keyed by the source's own folder name and keeps the UIDVALIDITY of its UID; a
message keeps the quote term its reading found, an attachment whether it is a quote.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10

``message_copies`` gains ``mailbox`` (the source's own name for the folder: on IMAP the server's
modified UTF-7 name, which ``folder_states.folder`` already holds; elsewhere the folder name) and
``uidvalidity`` (the UIDVALIDITY the copy's UID belongs to). ``folder`` stays, the name people
read. One copy per message, account and ``mailbox`` (was: ``folder``); the IMAP lookup index
covers account, mailbox, UIDVALIDITY and UID.

Existing rows: an IMAP copy is recognised by its folder state (same account, ``folder_states.name``
equal to the copy's decoded folder) and takes that state's raw name, and, when it has a UID, the
state's UIDVALIDITY (the UID was kept under the current one; copies whose UID an earlier
UIDVALIDITY change cleared stay without). Every other copy's mailbox is its folder.

``messages.quote_term`` (NULL: not a quote) and ``attachments.is_quote`` keep what reading a
message found (``ingest.reading``), so that the customer dossier reads them instead of looking
for quotes again. Existing rows get them from the subject and the attachments' file names, as
the dossier computed them until now, with this release's quote words; titles inside attachments
count from the next ``dossier reindex``, which reads every message again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: What an unnamed constraint reflected from SQLite is called inside a batch operation.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _unique_name(columns: list[str]) -> str | None:
    """The name of message_copies' unique constraint on ``columns`` (SQLite leaves it unnamed:
    then the batch naming convention's name); None when there is none (a database older than
    0.1.0 that the baseline adopted may lack it)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("message_copies"):
        if constraint["column_names"] == columns:
            return constraint["name"] or "uq_message_copies_" + "_".join(columns)
    return None


def _fill() -> None:
    copies = sa.table("message_copies", sa.column("account"), sa.column("folder"), sa.column("mailbox"),
                      sa.column("uid"), sa.column("uidvalidity"))
    states = sa.table("folder_states", sa.column("account"), sa.column("folder"), sa.column("name"),
                      sa.column("uidvalidity"))
    same_place = sa.and_(states.c.account == copies.c.account, states.c.name == copies.c.folder)
    op.execute(copies.update().values(
        mailbox=sa.func.coalesce(
            sa.select(sa.func.min(states.c.folder)).where(same_place).scalar_subquery(), copies.c.folder),
        uidvalidity=sa.case(
            (copies.c.uid.is_not(None),
             sa.select(sa.func.min(states.c.uidvalidity)).where(same_place).scalar_subquery()),
            else_=sa.null()),
    ))


def _mark_quotes() -> None:
    from ingest.quotes import quote_term  # a data migration: the quote words of this release

    bind = op.get_bind()
    attachments = sa.table("attachments", sa.column("id"), sa.column("message_id"), sa.column("filename"),
                           sa.column("is_quote"))
    messages = sa.table("messages", sa.column("id"), sa.column("status"), sa.column("subject"),
                        sa.column("quote_term"))
    quote_files: list[int] = []
    file_terms: dict[int, str] = {}  # message id -> the term of its first quote file
    rows = bind.execute(sa.select(attachments.c.id, attachments.c.message_id, attachments.c.filename)
                        .order_by(attachments.c.id))
    for attachment_id, message_id, filename in rows:
        term = quote_term(filename or "")
        if term:
            quote_files.append(attachment_id)
            file_terms.setdefault(message_id, term)
    for start in range(0, len(quote_files), 500):
        bind.execute(attachments.update().where(attachments.c.id.in_(quote_files[start:start + 500]))
                     .values(is_quote=True))
    terms = []
    for message_id, subject in bind.execute(sa.select(messages.c.id, messages.c.subject)
                                            .where(messages.c.status == "ok")):
        term = quote_term(subject or "") or file_terms.get(message_id)
        if term:
            terms.append({"message": message_id, "term": term})
    if terms:
        bind.execute(messages.update().where(messages.c.id == sa.bindparam("message"))
                     .values(quote_term=sa.bindparam("term")), terms)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("quote_term", sa.Text, nullable=True))
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("is_quote", sa.Boolean, nullable=False, server_default=sa.false()))
    _mark_quotes()

    old_unique = _unique_name(["message_id", "account", "folder"])
    with op.batch_alter_table("message_copies") as batch:
        batch.add_column(sa.Column("mailbox", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("uidvalidity", sa.BigInteger, nullable=True))
    _fill()
    with op.batch_alter_table("message_copies", naming_convention=_NAMING) as batch:
        batch.alter_column("mailbox", existing_type=sa.String(1000), nullable=False)
        if old_unique:
            batch.drop_constraint(old_unique, type_="unique")
        batch.create_unique_constraint("uq_message_copies_place", ["message_id", "account", "mailbox"])
        batch.drop_index("ix_message_copies_place_uid")
        batch.create_index("ix_message_copies_imap", ["account", "mailbox", "uidvalidity", "uid"])


def downgrade() -> None:
    # Copies that differ only in mailbox (two server names shown alike) would break the old key:
    # keep the first of each.
    copies = sa.table("message_copies", sa.column("id"), sa.column("message_id"), sa.column("account"),
                      sa.column("folder"))
    first = (sa.select(sa.func.min(copies.c.id))
             .group_by(copies.c.message_id, copies.c.account, copies.c.folder).scalar_subquery())
    op.execute(copies.delete().where(copies.c.id.not_in(first)))
    with op.batch_alter_table("message_copies", naming_convention=_NAMING) as batch:
        batch.drop_index("ix_message_copies_imap")
        batch.drop_constraint("uq_message_copies_place", type_="unique")
        batch.create_unique_constraint("uq_message_copies_message_id_account_folder",
                                       ["message_id", "account", "folder"])
        batch.create_index("ix_message_copies_place_uid", ["account", "folder", "uid"])
        batch.drop_column("uidvalidity")
        batch.drop_column("mailbox")
    # Never re-create messages on SQLite (a batch's copy-and-rename): dropping the old table would
    # cascade to every row that references it. ALTER TABLE DROP COLUMN needs SQLite 3.35.
    op.drop_column("attachments", "is_quote")
    op.drop_column("messages", "quote_term")
