"""A real, private Dovecot IMAP server on 127.0.0.1, for the sync tests and `scripts/bench_sync.py`.

A :class:`DovecotServer` is one instance (own ports, config, TLS certificate), started with
``dovecot -c`` so the system's /etc/dovecot is never read. Each test gets a fresh :class:`Mailbox`
on it: a user of its own with its own password, Maildir and folders, so one server serves a
whole test session. Run as root (CI), mail is owned by an unprivileged system user, as Dovecot
requires; run as another user, everything runs as that user.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.timing import scaled

#: Debian installs the server in /usr/sbin, which is not on every user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
DOVECOT = shutil.which("dovecot", path=_SEARCH_PATH) or "dovecot"
DOVEADM = shutil.which("doveadm", path=_SEARCH_PATH) or "doveadm"

#: The mail domain of the test users: the team's own domain in the tests (tests/conftest.py's OWN).
DOMAIN = "northwind-trading.com"
SYSTEM_USER = "dossiertest"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mail_owner() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, parent pid, ...), or [] once it ended."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    """When process ``pid`` started (in clock ticks since boot), or "" once it has ended."""
    fields = _stat(pid)
    return fields[19] if fields and fields[0] not in "ZX" else ""  # a zombie has ended too


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Every live descendant of ``pid`` as (pid, start time)."""
    tree: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else []
        if fields and fields[0] not in "ZX":
            tree.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _kill_if_same(pid: int, started: str) -> None:
    """SIGKILL ``pid`` unless it ended and the number now belongs to another process."""
    if started and _start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class DovecotServer:
    """One private Dovecot instance: ``start``, ``stop``, ``is_running`` and ``add_mailbox``.

    With ``oauth_url``, the server also signs users in with XOAUTH2 and OAUTHBEARER, asking that
    validation endpoint about each bearer token (Dovecot's ``oauth2`` passdb, GET with the token
    as ``Authorization: Bearer``; the answer's ``active`` and ``email`` decide); passwords still
    work with PLAIN and LOGIN. ``max_connections`` caps the IMAP sessions per user and address."""

    def __init__(self, root: Path, *, oauth_url: str | None = None, max_connections: int | None = None) -> None:
        self.root = root
        self.oauth_url = oauth_url
        self.max_connections = max_connections
        self.port = _free_port()
        self.ssl_port = _free_port()
        self.uid, self.gid = _mail_owner()
        self.conf = root / "dovecot.conf"
        self.cert = root / "cert.pem"
        self.log = root / "dovecot.log"
        self._users = itertools.count(1)
        self._write_config()

    def _write_config(self) -> None:
        root = self.root
        for path in (root, *(root / sub for sub in ("run", "state", "mail", "index", "passwd"))):
            path.mkdir(exist_ok=True)
            os.chmod(path, 0o711)  # not mkdir's mode, which the umask may narrow
        for sub in ("mail", "index"):
            os.chown(root / sub, self.uid, self.gid)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(root / "key.pem"), "-out", str(self.cert)],
            check=True, capture_output=True,
        )
        os.chmod(root / "key.pem", 0o600)
        mechanisms, oauth = "plain login", ""
        if self.oauth_url:
            mechanisms = "plain login xoauth2 oauthbearer"
            oauth_conf = root / "oauth2.conf.ext"
            oauth_conf.write_text(f"""introspection_mode = auth
introspection_url = {self.oauth_url}
force_introspection = yes
username_attribute = email
active_attribute = active
active_value = true
""")
            os.chmod(oauth_conf, 0o644)
            oauth = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {oauth_conf}
}}
"""
        limit = f"protocol imap {{\n  mail_max_userip_connections = {self.max_connections}\n}}\n" \
            if self.max_connections else ""
        # One passwd file per user (%u in the path): Dovecot re-reads a changed passwd file at most
        # once a second, so users added to one shared file could be refused for that second.
        self.conf.write_text(f"""
instance_name = dossier-test-{self.port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log}
info_log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{root}/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
first_valid_uid = {self.uid}
first_valid_gid = {self.gid}
mail_location = maildir:{root}/mail/%u:INDEX={root}/index/%u:CONTROL={root}/index/%u
imap_id_log = *
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = create
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd/%u
}}
{oauth}{limit}userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/mail/%u
}}
# No growing login delay for 127.0.0.1 after failed logins: on a shared server one test's wrong
# passwords would slow every later test's logins for half a minute.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
}}
""")

    def add_mailbox(self, *, restartable: bool = False, password: str | None = None) -> Mailbox:
        """A new user with its own password (``password``, else a random one) and an empty Maildir
        (Dovecot creates it at first login). ``restartable``: the mailbox's ``stop``/``start`` act
        on this server."""
        user = f"rep{next(self._users)}@{DOMAIN}"
        password = password or f"s3cret-{secrets.token_hex(8)}"
        passwd = self.root / "passwd" / user
        passwd.write_text(f"{user}:{{PLAIN}}{password}\n", encoding="utf-8")
        os.chmod(passwd, 0o644)
        return Mailbox(self, user, password, restartable=restartable)

    def remove_mailbox(self, mailbox: Mailbox) -> None:
        """Delete the user's password file and mail; user names are never reused, so nothing of it
        reaches a later test."""
        (self.root / "passwd" / mailbox.user).unlink(missing_ok=True)
        for sub in ("mail", "index"):
            shutil.rmtree(self.root / sub / mailbox.user, ignore_errors=True)

    def _master_pid(self) -> int | None:
        try:
            return int((self.root / "run" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def is_running(self) -> bool:
        pid = self._master_pid()
        return pid is not None and _start_time(pid) != ""

    def start(self) -> None:
        # The daemonised master keeps inherited pipes open: send its output to a file instead.
        with open(self.root / "start.err", "w+") as err:
            code = subprocess.call([DOVECOT, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
            if code != 0:
                err.seek(0)
                raise RuntimeError(f"dovecot did not start: {err.read().strip()} {self._log_tail()}")
        deadline = time.monotonic() + scaled(15)
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self._log_tail()}")

    def stop(self) -> None:
        """Stop the whole instance: every open IMAP connection drops."""
        pid = self._master_pid()
        if pid is None:
            return
        started = _start_time(pid)
        children = _descendants(pid)
        if started:
            os.kill(pid, signal.SIGTERM)
        # The master ends its children (every connection drops) at once, then idles a few seconds
        # before it exits and frees the ports: once its children are gone, end it.
        deadline = time.monotonic() + scaled(10)
        while _descendants(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        _kill_if_same(pid, started)
        # IMAP sessions already logged in may outlive the master: end them too, as a crash would.
        for child, child_started in children:
            _kill_if_same(child, child_started)
        while started and _start_time(pid) == started and time.monotonic() < deadline:
            time.sleep(0.02)
        (self.root / "run" / "master.pid").unlink(missing_ok=True)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return ""


class Mailbox:
    """One test's user on a :class:`DovecotServer`: ``client`` (an imapclient session as this user),
    ``append``, ``load_maildir``, ``flags`` (every message's flags, via doveadm), ``log_text`` (the
    server's log since this mailbox was made) and, on a restartable server, ``stop`` and ``start``."""

    def __init__(self, server: DovecotServer, user: str, password: str, *, restartable: bool = False) -> None:
        self.server = server
        self.user = user
        self.password = password
        self.restartable = restartable
        self.port = server.port
        self.ssl_port = server.ssl_port
        self.cert = server.cert
        self._log_start = server.log.stat().st_size if server.log.exists() else 0

    def stop(self) -> None:
        """Stop the server: every open IMAP connection drops (only on the restartable server)."""
        self._check_restartable("stop")
        self.server.stop()

    def start(self) -> None:
        self._check_restartable("start")
        self.server.start()

    def _check_restartable(self, action: str) -> None:
        if not self.restartable:
            raise RuntimeError(f"this test would {action} the Dovecot every other test shares: "
                               "mark it @pytest.mark.restarts_dovecot to get the restartable server")

    def log_text(self) -> str:
        log = self.server.log
        if not log.exists():
            return ""
        with open(log, "rb") as handle:
            handle.seek(self._log_start)
            return handle.read().decode(errors="replace")

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=scaled(10))
        client.login(self.user, self.password)
        return client

    def append(self, folder: str, messages, flags=()) -> None:
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for data in messages:
                client.append(folder, data, flags=flags)

    def load_maildir(self, folder: str, messages) -> int:
        """Write ``messages`` straight into the user's Maildir (much faster than APPEND for a
        benchmark's ten thousand), then let doveadm index them. Returns how many were written."""
        server = self.server
        home = server.root / "mail" / self.user
        box = home if folder == "INBOX" else home / ("." + folder.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        count = 0
        stamp = int(time.time())
        for count, data in enumerate(messages, 1):
            (box / "cur" / f"{stamp}.M{count}P{os.getpid()}.bench,S={len(data)}:2,").write_bytes(data)
        for path in [home, *home.rglob("*")]:
            os.chown(path, server.uid, server.gid)
        subprocess.run([DOVEADM, "-c", str(server.conf), "index", "-u", self.user, folder], check=True,
                       capture_output=True)
        return count

    def flags(self) -> dict[tuple[str, int], set[str]]:
        """``(folder, uid) -> flags`` for every message, read with doveadm (not over IMAP)."""
        done = subprocess.run(
            [DOVEADM, "-c", str(self.server.conf), "-f", "tab", "fetch", "-u", self.user, "mailbox uid flags", "all"],
            capture_output=True, text=True, check=True,
        )
        result = {}
        for line in done.stdout.splitlines()[1:]:
            mailbox, uid, flags = (line.split("\t") + ["", ""])[:3]
            result[(mailbox, int(uid))] = set(flags.split()) - {"\\Recent"}
        return result
