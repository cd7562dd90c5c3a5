"""What the pages build without a browser: sanitized mail, the language chosen, where sign-in returns to,
and that every word of the interface has its Chinese translation."""

from __future__ import annotations

import subprocess
import sys

from config.web.auth import safe_next
from config.web.mail import sanitize_mail
from config.web.pages import _cell
from config.web.render import choose_language, translations
from tests.conftest import REPO


def test_sanitizing_keeps_formatting_and_drops_every_active_or_loading_part():
    html = ('<p style="color: red; position: fixed; background: url(http://x/y.png)" onclick="x()">Hi</p>'
            '<script>alert(1)</script><style>p{}</style><a href="javascript:alert(1)">a</a>'
            '<img src="https://tracker.example/p.png"><img src="cid:logo@x"><form><input></form>')
    cleaned, blocked = sanitize_mail(
        html + '<a href="data:text/html,hi">d</a>',
        inline_image=lambda cid: ("image/png", b"\x89PNG") if cid == "logo@x" else None)
    assert blocked == 1
    assert '<p style="color:red">Hi</p>' in cleaned
    for gone in ("script", "alert", "<style", "onclick", "position", "url(", "tracker.example", "<form", "<input",
                 "data:text"):
        assert gone not in cleaned
    assert '<img src="data:image/png;base64,iVBORw==">' in cleaned  # the inline (cid:) image, shown
    shown, blocked = sanitize_mail(html, remote_images=True)
    assert blocked == 0 and 'src="https://tracker.example/p.png"' in shown


def test_the_language_comes_from_the_cookie_else_the_browsers_preference():
    assert choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert choose_language(None, "de-DE,en;q=0.5,zh;q=0.4") == "en"
    assert choose_language(None, "fr-FR") == "en"
    assert choose_language("zh", "en-US") == "zh"
    assert translations("zh").gettext("Customers") == "客户"


def test_sign_in_returns_only_to_a_page_of_this_site():
    assert safe_next("/customers?stage=new") == "/customers?stage=new"
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None):
        assert safe_next(elsewhere) == "/search"


def test_every_word_of_the_interface_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "config/web/babel.cfg",
                    "-k", "gettext", "-o", str(pot), "."], cwd=REPO, check=True, capture_output=True)
    from babel.messages.pofile import read_po

    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    catalog = read_po((REPO / "config/web/locale/zh_Hans/LC_MESSAGES/messages.po").open("rb"))
    translated = {m.id for m in catalog if m.id and m.string}
    assert wanted - translated == set()


def test_exported_cells_never_start_like_a_spreadsheet_formula():
    assert [_cell(v) for v in ("=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "USD 12,500", True)] == [
        "'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "USD 12,500", "True"]
