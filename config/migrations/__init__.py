"""Database migrations (Alembic): the schema's history, and bringing an archive's database to it.

Every schema change is a revision in ``versions/``. :func:`config.db.make_engine` upgrades an
archive's database to :data:`HEAD` when it opens it (and ``dossier upgrade`` does so on demand);
an archive at HEAD costs one look at ``alembic_version`` and never imports Alembic.

New revision (against a scratch database at head): ``python -m config.migrations revision -m "..."``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

#: The newest revision; a test checks it against the scripts in ``versions/``.
HEAD = "0006"

SCRIPTS = Path(__file__).resolve().parent


def alembic_config(connection: Connection):
    """Alembic's configuration for Dossier's revisions, running on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type) -> bool | None:
    """Alembic's type comparison, but SQLite's VARCHAR(n) and TEXT are one type: SQLite never
    enforced a length, so revision 0005 left its declared types as they were. None: Alembic's default."""
    from sqlalchemy import String

    if context.dialect.name == "sqlite" and isinstance(inspected_type, String) and isinstance(metadata_type, String):
        return False
    return None
