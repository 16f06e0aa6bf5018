"""The mapping language: what a landlord's mapping file (config/landlords/<id>.yml) may
say, validated with pydantic before any export is read.

Every key has a type, a default and a description; `reference()` turns them into
docs/mapping.md (a test keeps the two equal: `python -m increase_eval.mapping` rewrites
it). A mistake gives one line per problem naming the file, the key path and what is
allowed, never a traceback: an unknown key (`curency:`), an unknown field (`sexe:`), an
encoding Python does not know, a delimiter written `'\\t'`, a date format in words
(`dd/mm/yyyy` is accepted and translated; what cannot be translated is explained), a
decimal mark in words, a country code.
"""

from __future__ import annotations

import codecs
import difflib
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, create_model,
                      field_validator, model_validator)

from .schema import FIELDS

TABLES = tuple(FIELDS)
OPTIONAL_TABLES = tuple(t for t in TABLES if t != "participants")


# --- values written in words ------------------------------------------------------------------

ENCODING_WORDS = {"utf8bom": "utf-8-sig", "utf8withbom": "utf-8-sig", "utf8sig": "utf-8-sig", "ansi": "cp1252",
                  "windows": "cp1252", "excel": "cp1252", "latin": "latin-1", "iso88591": "latin-1",
                  "iso885915": "iso8859-15", "unicode": "utf-8"}
DELIMITER_WORDS = {"tab": "\t", "tabulation": "\t", "\\t": "\t", "semicolon": ";", "pointvirgule": ";",
                   "comma": ",", "virgule": ",", "pipe": "|", "space": " ", "espace": " "}
DECIMAL_WORDS = {"comma": ",", "virgule": ",", "point": ".", "dot": ".", "period": ".", "fullstop": "."}
COUNTRY_WORDS = {"uk": "UK", "gb": "UK", "gbr": "UK", "england": "UK", "unitedkingdom": "UK", "greatbritain": "UK",
                 "royaumeuni": "UK", "angleterre": "UK", "fr": "FR", "fra": "FR", "france": "FR"}
COUNTRY_CURRENCY = {"UK": "GBP", "FR": "EUR"}
COUNTRY_LANGUAGE = {"UK": "en", "FR": "fr"}
CURRENCY_WORDS = {"gbp": "GBP", "£": "GBP", "pound": "GBP", "pounds": "GBP", "sterling": "GBP", "eur": "EUR",
                  "€": "EUR", "euro": "EUR", "euros": "EUR"}
# Date notation in words -> strftime. Longest first, so that `yyyy` is read before `yy`.
DATE_WORDS = [("yyyy", "%Y"), ("aaaa", "%Y"), ("yy", "%y"), ("aa", "%y"), ("dd", "%d"), ("jj", "%d"),
              ("mmmm", "%B"), ("mmm", "%b"), ("mm", "%m"), ("hh", "%H"), ("mi", "%M"), ("ss", "%S")]
_DATE_WORD = re.compile("|".join(w for w, _ in DATE_WORDS), re.I)


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(text).casefold())


def _allowed(words: dict[str, str]) -> str:
    return ", ".join(sorted({repr(v) for v in words.values()}))


def date_format(text: str, month: bool = False) -> str:
    """A date format as strftime: `%d/%m/%Y` as given, or `dd/mm/yyyy` (`jj/mm/aaaa`)
    translated. Raises ValueError saying what to write."""
    text = str(text).strip()
    if "%" not in text:
        if not _DATE_WORD.search(text):
            raise ValueError(f"'{text}' is not a date format; write it with dd, mm, yyyy (e.g. dd/mm/yyyy) or in "
                             "strftime notation (e.g. %d/%m/%Y)")
        words = dict(DATE_WORDS)
        # after hours, mm is minutes (hh:mm), elsewhere a month
        out = re.sub(r"(?i)(hh\W?)mm", r"\1mi", text)
        out = _DATE_WORD.sub(lambda m: words[m.group(0).lower()], out)
        if re.search(r"[a-zA-Z]", re.sub(r"%[a-zA-Z]", "", out)):
            raise ValueError(f"'{text}' has letters that are not date parts; use dd (day), mm (month), "
                             "yyyy or yy (year), mmm (month name), hh, mi, ss (time)")
        text = out
    directives = set(re.findall(r"%(.)", text))
    unknown = directives - set("dmYybBHMSIpjaAzf%")
    if unknown:
        raise ValueError(f"'{text}' uses {', '.join('%' + u for u in sorted(unknown))}, not a date directive; "
                         "use %d, %m, %Y, %y, %b (or dd, mm, yyyy)")
    need = {"m", "Y"} if month else {"d", "m", "Y"}
    has = {("Y" if d in "Yy" else "m" if d in "mbB" else d) for d in directives}
    missing = need - has
    if missing:
        parts = {"d": "day (dd)", "m": "month (mm)", "Y": "year (yyyy)"}
        raise ValueError(f"'{text}' has no {' and no '.join(parts[m] for m in sorted(missing))}")
    try:   # a format Python cannot round-trip is not one
        datetime.strptime(datetime(2021, 11, 23, 14, 5, 6).strftime(text), text)
    except (ValueError, re.error) as exc:
        raise ValueError(f"'{text}' is not a usable date format ({exc})") from None
    return text


# --- the models --------------------------------------------------------------------------------

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cost(Strict):
    """What the programme cost this landlord, in its own currency."""

    total: float = Field(gt=0, description="the landlord's budget for the programme (all funders), in its currency",
                         json_schema_extra={"example": 1339000})
    erdf: float | None = Field(None, ge=0, description="of which EU (ERDF) money; the rest is the landlord's own "
                               "contribution (match funding). Leave out if not known",
                               json_schema_extra={"example": 924000})
    currency: str | None = Field(None, description="must be the landlord's currency when given (amounts are "
                                 "never converted silently)", json_schema_extra={"example": "EUR"})
    price_year: int | None = Field(None, ge=2000, le=2100, description="the year whose prices the amounts are in "
                                   "(default: the values table's price year for this currency)",
                                   json_schema_extra={"example": 2020})
    source: str = Field(description="where the figure comes from (a budget line, a grant agreement)",
                        json_schema_extra={"example": "Partner budget, grant agreement annex 2"})
    assumption: bool = Field(False, description="true when the figure is an estimate to replace with the "
                             "actual budget", json_schema_extra={"example": False})

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v):
        return None if v is None else CURRENCY_WORDS.get(str(v).strip().casefold(), str(v).strip().upper())

    @model_validator(mode="after")
    def _erdf_within_total(self):
        if self.erdf is not None and self.erdf > self.total:
            raise ValueError(f"erdf ({self.erdf:g}) is more than total ({self.total:g}): erdf is the part of the "
                             "total paid by the EU")
        return self


class Neighbourhood(Strict):
    """A neighbourhood the landlord serves, with the spellings its exports use."""

    id: str = Field(description="a short stable id, unique in the programme (e.g. FR-PC-01); an id of "
                    "config/neighbourhoods.yml names a place shared with other landlords",
                    json_schema_extra={"example": "FR-PC-01"})
    name: str | None = Field(None, description="the name readers see; taken from config/neighbourhoods.yml "
                             "when the id is there", json_schema_extra={"example": "Calais - Beau-Marais"})
    aliases: list[str] = Field(default_factory=list, description="other spellings found in the exports",
                               json_schema_extra={"example": ["Beau Marais"]})

    @field_validator("id", "name", mode="before")
    @classmethod
    def _text(cls, v):
        return None if v is None else str(v).strip()

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, v):
        return [] if v is None else [str(a) for a in (v if isinstance(v, list) else [v])]


def _words(v) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in (v if isinstance(v, (list, tuple)) else [v])]


def _vocab_words(v) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(isinstance(x, dict) for x in v.values()):
        raise ValueError("expected vocabulary: {category: [spellings]}")
    # YAML reads an unquoted `true:` as a boolean
    return {str(name): {({True: "true", False: "false"}.get(c, str(c))): _words(s) for c, s in cats.items()}
            for name, cats in v.items()}


class FileOptions(Strict):
    """How one export file is read. Every option may also be given under `defaults:`."""

    format: Literal["csv", "xlsx"] | None = Field(
        None, description="csv or xlsx (default: from the file name's extension, csv otherwise)",
        json_schema_extra={"example": "xlsx"})
    encoding: str = Field("utf-8", description="text encoding of a CSV file: utf-8, utf-8-sig (UTF-8 with a "
                          "byte-order mark; also written utf8-bom), cp1252 (Windows, 'ANSI'), latin-1, ... any "
                          "encoding Python knows", json_schema_extra={"example": "cp1252"})
    delimiter: str = Field(",", description="the one character between fields of a CSV file; also written tab, "
                           "'\\t', semicolon, comma, pipe", json_schema_extra={"example": ";"})
    decimal: Literal[".", ","] = Field(".", description="decimal mark of numbers: '.' or ',' (also written point, "
                                       "comma, virgule). A number written with the other mark is rejected, "
                                       "never reinterpreted", json_schema_extra={"example": ","})
    date_formats: list[str] = Field(["%Y-%m-%d"], description="formats of the dates, tried in order, in "
                                    "strftime notation (%d/%m/%Y) or in words (dd/mm/yyyy, jj/mm/aaaa). ISO dates "
                                    "and Excel serial numbers are always accepted as well",
                                    json_schema_extra={"example": ["dd/mm/yyyy"]})
    month_formats: list[str] = Field(["%Y-%m"], description="formats of calendar months (rent panel, ambassador "
                                     "months), like date_formats (mm/yyyy, %Y-%m)",
                                     json_schema_extra={"example": ["mm/yyyy"]})
    booleans: dict[Literal["true", "false"], list[str]] = Field(
        default_factory=dict, description="this file's words for yes and no, added to the common ones of "
        "config/vocabularies.yml", json_schema_extra={"example": {"true": ["Oui"], "false": ["Non"]}})
    header_row: int | Literal["auto"] = Field(1, description="row (from 1) of the header, or auto: the first row "
                                              "holding most of the mapped headers (a title block above it)",
                                              json_schema_extra={"example": "auto"})
    sheet: str | int | None = Field(None, description="XLSX: the sheet's name, or its position counting from 0 "
                                    "(default: the first visible sheet)", json_schema_extra={"example": "Participants"})
    units: dict[Literal["duration"], Literal["minutes", "hours"]] = Field(
        default_factory=dict, description="unit of plain numbers: duration in minutes (default) or hours; "
        "durations written with their unit (1h30, 90 min, 1:30) are read as written",
        json_schema_extra={"example": {"duration": "minutes"}})
    vocab: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict, description="this file's spellings of categories: vocabulary -> category -> "
        "spellings (see `vocab` below)", json_schema_extra={"example": {"sex": {"F": ["Mme"], "M": ["M."]}}})
    skip_rows: list[str] = Field(default_factory=list, description="rows that are not records: a row whose first "
                                 "non-blank cell matches one of these regular expressions (whole cell, any case), "
                                 "such as a totals line at the foot of a register, is set aside with that reason",
                                 json_schema_extra={"example": ["Total.*", "TOTAL GENERAL"]})
    blank_is_false: list[str] = Field(default_factory=list, description="yes/no fields whose blank cell means no "
                                      "(a column marked X when true and left blank when false)",
                                      json_schema_extra={"example": ["disability", "single_parent"]})

    @field_validator("encoding", mode="before")
    @classmethod
    def _encoding(cls, v):
        text = str(v).strip()
        text = ENCODING_WORDS.get(_squash(text).replace("-", ""), text)
        try:
            return codecs.lookup(text).name
        except LookupError:
            raise ValueError(f"'{v}' is not an encoding Python knows; write utf-8, utf-8-sig (UTF-8 with a BOM), "
                             "cp1252 (Windows) or latin-1") from None

    @field_validator("delimiter", mode="before")
    @classmethod
    def _delimiter(cls, v):
        text = str(v)
        if len(text) == 1:
            return text
        word = DELIMITER_WORDS.get(_squash(text)) or DELIMITER_WORDS.get(text.strip())
        if word is None:
            raise ValueError(f"{text!r} is not one character; write the character itself (';', ',', '|') or tab "
                             "(a tab written '\\t' in single quotes is read as two characters; write tab or "
                             "\"\\t\" in double quotes)")
        return word

    @field_validator("decimal", mode="before")
    @classmethod
    def _decimal(cls, v):
        text = str(v).strip()
        if text in (".", ","):
            return text
        word = DECIMAL_WORDS.get(_squash(text))
        if word is None:
            raise ValueError(f"'{text}' is not a decimal mark; write '.' (point) or ',' (comma)")
        return word

    @field_validator("date_formats", "month_formats", mode="before")
    @classmethod
    def _formats(cls, v, info: ValidationInfo):
        items = _words(v)
        if not items:
            raise ValueError("give at least one format")
        return [date_format(f, month=info.field_name == "month_formats") for f in items]

    @field_validator("booleans", mode="before")
    @classmethod
    def _booleans(cls, v):
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("expected true: [words] and false: [words]")
        out = {}
        for key, words in v.items():   # YAML reads an unquoted `true:` as a boolean
            name = {True: "true", False: "false"}.get(key, str(key).strip().casefold())
            name = {"yes": "true", "oui": "true", "no": "false", "non": "false"}.get(name, name)
            out[name] = _words(words)
        return out

    @field_validator("vocab", mode="before")
    @classmethod
    def _vocab(cls, v):
        return _vocab_words(v)

    @field_validator("skip_rows", mode="before")
    @classmethod
    def _patterns(cls, v):
        items = _words(v)
        for p in items:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"'{p}' is not a regular expression ({exc})") from None
        return items

    @field_validator("blank_is_false", mode="before")
    @classmethod
    def _fields(cls, v):
        return _words(v)

    @field_validator("header_row", mode="before")
    @classmethod
    def _header_row(cls, v):
        if isinstance(v, str) and v.strip().casefold() == "auto":
            return "auto"
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())) \
                or int(v) < 1:
            raise ValueError(f"got {v!r}; expected the header's row number, counting from 1, or auto")
        return int(v)

    @field_validator("sheet", mode="before")
    @classmethod
    def _sheet(cls, v):
        if isinstance(v, int) and v < 0:
            raise ValueError("a sheet position counts from 0")
        return v


def _columns_model(table: str) -> type[BaseModel]:
    fields = {name: (str | None, Field(None, description=_field_help(table, name)))
              for name, f in FIELDS[table].items()}
    return create_model(f"{table}_columns", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


KIND_WORDS = {"ref": "reference", "text": "text", "date": "date", "month": "month", "bool": "yes/no",
              "category": "category", "int": "whole number", "number": "number", "neighbourhood": "neighbourhood",
              "duration": "duration", "ignored": "not read (identifier)"}


def _field_help(table: str, name: str) -> str:
    f = FIELDS[table][name]
    kind = KIND_WORDS.get(f.kind, f.kind) + (f" ({f.vocab})" if getattr(f, "vocab", None) else "")
    return f"{kind}{', required' if f.required else ''}{', direct identifier' if f.identifier else ''}"


COLUMNS = {table: _columns_model(table) for table in TABLES}


def _file_model(table: str) -> type[BaseModel]:
    return create_model(
        f"{table}_file", __base__=FileOptions,
        path=(str, Field(description="the file's name in the landlord's folder, or a glob matching several "
                         "files of one table (sessions_*.csv); never a path outside the folder",
                         json_schema_extra={"example": "sessions_log.csv"})),
        columns=(COLUMNS[table], Field(description="canonical field -> the header of its column in this file "
                                       "(case, accents and spacing do not matter)")))


FILE_MODELS = {table: _file_model(table) for table in TABLES}


class Landlord(Strict):
    """A landlord's mapping: who it is, and how to read each of its exports."""

    id: str = Field(description="the landlord's id: the mapping's file name without .yml, and the name of its "
                    "folder in data/raw", json_schema_extra={"example": "pas_de_calais_habitat"})
    name: str = Field(description="the name readers see", json_schema_extra={"example": "Pas-de-Calais Habitat"})
    country: Literal["UK", "FR"] = Field(description="UK or FR (also written GB, France, ...)",
                                         json_schema_extra={"example": "FR"})
    language: Literal["fr", "en"] | None = Field(None, description="language of the landlord's report "
                                                 "(default: fr in France, en in the UK)",
                                                 json_schema_extra={"example": "fr"})
    currency: Literal["EUR", "GBP"] | None = Field(None, description="currency of its amounts (default and only "
                                                   "choice: EUR in France, GBP in the UK)",
                                                   json_schema_extra={"example": "EUR"})
    cost: Cost | None = Field(None, description="what the programme cost this landlord (without it, the report "
                              "shows the value account without ratios)")
    neighbourhoods: list[Neighbourhood] = Field(min_length=1, description="the neighbourhoods it serves")
    defaults: FileOptions | None = Field(None, description="options applied to every file unless the file says "
                                         "otherwise")
    vocab: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict, description="the landlord's spellings: vocabulary (sex, employment_status, "
        "session_type, outcome_type, contract_type, legal_form, sector, wave, household_type, stage) -> canonical "
        "category -> spellings; for a yes/no field (single_parent, no_qualification, ...) the categories true and "
        "false make it read a category column (Lone parent -> true, Couple -> false)",
        json_schema_extra={"example": {"household_type": {"single_parent": ["Parent isolé"]},
                                       "single_parent": {"true": ["Famille monoparentale"], "false": ["Couple"]}}})
    files: dict[str, dict] = Field(description="one entry per export: participants (required), sessions, outcomes, "
                                   "business_checks, questionnaires, ambassadors, tenancies, rent_accounts")

    @field_validator("vocab", mode="before")
    @classmethod
    def _vocab(cls, v):
        return _vocab_words(v)

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, v):
        code = COUNTRY_WORDS.get(_squash(v).replace(".", ""))
        if code is None:
            raise ValueError(f"'{v}' is not a programme country; write UK (or GB) or FR")
        return code

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v):
        return None if v is None else CURRENCY_WORDS.get(str(v).strip().casefold(), str(v).strip().upper())

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, v):
        return None if v is None else {"french": "fr", "francais": "fr", "english": "en", "anglais": "en"}.get(
            str(v).strip().casefold(), str(v).strip().casefold())


# --- validation --------------------------------------------------------------------------------

class MappingProblems(ValueError):
    """Every problem of one mapping, one line each."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p not in ("function-after", "function-before")) or "(top level)"


def _allowed_keys(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model whose key `loc` points into (for 'allowed keys are ...')."""
    model = root
    for part in loc[:-1]:
        if model is None or isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        ann = info.annotation
        args = getattr(ann, "__args__", ()) or ()
        model = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model


def _message(err: dict, root: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(_model_at(root, loc))
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        return f"unknown key{hint}; allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        return "missing: this key is required"
    if kind == "literal_error":
        return f"got {err.get('input')!r}; expected {err['ctx']['expected']}"
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type", "bool_parsing", "bool_type",
                "string_type", "list_type", "dict_type", "model_type"):
        return f"got {err.get('input')!r}: {err['msg'][0].lower()}{err['msg'][1:]}"
    return err["msg"]


def _validate(model: type[BaseModel], data: Any, prefix: tuple, problems: list[tuple[tuple, str]]):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(((*prefix, *err["loc"]), _message(err, model)))
        return None


def validate(data: Any, path: Path, categories: dict[str, dict], registry: dict[str, Any] | None = None) -> dict:
    """Check one mapping; return its files validated and merged with `defaults`, with the
    landlord's fields filled in (language, currency). Raises MappingProblems."""
    problems: list[tuple[tuple, str]] = []
    if not isinstance(data, dict):
        raise MappingProblems([f"{path}: expected keys and values (id:, name:, country:, files:, ...)"])
    landlord = _validate(Landlord, data, (), problems)
    files: dict[str, BaseModel] = {}
    defaults = data.get("defaults") or {}
    if isinstance(data.get("files"), dict):
        for table, spec in data["files"].items():
            if table not in FILE_MODELS:
                guess = difflib.get_close_matches(str(table), TABLES, n=1, cutoff=0.6)
                problems.append((("files", table), f"unknown table{f' (did you mean {guess[0]!r}?)' if guess else ''}"
                                                   f"; tables are: {', '.join(TABLES)}"))
                continue
            if not isinstance(spec, dict):
                problems.append((("files", table), "expected path:, columns: and options"))
                continue
            inherited = {k: v for k, v in (defaults if isinstance(defaults, dict) else {}).items() if k not in spec}
            found: list[tuple[tuple, str]] = []
            checked = _validate(FILE_MODELS[table], {**inherited, **spec}, ("files", table), found)
            # a wrong default is reported once, under defaults, not once per file
            problems += [(loc, msg) for loc, msg in found if len(loc) < 3 or loc[2] not in inherited]
            if checked is not None:
                files[table] = checked
                problems += [(("files", table, *loc), msg) for loc, msg in _file_rules(table, checked, data,
                                                                                          categories)]
        if "participants" not in data["files"]:
            problems.append((("files", "participants"), "missing: every landlord needs its participant register"))
    if landlord is not None:
        problems += _landlord_rules(landlord, path, registry or {}, categories)
    if problems:
        raise MappingProblems([f"{path}: {_where(loc)}: {msg}" for loc, msg in problems])
    country = landlord.country
    return {"landlord": landlord, "files": files,
            "language": landlord.language or COUNTRY_LANGUAGE[country],
            "currency": landlord.currency or COUNTRY_CURRENCY[country]}


def _landlord_rules(landlord: Landlord, path: Path, registry: dict, categories: dict) -> list[tuple[tuple, str]]:
    out = []
    if landlord.id != path.stem:
        out.append((("id",), f"'{landlord.id}' must be the file's name without .yml ('{path.stem}')"))
    expected = COUNTRY_CURRENCY[landlord.country]
    if landlord.currency and landlord.currency != expected:
        out.append((("currency",), f"{landlord.currency} does not fit country {landlord.country}: amounts of a "
                                   f"landlord in {landlord.country} are in {expected}"))
    currency = landlord.currency or expected
    if landlord.cost is not None and landlord.cost.currency not in (None, currency):
        out.append((("cost", "currency"), f"{landlord.cost.currency} is not the landlord's currency ({currency}); "
                                          "give the cost in its own currency"))
    seen: dict[str, int] = {}
    for i, n in enumerate(landlord.neighbourhoods):
        if n.id in seen:
            out.append((("neighbourhoods", i, "id"), f"'{n.id}' is listed twice (entries {seen[n.id]} and {i})"))
        seen[n.id] = i
        if n.name is None and n.id not in registry:
            out.append((("neighbourhoods", i, "name"), f"missing: '{n.id}' is not in config/neighbourhoods.yml, "
                                                       "so it needs a name"))
        if n.name is not None and n.id in registry and n.name != registry[n.id].name:
            out.append((("neighbourhoods", i, "name"), f"'{n.id}' is '{registry[n.id].name}' in "
                                                       "config/neighbourhoods.yml: its name comes from there (give "
                                                       "only its id and this landlord's aliases)"))
    # one spelling naming two places would be a guess
    from .normalise import fold

    spelled: dict[str, str] = {}
    for i, n in enumerate(landlord.neighbourhoods):
        shared = registry.get(n.id)
        names = [n.id, n.name or (shared.name if shared else ""), *n.aliases, *(shared.aliases if shared else ())]
        for name in (x for x in names if x):
            other = spelled.setdefault(fold(name), n.id)
            if other != n.id:
                out.append((("neighbourhoods", i), f"'{name}' names two neighbourhoods ({other} and {n.id}); "
                                                   "each name and alias must name one"))
    for name, cats in landlord.vocab.items():
        out += [(("vocab", *loc), msg) for loc, msg in _vocab_rules(name, cats, categories)]
    return out


def _bool_fields(table: str | None = None) -> set[str]:
    tables = [table] if table else TABLES
    return {n for t in tables for n, f in FIELDS[t].items() if f.kind == "bool"}


def _vocab_rules(name: str, cats: dict[str, list[str]], categories: dict) -> list[tuple[tuple, str]]:
    if name in _bool_fields():
        wrong = [c for c in cats if c not in ("true", "false")]
        if wrong:
            return [((name, wrong[0]), f"'{name}' is a yes/no field: its categories are true and false")]
        if set(cats) != {"true", "false"}:
            return [((name,), f"give both true: and false: spellings for '{name}', so that a value in neither "
                              "list is rejected, not guessed")]
        from .normalise import fold

        both = sorted({fold(w) for w in cats["true"]} & {fold(w) for w in cats["false"]})
        if both:
            return [((name,), f"{', '.join(both)} listed as both true and false")]
        return []
    if name not in categories:
        known = sorted(categories) + sorted(_bool_fields())
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        return [((name,), f"unknown vocabulary{f' (did you mean {guess[0]!r}?)' if guess else ''}; vocabularies "
                          f"are: {', '.join(sorted(categories))}, or a yes/no field")]
    out = []
    for c in cats:
        if c not in categories[name]:
            out.append(((name, c), f"'{c}' is not a {name} category; categories are: "
                                   f"{', '.join(map(str, categories[name]))}"))
    return out


def _file_rules(table: str, f: BaseModel, data: dict, categories: dict) -> list[tuple[tuple, str]]:
    out = []
    columns = {k: v for k, v in f.columns.model_dump().items() if v is not None}
    required = {n for n, fld in FIELDS[table].items() if fld.required}
    for name in sorted(required - set(columns)):
        out.append((("columns", name), f"missing: {table} needs the header of its {name} column"))
    if table == "business_checks":
        horizons = [n for n in FIELDS[table] if re.fullmatch(r"trading_\d+m", n)]
        dated = {"check_date", "trading"} & set(columns)
        if not (dated == {"check_date", "trading"} or (not dated and set(horizons) & set(columns))):
            out.append((("columns",), "map both check_date and trading (dated checks), or at least one of "
                                      f"{', '.join(horizons)} (still trading at that age: yes/no); found "
                                      f"{', '.join(sorted(dated)) or 'neither'}"))
    path = f.path
    if Path(path).is_absolute() or ".." in Path(path).parts:
        out.append((("path",), f"'{path}' points outside the landlord's folder; give a name inside it"))
    fmt = f.format or ("xlsx" if path.lower().endswith((".xlsx", ".xlsm")) else "csv")
    if fmt == "xlsx" and path.lower().endswith((".csv", ".txt", ".tsv")):
        out.append((("format",), f"xlsx, but '{path}' is named like a text file"))
    bools = _bool_fields(table)
    for i, name in enumerate(f.blank_is_false):
        if name not in bools:
            out.append((("blank_is_false", i), f"'{name}' is not a yes/no field of {table}; yes/no fields: "
                                               f"{', '.join(sorted(bools)) or 'none'}"))
    for name, cats in f.vocab.items():
        out += [(("vocab", *loc), msg) for loc, msg in _vocab_rules(name, cats, categories)]
    return out


# --- the reference ----------------------------------------------------------------------------

EXAMPLE = """
# config/landlords/habitat_exemple.yml: a French landlord whose register is an Excel
# workbook with a title block and a totals line, sessions in a ';' CSV from Windows.
id: habitat_exemple
name: Habitat Exemple
country: FR                      # language fr and currency EUR follow
cost: {total: 850000, erdf: 586500, source: "Budget prévisionnel, annexe financière", assumption: true}
neighbourhoods:
  - {id: FR-HE-01, name: "Quimper - Kermoysan", aliases: [Kermoysan]}
  - {id: FR-SHARED-01}           # a place listed in config/neighbourhoods.yml
defaults: {encoding: cp1252, delimiter: ";", decimal: ",", date_formats: [dd/mm/yyyy],
           booleans: {"true": [Oui], "false": [Non]}}
vocab:
  sex: {F: [Madame], M: [Monsieur]}
  single_parent: {"true": [Famille monoparentale], "false": [Couple, Personne seule]}
files:
  participants:
    path: Registre.xlsx
    header_row: auto
    skip_rows: ["Total.*"]
    blank_is_false: [disability]
    columns: {participant_ref: N° dossier, first_name: Prénom, last_name: Nom, birth_date: Né(e) le,
              neighbourhood: Quartier, sex: Civilité, single_parent: Composition familiale,
              disability: RQTH, entry_date: Date d'entrée}
  sessions:
    path: seances_*.csv
    columns: {participant_ref: N° dossier, session_date: Date, duration: Durée}
"""

def _default(info) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return f"`{info.default_factory()!r}`" if info.default_factory() else "none"
    return "none" if info.default is None else f"`{info.default!r}`"


def _describe(ann) -> str:
    import types
    import typing

    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_describe(args[0])}"
    if origin is dict:
        return f"{_describe(args[0])} -> {_describe(args[1])}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return {"FileOptions": "file options (below)", "Cost": "see `cost` below",
                "Neighbourhood": "entries (below)"}.get(ann.__name__, ann.__name__)
    return {str: "text", int: "whole number", float: "number", bool: "true or false", dict: "mapping"}.get(
        ann, getattr(ann, "__name__", str(ann)))


def _type(info) -> str:
    return _describe(info.annotation)


def _rows(model: type[BaseModel], skip=()) -> list[str]:
    rows = ["| key | type | default | example | what it says |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        extra = info.json_schema_extra or {}
        example = f"`{extra['example']}`" if "example" in extra else ""
        rows.append(f"| `{name}` | {_type(info)} | {_default(info)} | {example} | {info.description or ''} |")
    return rows


def reference() -> str:
    """docs/mapping.md: every key of a mapping, with type, default and example."""
    out = ["# The mapping language: reference",
           "",
           "<!-- Written by `python -m increase_eval.mapping` from increase_eval/mapping.py and schema.py; "
           "a test keeps it equal. Do not edit by hand. -->",
           "",
           "A landlord is added by a mapping file, `config/landlords/<id>.yml`, and a folder of exports, "
           "`data/raw/<id>/`. `increase-eval draft <id> <folder>` writes a first mapping to edit and "
           "`increase-eval check --landlord <id>` shows how each column is read. A mapping is checked before any "
           "file is read: every mistake is reported on one line naming the file, the key and what is allowed, "
           "and nothing runs until it is fixed (exit code 2).",
           "",
           "## Top-level keys", "", *_rows(Landlord), "",
           "## `cost`", "", *_rows(Cost), "",
           "## `neighbourhoods` entries", "", *_rows(Neighbourhood), "",
           "## File options (under `files.<table>`, or `defaults`)", "",
           "Each entry of `files` is one export: `path`, `columns` and any of these options (a file's own option "
           "wins over `defaults`).", "",
           *_rows(FILE_MODELS["participants"], skip=("columns",)), "",
           "## Tables and their fields (`columns`)", "",
           "Only `participants` is required; any other table may be left out, and so may any field not marked "
           "required. A field marked *direct identifier* is used to link records, then dropped: it never reaches "
           "the processed data. Fields marked *not read* are documented in the mapping but never loaded.", ""]
    for table in TABLES:
        out += [f"### `{table}`{' (required)' if table == 'participants' else ''}", "",
                "| field | kind |", "|---|---|"]
        out += [f"| `{name}` | {_field_help(table, name)} |" for name in FIELDS[table]]
        out.append("")
    out += ["## An example", "",
            "```yaml", EXAMPLE.strip(), "```", "",
            "## Words the mapping understands", "",
            f"- encodings: any Python codec; also {', '.join(sorted(ENCODING_WORDS))}",
            f"- delimiters: one character; also {', '.join(sorted(k for k in DELIMITER_WORDS if k != chr(92) + 't'))} "
            "and `\"\\t\"`",
            f"- decimal marks: `.` or `,`; also {', '.join(sorted(DECIMAL_WORDS))}",
            f"- countries: UK or FR; also {', '.join(sorted(COUNTRY_WORDS))}",
            "- date formats in words: " + ", ".join(f"`{w}` = `{s}`" for w, s in DATE_WORDS), ""]
    return "\n".join(out)


if __name__ == "__main__":   # python -m increase_eval.mapping [path]: rewrite the reference
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "mapping.md"
    target.write_text(reference(), encoding="utf-8")
    print(f"wrote {target}")
