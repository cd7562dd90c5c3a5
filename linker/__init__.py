"""Linker: customers, their domains and contacts, and the rules that link messages to them."""

from .customers_file import CustomerFileError, CustomerRow, RowError, read_customer_file
from .domains import load_freemail, normalize_domain, normalize_email, registrable_domain
from .errors import LinkError
from .match import Directory, LinkCandidate, explain_participant, is_internal, match_customers
from .models import Contact, Customer, CustomerDomain, Link
from .repository import (
    CustomerActivity,
    CustomerNotFoundError,
    RelinkReport,
    customer_activity,
    customer_names,
    customers_by_message,
    find_customer,
    link_message,
    load_directory,
    relink,
    save_customer,
)

__all__ = [
    "Contact",
    "Customer",
    "CustomerActivity",
    "CustomerDomain",
    "CustomerFileError",
    "CustomerNotFoundError",
    "CustomerRow",
    "Directory",
    "Link",
    "LinkCandidate",
    "LinkError",
    "RelinkReport",
    "RowError",
    "customer_activity",
    "customer_names",
    "customers_by_message",
    "explain_participant",
    "find_customer",
    "is_internal",
    "link_message",
    "load_directory",
    "load_freemail",
    "match_customers",
    "normalize_domain",
    "normalize_email",
    "read_customer_file",
    "registrable_domain",
    "relink",
    "save_customer",
]
