"""The read library's records: frozen dataclasses whose ``as_json()`` is what every front end prints."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from functools import cache
from typing import Any


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset, as every ``--json`` prints it."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).isoformat()


def days(seconds: float) -> float:
    """A wait in days, rounded as the CLI prints it."""
    return round(seconds / 86400, 1)


def field(json: str | None = "", *, omit_none: bool = False, default: Any = dataclasses.MISSING) -> Any:
    """A record field named ``json`` in the JSON form (its own name by default; None leaves it
    out); ``omit_none`` leaves it out while it is None."""
    return dataclasses.field(default=default, metadata={"json": json, "omit_none": omit_none})


@cache
def _layout(cls: type) -> tuple[tuple[str, str, bool], ...]:
    layout = []
    for f in dataclasses.fields(cls):
        name = f.metadata.get("json", "")
        if name is not None:
            layout.append((f.name, name or f.name, bool(f.metadata.get("omit_none"))))
    return tuple(layout)


def to_json(value: Any) -> Any:
    """``value`` in JSON types: records as their JSON form, other dataclasses (the stages' own
    results) as objects of their fields, times as ISO 8601, tuples as lists."""
    if isinstance(value, Record):
        return value.as_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class Record:
    """A read's answer. Its JSON form holds its fields in declaration order (times as ISO 8601
    UTC), so that a front end, the daemon's socket and ``--json`` all show the same thing."""

    def as_json(self) -> Any:
        out = {}
        for attr, name, omit_none in _layout(type(self)):
            value = getattr(self, attr)
            if value is None and omit_none:
                continue
            out[name] = to_json(value)
        return out


@dataclasses.dataclass(frozen=True)
class Listing(Record):
    """A record of one field, a tuple of rows, whose JSON form is the array of those rows."""

    def as_json(self) -> Any:
        (only,) = dataclasses.fields(self)
        return to_json(getattr(self, only.name))
