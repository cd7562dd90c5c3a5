"""Customers get an owner (the rep in charge) and contact persons with phones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

- ``customers.owner``: VARCHAR(320) NOT NULL DEFAULT '', indexed (``ix_customers_owner``).
- ``customer_people``: id, customer_id (FK customers.id ON DELETE CASCADE), name VARCHAR(200),
  phone VARCHAR(100); unique (customer_id, name, phone); index ``ix_customer_people_customer``.
- Data: before this revision a sheet's owner column was kept as a custom field; the first custom
  field whose name says "owner" (``owner``, ``负责人``, ``Sales Rep`` …, the list below, frozen
  here) moves into ``owner`` and leaves ``fields``. Downgrading puts it back as ``fields["owner"]``.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copy of the owner headers linker/columns.py recognised when this revision was written.
_OWNER_WORDS_ZH = ("负责人", "业务员", "跟进人", "跟单员", "客户经理", "销售")
_OWNER_NOT_ZH = ("销售额", "销售量")
_OWNER_PHRASES_EN = ("owner", "sales rep", "salesrep", "sales representative", "salesperson", "sales person",
                     "salesman", "account manager", "account owner", "rep", "responsible")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_customers = sa.table(
    "customers", sa.column("id", sa.Integer), sa.column("fields", sa.JSON), sa.column("owner", sa.String),
)


def _is_owner_key(key: str) -> bool:
    text = " ".join(unicodedata.normalize("NFKC", key).casefold().split())
    if any(w in text for w in _OWNER_WORDS_ZH) and not any(w in text for w in _OWNER_NOT_ZH):
        return True
    words = " ".join(re.findall(r"[a-z]+", text))
    return any(re.search(rf"\b{re.escape(p)}\b", words) for p in _OWNER_PHRASES_EN)


def _owner_value(value: object) -> str:
    text = " ".join(unicodedata.normalize("NFKC", str(value)).split())
    return text.lower() if _EMAIL.match(text) else text


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("owner", sa.String(320), nullable=False, server_default=""))
        batch.create_index("ix_customers_owner", ["owner"])
    op.create_table(
        "customer_people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(100), nullable=False),
        sa.UniqueConstraint("customer_id", "name", "phone"),
        sa.Index("ix_customer_people_customer", "customer_id"),
    )
    bind = op.get_bind()
    for cid, fields in bind.execute(sa.select(_customers.c.id, _customers.c.fields)).all():
        if not isinstance(fields, dict):
            continue
        key = next((k for k, v in fields.items() if _is_owner_key(k) and str(v).strip()), None)
        if key is None:
            continue
        rest = {k: v for k, v in fields.items() if k != key}
        bind.execute(sa.update(_customers).where(_customers.c.id == cid)
                     .values(owner=_owner_value(fields[key]), fields=rest))


def downgrade() -> None:
    bind = op.get_bind()
    for cid, fields, owner in bind.execute(
        sa.select(_customers.c.id, _customers.c.fields, _customers.c.owner).where(_customers.c.owner != "")
    ).all():
        fields = dict(fields or {})
        fields.setdefault("owner", owner)
        bind.execute(sa.update(_customers).where(_customers.c.id == cid).values(fields=fields))
    op.drop_table("customer_people")
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_owner")
        batch.drop_column("owner")
