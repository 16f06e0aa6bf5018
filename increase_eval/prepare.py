"""prepare: raw exports -> data/processed (parquet tables + manifest).

Every raw row ends in exactly one place: kept, rejected (with landlord, file, row, column,
value and reason) or merged into another row as a duplicate; per source file
rows_in = kept + rejected + merged. A file that cannot be used skips its landlord, the
others go on, and the run ends non-zero. Direct identifiers are used to link people,
then dropped. The processed folder is replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__, frames, lifeline, normalise as nz, readers, schema, store
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
    "business_checks": ["person_id", "check_date"],
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


class Rows:
    """Disposition of the rows of one table of one landlord while it is processed."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame                        # parsed values; index is 0..n-1
        self.status = pd.Series("kept", index=frame.index, dtype=object)
        self.rejects: list[pd.DataFrame] = []
        self.malformed: list[dict] = []         # lines the CSV parser could not split

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


def parse(frame: pd.DataFrame, table: str, mapping: FileMapping, landlord: Landlord, config: Config,
          tokens: nz.Tokens) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw text -> typed canonical columns, and the problems found (index, field, value, reason)."""
    out: dict[str, pd.Series] = {}
    problems = []
    max_text = config.plausibility["max_text_length"]
    for name, f in FIELDS[table].items():
        if f.kind == "ignored":
            continue
        raw = frame[name] if name in frame else pd.Series([""] * len(frame), index=frame.index, dtype="string")
        if f.kind == "ref":
            values, why = nz.refs(raw, tokens)
        elif f.kind == "text":
            values, why = nz.texts(raw, tokens, max_text)
        elif f.kind == "date":
            values, why = nz.dates(raw, mapping.date_formats, tokens)
        elif f.kind == "month":
            values, why = nz.dates(raw, mapping.month_formats, tokens, month=True)
        elif f.kind == "bool":
            values, why = nz.booleans(raw, _booleans(config, mapping), tokens)
        elif f.kind == "category":
            values, why = nz.categories(raw, _spellings(config, mapping, f.vocab), tokens)
        elif f.kind == "neighbourhood":
            hoods = {n.id: (n.name, *n.aliases) for n in landlord.neighbourhoods}
            values, why = nz.categories(raw, hoods, tokens)
            why = why.map(lambda r: None if r is None else f"unknown neighbourhood of {landlord.name}",
                          na_action="ignore")
        elif f.kind in ("int", "number"):
            values, why = nz.numbers(raw, tokens, mapping.decimal, integer=f.kind == "int")
            if name == "duration" and mapping.units.get("duration", "minutes") == "hours":
                values = values * 60
        else:  # pragma: no cover - FIELDS is code
            raise AssertionError(f.kind)
        if f.required:
            absent = values.isna() & why.isna()
            why = why.where(~absent, "required value missing")
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
        required = schema.required_fields(table)
        unmapped = required - set(mapping.columns)
        if unmapped:
            raise ConfigError(f"{landlord.source}: files.{table}.columns must map {sorted(unmapped)}")
        for src in readers.open_sources(landlord.id, folder, mapping, schema.loaded_fields(table)):
            if table == "rent_accounts":
                data.panel.append(src)
                continue
            frame, malformed = readers.read(src, required)
            account = FileAccount(landlord.id, table, src.name, src.sha256(), rows_in=len(frame) + len(malformed),
                                  ignored_columns=src.ignored,
                                  absent_optional_columns=[mapping.columns[c] for c in src.absent_optional])
            parsed, problems = parse(frame, table, mapping, landlord, config, tokens)
            rows = Rows(parsed.reset_index(drop=True))
            rows.malformed = malformed
            _check(rows, frame.reset_index(drop=True), src, table, config, problems)
            data.tables.setdefault(table, []).append((src, rows))
            data.accounts[f"{table}/{src.name}"] = account
    return data


# --- linking -----------------------------------------------------------------------------

def _link_participants(batches: list[LandlordData], pseudo: Pseudonymiser, order: dict[str, int]) -> None:
    """Give every register row a person ID; merge the same person registered twice, at
    one landlord or at two (the earliest registration is kept)."""
    candidates = []
    for data in batches:
        for file_no, (src, rows) in enumerate(data.tables.get("participants", [])):
            f = rows.frame
            f["person_id"] = pseudo.person_keys(f["first_name"], f["last_name"], f["birth_date"])
            f["tenancy_id"] = pseudo.many("tenancy", data.landlord.id + "|" + f["tenancy_ref"])
            # one reference, two different people: the later row cannot be linked safely
            ok = rows.kept
            refs = f.loc[ok, ["participant_ref", "person_id", readers.ROW]]
            first_person = refs.groupby("participant_ref")["person_id"].transform("first")
            clash = refs.index[refs["person_id"] != first_person]
            rows.reject(clash, src.mapping.columns["participant_ref"],
                        "participant reference already used for another person", "participant_ref",
                        f["participant_ref"].astype("string"))
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
    refs = _ref_map(data)
    grace = pd.Timedelta(days=config.plausibility["outcome_grace_days"])
    for table, keys in CHILD_KEYS.items():
        for src, rows in data.tables.get(table, []):
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
            entry = pd.to_datetime(refs["entry_date"].reindex(ref).to_numpy())
            date_col = {"sessions": "session_date", "outcomes": "outcome_date", "business_checks": "check_date",
                        "questionnaires": "response_date", "ambassadors": "trained_date"}[table]
            early = rows.kept & f[date_col].notna() & (f[date_col].to_numpy() < (entry - grace))
            rows.reject(f.index[early], src.mapping.columns.get(date_col), f"{date_col.replace('_', ' ')} "
                        "before the participant's entry date", date_col, f[date_col].astype("string"))
            if table == "sessions":
                f["duration_minutes"] = f["duration"]
            live = f.loc[rows.kept]
            rows.merge(live.index[live.duplicated(keys)])


def _link_tenancies(data: LandlordData, pseudo: Pseudonymiser) -> set[str]:
    ids: set[str] = set()
    for _, rows in data.tables.get("tenancies", []):
        f = rows.frame
        f["tenancy_id"] = pseudo.many("tenancy", data.landlord.id + "|" + f["tenancy_ref"])
        live = f.loc[rows.kept]
        rows.merge(live.index[live.duplicated("tenancy_id")])
        ids |= set(f.loc[rows.kept, "tenancy_id"].dropna())
    return ids


# --- rent-account panel, streamed --------------------------------------------------------

PANEL_SCHEMA = pa.schema([("landlord", pa.string()), ("tenancy_id", pa.string()), ("month", pa.date32()),
                          ("rent_due", pa.float64()), ("arrears", pa.float64())])


def _distinct(array: pa.Array, rule) -> tuple[np.ndarray, tuple]:
    """Apply a column rule (a function of a pandas Series) to the distinct values of an
    arrow column only; return the row -> distinct index and the rule's outputs."""
    encoded = pc.dictionary_encode(array.fill_null(""))
    index = encoded.indices.to_numpy(zero_copy_only=False)
    return index, rule(pd.Series(encoded.dictionary.to_numpy(zero_copy_only=False), dtype="string"))


def _panel_numbers(array: pa.Array, decimal: str, tokens: nz.Tokens) -> tuple[np.ndarray, np.ndarray]:
    """Amounts of a panel column: vectorised for plain numbers, the number rule for the rest."""
    text = pc.utf8_trim_whitespace(array.fill_null(""))
    plain = (pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".") if decimal == ","
             else pc.replace_substring(text, ",", ""))
    ok = pc.match_substring_regex(plain, r"^-?\d+(\.\d+)?$").to_numpy(zero_copy_only=False)
    values = pc.cast(pc.if_else(pa.array(ok), plain, pa.scalar(None, pa.string())), pa.float64())
    values = values.to_numpy(zero_copy_only=False)
    why = np.full(len(values), None, dtype=object)
    slow = np.flatnonzero(~ok)
    if len(slow):
        parsed, problems = nz.numbers(pd.Series(text.take(pa.array(slow)).to_numpy(zero_copy_only=False),
                                                dtype="string"), tokens, decimal)
        values[slow] = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
        why[slow] = problems.to_numpy(dtype=object)
    return values, why


def _panel_batch(batch: dict, src: readers.Source, config: Config, tokens: nz.Tokens, pseudo: Pseudonymiser,
                 tenancy_ids: set[str], codes: dict[str, int]) -> tuple[dict, pd.DataFrame]:
    """One batch of the rent panel, parsed and checked with arrow and numpy: the same
    rules as `parse` and `schema.plausibility`, without a row ever becoming a Python object."""
    landlord, mapping = src.landlord, src.mapping
    p = config.plausibility
    lo, hi = (pd.Timestamp(d) for d in config.period())
    rows = batch[readers.ROW]
    problems: list[tuple[np.ndarray, str, str]] = []   # (row mask, field, reason)

    idx, (refs, ref_why) = _distinct(batch["tenancy_ref"], lambda u: nz.refs(u, tokens))
    tid_u = pseudo.many("tenancy", landlord + "|" + refs).to_numpy(dtype=object)
    ref_bad = np.where(refs.isna().to_numpy(), "required value missing", ref_why.to_numpy(dtype=object))
    known_u = np.array([t in tenancy_ids for t in tid_u], dtype=bool)
    code_u = np.array([codes.setdefault(t, len(codes)) if ok else -1 for t, ok in zip(tid_u, known_u)], dtype=np.int64)
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

    arrears, arrears_why = _panel_numbers(batch["arrears"], mapping.decimal, tokens)
    limit = p["max_abs_rent_balance"]
    arrears_why = np.where(pd.isna(arrears_why) & np.isnan(arrears), "required value missing", arrears_why)
    arrears_why = np.where(np.abs(np.nan_to_num(arrears)) > limit, f"balance beyond +/-{limit}", arrears_why)
    problems.append((pd.notna(arrears_why), "arrears", arrears_why))
    rent, rent_why = _panel_numbers(batch["rent_due"], mapping.decimal, tokens)
    bad_rent = ~np.isnan(rent) & ((rent < 0) | (rent > p["max_monthly_rent"]))
    rent_why = np.where(bad_rent, f"rent outside 0 to {p['max_monthly_rent']}", rent_why)
    problems.append((pd.notna(rent_why), "rent_due", rent_why))

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
            "arrears": arrears[keep], "row": rows[keep]}
    rejects = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=REJECT_COLUMNS)
    return kept, rejects


def _stream_panel(data: LandlordData, config: Config, tokens: nz.Tokens, pseudo: Pseudonymiser,
                  tenancy_ids: set[str], out: Path) -> None:
    """Parse the panel batch by batch, keeping only compact numeric arrays, then drop
    repeated (tenancy, month) rows and write the landlord's part of the panel."""
    landlord = data.landlord
    codes: dict[str, int] = {}
    required = schema.required_fields("rent_accounts")
    parts: dict[str, list[np.ndarray]] = {"code": [], "month": [], "rent": [], "arrears": [], "row": []}
    files: list[FileAccount] = []
    for file_no, src in enumerate(data.panel):
        account = FileAccount(landlord.id, "rent_accounts", src.name, src.sha256())
        for batch, malformed in readers.batches(src, required, arrow=True):
            account.rows_in += len(batch[readers.ROW]) + len(malformed)
            account.rejected += len(malformed)
            if malformed:
                data.panel_rejects.append(_reject_frame(landlord.id, "rent_accounts", src.name, malformed))
            kept, rejects = _panel_batch(batch, src, config, tokens, pseudo, tenancy_ids, codes)
            if len(rejects):
                data.panel_rejects.append(rejects[REJECT_COLUMNS])
                account.rejected += rejects["row"].nunique()
            account.kept += len(kept["row"])    # before repeated months are merged
            # file number in the high bits: rows of a later file sort after an earlier one's
            kept["row"] = kept["row"] + (file_no << 40)
            for k, v in kept.items():
                parts[k].append(v)
        account.ignored_columns = src.ignored
        data.accounts[f"rent_accounts/{src.name}"] = account
        files.append(account)
    arrays = {k: (np.concatenate(v) if v else np.array([], dtype=np.int64)) for k, v in parts.items()}
    order = np.lexsort((arrays["row"], arrays["month"], arrays["code"]))
    code, month = arrays["code"][order], arrays["month"][order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = (code[1:] == code[:-1]) & (month[1:] == month[:-1])
    # a repeated month counts against the file it came from
    for file_no, n in zip(*np.unique(arrays["row"][order][repeat] >> 40, return_counts=True)):
        files[int(file_no)].merged += int(n)
        files[int(file_no)].kept -= int(n)
    keep = order[~repeat]
    names = np.array(list(codes), dtype=object)
    table = pa.table({
        "landlord": pa.array([landlord.id] * len(keep), pa.string()),
        "tenancy_id": pa.array(names[arrays["code"][keep]] if len(keep) else [], pa.string()),
        "month": pa.array(arrays["month"][keep].astype("datetime64[D]"), pa.date32()),
        "rent_due": pa.array(arrays["rent"][keep], pa.float64()),
        "arrears": pa.array(arrays["arrears"][keep], pa.float64()),
    }, schema=PANEL_SCHEMA)
    pq.write_table(table, out, row_group_size=1 << 20)


def _reject_frame(landlord: str, table: str, file: str, items: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(items)
    df.insert(0, "landlord", landlord)
    df.insert(1, "table", table)
    df.insert(2, "file", file)
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
            f = rows.frame.loc[rows.kept, [c for c in columns if c in rows.frame]].copy()
            f.insert(0, "landlord", pd.Series(d.landlord.id, index=f.index, dtype="string"))
            frames.append(f)
    if not frames:   # no landlord has this export: an empty table, typed as if it had
        return pd.DataFrame({c: pd.Series(dtype=_dtype(table, c)) for c in ["landlord", *columns]})
    return pd.concat(frames, ignore_index=True)


KIND_DTYPES = {"date": "datetime64[ns]", "month": "datetime64[ns]", "bool": "boolean", "int": "Int64",
               "number": "Float64"}


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
    checks = _kept(data, "business_checks", ["person_id", "check_date", "trading"])
    questionnaires = _kept(data, "questionnaires", ["person_id", "wave", "response_date", "confidence",
                                                    *schema.WELLBEING_ITEMS])
    ambassadors = _kept(data, "ambassadors", ["person_id", "trained_date", "month", "active"])
    tenancies = _kept(data, "tenancies", ["tenancy_id", "neighbourhood", "tenancy_start", "tenancy_end",
                                          "lead_birth_date", "household_type"])
    tenancies["lead_birth_year"] = tenancies.pop("lead_birth_date").dt.year.astype("Int64")
    tenancies = tenancies.rename(columns={"neighbourhood": "neighbourhood_id"})

    p = _kept(data, "participants", ["person_id", "neighbourhood", "sex", "birth_date", "ethnic_minority",
                                     "disability", "single_parent", "no_qualification", "employment_status",
                                     "entry_date", "assessment_date", "training_start_date", "training_completed",
                                     "exit_date", "tenancy_id", "registrations", "registered_by"])
    p = p.rename(columns={"neighbourhood": "neighbourhood_id"})
    p.insert(1, "country", p["landlord"].map(lambda l: lookup[l].country))
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
    p["also_registered_by"] = pd.Series([",".join(x for x in rb.split(",") if x != l) if isinstance(rb, str) else ""
                                         for rb, l in zip(p.pop("registered_by"), p["landlord"])],
                                        index=p.index, dtype="string")

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
    start = p["training_start_date"].fillna(p["entry_date"])
    p["days_to_employment"] = (p["employment_date"] - start).dt.days.astype("Int64")
    p["is_ambassador"] = frames.isin(p["person_id"], ambassadors["person_id"]).astype("boolean")
    p["stage"] = pd.Series(np.select(
        [p["employment"] | p["further_training"], p["training_completed"].fillna(False).astype(bool),
         p["training_start_date"].notna(), p["assessment_date"].notna()],
        ["outcome", "training_completed", "training_started", "assessed"], "engaged"), index=p.index, dtype="string")
    p = p.sort_values(["landlord", "entry_date", "person_id"], kind="stable").reset_index(drop=True)

    businesses = _businesses(outcomes, checks)
    participant_tenancies = set(p["tenancy_id"].dropna())
    tenancies["participant"] = frames.isin(tenancies["tenancy_id"], participant_tenancies).astype("boolean")
    hoods = pd.DataFrame([{"neighbourhood_id": n.id, "name": n.name, "landlord": l.id, "country": l.country}
                          for l in config.landlords.values() for n in l.neighbourhoods]).astype("string")
    return {"participants": p, "sessions": sessions, "outcomes": outcomes, "businesses": businesses,
            "business_checks": checks, "questionnaires": questionnaires, "ambassadors": ambassadors,
            "tenancies": tenancies, "neighbourhoods": hoods}


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
    read, parse, check, pseudonymise tenancies and stream the rent panel to its part file.
    Runs in a worker process; a file problem is returned, not raised, so that it is
    reported with the others."""
    landlord, folder, config, pseudo, part = job
    try:
        data = read_landlord(landlord, folder, config, _tokens(config))
        tenancy_ids = _link_tenancies(data, pseudo)
        _stream_panel(data, config, _tokens(config), pseudo, tenancy_ids, part)
        return data
    except FileProblem as exc:
        part.unlink(missing_ok=True)
        return exc


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


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run(raw: Path, processed: Path, config: Config, secret: Path | None = None,
        say: Callable[[str], None] = lambda m: print(m, file=sys.stderr), workers: int | None = None) -> Outcome:
    """Prepare every landlord found in `raw` into `processed`. Landlords are read in
    `workers` processes (default: one per core)."""
    workers = default_workers() if workers is None else workers
    raw, processed = Path(raw), Path(processed)
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

    with store.staged(processed) as stage:
        panel_dir = stage / "rent_accounts"
        panel_dir.mkdir()
        batches: list[LandlordData] = []
        jobs = [(l, raw / l.id, config, pseudo, panel_dir / f"{l.id}.parquet") for l in present]
        for landlord, result in zip(present, _map(_process_landlord, jobs, workers)):
            if isinstance(result, FileProblem):
                errors.append(f"{result} - {landlord.name} skipped")
                say(f"skipped {landlord.name}: {result}")
                continue
            batches.append(result)
            say(f"read {landlord.name}")
        order = {l.id: i for i, l in enumerate(config.landlords.values())}
        _link_participants(batches, pseudo, order)
        for data in batches:
            _link_children(data, config)

        accounts: list[FileAccount] = []
        rejects: list[pd.DataFrame] = []
        for data in batches:
            for table, items in data.tables.items():
                for src, rows in items:
                    account = data.accounts[f"{table}/{src.name}"]
                    counts = rows.status.value_counts()
                    account.kept = int(counts.get("kept", 0))
                    account.rejected = int(counts.get("rejected", 0)) + len(rows.malformed)
                    account.merged = int(counts.get("merged", 0))
                    rejects.append(_rows_rejects(data.landlord.id, table, src, rows))
                    if rows.malformed:
                        rejects.append(_reject_frame(data.landlord.id, table, src.name, rows.malformed))
            rejects.extend(data.panel_rejects)
            accounts.extend(data.accounts.values())
        tables = build_tables(batches, config)
        tables["rejects"] = _reject_table(rejects)
        for name, frame in tables.items():
            schema.processed(name).validate(frame, lazy=True)
            frame.to_parquet(stage / f"{name}.parquet", index=False)
        panel_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in panel_dir.glob("*.parquet"))
        counts = {name: len(frame) for name, frame in tables.items()} | {"rent_accounts": panel_rows}
        by_reason = tables["rejects"]["reason"].value_counts().to_dict()
        unbalanced = [a for a in accounts if not a.balanced()]
        if unbalanced:   # an accounting bug, never a user error: refuse to publish it
            raise AssertionError(f"rows lost in accounting: {unbalanced}")
        store.write_json(stage / "manifest.json",
                         _manifest(config, accounts, errors, counts, by_reason, synthetic))
    return Outcome(accounts, errors, by_reason, counts, processed / "manifest.json", created)


class _Shape(dict):
    """str.translate table: letters to a/A, digits to 9, anything else kept."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = ("A" if ch.isupper() else "a") if ch.isalpha() else "9" if ch.isdigit() else ch
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
              by_reason: dict, synthetic: dict | None) -> dict:
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
        "totals": {k: sum(getattr(a, k) for a in accounts) for k in ("rows_in", "kept", "rejected", "merged")},
    }
