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
}


def _mapping(case: str, n: int, register: str) -> str:
    xlsx = register.endswith(".xlsx")
    formats = '["%d/%m/%Y", "%Y-%m-%d"]' if case == "mixed_dates" else '["%d/%m/%Y"]'
    return f"""id: corpus_{case}
name: Corpus {case}
country: UK
language: en
currency: GBP
neighbourhoods:
  - {{id: UK-C{n:02d}-01, name: Harbour, aliases: []}}
defaults: {{format: csv, encoding: utf-8, delimiter: ",", decimal: ".", date_formats: {formats},
           booleans: {{"true": [Y], "false": [N]}}}}
files:
  participants:
    path: {"participants.xlsx" if xlsx else "participants.csv"}
    {"format: xlsx" if xlsx else ""}
    {"header_row: auto" if xlsx else ""}
    {"sheet: Register" if xlsx else ""}
    columns: {COLUMNS}
  sessions:
    path: sessions.csv
    columns: {{participant_ref: Ref, session_date: Date, duration: Minutes}}
"""


def _landlord(conf: Path, raw: Path, case: str, n: int, register: str, sessions: str = "base_sessions.csv") -> None:
    (conf / "landlords" / f"corpus_{case}.yml").write_text(_mapping(case, n, register), encoding="utf-8")
    folder = raw / f"corpus_{case}"
    folder.mkdir(parents=True)
    shutil.copy(CORPUS / register, folder / ("participants.xlsx" if register.endswith(".xlsx") else "participants.csv"))
    shutil.copy(CORPUS / sessions, folder / "sessions.csv")


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
    _landlord(conf, raw, "negative_sessions", 90, "base_participants.csv", "negative_sessions.csv")
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
    assert sorted(e.split(":")[0].split()[-1] for e in manifest["errors"]) == sorted(f"corpus_{c}" for c in broken)


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
    assert all(en.reason(r) == r for r in reasons)
