"""Each cleaning rule, against hand-written cases and, for the parsers, properties
checked over many generated values (hypothesis)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from increase_eval import normalise as nz

TOKENS = nz.Tokens(["", "n/a", "-", "?", "non renseigné"], ["#REF!", "#VALUE!"])


def series(*values):
    return pd.Series(list(values), dtype="string")


def test_fold_ignores_case_accents_spaces_and_punctuation():
    assert nz.fold("  Création d'Entreprise ") == nz.fold("creation d entreprise") == "creation d entreprise"
    assert nz.fold("Long-term  unemployed") == "long term unemployed"


@pytest.mark.parametrize("raw, expected", [
    ("03/08/1976", date(1976, 8, 3)),          # the mapping's format
    ("1976-08-03", date(1976, 8, 3)),          # ISO, as typed spreadsheet cells arrive
    ("1976-08-03 00:00:00", date(1976, 8, 3)),
    ("43831", date(2020, 1, 1)),               # Excel serial number (43831 is 1 Jan 2020)
    ("43900.0", date(2020, 3, 10)),
])
def test_dates_accept_mapping_format_iso_and_excel_serials(raw, expected):
    assert nz.parse_date(raw, ["%d/%m/%Y"]) == (expected, None)


@pytest.mark.parametrize("raw, reason", [
    ("31/02/2021", "not a date (expected dd/mm/yyyy)"),
    ("13/13/2020", "not a date (expected dd/mm/yyyy)"),
    ("hello", "not a date (expected dd/mm/yyyy)"),
    ("01/01/1850", "date outside 1900-2100"),
    ("43900.5", "not a date (expected dd/mm/yyyy)"),   # a fraction is not a day
])
def test_dates_refuse_impossible_values_with_a_reason(raw, reason):
    assert nz.parse_date(raw, ["%d/%m/%Y"]) == (None, reason)


def test_months_are_first_days():
    assert nz.parse_month("03/2021", ["%m/%Y"]) == (date(2021, 3, 1), None)
    assert nz.parse_month("2021-03", ["%m/%Y"]) == (date(2021, 3, 1), None)
    assert nz.parse_month("2021-03-17", ["%m/%Y"]) == (date(2021, 3, 1), None)
    assert nz.parse_month("March", ["%m/%Y"])[1] == "not a month (expected mm/yyyy)"


def test_date_column_keeps_missing_apart_from_invalid():
    values, why = nz.dates(series("01/02/2020", "", "N/A", "#REF!", "30/02/2020", "01/02/2020"), ["%d/%m/%Y"], TOKENS)
    assert list(values.dt.strftime("%Y-%m-%d").fillna("NaT")) == ["2020-02-01", "NaT", "NaT", "NaT", "NaT",
                                                                    "2020-02-01"]
    assert list(why) == [None, None, None, "spreadsheet error value #REF!", "not a date (expected dd/mm/yyyy)", None]


@pytest.mark.parametrize("raw, expected", [("Oui", True), ("non", False), ("Y", True), ("n", False), ("1", True),
                                           ("0", False), ("VRAI", True), ("Faux", False), (" yes ", True)])
def test_booleans(raw, expected):
    rule = nz.boolean_rule({"true": ["yes", "y", "oui", "1", "vrai"], "false": ["no", "n", "non", "0", "faux"]})
    assert rule(raw.strip()) == (expected, None)


def test_boolean_refuses_unknown_words():
    rule = nz.boolean_rule({"true": ["Oui"], "false": ["Non"]})
    assert rule("Peut-être") == (None, "not a yes/no value (expected Non, Oui)")


def test_categories_match_known_spellings_only():
    rule = nz.category_rule({"long_term_unemployed": ["Demandeur d'emploi longue durée", "LTU"],
                             "unemployed": ["Demandeur d'emploi"]})
    assert rule("DEMANDEUR D'EMPLOI LONGUE DUREE") == ("long_term_unemployed", None)
    assert rule("demandeur d emploi") == ("unemployed", None)
    assert rule("ltu") == ("long_term_unemployed", None)
    assert rule("long_term_unemployed") == ("long_term_unemployed", None)
    assert rule("retraité") == (None, "unknown category (expected one of: long_term_unemployed, unemployed)")


@pytest.mark.parametrize("raw, decimal, expected", [
    ("1 234,50", ",", 1234.5), ("1.234,5", ",", 1234.5), ("-12,25", ",", -12.25), ("£1,234.50", ".", 1234.5),
    ("(12.50)", ".", -12.5), ("1\u202f000", ",", 1000.0), ("0", ".", 0.0), ("1,5", ",", 1.5),
])
def test_numbers(raw, decimal, expected):
    assert nz.number_rule(decimal)(raw) == (expected, None)


def test_numbers_refuse_text_and_fractions_of_whole_numbers():
    assert nz.number_rule(".")("abc") == (None, "not a number")
    assert nz.number_rule(".")("1h30") == (None, "not a number")
    assert nz.number_rule(".", integer=True)("3.5") == (None, "not a whole number")
    assert nz.number_rule(".", integer=True)("3.0") == (3, None)
    assert nz.number_rule(".")("inf") == (None, "not a finite number")


def test_missing_tokens_are_missing_but_negative_numbers_are_not():
    values, why = nz.numbers(series("-", "-5", "?", "non renseigné", "#VALUE!"), TOKENS)
    assert values.isna().tolist() == [True, False, True, True, True]
    assert values[1] == -5
    assert why.tolist() == [None, None, None, None, "spreadsheet error value #VALUE!"]


def test_text_is_trimmed_and_capped():
    assert nz.text_rule(10)("  Coach \t  A ") == ("Coach A", None)
    value, problem = nz.text_rule(10)("x" * 50)
    assert problem is None and len(value) == 10 and value.endswith("…")


def test_references_ignore_case_spaces_and_spreadsheet_decimals():
    assert nz.ref_rule(" sh-000123 ") == ("SH-000123", None)
    assert nz.ref_rule("12345.0") == ("12345", None)
    assert nz.ref_rule("0012345") == ("0012345", None)   # leading zeros are part of a reference


# --- properties ----------------------------------------------------------------------------

dates_ = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(dates_, st.sampled_from(["%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%Y%m%d"]))
def test_any_date_written_in_the_mapping_format_reads_back(d, fmt):
    assert nz.parse_date(d.strftime(fmt), [fmt]) == (d, None)


@given(dates_)
def test_any_excel_serial_in_range_reads_back(d):
    serial = (d - nz.EXCEL_EPOCH).days
    if nz.EXCEL_SERIAL_RANGE[0] <= serial <= nz.EXCEL_SERIAL_RANGE[1]:
        assert nz.parse_date(str(serial), ["%d/%m/%Y"]) == (d, None)


@given(st.text(max_size=12))
def test_date_rule_never_raises(text):
    value, problem = nz.parse_date(text.strip(), ["%d/%m/%Y"])
    assert (value is None) != (problem is None)


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).map(lambda x: round(x, 2)),
       st.sampled_from([".", ","]))
def test_any_number_written_with_the_mapping_decimal_reads_back(x, decimal):
    text = f"{x:.2f}"
    if decimal == ",":
        text = text.replace(".", ",")
    value, problem = nz.number_rule(decimal)(text)
    assert problem is None and value == pytest.approx(x)


@given(st.text(max_size=15))
def test_number_rule_never_raises(text):
    value, problem = nz.number_rule(",")(text)
    assert (value is None) != (problem is None)


SPELLINGS = {"F": ["Femme", "female"], "M": ["Homme", "male"]}


@given(st.sampled_from(["Femme", "female", "Homme", "male", "F", "M"]),
       st.sampled_from([str.upper, str.lower, str.title, lambda s: f"  {s} "]))
def test_any_case_or_spacing_of_a_known_spelling_is_recognised(word, change):
    expected = "F" if word in ("Femme", "female", "F") else "M"
    assert nz.category_rule(SPELLINGS)(change(word).strip()) == (expected, None)


@given(st.text(max_size=10))
def test_category_and_boolean_rules_never_raise(text):
    for rule in (nz.category_rule(SPELLINGS), nz.boolean_rule({"true": ["Oui"], "false": ["Non"]})):
        value, problem = rule(text)
        assert (value is None) != (problem is None)
