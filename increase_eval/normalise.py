"""Cleaning rules: turn the text of one export cell into a canonical value.

Every rule takes a column of raw text and returns the parsed values with, for each row,
either no problem (None) or the reason the value was refused. A missing value (blank,
"N/A", "-", ...) is not a problem here; whether a field may be missing is the schema's
business. Rules work on the distinct values of a column, so their cost follows the
number of spellings, not the number of rows.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers Excel gives dates from 1927 to 2064: wide, yet no plausible count or
# amount in a date column is confused with it.
EXCEL_SERIAL_RANGE = (10_000, 60_000)
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)

_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_PUNCT = re.compile(r"[\s_\-'’.,;:/()&+]+")


def fold(text: str) -> str:
    """Spelling-insensitive key: lower case, no accents, punctuation and spaces as one space."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _PUNCT.sub(" ", text.casefold()).strip()


class Tokens:
    """The vocabulary shared by every rule: what counts as missing, as a spreadsheet error."""

    def __init__(self, missing: Iterable[str] = (), spreadsheet_errors: Iterable[str] = ()):
        missing = [str(t) for t in missing]
        self.missing = {fold(t) for t in missing} | {""}
        self.errors = {str(t).strip().casefold() for t in spreadsheet_errors}
        # folding is costly: skip it for values that cannot be a token (too long, or with
        # a digit when no token has one)
        self.longest = max((len(t) for t in missing), default=0) + 4
        self.digits = any(ch.isdigit() for t in missing for ch in t)

    def classify(self, raw: str) -> str | None:
        """'missing', 'error' or None for a real value."""
        stripped = raw.strip()
        if stripped.startswith("#") and stripped.casefold() in self.errors:
            return "error"
        if not stripped:
            return "missing"
        if len(stripped) > self.longest or (not self.digits and _DIGIT.search(stripped)):
            return None
        return "missing" if fold(stripped) in self.missing else None


Parsed = tuple[object, str | None]


def by_distinct(values: pd.Series, rule: Callable[[str], Parsed], tokens: Tokens) -> tuple[pd.Series, pd.Series]:
    """Apply `rule` to each distinct raw value; return (parsed values, problem per row)."""
    codes, uniques = pd.factorize(values.astype("string").fillna(""), sort=False)
    parsed: list[object] = []
    problems: list[str | None] = []
    for raw in np.asarray(uniques, dtype=object):
        kind = tokens.classify(raw)
        if kind == "missing":
            parsed.append(None)
            problems.append(None)
        elif kind == "error":
            parsed.append(None)
            problems.append(f"spreadsheet error value {raw.strip()}")
        else:
            value, problem = rule(raw.strip())
            parsed.append(None if problem else value)
            problems.append(problem)
    take = np.asarray(codes)
    out = pd.Series(parsed, dtype=object).take(take)
    out.index = values.index
    why = pd.Series(np.asarray(problems, dtype=object)[take] if len(problems) else [], index=values.index,
                    dtype=object)
    return out, why


# --- dates -----------------------------------------------------------------------------

def _excel_serial(text: str) -> date | None:
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None
    if not (EXCEL_SERIAL_RANGE[0] <= number <= EXCEL_SERIAL_RANGE[1]) or number != int(number):
        return None
    return EXCEL_EPOCH + timedelta(days=int(number))


def parse_date(text: str, formats: Iterable[str]) -> Parsed:
    """A calendar date in one of the mapping's formats, ISO (as spreadsheets give
    typed cells), or an Excel serial number."""
    return _parse_date(text, tuple(formats))


@lru_cache(maxsize=1 << 16)   # the same dates recur across tables and files
def _parse_date(text: str, formats: tuple[str, ...]) -> Parsed:
    candidates = list(formats) + ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
    for fmt in candidates:
        try:
            value = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        break
    else:
        value = _excel_serial(text)
        if value is None:
            shown = " or ".join(dict.fromkeys(_human_format(f) for f in candidates[: len(list(formats)) or 1]))
            return None, f"not a date (expected {shown})"
    if not (EARLIEST_DATE <= value <= LATEST_DATE):
        # the value stays out of the reason: reasons are counted in reports, and this one
        # may be a birth date (the value itself goes to the rejects, unless an identifier)
        return None, "date outside 1900-2100"
    return value, None


def parse_month(text: str, formats: Iterable[str]) -> Parsed:
    """A calendar month, returned as its first day; full dates are accepted too."""
    formats = list(formats)
    for fmt in formats + ["%Y-%m", "%m/%Y"]:
        try:
            return datetime.strptime(text, fmt).date().replace(day=1), None
        except ValueError:
            continue
    value, problem = parse_date(text, [])
    if problem:
        return None, f"not a month (expected {' or '.join(_human_format(f) for f in formats or ['%Y-%m'])})"
    return value.replace(day=1), None


def _human_format(fmt: str) -> str:
    return (fmt.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy").replace("%H", "hh")
            .replace("%M", "mi").replace("%S", "ss"))


def dates(values: pd.Series, formats: Iterable[str], tokens: Tokens, month: bool = False):
    """Vectorised for cells in one of the mapping's formats; the per-value rule (ISO,
    Excel serials, reasons for refusals) sees only the rest."""
    formats = tuple(formats)
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = text.ne("").fillna(False).to_numpy()
    for fmt in formats:
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        if month:
            got = got.dt.to_period("M").dt.to_timestamp()
        ok = got.notna() & got.between(pd.Timestamp(EARLIEST_DATE), pd.Timestamp(LATEST_DATE))
        out[ok[ok].index] = got[ok].astype("datetime64[ns]")
        todo &= ~out.notna().to_numpy()
    why = np.full(len(values), None, dtype=object)
    if todo.any():
        rule = (lambda t: parse_month(t, formats)) if month else (lambda t: parse_date(t, formats))
        parsed, slow_why = by_distinct(values[todo], rule, tokens)
        out[todo] = pd.to_datetime(parsed.astype(object), errors="raise").astype("datetime64[ns]").to_numpy()
        why[todo] = slow_why.to_numpy(dtype=object)
    return out, pd.Series(why, index=values.index, dtype=object)


# --- booleans, categories, numbers, text --------------------------------------------------

def boolean_rule(words: Mapping[str, Iterable[str]]) -> Callable[[str], Parsed]:
    lookup: dict[str, bool] = {}
    for key, spellings in words.items():
        flag = str(key).lower() == "true"
        for s in spellings:
            lookup[fold(s)] = flag
    expected = ", ".join(sorted({*words.get("true", ())[:1], *words.get("false", ())[:1]})) or "yes/no"

    def rule(text: str) -> Parsed:
        key = fold(text)
        if key in lookup:
            return lookup[key], None
        return None, f"not a yes/no value (expected {expected})"

    return rule


def booleans(values: pd.Series, words: Mapping[str, Iterable[str]], tokens: Tokens):
    parsed, why = by_distinct(values, boolean_rule(words), tokens)
    return parsed.astype("boolean"), why


def category_rule(spellings: Mapping[str, Iterable[str]]) -> Callable[[str], Parsed]:
    """`spellings`: canonical value -> known spellings (the canonical value counts too)."""
    lookup: dict[str, str] = {}
    for canonical, variants in spellings.items():
        for s in (canonical, *variants):
            lookup.setdefault(fold(s), canonical)
    allowed = ", ".join(str(c) for c in spellings)

    def rule(text: str) -> Parsed:
        key = fold(text)
        if key in lookup:
            return lookup[key], None
        return None, f"unknown category (expected one of: {allowed})"

    return rule


def categories(values: pd.Series, spellings: Mapping[str, Iterable[str]], tokens: Tokens):
    parsed, why = by_distinct(values, category_rule(spellings), tokens)
    return parsed.astype("string"), why


_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f£€$]")


def number_rule(decimal: str = ".", integer: bool = False) -> Callable[[str], Parsed]:
    def rule(text: str) -> Parsed:
        t = _NUMBER_JUNK.sub("", text)
        negative = t.startswith("(") and t.endswith(")")
        t = t.strip("()")
        if decimal == ",":
            t = t.replace(".", "").replace(",", ".")
        else:
            t = t.replace(",", "")
        try:
            value = float(t)
        except ValueError:
            return None, "not a number" if not integer else "not a whole number"
        if not np.isfinite(value):
            return None, "not a finite number"
        value = -value if negative else value
        if integer:
            if value != int(value):
                return None, "not a whole number"
            return int(value), None
        return value, None

    return rule


def numbers(values: pd.Series, tokens: Tokens, decimal: str = ".", integer: bool = False):
    """Vectorised for plain numbers (most cells of a rent panel); the per-value rule sees
    only what that cannot read: blanks, tokens, currency signs, brackets, junk."""
    text = values.astype("string").str.strip()
    plain = (text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False) if decimal == ","
             else text.str.replace(",", "", regex=False))
    fast = pd.to_numeric(plain.where(plain.str.fullmatch(r"-?\d+(\.\d+)?")), errors="coerce").astype("Float64")
    if integer:
        fast = fast.where(fast.round() == fast)
    slow = fast.isna().to_numpy()
    dtype = "Int64" if integer else "Float64"
    out = fast.astype(dtype)
    why = np.full(len(values), None, dtype=object)
    if slow.any():
        parsed, slow_why = by_distinct(values[slow], number_rule(decimal, integer), tokens)
        out[slow] = parsed.astype(dtype)
        why[slow] = slow_why.to_numpy(dtype=object)
    return out, pd.Series(why, index=values.index, dtype=object)


def text_rule(max_length: int) -> Callable[[str], Parsed]:
    def rule(text: str) -> Parsed:
        value = _SPACES.sub(" ", text).strip()
        if len(value) > max_length:
            value = value[: max_length - 1] + "…"
        return value, None

    return rule


def texts(values: pd.Series, tokens: Tokens, max_length: int = 200):
    parsed, why = by_distinct(values, text_rule(max_length), tokens)
    return parsed.astype("string"), why


def ref_rule(text: str) -> Parsed:
    """A reference (participant number, tenancy number): case and spaces do not matter,
    and a number that went through a spreadsheet loses its '.0'."""
    value = _SPACES.sub("", text).upper()
    if re.fullmatch(r"\d+\.0+", value):
        value = value.split(".")[0]
    return value, None


def refs(values: pd.Series, tokens: Tokens):
    parsed, why = by_distinct(values, ref_rule, tokens)
    return parsed.astype("string"), why


# --- durations ------------------------------------------------------------------------------

_HOUR_WORDS = r"h|hr|hrs|hour|hours|heure|heures"
_MINUTE_WORDS = r"m|mn|min|mins|minute|minutes"


def _duration_patterns(decimal: str) -> tuple[re.Pattern, ...]:
    number = r"\d+(?:" + re.escape(decimal) + r"\d+)?"
    return (
        re.compile(rf"(?P<number>-?{number})"),                                            # 90, 1,5
        re.compile(rf"(?P<hours>{number})\s*(?:{_HOUR_WORDS})\.?"),                        # 2 h, 1,5 heures
        re.compile(rf"(?P<minutes>{number})\s*(?:{_MINUTE_WORDS})\.?"),                    # 90 min, 90mn
        re.compile(rf"(?P<h>\d+)\s*(?:{_HOUR_WORDS})\s*(?P<m>\d+)\s*(?:{_MINUTE_WORDS})?\.?"),  # 1h30, 1 h 30 min
        re.compile(r"(?P<ch>\d+):(?P<cm>\d\d)(?::(?P<cs>\d\d))?"),                        # 1:30, 01:30:00
    )


def duration_forms(unit: str) -> str:
    """The accepted forms, as a reject reason lists them."""
    return f"a number of {unit}, 1h30, 1 h 30, 90 min, 2 heures, 1:30 or 01:30:00"


def duration_rule(unit: str = "minutes", decimal: str = ".") -> Callable[[str], Parsed]:
    """A session length, in minutes. Plain numbers are in the mapping's unit (minutes or
    hours, with its decimal mark); a value that says its unit is read in it: `1h30`,
    `1 h 30`, `1h30min`, `90 min`, `90mn`, `2 heures`, `1,5 h`, and `h:mm[:ss]` as Excel
    shows a duration (`1:30`, `01:30:00`). Minutes past 59 after hours (`1h75`: 1 h 75
    min or 1.75 h?) and anything else are refused, never guessed."""
    patterns = _duration_patterns(decimal)
    forms = duration_forms(unit)
    per_unit = 60.0 if unit == "hours" else 1.0

    def number(text: str) -> float:
        return float(text.replace(decimal, "."))

    def rule(text: str) -> Parsed:
        t = _SPACES.sub(" ", text.casefold()).strip()
        plain, hours, minutes, hm, clock = (p.fullmatch(t) for p in patterns)
        if plain:
            return number(plain["number"]) * per_unit, None
        if hours:
            return number(hours["hours"]) * 60, None
        if minutes:
            return number(minutes["minutes"]), None
        parts = hm or clock
        if parts:
            h, m = (parts["h"], parts["m"]) if hm else (parts["ch"], parts["cm"])
            s = 0 if hm or parts["cs"] is None else int(parts["cs"])
            if int(m) > 59 or s > 59:
                return None, f"ambiguous duration (expected {forms}, with minutes and seconds below 60)"
            return int(h) * 60 + int(m) + s / 60, None
        return None, f"not a duration (expected {forms})"

    return rule


def durations(values: pd.Series, tokens: Tokens, unit: str = "minutes", decimal: str = "."):
    """Session lengths in minutes (see duration_rule), rule applied to distinct values."""
    parsed, why = by_distinct(values, duration_rule(unit, decimal), tokens)
    return parsed.astype("Float64"), why


# --- yes/no fields read from a category column ---------------------------------------------------

def flag_rule(words: Mapping[str, Iterable[str]], field: str) -> Callable[[str], Parsed]:
    """A yes/no field derived from a category column (`vocab: {single_parent: {"true":
    [Lone parent], "false": [Couple, Single]}}`): the words listed, and only them."""
    lookup: dict[str, bool] = {}
    for key in ("true", "false"):
        for w in words.get(key, ()):
            lookup.setdefault(fold(w), key == "true")
    allowed = ", ".join(str(w) for key in ("true", "false") for w in words.get(key, ()))

    def rule(text: str) -> Parsed:
        key = fold(text)
        if key in lookup:
            return lookup[key], None
        return None, f"not a known value for {field} (expected one of: {allowed})"

    return rule


def flags(values: pd.Series, words: Mapping[str, Iterable[str]], field: str, tokens: Tokens):
    """`flag_rule` on distinct values. A word the mapping lists is a value even when it is
    also a missing-value token ("None" as a qualification level means no qualification)."""
    listed = {fold(w) for key in ("true", "false") for w in words.get(key, ())}
    if listed & tokens.missing:
        tokens = copy.copy(tokens)
        tokens.missing = tokens.missing - listed
    parsed, why = by_distinct(values, flag_rule(words, field), tokens)
    return parsed.astype("boolean"), why


def blank(values: pd.Series) -> pd.Series:
    """Truly blank cells (empty or spaces only), as `blank_is_false` reads them: a
    missing-value token such as N/A is not blank."""
    return values.astype("string").fillna("").str.strip().eq("").astype(bool)
