"""Each cleaning rule, against hand-written cases and, for the parsers, properties
checked over many generated values (hypothesis)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from increase_eval import normalise as nz

TOKENS = nz.Tokens(["", "n/a", "-", "?", "non renseigné"], ["#REF!", "#VALUE!"])


def series(*values):
    return pd.Series(list(values), dtype="string")


def test_fold_ignores_case_accents_spaces_and_punctuation():
    assert nz.fold("  Création d'Entreprise ") == nz.fold("creation d entreprise") == "creation d entreprise"
    assert nz.fold("Long-term  unemployed") == "long term unemployed"
    assert nz.fold("Jean–Marie") == nz.fold("Jean-Marie") == nz.fold("jean marie")


@pytest.mark.parametrize("a, b", [
    ("Yıldız", "YILDIZ"), ("İpek", "ipek"), ("Œuvray", "OEUVRAY"), ("Lætitia", "LAETITIA"), ("Strauß", "STRAUSS"),
    ("Søren", "SOREN"), ("Łukasz Wałęsa", "LUKASZ WALESA"), ("Đorđe", "DORDE"), ("Guðrún", "GUDRUN"),
    ("Þór", "THOR"), ("Ødegård", "odegard"), ("O’Brien", "O'BRIEN"),
])
def test_fold_maps_letters_without_decomposition_like_their_plain_spelling(a, b):
    assert nz.fold(a) == nz.fold(b)


@pytest.mark.parametrize("raw, expected", [
    ("03/08/1976", date(1976, 8, 3)),          # the mapping's format
    ("1976-08-03", date(1976, 8, 3)),          # ISO, as typed spreadsheet cells arrive
    ("1976-08-03 00:00:00", date(1976, 8, 3)),
    ("43831", date(2020, 1, 1)),               # Excel serial number (43831 is 1 Jan 2020)
    ("43900.0", date(2020, 3, 10)),
    ("43900.5", date(2020, 3, 10)),            # a serial with a time of day (noon): its date
    ("43902.604", date(2020, 3, 12)),
    ("12/03/2020 14:05", date(2020, 3, 12)),   # the mapping's format followed by a time
    ("12/03/2020 14:05:59", date(2020, 3, 12)),
    ("12/03/2020 2:05 PM", date(2020, 3, 12)),
    ("2020-03-12T14:05:00Z", date(2020, 3, 12)),        # ISO with a time zone: the date as written,
    ("2020-03-12T23:30:00+01:00", date(2020, 3, 12)),   # never converted to another day
    ("2020-03-12T23:30:00.250-0500", date(2020, 3, 12)),
    ("2020-03-12 14:05", date(2020, 3, 12)),
])
def test_dates_accept_mapping_format_iso_and_excel_serials(raw, expected):
    assert nz.parse_date(raw, ["%d/%m/%Y"]) == (expected, None)


@pytest.mark.parametrize("raw, reason", [
    ("31/02/2021", "not a date (expected dd/mm/yyyy)"),
    ("13/13/2020", "not a date (expected dd/mm/yyyy)"),
    ("hello", "not a date (expected dd/mm/yyyy)"),
    ("01/01/1850", "date outside 1900-2100"),
    ("12/03/2020 25:05", "not a date (expected dd/mm/yyyy)"),   # not a time of day
    ("12/03/2020 14:05 and more", "not a date (expected dd/mm/yyyy)"),
    ("2020-03-12T14:05:00+27:00", "not a date (expected dd/mm/yyyy)"),
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


def test_date_column_reads_times_of_day_on_the_fast_path_too():
    raw = series("12/03/2020", "12/03/2020 14:05", "2020-03-12T23:30:00+01:00", "43902.604", "31/02/2020 10:00", "")
    values, why = nz.dates(raw, ["%d/%m/%Y"], TOKENS)
    assert list(values.dt.strftime("%Y-%m-%d").fillna("NaT")) == ["2020-03-12"] * 4 + ["NaT", "NaT"]
    assert list(why) == [None] * 4 + ["not a date (expected dd/mm/yyyy)", None]
    months, why = nz.dates(series("03/2021", "2021-03-17 08:00"), ["%m/%Y"], TOKENS, month=True)
    assert list(months.dt.strftime("%Y-%m-%d")) == ["2021-03-01", "2021-03-01"] and why.isna().all()


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


@pytest.mark.parametrize("raw, decimal, reason", [
    ("1.234,56", ".", "uses ',' as decimal mark but the mapping says '.'"),
    ("12,5", ".", "uses ',' as decimal mark but the mapping says '.'"),      # never 125
    ("0,123", ".", "uses ',' as decimal mark but the mapping says '.'"),     # never 123
    ("1 234,56", ".", "uses ',' as decimal mark but the mapping says '.'"),
    ("12.50", ",", "uses '.' as decimal mark but the mapping says ','"),     # never 1250
    ("1,234.56", ",", "uses '.' as decimal mark but the mapping says ','"),
    ("0.5", ",", "uses '.' as decimal mark but the mapping says ','"),
    ("1,23,456", ".", "not a number"),
    ("(-5)", ".", "not a number"),
])
def test_a_number_shaped_for_the_other_decimal_mark_is_refused_not_reread(raw, decimal, reason):
    assert nz.number_rule(decimal)(raw) == (None, reason)


@pytest.mark.parametrize("raw, decimal, expected", [
    ("1,234.56", ".", 1234.56), ("1,234", ".", 1234.0), ("1 234.5", ".", 1234.5), ("1,234,567", ".", 1234567.0),
    ("1 234,56", ",", 1234.56), ("1.234,56", ",", 1234.56), ("1.234", ",", 1234.0), ("1e3", ".", 1000.0),
    ("\u22123,5", ",", -3.5),
])
def test_thousands_separators_that_fit_the_decimal_mark_are_read(raw, decimal, expected):
    assert nz.number_rule(decimal)(raw) == (expected, None)


def test_a_currency_sign_must_be_the_landlords_currency():
    gbp, eur = nz.number_rule(".", currency="GBP"), nz.number_rule(",", currency="EUR")
    assert gbp("£1,234.50") == (1234.5, None) and gbp("12.50 GBP") == (12.5, None)
    assert gbp("€12.50") == (None, "amount in EUR but the landlord's currency is GBP")
    assert eur("12,50 €") == (12.5, None)
    assert eur("£12,50") == (None, "amount in GBP but the landlord's currency is EUR")
    assert eur("€12,50 £") == (None, "amount with more than one currency")


def test_the_vectorised_path_follows_the_same_rules():
    values, why = nz.numbers(series("12,5", "1,234", "1,234.5", "12.5", "-3", "€4", "£4"), TOKENS, ".", currency="GBP")
    assert values.tolist()[1:5] == [1234.0, 1234.5, 12.5, -3.0] and values.tolist()[6] == 4.0
    assert why.tolist() == ["uses ',' as decimal mark but the mapping says '.'", None, None, None, None,
                            "amount in EUR but the landlord's currency is GBP", None]
    values, why = nz.numbers(series("12.50", "1.234,5", "1.234", "12,5"), TOKENS, ",")
    assert pd.isna(values[0]) and values.tolist()[1:] == [1234.5, 1234.0, 12.5]
    assert why.tolist() == ["uses '.' as decimal mark but the mapping says ','", None, None, None]


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


def test_control_characters_are_refused_never_kept_or_stripped():
    refs, why = nz.refs(series("AB\x0012", "AB12", "AB\x1b12", "A\u008512", "AB 12\t"), TOKENS)
    assert refs.isna().tolist() == [True, False, True, True, False]
    assert why.tolist() == ["contains a NUL byte", None, "contains a control character (U+001B)",
                            "contains a control character (U+0085)", None]
    for column in (nz.texts(series("Ann\x00"), TOKENS), nz.numbers(series("12\x00"), TOKENS),
                   nz.dates(series("01/02/2020\x00"), ["%d/%m/%Y"], TOKENS)):
        assert column[1].tolist() == ["contains a NUL byte"]


def test_names_that_are_missing_words_elsewhere_are_names():
    tokens = nz.Tokens(["", "na", "nan", "null", "none", "n/a", "-", "#n/a"], ["#REF!"])
    names = tokens.for_names()
    for word in ("Na", "Nan", "Null", "None", "NA", "n/a"):
        assert tokens.classify(word) == "missing" and names.classify(word) is None
    assert names.classify("  ") == names.classify("-") == "missing"   # nothing of a name once folded
    assert nz.name_rule(50)("Null") == ("Null", None)
    assert nz.name_rule(50)("?") == (None, "not a name (no letter)")
    assert names.classify("#REF!") == names.classify("#N/A") == "error"


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


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda x: round(x, 2)),
       st.sampled_from([".", ","]), st.sampled_from(["mark", " "]))
def test_any_number_with_thousands_separators_that_fit_the_mark_reads_back_and_never_with_the_other_mark(
        x, decimal, thousands):
    text = f"{x:,.2f}"                                    # 1,234,567.89
    if thousands == " ":
        text = text.replace(",", " ")
    if decimal == ",":
        text = text.translate(str.maketrans(",.", ".,"))  # 1.234.567,89
    value, problem = nz.number_rule(decimal)(text)
    assert problem is None and value == pytest.approx(x)
    other = "," if decimal == "." else "."
    value, problem = nz.number_rule(other)(text)          # read with the other mark: refused, or the same number
    assert (value is None and problem.startswith(f"uses '{decimal}' as decimal mark")) or value == pytest.approx(x)


@given(st.text(max_size=15))
def test_number_rule_never_raises(text):
    value, problem = nz.number_rule(",")(text)
    assert (value is None) != (problem is None)


@given(st.text(alphabet="abcdeilnorsuzıİøØłŁđĐæÆœŒßðÐþÞçÇéÉñÑüÜ -'", max_size=12))
def test_fold_is_the_same_whatever_the_case(name):
    assert nz.fold(name.upper()) == nz.fold(name.lower()) == nz.fold(name)


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


# --- the vectorised paths give what the per-value rules give ----------------------------------

_CELLS = st.sampled_from([
    "ABR-000123", "abr-000123", "AH-BAIL-000007", "a_b/c.d", "12", "12.0", "12.00", "0.", ".0", "-1.0", "N/A", "n.a",
    "n_a", "--", "-", "?", " x y ", "", " ", "#REF!", "NA", "null", "\x00", "é", "İ", "2020-03-12", "12/03/2020",
    "12/03/2020 14:05", "2020-03-12T23:30:00+01:00", "43902.604", "31/02/2020", "03/2020", "12,5", "1 234,56",
    "1.234,56", "(12.50)", "£12", "€4", "1,234", "1e5", " 2020-03-12 ", "non renseigné", "NON-RENSEIGNE"])
_COLUMNS = st.lists(_CELLS | st.none() | st.text(max_size=5), max_size=12)


def _column(cells, name=None):
    return pd.Series(cells, dtype="string", index=[5 + 2 * i for i in range(len(cells))], name=name)


def _same(a, b):
    pd.testing.assert_series_equal(a[0], b[0])
    pd.testing.assert_series_equal(a[1], b[1])


@settings(deadline=None)
@given(_COLUMNS)
def test_references_read_in_one_step_as_the_rule_reads_them_one_by_one(cells):
    column = _column(cells)
    parsed, why = nz.by_distinct(column, nz.ref_rule, TOKENS)
    _same(nz.refs(column, TOKENS), (parsed.astype("string"), why))


@settings(deadline=None)   # pandas' per-call overhead, on a shared machine
@given(_COLUMNS, st.sampled_from([".", ","]), st.booleans(), st.booleans(), st.sampled_from([None, "x"]))
def test_dates_and_numbers_per_distinct_value_are_those_of_every_cell(cells, decimal, integer, month, name):
    column = _column(cells, name)
    for formats in (["%d/%m/%Y"], ["%Y-%m-%d", "%d/%m/%Y"], ["%m/%Y"]):
        _same(nz.dates(column, formats, TOKENS, month), nz._dates(column, formats, TOKENS, month))
    for currency in ("GBP", None):
        _same(nz.numbers(column, TOKENS, decimal, integer, currency),
              nz._numbers(column, TOKENS, decimal, integer, currency))
