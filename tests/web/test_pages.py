"""The web front end in a real headless Chromium, as a person uses it: signing in, a Chinese search,
a customer's dossier, a rep's scope, hostile HTML mail, CSRF, the phone-width layout.
Every page visited is kept as a screenshot in BASETEMP/screenshots."""

from __future__ import annotations

import re

from tests.web.conftest import sign_in
from tests.web.site import ADMIN, ANNA, HOSTILE_SUBJECT, MANAGER, PASSWORD, TOM

HAITONG = "宁波海通贸易有限公司 (Ningbo Haitong Trading)"


def shot(page, site, name: str) -> None:
    page.screenshot(path=str(site.shots / f"{name}.png"), full_page=True)


def test_signing_in_takes_the_right_password_only_and_pages_carry_strict_headers(browser, site):
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(site.url + "/customers")
    assert page.url.startswith(site.url + "/signin?next=")  # nothing without signing in
    csp = response.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    page.fill("input[name=email]", ANNA)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong e-mail address or password."
    shot(page, site, "signin-refused")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers")  # back where they were going
    assert page.locator("h1").inner_text() == "Customers"
    cookie = next(c for c in context.cookies() if c["name"] == "dossier_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    context.close()


def test_a_chinese_search_highlights_its_hits_in_a_chinese_interface(browser, site):
    context, page = sign_in(browser, site, ADMIN, locale="zh-CN")
    assert page.locator("header nav a").first.inner_text() == "搜索"  # the browser asked for Chinese
    page.fill("input[name=q]", "报价")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/search?q=*")
    marks = page.locator(".hit mark").all_inner_texts()
    assert marks and set(marks) <= {"报价", "報價"}  # Traditional text is found and marked too
    assert "報價" in marks
    assert re.fullmatch(r"\d+ 封邮件 · 导出 CSV", page.locator("p.count").inner_text())
    shot(page, site, "search-zh")
    page.click("text=English")
    assert page.locator("header nav a").first.inner_text() == "Search"
    shot(page, site, "search")
    context.close()


def test_a_customers_quote_and_every_mail_after_it_are_three_clicks_away(anna, site):
    page = anna
    page.click("header nav >> text=Customers")  # 1
    shot(page, site, "customers")
    page.click(f"text={HAITONG}")  # 2
    assert page.locator("h1").inner_text().startswith(HAITONG)
    quotes = page.locator("li.quote")
    assert "RMB 38.50" in quotes.all_inner_texts()[1] and "报价单.pdf" in quotes.all_inner_texts()[1]
    waiting = page.locator("li.waiting")
    assert waiting.count() >= 1 and re.search(r"\d+(\.\d)? days", waiting.first.inner_text())
    assert page.locator("svg.chart rect").count() > 0
    shot(page, site, "customer")
    quotes.nth(1).locator("a").first.click()  # 3: the quote, in its conversation, oldest first
    selected = page.locator("ol.thread li.selected")
    assert "不锈钢法兰" in selected.inner_text() and "38.50" in selected.inner_text()
    dates = page.locator("ol.thread summary time").all_inner_texts()
    assert dates == sorted(dates) and len(dates) >= 3
    shot(page, site, "thread")


def test_a_rep_gets_404_for_another_reps_customer_and_message_even_by_url(browser, site):
    context, tom = sign_in(browser, site, TOM)
    tom.goto(site.url + "/search?q=hydraulic")
    acme_id = tom.locator(".hit a.subject").first.get_attribute("href").split("/")[-1]
    context.close()
    context, page = sign_in(browser, site, ANNA)
    for path in (f"/message/{acme_id}", f"/message/{acme_id}/raw", f"/message/{acme_id}/frame",
                 f"/thread/{acme_id}", "/customer/Acme%20Industrial"):
        response = page.goto(site.url + path)
        assert response.status == 404, path
        assert page.locator("h1").inner_text() == "Not found"
    shot(page, site, "rep-404")
    page.goto(site.url + "/search?q=hydraulic")
    assert page.locator(".hit").count() == 0
    page.goto(site.url + "/customers")
    assert set(page.locator("table.customers tbody td:first-child a").all_inner_texts()) == {
        HAITONG, "台北精密股份有限公司 (Taipei Precision)"}
    context.close()


def test_hostile_html_mail_is_rendered_inert_until_images_are_asked_for(browser, site):
    context, page = sign_in(browser, site, TOM)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site.url + "/search?q=" + HOSTILE_SUBJECT.replace(" ", "+"))
    page.click(f"text={HOSTILE_SUBJECT}")
    frame_element = page.locator("iframe.mail")
    assert frame_element.get_attribute("sandbox") == "allow-popups allow-popups-to-escape-sandbox"
    frame = page.frame_locator("iframe.mail")
    assert frame.locator("h1").inner_text() == "Our new price list"
    page.wait_for_load_state("networkidle")
    assert site.tracker.hits == []  # no pixel, style sheet, background, script, refresh, form or frame
    body = frame.locator("body")
    assert body.evaluate("b => b.querySelectorAll('script, style, link, meta, iframe, object, form').length") == 0
    assert body.evaluate("b => [...b.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                         ".filter(a => a.name.startsWith('on')).length") == 0
    assert frame.get_by_text("Click for the catalogue").get_attribute("href") is None
    assert frame.get_by_text("Catalogue", exact=True).get_attribute("rel") == "noopener noreferrer nofollow"
    overlay = frame.get_by_text("Fake sign-in box")
    assert overlay.evaluate("e => getComputedStyle(e).position") == "static"
    assert "url(" not in (overlay.get_attribute("style") or "")
    assert page.title() != "pwned" and dialogs == []
    shot(page, site, "hostile-blocked")
    page.click("a.show-images")
    page.frame_locator("iframe.mail").locator("img[alt='tracking pixel']").wait_for()
    page.wait_for_load_state("networkidle")
    assert site.tracker.hits == ["/pixel.png"]  # only the image asked for, nothing else
    assert page.title() != "pwned"
    shot(page, site, "hostile-images")
    context.close()


def test_forms_without_the_sessions_csrf_token_are_refused(browser, site):
    context, page = sign_in(browser, site, MANAGER)
    for form in ({"from": TOM, "to": ANNA}, {"from": TOM, "to": ANNA, "csrf": "forged-token-forged-token"}):
        response = page.request.post(site.url + "/handover", form=form)
        assert response.status == 403 and "This form expired or did not come from Dossier" in response.text()
    page.goto(site.url + "/customers?owner=" + TOM)
    assert page.locator("table.customers tbody tr").count() == 4  # nothing handed over
    outsider = browser.new_context().request
    refused = outsider.post(site.url + "/signin", form={"email": ANNA, "password": PASSWORD})
    assert refused.status == 403
    context.close()


def test_pages_fit_a_390_pixel_phone_screen(browser, site):
    context, page = sign_in(browser, site, ADMIN, width=390, height=844)
    for name, path in (("search", "/search?q=quotation"), ("customers", "/customers"),
                       ("customer", "/customer/Acme%20Industrial"), ("markets", "/markets"), ("quotes", "/quotes"),
                       ("status", "/status")):
        page.goto(site.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        shot(page, site, f"phone-{name}")
    context.close()


def test_downloads_are_attachments_with_safe_names_and_are_audited(browser, site):
    # No proxy is configured: a forged X-Forwarded-For must not reach the audit log.
    context, page = sign_in(browser, site, ADMIN, headers={"X-Forwarded-For": "198.51.100.1"})
    page.goto(site.url + "/search?q=%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf")
    page.click("text=回复：询价：不锈钢法兰 DN50")
    message_id = page.url.split("/")[-1]
    with page.expect_download() as raw:
        page.click("text=Download .eml")
    assert raw.value.suggested_filename == f"{message_id}.eml"
    with page.expect_download() as attachment:
        page.click("text=报价单.pdf")
    assert attachment.value.suggested_filename == "报价单.pdf"
    response = page.request.get(site.url + f"/message/{message_id}/attachment/1")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    exported = page.request.get(site.url + "/search.csv?q=quotation")
    assert exported.headers["content-disposition"] == 'attachment; filename="dossier-search.csv"'
    assert exported.text().splitlines()[0].lstrip("\ufeff").startswith("id,date,from,to,subject,customers")
    page.goto(site.url + "/audit")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert any("raw_download" in r and message_id in r for r in rows)
    assert any("attachment_download" in r and "报价单.pdf" in r for r in rows)
    assert any("signin" in r and ADMIN in r and "127.0.0.1" in r for r in rows)
    assert not any("198.51.100.1" in r for r in rows)
    assert any("export" in r and "search q=quotation" in r for r in rows)
    shot(page, site, "audit")
    page.goto(site.url + "/markets")
    shot(page, site, "markets")
    context.close()


def test_a_manager_hands_a_reps_customers_over_and_the_new_owner_sees_the_whole_history(browser, own_site):
    site = own_site
    context, page = sign_in(browser, site, MANAGER)
    page.goto(site.url + "/handover")
    page.select_option("select[name=from]", TOM)
    page.fill("input[name=to]", ANNA)
    page.click("form.handover button[type=submit]")
    assert page.locator(".done").inner_text() == f"4 customers handed from {TOM} to {ANNA}."
    shot(page, site, "handover")
    context.close()
    context, anna = sign_in(browser, site, ANNA)
    anna.goto(site.url + "/customers")
    assert anna.locator("table.customers tbody tr").count() == 6
    anna.click("text=Acme Industrial")
    assert "10 (5 in, 5 out)" in anna.locator("dl.facts").inner_text()  # the sample's 9 and the newsletter
    anna.goto(site.url + "/search?q=hydraulic")
    assert anna.locator(".hit").count() > 0
    context.close()
