"""Privacy and hostile input, end to end: no personal data in any output, no small count
in any table a reader sees, markup and formulas from the data stay inert, and a run
killed at any moment leaves the previous outputs whole."""

from __future__ import annotations

import base64
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

from increase_eval import cache, normalise, notebook, prepare, readers, report, schema, tables, text

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


BASE64 = re.compile(r"base64,([A-Za-z0-9+/=\s]+)")


def output_text(outputs: Path) -> str:
    """Every output's text; embedded images and fonts decoded (text hidden in their bytes
    is still found), not left as base64, whose letters hold any short name by chance."""
    parts = []
    for path in outputs.rglob("*"):
        if path.suffix in (".html", ".json", ".ipynb"):
            text_ = path.read_text(encoding="utf-8")
            parts += [base64.b64decode(m.group(1)).decode("latin-1") for m in BASE64.finditer(text_)]
            parts.append(BASE64.sub("base64,", text_))
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
    """(Row counts of data files, in the accounting of rows, count records, not people: they
    are shown as they are, test_the_same_count_is_protected_alike_in_every_output_of_a_run.)"""
    k = config.programme["thresholds"]["disclosure_k"]
    records = ("rows_in", "kept", "rejected", "merged")
    headers = {text.load(config.root, lang)(f"cols.{c}") for lang in ("en", "fr") for c in COUNT_KEYS
               if c not in records}
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


def report_tables(outputs: Path, config):
    """Every table of every report, sheet of every workbook and the index page, as
    (where, headers as string keys, rows of cell texts)."""
    keys: dict[str, str] = {}
    for lang in ("en", "fr"):
        t = text.load(config.root, lang)
        for key in t.strings["cols"]:
            keys.setdefault(t(f"cols.{key}"), key)
    for path in [*outputs.rglob("report_*.html"), *outputs.glob("index*.html")]:
        parser = Tables()
        parser.feed(path.read_text(encoding="utf-8"))
        for table in parser.tables:
            head, *rows = table
            yield path.name, [keys.get(h.split(" / ")[0], h) for h in head], rows
    for path in outputs.rglob("*.xlsx"):
        for where, head, rows in workbook_tables(path):
            yield where, [keys.get(h, h) for h in head], rows


def workbook_tables(path: Path):
    """The tables of a workbook as a reader of the report sees them: each sheet after the
    README (title rows, then the header), a hidden count's mark (kept in the column
    beside it) put back in its empty cell, that column dropped."""
    for ws in load_workbook(path).worksheets[1:]:
        _, _, head, *rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
        flags = [j for j, h in enumerate(head) if j and (h.endswith(" : masqué") or h.endswith(": hidden"))]
        for row in rows:
            for j in flags:
                if row[j]:
                    row[j - 1] = row[j]
        keep = [j for j in range(len(head)) if j not in flags]
        yield f"{path.parent.name}/{ws.title}", [head[j] for j in keep], [[r[j] for j in keep] for r in rows]


def _number(cell: str):
    cell = cell.replace("\u00a0", "").replace("\u202f", "").replace(",", "").replace(" ", "")
    return float(cell) if re.fullmatch(r"-?\d+(\.\d+)?", cell) else None


# how the counts of the reports' tables add up (header keys): a part and its total
# (with a remainder never shown, or not), and columns whose total is published
WITHIN = [("rows_in", ("kept", "rejected", "merged"), False), ("known", ("count",), True), ("known", ("k",), True),
          ("eligible", ("employed",), True), ("n", ("k",), True), ("n", ("employed",), True),
          ("engaged", ("trained",), True),
          ("trained", ("completed",), True), ("trained", ("active",), True), ("tenancies", ("ended",), True)]
ALONG = ["rows_in", "kept", "rejected", "merged", "engaged", "trained", "completed", "businesses", "active"]
RATES = {"rate": ("eligible", "employed", "known", "count", "n", "k"), "survival": ("at_risk",)}


def test_no_hidden_count_can_be_worked_back_in_any_table_of_any_output(reports, config):
    """Secondary suppression, read from the outputs alone: no part hidden alone beside
    its shown total, no shown part and total whose difference is a small count, no
    column with a published total and a single hidden cell, and no rate shown whose
    count is hidden."""
    k = config.programme["thresholds"]["disclosure_k"]
    hidden = lambda c: c in (f"<{k}", "[c]")  # noqa: E731
    problems, checked = [], 0
    for where, head, rows in report_tables(reports.outputs, config):
        col = {h: j for j, h in enumerate(head)}
        for total, parts, rest in WITHIN:
            if total not in col or not all(p in col for p in parts):
                continue
            for row in rows:
                cells = [row[col[total]], *(row[col[p]] for p in parts)]
                checked += 1
                if not rest and sum(map(hidden, cells)) == 1:
                    problems.append((where, total, row))
                values = [_number(c) for c in cells]
                if rest and None not in values and 0 < values[0] - sum(values[1:]) < k:
                    problems.append((where, total, row))
        groups = "landlord" in col and "neighbourhood" in col
        for c in ALONG if "stage" not in col and "measure" not in col else []:
            if c not in col:
                continue
            by = {}
            for row in rows:
                by.setdefault(row[col["landlord"]] if groups else None, []).append(row[col[c]])
            for cells in by.values():     # (a lone row is its own total: the small-count rule covers it)
                checked += 1
                if len(cells) > 1 and sum(map(hidden, cells)) == 1:
                    problems.append((where, c, cells))
        for rate, counts in RATES.items():
            for row in rows if rate in col else []:
                if _number(row[col[rate]].replace("%", "")) is not None and \
                        any(hidden(row[col[c]]) for c in counts if c in col):
                    problems.append((where, rate, row))
    assert problems == []
    assert checked > 300


@pytest.mark.parametrize("value, expected", [
    ("3 March 2020", "9 Aaaaa 9999"), ("-30", "-99"), ("Zoë Lefèvre, 62 rue Pruvost", "Aaa Aaaaaaa, 99 aaa Aaaaaaa"),
    ("#REF!", "#REF!"), ("<birth_date withheld>", "<birth_date withheld>"), ("x" * 500, "a" * 40), (None, None),
])
def test_a_rejected_value_is_kept_as_its_shape_only(value, expected):
    assert prepare.shape(value) == expected


def test_table_text_is_escaped(monkeypatch, prepared, config):
    ctx = notebook.setup("archipel_habitat", "en", prepared.processed)
    shown = []
    monkeypatch.setattr(ctx, "_show", lambda markup, tables=None: shown.append(markup))
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
            if name == "sorties_positives.csv":   # outcome types: in a third of the rows, as more would be
                if i % 3 == 0:                    # one file-level problem (most rows rejected for one reason)
                    cells[1] = evil[(i // 3) % len(evil)].replace(";", ",")
            else:
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


CANARY = {"first_name": "Quillonette", "last_name": "Zorglubovitch", "email": "zorglub.canary@example.org",
          "phone": "07 13 57 91 24", "address": "13 rue du Canari Zorglub", "tenancy_ref": "AH-BAIL-CANARY9"}
BIRTH = pd.Timestamp("1961-07-13")
BIRTH_FORMS = ["13/07/1961", "1961-07-13", "13.07.1961", "13-07-1961", "19610713", "07/13/1961", "13/07/61",
               "13 July 1961", "13 juillet 1961", "Jul 13, 1961", "1961/07/13"]


def _seed(raw: Path) -> None:
    """Recognisable identifiers in Archipel Habitat's register (valid and invalid rows, a
    malformed line) and its tenancy files, plus a second landlord whose register has lost
    its header, so that an error line is written too."""
    folder = raw / "archipel_habitat"
    path = folder / "inscrits_increase.csv"
    lines = path.read_text(encoding="cp1252").splitlines()
    head = lines[0].split(";")
    col = {h: j for j, h in enumerate(head)}
    old_refs = {}
    for n in range(1, 9):
        cells = lines[n].split(";")
        old_refs[cells[col["Réf. bail"]]] = f"{CANARY['tenancy_ref']}{n}"
        cells[col["Prénom"]], cells[col["Nom"]] = CANARY["first_name"], f"{CANARY['last_name']}{n}"
        cells[col["Courriel"]], cells[col["Téléphone"]] = CANARY["email"], CANARY["phone"]
        cells[col["Adresse"]] = CANARY["address"]
        cells[col["Date de naissance"]] = {6: "31/02/1961", 7: "13/07/1861"}.get(n, BIRTH.strftime("%d/%m/%Y"))
        lines[n] = ";".join(cells)
    lines.append(";".join([lines[1], "13/07/1961", CANARY["email"]]))      # a line with too many fields
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    for name in ("baux.csv", "comptes_locataires.csv"):
        p = folder / name
        text_ = p.read_text(encoding="cp1252")
        for old, new in old_refs.items():
            text_ = text_.replace(old, new)
        p.write_text(text_.replace("David Fernandez", f"{CANARY['first_name']} {CANARY['last_name']}"), encoding="cp1252")
    neotoa = raw / "neotoa" / "NEOTOA_PARTICIPANTS.csv"
    body = neotoa.read_bytes().split(b"\n", 1)[1]                      # header lost: data in its place
    neotoa.write_bytes(body.replace(b"@", b"+zorglub.canary@", 1))


def _everything_written(*folders: Path) -> str:
    """All text a person could read in these folders: parquet cells, JSON, HTML, notebooks,
    logs and workbooks."""
    parts = []
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                parts += [" ".join(map(str, frame.columns)), frame.astype(str).to_csv(index=False)]
            elif path.suffix == ".xlsx":
                for ws in load_workbook(path).worksheets:
                    parts += [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
            elif path.suffix in (".html", ".json", ".ipynb", ".log", ".txt", ".csv", ".md", ".pkl"):
                parts.append(path.read_text(encoding="utf-8", errors="replace"))   # .pkl: the analysis cache's strings
    return "\n".join(parts)


def test_seeded_identifiers_reach_no_processed_table_output_log_or_error_message(copy_of, tmp_path):
    raw, secret = copy_of
    _seed(raw)
    processed, outputs = tmp_path / "processed", tmp_path / "outputs"
    cli = [sys.executable, "-m", "increase_eval.cli"]
    prep = subprocess.run([*cli, "prepare", "--raw", str(raw), "--processed", str(processed), "--secret", str(secret),
                           "--config", str(ROOT / "config")], capture_output=True, text=True, timeout=600)
    rep = subprocess.run([*cli, "report", "--processed", str(processed), "--outputs", str(outputs), "--landlord",
                          "archipel_habitat", "all", "--lang", "fr", "--config", str(ROOT / "config")],
                         capture_output=True, text=True, timeout=900)
    assert prep.returncode == 1 and "neotoa" in prep.stderr           # the broken landlord is named...
    assert rep.returncode == 0, rep.stderr[-2000:]
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    archipel = {f["table"]: f for f in manifest["landlords"]["archipel_habitat"]["files"]}
    assert archipel["participants"]["rejected"] >= 3                   # impossible and implausible births, bad line
    assert list(cache.location(processed).rglob("*.pkl"))            # the analysis cache beside the data
    written = "\n".join([_everything_written(processed, outputs, cache.location(processed)), prep.stdout, prep.stderr,
                         rep.stdout, rep.stderr])
    assert len(written) > 100_000
    canaries = [*CANARY.values(), "zorglub", "canary", *BIRTH_FORMS, "31/02/1961",
                *(f.replace("1961", "1861").replace("/61", "/1861") for f in BIRTH_FORMS)]
    assert [c for c in canaries if c.lower() in written.lower()] == []
    assert secret.read_text().strip() not in written                   # ...and the secret never printed
    assert oct(secret.stat().st_mode & 0o777) == "0o600"


def test_a_landlord_s_report_and_tables_hold_nothing_of_the_other_landlords(reports, config):
    """Archipel Habitat's report names no other landlord and none of their neighbourhoods
    (but a place it shares with one, config/neighbourhoods.yml, is its own too), and its
    counts are its own: the register rows it accounts for are its manifest's."""
    doc = (reports.outputs / "archipel_habitat" / "report_fr.html").read_text(encoding="utf-8")
    workbook = output_text(reports.outputs / "archipel_habitat")
    own = {h.id for h in config.landlords["archipel_habitat"].neighbourhoods}
    others = [n for l in config.landlords.values() if l.id != "archipel_habitat"
              for n in [l.name, *(h.name for h in l.neighbourhoods if h.id not in own)]]
    assert len(others) > 30 and [n for n in others if n in doc or n in workbook] == []
    mine = json.loads((reports.processed / "manifest.json").read_text(encoding="utf-8"))["landlords"]["archipel_habitat"]
    rows_in = sum(f["rows_in"] for f in mine["files"])
    assert f"{rows_in:,}".replace(",", "\u202f") in doc or f"{rows_in:,}".replace(",", "\u00a0") in doc


def _landlord_cells(outputs: Path, config):
    """Every count shown for one landlord, wherever it is shown: (landlord, the row's text
    cells, column) -> {output: what is shown}. In a group's report a landlord's rows carry
    its name in a column, or its counts sit in a column headed by its name; in a
    landlord's own report every row is its own."""
    names = {l.name for l in config.landlords.values()}
    by_folder = {l.id: l.name for l in config.landlords.values()}
    keys: dict[str, str] = {}
    for lang in ("en", "fr"):
        t = text.load(config.root, lang)
        for key in t.strings["cols"]:
            keys.setdefault(t(f"cols.{key}"), key)
    cells: dict[tuple, dict] = {}

    def add(where, landlord, head, row, columns):
        # which table: its columns, but the landlord's (a column, or columns named after landlords)
        kind = tuple(keys.get(h, h) for h in head if h not in names and keys.get(h) not in ("landlord", "rows"))
        first = () if keys.get(head[0]) == "landlord" else (row[0],)    # the row's label, not its landlord
        label = kind + first + tuple(c for j, c in enumerate(row) if j and j not in columns and head[j] not in names and
                                     keys.get(head[j]) != "landlord" and _number(c.replace("%", "")) is None and
                                     c not in ("<5", "[c]", "–"))
        for j in columns:
            cells.setdefault((landlord, label, keys.get(head[j], head[j])), {})[where] = row[j]

    tables = []
    for path in outputs.rglob("report_*.html"):
        parser = Tables()
        parser.feed(path.read_text(encoding="utf-8"))
        tables += [(f"{path.parent.name}/{path.name}", path.parent.name, t[0], t[1:]) for t in parser.tables if t]
    for path in outputs.rglob("tables_*.xlsx"):
        tables += [(where, path.parent.name, head, rows) for where, head, rows in workbook_tables(path)]
    for where, folder, head, rows in tables:
        col = {keys.get(h, h): j for j, h in enumerate(head)}
        counts = [j for j, h in enumerate(head) if keys.get(h) in COUNT_KEYS]
        for row in rows:
            if len(row) != len(head):
                continue
            if "landlord" in col and row[col["landlord"]] in names:
                add(where, row[col["landlord"]], head, row, counts)
            elif any(h in names for h in head):
                for j, h in enumerate(head):
                    if h in names:      # rejected rows by reason, one column per landlord
                        add(where, h, [*head[:j], "rows", *head[j + 1:]], row, [j])
            elif folder in by_folder:
                add(where, by_folder[folder], head, row, counts)
    return cells


def test_the_same_count_is_protected_alike_in_every_output_of_a_run(reports, config):
    """A count of one landlord shown in its report, its workbook and a group's report and
    workbook is shown the same way in all of them: in clear everywhere, or hidden
    everywhere (decided once for the run), so that no output gives back what another hides."""
    k = config.programme["thresholds"]["disclosure_k"]
    cells = _landlord_cells(reports.outputs, config)
    shared = {key: seen for key, seen in cells.items() if len({w.split("/")[0] for w in seen}) > 1}
    assert len(shared) > 40, len(shared)
    norm = lambda v: v.replace("\u00a0", "").replace("\u202f", "").replace(",", "").replace(" ", "")  # noqa: E731
    differ = {key: seen for key, seen in shared.items() if len({norm(v) for v in seen.values()}) > 1}
    assert differ == {}
    # and a count hidden in one output is hidden in every output that shows its cell
    hidden = [key for key, seen in cells.items() if {v for v in seen.values()} & {f"<{k}", "[c]"}]
    assert all(all(v in (f"<{k}", "[c]") for v in cells[key].values()) for key in hidden)
