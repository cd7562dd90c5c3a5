"""Read-only IMAP fetching: the one module that talks to imapclient.

Folders are selected with EXAMINE and bodies fetched with ``BODY.PEEK[]``, so nothing on the
server changes. Folder names are kept as the server spells them (modified UTF-7) and decoded
only for people. The pure helpers (folder choice, UID sets, batching, cursor arithmetic, error
wording) sit apart from :class:`ImapConnection`, the only part that touches the network.
"""

from __future__ import annotations

import fnmatch
import imaplib
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import IngestError

#: Folders skipped by default, by SPECIAL-USE flag and, where the server has none, by name.
SKIPPED_SPECIAL_USE = ("\\Trash", "\\Junk", "\\Drafts")
SKIPPED_NAMES = ("trash", "junk", "spam", "drafts", "deleted items", "deleted messages", "junk e-mail",
                 "垃圾邮件", "已删除", "草稿箱", "已删除邮件")

#: UIDs asked for per SEARCH or size FETCH: keeps each response line far below imaplib's limit
#: (a folder of 150,000 messages would otherwise answer with one line of about a megabyte).
UID_WINDOW = 2000
#: A body FETCH asks for at most this many messages and this many bytes (by RFC822.SIZE).
FETCH_COUNT = 200
FETCH_BYTES = 16 * 1024 * 1024


#: ``ImapAccount.auth`` -> the SASL mechanism it uses (None: the LOGIN command with a password).
AUTH_MECHANISMS = {"password": None, "xoauth2": "XOAUTH2", "oauthbearer": "OAUTHBEARER"}


class ImapError(IngestError):
    """An IMAP server could not be used; the message names the cause and the fix."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ImapAccount:
    """Where and how to log in. ``password`` is a callable so that the secret (a password, or an
    OAuth2 access token when ``auth`` is ``xoauth2`` or ``oauthbearer``) is fetched only when
    needed and never appears in a repr, a log line or an error. ``renew``, when given, is called
    once after the server refused that secret, for a fresh one (an access token that expired
    early). ``login_hint`` replaces the generic advice after a refused login (where the secret
    comes from, what the provider requires)."""

    name: str
    host: str
    username: str
    password: Callable[[], str] = field(repr=False)
    port: int = 993
    security: str = "ssl"  # ssl | starttls | none (loopback only)
    ca_file: str | None = None
    folders: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    timeout: float = 60.0
    auth: str = "password"  # a key of AUTH_MECHANISMS
    renew: Callable[[], str] | None = field(default=None, repr=False)
    login_hint: str = ""


@dataclass(frozen=True)
class FolderInfo:
    raw: str  # the server's name, modified UTF-7: the key for state
    name: str  # decoded, for display and for matching patterns
    flags: tuple[str, ...] = ()

    @property
    def selectable(self) -> bool:
        return not any(f.lower() in ("\\noselect", "\\nonexistent") for f in self.flags)

    @property
    def special_use(self) -> str | None:
        for flag in self.flags:
            if flag.lower() in ("\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash"):
                return flag
        return None


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None


@dataclass(frozen=True)
class Fetched:
    uid: int
    data: bytes
    flags: tuple[str, ...]
    internaldate: datetime | None  # UTC
    labels: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- pure helpers


def decode_folder(raw: str) -> str:
    """The display form of a modified UTF-7 folder name (``&Ti1W,VuiYjc-`` -> ``中国客户``), as
    IMAP servers and Maildir++ folders (Dovecot, Courier) spell them. A name that is not valid
    modified UTF-7 (``R&D``, a bare ``&``, UTF-8 already) is returned as it is."""
    from imapclient.imap_utf7 import decode, encode

    try:
        decoded = decode(raw.encode("ascii"))
    except (UnicodeError, ValueError):
        return raw
    # imapclient's decoder is lenient with broken names ("&" -> "+"): keep only exact ones.
    return decoded if encode(decoded) == raw.encode("ascii") else raw


def choose_folders(
    folders: Iterable[FolderInfo], include: Sequence[str] = ("*",), exclude: Sequence[str] = ()
) -> list[FolderInfo]:
    """The folders a sync fetches: selectable, matching an ``include`` glob and no ``exclude``
    glob (matched against the decoded name, case-insensitively), and, unless named by an
    include pattern without wildcards, not Trash/Junk/Spam/Drafts."""
    chosen = []
    explicit = {p.casefold() for p in include if not any(ch in p for ch in "*?[")}
    for folder in folders:
        if not folder.selectable:
            continue
        name = folder.name.casefold()
        if not any(_matches(folder, p) for p in include):
            continue
        if any(_matches(folder, p) for p in exclude):
            continue
        if name not in explicit and not any(_is_special(p) for p in include) and _skipped_by_default(folder):
            continue
        chosen.append(folder)
    return chosen


def _is_special(pattern: str) -> bool:
    """A pattern naming a SPECIAL-USE flag (``\\All``) rather than a folder name: Gmail spells
    its All Mail folder in the account's language (``[Gmail]/Alle Nachrichten``), the flag is
    the same everywhere."""
    return pattern.startswith("\\")


def _matches(folder: FolderInfo, pattern: str) -> bool:
    if _is_special(pattern):
        return any(f.casefold() == pattern.casefold() for f in folder.flags)
    return fnmatch.fnmatchcase(folder.name.casefold(), pattern.casefold())


def missing_folders(folders: Iterable[FolderInfo], include: Sequence[str]) -> list[str]:
    """The ``include`` patterns without wildcards (folder names and SPECIAL-USE flags) that no
    folder of ``folders`` matches: a configuration naming a folder the server does not have."""
    folders = list(folders)
    return [p for p in include if (_is_special(p) or not any(ch in p for ch in "*?["))
            and not any(_matches(f, p) for f in folders)]


def _skipped_by_default(folder: FolderInfo) -> bool:
    if any(f.lower() in (s.lower() for s in SKIPPED_SPECIAL_USE) for f in folder.flags):
        return True
    leaf = folder.name.replace("\\", "/").replace(".", "/").rsplit("/", 1)[-1].casefold()
    return leaf in SKIPPED_NAMES


def ascending(uids: Iterable[int]) -> list[int]:
    """UIDs sorted ascending without repeats: QQ Mail rejects descending ranges, and imapclient
    sends a list as given."""
    return sorted(set(uids))


def plan_batches(sizes: dict[int, int], max_count: int | None = None, max_bytes: int | None = None) -> list[list[int]]:
    """Split UIDs (ascending) into fetch batches of at most ``max_count`` messages and
    ``max_bytes`` bytes (default :data:`FETCH_COUNT`, :data:`FETCH_BYTES`); a message larger
    than ``max_bytes`` is fetched alone."""
    max_count = max_count or FETCH_COUNT
    max_bytes = max_bytes or FETCH_BYTES
    batches: list[list[int]] = []
    batch: list[int] = []
    total = 0
    for uid in sorted(sizes):
        size = sizes[uid]
        if batch and (len(batch) >= max_count or total + size > max_bytes):
            batches.append(batch)
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        batches.append(batch)
    return batches


def advance_cursor(last_uid: int, listed: Sequence[int], stored: Iterable[int]) -> tuple[int, list[int]]:
    """The new cursor after a pass, and the gaps: the cursor moves up to the highest listed
    UID below which every listed UID is stored, never past one that is not."""
    stored_set = set(stored)
    cursor = last_uid
    gaps = []
    blocked = False
    for uid in sorted(set(listed)):
        if uid <= last_uid:
            continue
        if uid in stored_set:
            if not blocked:
                cursor = uid
        else:
            gaps.append(uid)
            blocked = True
    return cursor, gaps


def describe_error(exc: BaseException, account: ImapAccount) -> ImapError:
    """One line naming the cause and the fix for a failure talking to ``account``'s server."""
    where = f"{account.host}:{account.port}"
    prefix = f"account {account.name!r}: "
    text = _reason(exc)
    lowered = text.lower()
    if isinstance(exc, ImapError):
        return exc
    for needles, advice, retryable in _REFUSALS:
        if any(needle in lowered for needle in needles):
            return ImapError(prefix + advice.format(host=account.host, name=account.name, text=text),
                             retryable=retryable)
    if isinstance(exc, socket.gaierror):
        return ImapError(
            prefix + f"cannot resolve host {account.host!r} (DNS: {text}); check the host name and the network",
            retryable=True,
        )
    if isinstance(exc, ConnectionRefusedError):
        return ImapError(
            prefix + f"connection to {where} refused; check host and port (993 for ssl, 143 for starttls)",
            retryable=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ImapError(
            prefix + f"the TLS certificate of {account.host} is not trusted ({exc.verify_message or text}); "
            "set ca_file to the CA certificate that signed it, or fix the server's certificate"
        )
    if isinstance(exc, ssl.SSLError):
        return ImapError(
            prefix + f"TLS handshake with {where} failed ({text}); check `security` "
            "(ssl on port 993, starttls on port 143)"
        )
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ImapError(
            prefix + f"{where} did not answer in time; check the network or raise `timeout`", retryable=True
        )
    if _is_login_error(exc):
        if account.login_hint:
            return ImapError(prefix + f"login as {account.username!r} failed ({text}); {account.login_hint}")
        return ImapError(
            prefix + f"login as {account.username!r} failed ({text}); check the username and the password "
            "given by password_env / password_command"
        )
    if isinstance(exc, (imaplib.IMAP4.abort, ConnectionError, EOFError)):
        return ImapError(prefix + f"connection to {where} lost ({text}); will resume where it stopped",
                         retryable=True)
    if isinstance(exc, OSError):
        return ImapError(prefix + f"cannot reach {where}: {exc.strerror or text}", retryable=True)
    return ImapError(prefix + f"IMAP error from {where}: {text}")


#: Refusals providers really send, by a piece of their wording (lower case): the advice (``{host}``,
#: ``{name}``, ``{text}`` filled in) and whether the pass should try again at once. The first match wins.
_REFUSALS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    # 163.com, 126.com, yeah.net: a password instead of the authorisation code, or no IMAP ID.
    (("unsafe login",),
     "the server refused the login as 'Unsafe Login'; use the authorisation code (授权码) the provider issues "
     "for mail clients as the password, and enable IMAP in the web mail settings", False),
    # Gmail with 2-step verification, Yahoo, iCloud.
    (("application-specific password", "app-specific password", "app password"),
     "{host} requires an app password for mail programs ({text}); create one in the account's security "
     "settings and give it as the password, or sign in with OAuth2 (auth = \"xoauth2\")", False),
    # QQ Mail, Tencent Exmail, Sina, Sohu: the authorisation code.
    (("authorization code", "authorisation code", "授权码"),
     "{host} requires the authorisation code (授权码) for mail programs ({text}); generate it in the web "
     "mail settings and give it as the password", False),
    # Gmail ("not enabled for IMAP use"), QQ Mail ("service is not open"), NetEase and Sina.
    (("not enabled for imap", "service is not open", "imap is disabled", "imap service is disabled",
      "未开启", "服务未开通"),
     "IMAP is not enabled for this mailbox ({text}); enable IMAP in the web mail settings (QQ Mail and 163: "
     "Settings → Account → POP3/IMAP service) and try again", False),
    # Gmail after a sign-in from an unknown place.
    (("log in via your web browser", "web login required"),
     "{host} wants one sign-in through the web mail first ({text}); sign in there from this machine's "
     "network, confirm it was you, then try again", False),
    # Microsoft 365: IMAP disabled for the mailbox, or the token's user has no access to it.
    (("authenticated but not connected",),
     "{host} accepted the sign-in but will not open the mailbox ({text}); the Microsoft 365 admin must enable "
     "IMAP for this mailbox (Set-CASMailbox -ImapEnabled $true) and the username must be the mailbox the token "
     "was issued for", False),
    (("basic authentication is disabled", "basicauthblocked"),
     "{host} has disabled password (basic) authentication and requires OAuth2; set auth = \"xoauth2\" with "
     "token_command, or run `dossier accounts authorize {name}` (README, \"OAuth2\")", False),
    # Gmail ("Too many simultaneous connections"), Dovecot (mail_max_userip_connections), Exchange.
    (("too many simultaneous connections", "maximum number of connections", "too many connections",
      "connection limit"),
     "{host} refused another connection: too many are open for this account ({text}); close other mail "
     "programs or sync jobs using it; the next pass tries again", False),
    # Gmail's daily download limit (2,500 MB a day), and its command quota. What was fetched is committed.
    (("bandwidth limit", "[overquota]", "download limit", "exceeded command or bandwidth"),
     "{host} reports the account's download limit reached ({text}); what was fetched is kept and the next "
     "pass resumes where this one stopped (Gmail's limit resets within 24 hours)", False),
)


def _is_refusal(text: str) -> bool:
    """True when ``text`` is one of the provider refusals of :data:`_REFUSALS` (whose advice beats
    any other reading of the failure)."""
    lowered = text.lower()
    return any(needle in lowered for needles, _, _ in _REFUSALS for needle in needles)


def _is_login_error(exc: BaseException) -> bool:
    from imapclient.exceptions import LoginError

    return isinstance(exc, LoginError)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return " ".join(text.split())[:300]


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------- the connection


class _SecretFailure(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _secret(source: Callable[[], str]) -> str:
    try:
        return source()
    except Exception as exc:
        raise _SecretFailure(exc) from None


class ImapConnection:
    """A logged-in, read-only IMAP session. Every failure is raised as :class:`ImapError`."""

    def __init__(self, account: ImapAccount) -> None:
        from imapclient import IMAPClient

        self.account = account
        self.folder: str | None = None
        try:
            # Loading the CA certificates takes 50 ms: only for the connections that use them.
            if account.security == "ssl":
                context = ssl.create_default_context(cafile=account.ca_file)
                self.client = IMAPClient(account.host, port=account.port, ssl=True, ssl_context=context,
                                         timeout=account.timeout)
            else:
                self.client = IMAPClient(account.host, port=account.port, ssl=False, timeout=account.timeout)
                if account.security == "starttls":
                    self.client.starttls(ssl.create_default_context(cafile=account.ca_file))
            self.client.folder_encode = False  # keep the server's names: they key the state
            self.client.normalise_times = False  # INTERNALDATE with its zone, not local time
            self.capabilities = {_text(c).upper() for c in self.client.capabilities()}
            if "ID" in self.capabilities:
                # 163.com, 126.com and yeah.net answer SELECT with "Unsafe Login" without it.
                self.client.id_({"name": "Dossier", "vendor": "Dossier", "support-url": "https://example.invalid"})
            self._login()
            self.capabilities = {_text(c).upper() for c in self.client.capabilities()}
        except _SecretFailure as failure:
            # The secret's own source failed (a variable unset, a command or token refresh that
            # failed): its error already says what to fix, and is no IMAP error.
            self.close()
            raise failure.error from None
        except Exception as exc:
            self.close()
            raise describe_error(exc, account) from None
        self.gmail = "X-GM-EXT-1" in self.capabilities
        self.condstore = "CONDSTORE" in self.capabilities
        if self.condstore and "ENABLE" in self.capabilities:
            # With CONDSTORE enabled, SELECT reports HIGHESTMODSEQ: unchanged folders are skipped cheaply.
            self._call(self.client.enable, "CONDSTORE")

    def _login(self) -> None:
        account = self.account
        mechanism = AUTH_MECHANISMS[account.auth]
        if mechanism is None:
            password = _secret(account.password)
            if password.isascii() and account.username.isascii():
                self.client.login(account.username, password)
            elif "AUTH=PLAIN" in self.capabilities:
                # LOGIN's strings carry only ASCII (imaplib sends them so); SASL PLAIN carries UTF-8.
                self.client.plain_login(account.username, password)
            else:
                raise ImapError(f"account {account.name!r}: the password or username has characters outside "
                                "ASCII, which IMAP LOGIN cannot carry, and the server does not offer AUTHENTICATE "
                                "PLAIN, which can; use an ASCII password (or an app password) for this account")
            return
        offered = sorted(c[5:] for c in self.capabilities if c.startswith("AUTH="))
        if mechanism not in offered:
            others = [k for k, m in AUTH_MECHANISMS.items() if m in offered]
            raise ImapError(
                f"account {account.name!r}: {account.host} does not offer {mechanism} sign-in (it offers "
                f"{', '.join(offered) or 'no SASL mechanism'}); set auth = "
                + (" or ".join(f'"{k}"' for k in others) if others else '"password"') + " for this account"
            )
        from imapclient.exceptions import LoginError

        try:
            self._authenticate(mechanism, _secret(account.password))
        except LoginError:
            if account.renew is None:
                raise
            # An access token can be refused before the expiry it was issued with (revoked, clock
            # skew, the provider's own policy): one fresh token, then the refusal stands.
            self._authenticate(mechanism, _secret(account.renew))

    def _authenticate(self, mechanism: str, token: str) -> None:
        if mechanism == "OAUTHBEARER":
            self.client.oauthbearer_login(self.account.username, token)
        else:
            self.client.oauth2_login(self.account.username, token, mech=mechanism)

    def __enter__(self) -> ImapConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may already be gone
            try:
                client.shutdown()
            except Exception:
                pass
        self.client = None

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise describe_error(exc, self.account) from None

    def list_folders(self) -> list[FolderInfo]:
        folders = []
        for flags, _delimiter, name in self._call(self.client.list_folders):
            raw = _text(name)
            folders.append(FolderInfo(raw=raw, name=decode_folder(raw), flags=tuple(_text(f) for f in flags)))
        return folders

    def message_count(self, folder: FolderInfo) -> int:
        status = self._call(self.client.folder_status, folder.raw, [b"MESSAGES"])
        return int(status.get(b"MESSAGES", 0))

    def select(self, folder: FolderInfo) -> FolderStatus:
        """EXAMINE the folder (read-only) and return its UIDVALIDITY, UIDNEXT, size and HIGHESTMODSEQ."""
        try:
            info = self.client.select_folder(folder.raw, readonly=True)
        except Exception as exc:
            error = describe_error(exc, self.account)
            if not error.retryable and not _is_refusal(_reason(exc)):
                error = ImapError(
                    f"account {self.account.name!r}: cannot open folder {folder.name!r} ({_reason(exc)}); "
                    "check that it still exists (`dossier accounts test`)"
                )
            raise error from None
        self.folder = folder.raw
        modseq = info.get(b"HIGHESTMODSEQ")
        return FolderStatus(
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
            exists=int(info.get(b"EXISTS", 0)),
            highestmodseq=int(modseq) if modseq is not None else None,
        )

    def uids_after(self, last_uid: int, uidnext: int | None, window: int | None = None) -> list[int]:
        """UIDs above ``last_uid``, ascending, searched in windows of ``window`` UIDs.

        ``UID SEARCH UID n:*`` always answers with the newest message, even when it is below
        ``n``; UIDs at or below ``last_uid`` are dropped."""
        window = window or UID_WINDOW
        found: list[int] = []
        start = last_uid + 1
        if uidnext is None:  # no UIDNEXT: one open-ended search
            found = self._call(self.client.search, ["UID", f"{start}:*"])
            return sorted(u for u in set(found) if u > last_uid)
        while start < uidnext:
            end = min(start + window - 1, uidnext - 1)
            found.extend(self._call(self.client.search, ["UID", f"{start}:{end}"]))
            start = end + 1
        # Messages may arrive while we search: one last open-ended look above UIDNEXT.
        found.extend(self._call(self.client.search, ["UID", f"{max(uidnext, start)}:*"]))
        return sorted(u for u in set(found) if u > last_uid)

    def sizes(self, uids: Sequence[int], window: int | None = None) -> dict[int, int]:
        window = window or UID_WINDOW
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), window):
            chunk = uids[start:start + window]
            for uid, data in self._call(self.client.fetch, ascending(chunk), [b"RFC822.SIZE"]).items():
                if b"RFC822.SIZE" in data:
                    sizes[uid] = int(data[b"RFC822.SIZE"])
        return sizes

    def message_ids(self, uids: Sequence[int], window: int = 1000) -> dict[int, tuple[str, int]]:
        """Message-ID header and size per UID, to re-map a folder after a UIDVALIDITY change."""
        from email.parser import BytesHeaderParser

        parser = BytesHeaderParser()
        found: dict[int, tuple[str, int]] = {}
        key = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
        for start in range(0, len(uids), window):
            chunk = uids[start:start + window]
            reply = self._call(self.client.fetch, ascending(chunk), [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]",
                                                                    b"RFC822.SIZE"])
            for uid, data in reply.items():
                header = parser.parsebytes(data.get(key) or b"").get("Message-ID", "") or ""
                found[uid] = (" ".join(str(header).split()), int(data.get(b"RFC822.SIZE", 0)))
        return found

    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]:
        """Fetch whole messages with ``BODY.PEEK[]`` (never sets \\Seen), ascending by UID."""
        items = [b"BODY.PEEK[]", b"FLAGS", b"INTERNALDATE"]
        if self.gmail:
            items.append(b"X-GM-LABELS")
        reply = self._call(self.client.fetch, ascending(uids), items)
        for uid in sorted(reply):
            data = reply[uid]
            body = data.get(b"BODY[]")
            if body is None:
                continue
            when = data.get(b"INTERNALDATE")
            if isinstance(when, datetime):
                when = (when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc))
            labels = tuple(_text(label) for label in data.get(b"X-GM-LABELS", ()) or ())
            yield Fetched(
                uid=uid,
                data=bytes(body),
                flags=tuple(_text(f) for f in data.get(b"FLAGS", ()) if _text(f) != "\\Recent"),
                internaldate=when if isinstance(when, datetime) else None,
                labels=labels,
            )

    def changed_flags(self, since_modseq: int) -> dict[int, tuple[str, ...]]:
        """Flags of the messages whose flags changed after ``since_modseq`` (CONDSTORE)."""
        uids = self._call(self.client.search, ["MODSEQ", str(since_modseq + 1)])
        if not uids:
            return {}
        reply = self._call(self.client.fetch, ascending(uids), [b"FLAGS"])
        return {
            uid: tuple(_text(f) for f in data.get(b"FLAGS", ()) if _text(f) != "\\Recent")
            for uid, data in reply.items()
        }

    def noop(self) -> None:
        self._call(self.client.noop)
