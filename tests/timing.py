"""Wall-clock bounds in tests, scaled by ``$DOSSIER_TEST_TIME_FACTOR`` for slow or loaded machines."""

from __future__ import annotations

import os

#: The environment variable; 1 (the default) keeps every bound as written, 3 allows three times as long.
VARIABLE = "DOSSIER_TEST_TIME_FACTOR"


def time_factor() -> float:
    """The factor from the environment; a value that is not a positive number is a usage error."""
    value = os.environ.get(VARIABLE, "").strip() or "1"
    try:
        factor = float(value)
    except ValueError:
        factor = 0.0
    if not factor > 0 or factor == float("inf"):
        raise ValueError(f"{VARIABLE}={value!r} is not a positive number; set it to e.g. 2, or unset it")
    return factor


def scaled(seconds: float) -> float:
    """``seconds`` times the factor: every wall-clock bound and wait in the tests goes through this."""
    return seconds * time_factor()
