"""``python -m config.cli``: the same as the ``dossier`` command."""

from config.cli import run

run()
