"""The pages that read: search, customers, a customer's dossier, quotes, markets, status, audit log."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from starlette.responses import Response

from linker import STAGES

from ..audit import list_audit, record_event
from ..protocol import parse_day
from ..queries import (
    CUSTOMER_ORDERS,
    archive_status,
    customer_overview,
    list_customers,
    list_markets,
    list_quotes,
    search_messages,
)
from .visit import USER_ERRORS, Visit, page

PAGE_SIZE = 20
QUOTES_PAGE = 50
#: The most rows a CSV export holds.
EXPORT_LIMIT = 1000


def _day(visit: Visit, name: str) -> datetime | None:
    value = visit.param(name)
    if not value:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise _BadInput(visit.gettext("%(value)s is not a date; use YYYY-MM-DD", value=value)) from None


def _page_number(visit: Visit) -> int:
    value = visit.param("page")
    return max(int(value), 1) if value.isdigit() else 1


class _BadInput(ValueError):
    pass


def _search_text(visit: Visit) -> str:
    text = visit.param("q")
    extra = [flag for name, flag in (("attachment", "has:attachment"), ("quote", "is:quote")) if visit.param(name)]
    if not extra:
        return text
    return " ".join(([f"({text})"] if text else []) + extra)


def _search_args(visit: Visit) -> dict:
    sort = visit.param("sort")
    return dict(customer=visit.param("customer") or None, from_address=visit.param("from") or None,
                since=_day(visit, "since"), until=_day(visit, "until"),
                sort=sort if sort in ("date", "relevance") else "date", scope=visit.scope)


SEARCH_FIELDS = ("q", "customer", "from", "since", "until", "attachment", "quote", "sort")


@page()
def search_page(visit: Visit) -> Response:
    """One box for the whole query language, the filters beside it; the URL carries everything."""
    asked = any(visit.param(name) for name in SEARCH_FIELDS)
    number = _page_number(visit)
    result, error = None, None
    if asked:
        try:
            result = search_messages(visit.archive, _search_text(visit), limit=PAGE_SIZE,
                                     offset=(number - 1) * PAGE_SIZE, **_search_args(visit))
        except (_BadInput, *USER_ERRORS) as exc:
            error = str(exc)
    params = {name: visit.param(name) for name in SEARCH_FIELDS}
    return visit.render("search.html", status=400 if error else 200, result=result, error=error, params=params,
                        number=number, page_size=PAGE_SIZE, asked=asked)


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@page()
def search_export(visit: Visit) -> Response:
    """The hits of a search as CSV (at most EXPORT_LIMIT rows); audited."""
    try:
        result = search_messages(visit.archive, _search_text(visit), limit=EXPORT_LIMIT, **_search_args(visit))
    except _BadInput as exc:
        return visit.render("error.html", status=400, title=visit.gettext("Cannot show this"), message=str(exc))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "date", "from", "to", "subject", "customers", "attachments", "is_quote", "amounts"])
    for h in result.hits:
        writer.writerow([_cell(v) for v in (
            h.id, h.date.isoformat() if h.date else "", h.sender, "; ".join(h.to), h.subject, "; ".join(h.customers),
            "; ".join(h.attachments), h.is_quote, "; ".join(h.amounts))])
    query = " ".join(f"{k}={visit.param(k)}" for k in SEARCH_FIELDS if visit.param(k))
    record_event(visit.archive, visit.user.email, "export", f"search {query} ({len(result.hits)} rows)", visit.address)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="dossier-search.csv"'})


@page()
def customers_page(visit: Visit) -> Response:
    """The customer list, filtered and sorted as the URL says."""
    sort = visit.param("sort")
    stage = visit.param("stage")
    dormant = bool(visit.param("dormant"))
    rows = list_customers(
        visit.archive, dormant=timedelta(days=visit.archive.settings.dormant_days) if dormant else None,
        waiting=bool(visit.param("waiting")), stage=stage if stage in STAGES else None,
        country=visit.param("country") or None, owner=visit.param("owner") or None,
        sort=sort if sort in CUSTOMER_ORDERS else "name", scope=visit.scope)
    params = {name: visit.param(name) for name in ("country", "owner", "stage", "dormant", "waiting", "sort")}
    return visit.render("customers.html", customers=rows.customers, params=params, stages=STAGES,
                        orders=CUSTOMER_ORDERS)


@page()
def customer_page(visit: Visit) -> Response:
    """A customer's dossier: facts, people, mail by month, quotes, waiting threads, conversations."""
    name = visit.request.path_params["name"]
    overview = customer_overview(visit.archive, name, limit=PAGE_SIZE, scope=visit.scope)
    dossier, timeline = overview.dossier, overview.timeline
    quotes = list_quotes(visit.archive, customer=dossier.name, limit=100, scope=visit.scope)
    return visit.render("customer.html", c=dossier, timeline=timeline, quotes=quotes,
                        months=[m.month for m in timeline.months],
                        received=[m.received for m in timeline.months], sent=[m.sent for m in timeline.months])


@page()
def quotes_page(visit: Visit) -> Response:
    """Every quote, newest first, filtered by customer, country and date."""
    number = _page_number(visit)
    params = {name: visit.param(name) for name in ("customer", "country", "since", "until")}
    try:
        result = list_quotes(visit.archive, customer=params["customer"] or None, country=params["country"] or None,
                             since=_day(visit, "since"), until=_day(visit, "until"), limit=QUOTES_PAGE,
                             offset=(number - 1) * QUOTES_PAGE, scope=visit.scope)
    except _BadInput as exc:
        return visit.render("error.html", status=400, title=visit.gettext("Cannot show this"), message=str(exc))
    return visit.render("quotes.html", result=result, params=params, number=number, page_size=QUOTES_PAGE)


@page()
def markets_page(visit: Visit) -> Response:
    """Customers, stages, mail and quotes by country."""
    return visit.render("markets.html", markets=list_markets(visit.archive, scope=visit.scope).markets)


@page(roles=("admin",))
def status_page(visit: Visit) -> Response:
    """Accounts and folders with their last sync and errors, index freshness, disk use."""
    return visit.render("status.html", st=archive_status(visit.archive))


@page(roles=("admin",))
def audit_page(visit: Visit) -> Response:
    """The latest audit entries."""
    return visit.render("audit.html", events=list_audit(visit.archive, limit=300).events)
