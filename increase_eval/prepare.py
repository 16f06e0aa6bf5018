"""prepare: raw exports -> data/processed (parquet tables + manifest).

Every raw row ends in exactly one place: kept, rejected (with landlord, file, row, column,
value and reason) or merged into another row as a duplicate; per source file
rows_in = kept + rejected + merged. A file that cannot be used skips its landlord, the
others go on, and the run ends non-zero. Direct identifiers are used to link people,
then dropped. The processed folder is replaced atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Collection

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__, diagnose, frames, lifeline, normalise as nz, readers, schema, store
from .config import SYNTHETIC_MARKER, Config, ConfigError, FileMapping, Landlord
from .errors import FileProblem, UserError
from .pseudonymise import Pseudonymiser, load_or_create
from .schema import FIELDS

# Tables are read in this order: children are linked to the register, the rent panel to
# the tenancies.
TABLE_ORDER = ["participants", "tenancies", "sessions", "outcomes", "business_checks", "questionnaires",
               "ambassadors", "rent_accounts"]
CHILD_KEYS = {  # rows agreeing on these are one record exported twice
    "sessions": ["person_id", "session_date", "session_type", "duration_minutes"],
    "outcomes": ["person_id", "outcome_type", "outcome_date"],
    "business_checks": ["person_id", "check_date", *schema.HORIZONS],
    "questionnaires": ["person_id", "wave"],
    "ambassadors": ["person_id", "month"],
}
REJECT_COLUMNS = ["landlord", "table", "file", "row", "column", "field", "value", "reason"]


# --- accounting ------------------------------------------------------------------------

@dataclass
class FileAccount:
    landlord: str
    table: str
    file: str
    sha256: str
    rows_in: int = 0
    kept: int = 0
    rejected: int = 0
    merged: int = 0
    blank_rows: int = 0      # rows holding nothing (';;;;', empty lines, blank sheet rows): not records,
                             # so not in rows_in
    ignored_columns: list[str] = field(default_factory=list)
    absent_optional_columns: list[str] = field(default_factory=list)

    def balanced(self) -> bool:
        return self.rows_in == self.kept + self.rejected + self.merged


@dataclass
class Outcome:
    """What one `prepare` run did: the ledger, the problems, and where it wrote."""

    accounts: list[FileAccount]
    errors: list[str]
    rejects_by_reason: dict[str, int]
    tables: dict[str, int]
    manifest_path: Path | None
    secret_created: bool
    warnings: list[str] = field(default_factory=list)   # done, but something the reader must know


class Rows:
    """Disposition of the rows of one table of one landlord while it is processed."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame                        # parsed values; index is 0..n-1
        self.status = pd.Series("kept", index=frame.index, dtype=object)
        self.rejects: list[pd.DataFrame] = []
        self.malformed: list[dict] = []         # lines the CSV parser could not split
        self.skipped: list[dict] = []           # totals and notes rows (the mapping's skip_rows)

    def reject(self, index, column: str | None, reason: str | pd.Series, field_: str | None = None,
               value: pd.Series | None = None) -> None:
        index = pd.Index(index)
        if index.empty:
            return
        self.status.loc[index] = "rejected"
        self.rejects.append(pd.DataFrame({
            "index": index, "column": column, "field": field_,
            "value": value.loc[index].to_numpy(dtype=object) if value is not None else None,
            "reason": reason.loc[index].to_numpy(dtype=object) if isinstance(reason, pd.Series) else reason}))

    def merge(self, index) -> None:
        self.status.loc[pd.Index(index)] = "merged"

    @property
    def kept(self) -> pd.Series:
        return self.status.eq("kept")


# --- parsing -----------------------------------------------------------------------------

def _tokens(config: Config) -> nz.Tokens:
    v = config.vocabularies
    return nz.Tokens(v.get("missing", []), v.get("spreadsheet_errors", []))


def _spellings(config: Config, mapping: FileMapping, vocab: str) -> dict[str, tuple[str, ...]]:
    base = config.vocabularies["categories"].get(vocab)
    if base is None:
        raise ConfigError(f"vocabulary '{vocab}' is not in config/vocabularies.yml")
    out = {str(k): tuple(map(str, v)) for k, v in base.items()}
    for canonical, aliases in mapping.vocab.get(vocab, {}).items():
        if canonical not in out:
            raise ConfigError(f"{mapping.table}: '{canonical}' is not a {vocab} category "
                              f"(known: {', '.join(out)})")
        out[canonical] = out[canonical] + aliases
    return out


def _booleans(config: Config, mapping: FileMapping) -> dict[str, tuple[str, ...]]:
    base = config.vocabularies.get("booleans", {})
    return {k: tuple(map(str, base.get(k, ()))) + tuple(mapping.booleans.get(k, ())) for k in ("true", "false")}


def required_fields(table: str, mapping: FileMapping) -> set[str]:
    """Fields every row of this file must have: the schema's, and for business checks
    the pair of a dated check when the mapping gives checks that way."""
    required = schema.required_fields(table)
    if table == "business_checks" and not set(schema.HORIZONS) & set(mapping.columns):
        required = required | {"check_date", "trading"}
    return required


def required_columns(table: str, mapping: FileMapping) -> set[str]:
    """Fields whose column the file must have: the required ones, and every follow-up
    column a business-checks mapping names (a missing one would empty every row)."""
    required = required_fields(table, mapping)
    if table == "business_checks":
        required = required | ({"check_date", "trading", *schema.HORIZONS} & set(mapping.columns))
    return required


def _flags(raw: pd.Series, name: str, mapping: FileMapping, config: Config, tokens: nz.Tokens,
           present: bool) -> tuple[pd.Series, pd.Series]:
    """A yes/no field: the yes/no words, or the words of a category column the mapping
    lists for it (`vocab: {field: {"true": [...], "false": [...]}}`); a blank cell is
    "no" when the mapping says so (`blank_is_false`) and the file has the column."""
    words = mapping.vocab.get(name)
    if words is not None:
        values, why = nz.flags(raw, words, name, tokens)
    else:
        values, why = nz.booleans(raw, _booleans(config, mapping), tokens)
    if present and name in mapping.blank_is_false:
        values = values.mask(nz.blank(raw), False)
    return values, why


def parse(frame: pd.DataFrame, table: str, mapping: FileMapping, landlord: Landlord, config: Config,
          tokens: nz.Tokens, required: set[str] | None = None,
          absent: Collection[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw text -> typed canonical columns, and the problems found (index, field, value, reason).
    `required`: fields every row must have (default: the schema's, see required_fields);
    `absent`: mapped fields whose column the file does not have."""
    required = required_fields(table, mapping) if required is None else required
    out: dict[str, pd.Series] = {}
    problems = []
    max_text = config.plausibility["max_text_length"]
    for name, f in FIELDS[table].items():
        if f.kind == "ignored":
            continue
        raw = frame[name] if name in frame else pd.Series([""] * len(frame), index=frame.index, dtype="string")
        if f.kind == "ref":
            values, why = nz.refs(raw, tokens)
        elif f.kind == "text" and f.identifier:   # a name: 'Null' and 'Na' are people's names
            values, why = nz.names(raw, tokens, max_text)
        elif f.kind == "text":
            values, why = nz.texts(raw, tokens, max_text)
        elif f.kind == "date":
            values, why = nz.dates(raw, mapping.date_formats, tokens)
        elif f.kind == "month":
            values, why = nz.dates(raw, mapping.month_formats, tokens, month=True)
        elif f.kind == "bool":
            values, why = _flags(raw, name, mapping, config, tokens, present=name in frame and name not in absent)
        elif f.kind == "category":
            values, why = nz.categories(raw, _spellings(config, mapping, f.vocab), tokens)
        elif f.kind == "neighbourhood":
            hoods = {n.id: (n.name, *n.aliases) for n in landlord.neighbourhoods}
            values, why = nz.categories(raw, hoods, tokens)
            why = why.map(lambda r: None if r is None else f"unknown neighbourhood of {landlord.name}",
                          na_action="ignore")
        elif f.kind in ("int", "number"):
            values, why = nz.numbers(raw, tokens, mapping.decimal, integer=f.kind == "int",
                                     currency=landlord.currency)
        elif f.kind == "duration":
            values, why = nz.durations(raw, tokens, mapping.units.get("duration", "minutes"), mapping.decimal,
                                       currency=landlord.currency)
        else:  # pragma: no cover - FIELDS is code
            raise AssertionError(f.kind)
        if name in required:
            lacking = values.isna() & why.isna()
            why = why.where(~lacking, "required value missing")
        bad = why.notna()
        if bad.any():
            problems.append(pd.DataFrame({"index": frame.index[bad], "field": name,
                                          "value": raw[bad].to_numpy(dtype=object),
                                          "reason": why[bad].to_numpy(dtype=object)}))
        out[name] = values
    parsed = pd.DataFrame(out, index=frame.index)
    parsed[readers.ROW] = frame[readers.ROW].to_numpy()
    problems_df = (pd.concat(problems, ignore_index=True) if problems
                   else pd.DataFrame(columns=["index", "field", "value", "reason"]))
    return parsed, problems_df


def _check(rows: Rows, raw: pd.DataFrame, src: readers.Source, table: str, config: Config,
           problems: pd.DataFrame) -> None:
    """Reject rows with unparseable or implausible values; `raw` holds the values as received."""
    identifiers = schema.identifiers(table)
    header = lambda f: src.mapping.columns.get(f, f)  # noqa: E731
    for field_name, group in problems.groupby("field", sort=False):
        value = pd.Series(group["value"].to_numpy(), index=group["index"].to_numpy())
        if field_name in identifiers:
            value[:] = f"<{field_name} withheld>"
        rows.reject(group["index"], header(field_name), pd.Series(group["reason"].to_numpy(), index=value.index),
                    field_name, value)
    bad = schema.implausible(rows.frame, schema.plausibility(table, config))
    for (column, reason), group in bad.groupby(["column", "reason"], sort=False, dropna=False):
        column = None if pd.isna(column) else column
        value = raw[column].reset_index(drop=True) if column in raw else None
        if column in identifiers and value is not None:
            value = pd.Series(f"<{column} withheld>", index=rows.frame.index)
        rows.reject(group["index"].to_numpy(), header(column) if column else None, reason, column, value)


# --- one landlord ------------------------------------------------------------------------

@dataclass
class LandlordData:
    landlord: Landlord
    tables: dict[str, list[tuple[readers.Source, Rows]]] = field(default_factory=dict)
    accounts: dict[str, FileAccount] = field(default_factory=dict)
    panel: list[readers.Source] = field(default_factory=list)
    panel_rejects: list[pd.DataFrame] = field(default_factory=list)
    derived_tenancies: pd.DataFrame | None = None   # from the rent panel, when there is no tenancies export
    warnings: list[str] = field(default_factory=list)
    tenancy_refs: pd.Series | None = None            # the tenancies' IDs by reference, for the rent panel


def read_landlord(landlord: Landlord, folder: Path, config: Config, tokens: nz.Tokens) -> LandlordData:
    """Read, parse and check every table of one landlord (rent panel excluded: it is
    streamed later). Raises FileProblem on the first file that cannot be used."""
    data = LandlordData(landlord)
    missing_tables = [t for t in ("participants",) if t not in landlord.files]
    if missing_tables:
        raise ConfigError(f"{landlord.source}: no mapping for the {missing_tables[0]} table")
    for table in TABLE_ORDER:
        mapping = landlord.files.get(table)
        if mapping is None:
            continue
        required = required_fields(table, mapping)
        unmapped = required - set(mapping.columns)
        if unmapped:
            raise ConfigError(f"{landlord.source}: files.{table}.columns must map {sorted(unmapped)}")
        load = schema.loaded_fields(table)
        if table == "rent_accounts" and "tenancies" in landlord.files:
            load -= PANEL_TENANCY_FIELDS   # the tenancies export says these
        for src in readers.open_sources(landlord.id, folder, mapping, load):
            if table == "rent_accounts":
                data.panel.append(src)
                continue
            frame, malformed = readers.read(src, required_columns(table, mapping))
            account = FileAccount(landlord.id, table, src.name, src.sha256(), rows_in=len(frame) + len(malformed),
                                  blank_rows=src.blank_rows, ignored_columns=src.ignored,
                                  absent_optional_columns=[mapping.columns[c] for c in src.absent_optional])
            skip, skipped = readers.skipped_rows(frame, src)
            if skipped:   # not records: rejected as such, never parsed
                frame = frame.loc[~skip].reset_index(drop=True)
                _withhold(skipped, table)
            parsed, problems = parse(frame, table, mapping, landlord, config, tokens, required, src.absent_optional)
            rows = Rows(parsed.reset_index(drop=True))
            rows.malformed, rows.skipped = malformed, skipped
            raw = frame.reset_index(drop=True)
            _check(rows, raw, src, table, config, problems)
            if table == "business_checks":
                _follow_up_rows(rows, mapping)
            if sum(map(len, rows.rejects)) + len(rows.malformed) > diagnose.MIN_ROWS // 2:   # else nothing to see
                problem = diagnose.problem(landlord.id, src.name, _tally(rows, raw, mapping, account.rows_in),
                                           mapping.columns, _kinds(table), mapping)
                if problem is not None:
                    raise problem
            data.tables.setdefault(table, []).append((src, rows))
            data.accounts[f"{table}/{src.name}"] = account
    _check_references(data)
    return data


def _withhold(items: list[dict], table: str) -> None:
    """Rejects of cells of a direct identifier keep no value, as `_check` does."""
    identifiers = schema.identifiers(table)
    for item in items:
        if item.get("field") in identifiers:
            item["value"] = f"<{item['field']} withheld>"


def _follow_up_rows(rows: Rows, mapping: FileMapping) -> None:
    """Business checks given as still-trading flags at fixed horizons (trading_6m ...): a
    row needs a dated check (check_date with trading) or at least one flag. (A mapping of
    dated checks only has both as required fields: `parse` says so.)"""
    horizons = [h for h in schema.HORIZONS if h in mapping.columns]
    if not horizons:
        return
    f = rows.frame
    dated = [c for c in ("check_date", "trading") if c in mapping.columns]
    for have, lack in (dated, dated[::-1]) if len(dated) == 2 else ():
        partial = rows.kept & f[have].notna() & f[lack].isna()
        rows.reject(f.index[partial], mapping.columns[lack], "required value missing", lack)
    empty = rows.kept & f[[*dated, *horizons]].isna().all(axis=1)
    rows.reject(f.index[empty], mapping.columns[horizons[0]], "no follow-up value (expected one of: "
                + ", ".join(mapping.columns[c] for c in (*dated, *horizons)) + ")", horizons[0])


def business_creations(outcomes: pd.DataFrame) -> pd.Series:
    """person_id -> the date of the person's first business outcome (a business is created once)."""
    b = outcomes[outcomes["outcome_type"].eq("business")].sort_values("outcome_date", kind="stable")
    return b.drop_duplicates("person_id").set_index("person_id")["outcome_date"]


def _horizons_need_a_creation(batches: list[LandlordData]) -> None:
    """A still-trading flag is dated from the business's creation: without a business
    outcome for that person (at any landlord), the row cannot be dated and is rejected."""
    outcomes = [rows.frame.loc[rows.kept, ["person_id", "outcome_type", "outcome_date"]]
                for d in batches for _, rows in d.tables.get("outcomes", [])]
    created = business_creations(pd.concat(outcomes)) if outcomes else pd.Series(dtype="datetime64[ns]")
    for data in batches:
        for src, rows in data.tables.get("business_checks", []):
            horizons = [h for h in schema.HORIZONS if h in src.mapping.columns]
            if not horizons:
                continue
            f = rows.frame
            flagged = f[horizons].notna().any(axis=1)
            orphan = rows.kept & flagged & ~frames.isin(f["person_id"].astype("string"), created.index)
            rows.reject(f.index[orphan], src.mapping.columns[horizons[0]],
                        "still-trading flag without a business creation for this participant (expected a "
                        "business outcome to date it from)", horizons[0])


def _kinds(table: str) -> dict[str, str]:
    return {name: f.kind for name, f in FIELDS[table].items()}


def _tally(rows: Rows, raw: pd.DataFrame, mapping: FileMapping, rows_in: int) -> diagnose.Tally:
    """Rows rejected per field and reason in one file, for the file-level diagnosis."""
    tally = diagnose.Tally()
    tally.rows_in = rows_in
    field_of = {header: name for name, header in mapping.columns.items()}
    for item in rows.malformed:
        name = field_of.get(item["column"]) if item.get("column") else None
        tally.add(name, item["reason"], 1)
    if rows.rejects:
        found = pd.concat(rows.rejects, ignore_index=True)
        for (name, reason), group in found.groupby(["field", "reason"], sort=False, dropna=False):
            name = "_row" if pd.isna(name) else name     # a rule about the whole row
            index = group["index"].drop_duplicates().to_numpy()
            values = raw[name].iloc[index[: diagnose.SAMPLE]] if name in raw else None
            tally.add(name, reason, len(index), values)
            if name in raw and tally.rejected[(name, reason)] >= diagnose.MIN_ROWS // 2 and name not in tally.filled:
                tally.filled[name] = int(raw[name].str.strip().ne("").sum())
    return tally


def _check_references(data: LandlordData) -> None:
    """A file of sessions, outcomes... most of whose references match no row of the
    landlord's register is one file-level problem (another export, another column), not
    thousands of rows of unknown participants."""
    known = [rows.frame["participant_ref"] for _, rows in data.tables.get("participants", [])]
    if not known:
        return
    refs = pd.Index(pd.concat(known, ignore_index=True).dropna().unique())
    for table in CHILD_KEYS:
        for src, rows in data.tables.get(table, []):
            account = data.accounts[f"{table}/{src.name}"]
            if account.rows_in < diagnose.MIN_ROWS:
                continue
            ref = rows.frame["participant_ref"]
            unknown = int((rows.kept & ref.notna() & ~frames.isin(ref, refs)).sum())
            tally = diagnose.Tally()
            tally.rows_in = account.rows_in
            tally.add("participant_ref", "no participant with this reference in the register", unknown)
            problem = diagnose.problem(data.landlord.id, src.name, tally, src.mapping.columns, {}, src.mapping)
            if problem is not None:
                raise problem


# --- linking -----------------------------------------------------------------------------

def _link_register(data: LandlordData, pseudo: Pseudonymiser) -> None:
    """Give every register row of one landlord a person ID and its tenancy's ID; a
    reference given to two different people cannot be linked safely (the later row is
    rejected). Needs nothing of the other landlords: runs in the landlord's worker."""
    for src, rows in data.tables.get("participants", []):
        f = rows.frame
        f["person_id"] = pseudo.person_keys(f["first_name"], f["last_name"], f["birth_date"])
        f["tenancy_id"] = pseudo.many("tenancy", data.landlord.id + "|" + f["tenancy_ref"])
        ok = rows.kept
        refs = f.loc[ok, ["participant_ref", "person_id", readers.ROW]]
        first_person = refs.groupby("participant_ref")["person_id"].transform("first")
        clash = refs.index[refs["person_id"] != first_person]
        rows.reject(clash, src.mapping.columns["participant_ref"],
                    "participant reference already used for another person", "participant_ref",
                    f["participant_ref"].astype("string"))


def _link_participants(batches: list[LandlordData], order: dict[str, int]) -> None:
    """Merge the same person registered twice, at one landlord or at two (the earliest
    registration is kept). The register rows have their person IDs (_link_register)."""
    candidates = []
    for data in batches:
        for file_no, (src, rows) in enumerate(data.tables.get("participants", [])):
            f = rows.frame
            ok = rows.kept
            candidates.append(pd.DataFrame({
                "landlord": data.landlord.id, "order": order[data.landlord.id], "file_no": file_no,
                "index": f.index[ok], "person_id": f.loc[ok, "person_id"], "entry_date": f.loc[ok, "entry_date"],
                "row": f.loc[ok, readers.ROW]}))
    if not candidates:
        return
    allc = pd.concat(candidates, ignore_index=True).sort_values(["entry_date", "order", "file_no", "row"],
                                                                kind="stable")
    first = allc.groupby("person_id", sort=False).head(1).set_index("person_id")
    allc["kept_landlord"] = allc["person_id"].map(first["landlord"])
    dup = allc[allc.duplicated("person_id")]
    # registrations per person, and which landlords made them (only people registered
    # more than once need the list: a Python step kept off the many)
    size = allc.groupby("person_id").size()
    multi = allc[frames.isin(allc["person_id"], size.index[size > 1])]
    others = multi.groupby("person_id")["landlord"].agg(lambda s: ",".join(sorted(set(s))))
    by_landlord = {d.landlord.id: d for d in batches}
    for (landlord, file_no), group in dup.groupby(["landlord", "file_no"]):
        rows = by_landlord[landlord].tables["participants"][file_no][1]
        rows.merge(group["index"].to_numpy())
    for data in batches:
        for _, rows in data.tables.get("participants", []):
            rows.frame["registrations"] = rows.frame["person_id"].map(size).astype("Int64")
            rows.frame["registered_by"] = rows.frame["person_id"].map(others)


def _ref_map(data: LandlordData) -> pd.DataFrame:
    """participant_ref -> person_id, entry_date and whether its register row was usable."""
    parts = []
    for _, rows in data.tables.get("participants", []):
        f = rows.frame
        parts.append(pd.DataFrame({"participant_ref": f["participant_ref"], "person_id": f.get("person_id"),
                                   "entry_date": f["entry_date"], "usable": ~rows.status.eq("rejected")}))
    if not parts:
        return pd.DataFrame(columns=["person_id", "entry_date", "usable"])
    refs = pd.concat(parts, ignore_index=True).dropna(subset=["participant_ref"])
    refs = refs.sort_values("usable", ascending=False, kind="stable").drop_duplicates("participant_ref")
    return refs.set_index("participant_ref")


def _link_children(data: LandlordData, config: Config) -> None:
    """Attach sessions, outcomes... to the landlord's register rows by reference; needs
    the register's person IDs and rejected rows only (a row merged into another
    landlord's registration stays usable), so it runs in the landlord's worker."""
    refs = _ref_map(data)
    grace = pd.Timedelta(days=config.plausibility["outcome_grace_days"])
    for table, keys in CHILD_KEYS.items():
        items = data.tables.get(table, [])
        for src, rows in items:
            f = rows.frame
            header = src.mapping.columns["participant_ref"]
            ref = f["participant_ref"]
            known = frames.isin(ref, refs.index)
            live = rows.kept
            rows.reject(f.index[live & ref.notna() & ~known], header,
                        "no participant with this reference in the register", "participant_ref",
                        ref.astype("string"))
            usable = refs["usable"].reindex(ref).to_numpy(dtype=bool, na_value=False)
            rows.reject(f.index[rows.kept & known & ~usable], header,
                        "the participant's register row was rejected", "participant_ref", ref.astype("string"))
            f["person_id"] = refs["person_id"].reindex(ref).to_numpy()
            if f["person_id"].dtype == object:   # no reference found: typed as text all the same
                f["person_id"] = f["person_id"].astype("string")
            entry = pd.to_datetime(refs["entry_date"].reindex(ref).to_numpy())
            date_col = {"sessions": "session_date", "outcomes": "outcome_date", "business_checks": "check_date",
                        "questionnaires": "response_date", "ambassadors": "trained_date"}[table]
            early = rows.kept & f[date_col].notna() & (f[date_col].to_numpy() < (entry - grace))
            rows.reject(f.index[early], src.mapping.columns.get(date_col), f"{date_col.replace('_', ' ')} "
                        "before the participant's entry date", date_col, f[date_col].astype("string"))
            if table == "sessions":
                f["duration_minutes"] = f["duration"]
        _merge_repeats(items, keys)


def _merge_repeats(items: list[tuple[readers.Source, Rows]], keys: list[str]) -> None:
    """Merge exact repeats across all files of one table (a glob may match an export and
    its copy, or two overlapping extracts): the first, in file name order, is kept; each
    repeat counts as merged in the file it came from."""
    if len(items) == 1:   # most tables: one file
        rows = items[0][1]
        live = rows.frame.loc[rows.kept, keys]
        rows.merge(live.index[live.duplicated(keys)])
        return
    parts = []
    for file_no, (_, rows) in enumerate(items):
        live = rows.frame.loc[rows.kept, keys]
        parts.append(live.assign(_file=file_no, _index=live.index))
    if not parts:
        return
    every = pd.concat(parts, ignore_index=True)
    repeats = every[every.duplicated(keys)]
    for file_no, group in repeats.groupby("_file"):
        items[int(file_no)][1].merge(group["_index"].to_numpy())


def _link_tenancies(data: LandlordData, pseudo: Pseudonymiser) -> pd.Series:
    """Tenancy IDs of the tenancies export; returns the kept tenancies' IDs by reference,
    so that the rent panel finds its tenancies by reference without hashing them again."""
    items = data.tables.get("tenancies", [])
    for _, rows in items:
        f = rows.frame
        f["tenancy_id"] = pseudo.many("tenancy", data.landlord.id + "|" + f["tenancy_ref"])
    _merge_repeats(items, ["tenancy_id"])
    kept = [rows.frame.loc[rows.kept, ["tenancy_ref", "tenancy_id"]] for _, rows in items]
    known = pd.concat(kept, ignore_index=True).dropna() if kept else pd.DataFrame(columns=["tenancy_ref",
                                                                                          "tenancy_id"])
    # one ID per reference and one reference per ID (repeats were merged above)
    return pd.Series(known["tenancy_id"].to_numpy(dtype=object), index=pd.Index(known["tenancy_ref"], dtype="string"))


def _copies(data: LandlordData) -> list[str]:
    """One warning per file that is a byte-identical copy of another file of the same
    table (a glob matching an export and its copy): its rows repeat the first's and are
    merged (or rejected again)."""
    seen: dict[tuple[str, str], str] = {}
    out = []
    for account in data.accounts.values():
        first = seen.setdefault((account.table, account.sha256), account.file)
        if first != account.file:
            out.append(f"{account.landlord}: {account.file} is a byte-identical copy of {first} "
                       f"({account.table}); its rows are merged with that file's")
    return out


# --- rent-account panel, streamed --------------------------------------------------------

# What the rent panel may say of its tenancies when the landlord has no tenancies export
PANEL_TENANCY_FIELDS = {"neighbourhood", "tenancy_start", "tenancy_end", "household_type"}
NO_DAY = np.iinfo(np.int64).min     # a missing date among day numbers

PANEL_SCHEMA = pa.schema([("landlord", pa.string()), ("tenancy_id", pa.string()), ("month", pa.date32()),
                          ("rent_due", pa.float64()), ("arrears", pa.float64()), ("housing_benefit", pa.bool_())])


def _distinct(array: pa.Array, rule) -> tuple[np.ndarray, tuple]:
    """Apply a column rule (a function of a pandas Series) to the distinct values of an
    arrow column only; return the row -> distinct index and the rule's outputs."""
    encoded = pc.dictionary_encode(array.fill_null(""))
    index = encoded.indices.to_numpy(zero_copy_only=False)
    return index, rule(pd.Series(encoded.dictionary.to_numpy(zero_copy_only=False), dtype="string"))


def _panel_numbers(array: pa.Array, decimal: str, tokens: nz.Tokens,
                   currency: str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Amounts of a panel column: vectorised for plain numbers (digits, a decimal part in
    the mapping's mark), normalise.numbers for the rest (thousands separators, currency
    signs, blanks, junk: few). Also returns how many cells were filled. A column whose
    values repeat (the rent due, month after month; balances of 0) is read once per
    distinct value."""
    array = array.fill_null("")
    sample = array.slice(0, 20_000)
    if len(array) > 2 * len(sample) and len(pc.unique(sample)) * 4 < len(sample):
        encoded = pc.dictionary_encode(array)
        if len(encoded.dictionary) * 2 < len(array):
            index = encoded.indices.to_numpy(zero_copy_only=False)
            values, why, _ = _numbers(encoded.dictionary, decimal, tokens, currency)
            blank = pc.equal(pc.utf8_trim_whitespace(encoded.dictionary), "").to_numpy(zero_copy_only=False)
            return values[index], why[index], len(array) - int(np.bincount(index, minlength=len(blank))[blank].sum())
    return _numbers(array, decimal, tokens, currency)


def _numbers(array: pa.Array, decimal: str, tokens: nz.Tokens,
             currency: str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """_panel_numbers, value by value."""
    text = pc.utf8_trim_whitespace(array.fill_null(""))
    ok = pc.match_substring_regex(text, rf"^-?\d+(?:{re.escape(decimal)}\d+)?$").to_numpy(zero_copy_only=False)
    plain = pc.replace_substring(text, ",", ".") if decimal == "," else text
    values = pc.cast(pc.if_else(pa.array(ok), plain, pa.scalar(None, pa.string())), pa.float64())
    values = values.to_numpy(zero_copy_only=False)
    why = np.full(len(values), None, dtype=object)
    slow = np.flatnonzero(~ok)
    filled = len(values)
    if len(slow):
        rest = text.take(pa.array(slow)).to_numpy(zero_copy_only=False)
        filled -= int((rest == "").sum())
        parsed, problems = nz.numbers(pd.Series(rest, dtype="string"), tokens, decimal, currency=currency)
        values[slow] = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
        why[slow] = problems.to_numpy(dtype=object)
    return values, why, filled


def _panel_tenancy(batch: dict, src: readers.Source, landlord: Landlord, config: Config,
                   tokens: nz.Tokens) -> tuple[dict[str, np.ndarray], list[tuple[np.ndarray, str, np.ndarray]]]:
    """What a batch of the panel says of its tenancies (neighbourhood, start, end,
    household type), for a landlord without a tenancies export: per row, a neighbourhood
    number (-1: not said), start and end as day numbers (NO_DAY) and a household number
    (-1); and the problems (row mask, field, reason), parsed and checked as `parse` and
    `schema.plausibility` would for a tenancies export."""
    mapping, n = src.mapping, len(batch[readers.ROW])
    hi = config.period()[1]
    out = {"hood": np.full(n, -1, np.int32), "start": np.full(n, NO_DAY), "end": np.full(n, NO_DAY),
           "household": np.full(n, -1, np.int32)}
    problems = []
    if "neighbourhood" in batch:
        hoods = {h.id: (h.name, *h.aliases) for h in landlord.neighbourhoods}
        idx, (values, why) = _distinct(batch["neighbourhood"], lambda u: nz.categories(u, hoods, tokens))
        number = {h: i for i, h in enumerate(hoods)}
        out["hood"] = values.map(number).fillna(-1).to_numpy(dtype=np.int32)[idx]
        why = why.map(lambda r: None if r is None else f"unknown neighbourhood of {landlord.name}", na_action="ignore")
        problems.append((why.notna().to_numpy()[idx], "neighbourhood", why.to_numpy(dtype=object)[idx]))
    if "household_type" in batch:
        kinds = _spellings(config, mapping, "household_type")
        idx, (values, why) = _distinct(batch["household_type"], lambda u: nz.categories(u, kinds, tokens))
        out["household"] = values.map({k: i for i, k in enumerate(kinds)}).fillna(-1).to_numpy(dtype=np.int32)[idx]
        problems.append((why.notna().to_numpy()[idx], "household_type", why.to_numpy(dtype=object)[idx]))
    for name, key, lo, top, what in (("tenancy_start", "start", date(1950, 1, 1), hi, "tenancy start"),
                                     ("tenancy_end", "end", date(1950, 1, 1), date(2100, 1, 1), "tenancy end")):
        if name not in batch:
            continue
        idx, (values, why) = _distinct(batch[name], lambda u: nz.dates(u, mapping.date_formats, tokens))
        outside = values.notna() & ~values.between(pd.Timestamp(lo), pd.Timestamp(top))
        why = why.where(~outside, f"{what} outside {lo.isoformat()} to {top.isoformat()}")
        days = values.where(~outside).to_numpy(dtype="datetime64[D]").astype(np.int64)
        out[key] = days[idx]
        problems.append((why.notna().to_numpy()[idx], name, why.to_numpy(dtype=object)[idx]))
    return out, problems


class _Codes:
    """Tenancy codes of the rent panel: 0, 1, ... in the order tenancies first appear in
    it, and their IDs. By position in the tenancies export (`ids`, kept once as an array,
    never converted again per batch), or by ID when tenancies are derived from the panel."""

    def __init__(self, ids: np.ndarray | None = None):
        self.ids = ids
        self.rank = np.full(len(ids), -1, dtype=np.int64) if ids is not None else None
        self.seen: list[np.ndarray] = []     # export positions, in order of first appearance
        self.by_id: dict[str, int] = {}
        self.n = 0

    def of_positions(self, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes of export positions (-1: not in the export) and whether each is known."""
        known = where >= 0
        w = where[known]
        new = w[self.rank[w] < 0]
        if len(new):
            _, first = np.unique(new, return_index=True)   # distinct, in order of appearance
            new = new[np.sort(first)]
            self.rank[new] = np.arange(self.n, self.n + len(new))
            self.n += len(new)
            self.seen.append(new)
        code = np.full(len(where), -1, dtype=np.int64)
        code[known] = self.rank[w]
        return code, known

    def of_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        code = np.array([self.by_id.setdefault(t, len(self.by_id)) for t in ids], dtype=np.int64)
        self.n = len(self.by_id)
        return code, np.ones(len(ids), dtype=bool)

    def names(self) -> np.ndarray:
        """The tenancy ID of each code."""
        if self.ids is None:
            return np.array(list(self.by_id), dtype=object)
        return self.ids[np.concatenate(self.seen)] if self.seen else np.array([], dtype=object)


def _panel_batch(batch: dict, src: readers.Source, config: Config, tokens: nz.Tokens, pseudo: Pseudonymiser,
                 tenancies: pd.Series | None, codes: _Codes,
                 owner: Landlord | None = None, filled: dict[str, int] | None = None) -> tuple[dict, pd.DataFrame]:
    """One batch of the rent panel, parsed and checked with arrow and numpy: the same
    rules as `parse` and `schema.plausibility`, without a row ever becoming a Python object.
    `tenancies`: the tenancies export's IDs by reference, or None when tenancies are derived from the
    panel (then every reference is a tenancy of `owner`, and what the panel says of it is kept).
    `filled` receives how many cells of the optional amounts were filled."""
    filled = {} if filled is None else filled
    landlord, mapping = src.landlord, src.mapping
    p = config.plausibility
    lo, hi = (pd.Timestamp(d) for d in config.period())
    rows = batch[readers.ROW]
    problems: list[tuple[np.ndarray, str, str]] = []   # (row mask, field, reason)

    idx, (refs, ref_why) = _distinct(batch["tenancy_ref"], lambda u: nz.refs(u, tokens))
    ref_bad = np.where(refs.isna().to_numpy(), "required value missing", ref_why.to_numpy(dtype=object))
    if tenancies is None:   # every reference is a tenancy
        code_u, known_u = codes.of_ids(pseudo.many("tenancy", landlord + "|" + refs).to_numpy(dtype=object))
    else:   # the export's tenancies, found by reference: the same IDs as hashing the reference
        code_u, known_u = codes.of_positions(tenancies.index.get_indexer(refs))
    problems.append((pd.notna(ref_bad)[idx], "tenancy_ref", ref_bad[idx]))
    problems.append((pd.isna(ref_bad)[idx] & ~known_u[idx], "tenancy_ref",
                     np.array("tenancy not in the landlord's tenancies export", dtype=object)))

    midx, (months, month_why) = _distinct(batch["month"], lambda u: nz.dates(u, mapping.month_formats, tokens,
                                                                               month=True))
    month_bad = np.where(months.isna().to_numpy() & month_why.isna().to_numpy(), "required value missing",
                         month_why.to_numpy(dtype=object))
    outside = months.notna().to_numpy() & ~months.between(lo, hi).to_numpy()
    month_bad = np.where(outside, f"month outside {lo.date()} to {hi.date()}", month_bad)
    problems.append((pd.notna(month_bad)[midx], "month", month_bad[midx]))

    currency = config.landlords[landlord].currency if landlord in config.landlords else None
    arrears, arrears_why, _ = _panel_numbers(batch["arrears"], mapping.decimal, tokens, currency)
    limit = p["max_abs_rent_balance"]
    arrears_why = np.where(pd.isna(arrears_why) & np.isnan(arrears), "required value missing", arrears_why)
    arrears_why = np.where(np.abs(np.nan_to_num(arrears)) > limit, f"balance beyond +/-{limit}", arrears_why)
    problems.append((pd.notna(arrears_why), "arrears", arrears_why))
    if "rent_due" in batch:
        rent, rent_why, filled["rent_due"] = _panel_numbers(batch["rent_due"], mapping.decimal, tokens, currency)
        bad_rent = ~np.isnan(rent) & ((rent < 0) | (rent > p["max_monthly_rent"]))
        rent_why = np.where(bad_rent, f"rent outside 0 to {p['max_monthly_rent']}", rent_why)
        problems.append((pd.notna(rent_why), "rent_due", rent_why))
    else:   # an optional field the mapping does not give
        rent = np.full(len(rows), np.nan)
    benefit = np.full(len(rows), np.nan)     # 1 received, 0 not, NaN not said
    if "housing_benefit" in batch:
        bidx, (flags, benefit_why) = _distinct(
            batch["housing_benefit"],
            lambda u: _flags(u, "housing_benefit", mapping, config, tokens, present=True))
        benefit = flags.astype("Float64").to_numpy(dtype=float, na_value=np.nan)[bidx]
        benefit_why = benefit_why.to_numpy(dtype=object)[bidx]
        filled["housing_benefit"] = int(pc.sum(pc.not_equal(pc.utf8_trim_whitespace(
            batch["housing_benefit"].fill_null("")), "")).as_py() or 0)
        problems.append((pd.notna(benefit_why), "housing_benefit", benefit_why))
    about = {}
    if tenancies is None:
        about, more = _panel_tenancy(batch, src, owner, config, tokens)
        problems.extend(more)

    rejected = np.zeros(len(rows), dtype=bool)
    found = []
    for mask, field_name, reason in problems:
        where = np.flatnonzero(mask)
        if not len(where):
            continue
        rejected[where] = True
        value = (["<tenancy_ref withheld>"] * len(where) if field_name == "tenancy_ref"
                 else batch[field_name].take(pa.array(where)).to_pylist())
        found.append(pd.DataFrame({"landlord": landlord, "table": "rent_accounts", "file": src.name,
                                   "row": rows[where], "column": mapping.columns.get(field_name), "field": field_name,
                                   "value": value, "reason": reason[where] if reason.ndim else reason.item()}))
    keep = ~rejected
    month_days = months.to_numpy(dtype="datetime64[D]").astype(np.int64)
    kept = {"code": code_u[idx][keep], "month": month_days[midx][keep].astype(np.int32), "rent": rent[keep],
            "arrears": arrears[keep], "benefit": benefit[keep], "row": rows[keep],
            **{k: v[keep] for k, v in about.items()}}
    rejects = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=REJECT_COLUMNS)
    return kept, rejects


def _stream_panel(data: LandlordData, config: Config, tokens: nz.Tokens, pseudo: Pseudonymiser,
                  tenancies: pd.Series, out: Path) -> None:
    """Parse the panel batch by batch, keeping only compact numeric arrays, then drop
    repeated (tenancy, month) rows and write the landlord's part of the panel. Without a
    tenancies export, the panel's references are the tenancies (see _panel_tenancies)."""
    landlord = data.landlord
    derive = "tenancies" not in landlord.files
    codes = _Codes(None if derive else tenancies.to_numpy(dtype=object))
    required = schema.required_fields("rent_accounts")
    parts: dict[str, list[np.ndarray]] = {"code": [], "month": [], "rent": [], "arrears": [], "benefit": [],
                                          "row": []}
    if derive:
        parts |= {"hood": [], "start": [], "end": [], "household": []}
    files: list[FileAccount] = []
    for file_no, src in enumerate(data.panel):
        account = FileAccount(landlord.id, "rent_accounts", src.name, src.sha256())
        tally = diagnose.Tally()
        for batch, malformed in readers.batches(src, required, arrow=True):
            account.rows_in += len(batch[readers.ROW]) + len(malformed)
            skip, skipped = readers.skipped_rows(batch, src)
            if skipped:   # not records: rejected as such, never parsed
                _withhold(skipped, "rent_accounts")
                keep = pa.array(~skip)
                batch = {k: (v.filter(keep) if isinstance(v, pa.Array) else v[~skip]) for k, v in batch.items()}
            account.rejected += len(malformed) + len(skipped)
            for lines in (malformed, skipped):
                if lines:
                    data.panel_rejects.append(_reject_frame(landlord.id, "rent_accounts", src.name, lines))
            for item in malformed:
                tally.add(None, item["reason"], 1)
            filled: dict[str, int] = {}
            kept, rejects = _panel_batch(batch, src, config, tokens, pseudo, None if derive else tenancies, codes,
                                         owner=landlord, filled=filled)
            if len(rejects):
                data.panel_rejects.append(rejects[REJECT_COLUMNS])
                account.rejected += rejects["row"].nunique()
                _tally_panel(tally, rejects, batch)
            tally.filled.update({k: tally.filled[k] + v for k, v in filled.items()})   # optional fields
            account.kept += len(kept["row"])    # before repeated months are merged
            # file number in the high bits: rows of a later file sort after an earlier one's
            kept["row"] = kept["row"] + (file_no << 40)
            for k, v in kept.items():
                parts[k].append(v)
        tally.rows_in = account.rows_in
        problem = diagnose.problem(landlord.id, src.name, tally, src.mapping.columns, _kinds("rent_accounts"),
                                   src.mapping)
        if problem is not None:
            raise problem
        account.blank_rows = src.blank_rows
        account.ignored_columns = src.ignored
        account.absent_optional_columns = [src.mapping.columns[c] for c in src.absent_optional]
        data.accounts[f"rent_accounts/{src.name}"] = account
        files.append(account)
    arrays = {k: (np.concatenate(v) if v else np.array([], dtype=np.int64)) for k, v in parts.items()}
    names = codes.names()
    if derive and data.panel:
        arrays = _panel_tenancies(data, arrays, names, files, config)
    row = arrays["row"]
    in_row_order = bool((row[1:] > row[:-1]).all())     # as the files were read: then one key is enough
    order = (_by_tenancy_month(arrays["code"], arrays["month"]) if in_row_order
             else np.lexsort((row, arrays["month"], arrays["code"])))
    code, month = arrays["code"][order], arrays["month"][order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = (code[1:] == code[:-1]) & (month[1:] == month[:-1])
    # a repeated month counts against the file it came from
    for file_no, n in zip(*np.unique(arrays["row"][order][repeat] >> 40, return_counts=True)):
        files[int(file_no)].merged += int(n)
        files[int(file_no)].kept -= int(n)
    keep = order[~repeat]
    table = pa.table({
        "landlord": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(keep), np.int8)),
                                                   pa.array([landlord.id], pa.string())),
        "tenancy_id": _by_row_group(arrays["code"][keep], pa.array(names, pa.string())),
        "month": pa.array(arrays["month"][keep].astype("datetime64[D]"), pa.date32()),
        "rent_due": pa.array(arrays["rent"][keep], pa.float64()),
        "arrears": pa.array(arrays["arrears"][keep], pa.float64()),
        "housing_benefit": pa.array(arrays["benefit"][keep] == 1, pa.bool_(), mask=np.isnan(arrays["benefit"][keep])),
    })
    # the IDs are written as parquet's dictionary pages straight from their codes (no
    # column of millions of strings to build, then hash again); without the arrow schema
    # in the file, the columns read back as PANEL_SCHEMA's plain types (tested)
    pq.write_table(table, out, row_group_size=PANEL_ROW_GROUP, store_schema=False)


PANEL_ROW_GROUP = 1 << 20


def _by_row_group(code: np.ndarray, names: pa.Array) -> pa.ChunkedArray:
    """Tenancy IDs of sorted codes, one dictionary-encoded chunk per row group whose
    dictionary is the range of IDs that row group uses (small enough for parquet to keep
    as a dictionary page)."""
    chunks = []
    for start in range(0, len(code), PANEL_ROW_GROUP):
        c = code[start:start + PANEL_ROW_GROUP]
        lo, hi = int(c[0]), int(c[-1])
        chunks.append(pa.DictionaryArray.from_arrays(pa.array((c - lo).astype(np.int32)), names.slice(lo, hi - lo + 1)))
    return pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), pa.string()))


def _by_tenancy_month(code: np.ndarray, month: np.ndarray) -> np.ndarray:
    """The order of the panel's rows by tenancy code, then month, then row (the arrays
    are in row order): as np.lexsort((row, month, code)), by one stable sort of a single
    key, and no sort at all when the rows are already in that order (a panel exported
    tenancy by tenancy, month by month, as most are)."""
    if not len(code):
        return np.arange(0)
    m = month.astype(np.int64) - int(month.min())
    key = code.astype(np.int64) * (int(m.max()) + 1) + m
    if (key[1:] >= key[:-1]).all():
        return np.arange(len(key))
    return np.argsort(key, kind="stable")


def _panel_tenancies(data: LandlordData, arrays: dict[str, np.ndarray], names: np.ndarray,
                     files: list[FileAccount], config: Config) -> dict[str, np.ndarray]:
    """Tenancies derived from the rent panel (no tenancies export): one per reference,
    with the neighbourhood, start and end its rows give. A reference whose rows give two
    neighbourhoods, two starts or two ends, or an end before its start, could be read two
    ways: its rows are rejected with the reason. A household type that changes between
    months is left unknown. Returns the panel's rows without the rejected ones."""
    landlord = data.landlord
    mapping = data.panel[0].mapping
    code, rows = arrays["code"], arrays["row"]
    bad: list[tuple[np.ndarray, str, str]] = []     # (tenancy codes, field, reason)
    for key, field_name, what in (("hood", "neighbourhood", "two neighbourhoods"), ("start", "tenancy_start",
                                  "two tenancy starts"), ("end", "tenancy_end", "two tenancy ends")):
        said = arrays[key] != (-1 if key == "hood" else NO_DAY)
        bad.append((_disagreeing(code[said], arrays[key][said]), field_name,
                    f"tenancy reference seen with {what} in the rent panel"))
    # per tenancy code; the rows rejected below are whole tenancies
    first = {key: _first_said(code, arrays[key], missing, len(names))
             for key, missing in (("hood", -1), ("start", NO_DAY), ("end", NO_DAY), ("household", -1))}
    start, end, household = first["start"], first["end"], first["household"]
    said = arrays["household"] >= 0
    household[_disagreeing(code[said], arrays["household"][said])] = -1   # it changed: unknown
    backwards = np.flatnonzero((start != NO_DAY) & (end != NO_DAY) & (end < start))
    bad.append((backwards, "tenancy_end", "tenancy ends before it starts"))
    rejected = np.zeros(len(code), dtype=bool)
    for codes_, field_name, reason in bad:
        where = np.flatnonzero(np.isin(code, codes_))
        if not len(where):
            continue
        rejected[where] = True
        data.panel_rejects.append(pd.DataFrame({
            "landlord": landlord.id, "table": "rent_accounts",
            "file": [files[int(f)].file for f in rows[where] >> 40], "row": rows[where] & ((1 << 40) - 1),
            "column": mapping.columns.get(field_name), "field": field_name, "value": None, "reason": reason}))
    for file_no, n in zip(*np.unique(rows[rejected] >> 40, return_counts=True)):
        files[int(file_no)].kept -= int(n)
        files[int(file_no)].rejected += int(n)
    arrays = {k: v[~rejected] for k, v in arrays.items()}
    live = np.unique(arrays["code"])
    hood_ids = np.array([h.id for h in landlord.neighbourhoods] + [None], dtype=object)
    kinds = np.array([*config.vocabularies["categories"]["household_type"], None], dtype=object)
    as_date = lambda d: pd.to_datetime(d.astype("datetime64[D]"))  # noqa: E731  (NO_DAY is NaT)
    ends_said = all("tenancy_end" in src.positions for src in data.panel)
    data.derived_tenancies = pd.DataFrame({
        "tenancy_id": pd.array(names[live] if len(live) else [], dtype="string"),
        "neighbourhood_id": pd.array(hood_ids[first["hood"][live]], dtype="string"),
        "tenancy_start": as_date(start[live]).astype("datetime64[ns]"),
        "tenancy_end": as_date(end[live]).astype("datetime64[ns]"),
        "household_type": pd.array(kinds[household[live]], dtype="string"),
        "lead_birth_year": pd.array([pd.NA] * len(live), dtype="Int64"),
        "end_known": pd.array([ends_said] * len(live), dtype="boolean")})
    if not all("neighbourhood" in src.positions for src in data.panel):
        data.warnings.append(
            f"{landlord.id}: {', '.join(src.name for src in data.panel)}: rent panel without a tenancies export or a "
            f"neighbourhood column: its tenancies have no neighbourhood, so their arrears cannot be compared with "
            f"tenants of the same neighbourhoods (map 'neighbourhood' in files.rent_accounts.columns, or add the "
            f"tenancies export); the rows are kept")
    return arrays


def _first_said(code: np.ndarray, values: np.ndarray, missing, n: int) -> np.ndarray:
    """Per tenancy code (0..n-1), the value of its first row that says one (`missing` when none does)."""
    out = np.full(n, missing, dtype=np.int64)
    said = np.flatnonzero(values != missing)
    codes, first = np.unique(code[said], return_index=True)
    out[codes] = values[said][first]
    return out


def _disagreeing(code: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Tenancy codes whose rows say more than one value."""
    if not len(code):
        return np.array([], dtype=np.int64)
    pairs = np.unique(np.stack([code.astype(np.int64), values.astype(np.int64)]), axis=1)
    codes, n = np.unique(pairs[0], return_counts=True)
    return codes[n > 1]


def _tally_panel(tally: diagnose.Tally, rejects: pd.DataFrame, batch: dict) -> None:
    """Count one batch's rejects per field and reason (a batch has few); a reason seen for
    the first time keeps a sample of its values for the diagnosis."""
    counts = Counter(zip(rejects["field"].to_numpy(dtype=object), rejects["reason"].to_numpy(dtype=object)))
    for (name, reason), n in counts.items():
        values = None
        if tally.rejected[(name, reason)] == 0:
            mine = rejects[(rejects["field"] == name) & (rejects["reason"] == reason)]
            values = mine["value"].iloc[: diagnose.SAMPLE].tolist()
        tally.add(name, reason, n, values)


def _reject_frame(landlord: str, table: str, file: str, items: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(items)
    df.insert(0, "landlord", landlord)
    df.insert(1, "table", table)
    df.insert(2, "file", file)
    if "field" not in df:
        df["field"] = None
    return df[REJECT_COLUMNS]


def _rows_rejects(landlord: str, table: str, src: readers.Source, rows: Rows) -> pd.DataFrame:
    if not rows.rejects:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    r = pd.concat(rows.rejects, ignore_index=True)
    r["row"] = rows.frame[readers.ROW].to_numpy()[r["index"].to_numpy(dtype=np.int64)]
    r["landlord"], r["table"], r["file"] = landlord, table, src.name
    return r[REJECT_COLUMNS]


# --- processed tables ------------------------------------------------------------------------

def _kept(data: list[LandlordData], table: str, columns: list[str]) -> pd.DataFrame:
    frames = []
    for d in data:
        for _, rows in d.tables.get(table, []):
            f = rows.frame.loc[rows.kept, [c for c in columns if c in rows.frame]]   # a new frame already
            f.insert(0, "landlord", pd.Series(pd.arrays.ArrowStringArray(
                pa.repeat(pa.scalar(d.landlord.id, pa.large_string()), len(f))), index=f.index, dtype="string"))
            frames.append(f)
    if not frames:   # no landlord has this export: an empty table, typed as if it had
        return pd.DataFrame({c: pd.Series(dtype=_dtype(table, c)) for c in ["landlord", *columns]})
    return pd.concat(frames, ignore_index=True)


KIND_DTYPES = {"date": "datetime64[ns]", "month": "datetime64[ns]", "bool": "boolean", "int": "Int64",
               "number": "Float64", "duration": "Float64"}


def _dtype(table: str, column: str) -> str:
    f = FIELDS[table].get(column)
    if column == "duration_minutes":
        return "Float64"
    return KIND_DTYPES.get(f.kind, "string") if f else "string"


def build_tables(data: list[LandlordData], config: Config) -> dict[str, pd.DataFrame]:
    """The processed tables, from the kept rows. No direct identifier is selected."""
    lookup = {l.id: l for l in config.landlords.values()}
    sessions = _kept(data, "sessions", ["person_id", "session_date", "duration_minutes", "session_type", "provider"])
    sessions["duration_minutes"] = sessions["duration_minutes"].astype("Float64")
    outcomes = _kept(data, "outcomes", ["person_id", "outcome_type", "outcome_date", "contract_type",
                                        "legal_form", "sector"])
    checks = _checks(_kept(data, "business_checks", ["person_id", "check_date", "trading", *schema.HORIZONS]),
                     business_creations(outcomes), config.programme["programme"]["data_end"])
    questionnaires = _kept(data, "questionnaires", ["person_id", "wave", "response_date", "confidence",
                                                    *schema.WELLBEING_ITEMS])
    ambassadors = _kept(data, "ambassadors", ["person_id", "trained_date", "month", "active"])
    tenancies = _kept(data, "tenancies", ["tenancy_id", "neighbourhood", "tenancy_start", "tenancy_end",
                                          "lead_birth_date", "household_type"])
    tenancies["lead_birth_year"] = tenancies.pop("lead_birth_date").dt.year.astype("Int64")
    tenancies = tenancies.rename(columns={"neighbourhood": "neighbourhood_id"})
    tenancies["end_known"] = pd.array([True] * len(tenancies), dtype="boolean")   # an export: no end, not ended
    from_panels = [d.derived_tenancies.assign(landlord=pd.array([d.landlord.id] * len(d.derived_tenancies),
                                                                dtype="string"))
                   for d in data if d.derived_tenancies is not None]
    if from_panels:
        tenancies = pd.concat([tenancies, *from_panels], ignore_index=True)

    p = _kept(data, "participants", ["person_id", "neighbourhood", "sex", "birth_date", "ethnic_minority",
                                     "disability", "single_parent", "no_qualification", "employment_status",
                                     "entry_date", "assessment_date", "training_start_date", "training_completed",
                                     "exit_date", "tenancy_id", "registrations", "registered_by", "stage"])
    p = p.rename(columns={"neighbourhood": "neighbourhood_id", "stage": "recorded_stage"})
    p.insert(1, "country", p["landlord"].map({l.id: l.country for l in lookup.values()}).astype("string"))
    age = ((p["entry_date"] - p["birth_date"]).dt.days / 365.25).astype("float64")
    p["birth_year"] = p.pop("birth_date").dt.year.astype("Int64")
    p["age_at_entry"] = np.floor(age).astype("Int64")
    under, over = config.programme["thresholds"]["under_age"], config.programme["thresholds"]["over_age"]
    p["age_band"] = pd.Series(np.select([age < under, age > over], [f"<{under}", f">{over}"], f"{under}-{over}"),
                              index=p.index, dtype="string").where(age.notna())
    p["long_term_unemployed"] = (p["employment_status"] == "long_term_unemployed").astype("boolean")
    p.loc[p["employment_status"].isna(), "long_term_unemployed"] = pd.NA
    barrier_flags = ["disability", "single_parent", "no_qualification", "long_term_unemployed"]
    p["barriers_n"] = p[barrier_flags].astype("Int64").sum(axis=1, skipna=False).astype("Int64")
    p["tenancy_id"] = p["tenancy_id"].where(frames.isin(p["tenancy_id"], tenancies["tenancy_id"]))
    p["registrations"] = p["registrations"].fillna(1).astype("Int64")
    by = p.pop("registered_by")
    several = (by.notna() & by.ne(p["landlord"])).to_numpy()    # people registered by another landlord too: few
    also = np.full(len(p), "", dtype=object)
    also[several] = [",".join(x for x in rb.split(",") if x != l)
                     for rb, l in zip(by[several], p["landlord"][several])]
    p["also_registered_by"] = pd.Series(also, index=p.index, dtype="string")

    s = sessions.groupby("person_id")
    training = sessions[sessions["session_type"].eq("training")].groupby("person_id")
    p["sessions_n"] = p["person_id"].map(s.size()).fillna(0).astype("Int64")
    p["training_sessions_n"] = p["person_id"].map(training.size()).fillna(0).astype("Int64")
    p["session_hours"] = (p["person_id"].map(s["duration_minutes"].sum()).fillna(0) / 60).astype("Float64")
    p["first_session_date"] = frames.lookup(p["person_id"], s["session_date"].min())
    p["last_session_date"] = frames.lookup(p["person_id"], s["session_date"].max())

    firsts = outcomes.sort_values("outcome_date").drop_duplicates(["person_id", "outcome_type"])
    for kind, col in (("job", "job"), ("business", "business"), ("training", "further_training")):
        o = firsts[firsts["outcome_type"].eq(kind)].set_index("person_id")
        p[col] = frames.isin(p["person_id"], o.index).astype("boolean")
        p[f"{col}_date"] = frames.lookup(p["person_id"], o["outcome_date"])
        if kind == "job":
            p["contract_type"] = frames.lookup(p["person_id"], o["contract_type"]).astype("string")
    p["employment"] = (p["job"] | p["business"]).astype("boolean")
    p["employment_date"] = p[["job_date", "business_date"]].min(axis=1)
    recorded = p.pop("recorded_stage").astype("string")
    rank = recorded.map({s: i for i, s in enumerate(schema.STAGES)}).astype("float64").fillna(-1).to_numpy()
    # from training start, or from entry for people who never started: a person the
    # recorded stage says started training, on a date not known, has no such count
    start = p["training_start_date"].fillna(p["entry_date"])
    undated = p["training_start_date"].isna().to_numpy() & (rank >= schema.STAGES.index("training_started"))
    p["days_to_employment"] = (p["employment_date"] - start).dt.days.astype("Int64").mask(undated)
    p["is_ambassador"] = frames.isin(p["person_id"], ambassadors["person_id"]).astype("boolean")
    # furthest stage reached: what the dates and flags say, or the stage the landlord
    # recorded when it is further
    said = np.select(
        [p["employment"] | p["further_training"], p["training_completed"].fillna(False).astype(bool),
         p["training_start_date"].notna(), p["assessment_date"].notna()], [4, 3, 2, 1], 0)
    p["stage"] = pd.Series(np.array(schema.STAGES, dtype=object)[np.maximum(said, rank.astype(int))],
                           index=p.index, dtype="string")
    p["recorded_stage"] = recorded
    p = p.sort_values(["landlord", "entry_date", "person_id"], kind="stable").reset_index(drop=True)

    businesses = _businesses(outcomes, checks)
    tenancies["participant"] = frames.isin(tenancies["tenancy_id"], p["tenancy_id"].dropna()).astype("boolean")
    hoods = pd.DataFrame([{"neighbourhood_id": n.id, "name": n.name, "landlord": l.id, "country": l.country}
                          for l in config.landlords.values() for n in l.neighbourhoods],
                         columns=["neighbourhood_id", "name", "landlord", "country"]).astype("string")
    hoods["shared"] = pd.array([n.shared for l in config.landlords.values() for n in l.neighbourhoods],
                               dtype="boolean")
    return {"participants": p, "sessions": sessions, "outcomes": outcomes, "businesses": businesses,
            "business_checks": checks, "questionnaires": questionnaires, "ambassadors": ambassadors,
            "tenancies": tenancies, "neighbourhoods": hoods}


def _checks(rows: pd.DataFrame, created: pd.Series, data_end) -> pd.DataFrame:
    """One row per follow-up check: the dated ones as they are, and one per still-trading
    flag, dated the business's creation plus that many months. A horizon after the
    data's end (programme.data_end) is not a check yet: it is left out (the row's other
    flags count), so that survival counts it only once it could have been made."""
    dated = rows.loc[rows["check_date"].notna() & rows["trading"].notna(), ["landlord", "person_id", "check_date",
                                                                              "trading"]]
    when = frames.lookup(rows["person_id"], created)
    parts = []
    for name, months in schema.HORIZONS.items():
        sel = rows[name].notna() & when.notna()
        if not sel.any():
            continue
        d = pd.DataFrame({"landlord": rows.loc[sel, "landlord"], "person_id": rows.loc[sel, "person_id"],
                          "check_date": (when[sel] + pd.DateOffset(months=months)).astype("datetime64[ns]"),
                          "trading": rows.loc[sel, name].astype("boolean")})
        parts.append(d[d["check_date"] <= pd.Timestamp(data_end)])
    if not parts:
        return dated.reset_index(drop=True)
    flags = pd.concat(parts, ignore_index=True).drop_duplicates(["person_id", "check_date", "trading"])
    return pd.concat([dated, flags], ignore_index=True)


def _businesses(outcomes: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """One row per business created, with what the follow-up checks say of its survival:
    ceased at the first check that found it closed, else censored at the last check that
    found it trading (or at creation when never checked)."""
    b = (outcomes[outcomes["outcome_type"].eq("business")].sort_values("outcome_date")
         .drop_duplicates("person_id").rename(columns={"outcome_date": "created_date"}))
    b = b[["landlord", "person_id", "created_date", "legal_form", "sector"]].reset_index(drop=True)
    c = checks.merge(b[["person_id", "created_date"]], on="person_id")
    c = c[c["check_date"] >= c["created_date"]]
    closed = c[~c["trading"].astype(bool)].groupby("person_id")["check_date"].min()
    trading = c[c["trading"].astype(bool)].groupby("person_id")["check_date"].max()
    b["checks_n"] = b["person_id"].map(c.groupby("person_id").size()).fillna(0).astype("Int64")
    b["ceased"] = frames.isin(b["person_id"], closed.index).astype("boolean")
    b["ceased_date"] = frames.lookup(b["person_id"], closed)
    b["last_trading_date"] = frames.lookup(b["person_id"], trading)
    end = b["ceased_date"].fillna(b["last_trading_date"]).fillna(b["created_date"])
    b["survival_days"] = (end - b["created_date"]).dt.days.astype("Int64")
    return b


# --- the run -------------------------------------------------------------------------------

def code_version() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def _landlord_folders(raw: Path) -> list[str]:
    return sorted(p.name for p in raw.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _process_landlord(job) -> LandlordData | FileProblem:
    """Everything one landlord's exports need before people are linked across landlords:
    read, parse, check, pseudonymise, link its register's children (sessions, outcomes...)
    and stream the rent panel to its part file (_read_landlord, then _panel_landlord).
    Runs in a worker process (or a Dask task: cluster.py); a file problem is returned, not
    raised, so that it is reported with the others."""
    landlord, folder, config, pseudo, part = job
    data = _read_landlord((landlord, folder, config, pseudo))
    if isinstance(data, FileProblem):
        return data
    panel = _panel_landlord(_panel_job(data, config, pseudo, part))
    return panel if isinstance(panel, FileProblem) else _with_panel(data, panel)


def _read_landlord(job) -> LandlordData | FileProblem:
    """One landlord's exports but the rent panel: read, parsed, checked, pseudonymised, its
    register's children linked; `tenancy_refs` holds its tenancies' IDs by reference, for
    the panel."""
    landlord, folder, config, pseudo = job
    try:
        data = read_landlord(landlord, folder, config, _tokens(config))
        _link_register(data, pseudo)
        _link_children(data, config)
        data.tenancy_refs = _link_tenancies(data, pseudo)
        return data
    except FileProblem as exc:
        return exc


def _panel_job(data: LandlordData, config: Config, pseudo: Pseudonymiser, part: Path) -> tuple:
    refs, data.tenancy_refs = data.tenancy_refs, None    # sent once, to the panel's job
    return data.landlord, data.panel, refs, config, pseudo, part


def _panel_landlord(job) -> LandlordData | FileProblem:
    """One landlord's rent panel streamed to its part file; returns what the panel adds to
    the landlord's data (its files' accounts, rejects, warnings, tenancies derived from
    it). The part file is written under a temporary name (hidden: the readers of the
    processed folder skip it) and renamed into place whole at the end, so that an attempt
    lost mid-write (a Dask worker killed, whose task is run again elsewhere) never leaves
    a half-written part where the next reader looks for one."""
    landlord, sources, refs, config, pseudo, part = job
    data = LandlordData(landlord, panel=sources)
    tmp = part.with_name(f".{part.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        _stream_panel(data, config, _tokens(config), pseudo, refs, tmp)
        os.replace(tmp, part)
        return data
    except FileProblem as exc:
        return exc
    finally:
        tmp.unlink(missing_ok=True)


def _with_panel(data: LandlordData, panel: LandlordData) -> LandlordData:
    data.accounts.update(panel.accounts)
    data.panel_rejects.extend(panel.panel_rejects)
    data.derived_tenancies = panel.derived_tenancies
    data.warnings.extend(panel.warnings)
    data.warnings.extend(_copies(data))
    return data


class _Pool:
    """Landlords prepared in `workers` processes, in two jobs each: the exports
    (_read_landlord), then the rent panel (_panel_landlord), which needs the first's
    tenancies. All the exports first (the costliest first: `cost`, landlord -> (exports,
    panel), in bytes), then the panels, the costliest first: `reads` returns once the
    exports are in (and the panels of landlords whose tenancies come from their panel), so
    that the main process links people and builds the tables while the workers stream the
    other panels (`panels`); fourteen smaller jobs for seven landlords also end closer
    together than seven, which left one core idle while the last landlord finished."""

    def __init__(self, jobs: list[tuple], workers: int, cost: dict[str, tuple[float, float]]):
        workers = min(workers, len(jobs))     # no process that could never have a job
        self.workers, self.cost = workers, cost
        self.todo = sorted(jobs, key=lambda j: -cost[j[0].id][0])
        self.panel_jobs: list[tuple[float, bool, str, tuple]] = []
        self.waiting: dict = {}
        self.data: dict[str, LandlordData | FileProblem] = {}     # exports read (panel pending)
        self.done: dict[str, LandlordData | FileProblem] = {}     # panels streamed
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=lifeline.pool_context(),
                                        initializer=lifeline.bind, initargs=(os.getpid(),))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _start(self) -> None:
        while len(self.waiting) < self.workers and self.todo:
            landlord, folder, config, pseudo, part = self.todo.pop(0)
            future = self.pool.submit(_read_landlord, (landlord, folder, config, pseudo))
            self.waiting[future] = ("read", landlord.id, config, pseudo, part)
        if not self.todo:
            # every panel that can start is queued at once (the pool runs them in that
            # order), so that the workers go on while the main process builds the tables:
            # tenancies derived from a panel first (the tables need them), then the costliest
            self.panel_jobs.sort(key=lambda p: (p[1], p[0]))
            while self.panel_jobs:
                _, _, lid, job = self.panel_jobs.pop()
                self.waiting[self.pool.submit(_panel_landlord, job)] = ("panel", lid)

    def _collect(self, until) -> None:
        self._start()
        while self.waiting and not until():
            finished, _ = wait(list(self.waiting), return_when=FIRST_COMPLETED)
            for future in finished:
                kind, lid, *more = self.waiting.pop(future)
                result = future.result()
                if kind == "panel":
                    self.done[lid] = result
                    continue
                self.data[lid] = result
                if not isinstance(result, FileProblem):
                    config, pseudo, part = more
                    derive = "tenancies" not in result.landlord.files and bool(result.panel)
                    self.panel_jobs.append((self.cost[lid][1], derive, lid, _panel_job(result, config, pseudo, part)))
            self._start()

    def reads(self) -> dict[str, LandlordData | FileProblem]:
        """Every landlord's exports, read; a landlord whose tenancies come from its panel
        has its panel too, or is the panel's FileProblem."""
        def ready() -> bool:
            return not self.todo and len(self.data) == len(self.cost) and all(
                lid in self.done for lid, d in self.data.items()
                if not isinstance(d, FileProblem) and "tenancies" not in d.landlord.files and d.panel)
        self._collect(ready)
        out = dict(self.data)
        for lid, panel in list(self.done.items()):
            if lid in out and not isinstance(out[lid], FileProblem):
                out[lid] = panel if isinstance(panel, FileProblem) else _with_panel(out[lid], panel)
                self.done[lid] = None      # merged
        return out

    def panels(self) -> dict[str, LandlordData | FileProblem]:
        """The other landlords' panels (landlord -> what the panel adds, or its FileProblem)."""
        self._collect(lambda: False)
        return {lid: r for lid, r in self.done.items() if r is not None}


def _map(fn, jobs: list, workers: int):
    """fn over jobs, in order; in worker processes when there is more than one job and worker.
    The workers die with this process, even when it is killed with SIGKILL (lifeline)."""
    workers = min(workers, len(jobs))
    if workers <= 1:
        yield from map(fn, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=lifeline.pool_context(), initializer=lifeline.bind,
                             initargs=(os.getpid(),)) as pool:
        yield from pool.map(fn, jobs)


def _costs(landlord: Landlord, folder: Path) -> tuple[float, float]:
    """What reading a landlord's exports and its rent panel will cost, roughly, in bytes of
    CSV: an XLSX byte (compressed, and read cell by cell) counts as ten."""
    panel = landlord.files.get("rent_accounts")
    panel_files = set()
    if panel is not None:
        try:
            panel_files = set(readers.locate(landlord.id, folder, panel))
        except FileProblem:
            pass
    exports = rent = 0.0
    for p in folder.rglob("*") if folder.is_dir() else []:
        if p.is_file():
            size = p.stat().st_size * (10 if p.suffix.lower() in (".xlsx", ".xlsm") else 1)
            if p in panel_files:
                rent += size
            else:
                exports += size
    return exports, rent


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run(raw: Path, processed: Path, config: Config, secret: Path | None = None,
        say: Callable[[str], None] = lambda m: print(m, file=sys.stderr), workers: int | None = None,
        scheduler=None) -> Outcome:
    """Prepare every landlord found in `raw` into `processed`. Landlords are read in
    `workers` processes (default: one per core), or, with `scheduler` (the address of a Dask
    distributed scheduler, or a dask.distributed.Client), as tasks on that cluster's workers
    (cluster.prepare_map): refused before anything is read unless the connection is
    encrypted (tls://) or stays on this machine."""
    workers = default_workers() if workers is None else workers
    raw, processed = Path(raw), Path(processed)
    if scheduler is not None:
        from . import cluster   # imports Dask: only when asked for

        cluster.refuse_plain(scheduler.scheduler.address if hasattr(scheduler, "submit") else str(scheduler))
        raw, processed = raw.resolve(), processed.resolve()   # the paths every worker must see
    if not raw.is_dir():
        raise UserError(f"raw data folder {raw} does not exist (run 'increase-eval synth' for synthetic data, "
                        f"or put each landlord's exports in {raw}/<landlord id>/)")
    pseudo, created = load_or_create(secret)
    errors: list[str] = []
    folders = _landlord_folders(raw)
    for name in folders:
        if name not in config.landlords:
            errors.append(f"{name}: folder {raw / name} has no mapping (expected config/landlords/{name}.yml)")
    present = [l for l in config.landlords.values() if l.id in folders]
    if not present:
        raise UserError(f"no landlord folder in {raw} (expected one of: {', '.join(config.landlords)})")
    marker = raw / SYNTHETIC_MARKER
    synthetic = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None

    late: dict[str, FileProblem] = {}
    while True:
        try:
            return _run_once(raw, processed, config, pseudo, created, errors, present, synthetic, say, workers,
                             scheduler, late)
        except _LateProblem as exc:   # a panel failed after the tables were built: again, without it
            late.update(exc.problems)
            for lid in exc.problems:
                say(f"{config.landlords[lid].name}: rent panel unusable; preparing the others again without it")


class _LateProblem(Exception):
    """Rent panels that failed (FileProblem) while the tables were being built from their
    landlords' exports: the run starts again with those landlords skipped."""

    def __init__(self, problems: dict[str, FileProblem]):
        super().__init__(", ".join(problems))
        self.problems = problems


def _run_once(raw: Path, processed: Path, config: Config, pseudo: Pseudonymiser, created: bool, errors: list[str],
              present: list[Landlord], synthetic, say, workers: int, scheduler, late: dict[str, FileProblem]) -> Outcome:
    errors = list(errors)
    with store.staged(processed) as stage, contextlib.ExitStack() as stack:
        panel_dir = stage / "rent_accounts"
        panel_dir.mkdir()
        batches: list[LandlordData] = []
        # the largest landlords first, so that the workers end together; their results are
        # then taken in the configuration's order, as if read one after the other
        cost = {l.id: _costs(l, raw / l.id) for l in present if l.id not in late}
        first = sorted((l for l in present if l.id in cost), key=lambda l: -sum(cost[l.id]))
        jobs = [(l, raw / l.id, config, pseudo, panel_dir / f"{l.id}.parquet") for l in first]
        results: dict[str, LandlordData | FileProblem] = dict(late)
        pool = None
        if scheduler is None and min(workers, len(jobs)) > 1:
            pool = stack.enter_context(_Pool(jobs, workers, cost))
            results |= pool.reads()
        elif scheduler is None:
            results |= dict(zip((l.id for l in first), _map(_process_landlord, jobs, workers)))
        else:
            from . import cluster

            mapped = cluster.prepare_map(scheduler, _process_landlord, jobs, raw, stage, say)
            results |= dict(zip((l.id for l in first), mapped))
        for landlord in present:
            result = results[landlord.id]
            if isinstance(result, FileProblem):
                errors.append(f"{result} - {landlord.name} skipped")
            else:
                batches.append(result)
        order = {l.id: i for i, l in enumerate(config.landlords.values())}
        _link_participants(batches, order)
        _horizons_need_a_creation(batches)
        tables = build_tables(batches, config)
        # each table written in a thread while the next is validated (arrow writes without the GIL)
        with ThreadPoolExecutor(max_workers=1) as writer:
            writes = []
            for name, frame in tables.items():
                schema.processed(name).validate(frame, lazy=True)
                writes.append(writer.submit(frame.to_parquet, stage / f"{name}.parquet", index=False))
            for w in writes:
                w.result()
            if pool is not None:   # the panels still streaming
                panels = pool.panels()
                failed = {lid: p for lid, p in panels.items() if isinstance(p, FileProblem)}
                if failed:
                    raise _LateProblem(failed)
                for data in batches:
                    if data.landlord.id in panels:
                        _with_panel(data, panels[data.landlord.id])
            for landlord in present:
                result = results[landlord.id]
                say(f"skipped {landlord.name}: {result}" if isinstance(result, FileProblem)
                    else f"read {landlord.name}")

            accounts: list[FileAccount] = []
            rejects: list[pd.DataFrame] = []
            warnings: list[str] = []
            for data in batches:
                for table, items in data.tables.items():
                    for src, rows in items:
                        account = data.accounts[f"{table}/{src.name}"]
                        counts = rows.status.value_counts()
                        account.kept = int(counts.get("kept", 0))
                        account.rejected = int(counts.get("rejected", 0)) + len(rows.malformed) + len(rows.skipped)
                        account.merged = int(counts.get("merged", 0))
                        rejects.append(_rows_rejects(data.landlord.id, table, src, rows))
                        for lines in (rows.malformed, rows.skipped):
                            if lines:
                                rejects.append(_reject_frame(data.landlord.id, table, src.name, lines))
                rejects.extend(data.panel_rejects)
                accounts.extend(data.accounts.values())
                warnings.extend(data.warnings)
            tables["rejects"] = _reject_table(rejects)
            schema.processed("rejects").validate(tables["rejects"], lazy=True)
            tables["rejects"].to_parquet(stage / "rejects.parquet", index=False)
        panel_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in panel_dir.glob("*.parquet"))
        counts = {name: len(frame) for name, frame in tables.items()} | {"rent_accounts": panel_rows}
        by_reason = tables["rejects"]["reason"].value_counts().to_dict()
        unbalanced = [a for a in accounts if not a.balanced()]
        if unbalanced:   # an accounting bug, never a user error: refuse to publish it
            raise AssertionError(f"rows lost in accounting: {unbalanced}")
        for w in warnings:
            say(f"warning: {w}")
        store.write_json(stage / "manifest.json",
                         _manifest(config, accounts, errors, counts, by_reason, synthetic, warnings))
    return Outcome(accounts, errors, by_reason, counts, processed / "manifest.json", created, warnings)


class _Shape(dict):
    """str.translate table: letters to a/A, digits to 9, control characters to �, anything else kept."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = (("A" if ch.isupper() else "a") if ch.isalpha() else "9" if ch.isdigit()
               else "\ufffd" if nz.control_problem(ch) else ch)   # a NUL byte shows as �
        self[code] = out
        return out


_SHAPE = _Shape()


def shape(value) -> str | None:
    """What a rejected value looks like, not what it says ('3 March 2020' -> '9 Aaaaa 9999',
    '-30' -> '-99'), cut at 40 characters. A value in the wrong column can be a name, an
    address or a birth date (a shifted row, a note typed in the wrong cell): the text stays
    in the raw layer, where file, row and column find it; the shape says what went wrong.
    Withheld identifiers ('<birth_date withheld>') and spreadsheet errors stay as they are."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value)
    if text.endswith(" withheld>") or (text.strip().startswith("#") and len(text.strip()) <= 8):
        return text.strip()[:40]
    return text.translate(_SHAPE)[:40]


def _reject_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat([r for r in parts if not r.empty] or [pd.DataFrame(columns=REJECT_COLUMNS)],
                      ignore_index=True)
    table["row"] = table["row"].astype("Int64")
    values = table["value"].astype(object)
    unique = pd.unique(values.dropna())
    table["value"] = values.map(dict(zip(unique, (shape(v) for v in unique))))
    for c in REJECT_COLUMNS:
        if c != "row":
            table[c] = table[c].astype("string")
    return table.rename(columns={"value": "value_shape"})


def _manifest(config: Config, accounts: list[FileAccount], errors: list[str], counts: dict,
              by_reason: dict, synthetic: dict | None, warnings: list[str] = ()) -> dict:
    sources = sorted((a.landlord, a.table, a.file, a.sha256) for a in accounts)
    version = code_version()
    snapshot = hashlib.sha256(json.dumps([sources, config.digest(), version]).encode()).hexdigest()[:16]
    landlords = {}
    for l in config.landlords.values():
        mine = [a for a in accounts if a.landlord == l.id]
        landlords[l.id] = {"name": l.name, "country": l.country, "language": l.language,
                           "status": "processed" if mine else "not processed",
                           "files": [vars(a) for a in mine]}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": version,
        "config_sha256": config.digest(),
        "snapshot": snapshot,
        "synthetic": synthetic,
        "landlords": landlords,
        "tables": counts,
        "rejects_by_reason": by_reason,
        "errors": errors,
        "warnings": list(warnings),
        "totals": {k: sum(getattr(a, k) for a in accounts)
                   for k in ("rows_in", "kept", "rejected", "merged", "blank_rows")},
    }
