"""Three landlords of our own design (tests/fixtures, made by tests/fixtures/make.py), shaped
unlike the seven partners and unlike each other: a French workbook kept by hand in Excel,
a UK CRM, a French ERP. Each is added by its mapping only (tests/fixtures/landlords/) to
a copy of config/, goes through `prepare` and `report` from the command line, and every
true count of tests/fixtures/truth.json is recovered: each raw file's rows in, kept,
rejected (with their rows, columns and reasons) and merged, the processed tables, the
funnel, and the figures the reports' summaries show. No personal value of the raw files
reaches the processed data, the printed output or the reports; no traceback anywhere."""

from __future__ import annotations

import fnmatch
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from increase_eval import config as cfg, indicators, text

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TRUTH = json.loads((FIXTURES / "truth.json").read_text(encoding="utf-8"))
LANDLORDS = list(TRUTH["landlords"])


def _make():
    """tests/fixtures/make.py, imported (tests/ is not a package)."""
    if "fixtures_make" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fixtures_make", FIXTURES / "make.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module        # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["fixtures_make"]


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "increase_eval.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def add_fixture_landlords(conf: Path) -> None:
    """What a new user does, and nothing else: a mapping per landlord in config/landlords/,
    and the shared place in config/neighbourhoods.yml."""
    for mapping in sorted((FIXTURES / "landlords").glob("*.yml")):
        shutil.copy(mapping, conf / "landlords" / mapping.name)
    registry = yaml.safe_load((conf / "neighbourhoods.yml").read_text(encoding="utf-8")) or {}
    extra = yaml.safe_load((FIXTURES / "neighbourhoods.yml").read_text(encoding="utf-8"))
    registry["neighbourhoods"] = list(registry.get("neighbourhoods") or []) + extra["neighbourhoods"]
    (conf / "neighbourhoods.yml").write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")


def derived_flags(mapping: dict, table: str) -> set[str]:
    """Yes/no fields a category column gives through `vocab` (true/false spellings): the
    user writes them; `draft` lists their columns among those it did not map."""
    vocab = {**(mapping.get("vocab") or {}), **(mapping["files"][table].get("vocab") or {})}
    return {f for f, words in vocab.items() if isinstance(words, dict) and {"true", "false"} <= set(map(str, words))
            or set(words) == {True, False}}


def draft_and_check(conf: Path, raw: Path, tmp: Path) -> None:
    """What a new user does between receiving the exports and preparing them: `draft` a
    mapping from each landlord's folder (into a copy of the configuration without the
    fixture mappings), edit it (tests/fixtures/landlords/<id>.yml is that edited draft),
    then `check` it. The draft must find every file, table and header the finished mapping
    uses, and list the category columns it leaves to the user; `check` must read every
    mapped column of the finished mapping."""
    bare = tmp / "draft_config"
    shutil.copytree(ROOT / "config", bare)
    for lid in LANDLORDS:
        run = _cli("draft", lid, str(raw / lid), "--config", str(bare))
        assert run.returncode == 0 and "Traceback" not in run.stderr + run.stdout, (lid, run.stderr)
        assert "The mapping schema accepts it." in run.stdout, (lid, run.stdout[-2000:])
        drafted = yaml.safe_load((bare / "landlords" / f"{lid}.yml").read_text(encoding="utf-8"))
        finished = yaml.safe_load((FIXTURES / "landlords" / f"{lid}.yml").read_text(encoding="utf-8"))
        assert set(drafted["files"]) == set(finished["files"]), lid
        for table, spec in finished["files"].items():
            got = drafted["files"][table]
            assert fnmatch.filter([p.name for p in (raw / lid).iterdir()], got["path"]) == \
                fnmatch.filter([p.name for p in (raw / lid).iterdir()], spec["path"]), (lid, table)
            wanted = {f: h for f, h in spec["columns"].items() if f not in derived_flags(finished, table)}
            assert {f: got["columns"].get(f) for f in wanted} == wanted, (lid, table)
        left = {h for table, spec in finished["files"].items() for f, h in spec["columns"].items()
                if f in derived_flags(finished, table)}
        for header in left:      # named as a column the user should map
            assert re.search(rf"columns not mapped[^\n]*{re.escape(header)}", run.stdout), (lid, header)
        # nothing personal in what draft wrote: no name, e-mail, address, birth date or reference
        text = (bare / "landlords" / f"{lid}.yml").read_text(encoding="utf-8")
        personal = [i for i in _make().build()[lid].identifiers if len(i) >= 5 and re.search(r"[A-Za-z]", i)]
        assert personal and [i for i in personal if i in text] == [], lid
        (bare / "landlords" / f"{lid}.yml").unlink()    # the next draft loads this configuration
    for lid in LANDLORDS:
        run = _cli("check", "--landlord", lid, "--raw", str(raw), "--config", str(conf))
        assert run.returncode == 0 and "Traceback" not in run.stderr, (lid, run.stdout[-3000:], run.stderr)
        assert re.search(rf"\({lid}\): OK - every mapped column", run.stdout), (lid, run.stdout[-1500:])
    loaded = cfg.load(conf, only=LANDLORDS)
    for lid in LANDLORDS:
        landlord, truth = loaded.landlords[lid], TRUTH["landlords"][lid]
        assert (landlord.name, landlord.country, landlord.language, landlord.currency) == (
            truth["name"], truth["country"], truth["language"], truth["currency"])
        assert landlord.cost is not None and landlord.cost.erdf is not None
    shared = [n for l in loaded.landlords.values() for n in l.neighbourhoods if n.shared]
    assert sorted(n.id for n in shared) == ["FR-PARTAGE-01", "FR-PARTAGE-01"]


@dataclass
class Workspace:
    conf: Path
    raw: Path
    processed: Path
    outputs: Path
    prepare: subprocess.CompletedProcess

    @property
    def manifest(self) -> dict:
        return json.loads((self.processed / "manifest.json").read_text(encoding="utf-8"))

    def table(self, name: str) -> pd.DataFrame:
        if name == "rent_accounts":
            return pd.read_parquet(self.processed / "rent_accounts")
        return pd.read_parquet(self.processed / f"{name}.parquet")


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    tmp = tmp_path_factory.mktemp("fixture_landlords")
    conf, raw, processed = tmp / "config", tmp / "raw", tmp / "processed"
    shutil.copytree(ROOT / "config", conf)
    add_fixture_landlords(conf)
    shutil.copytree(FIXTURES / "raw", raw)
    draft_and_check(conf, raw, tmp)
    run = _cli("prepare", "--raw", str(raw), "--processed", str(processed), "--config", str(conf),
               "--secret", str(tmp / "secret.key"))
    return Workspace(conf, raw, processed, tmp / "outputs", run)


@pytest.fixture(scope="module")
def made():
    return _make().build()


# --- the fixtures themselves -------------------------------------------------------------------

def _content(name: str, data: bytes):
    """A file as read: its bytes, or for a workbook its sheets, their visibility, merged
    ranges and cells (its bytes depend on the openpyxl version that wrote it)."""
    if not name.endswith(".xlsx"):
        return data
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    return [(ws.title, ws.sheet_state, sorted(map(str, ws.merged_cells.ranges)), list(ws.iter_rows(values_only=True)))
            for ws in wb.worksheets]


def test_the_committed_fixtures_are_what_make_py_writes(made):
    make = _make()
    for lid, landlord in made.items():
        folder = FIXTURES / "raw" / lid
        assert sorted(p.name for p in folder.iterdir()) == sorted(landlord.files), lid
        for name, data in landlord.files.items():
            assert _content(name, (folder / name).read_bytes()) == _content(name, data), (lid, name)
            assert len(data) < 1_000_000, (lid, name)
    assert TRUTH == json.loads(json.dumps(make.truth(made), ensure_ascii=False))
    for lid, truth in TRUTH["landlords"].items():
        assert 200 <= truth["people"]["engaged"] <= 400, lid
        assert 2_000 <= truth["tables"]["rent_accounts"] <= 8_000, lid


def test_the_three_are_unlike_each_other_and_unlike_the_partners(ws):
    partners = {p.stem for p in (ROOT / "config" / "landlords").glob("*.yml") if "." not in p.stem}
    assert not partners & set(LANDLORDS)
    conf = cfg.load(ws.conf)
    shapes = set()
    for lid in [*partners, *LANDLORDS]:
        files = conf.landlords[lid].files
        p = files["participants"]
        shapes.add((p.format, p.encoding, p.delimiter, p.decimal, p.date_formats, tuple(sorted(files)),
                    tuple(p.booleans.get("true", ()))))
    assert len(shapes) == len(partners) + len(LANDLORDS)


# --- prepare --------------------------------------------------------------------------------------

def test_prepare_runs_clean_with_no_traceback(ws):
    run = ws.prepare
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr
    m = ws.manifest
    assert m["errors"] == []
    assert sorted(m["warnings"]) == sorted(w for t in TRUTH["landlords"].values() for w in t["warnings"])
    for lid in LANDLORDS:
        assert m["landlords"][lid]["status"] == "processed"
    assert all(f["rows_in"] == f["kept"] + f["rejected"] + f["merged"] for l in m["landlords"].values()
               for f in l["files"])


@pytest.mark.parametrize("lid", LANDLORDS)
def test_every_raw_row_is_accounted_for_as_planted(ws, lid):
    files = {(f["table"], f["file"]): {k: f[k] for k in ("rows_in", "kept", "rejected", "merged", "blank_rows")}
             for f in ws.manifest["landlords"][lid]["files"]}
    truth = {(f["table"], f["file"]): {k: f[k] for k in ("rows_in", "kept", "rejected", "merged", "blank_rows")}
             for f in TRUTH["landlords"][lid]["files"]}
    assert files == truth


@pytest.mark.parametrize("lid", LANDLORDS)
def test_each_rejected_row_has_its_planted_row_column_and_reason(ws, lid):
    r = ws.table("rejects")
    r = r[r["landlord"] == lid]
    found = {(t, f, int(row), None if pd.isna(c) else c, reason)
             for t, f, row, c, reason in zip(r["table"], r["file"], r["row"], r["column"], r["reason"])}
    truth = {(x["table"], x["file"], x["row"], x["column"], x["reason"]) for x in TRUTH["landlords"][lid]["rejects"]}
    assert found == truth
    assert len(r) == len(TRUTH["landlords"][lid]["rejects"])     # one line per problem, none twice
    # shapes of values only; identifiers withheld
    withheld = r[r["field"].isin(["birth_date", "first_name", "last_name", "tenancy_ref"])]
    assert withheld["value_shape"].dropna().str.endswith(" withheld>").all()


@pytest.mark.parametrize("lid", LANDLORDS)
def test_the_processed_tables_hold_the_true_counts(ws, lid):
    truth = TRUTH["landlords"][lid]
    p = ws.table("participants")
    p = p[p["landlord"] == lid]
    people = truth["people"]
    assert len(p) == people["engaged"]
    reached = {s: int(indicators.reached(p, s).sum()) for s in ("assessed", "training_started", "training_completed")}
    assert reached == {"assessed": people["assessed"], "training_started": people["trained"],
                       "training_completed": people["completed"]}
    assert (int(p["job"].sum()), int(p["business"].sum()), int(p["employment"].sum()),
            int((p["job"] & p["business"]).sum()), int(p["further_training"].sum())) == (
        people["job"], people["business"], people["into_work"], people["both"], people["further_training"])
    # yes/no fields read from an X column, a category column or TRUE/FALSE
    flags = ("disability", "single_parent", "no_qualification")
    assert {f: int(p[f].fillna(False).astype(bool).sum()) for f in flags} == {f: people[f] for f in flags}
    assert {f: int(p[f].notna().sum()) for f in flags} == {f: people[f"{f}_known"] for f in flags}
    assert p.groupby("neighbourhood_id").size().to_dict() == truth["neighbourhoods"]
    counts = {}
    for name in ("sessions", "outcomes", "businesses", "business_checks", "questionnaires", "ambassadors",
                 "tenancies", "rent_accounts"):
        t = ws.table(name)
        counts[name] = int((t["landlord"] == lid).sum())
    assert counts == truth["tables"]
    tenancies = ws.table("tenancies")
    assert int(tenancies.loc[tenancies["landlord"] == lid, "participant"].sum()) == truth["participant_tenancies"]


@pytest.mark.parametrize("lid", LANDLORDS)
def test_the_planted_effect_on_rent_arrears_is_recovered(ws, lid):
    """Tenancies of participants who found work owe less from the month after: the effect
    planted in the panel, whatever shape the panel and its tenancies came in."""
    from increase_eval import data, value

    d = data.load(ws.processed, lid, cfg.load(ws.conf))
    arrears, why = value.arrears_effect(d.tenancies, d.rent_accounts, d.participants)
    planted = TRUTH["landlords"][lid]["planted"]["arrears_effect_per_month"]
    assert why is None and arrears.upper < 0
    assert arrears.effect == pytest.approx(planted, rel=0.1)


def test_a_stage_column_fills_in_what_the_dates_do_not_say(ws):
    p = ws.table("participants")
    tb, fa = (p[p["landlord"] == lid] for lid in ("toits_de_la_baie", "foyers_argentiere"))
    shape = TRUTH["landlords"]["toits_de_la_baie"]["recorded_stage_only"]
    # recorded in training, no start date: counted as trained, with no date
    undated = tb["training_start_date"].isna() & tb["recorded_stage"].isin(["training_started", "training_completed"])
    assert int(undated.sum()) == shape["trained_without_a_date"]
    behind = tb["training_start_date"].notna() & tb["recorded_stage"].eq("assessed")
    assert int(behind.sum()) == shape["stage_behind_the_dates"]
    # no dates at all: the stage column alone gives the funnel
    assert fa["assessment_date"].isna().all() and fa["training_start_date"].isna().all()
    assert fa["recorded_stage"].notna().all()


def test_the_shared_place_and_the_person_both_french_landlords_registered(ws):
    h = ws.table("neighbourhoods")
    shared = h[h["neighbourhood_id"] == "FR-PARTAGE-01"]
    assert sorted(shared["landlord"]) == ["foyers_argentiere", "toits_de_la_baie"]
    assert shared["shared"].all() and set(shared["name"]) == {"Saint-Aubin - Val Fleuri"}
    p = ws.table("participants")
    both = p[p["also_registered_by"] == "foyers_argentiere"]
    assert len(both) == TRUTH["landlords"]["foyers_argentiere"]["planted"]["also_registered_by_toits_de_la_baie"]
    assert set(both["landlord"]) == {"toits_de_la_baie"} and set(both["neighbourhood_id"]) == {"FR-PARTAGE-01"}
    # their sessions at the landlord that registered them second are kept, under that landlord
    s = ws.table("sessions")
    assert set(s.loc[s["person_id"].isin(both["person_id"]), "landlord"]) == {"toits_de_la_baie",
                                                                              "foyers_argentiere"}


def _identifiers(made) -> set[str]:
    """Every name, e-mail, phone, address, birth date and reference of the raw exports,
    but the register numbers of the Excel landlord (1, 2, 3...: any count) and words the
    configuration itself holds (an invented surname may be a real place)."""
    config_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "config").rglob("*")
                            if p.suffix in (".yml", ".md"))
    return {v for l in made.values() for v in l.identifiers
            if not (v.isdigit() and len(v) < 6) and not (len(v) > 3 and v in config_text)}


def _leaks(identifiers: set[str], haystack: str) -> list[str]:
    """Identifiers found in a text: those long or distinctive enough not to occur by chance
    (a 4-letter first name may be part of a word; a bare number of a count)."""
    out = []
    for v in identifiers:
        if len(v) >= 6 and re.search(r"[A-Za-z@]", v) and v in haystack:
            out.append(v)
        elif re.fullmatch(r"\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}", v) and v in haystack:
            out.append(v)
    return out


def test_no_personal_value_reaches_the_processed_data_or_the_printed_output(ws, made):
    ids = _identifiers(made)
    assert len(ids) > 3000
    cells: set[str] = set()
    for path in [*ws.processed.glob("*.parquet"), ws.processed / "rent_accounts"]:
        frame = pd.read_parquet(path)
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype) == "string":
                cells |= set(frame[col].dropna().astype(str))
        cells |= set(frame.columns)
    assert sorted(ids & cells) == []
    printed = ws.prepare.stdout + ws.prepare.stderr + (ws.processed / "manifest.json").read_text(encoding="utf-8")
    assert _leaks(ids, printed) == []


# --- report -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("waves", [[], ["entry"]], ids=["no questionnaires", "entry questionnaires only"])
def test_without_pairs_of_questionnaires_the_wellbeing_table_keeps_its_columns(waves):
    """Two of the fixture landlords have no questionnaires: section 5's wellbeing table
    must show no pairs, not fail for want of its columns."""
    from increase_eval import schema, wellbeing

    q = pd.DataFrame({"landlord": "x", "person_id": [f"P{i:016x}" for i in range(len(waves))], "wave": waves,
                      "response_date": pd.NaT, "confidence": 5, **{c: 3 for c in schema.WELLBEING_ITEMS}})
    t = wellbeing.paired_changes(q.astype({c: "Int64" for c in ["confidence", *schema.WELLBEING_ITEMS]}), 10)
    assert t["measure"].tolist() == ["confidence", "wellbeing"] and t["pairs"].tolist() == [0, 0]
    columns = ["entry_mean", "month6_mean", "change", "lower", "upper"]
    assert set(columns) <= set(t.columns) and t[columns].isna().all().all()
    assert t["entry_response"].tolist() == [len(waves) / 10] * 2 and t["month6_response"].tolist() == [0, 0]


ENTITIES = [*LANDLORDS, "fr"]


@pytest.fixture(scope="module")
def reported(ws) -> subprocess.CompletedProcess:
    return _cli("report", "--processed", str(ws.processed), "--outputs", str(ws.outputs), "--config", str(ws.conf),
                "--landlord", *ENTITIES, "--workers", "2", timeout=1800)


def _report(ws: Workspace, entity: str) -> tuple[str, str]:
    lang = "fr" if entity == "fr" else TRUTH["landlords"][entity]["language"]
    return lang, (ws.outputs / entity / f"report_{lang}.html").read_text(encoding="utf-8")


def _visible(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def _summary(doc: str) -> str:
    main = doc[doc.index("<main>"):]
    return _visible(main[:main.index('<nav class="toc"')])


def _counts_shown(conf: Path, lang: str, shown: str, keys: list[str], fields: list[str]) -> dict:
    """The counts a summary sentence shows, read back through its template in the strings."""
    strings = text.load(conf, lang)
    for key in keys:
        template = re.sub(r"\s+", " ", strings(key, **{f: f"{{{f}}}" for f in _placeholders(strings, key)}))
        pattern = ""
        for part in re.split(r"(\{\w+\})", template):
            name = part[1:-1] if re.fullmatch(r"\{\w+\}", part) else None
            pattern += (f"(?P<{name}>\\S+)" if name in fields else ".*?") if name else re.escape(part)
        found = re.search(pattern, shown)
        if found:
            return {f: found.group(f) for f in fields if f in found.groupdict()}
    raise AssertionError(f"no sentence of {keys} in the summary: {shown[:600]}")


def _placeholders(strings, key: str) -> list[str]:
    node = strings.strings
    for part in key.split("."):
        node = node[part]
    return re.findall(r"\{(\w+)\}", node)


@pytest.mark.slow
def test_reports_are_made_for_each_landlord_and_the_french_group_without_traceback(ws, reported):
    assert reported.returncode == 0, (reported.stdout[-2000:], reported.stderr[-2000:])
    assert "Traceback" not in reported.stdout + reported.stderr
    assert "warning: " not in reported.stderr          # every fixture mapping gives its cost
    for entity in ENTITIES:
        lang, doc = _report(ws, entity)
        assert (ws.outputs / entity / f"tables_{lang}.xlsx").is_file()
        assert not (ws.outputs / entity / "failed").exists()
        assert f'<html lang="{lang}">' in doc
    index = (ws.outputs / "index.html").read_text(encoding="utf-8")
    for entity in ENTITIES:
        lang, _ = _report(ws, entity)
        assert f'href="{entity}/report_{lang}.html"' in index


@pytest.mark.slow
@pytest.mark.parametrize("entity", ENTITIES)
def test_each_report_leads_with_the_summary_in_its_language_and_currency(ws, reported, entity):
    lang, doc = _report(ws, entity)
    main = doc[doc.index("<main>"):]
    first = re.search(r'<h[1-3][^>]*id="([^"]+)"', main)
    assert first and first.group(1) == "summary"
    shown = _visible(main)
    currency = "EUR" if entity == "fr" else TRUTH["landlords"][entity]["currency"]
    sign, other = ("€", "£") if currency == "EUR" else ("£", "€")
    assert sign in _summary(doc) and other not in shown
    words = {"fr": ("Synthèse", "habitants"), "en": ("Summary", "residents")}[lang]
    assert all(w in shown for w in words)


@pytest.mark.slow
@pytest.mark.parametrize("entity", ENTITIES)
def test_the_summary_shows_the_true_counts(ws, reported, entity):
    lang, doc = _report(ws, entity)
    shown = _summary(doc)
    people = TRUTH["groups"]["fr"] if entity == "fr" else TRUTH["landlords"][entity]["people"]
    group = entity == "fr"
    reach = _counts_shown(ws.conf, lang, shown, ["summary.group_reach"] if group else
                          ["summary.cost", "summary.cost_no_split", "summary.no_cost"],
                          ["engaged", "trained", "completed"])
    work = _counts_shown(ws.conf, lang, shown, ["summary.group_work", "summary.group_work_none_both"] if group else
                         ["summary.work", "summary.work_none_both"], ["people", "jobs", "businesses"])
    number = text.load(ws.conf, lang).number
    assert reach == {k: number(people[k]) for k in ("engaged", "trained", "completed")}
    assert work["people"] == number(people["into_work"])
    if not group:
        assert (work["jobs"], work["businesses"]) == (number(people["job"]), number(people["business"]))


@pytest.mark.slow
def test_a_landlord_without_a_cost_still_gets_its_report_without_ratios(ws, tmp_path):
    conf = tmp_path / "config"
    shutil.copytree(ws.conf, conf)
    path = conf / "landlords" / "kestrel_moor.yml"
    mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    del mapping["cost"]
    path.write_text(yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path / "outputs"
    run = _cli("report", "--processed", str(ws.processed), "--outputs", str(out), "--config", str(conf),
               "--landlord", "kestrel_moor")
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-2000:])
    assert "Traceback" not in run.stdout + run.stderr
    [warning] = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert f"{path}: cost: not given" in warning
    doc = (out / "kestrel_moor" / "report_en.html").read_text(encoding="utf-8")
    shown = _summary(doc)
    people = TRUTH["landlords"]["kestrel_moor"]["people"]
    reach = _counts_shown(conf, "en", shown, ["summary.no_cost"], ["engaged", "trained", "completed"])
    assert reach == {k: f"{people[k]:,}" for k in ("engaged", "trained", "completed")}
    assert text.load(conf, "en")("common.per_spent.GBP") not in shown      # no ratio without a cost


@pytest.mark.slow
def test_no_personal_value_reaches_a_report_its_tables_or_the_index(ws, reported, made):
    from openpyxl import load_workbook

    parts = [reported.stdout, reported.stderr]
    for path in ws.outputs.rglob("*"):
        if path.suffix in (".html", ".json"):
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".xlsx":
            for sheet in load_workbook(path).worksheets:
                parts += [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert _leaks(_identifiers(made), "\n".join(parts)) == []
