"""The IMAP password never reaches any output, debug log, error or file, whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, Dossier, make_message

from .conftest import PASSWORD, Dovecot, account_toml


def test_password_absent_from_debug_logs_errors_and_files(dossier: Dossier, dovecot: Dovecot, tmp_path):
    config = dossier.data_dir / "dossier.toml"
    config.write_text(config.read_text() + account_toml(dovecot)
                      + account_toml(dovecot, name="bycommand").replace(
                          'password_env = "DOSSIER_TEST_IMAP_PASSWORD"',
                          f'password_command = "{sys.executable} -c \\"import os; print(os.environ[\'PW2\'])\\""'))
    dovecot.append("INBOX", [make_message(subject="secret test", message_id="<s1@x>")])

    def run(*args: str, password: str = PASSWORD) -> str:
        env = {**os.environ, "DOSSIER_TEST_IMAP_PASSWORD": password, "PW2": password}
        done = subprocess.run([sys.executable, "-m", "config.cli", "-vv", "--data-dir", str(dossier.data_dir), *args],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        return done.stdout + done.stderr

    outputs = [run("sync"), run("accounts", "test", "work"), run("accounts", "test", "bycommand"),
               run("status"), run("accounts", "list", "--json")]
    assert "LOGIN" in outputs[0] or "login" in outputs[0].lower()  # debug logging really was on
    wrong = PASSWORD[::-1]
    outputs += [run("sync", password=wrong), run("accounts", "test", "bycommand", password=wrong)]
    assert any("failed" in out for out in outputs[-2:])
    for out in outputs:
        assert PASSWORD not in out and wrong not in out
    for path in dossier.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and wrong.encode() not in data, path
