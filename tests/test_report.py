"""The batch report: which reports are made, what is redone when something changes, what
a failure leaves behind, and what the index and Excel tables hold."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from increase_eval import cli, report

ROOT = Path(__file__).resolve().parents[1]


def test_every_landlord_in_its_language_and_the_partnership_in_both(config):
    jobs = {(j.entity, j.lang) for j in report.plan(config)}
    assert ("neotoa", "fr") in jobs and ("clarion", "en") in jobs and ("neotoa", "en") not in jobs
    assert {("all", "fr"), ("all", "en"), ("fr", "fr"), ("uk", "en")} <= jobs
    assert len(jobs) == 7 + 4
    with pytest.raises(ValueError, match="unknown landlord"):
        report.plan(config, ["atlantis"])


def test_reports_are_made_with_their_tables_and_an_index(reports):
    assert [(r.job.name, r.status) for r in reports.results] == [
        ("all/fr", "done"), ("all/en", "done"), ("southern_housing/en", "done"), ("archipel_habitat/fr", "done")]
    out = reports.outputs
    for path in ("all/report_en.html", "all/report_fr.html", "archipel_habitat/report_fr.html", "all/tables_fr.xlsx",
                 "all/tables_en.xlsx", "archipel_habitat/tables_fr.xlsx", "index.html", "index_fr.html"):
        assert (out / path).is_file(), path
    size = max((out / p).stat().st_size for p in ("all/report_en.html", "all/report_fr.html"))
    assert size < 3 * 2**20
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="archipel_habitat/report_fr.html"' in index and 'href="all/report_en.html"' in index
    assert "SYNTHETIC DATA" in index and '<html lang="en">' in index and 'href="index_fr.html"' in index
    french = (out / "index_fr.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in french and "DONNÉES SYNTHÉTIQUES" in french and "Partenariat INCREASE" in french
    assert 'href="all/tables_fr.xlsx"' in french and 'href="all/tables_en.xlsx"' in index
    shown = _visible(french[:french.index("<footer")])
    # French number format, intervals with their unit, as the reports write them
    assert not re.search(r"\d,\d{3}\b", shown) and not re.search(r"\d\.\d", shown)
    # (one space in a browser: the interval is a span of its own, so that it wraps whole)
    assert re.search(r"\d+,\d\u00a0%\s+\[\d+,\d\u00a0% ; \d+,\d\u00a0%\]", shown), shown


def test_report_holds_every_section_no_code_and_the_snapshot(reports):
    doc = (reports.outputs / "all" / "report_fr.html").read_text(encoding="utf-8")
    manifest = json.loads((reports.processed / "manifest.json").read_text())
    for title in ("Synthèse", "1. Qualité des données", "2. Participants", "3. Emploi", "4. Création", "5. Ce que",
                  "6. Méthodes", "7. Autres sources", "Glossaire"):
        assert title in doc, title
    assert manifest["snapshot"] in doc and "DONNÉES SYNTHÉTIQUES" in doc
    assert "ctx." not in doc and "import " not in doc and "<script" not in doc
    assert doc.count('class="nb-banner"') == 0 and doc.count('class="synthetic-banner"') == 1
    assert re.search(r'src="https?://', doc) is None


def test_excel_tables_are_suppressed_like_the_report(reports, config):
    wb = load_workbook(reports.outputs / "archipel_habitat" / "tables_fr.xlsx")
    k = config.programme["thresholds"]["disclosure_k"]
    counts = 0
    for ws in wb.worksheets[1:]:
        headers = [c.value for c in ws[3]]
        for row in ws.iter_rows(min_row=4, values_only=True):
            for h, v in zip(headers, row):
                if h in ("Personnes mesurées", "Nombre", "Personnes", "Renseigné pour", "En emploi") and isinstance(v, int):
                    counts += 1
                    assert not 0 < v < k, (ws.title, h, v)
    assert counts > 10


def _report_tables(doc: str) -> int:
    return len(re.findall(r'<table class="report-table', doc))


def test_the_workbook_holds_every_table_of_the_report_in_its_language_with_numbers_as_numbers(reports, config):
    """One workbook per report language: a README sheet first (what it is, snapshot, code,
    synthetic notice, how hidden counts are shown), then every table of the report, with
    the report's labels, numbers stored as numbers with their format, hidden counts empty
    with their mark beside them, the header row frozen."""
    from increase_eval import text

    k = config.programme["thresholds"]["disclosure_k"]
    manifest = json.loads((reports.processed / "manifest.json").read_text())
    for entity, lang in (("all", "fr"), ("all", "en"), ("southern_housing", "en"), ("archipel_habitat", "fr")):
        t = text.load(config.root, lang)
        wb = load_workbook(reports.outputs / entity / f"tables_{lang}.xlsx")
        doc = (reports.outputs / entity / f"report_{lang}.html").read_text(encoding="utf-8")
        readme = wb.worksheets[0]
        assert readme.title == t("workbook.readme")
        notes = "\n".join(str(c) for row in readme.iter_rows(values_only=True) for c in row if c)
        assert manifest["snapshot"] in notes and t("common.synthetic") in notes and "[c]" in notes and f"<{k}" in notes
        assert len(wb.worksheets) - 1 == _report_tables(doc) >= 20, (entity, lang)
        numbers = percents = money = flags = 0
        counts_named = {t(f"cols.{c}") for c in ("n", "k", "people", "count", "known", "employed", "eligible",
                                                 "businesses", "trained", "engaged", "completed", "tenancies",
                                                 "ended", "active", "pairs", "at_risk")}
        for ws in wb.worksheets[1:]:
            assert ws.freeze_panes == "A4" and ws["A2"].value, ws.title
            headers = [c.value for c in ws[3]]
            assert all(isinstance(h, str) and h for h in headers), (ws.title, headers)
            for row in ws.iter_rows(min_row=4):
                for h, c in zip(headers, row):
                    v = c.value
                    if isinstance(v, str):
                        # no raw code label, no number or percentage left as text, no mark in a number column
                        assert h == t("evidence.cols.date") or \
                            not re.fullmatch(r"[a-z]+(_[a-z0-9]+)+|\d+m|-?\d[\d\s\u00a0,.]*%?", v), (ws.title, h, v)
                        if v in (f"<{k}", "[c]"):
                            assert h == t("workbook.flag", column=headers[headers.index(h) - 1]), (ws.title, h)
                            flags += 1
                    elif isinstance(v, (int, float)):
                        numbers += 1
                        if ws["A2"].value == t("quality.accounting"):
                            continue     # row counts of files: records, not people, shown as they are
                        percents += "%" in c.number_format
                        money += "€" in c.number_format or "£" in c.number_format
                        if h in counts_named:     # a count of people: never 1 to k-1
                            assert not (isinstance(v, int) and 0 < v < k), (ws.title, h, v)
            widths = [ws.column_dimensions[col].width for col in "AB"]
            assert all(w and w >= 10 for w in widths), ws.title
        assert numbers > 250 and percents > 30 and money > 10, (entity, lang, numbers, percents, money)
        assert flags > 0 or entity == "southern_housing"
        # labels in the reader's language: none of the codes the analysis uses
        text_cells = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
        assert not {"engaged", "training_started", "unemployed", "6m", "duration_years", "break_even"} & text_cells


def test_a_report_printed_to_pdf_has_a_page_per_section_and_selectable_text(reports, tmp_path):
    """`report --pdf` prints report_<lang>.pdf beside the HTML with headless Chromium."""
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    if report.chromium() is None:
        pytest.skip("Chromium is not installed")
    out = tmp_path / "outputs"
    shutil.copytree(reports.outputs, out)
    results = report.run(reports.processed, out, ROOT / "config", entities=["archipel_habitat"], progress=False, pdf=True)
    assert [r.status for r in results] == ["done"]       # up to date, but without its PDF: made again
    pdf = out / "archipel_habitat" / "report_fr.pdf"
    state = json.loads((out / "archipel_habitat" / ".state_fr.json").read_text())
    assert "report_fr.pdf" in state["files"]
    pages = PdfReader(pdf).pages
    text = [p.extract_text() for p in pages]
    assert 12 <= len(pages) <= 60, len(pages)
    assert all("INCREASE Valorisation Sociale" in x and f"sur {len(pages)}" in x and "DONNÉES SYNTHÉTIQUES" in x
               for x in text)
    whole = "\n".join(text)
    for title in ("1. Qualité des données", "5. Ce que le programme", "Glossaire"):
        assert title in whole
    assert not FILE_PATH.search(whole.replace("Archipel", "")) and "file:" not in whole
    again = report.run(reports.processed, out, ROOT / "config", entities=["archipel_habitat"], progress=False, pdf=True)
    assert [r.status for r in again] == ["skipped"]


def test_nothing_changed_nothing_redone_and_a_landlord_s_change_redoes_only_its_reports(reports, tmp_path, config):
    out = tmp_path / "outputs"
    shutil.copytree(reports.outputs, out)
    again = report.run(reports.processed, out, ROOT / "config", entities=["all", "archipel_habitat"], progress=False)
    assert {r.status for r in again} == {"skipped"}
    # the index this run wrote still lists the report it did not touch
    assert 'href="southern_housing/report_en.html"' in (out / "index.html").read_text(encoding="utf-8")
    # one landlord's raw data changed: its source hash in the manifest changes
    processed = tmp_path / "processed"
    shutil.copytree(reports.processed, processed)
    manifest = json.loads((processed / "manifest.json").read_text())
    manifest["landlords"]["neotoa"]["files"][0]["sha256"] = "0" * 64
    (processed / "manifest.json").write_text(json.dumps(manifest))
    inputs = report.inputs_digest(config)
    keys = {j: report.job_key(j, manifest, config, inputs) for j in report.plan(config)}
    old = json.loads((reports.processed / "manifest.json").read_text())
    changed = {j.name for j in keys if keys[j] != report.job_key(j, old, config, inputs)}
    assert changed == {"all/fr", "all/en", "fr/fr", "neotoa/fr"}


def test_a_failing_report_keeps_the_good_one_and_its_notebook_for_debugging(reports, tmp_path):
    out = tmp_path / "outputs"
    shutil.copytree(reports.outputs, out)
    good = (out / "archipel_habitat" / "report_fr.html").read_bytes()
    broken = tmp_path / "processed"
    shutil.copytree(reports.processed, broken)
    (broken / "businesses.parquet").write_bytes(b"not parquet")    # notebook 04 fails on it
    results = report.run(broken, out, ROOT / "config", entities=["archipel_habitat"], force=True, progress=False)
    assert results[0].status == "failed" and results[0].error
    assert (out / "archipel_habitat" / "report_fr.html").read_bytes() == good
    assert list((out / "archipel_habitat" / "failed").glob("fr_0*.ipynb"))
    assert not list((out / "archipel_habitat").glob(".work-*"))
    # the index says so in the reader's words, links the good one as the previous version
    # and still lists the reports this run did not make
    from increase_eval import text
    for lang, page in (("en", "index.html"), ("fr", "index_fr.html")):
        t = text.load(ROOT / "config", lang)
        index = (out / page).read_text(encoding="utf-8")
        shown = " ".join(_visible(index).split())
        assert t("index.failed_earlier", language=t("index.language.fr")) in shown
        assert 'href="archipel_habitat/report_fr.html"' in index and 'href="southern_housing/report_en.html"' in index
        assert 'href="all/report_en.html"' in index and "parquet" not in index and "Error" not in shown


def test_cli_prints_a_summary_and_exits_non_zero_on_failure(reports, tmp_path, capsys):
    broken = tmp_path / "processed"
    shutil.copytree(reports.processed, broken)
    (broken / "sessions.parquet").write_bytes(b"")
    code = cli.main(["report", "--processed", str(broken), "--outputs", str(tmp_path / "o"), "--landlord",
                     "archipel_habitat", "--config", str(ROOT / "config")])
    out = capsys.readouterr().out
    assert code == 1 and "archipel_habitat/fr" in out and "failed" in out and "0 made, 0 up to date, 1 failed" in out


def _reports(reports):
    return sorted(reports.outputs.glob("*/report_*.html"))


def _visible(doc: str) -> str:
    doc = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", doc, flags=re.S)
    doc = re.sub(r'<img[^>]*alt="([^"]*)"[^>]*>', r" \1 ", doc)
    return html.unescape(re.sub(r"<[^>]+>", " ", doc))


def test_every_report_leads_with_the_summary_then_the_value_account_methods_and_glossary(reports):
    assert len(_reports(reports)) == 4
    for path in _reports(reports):
        doc = path.read_text(encoding="utf-8")
        main = doc[doc.index("<main>"):]
        first = re.search(r'<h[1-3][^>]*id="([^"]+)"', main)
        assert first and first.group(1) == "summary", path
        assert main.index('id="summary"') < main.index('id="data-quality"') < main.index('<nav class="toc"') or \
            main.index('id="summary"') < main.index('<nav class="toc"') < main.index('id="data-quality"'), path
        for anchor in ("value-account", "methods", "glossary", "evidence", "impact-map", "sensitivity"):
            assert f'id="{anchor}"' in doc, (path, anchor)
        # every link of the summary lands on a section of this report
        targets = set(re.findall(r'href="#([^"]+)"', doc))
        ids = set(re.findall(r' id="([^"]+)"', doc))
        assert targets and targets <= ids, (path, targets - ids)


def test_money_is_in_the_landlord_s_own_currency(reports):
    fr = _visible((reports.outputs / "archipel_habitat" / "report_fr.html").read_text(encoding="utf-8"))
    uk = _visible((reports.outputs / "southern_housing" / "report_en.html").read_text(encoding="utf-8"))
    assert "€" in fr and "£" not in fr and "GBP" not in fr
    assert "£" in uk and "€" not in uk and "EUR" not in uk
    both = _visible((reports.outputs / "all" / "report_en.html").read_text(encoding="utf-8"))
    assert "at the stated rate" in both and "£" in both and "€" in both


FILE_PATH = re.compile(r"(?i)(\bconfig/|\bdata/(raw|processed)\b|[\w-]+\.(ya?ml|py|parquet|ipynb|json|csv|xlsx)\b)")


def test_no_report_shows_a_file_path(reports):
    for path in [*_reports(reports), reports.outputs / "index.html", reports.outputs / "index_fr.html"]:
        shown = _visible(path.read_text(encoding="utf-8"))
        found = FILE_PATH.search(shown)
        assert found is None, (path, shown[max(0, found.start() - 80):found.end() + 40] if found else "")


def test_a_run_with_nothing_to_make_does_not_load_the_models():
    """The no-change check and the index need the configuration and the states, not the
    statistical modules (statsmodels and scipy's stats take seconds to import)."""
    code = ("import sys; from increase_eval import cli, report, tables; "
            "print(sorted(m for m in ('statsmodels', 'scipy.stats', 'increase_eval.models', 'increase_eval.value') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_footer_names_the_code_that_made_the_report_and_the_code_that_prepared_its_data(config):
    """Data prepared by one version and a report made by another: both are named, each for
    what it did (the manifest's code version is prepare's, not the report's)."""
    from increase_eval import prepare

    prepared, made = "0.0.1+olddata", prepare.code_version()
    assert made != prepared
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [
        {"output_type": "display_data", "data": {"text/html": '<h1 id="summary">S</h1><p>x</p>'}}]}]}
    manifest = {"snapshot": "snap123", "code_version": prepared}
    for lang, by, data in (("en", "by increase-eval", "prepared by increase-eval"),
                           ("fr", "par increase-eval", "préparées par increase-eval")):
        doc = report.assemble(report.Job("all", lang), [nb], manifest, config)
        footer = " ".join(_visible(doc[doc.index("<footer"):]).split())
        assert f"{by} {made}," in footer and f"snap123 {data} {prepared}." in footer, footer


def test_the_social_total_names_re_letting_costs_only_when_they_are_counted(reports):
    """The total's label says what it adds up: re-letting costs avoided only when the
    account counts them (a landlord's report is in its own language: Southern Housing in
    English, Archipel Habitat in French)."""
    from increase_eval import config as cfg, data, tables

    config_dir = Path(__file__).parents[1] / "config"
    config = cfg.load(config_dir)
    cases = (("southern_housing", "en", "residents, public purse and re-letting costs avoided",
              "residents and public purse (re-letting costs avoided not counted)"),
             ("archipel_habitat", "fr", "habitants, finances publiques et coûts de relocation évités",
              "habitants et finances publiques (coûts de relocation évités non comptés)"))
    for entity, lang, counted_note, other in cases:
        doc = (reports.outputs / entity / f"report_{lang}.html").read_text(encoding="utf-8")
        account = tables.accounts(data.load(reports.processed, entity, config), config, config_dir)
        lines = next(iter(account.values())).lines
        counted = bool(lines.loc[lines["line"].eq("turnover_avoided"), "counted"].any())
        assert (counted_note if counted else other) in doc
        assert (other if counted else counted_note) not in doc
