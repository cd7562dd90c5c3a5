"""The parser marks list and robot mail as bulk (the linker then links it by exact address only)."""

import pytest

from ingest import parse_message
from tests.conftest import make_message


def _with(header: str) -> bytes:
    raw = make_message()
    return header.encode() + b"\r\n" + raw if header else raw


@pytest.mark.parametrize(
    "header",
    [
        "List-Id: Acme news <news.acme.com>",
        "List-Unsubscribe: <mailto:leave@acme.com>",
        "Precedence: bulk",
        "Precedence: list",
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: auto-replied; owner-email=x@acme.com",
    ],
)
def test_bulk_headers_mark_the_message(header: str) -> None:
    assert parse_message(_with(header)).is_bulk


@pytest.mark.parametrize("header", ["", "Auto-Submitted: no", "Precedence: normal"])
def test_person_to_person_mail_is_not_bulk(header: str) -> None:
    assert not parse_message(_with(header)).is_bulk
