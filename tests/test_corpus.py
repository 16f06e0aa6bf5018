"""The corpus of broken exports (tests/corpus, made by tests/corpus/make.py): each file
is one landlord's register in one prepare run, through the command line. Each gives
either a clean result whose accounting adds up, or one error line naming landlord, file
and column and saying what was expected; never a traceback, never a silent drop, and
one broken landlord never stops the others."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
COLUMNS = ('{participant_ref: Ref, first_name: First name, last_name: Last name, birth_date: Date of birth, '
           'neighbourhood: Ward, sex: Gender, disability: Disability, entry_date: Joined, '
           'training_start_date: Training start}')

# case -> (register file, (rows_in, kept or merged, rejected) or the error's words, the
# reasons its rejected rows must carry, as (row, column, words)). The cases share their
# made-up people: a row read right is kept by the first landlord and merged by the others
# (same name and birth date), which also shows that every date format read the same day.
CASES = {
    "base": ("base_participants.csv", (3, 3, 0), []),
    "empty": ("empty.csv", ["the file is empty", "expected a header and rows"], []),
    "header_only": ("header_only.csv", (0, 0, 0), []),
    "wrong_encoding": ("wrong_encoding.csv", ["not readable as utf-8", "line 3", "expected text encoded as utf-8"], []),
    "wrong_delimiter": ("wrong_delimiter.csv", ["required column missing", "column 'Ref'",
                                                "probably not separated by ','"], []),
    "utf8_bom": ("utf8_bom.csv", (3, 3, 0), []),
    "mixed_dates": ("mixed_dates.csv", (5, 2, 3), [(4, "Joined", "not a date"), (5, "Date of birth", "not a date"),
                                                      (6, "Date of birth", "not a date")]),
    "excel_serials": ("excel_serials.csv", (3, 3, 0), []),
    "dates_1900_2100": ("dates_1900_2100.csv", (4, 0, 4), [(2, "Date of birth", "outside 1900-2100"),
                                                           (3, "Joined", "outside 1900-2100"),
                                                           (4, "Date of birth", "birth date outside"),
                                                           (5, "Joined", "entry date outside")]),
    "missing_required_column": ("missing_required_column.csv", ["required column missing", "column 'Joined'",
                                                                "expected a header 'Joined' for entry_date"], []),
    "extra_columns": ("extra_columns.csv", (3, 3, 0), []),
    "duplicate_headers": ("duplicate_headers.csv", ["column 'Ref'", "appears 2 times", "expected it once"], []),
    # its Training start of C3 is a formula ('=B2') the file never calculated: no value to read
    "title_rows_merged_cells": ("title_rows_merged_cells.xlsx", (3, 2, 1),
                                [(7, "Training start", "a formula that was never calculated")]),
    "corrupted": ("corrupted.xlsx", ["not a readable Excel workbook", "expected an .xlsx file"], []),
    "tokens": ("tokens.csv", (4, 1, 3), [(3, "Disability", "spreadsheet error value #REF!"),
                                            (4, "Date of birth", "required value missing"),
                                            (5, "Joined", "spreadsheet error value #VALUE!")]),
    "very_long_strings": ("very_long_strings.csv", (4, 3, 1), [(4, "Ward", "unknown neighbourhood")]),
    "malformed_rows": ("malformed_rows.csv", (4, 2, 2), [(3, None, "row has 11 fields, expected 9"),
                                                            (5, None, "row has 3 fields, expected 9")]),
    # read as the date written: times of day, ISO time zones (never converted), serials with a fraction
    "dates_with_times": ("dates_with_times.csv", (3, 3, 0), []),
    "control_characters": ("control_characters.csv", (3, 1, 2), [(2, "Ref", "contains a NUL byte"),
                                                                 (3, "First name", "control character (U+001B)")]),
    "utf16_as_utf8": ("utf16_as_utf8.csv", ["mostly NUL bytes", "probably UTF-16", "encoding: utf-16-le"], []),
    "utf8_as_cp1252": ("utf8_as_cp1252.csv", ["the file is UTF-8", "not cp1252 as the mapping says",
                                              "write 'encoding: utf-8' in the mapping"], []),
    "names_like_missing": ("names_like_missing.csv", (3, 3, 0), []),
    "same_person_folded": ("same_person_folded.csv", (4, 4, 0), []),
    "trailing_delimiter": ("trailing_delimiter.csv", (3, 3, 0), []),
    "delimiter_only_rows": ("delimiter_only_rows.csv", (4, 3, 1), [(9, "Date of birth", "not a date")]),
    "rows_other_delimiter": ("rows_other_delimiter.csv", ["participants.csv: 24 of 24 rows rejected as 'row has a "
                                                          "different number of fields than the header'",
                                                          "check the delimiter (the mapping says ',')"], []),
    "header_row_35": ("header_row_35.csv", (3, 3, 0), []),
    "header_repeated": ("header_repeated.csv", ["column 'Ref'", "appears 3001 times", "and 2996 more",
                                                "expected it once"], []),
    "us_dates": ("us_dates.csv", ["column 'Joined'", "24 of 24 rows", "look like mm/dd/yyyy",
                                  "the mapping says dd/mm/yyyy", 'write date_formats: ["%m/%d/%Y"]'], []),
    "us_dates_optional_column": ("us_dates_optional_column.csv", ["column 'Training start'", "22 of 22 filled cells",
                                                                  "look like mm/dd/yyyy"], []),
    "hidden_first_sheet": ("hidden_first_sheet.xlsx", (3, 3, 0), []),
    "uncalculated_formulas": ("uncalculated_formulas.xlsx", ["column 'Joined'", "24 of 24 rows",
                                                             "formulas the program that wrote the file never calculated",
                                                             "open the file in Excel or LibreOffice and save it"], []),
    # shapes the mapping reads (EXTRA below): their values are checked by the tests at the end
    "totals_row": ("totals_row.xlsx", (5, 3, 2), [(8, "Ref", "skipped by the mapping (skip_rows)"),
                                                  (9, "Ref", "skipped by the mapping (skip_rows)")]),
    "ticked_flags": ("ticked_flags.csv", (4, 4, 0), []),
    "category_flags": ("category_flags.csv", (4, 3, 1), [(5, "Household", "not a known value for single_parent")]),
    "stage_column": ("stage_column.csv", (4, 3, 1), [(5, "Stage", "unknown category (expected one of: engaged")]),
    "mapping_words": ("mapping_words.tsv", (3, 3, 0), []),
    "panel_no_tenancies": ("base_participants.csv", (3, 3, 0), []),
    "trading_flags": ("base_participants.csv", (3, 3, 0), []),
}
# mapping options that differ from the corpus' defaults
OPTIONS = {
    "utf8_as_cp1252": {"encoding": "cp1252"},
    "header_row_35": {"header_row": 35},
    "hidden_first_sheet": {"sheet": None},     # no sheet named: the first visible one
}
# mapping text a case adds, as a user writes it: `participants` (options of the register's
# entry), `columns` (more register columns), `top` (top-level keys), `files` (more exports,
# with `raw`: file in the landlord's folder -> corpus file), or replaces: `country`,
# `defaults`, `sessions` (the corpus file copied as sessions.csv)
EXTRA = {
    "totals_row": {"participants": 'skip_rows: ["total", "notes?:.*"]'},
    "ticked_flags": {"participants": "blank_is_false: [disability]"},
    "category_flags": {"columns": "single_parent: Household, no_qualification: Qualifications",
                       "top": 'vocab:\n  single_parent: {"true": [Lone parent], "false": [Couple, Single]}\n'
                              '  no_qualification: {"true": [None, No qualifications], "false": [GCSE, A level]}'},
    "stage_column": {"columns": "stage: Stage"},
    "mapping_words": {"country": "GB", "sessions": "sessions_tab_comma.tsv",
                      "defaults": "{format: csv, encoding: utf8-bom, delimiter: '\\t', decimal: comma, "
                                  'date_formats: ["dd/mm/yyyy"], booleans: {"true": [Y], "false": [N]}}'},
    "panel_no_tenancies": {"files": "rent_accounts:\n    path: panel.csv\n    columns: {tenancy_ref: Tenancy, "
                                    "month: Month, arrears: Arrears, neighbourhood: Estate, tenancy_start: Start, "
                                    "tenancy_end: End}",
                           "raw": {"panel.csv": "panel_no_tenancies.csv"}},
    "trading_flags": {"files": "outcomes:\n    path: outcomes.csv\n    columns: {participant_ref: Ref, "
                               "outcome_type: Type, outcome_date: Date}\n  business_checks:\n    path: checks.csv\n"
                               "    columns: {participant_ref: Ref, trading_6m: Still trading at 6 months, "
                               "trading_12m: Still trading at 12 months}",
                      "raw": {"outcomes.csv": "trading_outcomes.csv", "checks.csv": "trading_flags.csv"}},
}
# landlords whose sessions files are the case (the register is the base one)
SESSIONS = {"negative_sessions": ("negative_sessions.csv",), "numbers_sessions": ("numbers_sessions.csv",),
            "sessions_decimal_comma": ("sessions_decimal_comma.csv",),
            "durations_written": ("durations_written.csv",),
            # a glob matching an export, its byte-identical copy and an overlapping extract
            "sessions_glob": ("base_sessions.csv", "base_sessions.csv", "sessions_overlap.csv")}
BROKEN_SESSIONS = ["sessions_decimal_comma"]


def _mapping(case: str, n: int, register: str, sessions_path: str = "sessions.csv") -> str:
    xlsx = register.endswith(".xlsx")
    formats = '["%d/%m/%Y", "%Y-%m-%d"]' if case == "mixed_dates" else '["%d/%m/%Y"]'
    options = OPTIONS.get(case, {})
    extra = EXTRA.get(case, {})
    sheet = options.get("sheet", "Register")
    header_row = options.get("header_row", "auto" if xlsx else None)
    columns = COLUMNS[:-1] + ", " + extra["columns"] + "}" if "columns" in extra else COLUMNS
    defaults = extra.get("defaults", f"""{{format: csv, encoding: utf-8, delimiter: ",", decimal: ".", date_formats: {formats},
           booleans: {{"true": [Y], "false": [N]}}}}""")
    return f"""id: corpus_{case}
name: Corpus {case}
country: {extra.get("country", "UK")}
language: en
currency: GBP
neighbourhoods:
  - {{id: UK-C{n:02d}-01, name: Harbour, aliases: []}}
defaults: {defaults}
files:
  participants:
    path: {"participants.xlsx" if xlsx else "participants.csv"}
    {"format: xlsx" if xlsx else ""}
    {f"header_row: {header_row}" if header_row else ""}
    {f"sheet: {sheet}" if xlsx and sheet else ""}
    {f"encoding: {options['encoding']}" if "encoding" in options else ""}
    {extra.get("participants", "")}
    columns: {columns}
  sessions:
    path: "{sessions_path}"
    columns: {{participant_ref: Ref, session_date: Date, duration: Minutes}}
  {extra.get("files", "")}
{extra.get("top", "")}
"""


def _landlord(conf: Path, raw: Path, case: str, n: int, register: str,
              sessions: tuple[str, ...] = ("base_sessions.csv",)) -> None:
    extra = EXTRA.get(case, {})
    if "sessions" in extra:
        sessions = (extra["sessions"],)
    glob = len(sessions) > 1
    (conf / "landlords" / f"corpus_{case}.yml").write_text(
        _mapping(case, n, register, "sessions*.csv" if glob else "sessions.csv"), encoding="utf-8")
    folder = raw / f"corpus_{case}"
    folder.mkdir(parents=True)
    shutil.copy(CORPUS / register, folder / ("participants.xlsx" if register.endswith(".xlsx") else "participants.csv"))
    names = ["sessions.csv", "sessions_copy.csv", "sessions_overlap.csv"] if glob else ["sessions.csv"]
    for name, source in zip(names, sessions):
        shutil.copy(CORPUS / source, folder / name)
    for name, source in extra.get("raw", {}).items():
        shutil.copy(CORPUS / source, folder / name)


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    conf, raw, processed = tmp / "config", tmp / "raw", tmp / "processed"
    shutil.copytree(ROOT / "config", conf)
    for p in (conf / "landlords").glob("*.yml"):
        p.unlink()
    programme = yaml.safe_load((conf / "programme.yml").read_text(encoding="utf-8"))
    programme["landlords"] = []          # only the corpus' landlords, found by their mappings
    (conf / "programme.yml").write_text(yaml.safe_dump(programme, allow_unicode=True), encoding="utf-8")
    for n, (case, (register, _, _)) in enumerate(CASES.items()):
        _landlord(conf, raw, case, n, register)
    for n, (case, sessions) in enumerate(SESSIONS.items()):
        _landlord(conf, raw, case, 70 + n, "base_participants.csv", sessions)
    _landlord(conf, raw, "same_person_a", 91, "same_person_a.csv")
    _landlord(conf, raw, "same_person_b", 92, "same_person_b.csv")
    run = subprocess.run([sys.executable, "-m", "increase_eval.cli", "prepare", "--raw", str(raw), "--processed",
                          str(processed), "--config", str(conf), "--secret", str(tmp / "secret.key")],
                         capture_output=True, text=True, timeout=600)
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    return run, manifest, processed


def _files(manifest: dict, landlord: str) -> dict:
    return {f["table"]: f for f in manifest["landlords"].get(landlord, {}).get("files", [])}


def test_the_run_reports_every_broken_landlord_in_one_line_and_no_traceback(corpus_run):
    run, manifest, _ = corpus_run
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    broken = [c for c, (_, expect, _) in CASES.items() if isinstance(expect, list)]
    for case in broken:
        lines = [line for line in run.stderr.splitlines() if f"corpus_{case}:" in line and "participants" in line]
        assert len(lines) == 1, (case, run.stderr)
    for case in BROKEN_SESSIONS:
        assert len([line for line in run.stderr.splitlines() if f"corpus_{case}: sessions.csv" in line]) == 1
    assert sorted(e.split(":")[0].split()[-1] for e in manifest["errors"]) == \
        sorted(f"corpus_{c}" for c in broken + BROKEN_SESSIONS)
    # one short line each, however large the file's problem
    assert all(len(e) <= 300 + len(" - Corpus header_repeated skipped") for e in manifest["errors"])
    assert max(len(line) for line in run.stdout.splitlines() + run.stderr.splitlines()) < 400


@pytest.mark.parametrize("case", list(CASES))
def test_each_file_gives_a_clean_result_or_one_clear_error(corpus_run, case):
    run, manifest, processed = corpus_run
    register, expect, reasons = CASES[case]
    if isinstance(expect, list):
        [error] = [e for e in manifest["errors"] if f"corpus_{case}:" in e]
        assert "\n" not in error and "participants" in error
        for words in expect:
            assert words in error, error
        assert _files(manifest, f"corpus_{case}") == {} or \
            "participants" not in _files(manifest, f"corpus_{case}")   # nothing of it half-processed
        return
    files = _files(manifest, f"corpus_{case}")
    account = files["participants"]
    assert (account["rows_in"], account["kept"] + account["merged"], account["rejected"]) == expect
    for f in files.values():
        assert f["rows_in"] == f["kept"] + f["rejected"] + f["merged"]
    rejects = pd.read_parquet(processed / "rejects.parquet")
    mine = rejects[(rejects["landlord"] == f"corpus_{case}") & (rejects["table"] == "participants")]
    assert mine["row"].nunique() == account["rejected"]
    for row, column, words in reasons:
        hit = mine[(mine["row"] == row) & (mine["column"].isna() if column is None else mine["column"] == column)]
        assert hit["reason"].str.contains(words, regex=False).any(), (row, column, mine.to_dict("records"))
    for v in mine["value_shape"].dropna():       # shapes of values, never the values themselves
        assert len(v) <= 40 and (v.endswith(" withheld>") or not any(ch.islower() and ch != "a" for ch in v)), v


def test_negative_zero_and_broken_session_lengths_are_rejected_with_their_rows(corpus_run):
    _, manifest, processed = corpus_run
    s = _files(manifest, "corpus_negative_sessions")["sessions"]
    assert (s["rows_in"], s["kept"], s["rejected"], s["merged"]) == (5, 1, 4, 0)
    rejects = pd.read_parquet(processed / "rejects.parquet")
    mine = rejects[rejects["landlord"] == "corpus_negative_sessions"].set_index("row")["reason"]
    assert "between" in mine[3] and "required value missing" in mine[4]
    assert "between" in mine[5] and "#DIV/0!" in mine[6]


def test_the_same_person_at_two_landlords_is_one_person_registered_twice(corpus_run):
    _, manifest, processed = corpus_run
    a, b = (_files(manifest, f"corpus_same_person_{x}")["participants"] for x in "ab")
    assert (a["rows_in"], a["kept"], a["rejected"], a["merged"]) == (2, 2, 0, 0)
    assert (b["rows_in"], b["kept"], b["rejected"], b["merged"]) == (2, 1, 0, 1)   # Uma Twice, another spelling of her date
    p = pd.read_parquet(processed / "participants.parquet")
    assert len(p[p["landlord"].isin(["corpus_same_person_a", "corpus_same_person_b"])]) == 3


def test_every_reject_reason_reads_in_french(corpus_run, prepared, config):
    """Reasons are written in English by prepare; a French report shows them in French."""
    from increase_eval import text

    _, _, processed = corpus_run
    reasons = set(pd.read_parquet(processed / "rejects.parquet")["reason"]) | \
        set(pd.read_parquet(prepared.processed / "rejects.parquet")["reason"])
    fr, en = text.load(config.root, "fr"), text.load(config.root, "en")
    assert len(reasons) > 15
    english = re.compile(r"\b(not|outside|expected|missing|unknown|register|value|row|fields|between|beyond)\b")
    assert [r for r in reasons if fr.reason(r) == r or english.search(fr.reason(r))] == []
    # in English the words stay as prepare wrote them; dates and large numbers read as the reader writes them
    assert all(en.reason(r) == en._reason_numbers(r) for r in reasons)
    assert not [r for r in reasons if re.search(r"\d{4}-\d\d-\d\d|\d{5}|\+/-", en.reason(r) + fr.reason(r))]


def test_numbers_against_the_decimal_mark_and_the_currency_are_rejected_not_reread(corpus_run):
    _, manifest, processed = corpus_run
    s = _files(manifest, "corpus_numbers_sessions")["sessions"]
    assert (s["rows_in"], s["kept"], s["rejected"], s["merged"]) == (6, 3, 3, 0)
    rejects = pd.read_parquet(processed / "rejects.parquet")
    mine = rejects[rejects["landlord"] == "corpus_numbers_sessions"].set_index("row")["reason"]
    assert mine.to_dict() == {2: "uses ',' as decimal mark but the mapping says '.'",
                              4: "amount in EUR but the landlord's currency is GBP",
                              6: "uses ',' as decimal mark but the mapping says '.'"}
    sessions = pd.read_parquet(processed / "sessions.parquet")
    mine = sessions[sessions["landlord"] == "corpus_numbers_sessions"]
    assert sorted(mine["duration_minutes"]) == [45.0, 45.0, 60.5]


def test_a_file_mostly_in_the_other_decimal_mark_is_one_error_line(corpus_run):
    _, manifest, _ = corpus_run
    [error] = [e for e in manifest["errors"] if "corpus_sessions_decimal_comma:" in e]
    assert error.startswith("corpus_sessions_decimal_comma: sessions.csv, column 'Minutes': 24 of 24 rows rejected")
    assert "write decimal: \",\" in the mapping" in error
    assert manifest["landlords"]["corpus_sessions_decimal_comma"]["status"] == "not processed"


def test_names_like_missing_words_are_people(corpus_run):
    _, manifest, processed = corpus_run
    p = pd.read_parquet(processed / "participants.parquet")
    assert (p["landlord"] == "corpus_names_like_missing").sum() == 3


def test_letters_without_decomposition_fold_to_one_person(corpus_run):
    _, manifest, _ = corpus_run
    a = _files(manifest, "corpus_same_person_folded")["participants"]
    assert (a["rows_in"], a["kept"], a["rejected"], a["merged"]) == (4, 2, 0, 2)   # Yıldız = YILDIZ, Œ = OE


def test_blank_rows_are_counted_apart_from_records(corpus_run):
    _, manifest, _ = corpus_run
    a = _files(manifest, "corpus_delimiter_only_rows")["participants"]
    assert a["blank_rows"] == 4 and a["rows_in"] == 4
    assert manifest["totals"]["blank_rows"] >= 4


def test_repeats_across_the_files_of_a_glob_are_merged_and_copies_named(corpus_run):
    run, manifest, _ = corpus_run
    files = {f["file"]: (f["rows_in"], f["kept"], f["rejected"], f["merged"])
             for f in manifest["landlords"]["corpus_sessions_glob"]["files"] if f["table"] == "sessions"}
    assert files == {"sessions.csv": (2, 2, 0, 0), "sessions_copy.csv": (2, 0, 0, 2),
                     "sessions_overlap.csv": (2, 1, 0, 1)}
    warning = ("corpus_sessions_glob: sessions_copy.csv is a byte-identical copy of sessions.csv (sessions); "
               "its rows are merged with that file's")
    assert manifest["warnings"] == [warning]
    assert f"warning: {warning}" in run.stdout


# --- shapes a mapping reads, through the same run --------------------------------------------------

def _case(processed: Path, table: str, case: str) -> pd.DataFrame:
    t = pd.read_parquet(processed / (table if table == "rent_accounts" else f"{table}.parquet"))
    return t[t["landlord"] == f"corpus_{case}"]


def _listed(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


def test_flags_from_a_ticked_column_and_from_category_columns(corpus_run):
    _, _, processed = corpus_run
    ticked = _case(processed, "participants", "ticked_flags").sort_values("birth_year")
    assert _listed(ticked["disability"]) == [True, False, None, True]      # X, blank, N/A, x
    flags = _case(processed, "participants", "category_flags").sort_values("birth_year")
    assert _listed(flags["single_parent"]) == [True, False, False]
    assert _listed(flags["no_qualification"]) == [True, False, None]        # "None" is a listed word: no qualification


def test_a_stage_column_is_the_funnel_s_source_when_dates_are_missing(corpus_run):
    from increase_eval import indicators

    _, _, processed = corpus_run
    p = _case(processed, "participants", "stage_column").sort_values("birth_year")
    assert _listed(p["recorded_stage"]) == ["training_started", "assessed", "training_completed"]
    assert p["training_start_date"].isna().all()
    assert indicators.funnel(p).set_index("stage")["people"].to_dict() == {
        "engaged": 3, "assessed": 3, "training_started": 2, "training_completed": 1, "outcome": 0}


def test_a_totals_and_a_notes_line_at_the_foot_of_an_excel_register_are_set_aside(corpus_run):
    _, manifest, processed = corpus_run
    account = _files(manifest, "corpus_totals_row")["participants"]
    assert (account["rows_in"], account["rejected"], account["blank_rows"]) == (5, 2, 1)
    rejects = _case(processed, "rejects", "totals_row").set_index("row")["value_shape"]
    assert rejects.to_dict() == {8: "AAAAA", 9: "Aaaaa: aa aa 99/99/9999"}     # never parsed as a record


def test_session_lengths_written_with_their_unit(corpus_run):
    _, manifest, processed = corpus_run
    s = _files(manifest, "corpus_durations_written")["sessions"]
    assert (s["rows_in"], s["kept"], s["rejected"], s["merged"]) == (7, 6, 1, 0)
    assert sorted(_case(processed, "sessions", "durations_written")["duration_minutes"]) == [45, 60, 90, 90, 90, 120]
    [reason] = _case(processed, "rejects", "durations_written")["reason"]
    assert reason.startswith("ambiguous duration")


def test_a_mapping_written_in_words_reads_its_files(corpus_run):
    """country GB, encoding utf8-bom, delimiter '\\t' in single quotes, decimal comma,
    date_formats ["dd/mm/yyyy"]: a tab-separated file with a byte order mark is read, and
    '12.50' in a file whose decimal mark is ',' is refused, never read as 1250."""
    _, manifest, processed = corpus_run
    files = _files(manifest, "corpus_mapping_words")
    p, s = files["participants"], files["sessions"]
    assert (p["rows_in"], p["kept"] + p["merged"], p["rejected"]) == (3, 3, 0)
    assert (s["rows_in"], s["kept"], s["rejected"], s["merged"]) == (3, 2, 1, 0)
    assert sorted(_case(processed, "sessions", "mapping_words")["duration_minutes"]) == [12.5, 45]
    rejects = _case(processed, "rejects", "mapping_words")
    assert rejects[["row", "column", "reason"]].values.tolist() == [
        [3, "Minutes", "uses '.' as decimal mark but the mapping says ','"]]


def test_a_rent_panel_without_a_tenancies_export_or_rent_due_mapped(corpus_run):
    _, manifest, processed = corpus_run
    panel = _files(manifest, "corpus_panel_no_tenancies")["rent_accounts"]
    assert (panel["rows_in"], panel["kept"], panel["rejected"], panel["merged"]) == (5, 4, 0, 1)
    assert panel["ignored_columns"] == ["Rent"]                 # in the file, not in the mapping
    rows = _case(processed, "rent_accounts", "panel_no_tenancies")
    assert len(rows) == 4 and rows["rent_due"].isna().all()
    tenancies = _case(processed, "tenancies", "panel_no_tenancies").sort_values("tenancy_start")
    [hood] = _case(processed, "neighbourhoods", "panel_no_tenancies")["neighbourhood_id"]
    assert _listed(tenancies["neighbourhood_id"]) == [hood, hood]
    assert _listed(tenancies["tenancy_end"].dt.strftime("%Y-%m-%d")) == [None, "2020-12-31"]
    assert tenancies["end_known"].all()
    assert not [w for w in manifest["warnings"] if "corpus_panel_no_tenancies" in w]


def test_still_trading_flags_at_6_and_12_months_without_dates(corpus_run):
    _, manifest, processed = corpus_run
    checks = _files(manifest, "corpus_trading_flags")["business_checks"]
    assert (checks["rows_in"], checks["kept"], checks["rejected"], checks["merged"]) == (3, 2, 1, 0)
    dated = _case(processed, "business_checks", "trading_flags").sort_values("check_date")
    assert list(zip(dated["check_date"].dt.strftime("%Y-%m-%d"), dated["trading"])) == [
        ("2019-12-01", True), ("2020-06-01", True), ("2020-09-01", True), ("2021-03-01", False)]
    assert len(_case(processed, "businesses", "trading_flags")) == 2
    [reason] = _case(processed, "rejects", "trading_flags")["reason"]
    assert reason.startswith("still-trading flag without a business creation")
