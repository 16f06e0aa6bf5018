"""Each report opened from disk in a real headless Chromium, with the network cut: no
request, no console error, every table-of-contents link lands on an element, every
image decodes, no code is visible, the synthetic banner shows. A screenshot of the
first screen is saved under outputs/screenshots/."""

from __future__ import annotations

import os
import re
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
    return sorted(reports.outputs.glob("*/report_*.html")) + sorted(reports.outputs.glob("index*.html"))


FILE_PATH = re.compile(r"(?i)(\bconfig/|\bdata/(raw|processed)\b|file:/|/tmp/|/home/|[\w-]+\.(ya?ml|py|parquet|ipynb|json|csv))\b")
BAD = re.compile(r"\b(nan|NaN|None|NaT|null|undefined|Traceback)\b|<NA>|\{[a-z_]+\}")


def english_strings() -> list[str]:
    """The literal parts of the English report strings (between their placeholders) that a
    French report must not show: sentences and phrases, not shared words or names."""
    from increase_eval import text

    en, fr = (text.load(ROOT / "config", lang) for lang in ("en", "fr"))
    out = []

    def walk(a, b):
        if isinstance(a, dict):
            for key in a:
                if key not in ("reasons", "reason_words", "entities") and isinstance(b, dict) and key in b:
                    walk(a[key], b[key])
        elif isinstance(a, list):
            for x, y in zip(a, b if isinstance(b, list) else []):
                walk(x, y)
        elif isinstance(a, str) and a != b:
            out.extend(p.strip() for p in re.split(r"\{\w+\}", a) if len(p.strip()) >= 16 and " " in p.strip())

    walk(en.strings, fr.strings)
    return out


def test_every_report_shows_no_code_no_path_and_in_french_no_english(browser, reports):
    english = english_strings()
    assert len(english) > 200
    for path in pages(reports):
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        shown = page.inner_text("body")
        assert BAD.search(shown) is None, (path, shown[max(0, BAD.search(shown).start() - 80):][:160])
        assert FILE_PATH.search(shown) is None, (path, FILE_PATH.search(shown).group(0))
        french = page.evaluate("document.documentElement.lang") == "fr"
        if french:
            flat = " ".join(shown.split())
            assert [e for e in english if e in flat] == [], path
        # every image drawn at 1 to 2.5 times the size it is shown at
        sizes = page.evaluate("Array.from(document.images).map(i => [i.naturalWidth, i.getBoundingClientRect().width])")
        assert all(shown_w > 0 and 1 <= natural / shown_w <= 2.5 for natural, shown_w in sizes), (path, sizes)
        context.close()


def test_each_section_starts_a_new_page_in_print(browser, reports):
    """Printed (print media, as Chromium prints), each numbered section of the contents
    starts at the top of a page, under the running title."""
    pytest.importorskip("pypdf")
    import io

    from pypdf import PdfReader

    for path in sorted(reports.outputs.glob("*/report_*.html")):
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        page.emulate_media(media="print")
        titles = page.eval_on_selector_all("nav.toc > ol > li > a", "as => as.map(a => a.textContent.trim())")
        assert len(titles) >= 8
        pdf = page.pdf(prefer_css_page_size=True)
        context.close()
        texts = [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]
        for title in titles[1:]:        # the summary follows the title on the first page
            short = " ".join(title.split())[:40]
            # on some page, nothing of the body comes before it (only the running title, the
            # synthetic mark and the page number): the contents list it, lower on their page
            tops = [len(x.split(short)[0]) for x in texts if short in x]
            assert tops and min(tops) < 170, (path.name, title, tops)


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
        if path.name.startswith("index"):
            links = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
            files = [l for l in links if not l.startswith("#")]      # the others: the countries' tables
            assert files and all((path.parent / l).is_file() for l in files), links
            assert page.evaluate("ids => ids.every(h => document.getElementById(h.slice(1)) !== null)",
                                 [l for l in links if l.startswith("#")])
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
        name = path.stem if path.name.startswith("index") else f"{path.parent.name}_{path.stem}"
        page.screenshot(path=str(shots / f"{name}.png"))
        context.close()
