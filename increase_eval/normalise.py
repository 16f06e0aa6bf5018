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
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_EPOCH = date(1899, 12, 30)
# Serial numbers Excel gives dates from 1927 to 2064: wide, yet no plausible count or
# amount in a date column is confused with it.
EXCEL_SERIAL_RANGE = (10_000, 60_000)
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)

_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_PUNCT = re.compile(r"[\s_\-'’‘ʼ`´‐‑‒–—.,;:/()&+]+")
# Letters that Unicode does not decompose into a base letter and an accent, folded the
# way people type them without the accent (after lower-casing): 'Yıldız' is 'YILDIZ',
# 'Œuvre' is 'oeuvre', 'Łukasz' is 'Lukasz'. ß is 'ss' through casefold.
_LETTERS = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
                          "ħ": "h", "ŧ": "t", "ĸ": "k", "ŀ": "l", "ſ": "s"})
# Control characters (C0 and C1, but tab and line breaks, which are spacing): a NUL byte
# or an escape code in a reference or a name is damage, never part of the value
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def fold(text: str) -> str:
    """Spelling-insensitive key: lower case, no accents (nor the letters that carry them
    without decomposing: ı, ø, ł, đ, æ, œ...), punctuation and spaces as one space."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _PUNCT.sub(" ", text.casefold().translate(_LETTERS)).strip()


def _any_control(values) -> bool:
    """Whether any of these strings holds a control character: one vectorised search, as
    a control character is rare (the per-value reason is then worked out value by value)."""
    try:
        array = pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return True
    return bool(len(array)) and bool(pc.any(pc.match_substring_regex(array, _CONTROL.pattern)).as_py())


def control_problem(text: str) -> str | None:
    """The reason a value holding a control character is refused, or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    code = ord(found.group())
    return "contains a NUL byte" if code == 0 else f"contains a control character (U+{code:04X})"


class Tokens:
    """The vocabulary shared by every rule: what counts as missing, as a spreadsheet error."""

    def __init__(self, missing: Iterable[str] = (), spreadsheet_errors: Iterable[str] = ()):
        missing = [str(t) for t in missing]
        self._spec = (tuple(missing), tuple(str(t) for t in spreadsheet_errors))
        self._names: Tokens | None = None
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

    def for_names(self) -> "Tokens":
        """The vocabulary for names: 'Na', 'Nan', 'Null', 'None' and 'NA' are surnames and
        first names, so only a blank cell is missing; a token that is a spreadsheet error
        ('#N/A') stays one."""
        if self._names is None:
            missing, errors = self._spec
            self._names = Tokens((), [*errors, *(t for t in missing if t.strip().startswith("#"))])
        return self._names


Parsed = tuple[object, str | None]


def by_distinct(values: pd.Series, rule: Callable[[str], Parsed], tokens: Tokens) -> tuple[pd.Series, pd.Series]:
    """Apply `rule` to each distinct raw value; return (parsed values, problem per row)."""
    codes, uniques = pd.factorize(values.astype("string").fillna(""), sort=False)
    parsed: list[object] = []
    problems: list[str | None] = []
    distinct = np.asarray(uniques, dtype=object)
    suspect = _any_control(uniques)
    for raw in distinct:
        damaged = control_problem(raw) if suspect else None
        kind = "damaged" if damaged else tokens.classify(raw)
        if kind == "damaged":
            parsed.append(None)
            problems.append(damaged)
        elif kind == "missing":
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

# A time of day after the date ('12/03/2020 14:05', ISO's 'T14:05:00Z' or '+01:00'): the
# date is read as written, with no time-zone conversion (23:30+01:00 stays that day).
_TIME = re.compile(r"(?:\s+|T)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?"
                   r"(?:\s*[AaPp]\.?[Mm]\.?)?\s*(?:Z|UTC|GMT|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$")
TIME_PATTERN = _TIME.pattern


def strip_time(text: str) -> str:
    return _TIME.sub("", text)


def _excel_serial(text: str) -> date | None:
    """An Excel serial number; a fraction is a time of day, and the date is its integer part."""
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None
    if not (EXCEL_SERIAL_RANGE[0] <= number < EXCEL_SERIAL_RANGE[1] + 1):
        return None
    return EXCEL_EPOCH + timedelta(days=int(number))


def parse_date(text: str, formats: Iterable[str]) -> Parsed:
    """A calendar date in one of the mapping's formats, ISO (as spreadsheets give
    typed cells), or an Excel serial number; a time of day after it is ignored."""
    return _parse_date(text, tuple(formats))


def _strptime(text: str, formats: list[str]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


@lru_cache(maxsize=1 << 16)   # the same dates recur across tables and files
def _parse_date(text: str, formats: tuple[str, ...]) -> Parsed:
    candidates = list(formats) + ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
    value = _strptime(text, candidates)
    if value is None:
        bare = strip_time(text)
        value = _strptime(bare, candidates) if bare != text else None
    if value is None:
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


def on_distinct(values: pd.Series, parse: Callable[[pd.Series], tuple[pd.Series, pd.Series]]):
    """parse(values), worked out on the distinct values only and spread back to the rows
    (one cell's result never depends on another's): a column of millions of cells holds
    a few thousand dates or amounts."""
    codes, uniques = pd.factorize(values.astype("string"), sort=False)
    distinct = pd.Series(uniques, dtype="string", name=values.name)
    distinct = pd.concat([distinct, pd.Series([pd.NA], dtype="string", name=values.name)], ignore_index=True)
    out, why = parse(distinct)
    take = np.where(codes < 0, len(distinct) - 1, codes)   # a missing cell: the last, missing, value
    return (pd.Series(out.array.take(take), index=values.index, name=out.name),
            pd.Series(why.to_numpy(dtype=object)[take], index=values.index, name=why.name, dtype=object))


def dates(values: pd.Series, formats: Iterable[str], tokens: Tokens, month: bool = False):
    """Vectorised for cells in one of the mapping's formats; the per-value rule (ISO,
    Excel serials, reasons for refusals) sees only the rest. Worked out per distinct value."""
    return on_distinct(values, lambda v: _dates(v, formats, tokens, month))


def _dates(values: pd.Series, formats: Iterable[str], tokens: Tokens, month: bool = False):
    formats = tuple(formats)
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = text.ne("").fillna(False).to_numpy()

    def fast(column: pd.Series) -> None:
        nonlocal todo
        for fmt in formats:
            if not todo.any():
                break
            got = pd.to_datetime(column[todo], format=fmt, errors="coerce")
            if month:
                got = got.dt.to_period("M").dt.to_timestamp()
            ok = got.notna() & got.between(pd.Timestamp(EARLIEST_DATE), pd.Timestamp(LATEST_DATE))
            out[ok[ok].index] = got[ok].astype("datetime64[ns]")
            todo &= ~out.notna().to_numpy()

    fast(text)
    if todo.any():
        # a time of day after the date: only the cells the formats refused are looked at
        timed = todo.copy()
        timed[todo] = text[todo].str.contains(":", regex=False).fillna(False).to_numpy()
        if timed.any():
            rest = text[timed]
            bare = rest.str.replace(TIME_PATTERN, "", regex=True)
            if (bare != rest).fillna(False).any():
                column = text.copy()
                column[timed] = bare.to_numpy()
                fast(column)
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


# Currency signs and codes an amount may carry; they must be the landlord's currency.
_CURRENCY_SIGNS = {"£": "GBP", "€": "EUR", "$": "USD"}
_CURRENCY = re.compile(r"[£€$]|(?<![A-Za-z])(?:GBP|EUR|USD)(?![A-Za-z])", re.IGNORECASE)
_MINUS = ("-", "\u2212")   # hyphen-minus, minus sign


def number_pattern(decimal: str) -> str:
    """A number written with `decimal` as its decimal mark, with or without thousands
    separators (the other mark, or spaces) in groups of three: the only shapes read. A
    first group never starts with 0 ('0,123' is a decimal, not 123)."""
    d = re.escape(decimal)
    groups = "|".join(rf"[1-9]\d{{0,2}}(?:{re.escape(sep)}\d{{3}})+" for sep in ("," if decimal == "." else ".", " "))
    return rf"(?:\d+|{groups})(?:{d}\d*)?|{d}\d+|\d+(?:{d}\d+)?[eE][+-]?\d+"


_SHAPES = {d: re.compile(number_pattern(d)) for d in ".,"}


def _read_number(body: str, decimal: str) -> float | None:
    if not _SHAPES[decimal].fullmatch(body):
        return None
    other = "," if decimal == "." else "."
    return float(body.replace(other, "").replace(" ", "").replace(decimal, "."))


def number_rule(decimal: str = ".", integer: bool = False, currency: str | None = None) -> Callable[[str], Parsed]:
    """A number as the mapping declares it: decimal mark `decimal`, thousands separators
    that fit it, a currency sign only if it is `currency` (when given), negative with a
    minus or in brackets. A number shaped for the other decimal mark ('1.234,56' in a '.'
    file, '12.50' in a ',' file) is refused with that reason, never read another way."""
    other = "," if decimal == "." else "."
    whole = "not a whole number" if integer else "not a number"

    def rule(text: str) -> Parsed:
        t = _SPACES.sub(" ", text).strip()
        signs = {_CURRENCY_SIGNS.get(m, m.upper()) for m in _CURRENCY.findall(t)}
        if signs:
            if len(signs) > 1:
                return None, "amount with more than one currency"
            [sign] = signs
            if currency and sign != currency:
                return None, f"amount in {sign} but the landlord's currency is {currency}"
            t = _CURRENCY.sub("", t).strip()
        negative = t.startswith("(") and t.endswith(")")
        if negative:
            t = t[1:-1].strip()
        if t[:1] in _MINUS or t[:1] == "+":
            if negative:   # '(-5)': brackets and a sign, read two ways
                return None, whole
            negative = t[:1] in _MINUS
            t = t[1:].strip()
        value = _read_number(t, decimal)
        if value is None:
            if _read_number(t, other) is not None:
                return None, f"uses '{other}' as decimal mark but the mapping says '{decimal}'"
            if t.casefold() in ("inf", "infinity", "nan"):
                return None, "not a finite number"
            return None, whole
        if not np.isfinite(value):
            return None, "not a finite number"
        value = -value if negative else value
        if integer:
            if value != int(value):
                return None, "not a whole number"
            return int(value), None
        return value + 0.0, None

    return rule


def fast_number_pattern(decimal: str) -> str:
    """The plain shapes most cells have (an optional minus, digits, thousands in the other
    mark, a decimal part), read without the per-value rule; anchored, for arrow too."""
    d = re.escape(decimal)
    sep = re.escape("," if decimal == "." else ".")
    return rf"^-?(?:\d+|[1-9]\d{{0,2}}(?:{sep}\d{{3}})+)(?:{d}\d+)?$"


def numbers(values: pd.Series, tokens: Tokens, decimal: str = ".", integer: bool = False,
            currency: str | None = None):
    """Vectorised for plain numbers (most cells of a rent panel); the per-value rule sees
    only what that cannot read: blanks, tokens, currency signs, brackets, spaces, junk,
    and numbers shaped for the other decimal mark. Worked out per distinct value."""
    return on_distinct(values, lambda v: _numbers(v, tokens, decimal, integer, currency))


def _numbers(values: pd.Series, tokens: Tokens, decimal: str = ".", integer: bool = False,
             currency: str | None = None):
    text = values.astype("string").str.strip()
    other = "," if decimal == "." else "."
    plain = text.where(text.str.fullmatch(fast_number_pattern(decimal)).fillna(False))
    plain = plain.str.replace(other, "", regex=False)
    if decimal == ",":
        plain = plain.str.replace(",", ".", regex=False)
    fast = pd.to_numeric(plain, errors="coerce").astype("Float64")
    if integer:
        fast = fast.where(fast.round() == fast)
    slow = fast.isna().to_numpy()
    dtype = "Int64" if integer else "Float64"
    out = fast.astype(dtype)
    why = np.full(len(values), None, dtype=object)
    if slow.any():
        parsed, slow_why = by_distinct(values[slow], number_rule(decimal, integer, currency), tokens)
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


def name_rule(max_length: int) -> Callable[[str], Parsed]:
    """A first or last name: text with at least one letter ('?' names nobody)."""
    text = text_rule(max_length)

    def rule(raw: str) -> Parsed:
        if not any(ch.isalpha() for ch in raw):
            return None, "not a name (no letter)"
        return text(raw)

    return rule


def names(values: pd.Series, tokens: Tokens, max_length: int = 200):
    """Names, with `tokens.for_names()`: 'Null' and 'Na' are people's names, not blanks."""
    parsed, why = by_distinct(values, name_rule(max_length), tokens.for_names())
    return parsed.astype("string"), why


def ref_rule(text: str) -> Parsed:
    """A reference (participant number, tenancy number): case and spaces do not matter,
    and a number that went through a spreadsheet loses its '.0'."""
    value = _SPACES.sub("", text).upper()
    if re.fullmatch(r"\d+\.0+", value):
        value = value.split(".")[0]
    return value, None


def refs(values: pd.Series, tokens: Tokens):
    """References (see ref_rule). Most are ASCII letters and digits with at most - _ . /
    between them ('ABR-000123'): as such a value has no space to remove and cannot be a
    spreadsheet error or hold a control character, the rule comes down to upper-casing,
    done in one vectorised step, unless it reads as a missing-value token once folded
    (lower case, that punctuation as spaces: 'N/A') or is a number with a '.0' ('12.0').
    The rest (spaces, other characters) go value by value."""
    codes, uniques = pd.factorize(values.astype("string").fillna(""), sort=False)
    distinct = pa.array(np.asarray(uniques, dtype=object), pa.string())
    folded = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(distinct), r"[_\-./]+", " "))
    plain = pc.and_(pc.and_(pc.match_substring_regex(distinct, r"^[0-9A-Za-z_\-./]+$"),
                            pc.invert(pc.match_substring_regex(distinct, r"^\d+\.0+$"))),
                    pc.invert(pc.is_in(folded, pa.array(sorted(tokens.missing), pa.string()))))
    plain = plain.to_numpy(zero_copy_only=False)
    parsed = np.asarray(pc.utf8_upper(distinct).to_numpy(zero_copy_only=False), dtype=object)
    why = np.full(len(parsed), None, dtype=object)
    slow = np.flatnonzero(~plain)
    if len(slow):
        rest = pd.Series(np.asarray(uniques, dtype=object)[slow], dtype="string")
        slow_parsed, slow_why = by_distinct(rest, ref_rule, tokens)
        parsed[slow] = slow_parsed.to_numpy(dtype=object)
        why[slow] = slow_why.to_numpy(dtype=object)
    take = np.asarray(codes)
    return (pd.Series(parsed[take], index=values.index, dtype="string"),
            pd.Series(why[take], index=values.index, dtype=object))


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


def duration_rule(unit: str = "minutes", decimal: str = ".", currency: str | None = None) -> Callable[[str], Parsed]:
    """A session length, in minutes. Plain numbers are in the mapping's unit (minutes or
    hours, with its decimal mark); a value that says its unit is read in it: `1h30`,
    `1 h 30`, `1h30min`, `90 min`, `90mn`, `2 heures`, `1,5 h`, and `h:mm[:ss]` as Excel
    shows a duration (`1:30`, `01:30:00`). Minutes past 59 after hours (`1h75`: 1 h 75
    min or 1.75 h?) and anything else are refused, never guessed."""
    patterns = _duration_patterns(decimal)
    forms = duration_forms(unit)
    per_unit = 60.0 if unit == "hours" else 1.0
    plain_number = number_rule(decimal, currency=currency)   # a number, by the rules of numbers

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
        value, why = plain_number(text)
        if why is None:                       # thousands separators that fit the mark
            return value * per_unit, None
        if why.startswith(("uses '", "amount in ")):   # the other decimal mark, another currency
            return None, why
        return None, f"not a duration (expected {forms})"

    return rule


def durations(values: pd.Series, tokens: Tokens, unit: str = "minutes", decimal: str = ".",
              currency: str | None = None):
    """Session lengths in minutes (see duration_rule), rule applied to distinct values."""
    parsed, why = by_distinct(values, duration_rule(unit, decimal, currency), tokens)
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
