"""Users of the web front end, the audit log, and the team commands: users, audit, markets, reassign,
customers list --stage; checked through the library, not only the printed text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.archive import Archive
from config.audit import list_audit
from config.settings import load_settings
from config.users import (
    MAX_FAILURES_PER_ACCOUNT,
    SignInError,
    SignInThrottledError,
    UserError,
    active_user,
    add_user,
    disable_user,
    set_password,
    sign_in,
)
from ingest import utcnow
from tests.conftest import Dossier, build_sample

ANNA = "anna.li@northwind-trading.com"
TOM = "tom.baker@northwind-trading.com"


@pytest.fixture
def archive(dossier: Dossier):
    opened = Archive(load_settings(dossier.data_dir))
    yield opened
    opened.close()


def test_a_user_signs_in_with_their_password_only_and_every_attempt_is_audited(archive: Archive):
    user = add_user(archive, "Anna.Li@Northwind-Trading.com", "rep", "correct horse battery", name="Anna Li")
    assert (user.email, user.role, user.name) == (ANNA, "rep", "Anna Li")
    with pytest.raises(SignInError):
        sign_in(archive, ANNA, "wrong password!", address="10.0.0.9")
    with pytest.raises(SignInError):
        sign_in(archive, "nobody@example.com", "correct horse battery", address="10.0.0.9")
    assert sign_in(archive, ANNA, "correct horse battery", address="10.0.0.9").id == user.id
    actions = [(e.actor, e.action, e.address) for e in list_audit(archive).events]
    assert actions == [(ANNA, "signin", "10.0.0.9"), ("nobody@example.com", "signin_failed", "10.0.0.9"),
                       (ANNA, "signin_failed", "10.0.0.9")]


def test_passwords_are_stored_as_argon2_hashes_and_short_ones_refused(archive: Archive):
    from sqlalchemy import select

    from config.models import User

    with pytest.raises(UserError, match="at least 10 characters"):
        add_user(archive, ANNA, "rep", "short")
    add_user(archive, ANNA, "rep", "correct horse battery")
    with archive.sessions() as session:
        stored = session.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    with pytest.raises(UserError, match="already a user"):
        add_user(archive, ANNA, "manager", "another long password")
    with pytest.raises(UserError, match="role must be one of admin, manager, rep"):
        add_user(archive, TOM, "boss", "another long password")


def test_sign_in_is_throttled_per_account_after_repeated_failures(archive: Archive):
    add_user(archive, ANNA, "rep", "correct horse battery")
    now = utcnow()
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(SignInError):
            sign_in(archive, ANNA, "guess guess guess", address="10.0.0.1", now=now)
    with pytest.raises(SignInThrottledError):  # even the right password, from anywhere, for a while
        sign_in(archive, ANNA, "correct horse battery", address="10.0.0.2", now=now)
    assert sign_in(archive, ANNA, "correct horse battery", address="10.0.0.2", now=now + timedelta(minutes=16))


def test_a_new_password_or_disabling_ends_the_sessions_a_user_had(archive: Archive):
    user = add_user(archive, ANNA, "rep", "correct horse battery")
    assert active_user(archive, user.id, user.stamp) == user
    changed = set_password(archive, ANNA, "a brand new password")
    assert active_user(archive, user.id, user.stamp) is None
    assert active_user(archive, user.id, changed.stamp) is not None
    disable_user(archive, ANNA)
    assert active_user(archive, user.id, changed.stamp) is None
    with pytest.raises(SignInError):
        sign_in(archive, ANNA, "a brand new password")


def test_users_commands_read_the_password_from_standard_input_and_list_users(dossier: Dossier):
    result = dossier.runner.invoke(
        __import__("config.cli", fromlist=["main"]).main,
        ["--data-dir", str(dossier.data_dir), "users", "add", ANNA, "--role", "rep", "--name", "Anna Li"],
        input="correct horse battery\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert dossier.json("users", "list")[0] == {"email": ANNA, "name": "Anna Li", "role": "rep",
                                                 "is_disabled": False,
                                                 "created_at": dossier.json("users", "list")[0]["created_at"]}
    dossier.run("users", "disable", ANNA)
    assert "disabled" in dossier.run("users", "list").stdout
    refused = dossier.run("users", "add", TOM, "--role", "rep", expect=1)
    assert refused.output.strip().splitlines()[-1] == (
        "Error: no password on standard input; pipe one line holding it, or run on a terminal")


def test_reassign_hands_every_customer_of_a_rep_to_another_and_the_list_shows_stages(tmp_path,
                                                                                     database_url: str | None):
    d = build_sample(tmp_path / "data", database_url)
    before = {c["name"]: c for c in d.json("customers", "list")}
    assert {c["stage"] for c in before.values()} <= {"prospect", "new", "active", "dormant", "lost"}
    toms = {n for n, c in before.items() if c.get("owner") == TOM}
    done = d.json("customers", "reassign", "--from", TOM.upper(), "--to", ANNA)
    assert done == {"from": TOM, "to": ANNA, "customers": sorted(toms)}
    after = {c["name"]: c for c in d.json("customers", "list")}
    assert {n for n, c in after.items() if c.get("owner") == ANNA} == set(before)
    nobody = d.run("customers", "reassign", "--from", TOM, "--to", ANNA, expect=1)
    assert "no customer has the owner 'tom.baker@northwind-trading.com'" in nobody.output
    markets = d.json("markets")
    assert sum(m["customers"] for m in markets) == len(before)
    assert {m["country"] for m in markets} == {c["country"] for c in before.values()}
    lost = d.json("customers", "list", "--stage", "lost")
    assert {c["name"] for c in lost} == {n for n, c in before.items() if c["stage"] == "lost"}
