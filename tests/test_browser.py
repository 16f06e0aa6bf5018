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


def test_the_index_lines_up_its_tables_and_never_scrolls_sideways_on_a_phone(browser, tmp_path):
    """Every table of the index (the groups', then each country's) has the same column
    widths on a wide screen; on a 390 px phone the page does not scroll sideways (rows are
    stacked, each figure after its column's name). Stand-in reports of a federation, some
    failed, so that the rows hold figures, notes and long names."""
    from increase_eval import config as cfg, report, synth, tables

    class Bar:
        set_postfix_str = update = staticmethod(lambda *a: None)

    synth.federation(tmp_path / "config", 12, seed=3)
    config = cfg.load(tmp_path / "config")
    outputs = tmp_path / "outputs"
    manifest = {"snapshot": "0123456789abcdef", "code_version": "0.1.0+abcdef0", "landlords": {}}
    headline = {"engaged": 1234, "trained": 987, "employed_6m": 0.189, "employed_6m_lower": 0.163,
                "employed_6m_upper": 0.217, "businesses": 107,
                "sroi": {"EUR": {"ratio": 4.72, "lower": 2.56, "upper": 5.9},
                         "GBP": {"ratio": 3.1, "lower": 1.2, "upper": 4.4}}}
    for job in report.plan(config):
        folder = outputs / job.entity
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for name in (f"report_{job.lang}.html", f"tables_{job.lang}.xlsx"):
            (folder / name).write_text(job.name, encoding="utf-8")
            files[name] = report._sha256(folder / name)
        report.record(report.Result(job, "done", headline=headline, files=files), "key", {}, outputs, Bar())
    failed = [report.Job(e, l) for e, l in (("fed_001", "en"), ("all", "fr"))]
    results = [report.Result(j, "failed") if j in failed else report.Result(j, "done", headline=headline)
               for j in report.plan(config)]
    tables.index_page(outputs, results, manifest, config)
    for lang in ("en", "fr"):
        path = outputs / tables.index_name(lang)
        for width in (1280, 1000, 390, 320):
            context = browser.new_context(offline=True, viewport={"width": width, "height": 800})
            page = context.new_page()
            page.goto(path.as_uri(), wait_until="load")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (lang, width)
            if width >= 1000:
                widths = page.evaluate("Array.from(document.querySelectorAll('table')).map(t => "
                                       "Array.from(t.querySelectorAll('thead th')).map(th => "
                                       "Math.round(th.getBoundingClientRect().width)))")
                assert len(widths) == 3 and all(len(w) == 7 and min(w) > 40 for w in widths), widths
                assert all(w == widths[0] for w in widths), (lang, width, widths)
            else:      # each figure after its column's name, in the reader's language
                before = page.evaluate("Array.from(document.querySelectorAll('td.num')).slice(0, 2).map(td => "
                                       "[getComputedStyle(td, '::before').content, td.textContent])")
                assert before[0] == (['"Engaged: "', "1,234"] if lang == "en" else
                                     ['"Mobilisés\u00a0: "', "1\u00a0234"])
                assert page.locator("thead").first.is_hidden()
            context.close()
