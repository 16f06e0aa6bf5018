"""check: a dry run of each landlord's mapping over its exports, in seconds.

For every file a mapping names, `check` reads it with the readers `prepare` uses, parses
each mapped column with the same rules (`prepare.parse`) and the same plausibility rules
(`schema.plausibility`), and says, per column: the canonical field it feeds, how many
cells are filled, the share of those that parse, and the commonest failing values as
SHAPES (`99/99/9999 x 312`: letters -> a/A, digits -> 9), never the values themselves,
with the reason. It lists the columns of a file nobody reads (their headers only). A
large file is sampled: its first `rows` data rows (50,000 by default), and the report
says so. It writes nothing.

A column "parses" when at most `tolerance` of its filled cells fail (1% by default):
a few stray values are rows `prepare` will set aside with a reason; more means the
mapping reads the column wrongly (a date format, a decimal mark, missing spellings).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import normalise as nz, prepare, readers, schema
from .config import Config, FileMapping, Landlord
from .errors import FileProblem, UserError
from .schema import FIELDS

ROWS = 50_000          # data rows read from a file before it is called sampled
TOLERANCE = 0.01       # share of a column's filled cells that may fail before it "does not parse"
TOP_SHAPES = 3         # failing shapes shown per reason
OUT_OF_RANGE = 0.05    # share of out-of-range values that makes check ask whether the format or unit is right
SWAP = {"%d": "%m", "%m": "%d"}


# --- what check reports ----------------------------------------------------------------------

@dataclass
class Failing:
    shape: str          # letters -> a/A, digits -> 9; "<withheld>" for an identifier's value with letters
    count: int
    reason: str


@dataclass
class ColumnReport:
    header: str
    field: str
    reads_as: str
    status: str         # ok | rejects | fails | absent | empty | not read
    filled: int = 0
    parsed: int = 0
    implausible: int = 0
    blank_required: int = 0
    failing: list[Failing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return None if not self.filled else self.parsed / self.filled


@dataclass
class FileReport:
    table: str
    file: str
    how: str            # csv, utf-8, ';', header on line 1 / xlsx, sheet ..., header on row 4
    rows: int = 0       # data rows checked
    sampled: bool = False
    skipped: int = 0    # rows set aside by skip_rows
    malformed: int = 0  # lines the CSV parser could not split
    columns: list[ColumnReport] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


@dataclass
class LandlordReport:
    id: str
    name: str
    mapping: str
    folder: str
    files: list[FileReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)     # file-level problems, one line each

    @property
    def failing_columns(self) -> list[tuple[FileReport, ColumnReport]]:
        return [(f, c) for f in self.files for c in f.columns if c.status == "fails"]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.failing_columns

    def verdict(self) -> str:
        who = f"{self.name} ({self.id})"
        if self.problems:
            return (f"{who}: CANNOT READ - {len(self.problems)} file problem(s) above; prepare would skip this "
                    "landlord until they are fixed")
        bad = self.failing_columns
        if bad:
            where = ", ".join(f"{f.file}: {c.header}" for f, c in bad[:4]) + (" ..." if len(bad) > 4 else "")
            return (f"{who}: FAILS - {len(bad)} column(s) do not parse ({where}); fix the mapping "
                    "(see the notes) and run check again")
        rejects = sum(x.count for f in self.files for c in f.columns for x in c.failing)
        warn = sum(1 for f in self.files for c in f.columns if c.status in ("absent", "empty")) + \
            sum(len(c.notes) for f in self.files for c in f.columns if c.status != "not read")
        tail = f"; prepare will set aside {rejects:,} value(s) shown above with their reason" if rejects else ""
        tail += f"; {warn} note(s) to read" if warn else ""
        return f"{who}: OK - every mapped column of {len(self.files)} file(s) parses{tail}"


# --- reading --------------------------------------------------------------------------------------

def _tokens(config: Config) -> nz.Tokens:
    v = config.vocabularies
    return nz.Tokens(v.get("missing", []), v.get("spreadsheet_errors", []))


def _sample(src: readers.Source, required: set[str], rows: int) -> tuple[pd.DataFrame, int, bool]:
    """The first `rows` data rows of one file as text columns (+ ROW), the number of
    malformed lines among them, and whether the file has more rows than that."""
    if src.mapping.format == "xlsx":
        frame, malformed = readers.read(src, required)
        return frame.iloc[:rows].reset_index(drop=True), len(malformed), len(frame) > rows
    parts, malformed, have, more = [], 0, 0, False
    stream = readers.batches(src, required, arrow=True)
    try:
        for batch, bad in stream:
            if have >= rows:
                more = True
                break
            n = len(batch[readers.ROW])
            take = min(n, rows - have)
            more = take < n
            parts.append(pd.DataFrame({
                k: (v.slice(0, take).to_pandas(types_mapper=pd.ArrowDtype).astype("string") if k != readers.ROW
                    else v[:take]) for k, v in batch.items()}))
            malformed += len(bad)
            have += take
            if more:
                break
    finally:
        stream.close()
    if not parts:
        cols = {c: pd.Series([], dtype="string") for c in (*src.positions, *src.absent_optional)}
        return pd.DataFrame({**cols, readers.ROW: np.array([], dtype=np.int64)}), malformed, False
    return pd.concat(parts, ignore_index=True), malformed, more


def _how(src: readers.Source) -> str:
    m = src.mapping
    if m.format == "xlsx":
        sheet = (f"sheet '{m.sheet}'" if isinstance(m.sheet, str) else f"sheet {m.sheet + 1}" if m.sheet
                 else "first sheet")
        return f"xlsx, {sheet}, header on row {src.header_line}"
    delim = {"\t": "tab", " ": "space"}.get(m.delimiter, f"'{m.delimiter}'")
    return f"csv, {m.encoding}, {delim}, header on line {src.header_line}"


# --- one column -----------------------------------------------------------------------------------

def _human(fmt: str) -> str:
    return (fmt.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy").replace("%y", "yy")
            .replace("%H", "hh").replace("%M", "mi").replace("%S", "ss").replace("%b", "mmm").replace("%B", "mmmm"))


def reads_as(table: str, name: str, mapping: FileMapping, config: Config) -> str:
    f = FIELDS[table][name]
    if f.kind == "ignored":
        return "not read (identifier)"
    if f.kind == "date":
        return "date " + " or ".join(_human(x) for x in mapping.date_formats)
    if f.kind == "month":
        return "month " + " or ".join(_human(x) for x in mapping.month_formats)
    if f.kind == "bool":
        if name in mapping.vocab:
            return "yes/no from categories"
        words = [*mapping.booleans.get("true", ())[:1], *mapping.booleans.get("false", ())[:1]]
        return "yes/no" + (f" ({'/'.join(words)})" if len(words) == 2 else "")
    if f.kind == "category":
        return f"category {f.vocab}"
    if f.kind in ("int", "number"):
        return ("whole number" if f.kind == "int" else "number") + (" (decimal ',')" if mapping.decimal == "," else "")
    if f.kind == "duration":
        return f"duration in {mapping.units.get('duration', 'minutes')}"
    return {"ref": "reference", "text": "text", "neighbourhood": "neighbourhood"}[f.kind]


def _filled(raw: pd.Series, tokens: nz.Tokens) -> np.ndarray:
    """Cells holding something: not blank, not a missing-value token (N/A, -, ?).
    Decided once per distinct value, as the cleaning rules do; a value too long for a
    token, or (when no token has one) with a digit, holds something without asking."""
    codes, uniques = pd.factorize(raw.astype("string").fillna(""), sort=False)
    if not len(uniques):
        return np.zeros(len(codes), dtype=bool)
    text = pd.Series(uniques, dtype="string").str.strip()
    ask = (text.str.len() <= tokens.longest).to_numpy(dtype=bool)
    if not tokens.digits:
        ask &= ~text.str.contains(r"\d", regex=True).to_numpy(dtype=bool)
    holds = np.ones(len(uniques), dtype=bool)
    asked = np.flatnonzero(ask)
    holds[asked] = [tokens.classify(str(u)) != "missing" for u in text.to_numpy(dtype=object)[asked]]
    return holds[codes]


def _shape(value, identifier: bool) -> str:
    shown = prepare.shape(None if value is None else str(value).strip()) or ""   # the rules read it stripped
    if identifier and re.search(r"[aA]", shown) and not shown.startswith("#"):
        return "<withheld>"      # an identifier's value with letters: not even its shape
    return shown


def _failing(values: list, reasons: list, identifier: bool) -> list[Failing]:
    counts = Counter((_shape(v, identifier), r) for v, r in zip(values, reasons))
    by_reason: dict[str, list[tuple[str, int]]] = {}
    for (shape, reason), n in counts.most_common():
        by_reason.setdefault(reason, []).append((shape, n))
    out = []
    for reason, shapes in sorted(by_reason.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        top = shapes[:TOP_SHAPES]
        out += [Failing(s, n, reason) for s, n in top]
        rest = shapes[TOP_SHAPES:]
        if rest:
            out.append(Failing(f"{len(rest)} other shape(s)", sum(n for _, n in rest), reason))
    return out


def _date_hint(values: list[str], mapping: FileMapping) -> str | None:
    """Which date formats would read the failing values (the draft's candidates)."""
    from .draft import DATE_CANDIDATES, date_fits

    fits = date_fits(values, DATE_CANDIDATES)
    if not fits:
        return None
    words = [_human(f) for f in fits]
    if len(fits) == 1:
        return f"these values read as {words[0]}: add it to date_formats ([{words[0]}])"
    return (f"these values read as {' and as '.join(words)} (no day above 12): check in the export which one "
            "it is and add it to date_formats; check will not guess")


def _ambiguous(raw: pd.Series, filled: np.ndarray, mapping: FileMapping) -> str | None:
    """A date column whose every value also reads with day and month swapped."""
    formats = [f for f in mapping.date_formats if "%d" in f and "%m" in f]
    if not formats:
        return None
    distinct = pd.unique(raw[filled].astype("string").str.strip())
    if len(distinct) == 0:
        return None
    distinct = pd.Series(distinct, dtype="string")
    for fmt in formats:
        swapped = re.sub("%[dm]", lambda m: SWAP[m.group(0)], fmt)
        a = pd.to_datetime(distinct, format=fmt, errors="coerce")
        if a.notna().sum() < 3:
            continue
        b = pd.to_datetime(distinct, format=swapped, errors="coerce")
        if (b.notna() | a.isna()).all() and (a != b).any():
            return (f"every date also reads as {_human(swapped)} (no day above 12): check that {_human(fmt)} "
                    "is right")
    return None


def check_column(table: str, name: str, header: str, raw: pd.Series, problems: pd.DataFrame,
                 implausible: pd.DataFrame, mapping: FileMapping, config: Config, tokens: nz.Tokens,
                 required: set[str], tolerance: float, absent: bool) -> ColumnReport:
    f = FIELDS[table][name]
    col = ColumnReport(header, name, reads_as(table, name, mapping, config), "ok")
    if absent:
        col.status = "absent"
        col.notes.append("header not in this file: the field stays empty")
        return col
    identifier = f.identifier
    filled = _filled(raw, tokens)
    col.filled = int(filled.sum())
    mine = problems[problems["field"] == name] if len(problems) else problems
    blank = mine["reason"].eq("required value missing") if len(mine) else pd.Series([], dtype=bool)
    col.blank_required = int(blank.sum())
    bad = mine[~blank.to_numpy()] if len(mine) else mine
    col.parsed = col.filled - len(bad)
    reasons = list(bad["reason"]) if len(bad) else []
    values = list(bad["value"]) if len(bad) else []
    wrong = implausible[implausible["column"] == name] if len(implausible) else implausible
    if len(wrong):
        col.implausible = len(wrong)
        values += list(raw.loc[wrong["index"]].to_numpy(dtype=object))
        reasons += list(wrong["reason"])
    col.failing = _failing(values, reasons, identifier)
    if col.filled == 0:
        col.status = "empty"
        if name in required and len(raw):
            col.status = "fails"
            col.notes.append(f"no value in {len(raw):,} rows, and {name} is required: every row would be set aside")
        elif len(raw):
            col.notes.append("no value in any row")
        return col
    if len(bad) > tolerance * col.filled:
        col.status = "fails"
    elif len(bad) or col.implausible:
        col.status = "rejects"
    if col.blank_required:
        col.notes.append(f"blank in {col.blank_required:,} row(s): {name} is required, so prepare sets them aside")
    if col.implausible >= 5 and col.implausible > OUT_OF_RANGE * col.filled:
        col.notes.append(f"{col.implausible:,} value(s) out of range: is the format or unit right?")
    if f.kind == "date":
        if col.status == "fails":
            failing = [str(v).strip() for v, r in zip(values, reasons) if str(r).startswith("not a date")]
            hint = _date_hint(list(dict.fromkeys(failing)), mapping)
            if hint:
                col.notes.append(hint)
        else:
            note = _ambiguous(raw, filled, mapping)
            if note:
                col.notes.append(note)
    if col.status == "fails" and f.kind in ("int", "number", "duration"):
        other = "," if mapping.decimal == "." else "."
        sample = [str(v) for v in values[:2000]]
        if sum(bool(re.fullmatch(rf"-?\d+\{other}\d{{1,2}}", v.strip())) for v in sample) > len(sample) / 2:
            col.notes.append(f"these numbers are written with a decimal '{other}': set decimal: '{other}'")
    if col.status == "fails" and f.kind == "category":
        col.notes.append(f"spellings not in the {f.vocab} vocabulary: add them under vocab: {f.vocab}: (increase-eval "
                         "draft lists the spellings of a landlord's category columns)")
    if col.status == "fails" and f.kind == "neighbourhood":
        col.notes.append("spellings not among the landlord's neighbourhoods: add them as aliases")
    if col.status == "fails" and f.kind == "bool":
        col.notes.append("words not among the yes/no words: add them under booleans (or vocab for a category column)")
    return col


# --- one file ------------------------------------------------------------------------------------

def check_file(src: readers.Source, landlord: Landlord, config: Config, tokens: nz.Tokens, rows: int,
               tolerance: float, not_loaded: set[str]) -> FileReport:
    table, mapping = src.table, src.mapping
    required_cols = prepare.required_columns(table, mapping)
    frame, malformed, sampled = _sample(src, required_cols, rows)
    report = FileReport(table, src.name, _how(src), rows=len(frame), sampled=sampled, malformed=malformed)
    skip, skipped = readers.skipped_rows(frame, src)
    if len(skipped):
        frame = frame.loc[~skip].reset_index(drop=True)
        report.skipped = len(skipped)
    required = prepare.required_fields(table, mapping)
    parsed, problems = prepare.parse(frame, table, mapping, landlord, config, tokens, required, src.absent_optional)
    try:
        implausible = schema.implausible(parsed, schema.plausibility(table, config))
    except Exception:   # pragma: no cover - a plausibility rule that cannot run is reported, not fatal
        implausible = pd.DataFrame(columns=["index", "column", "reason"])
    folded = {nz.fold(h) for h in src.headers}
    for name, header in mapping.columns.items():
        if name not in FIELDS[table]:
            continue
        if FIELDS[table][name].kind == "ignored" or name in not_loaded:
            col = ColumnReport(header, name, reads_as(table, name, mapping, config), "not read")
            present = nz.fold(header) in folded
            if name in not_loaded:
                col.reads_as = "not read (the tenancies export gives it)"
            if not present:
                col.notes.append("header not in this file")
            report.columns.append(col)
            continue
        raw = frame[name] if name in frame else pd.Series([""] * len(frame), dtype="string")
        report.columns.append(check_column(table, name, header, raw, problems, implausible, mapping, config,
                                           tokens, required, tolerance, absent=name in src.absent_optional))
    report.unread = list(src.ignored)
    if malformed:
        report.hints.append(f"{malformed:,} line(s) with the wrong number of fields (a stray "
                            f"'{mapping.delimiter}' or quote?): prepare sets them aside")
    return report


def check_landlord(landlord: Landlord, folder: Path, config: Config, rows: int = ROWS,
                   tolerance: float = TOLERANCE) -> LandlordReport:
    out = LandlordReport(landlord.id, landlord.name, str(landlord.source), str(folder))
    if not folder.is_dir():
        out.problems.append(f"{landlord.id}: folder {folder} not found (expected the landlord's exports there)")
        return out
    tokens = _tokens(config)
    for table in prepare.TABLE_ORDER:
        mapping = landlord.files.get(table)
        if mapping is None:
            continue
        load = schema.loaded_fields(table)
        not_loaded: set[str] = set()
        if table == "rent_accounts" and "tenancies" in landlord.files:
            not_loaded = prepare.PANEL_TENANCY_FIELDS & set(mapping.columns)
            load -= prepare.PANEL_TENANCY_FIELDS
        try:
            sources = readers.open_sources(landlord.id, folder, mapping, load)
        except FileProblem as exc:
            out.problems.append(str(exc))
            continue
        for src in sources:
            try:
                out.files.append(check_file(src, landlord, config, tokens, rows, tolerance, not_loaded))
            except FileProblem as exc:
                out.problems.append(str(exc))
    return out


def _check_job(job) -> LandlordReport:
    return check_landlord(*job)


def run(raw: Path, config: Config, only: list[str] | None = None, rows: int = ROWS,
        tolerance: float = TOLERANCE, workers: int | None = None) -> tuple[list[LandlordReport], list[str]]:
    """Check the listed landlords (default: every landlord with a folder in `raw`), in
    `workers` processes (default: one per core); return their reports and the lines about
    folders and mappings that do not match."""
    raw = Path(raw)
    if not raw.is_dir():
        raise UserError(f"raw data folder {raw} does not exist (put each landlord's exports in {raw}/<landlord id>/)")
    notes: list[str] = []
    folders = {p.name for p in raw.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    if only:
        ids = list(dict.fromkeys(only))
    else:
        ids = [lid for lid in config.landlords if lid in folders]
        for name in sorted(folders - set(config.landlords)):
            notes.append(f"{name}: folder {raw / name} has no mapping (expected config/landlords/{name}.yml; "
                         f"'increase-eval draft {name} {raw / name}' writes a first one)")
        if not ids and not notes:
            raise UserError(f"no landlord folder in {raw} (expected one of: {', '.join(config.landlords)})")
    jobs = [(config.landlords[lid], raw / lid, config, rows, tolerance) for lid in ids]
    workers = min(prepare.default_workers() if workers is None else workers, len(jobs))
    if workers <= 1:
        return [_check_job(j) for j in jobs], notes
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_check_job, jobs)), notes


# --- printing -----------------------------------------------------------------------------------

def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _percent(col: ColumnReport) -> str:
    if col.status in ("not read", "absent"):
        return ""
    if not col.filled:
        return "-"
    share = col.parsed / col.filled
    if col.parsed == col.filled:
        return "100%"
    return f"{np.floor(share * 1000) / 10:.1f}%"    # never rounded up to 100%


def _failing_text(col: ColumnReport) -> str:
    parts = []
    for reason in dict.fromkeys(f.reason for f in col.failing):
        shapes = ", ".join(f"{f.shape} x {f.count:,}" for f in col.failing if f.reason == reason)
        parts.append(f"{shapes}: {reason}")
    return "; ".join(parts)


STATUS_WORDS = {"ok": "ok", "rejects": "ok", "fails": "FAILS", "absent": "missing", "empty": "empty",
                "not read": ""}


def format_file(f: FileReport) -> list[str]:
    size = (f"the first {f.rows:,} rows only: the file is larger, and prepare reads it all" if f.sampled
            else f"{f.rows:,} rows")
    extra = []
    if f.skipped:
        extra.append(f"{f.skipped:,} row(s) skipped by skip_rows")
    head = [f"  {f.table}: {f.file}  ({f.how}; {size}{'; ' + '; '.join(extra) if extra else ''})"]
    rows = [["column", "field", "reads as", "filled", "parsed", "status", "failing values (shape x count: reason)"]]
    for c in f.columns:
        filled = "" if c.status in ("not read", "absent") else f"{c.filled:,}"
        rows.append([_cut(c.header, 32), c.field, _cut(c.reads_as, 28), filled, _percent(c),
                     STATUS_WORDS[c.status], _failing_text(c)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4}
    lines = []
    for n, r in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("    " + "  ".join(cells).rstrip())
        if n == 0:
            lines.append("    " + "  ".join("-" * w for w in widths[:-1]) + "  " + "-" * 12)
    notes = [f"    note: {c.header} ({c.field}): {n}" for c in f.columns for n in c.notes]
    notes += [f"    note: {h}" for h in f.hints]
    unread = ("    columns nobody reads: " + ", ".join(f.unread)) if f.unread else "    columns nobody reads: none"
    return head + lines + notes + [unread, ""]


def format_text(reports: list[LandlordReport], notes: list[str], rows: int, seconds: float) -> str:
    out = [f"Checking how each mapping reads its exports (files over {rows:,} rows: the first {rows:,} only). "
           "Failing values are shown by their shape (letters a/A, digits 9), never as written.", ""]
    for r in reports:
        out.append(f"{r.name} ({r.id}): mapping {r.mapping}, exports in {r.folder}")
        out += [f"  error: {p}" for p in r.problems]
        if r.problems:
            out.append("")
        for f in r.files:
            out += format_file(f)
    out += [f"note: {n}" for n in notes]
    if notes:
        out.append("")
    out.append("Verdict:")
    out += [f"  {r.verdict()}" for r in reports]
    ok = sum(r.ok for r in reports)
    out.append(f"Checked {len(reports)} landlord(s) in {seconds:.1f} s: {ok} OK, {len(reports) - ok} to fix. "
               "Nothing was written.")
    return "\n".join(out)


def to_json(reports: list[LandlordReport], notes: list[str], rows: int, seconds: float, code: int) -> str:
    def landlord(r: LandlordReport) -> dict:
        d = asdict(r)
        d["ok"], d["verdict"] = r.ok, r.verdict()
        for fd, f in zip(d["files"], r.files):
            for cd, c in zip(fd["columns"], f.columns):
                cd["share_parsed"] = None if c.share is None else round(c.share, 6)
        return d

    return json.dumps({"rows_sampled": rows, "seconds": round(seconds, 2), "exit_code": code,
                       "notes": notes, "landlords": [landlord(r) for r in reports]}, ensure_ascii=False, indent=1)


def exit_code(reports: list[LandlordReport], notes: list[str]) -> int:
    return 0 if all(r.ok for r in reports) and not notes else 1
