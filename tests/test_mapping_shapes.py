"""The mapping language covers what landlords send: each shape of export below is read by
writing a mapping only, and goes through `prepare.run` on a small landlord made here
(mapping + files), with its values and its accounting checked."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from increase_eval import normalise as nz, prepare, schema, text
from increase_eval.config import load
from increase_eval.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
LID = "shape_homes"

PEOPLE = ["Ref,First,Last,Born,Ward,Joined",
          "A1,Ann,Example,01/02/1980,North,01/03/2019",
          "A2,Bob,Sample,02/03/1985,South,15/04/2019",
          "A3,Cat,Instance,03/04/1990,North,20/05/2019",
          "A4,Dan,Specimen,04/05/1975,South,10/06/2019"]
PEOPLE_COLUMNS = {"participant_ref": "Ref", "first_name": "First", "last_name": "Last", "birth_date": "Born",
                  "neighbourhood": "Ward", "entry_date": "Joined"}


def mapping(files: dict, lid: str = LID, neighbourhoods: list | None = None, **top) -> dict:
    """A landlord mapping: a register with its required fields, plus `files`."""
    return {"id": lid, "name": lid.replace("_", " ").title(), "country": "UK", "language": "en", "currency": "GBP",
            "neighbourhoods": neighbourhoods if neighbourhoods is not None else [
                {"id": "UK-SX-01", "name": "Seaside - North", "aliases": ["North"]},
                {"id": "UK-SX-02", "name": "Seaside - South", "aliases": ["South"]}],
            "defaults": {"format": "csv", "date_formats": ["%d/%m/%Y"]},
            "files": {"participants": {"path": "people.csv", "columns": dict(PEOPLE_COLUMNS)}, **files}, **top}


def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1") -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.save(path)


def add_landlord(tmp_path: Path, spec: dict, files: dict, registry: str | None = None) -> Path:
    """Write a mapping and its raw files under tmp_path (config copied from the repository
    once); `files`: name -> lines of CSV text, or rows for an .xlsx."""
    conf = tmp_path / "config"
    if not conf.exists():
        shutil.copytree(ROOT / "config", conf)
    if registry is not None:
        (conf / "neighbourhoods.yml").write_text(registry, encoding="utf-8")
    (conf / "landlords" / f"{spec['id']}.yml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    folder = tmp_path / "raw" / spec["id"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {"people.csv": PEOPLE, **files}.items():
        if name.endswith(".xlsx"):
            write_xlsx(folder / name, content)
        else:
            (folder / name).write_text("\n".join(content) + "\n", encoding="utf-8")
    return conf


@dataclass
class Run:
    outcome: prepare.Outcome
    out: Path

    def table(self, name: str) -> pd.DataFrame:
        if name == "rent_accounts":
            return pd.read_parquet(self.out / "rent_accounts")
        return pd.read_parquet(self.out / f"{name}.parquet")

    def accounts(self) -> dict:
        return {(a.table, a.file): (a.rows_in, a.kept, a.rejected, a.merged) for a in self.outcome.accounts}

    def rejects(self, table: str | None = None) -> set:
        r = self.table("rejects")
        r = r if table is None else r[r["table"] == table]
        return set(zip(r["row"], r["column"], r["reason"]))


def run(tmp_path: Path, only: list[str] | None = None) -> Run:
    cfg = load(tmp_path / "config", only=only or [LID])
    out = tmp_path / "out"
    outcome = prepare.run(tmp_path / "raw", out, cfg, secret=tmp_path / "secret.key", say=lambda m: None, workers=1)
    assert outcome.errors == []
    assert all(a.balanced() for a in outcome.accounts)
    for name in ("participants", "sessions", "outcomes", "businesses", "business_checks", "questionnaires",
                 "ambassadors", "tenancies", "neighbourhoods", "rejects"):
        schema.processed(name).validate(pd.read_parquet(out / f"{name}.parquet"))
    return Run(outcome, out)


def listed(series: pd.Series) -> list:
    """Values with None for missing, whatever the dtype."""
    return [None if pd.isna(v) else v for v in series]


def in_french(reasons) -> list[str]:
    """Reasons a French report would still show in English."""
    fr = text.load(ROOT / "config", "fr")
    return [r for r in reasons if fr.reason(r) == r]


# --- 1. durations ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, unit, decimal, minutes", [
    ("1h30", "minutes", ".", 90), ("1h", "minutes", ".", 60), ("1 h 30", "minutes", ".", 90),
    ("90 min", "hours", ".", 90), ("90mn", "minutes", ".", 90), ("2 heures", "minutes", ".", 120),
    ("1:30", "minutes", ".", 90), ("01:30:00", "minutes", ".", 90), ("0:45", "hours", ".", 45),
    ("1h30min", "hours", ".", 90), ("2 Heures 15", "minutes", ".", 135), ("1,5 h", "minutes", ",", 90),
    ("45", "minutes", ".", 45), ("1.5", "hours", ".", 90), ("1,5", "hours", ",", 90), ("-60", "minutes", ".", -60),
])
def test_durations_in_every_written_form(raw, unit, decimal, minutes):
    assert nz.duration_rule(unit, decimal)(raw) == (minutes, None)


@pytest.mark.parametrize("raw, words", [
    ("1h75", "ambiguous duration"), ("1:75", "ambiguous duration"), ("about an hour", "not a duration"),
    ("1,5", "uses ',' as decimal mark"),   # a comma where the mapping's decimal mark is a point: 1.5 or 15?
    ("1h30 or 2h", "not a duration"), ("1 day, 1:30:00", "not a duration"),
])
def test_unreadable_or_ambiguous_durations_are_refused_listing_the_forms(raw, words):
    value, reason = nz.duration_rule("minutes", ".")(raw)
    assert value is None and reason.startswith(words)
    if not reason.startswith("uses "):
        assert "a number of minutes, 1h30, 1 h 30, 90 min, 2 heures, 1:30 or 01:30:00" in reason


def test_sessions_give_their_lengths_in_any_form(tmp_path):
    sessions = [["Session log"], ["Ref", "Date", "Length"],
                ["A1", "05/03/2019", time(1, 30)],              # an Excel duration cell, shown 1:30
                ["A1", "06/03/2019", timedelta(minutes=45)],    # [h]:mm
                ["A2", "20/04/2019", 1.5],                      # hours, as the mapping says
                ["A2", "21/04/2019", "1h30"], ["A3", "21/05/2019", "90 min"], ["A3", "22/05/2019", "2 heures"],
                ["A4", "11/06/2019", "1 h 30"], ["A4", "12/06/2019", "01:30:00"],
                ["A4", "13/06/2019", "1h75"], ["A4", "14/06/2019", "about an hour"], ["A4", "15/06/2019", "N/A"]]
    spec = mapping({"sessions": {"path": "sessions.xlsx", "format": "xlsx", "header_row": 2,
                                 "columns": {"participant_ref": "Ref", "session_date": "Date", "duration": "Length"},
                                 "units": {"duration": "hours"}}})
    add_landlord(tmp_path, spec, {"sessions.xlsx": sessions})
    r = run(tmp_path)
    s = r.table("sessions").sort_values("session_date")
    assert s["duration_minutes"].tolist() == [90, 45, 90, 90, 90, 120, 90, 90]
    assert r.accounts()[("sessions", "sessions.xlsx")] == (11, 8, 3, 0)
    forms = "a number of hours, 1h30, 1 h 30, 90 min, 2 heures, 1:30 or 01:30:00"
    assert r.rejects("sessions") == {
        (11, "Length", f"ambiguous duration (expected {forms}, with minutes and seconds below 60)"),
        (12, "Length", f"not a duration (expected {forms})"),
        (13, "Length", "required value missing")}
    assert in_french(r.table("rejects")["reason"]) == []


def test_a_duration_unit_other_than_minutes_or_hours_is_a_configuration_error(tmp_path):
    spec = mapping({"sessions": {"path": "s.csv", "columns": {"participant_ref": "Ref", "session_date": "Date",
                                                              "duration": "Length"}, "units": {"duration": "days"}}})
    add_landlord(tmp_path, spec, {})
    with pytest.raises(ConfigError, match=r"files.sessions.units.duration: got 'days'; expected 'minutes' or 'hours'"):
        load(tmp_path / "config", only=[LID])


# --- 2. totals and notes rows ---------------------------------------------------------------

def test_totals_and_notes_rows_are_rejected_as_such_and_never_parsed(tmp_path):
    register = [["Shape Homes register"], [],
                ["Ref", "First", "Last", "Born", "Ward", "Joined"],
                ["A1", "Ann", "Example", "01/02/1980", "North", "01/03/2019"],
                ["A2", "Bob", "Sample", "02/03/1985", "South", "15/04/2019"],
                [],
                ["Total", None, None, None, None, 2],
                ["Notes: as at 30/06/2023", None, None, None, None, None]]
    sessions = ["Ref,Date,Minutes", "A1,05/03/2019,60", "A2,20/04/2019,45", "TOTAL,,105", ",Total hours,1.75",
                "TOTALS1,05/03/2019,60"]
    spec = mapping({"sessions": {"path": "sessions.csv", "skip_rows": ["total( hours)?"],
                                 "columns": {"participant_ref": "Ref", "session_date": "Date", "duration": "Minutes"}}})
    spec["files"]["participants"].update(path="register.xlsx", format="xlsx", header_row="auto",
                                         skip_rows=["total", r"notes?:.*"])
    add_landlord(tmp_path, spec, {"register.xlsx": register, "sessions.csv": sessions})
    r = run(tmp_path)
    assert len(r.table("participants")) == 2 and len(r.table("sessions")) == 2
    assert r.accounts() == {("participants", "register.xlsx"): (4, 2, 2, 0), ("sessions", "sessions.csv"): (5, 2, 3, 0)}
    skipped = "skipped by the mapping (skip_rows): a totals or notes row"
    assert r.rejects("participants") == {(7, "Ref", skipped), (8, "Ref", skipped)}
    # one reason per skipped row (never parsed), naming the cell that matched; a
    # reference that only starts like a total is a record (here, an unknown participant)
    assert r.rejects("sessions") == {(4, "Ref", skipped), (5, "Date", skipped),
                                     (6, "Ref", "no participant with this reference in the register")}
    assert in_french([skipped]) == []
    shapes = r.table("rejects").set_index(["table", "row"])["value_shape"]
    assert shapes[("participants", 7)] == "Aaaaa" and shapes[("sessions", 5)] == "Aaaaa aaaaa"


def test_a_skip_rows_pattern_must_be_a_regular_expression(tmp_path):
    spec = mapping({})
    spec["files"]["participants"]["skip_rows"] = ["Total ("]
    add_landlord(tmp_path, spec, {})
    with pytest.raises(ConfigError, match=r"files.participants.skip_rows: 'Total \(' is not a regular expression"):
        load(tmp_path / "config", only=[LID])


# --- 3. blank means no ------------------------------------------------------------------------

def test_a_column_ticked_when_true_and_blank_when_false(tmp_path):
    people = [PEOPLE[0] + ",Disabled,Lone parent,No quals",
              PEOPLE[1] + ",X,,X", PEOPLE[2] + ",,X,", PEOPLE[3] + ",N/A, ,x", PEOPLE[4] + ",X,maybe,"]
    spec = mapping({})
    spec["files"]["participants"]["columns"].update(disability="Disabled", single_parent="Lone parent",
                                                    no_qualification="No quals", ethnic_minority="Minority")
    spec["files"]["participants"]["blank_is_false"] = ["disability", "single_parent", "ethnic_minority"]
    add_landlord(tmp_path, spec, {"people.csv": people})
    r = run(tmp_path)
    p = r.table("participants").sort_values("entry_date")
    # N/A stays missing; no_qualification is not blank-is-false (blank is missing); the
    # register has no Minority column, so nothing is known of it (not "no" for everyone)
    assert listed(p["disability"]) == [True, False, None]
    assert listed(p["single_parent"]) == [False, True, False]
    assert listed(p["no_qualification"]) == [True, None, True]
    assert p["ethnic_minority"].isna().all()
    assert r.accounts()[("participants", "people.csv")] == (4, 3, 1, 0)
    assert r.rejects() == {(5, "Lone parent", "not a yes/no value (expected no, yes)")}


def test_blank_is_false_names_only_yes_no_fields(tmp_path):
    spec = mapping({})
    spec["files"]["participants"]["blank_is_false"] = ["entry_date"]
    add_landlord(tmp_path, spec, {})
    with pytest.raises(ConfigError, match=r"files.participants.blank_is_false.0: 'entry_date' is not a yes/no field "
                                          r"of participants; yes/no fields: disability, "):
        load(tmp_path / "config", only=[LID])


# --- 4. yes/no fields from a category column -----------------------------------------------------

def test_flags_derived_from_category_columns(tmp_path):
    people = [PEOPLE[0] + ",Household type,Qualification level",
              PEOPLE[1] + ",Lone parent,None", PEOPLE[2] + ",Couple,GCSE", PEOPLE[3] + ",single parent,",
              PEOPLE[4] + ",Lone parent with disability,Degree"]
    # landlord-level (YAML reads unquoted true/false keys as booleans) and file-level
    spec = mapping({}, vocab={"single_parent": {True: ["Lone parent", "Single parent", "Lone parent with disability"],
                                                False: ["Couple", "Single", "Family"]}})
    # one column feeds two fields
    spec["files"]["participants"]["columns"].update(single_parent="Household type", disability="Household type",
                                                    no_qualification="Qualification level")
    spec["files"]["participants"]["vocab"] = {
        "disability": {"true": ["Lone parent with disability"], "false": ["Lone parent", "Couple", "Single parent"]},
        "no_qualification": {"true": ["None", "No qualification"], "false": ["GCSE", "A level", "Degree"]}}
    add_landlord(tmp_path, spec, {"people.csv": people})
    r = run(tmp_path)
    p = r.table("participants").sort_values("entry_date")
    assert p["single_parent"].tolist() == [True, False, True, True]
    assert p["disability"].tolist() == [False, False, False, True]
    assert listed(p["no_qualification"]) == [True, False, None, False]   # "None" is listed: a value, not missing
    assert r.accounts()[("participants", "people.csv")] == (4, 4, 0, 0)


def test_a_category_word_in_neither_list_is_rejected_never_guessed(tmp_path):
    people = [PEOPLE[0] + ",Household type", PEOPLE[1] + ",Lone parent", PEOPLE[2] + ",Widow", PEOPLE[3] + ",N/A"]
    spec = mapping({}, vocab={"single_parent": {"true": ["Lone parent"], "false": ["Couple", "Single"]}})
    spec["files"]["participants"]["columns"]["single_parent"] = "Household type"
    add_landlord(tmp_path, spec, {"people.csv": people[:4]})
    r = run(tmp_path)
    assert listed(r.table("participants")["single_parent"]) == [True, None]
    reason = "not a known value for single_parent (expected one of: Lone parent, Couple, Single)"
    assert r.rejects() == {(3, "Household type", reason)}
    assert r.accounts()[("participants", "people.csv")] == (3, 2, 1, 0)
    assert in_french([reason]) == []


def test_a_yes_no_vocabulary_has_only_true_and_false(tmp_path):
    add_landlord(tmp_path, mapping({}, vocab={"single_parent": {"yes": ["Lone parent"], "maybe": ["Other"]}}), {})
    with pytest.raises(ConfigError, match=r"vocab.single_parent.maybe: 'single_parent' is a yes/no field: its categories are true and false"):
        load(tmp_path / "config", only=[LID])


# --- 5. a journey-stage column feeds the funnel -----------------------------------------------------

def test_the_recorded_stage_fills_in_what_dates_and_flags_do_not_say(tmp_path):
    from increase_eval import indicators

    head = PEOPLE[0] + ",Assessed,Training start,Completed,Étape"
    people = [head, PEOPLE[1] + ",,,,Diagnostic", PEOPLE[2] + ",,,,En formation",
              PEOPLE[3] + ",,01/06/2019,,Formation terminée", PEOPLE[4] + ",,01/07/2019,,Inscrit",
              "A5,Eve,Exemplar,05/06/1982,North,01/03/2019,,,,Sorti en emploi",
              "A6,Fay,Paradigm,06/07/1983,South,01/03/2019,,,,Waiting list",
              "A7,Gus,Model,07/08/1984,North,01/03/2019,15/03/2019,,,",
              "A8,Hal,Pattern,08/09/1986,South,01/03/2019,,,,Bilan fait"]
    outcomes = ["Ref,Type,Date", "A2,Job,01/10/2019", "A4,Job,01/09/2019"]
    spec = mapping({"outcomes": {"path": "outcomes.csv", "columns": {"participant_ref": "Ref", "outcome_type": "Type",
                                                                     "outcome_date": "Date"}}},
                   vocab={"stage": {"assessed": ["Bilan fait"]}})
    spec["files"]["participants"]["columns"].update(assessment_date="Assessed", training_start_date="Training start",
                                                    training_completed="Completed", stage="Étape")
    add_landlord(tmp_path, spec, {"people.csv": people, "outcomes.csv": outcomes})
    r = run(tmp_path)
    p = r.table("participants")
    by = dict(zip(p["birth_year"], zip(p["recorded_stage"].astype(object), p["stage"])))
    assert by == {1980: ("assessed", "assessed"), 1985: ("training_started", "outcome"),
                  1990: ("training_completed", "training_completed"), 1975: ("engaged", "outcome"),
                  1982: ("outcome", "outcome"), 1984: (pd.NA, "assessed"), 1986: ("assessed", "assessed")}
    f = indicators.funnel(p).set_index("stage")["people"].to_dict()
    assert f == {"engaged": 7, "assessed": 7, "training_started": 4, "training_completed": 2, "outcome": 3}
    # in training by the record, on a date not known: no time to job, not in the 12-month model
    days = dict(zip(p["birth_year"], listed(p["days_to_employment"])))
    assert days[1985] is None and days[1975] == 62
    e = indicators.employment_outcomes(p, "2023-06-30").set_index("birth_year")
    assert not e.loc[1985, "eligible_12m"] and e.loc[1975, "eligible_12m"]
    assert indicators.targets(p, {"use": "t", "t": {"trained": 10}})["achieved"].tolist() == [4]
    reason = ("unknown category (expected one of: engaged, assessed, training_started, training_completed, "
              "outcome)")
    assert r.rejects() == {(7, "Étape", reason)}
    assert r.accounts()[("participants", "people.csv")] == (8, 7, 1, 0)


# --- 6. business follow-up as still-trading flags ----------------------------------------------------

CREATED = ["15/06/2019", "01/09/2019", "10/01/2020", "20/05/2020", "01/02/2021", "15/08/2021", "01/03/2022",
           "30/11/2022"]
FLAGS = [("yes", "yes", "yes", "yes"), ("yes", "yes", "no", ""), ("yes", "no", "", ""), ("no", "", "", ""),
         ("yes", "yes", "yes", "yes"), ("yes", "yes", "yes", "yes"), ("yes", "yes", "yes", ""),
         ("yes", "", "", "")]


def _business_landlord(tmp_path: Path, lid: str, checks_spec: dict, checks: list[str]) -> None:
    tag = lid.split("_")[0].title()
    people = [PEOPLE[0]] + [f"B{i},{tag}{i},Owner{i},01/01/198{i},North,01/03/2019" for i in range(1, 10)]
    outcomes = ["Ref,Type,Date"] + [f"B{i},Business,{d}" for i, d in enumerate(CREATED, 1)]
    spec = mapping({"outcomes": {"path": "outcomes.csv", "columns": {"participant_ref": "Ref", "outcome_type": "Type",
                                                                     "outcome_date": "Date"}},
                    "business_checks": {"path": "checks.csv", **checks_spec}}, lid=lid,
                   neighbourhoods=[{"id": f"UK-{tag[:2].upper()}-01", "name": f"{tag} - North", "aliases": ["North"]}])
    add_landlord(tmp_path, spec, {"people.csv": people, "outcomes.csv": outcomes, "checks.csv": checks})


def test_still_trading_flags_at_horizons_give_the_figures_dated_checks_would(tmp_path):
    from increase_eval import businesses

    horizons = {"trading_6m": "At 6 months", "trading_12m": "At 12 months", "trading_18m": "At 18 months",
                "trading_24m": "At 24 months"}
    flags = ["Ref," + ",".join(horizons.values())] + [f"B{i}," + ",".join(f) for i, f in enumerate(FLAGS, 1)]
    flags += ["B1,yes,yes,yes,yes",      # exported twice: merged
              "B9,yes,,,",               # no business created: cannot be dated
              "B2,,,,"]                  # nothing to say
    _business_landlord(tmp_path, "horizon_homes", {"columns": {"participant_ref": "Ref", **horizons}}, flags)
    # the same follow-up as a landlord with dated checks would have it by the data's end
    end = pd.Timestamp("2023-06-30")
    dated = ["Ref,Checked,Trading"]
    for i, (created, f) in enumerate(zip(CREATED, FLAGS), 1):
        for months, value in zip((6, 12, 18, 24), f):
            when = pd.Timestamp(pd.to_datetime(created, dayfirst=True)) + pd.DateOffset(months=months)
            if value and when <= end:
                dated.append(f"B{i},{when:%d/%m/%Y},{value}")
    _business_landlord(tmp_path, "dated_homes", {"columns": {"participant_ref": "Ref", "check_date": "Checked",
                                                             "trading": "Trading"}}, dated)
    r = run(tmp_path, only=["horizon_homes", "dated_homes"])
    by_landlord = {a.landlord: (a.rows_in, a.kept, a.rejected, a.merged) for a in r.outcome.accounts
                   if a.table == "business_checks"}
    assert by_landlord == {"horizon_homes": (11, 8, 2, 1), "dated_homes": (len(dated) - 1, len(dated) - 1, 0, 0)}
    rejects = {(row, column, reason) for row, column, reason in r.rejects("business_checks")}
    assert rejects == {
        (11, "At 6 months", "still-trading flag without a business creation for this participant (expected a "
                            "business outcome to date it from)"),
        (12, "At 6 months", "no follow-up value (expected one of: At 6 months, At 12 months, At 18 months, "
                            "At 24 months)")}
    checks = r.table("business_checks")
    h, d = (checks[checks["landlord"] == l].sort_values(["check_date", "trading"]) for l in ("horizon_homes",
                                                                                             "dated_homes"))
    assert len(h) == len(dated) - 1 == 20       # the horizons after 2023-06-30 are not checks yet
    assert h["check_date"].tolist() == d["check_date"].tolist() and h["trading"].tolist() == d["trading"].tolist()
    b = r.table("businesses")
    points = {l: businesses.survival_points(b[b["landlord"] == l], end) for l in ("horizon_homes", "dated_homes")}
    pd.testing.assert_frame_equal(points["horizon_homes"], points["dated_homes"])
    assert points["horizon_homes"].set_index("months")[["n", "k"]].to_numpy().tolist() == [[8, 7], [7, 5], [6, 3]]
    assert in_french(set(r.table("rejects")["reason"])) == []


@pytest.mark.parametrize("columns, found", [({"check_date": "Checked"}, "check_date"), ({}, "neither")])
def test_business_checks_map_a_dated_check_or_horizon_flags(tmp_path, columns, found):
    add_landlord(tmp_path, mapping({"business_checks": {"path": "c.csv", "columns": {"participant_ref": "Ref",
                                                                                     **columns}}}), {})
    with pytest.raises(ConfigError, match=rf"files.business_checks.columns: map both check_date and trading .*"
                                          rf"at least one of trading_6m, .*found {found}"):
        load(tmp_path / "config", only=[LID])


# --- 9. optional fields and tables are optional ----------------------------------------------------

PROCESSED_TABLES = ["participants", "sessions", "outcomes", "businesses", "business_checks", "questionnaires",
                    "ambassadors", "tenancies", "neighbourhoods", "rejects"]


def test_a_landlord_with_only_a_register_of_its_required_fields(tmp_path):
    add_landlord(tmp_path, mapping({}), {})
    r = run(tmp_path)
    assert r.accounts() == {("participants", "people.csv"): (4, 4, 0, 0)}
    t = {name: r.table(name) for name in [*PROCESSED_TABLES, "rent_accounts"]}
    assert len(t["participants"]) == 4 and t["participants"]["sex"].isna().all()
    assert all(len(t[name]) == 0 for name in ("sessions", "outcomes", "businesses", "business_checks",
                                              "questionnaires", "ambassadors", "tenancies", "rent_accounts"))
    for name in PROCESSED_TABLES:      # empty tables keep their columns and types
        assert set(t[name].columns) == set(schema.PROCESSED[name]), name


def test_every_optional_table_mapped_without_any_optional_field(tmp_path):
    required = {table: sorted(n for n, f in schema.FIELDS[table].items() if f.required)
                for table in schema.FIELDS if table != "participants"}
    assert required["business_checks"] == ["participant_ref"]     # and check_date + trading, or a flag
    headers = {"participant_ref": "Ref", "session_date": "Date", "duration": "Minutes", "outcome_type": "Type",
               "outcome_date": "Date", "check_date": "Checked", "trading": "Trading", "wave": "Wave",
               "trained_date": "Trained", "month": "Month", "active": "Active", "tenancy_ref": "Tenancy",
               "neighbourhood": "Ward", "tenancy_start": "Start", "arrears": "Arrears"}
    rows = {"sessions": ("participant_ref session_date duration", ["A1,05/03/2019,60"]),
            "outcomes": ("participant_ref outcome_type outcome_date", ["A1,Job,01/10/2019"]),
            "business_checks": ("participant_ref check_date trading", ["A1,01/10/2020,yes"]),
            "questionnaires": ("participant_ref wave", ["A1,entry"]),
            "ambassadors": ("participant_ref trained_date month active", ["A1,01/04/2019,2019-05,yes"]),
            "tenancies": ("tenancy_ref neighbourhood tenancy_start", ["T1,North,01/01/2010", "T2,South,01/01/2012"]),
            "rent_accounts": ("tenancy_ref month arrears", ["T1,2019-05,10.5", "T2,2019-05,0", "T1,2019-06,-3"])}
    for t, (fields, _) in rows.items():
        assert set(fields.split()) >= set(required[t]), t
    columns = {t: {f: headers[f] for f in fields.split()} for t, (fields, _) in rows.items()}
    rows = {t: lines for t, (_, lines) in rows.items()}
    files = {f"{t}.csv": [",".join(columns[t].values()), *lines] for t, lines in rows.items()}
    spec = mapping({t: {"path": f"{t}.csv", "columns": columns[t]} for t in rows})
    add_landlord(tmp_path, spec, files)
    r = run(tmp_path)
    assert {t: a[:2] for (t, _), a in r.accounts().items()} == {
        "participants": (4, 4), "sessions": (1, 1), "outcomes": (1, 1), "business_checks": (1, 1),
        "questionnaires": (1, 1), "ambassadors": (1, 1), "tenancies": (2, 2), "rent_accounts": (3, 3)}
    t = {name: r.table(name) for name in [*PROCESSED_TABLES, "rent_accounts"]}
    for name in PROCESSED_TABLES:
        assert set(t[name].columns) == set(schema.PROCESSED[name]), name
    assert t["rent_accounts"]["rent_due"].isna().all() and len(t["rent_accounts"]) == 3
    assert t["tenancies"]["household_type"].isna().all() and len(t["businesses"]) == 0


# --- 7. tenancies from the rent panel ------------------------------------------------------------------

PANEL = ["Tenancy,Month,Arrears,Estate,Start,End,Household",
         "T1,2019-05,10,North,01/01/2010,,Single",
         "T1,2019-06,20,north,01/01/2010,,Single",
         "T2,2019-05,0,South,01/01/2015,31/12/2020,Couple",
         "T2,2019-06,0,,01/01/2015,31/12/2020,Family",          # the household changed: unknown
         "T3,2019-05,5,North,01/01/2012,,",
         "T3,2019-06,5,South,01/01/2012,,",                     # two neighbourhoods: which?
         "T4,2019-05,1,Nowhere,01/01/2012,,",
         "T5,2019-05,2,North,01/01/2012,,",
         "T5,2019-06,2,North,01/02/2012,,",                     # two starts
         "T6,2019-05,3,South,,,",
         "Total,,48,,,,"]


def test_tenancies_are_derived_from_the_rent_panel_when_there_is_no_tenancies_export(tmp_path):
    people = [PEOPLE[0] + ",Tenancy"] + [line + f",T{i}" for i, line in enumerate(PEOPLE[1:], 1)]
    spec = mapping({"rent_accounts": {"path": "panel.csv", "skip_rows": ["total"],
                                      "columns": {"tenancy_ref": "Tenancy", "month": "Month", "arrears": "Arrears",
                                                  "neighbourhood": "Estate", "tenancy_start": "Start",
                                                  "tenancy_end": "End", "household_type": "Household"}}})
    spec["files"]["participants"]["columns"]["tenancy_ref"] = "Tenancy"
    add_landlord(tmp_path, spec, {"people.csv": people, "panel.csv": PANEL})
    r = run(tmp_path)
    assert r.outcome.warnings == []
    assert r.accounts()[("rent_accounts", "panel.csv")] == (11, 5, 6, 0)
    t = r.table("tenancies").sort_values("tenancy_start", na_position="last")
    assert listed(t["neighbourhood_id"]) == ["UK-SX-01", "UK-SX-02", "UK-SX-02"]
    assert listed(t["tenancy_start"].dt.strftime("%Y-%m-%d")) == ["2010-01-01", "2015-01-01", None]
    assert listed(t["tenancy_end"].dt.strftime("%Y-%m-%d")) == [None, "2020-12-31", None]
    assert listed(t["household_type"]) == ["single", None, None]
    assert t["end_known"].all() and t["lead_birth_year"].isna().all()
    assert t["participant"].tolist() == [True, True, False]       # T1 and T2 are A1's and A2's
    p = r.table("participants").sort_values("entry_date")
    assert p["tenancy_id"].notna().tolist() == [True, True, False, False]   # T3 rejected; T4 not a tenancy
    panel = r.table("rent_accounts")
    assert len(panel) == 5 and set(panel["tenancy_id"]) == set(t["tenancy_id"])
    assert r.rejects("rent_accounts") == {
        (6, "Estate", "tenancy reference seen with two neighbourhoods in the rent panel"),
        (7, "Estate", "tenancy reference seen with two neighbourhoods in the rent panel"),
        (8, "Estate", "unknown neighbourhood of Shape Homes"),
        (9, "Start", "tenancy reference seen with two tenancy starts in the rent panel"),
        (10, "Start", "tenancy reference seen with two tenancy starts in the rent panel"),
        (12, "Tenancy", "skipped by the mapping (skip_rows): a totals or notes row")}
    rejects = r.table("rejects")      # the matched cell is a tenancy reference's: not even its shape
    assert rejects.loc[rejects["row"] == 12, "value_shape"].tolist() == ["<tenancy_ref withheld>"]
    assert in_french(set(rejects["reason"])) == []


def test_a_panel_without_tenancies_or_neighbourhoods_is_kept_with_a_warning_and_not_compared(tmp_path):
    from increase_eval import summary, tenancies

    people = [PEOPLE[0] + ",Tenancy"] + [line + f",T{i}" for i, line in enumerate(PEOPLE[1:], 1)]
    outcomes = ["Ref,Type,Date"] + [f"A{i},Job,01/0{i + 1}/2020" for i in range(1, 5)]
    panel = ["Tenancy,Month,Arrears"] + [f"T{i},2019-{m:02d},{i * m}" for i in range(1, 12) for m in range(1, 13)]
    spec = mapping({"rent_accounts": {"path": "panel.csv", "columns": {"tenancy_ref": "Tenancy", "month": "Month",
                                                                       "arrears": "Arrears"}},
                    "outcomes": {"path": "outcomes.csv", "columns": {"participant_ref": "Ref", "outcome_type": "Type",
                                                                     "outcome_date": "Date"}}})
    spec["files"]["participants"]["columns"]["tenancy_ref"] = "Tenancy"
    add_landlord(tmp_path, spec, {"people.csv": people, "panel.csv": panel, "outcomes.csv": outcomes})
    r = run(tmp_path)
    assert r.accounts()[("rent_accounts", "panel.csv")] == (132, 132, 0, 0)       # every row kept
    [warning] = r.outcome.warnings
    assert warning.startswith("shape_homes: panel.csv: rent panel without a tenancies export or a neighbourhood "
                              "column: its tenancies have no neighbourhood, so their arrears cannot be compared")
    assert f"warning: {warning}" in summary.prepare_summary(r.outcome, 1.0).splitlines()
    t = r.table("tenancies")
    assert len(t) == 11 and t["neighbourhood_id"].isna().all() and t["tenancy_start"].isna().all()
    assert not t["end_known"].any()            # no end column: whether a tenancy ended is unknown
    assert tenancies.unplaced(t) == 11
    assert tenancies.estimates(t, r.table("rent_accounts"), r.table("participants")) is None
    assert tenancies.sustainment(t, "2023-06-30").empty


def test_a_table_whose_every_row_is_rejected_is_an_empty_typed_table(tmp_path):
    spec = mapping({"sessions": {"path": "sessions.csv", "columns": {"participant_ref": "Ref", "session_date": "Date",
                                                                     "duration": "Minutes"}}})
    add_landlord(tmp_path, spec, {"sessions.csv": ["Ref,Date,Minutes", "Z9,05/03/2019,60"]})
    r = run(tmp_path)                    # the processed schemas hold (checked in run)
    assert r.accounts()[("sessions", "sessions.csv")] == (1, 0, 1, 0) and len(r.table("sessions")) == 0


# --- 8. a neighbourhood shared by two landlords ----------------------------------------------------------

REGISTRY = """# test registry
neighbourhoods:
  - {id: UK-SHARED-01, name: "Dover - Town", country: UK, aliases: [Dover Town], source: "ONS ward (test)"}
"""


def test_a_place_two_landlords_share_is_one_neighbourhood_of_the_registry(tmp_path):
    from increase_eval import data, indicators, notebook

    a = mapping({}, neighbourhoods=[{"id": "UK-SHARED-01", "aliases": ["Town Centre"]},
                                    {"id": "UK-SX-02", "name": "Seaside - South", "aliases": ["South"]}])
    b = mapping({}, lid="other_homes", neighbourhoods=[{"id": "UK-SHARED-01"},
                                                       {"id": "UK-OT-01", "name": "Other - East", "aliases": ["East"]}])
    add_landlord(tmp_path, a, {"people.csv": [PEOPLE[0], PEOPLE[1].replace("North", "Dover Town"),
                                              PEOPLE[2], PEOPLE[3].replace("North", "Town Centre")]})
    add_landlord(tmp_path, b, {"people.csv": [PEOPLE[0], "B1,Ida,Other,01/01/1981,Dover - Town,01/03/2019",
                                              "B2,Jo,Other,01/01/1982,East,01/03/2019",
                                              "B3,Kit,Other,01/01/1983,Town Centre,01/03/2019"]}, registry=REGISTRY)
    r = run(tmp_path, only=[LID, "other_homes"])
    cfg = load(tmp_path / "config")
    assert cfg.neighbourhood_registry["UK-SHARED-01"].shared
    h = r.table("neighbourhoods")
    shared = h[h["neighbourhood_id"] == "UK-SHARED-01"]
    assert sorted(shared["landlord"]) == ["other_homes", LID] and set(shared["name"]) == {"Dover - Town"}
    assert shared["shared"].all() and not h.loc[h["neighbourhood_id"] != "UK-SHARED-01", "shared"].any()
    p = r.table("participants")
    assert sorted(zip(p["landlord"], p["neighbourhood_id"])) == [
        ("other_homes", "UK-OT-01"), ("other_homes", "UK-SHARED-01"),
        (LID, "UK-SHARED-01"), (LID, "UK-SHARED-01"), (LID, "UK-SX-02")]
    # the registry's aliases serve both landlords; a landlord's own aliases only itself
    assert r.rejects() == {(4, "Ward", "unknown neighbourhood of Other Homes")}
    # analyses: one name per place in a group; a landlord loads only its own rows
    ctx = notebook.setup("uk", "en", r.out, config_dir=tmp_path / "config")
    assert ctx.neighbourhood_name("UK-SHARED-01") == "Dover - Town"
    area = indicators.by_area(ctx.data.participants, k=1)
    assert sorted(zip(area["landlord"], area["neighbourhood_id"], area["engaged"])) == [
        ("other_homes", "UK-OT-01", 1), ("other_homes", "UK-SHARED-01", 1), (LID, "UK-SHARED-01", 2),
        (LID, "UK-SX-02", 1)]
    mine = data.load(r.out, "other_homes", cfg)
    assert sorted(mine.neighbourhoods["neighbourhood_id"]) == ["UK-OT-01", "UK-SHARED-01"]


def test_an_id_two_mappings_use_outside_the_registry_is_a_configuration_error(tmp_path):
    hoods = [{"id": "UK-DUP-01", "name": "Dup - Town", "aliases": []}]
    add_landlord(tmp_path, mapping({}, neighbourhoods=hoods), {})
    add_landlord(tmp_path, mapping({}, lid="other_homes", neighbourhoods=hoods), {})
    conf = tmp_path / "config"
    with pytest.raises(ConfigError) as exc:
        load(conf, only=[LID, "other_homes"])
    message = str(exc.value)
    assert (f"{conf / 'landlords' / 'shape_homes.yml'}: neighbourhoods: 'UK-DUP-01' is also used by "
            f"{conf / 'landlords' / 'other_homes.yml'}") in message
    assert f"move it to {conf / 'neighbourhoods.yml'}" in message


@pytest.mark.parametrize("entry, words", [
    ({"id": "UK-SHARED-01", "name": "Another name"}, "its name comes from there"),
    ({"id": "UK-NONE-01"}, "is not in config/neighbourhoods.yml, so it needs a name"),
])
def test_registry_entries_are_named_once(tmp_path, entry, words):
    add_landlord(tmp_path, mapping({}, neighbourhoods=[entry]), {}, registry=REGISTRY)
    with pytest.raises(ConfigError, match=re.escape(words)):
        load(tmp_path / "config", only=[LID])


def test_a_registry_place_is_in_the_landlord_s_country(tmp_path):
    spec = mapping({}, neighbourhoods=[{"id": "UK-SHARED-01"}])
    spec["country"], spec["currency"], spec["language"] = "FR", "EUR", "fr"
    add_landlord(tmp_path, spec, {}, registry=REGISTRY)
    with pytest.raises(ConfigError, match="'UK-SHARED-01' is in UK according to .*neighbourhoods.yml, and"):
        load(tmp_path / "config", only=[LID])


# --- 8. housing benefit in the rent panel ---------------------------------------------------------------

def test_housing_benefit_received_month_by_month_is_read_as_yes_no(tmp_path):
    spec = mapping({"tenancies": {"path": "tenancies.csv", "columns": {"tenancy_ref": "Tenancy", "neighbourhood": "Ward",
                                                                        "tenancy_start": "Start"}},
                    "rent_accounts": {"path": "panel.csv", "columns": {"tenancy_ref": "Tenancy", "month": "Month",
                                                                       "arrears": "Arrears",
                                                                       "housing_benefit": "UC housing costs"}}})
    add_landlord(tmp_path, spec, {"tenancies.csv": ["Tenancy,Ward,Start", "T1,North,01/01/2010", "T2,South,01/01/2012"],
                                  "panel.csv": ["Tenancy,Month,Arrears,UC housing costs", "T1,2019-05,10,Y",
                                                "T1,2019-06,12,N", "T2,2019-05,0,", "T2,2019-06,0,maybe"]})
    r = run(tmp_path)
    assert r.accounts()[("rent_accounts", "panel.csv")] == (4, 3, 1, 0)
    panel = r.table("rent_accounts").sort_values(["arrears", "month"], ascending=[False, True])
    assert listed(panel["housing_benefit"]) == [False, True, None]     # a blank month says nothing
    (row, column, reason), = r.rejects("rent_accounts")
    assert (row, column) == (5, "UC housing costs") and reason.startswith("not a yes/no value")
    assert in_french([reason]) == []
