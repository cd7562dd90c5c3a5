"""A rep's scope, enforced by the read library itself: their customers with all their mail, plus the
mail of the IMAP accounts they own; everything else reads as not there (same words as nothing)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.archive import Archive
from config.queries import (
    MessageNotFoundError,
    Scope,
    customer_dossier,
    explain_links,
    list_customers,
    list_markets,
    list_quotes,
    read_message,
    read_raw_message,
    read_thread,
    search_messages,
    search_threads,
)
from config.settings import load_settings
from config.users import add_user, user_scope
from ingest import Message, MessageCopy
from linker import Customer, CustomerNotFoundError, Link
from tests.conftest import Dossier

ANNA = "anna.li@northwind-trading.com"
TOM = "tom.baker@northwind-trading.com"
ANNAS = {"宁波海通贸易有限公司 (Ningbo Haitong Trading)", "台北精密股份有限公司 (Taipei Precision)"}


@pytest.fixture(scope="module")
def archive(sample: Dossier):
    opened = Archive(load_settings(sample.data_dir))
    yield opened
    opened.close()


def linked_to(archive: Archive, names: set[str]) -> dict[str, int]:
    """sha256 -> message id of every message linked to the customers ``names``."""
    with archive.sessions() as session:
        return dict(tuple(row) for row in session.execute(
            select(Message.sha256, Message.id).join(Link, Link.message_id == Message.id)
            .join(Customer, Customer.id == Link.customer_id).where(Customer.name.in_(sorted(names))).distinct()).all())


def test_a_rep_lists_exactly_the_customers_they_own(archive: Archive):
    anna = Scope.of([ANNA])
    assert {c.name for c in list_customers(archive, scope=anna).customers} == ANNAS
    assert len(list_customers(archive).customers) == 6  # everyone else sees them all
    assert {m.country for m in list_markets(archive, scope=anna).markets} == {"China", "Taiwan"}


def test_a_reps_search_finds_all_of_their_customers_mail_and_nothing_else(archive: Archive):
    anna = Scope.of([ANNA.upper()])  # owners compare without case
    mine = linked_to(archive, ANNAS)
    page = search_messages(archive, "", scope=anna, limit=100)
    assert {h.sha256 for h in page.hits} == set(mine) and page.total == len(mine)
    everyone = search_messages(archive, "", limit=100)
    assert everyone.total > page.total
    threads = search_threads(archive, "", scope=anna, limit=50)
    assert {h for t in threads.threads for h in t.hits} <= {sha[:12] for sha in mine}
    quotes = list_quotes(archive, scope=anna)
    assert quotes.quotes and all(set(q.customers) & ANNAS for q in quotes.quotes)
    with pytest.raises(CustomerNotFoundError) as found:
        search_messages(archive, "", customer="acme", scope=anna)
    assert "no customer matches 'acme'" in str(found.value)
    with pytest.raises(CustomerNotFoundError):
        search_messages(archive, "customer:acme", scope=anna)
    with pytest.raises(CustomerNotFoundError):
        customer_dossier(archive, "Acme Industrial", scope=anna)


def test_another_reps_message_is_not_found_by_id_in_every_read(archive: Archive):
    acme = next(iter(linked_to(archive, {"Acme Industrial"})))[:12]
    anna, tom = Scope.of([ANNA]), Scope.of([TOM])
    for read in (read_message, read_raw_message, read_thread, explain_links):
        with pytest.raises(MessageNotFoundError) as refused:
            read(archive, acme, scope=anna)
        assert str(refused.value) == f"no message {acme!r}; use the id `dossier search` prints"
        assert read(archive, acme, scope=tom)  # its owner reads it
        assert read(archive, acme)  # and so does everyone without a scope


def test_a_conversation_shows_a_rep_only_the_messages_in_their_scope(archive: Archive):
    mine = linked_to(archive, ANNAS)
    for sha in mine:
        conversation = read_thread(archive, sha[:12], scope=Scope.of([ANNA]))
        assert {m.id for m in conversation.messages} <= {s[:12] for s in mine}


def test_the_mail_of_an_account_a_rep_owns_is_in_their_scope_linked_or_not(sample: Dossier, tmp_path):
    config = sample.data_dir / "dossier.toml"
    original = config.read_text()
    config.write_text(original + '\n[[accounts]]\nname = "sample"\nhost = "127.0.0.1"\nsecurity = "none"\n'
                      'username = "x"\npassword_env = "NOPE"\nowner = "Anna.Li@northwind-trading.com"\n')
    try:
        archive = Archive(load_settings(sample.data_dir))
        user = add_user(archive, ANNA, "rep", "a long enough password")
        scope = user_scope(archive.settings, user)
        assert scope.accounts == {"sample"}
        with archive.sessions() as session:
            every = set(session.scalars(
                select(Message.sha256).join(MessageCopy).where(MessageCopy.account == "sample")))
        assert search_messages(archive, "", scope=scope, limit=100).total == len(every)
        unlinked = sorted(every - set(linked_to(archive, ANNAS)))[0]
        assert read_message(archive, unlinked[:12], scope=scope).id == unlinked[:12]
        assert {c.name for c in list_customers(archive, scope=scope).customers} == ANNAS  # customers stay hers
        archive.close()
    finally:
        config.write_text(original)
