"""The batch report: which reports are made, what is redone when something changes, what
a failure leaves behind, and what the index and Excel tables hold."""

from __future__ import annotations

import json
import re
import shutil
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
        ("all/fr", "done"), ("all/en", "done"), ("archipel_habitat/fr", "done")]
    out = reports.outputs
    for path in ("all/report_en.html", "all/report_fr.html", "archipel_habitat/report_fr.html",
                 "all/tables.xlsx", "archipel_habitat/tables.xlsx", "index.html"):
        assert (out / path).is_file(), path
    size = max((out / p).stat().st_size for p in ("all/report_en.html", "all/report_fr.html"))
    assert size < 3 * 2**20
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="archipel_habitat/report_fr.html"' in index and 'href="all/report_en.html"' in index
    assert "SYNTHETIC DATA" in index


def test_report_holds_all_six_sections_no_code_and_the_snapshot(reports):
    doc = (reports.outputs / "all" / "report_fr.html").read_text(encoding="utf-8")
    manifest = json.loads((reports.processed / "manifest.json").read_text())
    for title in ("1. Qualité des données", "2. Participants", "3. Emploi", "4. Création", "5. Valeur", "6. Synthèse"):
        assert title in doc
    assert manifest["snapshot"] in doc and "DONNÉES SYNTHÉTIQUES" in doc
    assert "ctx." not in doc and "import " not in doc and "<script" not in doc
    assert doc.count('class="nb-banner"') == 0 and doc.count('class="synthetic-banner"') == 1
    assert re.search(r'src="https?://', doc) is None


def test_excel_tables_are_suppressed_like_the_report(reports, config):
    wb = load_workbook(reports.outputs / "archipel_habitat" / "tables.xlsx")
    assert "Emploi" in wb.sheetnames and "Parcours" in wb.sheetnames
    k = config.programme["thresholds"]["disclosure_k"]
    counts = 0
    for ws in wb.worksheets:
        headers = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2, values_only=True):
            for h, v in zip(headers, row):
                if h in ("Personnes mesurées", "Nombre", "Personnes", "Renseigné pour", "Quantité") and isinstance(v, int):
                    counts += 1
                    assert not 0 < v < k, (ws.title, h, v)
    assert counts > 10


def test_nothing_changed_nothing_redone_and_a_landlord_s_change_redoes_only_its_reports(reports, tmp_path, config):
    out = tmp_path / "outputs"
    shutil.copytree(reports.outputs, out)
    again = report.run(reports.processed, out, ROOT / "config", entities=["all", "archipel_habitat"], progress=False)
    assert {r.status for r in again} == {"skipped"}
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


def test_cli_prints_a_summary_and_exits_non_zero_on_failure(reports, tmp_path, capsys):
    broken = tmp_path / "processed"
    shutil.copytree(reports.processed, broken)
    (broken / "sessions.parquet").write_bytes(b"")
    code = cli.main(["report", "--processed", str(broken), "--outputs", str(tmp_path / "o"), "--landlord",
                     "archipel_habitat", "--config", str(ROOT / "config")])
    out = capsys.readouterr().out
    assert code == 1 and "archipel_habitat/fr" in out and "failed" in out and "0 made, 0 up to date, 1 failed" in out
