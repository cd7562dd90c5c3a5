"""What the machine does to a command: a pipe closed early, a disk that fills up mid-import.
A closed pipe ends the command quietly; a full disk is one line naming the disk and the path,
and the next run, with space again, resumes to an archive that checks clean."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ENGINES, REPO, Dossier, build_sample, make_message


def _run_into_closed_pipe(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a command whose standard output is a pipe nobody reads any more (``| head`` after its line)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "config.cli", "--data-dir", str(data_dir), *args],
                              stdout=write, stderr=subprocess.PIPE, cwd=REPO, timeout=120,
                              env={**os.environ, "DOSSIER_NO_DAEMON": "1"})
    finally:
        os.close(write)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    return build_sample(tmp_path_factory.mktemp("pipe") / "data").data_dir


@pytest.mark.parametrize("command", [["customers", "list"], ["customers", "show", "acme"], ["quotes"],
                                     ["search", "--threads", "price"], ["search", "price"], ["status"],
                                     ["unlinked"], ["check"]])
def test_a_closed_pipe_ends_the_command_quietly(sample_dir: Path, command: list[str]):
    done = _run_into_closed_pipe(sample_dir, *command)
    assert done.stderr == b"" and done.returncode == 141  # what a shell reports for a writer stopped by SIGPIPE


# --- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of its own, 2 MB, that the test can grow (a tmpfs; mounting needs root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _grow(mount: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)


def _export(path: Path, count: int) -> Path:
    """``count`` messages of about 6 KB each that compress little (random words), in a Maildir."""
    rng = random.Random(7)
    vocabulary = [f"w{rng.getrandbits(40):x}" for _ in range(5000)]
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        body = " ".join(rng.choice(vocabulary) for _ in range(600)) + f"\nmarker{n}\n"
        data = make_message(subject=f"Message {n}", message_id=f"<full{n}@x>", sender="buyer@acme.example",
                            body=body)
        (path / "cur" / f"{n}.host:2,S").write_bytes(data)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("engine, size", [(ENGINES[0], "1m"), (ENGINES[1], "3m"), (ENGINES[0], "5m")])
def test_a_full_disk_is_one_line_and_the_next_run_resumes(small_disk: Path, tmp_path: Path, engine: str, size: str):
    mailbox = _export(tmp_path / "Maildir", 600)
    _grow(small_disk, size)
    dossier = Dossier(small_disk / "archive")
    dossier.run("init", "--engine", engine)
    result = dossier.run("import", mailbox, "--json", expect=1)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stdout == "", result.stderr
    assert lines[0].startswith(f"Error: the disk at {small_disk} is full ({dossier.data_dir}, ")
    # Whatever got in is consistent: every message row has its raw file.
    check = json.loads(dossier.run("check", "--json", expect=None).stdout)
    assert not {f["kind"] for f in check["findings"]} - {"not-indexed", "orphan-blob"}
    if len(check["findings"]) > 1:  # the text report groups them: one line per kind
        text = dossier.run("check", expect=1)
        assert len(text.stdout.splitlines()) == len(check["kinds"]) + 1
        assert len(dossier.run("check", "--verbose", expect=1).stdout.splitlines()) == len(check["findings"]) + 1

    _grow(small_disk, "64m")
    again = dossier.json("import", mailbox)
    assert again["stored"] + again["duplicates"] == 600 and again["failed"] == 0
    assert dossier.json("check")["clean"]
    assert dossier.json("status")["messages"] == 600
    assert [h["subject"] for h in dossier.json("search", "marker599")] == ["Message 599"]
