"""The read operations by name: one table the daemon's socket, the CLI and an HTTP front end serve.

Each operation maps a name to one function of the read library and the JSON arguments it takes;
its answer is that function's record as JSON. The daemon's socket answers them, the CLI runs them
itself when no daemon serves its archive, and an HTTP front end can serve the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from linker.stages import STAGES

from . import queries
from .protocol import parse_day
from .settings import ConfigError

if TYPE_CHECKING:
    from .archive import Archive


class RequestError(ConfigError):
    """A request names no read operation, or its arguments are not what the operation takes."""


@dataclass(frozen=True)
class Param:
    """One argument: its JSON value read into what the library function takes (ValueError when
    it cannot be), its default when the request leaves it out (unless it is required), and the
    function's name for it when that is not the JSON name."""

    read: Callable[[Any], Any]
    default: Any = None
    required: bool = False
    keyword: str | None = None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _optional(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else read(value)


def _integer(minimum: int | None = None) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return read


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _day(value: Any) -> datetime:
    return parse_day(_text(value))


def _days(value: Any) -> timedelta:
    return timedelta(days=_integer(0)(value))


def _choice(*choices: str) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return read


@dataclass(frozen=True)
class Operation:
    """A read library function (by its name in :mod:`config.queries`) and its parameters."""

    function: str
    params: Mapping[str, Param]


_SEARCH = {
    "text": Param(_text, ""),
    "customer": Param(_optional(_text)),
    "from_address": Param(_optional(_text)),
    "since": Param(_optional(_day)),  # ISO 8601; inclusive
    "until": Param(_optional(_day)),  # exclusive
    "limit": Param(_integer(1), 20),
    "sort": Param(_choice("date", "relevance"), "date"),
}
#: A message by its id (a prefix of its SHA-256) or its Message-ID header.
_MESSAGE = {"id": Param(_text, required=True, keyword="ident")}

OPERATIONS: dict[str, Operation] = {
    "search": Operation("search_messages", _SEARCH),
    "search_threads": Operation("search_threads", _SEARCH),
    "quotes": Operation("list_quotes", {"customer": Param(_optional(_text)), "since": Param(_optional(_day)),
                                        "limit": Param(_integer(1), 50)}),
    "message": Operation("read_message", _MESSAGE),
    "thread": Operation("read_thread", _MESSAGE),
    "link_explanation": Operation("explain_links", _MESSAGE),
    "customers": Operation("list_customers", {"dormant": Param(_optional(_days)),  # days without mail
                                              "waiting": Param(_flag, False),
                                              "stage": Param(_optional(_choice(*STAGES)))}),
    "markets": Operation("list_markets", {}),
    "customer": Operation("customer_dossier", {"name": Param(_text, required=True), "limit": Param(_integer(), 10)}),
    "conflicts": Operation("list_conflicts", {}),
    "duplicates": Operation("list_duplicates", {}),
    "unlinked": Operation("list_unlinked", {"limit": Param(_integer(1), 30), "include_bulk": Param(_flag, False)}),
    "status": Operation("archive_status", {}),
}


def _call_arguments(name: str, args: Mapping[str, Any]) -> tuple[Callable[..., queries.Record], dict[str, Any]]:
    """The library function of operation ``name`` and its keyword arguments read from ``args``.
    Raises RequestError for an unknown operation, an unknown or missing argument or a wrong value."""
    operation = OPERATIONS.get(name)
    if operation is None:
        raise RequestError(f"there is no read operation {name!r}")
    if not isinstance(args, Mapping):
        raise RequestError(f"{name}: the arguments must be a JSON object")
    unknown = sorted(set(args) - set(operation.params))
    if unknown:
        raise RequestError(f"{name}: unknown argument {', '.join(unknown)}")
    kwargs = {}
    for key, param in operation.params.items():
        keyword = param.keyword or key
        if key not in args:
            if param.required:
                raise RequestError(f"{name}: the argument {key} is required")
            kwargs[keyword] = param.default
            continue
        try:
            kwargs[keyword] = param.read(args[key])
        except ValueError as exc:
            raise RequestError(f"{name}: {key} {exc}") from None
    return getattr(queries, operation.function), kwargs


def prepare_operation(name: str, args: Mapping[str, Any]) -> Callable[[Archive], Any]:
    """Operation ``name`` with ``args``, ready to answer on an archive with its JSON; its library
    module is loaded now. Raises RequestError, and (when called) what the library function raises."""
    function, kwargs = _call_arguments(name, args)
    return lambda archive: function(archive, **kwargs).as_json()


def run_operation(archive: Archive, name: str, args: Mapping[str, Any]) -> Any:
    """The JSON answer of operation ``name`` with ``args`` on ``archive``. Raises RequestError,
    and what the library function raises."""
    return prepare_operation(name, args)(archive)
