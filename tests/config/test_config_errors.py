"""Settings as people really write them: Notepad's encodings, a mistyped --config, numbers out of
range, a database URL that is malformed, lacks its driver or names a server that is down, a data
directory on a read-only disk. Each is one line and a non-zero exit, or it simply works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import load_settings
from tests.conftest import OWN, REPO, Dossier


def _one_line(result) -> str:
    assert result.exit_code == 1 and result.stdout == "", result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                           ("utf-16-be", b"\xfe\xff")])
def test_a_config_saved_by_notepad_is_read(dossier: Dossier, encoding: str, bom: bytes):
    config = dossier.data_dir / "dossier.toml"
    text = config.read_text().replace("own_domains = []", f'own_domains = ["{OWN}", "分公司.cn"]')
    config.write_bytes(bom + text.encode(encoding))
    assert load_settings(dossier.data_dir).own_domains == (OWN, "分公司.cn")
    assert dossier.json("status")["messages"] == 0


def test_a_config_in_another_encoding_is_one_line(dossier: Dossier):
    config = dossier.data_dir / "dossier.toml"
    config.write_bytes(config.read_text().replace("own_domains = []", 'own_domains = ["公司.cn"]').encode("gbk"))
    line = _one_line(dossier.run("status", expect=None))
    assert "is not UTF-8 text" in line and "save it as UTF-8" in line


def test_a_config_named_with_config_must_exist(dossier: Dossier, tmp_path: Path):
    line = _one_line(dossier.run("--config", tmp_path / "typo.toml", "status", expect=None))
    assert f"config file {tmp_path / 'typo.toml'} does not exist" in line


@pytest.mark.parametrize("section, replace, problem", [
    ("import", ("batch_size = 200", "batch_size = 12345678901234567890"), "batch_size must be from 1 to 10000"),
    ("import", ("batch_size = 200", "batch_size = 0"), "batch_size must be from 1 to 10000"),
    ("import", ("# workers = 2", "workers = -1"), "workers must be from 0 to 64"),
    ("import", ("# workers = 2", "workers = 65"), "workers must be from 0 to 64"),
    ("import", ("# workers = 2", 'parser = "lxml"'), "[import] parser must be one of mail-parser, stdlib, not 'lxml'"),
    ("accounts", None, "port must be from 1 to 65535"),
])
def test_values_out_of_range_are_refused(dossier: Dossier, section: str, replace, problem: str):
    config = dossier.data_dir / "dossier.toml"
    text = config.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1])
    else:
        text += ('\n[[accounts]]\nname = "anna"\nhost = "imap.example.com"\nusername = "anna"\nport = 70000\n'
                 'password_env = "ANNA_PASSWORD"\n')
    config.write_text(text)
    assert problem in _one_line(dossier.run("status", expect=None))


@pytest.mark.parametrize("url, problem", [
    ("not a url with a s3cret", "is not a database URL"),
    ("postgresql+psycopg//user:s3cret@host/db", "is not a database URL"),
    ("oracle+nothing://user:s3cret@host/db", "names 'oracle', a kind of database Dossier cannot use"),
])
def test_a_malformed_database_url_is_one_line_that_never_shows_it(dossier: Dossier, monkeypatch, url, problem):
    monkeypatch.setenv("DOSSIER_DATABASE_URL", url)
    line = _one_line(dossier.run("status", expect=None))
    assert problem in line and "s3cret" not in line


def _run(data_dir: Path, *args: str, env: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess:
    code = prelude + "from config.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, "--data-dir", str(data_dir), *args], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, "DOSSIER_NO_DAEMON": "1", **env}, timeout=120)


def test_postgresql_without_its_driver_says_what_to_install(dossier: Dossier):
    try:
        import psycopg  # noqa: F401
    except ImportError:
        prelude = ""
    else:  # installed here: the command runs in a process where it cannot be imported, as without it
        prelude = "import sys\nsys.modules['psycopg'] = None\n"
    done = _run(dossier.data_dir, "status", env={"DOSSIER_DATABASE_URL": "postgresql+psycopg://u:s3cret@h/db"},
                prelude=prelude)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("Error: the database is PostgreSQL but its driver is not installed; install it with "
                           "`pip install 'dossier[postgres]'`\n")


def test_an_unreachable_postgresql_is_not_called_a_damaged_file(dossier: Dossier):
    pytest.importorskip("psycopg")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _run(dossier.data_dir, "status", env={"DOSSIER_DATABASE_URL": f"postgresql+psycopg://u:s3cret@127.0.0.1:"
                                                                           f"{port}/dossier"})
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"Error: cannot reach the database postgresql+psycopg://u:***@127.0.0.1:{port}/")
    assert "check that the server is running" in done.stderr and "backup" not in done.stderr


@pytest.fixture
def read_only(dossier: Dossier) -> Iterator[Path]:
    """The archive's data directory on a read-only file system (a read-only bind mount; where the
    test cannot mount, it is not root and taking the write permission away does the same)."""
    dossier.run("import", REPO / "sample" / "mailbox")
    path = dossier.data_dir
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
        try:
            yield path
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield path
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


@pytest.mark.parametrize("command", [["status"], ["search", "price"], ["import", "."], ["check"]])
def test_a_read_only_data_directory_is_not_called_damaged(read_only: Path, command: list[str]):
    dossier = Dossier(read_only)
    line = _one_line(dossier.run(*command, expect=None))
    assert "read-only" in line and "backup" not in line and "damaged" not in line
