"""The IMAP password never reaches any output, debug log, error or file, whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, Dossier, make_message
from tests.timing import scaled

from .conftest import Mailbox, account_toml


def test_password_absent_from_debug_logs_errors_and_files(dossier: Dossier, dovecot: Mailbox, tmp_path):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + account_toml(dovecot)
                      + account_toml(dovecot, name="bycommand").replace(
                          'password_env = "DOSSIER_TEST_IMAP_PASSWORD"',
                          f'password_command = "{sys.executable} -c \\"import os; print(os.environ[\'PW2\'])\\""'))
    dovecot.append("INBOX", [make_message(subject="secret test", message_id="<s1@x>")])
    password = dovecot.password

    def run(*args: str, password: str = password) -> str:
        env = {**os.environ, "DOSSIER_TEST_IMAP_PASSWORD": password, "PW2": password}
        done = subprocess.run([sys.executable, "-m", "config.cli", "-vv", "--data-dir", str(dossier.data_dir), *args],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=scaled(120))
        return done.stdout + done.stderr

    outputs = [run("sync"), run("accounts", "test", "work"), run("accounts", "test", "bycommand"),
               run("status"), run("accounts", "list", "--json")]
    assert "LOGIN" in outputs[0] or "login" in outputs[0].lower()  # debug logging really was on
    wrong = password[::-1]
    outputs += [run("sync", password=wrong), run("accounts", "test", "bycommand", password=wrong)]
    assert any("failed" in out for out in outputs[-2:])
    for out in outputs:
        assert password not in out and wrong not in out
    for path in dossier.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert password.encode() not in data and wrong.encode() not in data, path
