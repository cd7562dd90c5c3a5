"""``python -m config.migrations ARGS``: Alembic's command line on Dossier's revisions, against a
scratch SQLite database (``--db PATH``, default ``migrations-scratch.db``) — for writing revisions
(``revision --autogenerate -m "..."`` after ``upgrade head``), never for an archive."""

from __future__ import annotations

import sys

from alembic.config import CommandLine
from sqlalchemy import create_engine

from . import alembic_config


def main(argv: list[str]) -> None:
    path = "migrations-scratch.db"
    if argv[:1] == ["--db"] and len(argv) > 1:
        path, argv = argv[1], argv[2:]
    cli = CommandLine(prog="python -m config.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        cli.run_cmd(alembic_config(connection), options)


if __name__ == "__main__":
    main(sys.argv[1:])
