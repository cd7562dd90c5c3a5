"""The archive knows itself: a data directory, its database and its raw store belong to one archive,
and anything else is refused in one line naming both sides, before anything is created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Databases, Dossier, make_message


def _refused(result, *words: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _import_one(d: Dossier, tmp_path: Path, name: str) -> None:
    source = tmp_path / f"{name}.eml"
    source.write_bytes(make_message(subject=name, message_id=f"<{name}@x>"))
    d.run("import", source)


def test_every_part_records_the_archive(dossier: Dossier, tmp_path: Path):
    _import_one(dossier, tmp_path, "first")
    node = json.loads((dossier.data_dir / "node.json").read_text())
    raw = json.loads((dossier.data_dir / "raw" / "dossier-archive.json").read_text())
    assert node["archive"] == raw["archive"] and len(node["node"]) == 32
    assert node["database"].startswith("sqlite:///") or node["database"].startswith("postgresql+psycopg://")


def test_a_data_directory_opened_against_another_archives_database_is_refused(tmp_path: Path, monkeypatch):
    mine, other = Dossier(tmp_path / "mine"), Dossier(tmp_path / "other")
    for d in (mine, other):
        d.run("init")
        _import_one(d, tmp_path, d.data_dir.name)
    monkeypatch.setenv("DOSSIER_DATABASE_URL", f"sqlite:///{other.data_dir / 'dossier.db'}")
    _refused(mine.run("search", "mine", expect=None), str(mine.data_dir), "another archive",
             str(mine.data_dir / "dossier.db"))
    monkeypatch.delenv("DOSSIER_DATABASE_URL")
    config = mine.data_dir / "dossier.toml"
    config.write_text(config.read_text().replace('\npath = ""\n', f'\npath = "{other.data_dir / "raw"}"\n', 1))
    _refused(mine.run("status", expect=None), f"the raw store {other.data_dir / 'raw'} belongs to another archive",
             str(mine.data_dir / "raw"))


@pytest.mark.postgres
def test_a_data_directory_opened_without_its_postgresql_database_creates_nothing(tmp_path: Path, postgres: Databases):
    with postgres.new() as url:
        d = Dossier(tmp_path / "data")
        d.run("init", "--database-url", url)
        _import_one(d, tmp_path, "kept")
        config = d.data_dir / "dossier.toml"
        config.write_text(config.read_text().replace(f'\nurl = "{url}"\n', '\nurl = ""\n', 1))
        _refused(d.run("status", expect=None), f"belongs to the archive in {url}", "does not exist")
        assert not (d.data_dir / "dossier.db").exists()
        # an empty PostgreSQL database is no better
        with postgres.new() as empty:
            config.write_text(config.read_text().replace('\nurl = ""\n', f'\nurl = "{empty}"\n', 1))
            _refused(d.run("search", "kept", expect=None), f"belongs to the archive in {url}", "holds no archive")


@pytest.mark.postgres
def test_a_second_data_directory_on_one_database_shares_the_raw_store_or_is_refused(tmp_path: Path,
                                                                                     postgres: Databases):
    with postgres.new() as url:
        first = Dossier(tmp_path / "first")
        first.run("init", "--database-url", url)
        _import_one(first, tmp_path, "from-first")
        second = Dossier(tmp_path / "second")
        line = _refused(second.run("init", "--database-url", url, expect=None), str(first.data_dir / "raw"),
                        str(second.data_dir / "raw"), "--raw-store")
        assert "is not it" in line
        third = Dossier(tmp_path / "third")
        third.run("init", "--database-url", url, "--raw-store", first.data_dir / "raw")
        _import_one(third, tmp_path, "from-third")
        assert {h["subject"] for h in third.json("search", "", "--limit", "9")} >= {"from-third"}
        # both nodes read every message's raw bytes, whoever stored it
        for d in (first, third):
            for hit in d.json("search", "", "--limit", "9"):
                assert d.run("show", hit["id"], "--raw").stdout_bytes
        nodes = [json.loads((d.data_dir / "node.json").read_text()) for d in (first, third)]
        assert nodes[0]["archive"] == nodes[1]["archive"] and nodes[0]["node"] != nodes[1]["node"]
