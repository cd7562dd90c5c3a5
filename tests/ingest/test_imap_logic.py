"""The pure parts of IMAP fetching: folder choice, batching, the cursor, error wording."""

from __future__ import annotations

import socket
import ssl

from imapclient.exceptions import LoginError

from ingest.imap import (
    FolderInfo,
    ImapAccount,
    advance_cursor,
    ascending,
    choose_folders,
    decode_folder,
    describe_error,
    missing_folders,
    plan_batches,
)

ACCOUNT = ImapAccount(name="work", host="imap.example.com", port=993, username="rep@example.com",
                      password=lambda: "hunter2-secret")


def _folders(*specs):
    return [FolderInfo(raw=raw, name=decode_folder(raw), flags=tuple(flags)) for raw, *flags in specs]


def test_default_folders_skip_trash_junk_drafts_by_flag_and_name():
    folders = _folders(("INBOX",), ("Sent", "\\Sent"), ("Papierkorb", "\\Trash"), ("Spam",), ("Drafts",),
                       ("[Gmail]", "\\Noselect"), ("Customers/&Ti1W,VuiYjc-",), ("&V4NXPpCuTvY-",))
    chosen = [f.name for f in choose_folders(folders)]
    assert chosen == ["INBOX", "Sent", "Customers/中国客户"]  # 垃圾邮件 (junk, by name) skipped too


def test_include_and_exclude_globs_match_decoded_names_and_an_explicit_name_wins():
    folders = _folders(("INBOX",), ("Customers/&Ti1W,VuiYjc-",), ("Customers/Acme",), ("Trash", "\\Trash"))
    assert [f.raw for f in choose_folders(folders, ["customers/*"], ["*acme"])] == ["Customers/&Ti1W,VuiYjc-"]
    assert [f.name for f in choose_folders(folders, ["Customers/中国客户"])] == ["Customers/中国客户"]
    assert [f.name for f in choose_folders(folders, ["Trash"])] == ["Trash"]


def test_batches_are_bounded_by_count_and_bytes_and_ascending():
    sizes = {5: 10, 1: 10, 3: 10, 9: 500, 7: 10}
    assert plan_batches(sizes, max_count=2, max_bytes=1000) == [[1, 3], [5, 7], [9]]
    assert plan_batches(sizes, max_count=10, max_bytes=100) == [[1, 3, 5, 7], [9]]
    assert plan_batches({1: 5000}, max_count=10, max_bytes=100) == [[1]]  # too big: alone, not dropped
    assert ascending([9, 3, 3, 1]) == [1, 3, 9]


def test_the_cursor_never_passes_a_uid_that_is_not_stored():
    assert advance_cursor(10, [11, 12, 13], {11, 12, 13}) == (13, [])
    assert advance_cursor(10, [11, 12, 13, 14], {11, 13, 14}) == (11, [12])
    assert advance_cursor(10, [11, 12], set()) == (10, [11, 12])
    # The newest message that `UID SEARCH n:*` returns although it is old is ignored.
    assert advance_cursor(10, [7], set()) == (10, [])


def test_errors_name_cause_and_fix_without_the_password():
    cases = {
        socket.gaierror(-2, "Name or service not known"): "cannot resolve host 'imap.example.com' (DNS",
        ConnectionRefusedError(111, "Connection refused"): "connection to imap.example.com:993 refused",
        TimeoutError("timed out"): "did not answer in time",
        LoginError("[AUTHENTICATIONFAILED] Authentication failed."): "login as 'rep@example.com' failed",
        LoginError("b'[ALERT] Unsafe Login. Please contact kefu@188.com for help'"): "授权码",
        LoginError("BasicAuthBlocked: basic authentication is disabled"): "requires OAuth2",
        ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"): "check `security`",
    }
    for exc, expected in cases.items():
        text = str(describe_error(exc, ACCOUNT))
        assert expected in text, text
        assert text.startswith("account 'work': ") and "\n" not in text and "hunter2" not in text
    assert describe_error(ConnectionRefusedError(), ACCOUNT).retryable
    assert not describe_error(LoginError("no"), ACCOUNT).retryable
    assert "hunter2" not in repr(ACCOUNT)


def test_folder_names_decode_only_when_they_are_exact_modified_utf7():
    assert decode_folder("Customers/&Ti1W,VuiYjc-") == "Customers/中国客户"
    assert decode_folder("Kund&AOQ-r") == "Kundär"
    assert decode_folder("Q&-A") == "Q&A"
    # Not modified UTF-7: shown as the server or the disk spells it.
    for name in ("R&D", "&", "Tom & Jerry", "已删除", "Q&A-2024"):
        assert decode_folder(name) == name


def test_refusals_providers_send_get_the_fix_for_that_provider():
    """The wording of refusals seen from Gmail, QQ Mail, NetEase, Microsoft 365 and Dovecot."""
    cases = {
        "[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 "
        "(Failure)": "requires an app password",
        "[ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable "
        "your account for IMAP access. (Failure)": "enable IMAP in the web mail settings",
        "Login fail. Account is abnormal, service is not open, password is incorrect, login frequency limited, "
        "or system is busy.": "IMAP is not enabled for this mailbox",
        "LOGIN failed. Please use the authorization code to login": "授权码",
        "[ALERT] Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 "
        "(Failure)": "sign in there",
        "User is authenticated but not connected.": "Set-CASMailbox -ImapEnabled $true",
        "[ALERT] Too many simultaneous connections. (Failure)": "too many are open for this account",
        "[LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)":
            "too many are open",
    }
    for text, expected in cases.items():
        error = describe_error(LoginError(text), ACCOUNT)
        assert expected in str(error), str(error)
        assert str(error).startswith("account 'work': ") and "\n" not in str(error)
    import imaplib

    limit = describe_error(imaplib.IMAP4.error("[OVERQUOTA] Account exceeded command or bandwidth limits. "
                                               "(Failure)"), ACCOUNT)
    assert "download limit" in str(limit) and "next pass resumes where this one stopped" in str(limit)
    assert not limit.retryable  # no hammering within the pass: the next pass tries again
    assert "accounts authorize work" in str(describe_error(LoginError("BasicAuthBlocked"), ACCOUNT))


def test_a_login_hint_replaces_the_generic_advice():
    account = ImapAccount(name="qq", host="imap.qq.com", username="rep@qq.com", password=lambda: "x",
                          login_hint="QQ Mail wants the authorisation code")
    text = str(describe_error(LoginError("[AUTHENTICATIONFAILED] Invalid"), account))
    assert text.endswith("QQ Mail wants the authorisation code") and "password_env" not in text


def test_a_special_use_pattern_picks_gmail_all_mail_whatever_its_name():
    folders = _folders(("INBOX",), ("[Gmail]", "\\Noselect"), ("[Gmail]/Alle Nachrichten", "\\All"),
                       ("[Gmail]/Spam", "\\Junk"), ("Kunden",), ("[Gmail]/Gesendet", "\\Sent"))
    assert [f.name for f in choose_folders(folders, ["\\All"])] == ["[Gmail]/Alle Nachrichten"]
    assert missing_folders(folders, ["\\All", "INBOX", "Customers/*"]) == []
    assert missing_folders(_folders(("INBOX",)), ["\\All", "Kunden", "K*"]) == ["\\All", "Kunden"]
