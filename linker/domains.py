"""Mail addresses and domains: normalisation, public-suffix-aware domains, the free-mail list."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from .errors import LinkError

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Characters that cannot appear unquoted in a local part; quoted local parts are not worth supporting.
_BAD_LOCAL = re.compile(r'[\s<>()\[\],;:"\\@]')
_MAX_HOST = 253
_MAX_LOCAL = 64


@functools.lru_cache(maxsize=65536)  # relinking sees the same few thousand addresses again and again
def normalize_email(value: str) -> str | None:
    """``value`` as a canonical address (lower case, IDNA host), or None when it is not one.

    Full-width forms typed on CJK keyboards (``＠``, ``。``) are folded by NFKC first.
    Rejected: no ``@`` or more than one, empty or over-long local part, whitespace or
    quoting characters in the local part, and any host ``normalize_host`` rejects.
    Never raises.
    """
    text = unicodedata.normalize("NFKC", value).strip().lower()
    local, at, host = text.rpartition("@")
    if not at or not local or len(local) > _MAX_LOCAL or _BAD_LOCAL.search(local):
        return None
    if local.startswith(".") or local.endswith("."):
        return None
    host_ = normalize_host(host)
    return None if host_ is None else f"{local}@{host_}"


def normalize_domain(value: str) -> str | None:
    """``value`` as a canonical mail domain (lower case, IDNA), or None when it is not one.

    Accepts what people type into a customer sheet: ``acme.com``, ``@acme.com``,
    ``ACME.com.``, ``www.acme.com`` and website URLs (``https://www.acme.com/en``); a
    leading ``www.`` is dropped because nobody receives mail there, unless what is left
    would be a bare public suffix (``www.com`` stays). Never raises.
    """
    text = unicodedata.normalize("NFKC", value).strip().lower()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return None
    else:
        text = text.removeprefix("@")
        text = re.split(r"[/?#]", text, maxsplit=1)[0]
    host = normalize_host(text)
    if host is None:
        return None
    if host.startswith("www."):
        rest = host[len("www."):]
        if rest != _psl().publicsuffix(rest):
            return rest
    return host


def normalize_host(value: str) -> str | None:
    """A host name in canonical form (lower case, IDNA/punycode, no trailing dot), or None.

    A host needs at least two labels of letters, digits and inner hyphens, a top-level
    label that is not all digits (so IP addresses are refused) and valid punycode in
    ``xn--`` labels. Never raises.
    """
    text = unicodedata.normalize("NFKC", value).strip().lower()
    if not text or text.startswith("["):
        return None
    try:
        # The stdlib codec also treats the ideographic full stop as a label separator.
        ascii_host = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    ascii_host = ascii_host.removesuffix(".")
    if not ascii_host or len(ascii_host) > _MAX_HOST:
        return None
    labels = ascii_host.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return None
    for label in labels:
        if not _LABEL.match(label):
            return None
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return None
    return ascii_host


@functools.cache
def _psl() -> PublicSuffixList:
    # Building the list parses the bundled data file; do it once, on first use.
    return PublicSuffixList()


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The domain a company registers for ``host``: ``mail.acme.co.uk`` -> ``acme.co.uk``.

    Uses the public-suffix list bundled with publicsuffixlist (no network), including its
    private section, and treats an unknown top-level label as a suffix. A host that is
    itself a public suffix (``co.uk``) is returned unchanged. Never raises.
    """
    host = host.strip().lower().removesuffix(".")
    return _psl().privatesuffix(host) or host


def domain_suffixes(host: str) -> list[str]:
    """``host`` and each parent down to its registrable domain, longest first.

    ``a.b.acme.com`` -> ``[a.b.acme.com, b.acme.com, acme.com]``; a public suffix gives
    just itself. Never raises.
    """
    host = host.strip().lower().removesuffix(".")
    base = registrable_domain(host)
    if host == base or not host.endswith("." + base):
        return [host]
    labels = host.split(".")
    keep = base.count(".") + 1
    return [".".join(labels[i:]) for i in range(len(labels) - keep + 1)]


def host_of(email: str) -> str:
    """The host part of an address (everything after the last ``@``), lower-cased."""
    return email.rpartition("@")[2].strip().lower()


def load_freemail(extra: Iterable[str] = (), exclude: Iterable[str] = ()) -> frozenset[str]:
    """The free-mail domains: the bundled list plus ``extra``, less ``exclude``.

    Entries are normalised like ``normalize_domain``. Raises LinkError naming an
    ``extra`` or ``exclude`` entry that is not a domain (both come from configuration).
    """
    domains = set(_bundled_freemail())
    domains |= _config_domains(extra, "free-mail addition")
    domains -= _config_domains(exclude, "free-mail exclusion")
    return frozenset(domains)


def _config_domains(values: Iterable[str], what: str) -> set[str]:
    found = set()
    for value in values:
        domain = normalize_domain(value)
        if domain is None:
            raise LinkError(f"{what} {value!r} is not a domain; write it like 'example.com'")
        found.add(domain)
    return found


@functools.cache
def _bundled_freemail() -> frozenset[str]:
    text = resources.files(__package__).joinpath("data", "freemail.txt").read_text(encoding="utf-8")
    return frozenset(parse_domain_list(text))


def parse_domain_list(text: str) -> list[str]:
    """Domains from a one-per-line list with ``#`` comments, normalised; bad lines are skipped."""
    domains = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry and (domain := normalize_domain(entry)) is not None:
            domains.append(domain)
    return domains
