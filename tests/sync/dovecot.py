"""A real, private Dovecot IMAP server on 127.0.0.1, for the sync tests and `scripts/bench_sync.py`.

Each test gets its own instance (own ports, config, Maildir and TLS certificate), started with
``dovecot -c`` so the system's /etc/dovecot is never read. Run as root (CI), mail is owned by an
unprivileged system user, as Dovecot requires; run as another user, everything runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Debian installs the server in /usr/sbin, which is not on every user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
DOVECOT = shutil.which("dovecot", path=_SEARCH_PATH) or "dovecot"
DOVEADM = shutil.which("doveadm", path=_SEARCH_PATH) or "doveadm"

USER = "rep@northwind-trading.com"
PASSWORD = "s3cret-test-pw-9471"
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


class Dovecot:
    """One private Dovecot instance: ``start``, ``stop``, ``client`` (an imapclient session as
    the test user, for appending mail) and ``flags`` (every message's flags, via doveadm)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.ssl_port = _free_port()
        self.uid, self.gid = _mail_owner()
        self.conf = root / "dovecot.conf"
        self.cert = root / "cert.pem"
        self.log = root / "dovecot.log"
        self._write_config()

    def _write_config(self) -> None:
        root = self.root
        for sub in ("run", "state", "mail", "index"):
            (root / sub).mkdir(mode=0o711)
        os.chmod(root, 0o711)
        for sub in ("mail", "index"):
            os.chown(root / sub, self.uid, self.gid)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(root / "key.pem"), "-out", str(self.cert)],
            check=True, capture_output=True,
        )
        os.chmod(root / "key.pem", 0o600)
        passwd = root / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        os.chmod(passwd, 0o644)
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
auth_mechanisms = plain login
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
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/mail/%u
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

    def start(self) -> None:
        # The daemonised master keeps inherited pipes open: send its output to a file instead.
        with open(self.root / "start.err", "w+") as err:
            code = subprocess.call([DOVECOT, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
            if code != 0:
                err.seek(0)
                raise RuntimeError(f"dovecot did not start: {err.read().strip()} {self._log_tail()}")
        deadline = time.monotonic() + 15
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
        pidfile = self.root / "run" / "master.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text().split()[0])
        subprocess.call([DOVECOT, "-c", str(self.conf), "stop"], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        # IMAP sessions already logged in may outlive the master: end them too, as a crash would.
        subprocess.call(["pkill", "-KILL", "-f", f"dovecot-dossier-test-{self.port}/"])
        # The listening ports must be free before a restart.
        time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return ""

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
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
        home = self.root / "mail" / USER
        box = home if folder == "INBOX" else home / ("." + folder.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        count = 0
        stamp = int(time.time())
        for count, data in enumerate(messages, 1):
            (box / "cur" / f"{stamp}.M{count}P{os.getpid()}.bench,S={len(data)}:2,").write_bytes(data)
        for path in [home, *home.rglob("*")]:
            os.chown(path, self.uid, self.gid)
        subprocess.run([DOVEADM, "-c", str(self.conf), "index", "-u", USER, folder], check=True,
                       capture_output=True)
        return count

    def flags(self) -> dict[tuple[str, int], set[str]]:
        """``(folder, uid) -> flags`` for every message, read with doveadm (not over IMAP)."""
        done = subprocess.run(
            [DOVEADM, "-c", str(self.conf), "-f", "tab", "fetch", "-u", USER, "mailbox uid flags", "all"],
            capture_output=True, text=True, check=True,
        )
        result = {}
        for line in done.stdout.splitlines()[1:]:
            mailbox, uid, flags = (line.split("\t") + ["", ""])[:3]
            result[(mailbox, int(uid))] = set(flags.split()) - {"\\Recent"}
        return result


