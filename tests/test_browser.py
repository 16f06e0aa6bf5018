"""Each report opened from disk in a real headless Chromium, with the network cut: no
request, no console error, every table-of-contents link lands on an element, every
image decodes, no code is visible, the synthetic banner shows. A screenshot of the
first screen is saved under outputs/screenshots/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing: .ci/run installs Debian's chromium package before the tests")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def pages(reports):
    return sorted(reports.outputs.glob("*/report_*.html")) + [reports.outputs / "index.html"]


def test_reports_open_offline_cleanly(browser, reports):
    shots = ROOT / "outputs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for path in pages(reports):
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors, requests = [], []
        own = ("data:", path.as_uri())
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("request", lambda r, seen=requests, own=own: seen.append(r.url) if not r.url.startswith(own) else None)
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        assert errors == [], (path, errors)
        assert requests == [], (path, requests)
        if path.name == "index.html":
            links = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
            assert links and all((path.parent / l).is_file() for l in links), links
        else:
            toc = page.eval_on_selector_all("nav.toc a", "as => as.map(a => a.getAttribute('href'))")
            assert len(toc) >= 6
            assert page.evaluate("ids => ids.every(h => document.getElementById(h.slice(1)) !== null)", toc)
            images = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
            assert len(images) >= 8 and min(images) > 0
            alts = page.evaluate("Array.from(document.images).map(i => i.alt)")
            assert all(len(a) > 20 for a in alts)
            text = page.inner_text("body")
            assert "ctx." not in text and "import " not in text
            assert page.locator(".jp-InputArea, .input_area, pre code").count() == 0
        assert page.locator(".synthetic-banner").first.is_visible()
        name = "index" if path.name == "index.html" else f"{path.parent.name}_{path.stem}"
        page.screenshot(path=str(shots / f"{name}.png"))
        context.close()
