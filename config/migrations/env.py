"""Alembic's environment: runs revisions on the connection Dossier passes in (never a URL of its own)."""

from __future__ import annotations

from alembic import context

import config.models  # noqa: F401  (registers the composition root's tables: identity, nodes, users, audit)
import linker.models  # noqa: F401  (and the linker's)
from config.migrations import compare_type
from ingest.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=compare_type)
with context.begin_transaction():
    context.run_migrations()
