"""Optional means optional: a landlord may leave any export but its register out of its
mapping, and any field a table does not require. A small real-shaped landlord (synthetic
Pas-de-Calais Habitat, about 375 people, beside Archipel Habitat in the French group) is
prepared without each optional export in turn, without all of them at once, and with
every optional field unmapped; `increase-eval report`'s batch then runs the seven
notebooks for it in its language (and for its group in two cases). Every report is made,
says in the reader's language which export the landlord did not provide, says nothing
resting on it (no 0% from an absent table, no arrears or survival sentence), and shows no
nan, None, NaT or exception."""

from __future__ import annotations

import html
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from increase_eval import config as cfg, data, prepare, report, synth, text, value, wellbeing

ROOT = Path(__file__).resolve().parents[1]
LID, OTHER = "pas_de_calais_habitat", "archipel_habitat"     # both French: the group `fr`
NAME = "Pas-de-Calais Habitat"
# unmapped in the `fields` case: every optional field the analysis reads
FIELDS = {"participants": ["sex", "ethnic_minority", "disability", "single_parent", "no_qualification",
                           "employment_status"],
          "outcomes": ["contract_type", "legal_form", "sector"], "tenancies": ["household_type"],
          "rent_accounts": ["rent_due"]}
CASES = {**{t: [t] for t in data.OPTIONAL_TABLES}, "all": list(data.OPTIONAL_TABLES), "fields": []}
GROUPS = {"outcomes": ("all", "en"), "questionnaires": ("fr", "fr")}   # case -> (group, language) also reported
BAD = re.compile(r"\b(nan|NaN|None|NaT|inf|Traceback|Error|Exception)\b|<NA>|\{[a-z_]+\}")

pytestmark = pytest.mark.slow


def visible(document: str) -> str:
    """What a reader sees of a report: text, and the alternative text of figures."""
    document = re.sub(r"(?s)<(style|title)>.*?</\1>", " ", document)
    document = re.sub(r'<img[^>]*alt="([^"]*)"[^>]*>', r" \1 ", document)
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", document)))


def plain(s: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", s)


def fragment(t: text.Text, key: str) -> str:
    """The longest literal part of a string (between its placeholders): what shows that
    the sentence is in a report, whatever its numbers."""
    return max(re.split(r"\{\w+\}", plain(t(key))), key=len)


def two_landlord_config(dest: Path) -> Path:
    """The repository's configuration with only the two French landlords."""
    shutil.copytree(ROOT / "config", dest)
    for p in (dest / "landlords").glob("*.yml"):
        if p.name.split(".")[0] not in (LID, OTHER):
            p.unlink()
    programme = (dest / "programme.yml").read_text(encoding="utf-8")
    programme = re.sub(r"(?m)^landlords:\n(?:  .*\n)+", f"landlords:\n  - {OTHER}\n  - {LID}\n", programme)
    (dest / "programme.yml").write_text(programme, encoding="utf-8")
    return dest


def without(conf: Path, tables: list[str], fields: bool) -> None:
    """Leave tables (and, with `fields`, every optional field of FIELDS) out of LID's mapping."""
    path = conf / "landlords" / f"{LID}.yml"
    mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    for t in tables:
        del mapping["files"][t]
    if fields:
        for table, names in FIELDS.items():
            for f in names:
                mapping["files"][table]["columns"].pop(f)
    path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Path]:
    """One folder per case: its configuration and its processed data, from one set of raw
    exports (made once, scale 0.25: about 600 people for the two landlords)."""
    root = tmp_path_factory.mktemp("optional")
    base = two_landlord_config(root / "config")
    raw, secret = root / "raw", root / "secret.key"
    synth.generate(raw, cfg.load(base), seed=7, scale=0.25)
    out = {}
    for case, tables in CASES.items():
        conf = shutil.copytree(base, root / case / "config")
        without(conf, tables, fields=case == "fields")
        outcome = prepare.run(raw, root / case / "processed", cfg.load(conf), secret=secret, say=lambda m: None)
        assert outcome.errors == [], (case, outcome.errors)
        out[case] = root / case
    return out


@pytest.fixture(scope="module")
def reports(cases) -> dict[str, dict]:
    """Every case's reports, made by the batch (two cases at a time: one per core)."""
    def make(case: str) -> dict:
        folder = cases[case]
        runs = []
        if case in GROUPS:
            group, lang = GROUPS[case]
            runs.append(report.run(folder / "processed", folder / "outputs", folder / "config", entities=[group],
                                   lang=lang, progress=False, workers=1))
        # the landlord's last (the index lists every report published, the group's too)
        runs.append(report.run(folder / "processed", folder / "outputs", folder / "config", entities=[LID],
                               progress=False, workers=1))
        return {(r.job.entity, r.job.lang): r for results in runs for r in results}

    order = sorted(CASES, key=lambda c: c not in GROUPS)   # the longest first
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(order, pool.map(make, order)))


def shown(cases, case: str, entity: str = LID, lang: str = "fr") -> str:
    return visible((cases[case] / "outputs" / entity / f"report_{lang}.html").read_text(encoding="utf-8"))


# --- what a dataset knows of the exports a landlord gave ---------------------------------------------

def test_a_dataset_knows_which_exports_each_landlord_provided(cases):
    config = cfg.load(cases["questionnaires"] / "config")
    d = data.load(cases["questionnaires"] / "processed", "fr", config)
    assert d.status("questionnaires", LID) == "missing" and d.status("questionnaires", OTHER) == "provided"
    assert d.lacking(*data.OPTIONAL_TABLES) == {LID: {"questionnaires": "missing"}}
    kept = d.having("questionnaires")
    assert kept.landlords == [OTHER] and set(kept.participants["landlord"]) == {OTHER}
    assert set(kept.questionnaires["person_id"]) <= set(kept.participants["person_id"])
    assert len(kept.questionnaires) and len(kept.rent_accounts) and set(kept.tenancies["landlord"]) == {OTHER}
    # the landlord's own report has no questionnaire to show, even of its people another landlord surveyed
    assert data.load(cases["questionnaires"] / "processed", LID, config).having("questionnaires").questionnaires.empty
    # an export whose rows were all rejected is not a provided one either
    d.manifest["landlords"][OTHER]["files"] = [dict(f, kept=0) if f["table"] == "ambassadors" else f
                                               for f in d.manifest["landlords"][OTHER]["files"]]
    assert d.status("ambassadors", OTHER) == "empty"
    assert d.lacking("ambassadors") == {OTHER: {"ambassadors": "empty"}} and d.having("ambassadors").landlords == [LID]


def test_without_outcomes_a_landlord_s_value_is_unknown_not_nil_and_not_counted_in_its_group(cases):
    config = cfg.load(cases["outcomes"] / "config")
    d = data.load(cases["outcomes"] / "processed", "fr", config)
    values = value.load_values(cases["outcomes"] / "config")
    end = config.programme["programme"]["data_end"]
    accounts = {lid: value.account(value.basis(config.landlords[lid], d, end), values) for lid in d.landlords}
    a = accounts[LID]
    assert not a.basis.measured and a.basis.why_no_arrears == "no_outcomes"
    assert all(np.isnan(a.totals[k]) for k in ("residents", "public_purse", "social", "ratio", "landlord_return"))
    assert a.tornado is None and set(a.lines.loc[a.lines["stakeholder"] == "residents", "note"]) == {"no_outcomes"}
    g = value.group_totals(list(accounts.values()), values).iloc[0]
    assert g["landlords"] == 1 and g["not_counted"] == [LID]
    assert g["social"] == pytest.approx(accounts[OTHER].totals["social"])
    assert g["cost"] == pytest.approx(accounts[OTHER].cost["total"])


def test_each_optional_export_has_its_sentences_in_both_languages():
    for lang in ("en", "fr"):
        t = text.load(ROOT / "config", lang)
        for table in data.OPTIONAL_TABLES:
            said = [t(f"missing.{table}.landlord", name=NAME), t("missing.group", name=NAME, what=t(f"missing.{table}.what")),
                    t("missing.empty", name=NAME, table=t(f"labels.tables.{table}"))]
            assert all(NAME in s and "{" not in s for s in said), (lang, table)


def test_paired_changes_keep_their_columns_when_no_one_answered_twice():
    q = pd.DataFrame({"person_id": ["P1", "P2"], "wave": ["entry", "entry"], "confidence": [5, 6],
                      **{f"wellbeing_{i}": [3, 4] for i in range(1, 8)}})
    t = wellbeing.paired_changes(q, 10)
    assert list(t["pairs"]) == [0, 0] and t["entry_mean"].isna().all() and t["entry_response"][0] == 0.2
    assert len(wellbeing.paired_changes(q.iloc[:0], 0)) == 2


# --- the reports -------------------------------------------------------------------------------------

def test_every_report_is_made_without_the_export_and_says_so_in_the_reader_s_language(cases, reports):
    fr, en = text.load(ROOT / "config", "fr"), text.load(ROOT / "config", "en")
    for case, results in reports.items():
        assert {k: r.status for k, r in results.items()} == {k: "done" for k in results}, (case, results)
        page = shown(cases, case)
        # each missing export listed in section 1, and said where a section rests on it (without
        # outcomes, there is no model for sessions to matter to, and no business to check)
        missing = [fr(f"labels.tables.{t}") for t in CASES[case]]
        assert not missing or plain(fr("missing.listed", name=NAME, tables=", ".join(missing))) in page
        for table in CASES[case]:
            if table not in ("sessions", "business_checks") or "outcomes" not in CASES[case]:
                assert plain(fr(f"missing.{table}.landlord", name=NAME)) in page, (case, table)
        bad = [page[max(0, m.start() - 80):m.end() + 40] for m in BAD.finditer(page)]
        assert bad == [], (case, bad)
        for (entity, lang), r in results.items():
            if entity in data.GROUPS:   # the group names the landlord as not counted, and still shows the other
                t = fr if lang == "fr" else en
                group = shown(cases, case, entity, lang)
                said = plain(t("missing.group", name=NAME, what=t(f"missing.{case}.what")))
                assert said in group, (case, entity)
                assert [group[m.start() - 80:m.end() + 40] for m in BAD.finditer(group)] == []
    # the brief's own words
    assert ("Pas-de-Calais Habitat did not provide questionnaires: confidence and wellbeing cannot be measured."
            == en("missing.questionnaires.landlord", name=NAME))


def test_the_summary_says_nothing_that_rests_on_a_missing_export(cases, reports):
    fr = text.load(ROOT / "config", "fr")
    said = lambda key: fragment(fr, key)  # noqa: E731
    outcomes, rents, checks = shown(cases, "outcomes"), shown(cases, "rent_accounts"), shown(cases, "business_checks")
    # without outcomes: no rate of people in work, no social value, no ratio (none recorded is not none found)
    summary = outcomes[:outcomes.index(fr("report.contents"))]
    assert said("summary.work") not in summary and said("summary.work_none_both") not in summary
    assert said("summary.social") not in summary
    assert plain(fr("summary.arrears_none.no_outcomes", name=NAME)) in summary
    assert plain(fr("account.notes.no_outcomes")) in outcomes and plain(fr("account.ratios_none")) in outcomes
    assert said("business.intro") not in outcomes and said("employment.rates_chart") not in outcomes
    # without a rent panel: no arrears line, and the landlord's own return is not given as nil
    assert plain(fr("summary.arrears_none.no_panel", name=NAME)) in rents
    assert said("summary.arrears") not in rents and said("value.did") not in rents
    # the social ratio stands; the landlord's own return (its arrears avoided) is not given at all
    assert said("summary.ratio") in rents and said("summary.arrears_no_own") not in rents
    # without business checks: businesses counted, their survival not claimed
    assert said("summary.businesses_created") in checks and said("summary.businesses") not in checks
    assert said("business.survival_intro") not in checks


def test_fields_no_landlord_recorded_are_said_not_recorded_and_left_out_of_the_models(cases, reports):
    fr = text.load(ROOT / "config", "fr")
    page = shown(cases, "fields")
    for field in ("barriers_n", "contract_type", "legal_form", "sector"):
        assert plain(fr(f"not_recorded.{field}")) in page, field
    terms = ", ".join(fr.label("term", t) for t in ("barriers_n", "woman"))
    dropped = plain(fr("employment.model_dropped", terms=terms))
    assert page.count(dropped) == 2   # the employment model and the business model
    households = ", ".join(fr.label("covariate", c) for c in ("household_single_parent", "household_single",
                                                               "household_couple_children"))
    assert plain(fr("value.psm_left_out", covariates=households)) in page


def test_index_and_workbook_leave_out_what_rests_on_a_missing_export(cases, reports):
    from openpyxl import load_workbook

    fr = text.load(ROOT / "config", "fr")
    h = reports["outcomes"][(LID, "fr")].headline
    assert h["employed_6m"] is None and h["businesses"] is None and h["sroi"] == {"EUR": None}
    assert h["engaged"] > 300
    # the workbook holds the report's tables: none of those the report leaves out
    sheets = " ".join(load_workbook(cases["outcomes"] / "outputs" / LID / "tables_fr.xlsx").sheetnames)
    assert fr("employment.rates_title")[:20] not in sheets and fr("reach.funnel_title")[:20] in sheets
    sheets = " ".join(load_workbook(cases["business_checks"] / "outputs" / LID / "tables_fr.xlsx").sheetnames)
    assert fr("business.survival_title")[:20] not in sheets and fr("employment.rates_title")[:20] in sheets
    index = visible((cases["outcomes"] / "outputs" / "index.html").read_text(encoding="utf-8"))
    assert re.search(f"{NAME} FR xlsx 3[0-9]{{2}} [0-9]+ – – –", index) and not BAD.search(index), index
