"""Privacy and hostile input, end to end: no personal data in any output, no small count
in any table a reader sees, markup and formulas from the data stay inert, and a run
killed at any moment leaves the previous outputs whole."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from increase_eval import normalise, notebook, prepare, readers, report, schema, tables, text

ROOT = Path(__file__).resolve().parents[1]


def raw_identifiers(raw: Path, config) -> set[str]:
    """Direct identifiers of the raw exports that cannot occur by chance in outputs."""
    found: set[str] = set()
    for landlord in config.landlords.values():
        for table, mapping in landlord.files.items():
            ids = schema.identifiers(table) - {"birth_date", "lead_birth_date"}
            for src in readers.open_sources(landlord.id, raw / landlord.id, mapping, ids | schema.required_fields(table)):
                frame, _ = readers.read(src, set())
                for col in ids & set(frame.columns):
                    found |= {v.strip() for v in frame[col].dropna() if len(v.strip()) >= 5}
    config_text = "\n".join(p.read_text(encoding="utf-8") for p in config.root.rglob("*.yml"))
    return {v for v in found if re.search(r"[g-zG-Z@\s/]", v) and v not in config_text}


def birth_dates(raw: Path, config) -> set[str]:
    out = set()
    for landlord in config.landlords.values():
        m = landlord.files["participants"]
        [src] = readers.open_sources(landlord.id, raw / landlord.id, m, {"birth_date", "participant_ref"})
        frame, _ = readers.read(src, set())
        parsed, _ = normalise.dates(frame["birth_date"], m.date_formats, normalise.Tokens())
        for d in parsed.dropna():
            out |= {d.strftime("%d/%m/%Y"), d.strftime("%Y-%m-%d")}
    return out


def output_text(outputs: Path) -> str:
    parts = []
    for path in outputs.rglob("*"):
        if path.suffix in (".html", ".json", ".ipynb"):
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".xlsx":
            for ws in load_workbook(path).worksheets:
                parts += [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    return "\n".join(parts)


def test_no_personal_data_in_reports_tables_or_index(reports, prepared, config):
    text_ = output_text(reports.outputs)
    ids = raw_identifiers(prepared.raw, config)
    assert len(ids) > 3000
    assert [v for v in ids if v in text_] == []
    births = birth_dates(prepared.raw, config)
    assert len(births) > 1000 and [b for b in births if b in text_] == []


class Tables(HTMLParser):
    """Every <table> as a list of rows of cell texts (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


COUNT_KEYS = ["rows_in", "kept", "rejected", "merged", "rows", "people", "known", "count", "eligible", "employed",
              "engaged", "trained", "completed", "businesses", "at_risk", "pairs", "tenancies", "ended", "active",
              "quantity"]


def test_no_count_from_1_to_k_minus_1_in_any_report_table(reports, config):
    k = config.programme["thresholds"]["disclosure_k"]
    headers = {text.load(config.root, lang)(f"cols.{c}") for lang in ("en", "fr") for c in COUNT_KEYS}
    checked = 0
    for path in reports.outputs.rglob("report_*.html"):
        parser = Tables()
        parser.feed(path.read_text(encoding="utf-8"))
        for table in parser.tables:
            head, *rows = table
            for j, h in enumerate(head):
                if h not in headers:
                    continue
                for row in rows:
                    cell = row[j].replace("\u00a0", "").replace(",", "")
                    if cell.isdigit():
                        checked += 1
                        assert not 0 < int(cell) < k, (path.name, h, row)
    assert checked > 200


def test_table_text_is_escaped(monkeypatch, prepared, config):
    ctx = notebook.setup("archipel_habitat", "en", prepared.processed)
    shown = []
    monkeypatch.setattr(ctx, "_show", shown.append)
    frame = pd.DataFrame({"reason": ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"], "rows": [10, 20]})
    ctx.table(frame, {"reason": "cols.reason", "rows": "cols.rows"}, counts=["rows"])
    assert "<script>" not in shown[0] and "&lt;script&gt;" in shown[0] and "<img src=x" not in shown[0]


@pytest.mark.parametrize("value, expected", [
    ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'), ("@SUM(A1)", "'@SUM(A1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("-12.5", "-12.5"), ("Retail", "Retail"),
])
def test_spreadsheet_cells_can_never_be_formulas(value, expected):
    assert tables._cell(value) == expected


def test_markup_in_raw_free_text_never_reaches_a_report(prepared, tmp_path, config):
    """Script and markup in every free-text cell of one landlord's exports: the report
    built from them holds none of it, and in a browser nothing runs."""
    raw = tmp_path / "raw"
    shutil.copytree(prepared.raw, raw)
    evil = ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=2">', "**bold** [x](http://e)",
            '=HYPERLINK("http://e","x")']
    folder = raw / "archipel_habitat"
    for name in ("seances.csv", "sorties_positives.csv", "inscrits_increase.csv"):
        path = folder / name
        lines = path.read_text(encoding="cp1252").splitlines()
        out = [lines[0]]
        for i, line in enumerate(lines[1:]):
            cells = line.split(";")
            cells[-1 if name == "seances.csv" else 1] = evil[i % len(evil)].replace(";", ",")
            out.append(";".join(cells))
        path.write_text("\n".join(out) + "\n", encoding="cp1252")
    processed, outputs = tmp_path / "processed", tmp_path / "outputs"
    prepare.run(raw, processed, config, secret=prepared.secret, say=lambda m: None)
    results = report.run(processed, outputs, ROOT / "config", entities=["archipel_habitat"], progress=False)
    assert [r.status for r in results] == ["done"]
    doc = (outputs / "archipel_habitat" / "report_fr.html").read_text(encoding="utf-8")
    assert "__pwned" not in doc and "<script" not in doc and "onerror" not in doc and "HYPERLINK" not in doc
    browser = shutil.which("chromium")
    if browser:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=browser, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = b.new_context(offline=True).new_page()
            dialogs = []
            page.on("dialog", lambda d: dialogs.append(d.message))
            page.goto((outputs / "archipel_habitat" / "report_fr.html").as_uri())
            assert page.evaluate("window.__pwned === undefined") and dialogs == []
            b.close()


def _kill_after(cmd: list[str], seconds: float) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(seconds)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_prepare_leaves_processed_data_whole_and_the_next_run_recovers(prepared, tmp_path, config):
    processed = tmp_path / "processed"
    shutil.copytree(prepared.processed, processed)
    before = {p.relative_to(processed): p.read_bytes() for p in processed.rglob("*") if p.is_file()}
    for delay in (1.0, 3.0, 5.0):
        _kill_after([sys.executable, "-m", "increase_eval.cli", "prepare", "--raw", str(prepared.raw), "--processed",
                     str(processed), "--secret", str(prepared.secret), "--quiet"], delay)
        after = {p.relative_to(processed): p.read_bytes() for p in processed.rglob("*") if p.is_file()}
        assert after == before or json.loads(after[Path("manifest.json")])["totals"] == \
            json.loads(before[Path("manifest.json")])["totals"]   # killed after the swap: a whole new snapshot
    prepare.run(prepared.raw, processed, config, secret=prepared.secret, say=lambda m: None)
    assert not list(tmp_path.glob(".processed.*"))


def test_interrupted_report_stops_its_jobs_keeps_the_reports_whole_and_the_next_run_recovers(reports, tmp_path):
    outputs = tmp_path / "outputs"
    shutil.copytree(reports.outputs, outputs)
    good = (outputs / "archipel_habitat" / "report_fr.html").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "increase_eval.cli", "report", "--processed", str(reports.processed),
                             "--outputs", str(outputs), "--landlord", "archipel_habitat", "--force",
                             "--config", str(ROOT / "config")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(6.0)
    proc.send_signal(signal.SIGINT)          # what Ctrl-C sends
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: the previous outputs are left as they were" in err
    time.sleep(1.0)
    alive = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(outputs) not in alive          # no job (nor its kernel) outlives the run
    assert (outputs / "archipel_habitat" / "report_fr.html").read_bytes() == good
    results = report.run(reports.processed, outputs, ROOT / "config", entities=["archipel_habitat"], progress=False)
    assert [r.status for r in results] == ["skipped"]
    assert not list(outputs.glob("*/.work-*")) and not list(outputs.glob("*/.report_*"))
