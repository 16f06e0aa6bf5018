"""The index pages list every report published whole, whichever run made it, and say in
the reader's words when one could not be made (no error text, path or code name). Fast:
the reports are stand-in files recorded by the run's own code (report.record), so that
their state files are exactly the ones a run writes."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from increase_eval import report, tables, text

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = {"snapshot": "snap", "code_version": "0.0.0+prepared", "landlords": {}}
HEADLINE = {"engaged": 120, "trained": 80, "employed_6m": 0.25, "employed_6m_lower": 0.2, "employed_6m_upper": 0.31,
            "businesses": 12, "sroi": {}}
ERROR = "PapermillExecutionError: ArrowInvalid: Could not open /secret/processed/businesses.parquet"


class _Bar:
    def set_postfix_str(self, s):
        pass

    def update(self, n):
        pass


def publish(outputs: Path, job: report.Job, key: str, headline: dict) -> None:
    """A report and its workbook in place, recorded as a run records a job it made."""
    folder = outputs / job.entity
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in (f"report_{job.lang}.html", f"tables_{job.lang}.xlsx"):
        (folder / name).write_text(f"{job.name} {name}", encoding="utf-8")
        files[name] = report._sha256(folder / name)
    report.record(report.Result(job, "done", headline=headline, files=files), key, {}, outputs, _Bar())


@pytest.fixture
def published(tmp_path, config):
    """Every report of the configuration published by earlier runs, from today's inputs."""
    outputs = tmp_path / "outputs"
    inputs = report.inputs_digest(config)
    jobs = report.plan(config)
    for job in jobs:
        publish(outputs, job, report.job_key(job, MANIFEST, config, inputs), HEADLINE)
    return outputs, jobs, inputs


def rows(page: str) -> dict[str, str]:
    """What a reader sees of each row of the index, by the entity's name (a row and the
    note under it together)."""
    found = {}
    for part in re.split(r'(?=<tr(?: class="has-note")?>)', page)[1:]:
        part = part.split("</table>")[0]
        name = re.match(r'<tr(?: class="has-note")?><td>([^<]*)</td>', part)
        if name and "<th" not in part:
            shown = html.unescape(re.sub(r"<[^>]+>", " ", part))
            found[html.unescape(name.group(1))] = " ".join(shown.split())
    return found


def read(outputs: Path, lang: str) -> str:
    return (outputs / tables.index_name(lang)).read_text(encoding="utf-8")


def name_of(entity: str, config, t) -> str:
    return t(f"entities.{entity}") if entity in ("all", "fr", "uk") else config.landlords[entity].name


def test_a_run_of_some_reports_still_lists_every_report_published(published, config):
    """`report --landlord X`: the index lists X and every other report still in place,
    each with its links and figures; a report whose files are not the ones its state
    records (published by a run killed before recording it) is not linked."""
    outputs, jobs, inputs = published
    made = report.Job("archipel_habitat", "fr")
    (outputs / "neotoa" / "report_fr.html").write_text("half written", encoding="utf-8")
    tables.index_page(outputs, [report.Result(made, "done", headline=HEADLINE)], MANIFEST, config)
    for lang in ("en", "fr"):
        t = text.load(config.root, lang)
        page = read(outputs, lang)
        shown = rows(page)
        for job in jobs:
            if job.entity == "neotoa":
                continue
            assert f'href="{job.entity}/report_{job.lang}.html"' in page, (lang, job)
            assert f"{t.number(120)} {t.number(80)}" in shown[name_of(job.entity, config, t)], (lang, job)
        assert 'href="neotoa/report_fr.html"' not in page
        assert not re.search(r"could not|pas pu|earlier|auparavant", " ".join(shown.values()))


def test_a_report_made_from_inputs_that_changed_since_says_so(published, config):
    outputs, jobs, inputs = published
    stale = report.Job("clarion", "en")
    publish(outputs, stale, "an older key", {**HEADLINE, "engaged": 99})
    tables.index_page(outputs, [], MANIFEST, config)
    for lang in ("en", "fr"):
        t = text.load(config.root, lang)
        shown = rows(read(outputs, lang))
        row = shown[config.landlords["clarion"].name]
        assert t("index.earlier", language=t("index.language.en")) in row and t("index.figures_earlier") in row
        assert t.number(99) in row and 'href="clarion/report_en.html"' in read(outputs, lang)
        assert t("index.earlier", language=t("index.language.en")) not in shown[config.landlords["abri"].name]


def test_a_failed_report_is_said_so_in_the_reader_s_language_with_its_previous_version(tmp_path, published,
                                                                                       config):
    """A report this run could not make: its row says so, in the reader's language,
    without the error (which names files and code); the previous version, which the run
    leaves in place with its state file, is linked and said to be the previous one; with
    none, nothing is linked. One language of the partnership failing leaves the other's
    figures as they are."""
    outputs, jobs, inputs = published
    for lid in ("neotoa",):        # never published
        for p in (outputs / lid).iterdir():
            p.unlink()
    failed = [report.Result(report.Job(e, l), "failed", 3.0, ERROR) for e, l in
              (("archipel_habitat", "fr"), ("neotoa", "fr"), ("all", "fr"))]
    done = report.Result(report.Job("all", "en"), "done", headline={**HEADLINE, "engaged": 130})
    tables.index_page(outputs, [*failed, done], MANIFEST, config)
    for lang in ("en", "fr"):
        t = text.load(config.root, lang)
        french = t("index.language.fr")
        page = read(outputs, lang)
        shown = rows(page)
        archipel = shown["Archipel Habitat"]
        assert t("index.failed_earlier", language=french) in archipel and t("index.figures_earlier") in archipel
        assert 'href="archipel_habitat/report_fr.html"' in page and t.number(120) in archipel
        neotoa = shown["Neotoa"]
        assert neotoa.startswith("Neotoa") and t("index.failed", language=french) in neotoa
        assert 'href="neotoa/' not in page and t.number(120) not in neotoa
        partnership = shown[t("entities.all")]
        assert t("index.failed_earlier", language=french) in partnership
        assert t.number(130) in partnership and t("index.figures_earlier") not in partnership
        assert "Papermill" not in page and "parquet" not in page and "secret" not in page
        # the other language's words are not shown
        other = text.load(config.root, "fr" if lang == "en" else "en")
        assert other("index.failed", language=other("index.language.fr")) not in " ".join(shown.values())


def test_the_index_names_the_code_that_made_it_and_the_code_that_prepared_the_data(published, config):
    from increase_eval import prepare

    outputs, jobs, inputs = published
    tables.index_page(outputs, [], MANIFEST, config)
    made = prepare.code_version()
    for lang, by, data in (("en", "by increase-eval", "prepared by increase-eval"),
                           ("fr", "par increase-eval", "préparées par increase-eval")):
        page = read(outputs, lang)
        footer = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page[page.index("<footer"):])).split())
        assert f"{by} {made}." in footer and f"snap, {data} {MANIFEST['code_version']}." in footer, footer
