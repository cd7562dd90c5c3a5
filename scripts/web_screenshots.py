#!/usr/bin/env python3
"""The README's screenshots of the web front end (docs/screenshots/), taken from the bundled sample
served by `dossier web` in headless Chromium, with the clock at the golden tests' day.

    .venv/bin/python scripts/web_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.web.site import ADMIN, PASSWORD, start_site  # noqa: E402

PAGES = (("search", "/search?q=报价单"), ("customer", "/customer/Acme%20Industrial"), ("markets", "/markets"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        site = start_site(Path(tmp), Path(tmp) / "shots")
        try:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 720})
            page.goto(site.url + "/signin")
            page.fill("input[name=email]", ADMIN)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/search")
            for name, path in PAGES:
                page.goto(site.url + path)
                page.screenshot(path=str(args.out / f"{name}.png"))
                print(args.out / f"{name}.png")
            browser.close()
        finally:
            site.stop()


if __name__ == "__main__":
    main()
