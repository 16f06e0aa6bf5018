"""Readers: find a landlord's export files and read them as text, exactly as received.

A reader knows file formats (CSV, XLSX), encodings, delimiters, title blocks and header
rows. It knows nothing of what a value means: every cell comes back as text, with the
row number a person sees when opening the file, so that any later problem can be traced
to landlord, file, row and column. File-level problems raise `FileProblem`.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .config import FileMapping
from .errors import FileProblem
from .normalise import fold

ROW = "_row"          # column holding the source row number (1-based, as a spreadsheet shows)
HEADER_SCAN_ROWS = 30  # how far down a title block may push the header
MOJIBAKE = ("Ã©", "Ã¨", "Ã", "â€")


@dataclass
class Source:
    """One export file, located and its header checked."""

    landlord: str
    table: str
    path: Path
    name: str                       # as shown to people: path relative to the landlord folder
    mapping: FileMapping
    header_line: int = 1            # 1-based line/row of the header
    positions: dict[str, int] = field(default_factory=dict)   # canonical field -> column index
    headers: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)          # columns not in the mapping
    absent_optional: list[str] = field(default_factory=list)  # mapped optional fields not in file
    load: set[str] = field(default_factory=set)               # canonical fields to read

    def problem(self, message: str, column: str | None = None) -> FileProblem:
        return FileProblem(self.landlord, self.name, message, column)

    def sha256(self) -> str:
        h = hashlib.sha256()
        with open(self.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


def locate(landlord: str, folder: Path, mapping: FileMapping) -> list[Path]:
    """The files a mapping names: one path, or every match of a glob, in name order."""
    if any(ch in mapping.path for ch in "*?["):
        found = sorted(p for p in folder.glob(mapping.path) if p.is_file())
    else:
        p = folder / mapping.path
        found = [p] if p.is_file() else []
    if not found:
        raise FileProblem(landlord, mapping.path, f"file not found in {folder} (expected the {mapping.table} "
                                                  f"export named in config/landlords/{landlord}.yml)")
    return found


def _match_headers(src: Source, headers: list[str], required: set[str]) -> None:
    """Find each mapped column among the headers, case- and accent-insensitively. Only
    fields in `src.load` are loaded; the others are known, checked for nothing, and never
    read into memory."""
    folded: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        folded.setdefault(fold(h), []).append(i)
    for canonical, header in src.mapping.columns.items():
        if canonical not in src.load:
            continue
        hits = folded.get(fold(header), [])
        if len(hits) > 1:
            raise src.problem(f"the header appears {len(hits)} times (columns "
                              f"{', '.join(_col_letter(i) for i in hits)}); expected it once", header)
        if not hits:
            if canonical in required:
                hint = ""
                if len(headers) == 1 and src.mapping.format == "csv":
                    hint = (f"; only one column was found, so the file is probably not separated by "
                            f"'{src.mapping.delimiter}' as the mapping says")
                elif any(m in "".join(headers) for m in MOJIBAKE):
                    hint = ("; the headers look like UTF-8 text read as Windows-1252: check the "
                            "mapping's encoding")
                raise src.problem(f"required column missing (expected a header '{header}' for "
                                  f"{canonical}{hint})", header)
            src.absent_optional.append(canonical)
            continue
        src.positions[canonical] = hits[0]
    wanted = {fold(h) for h in src.mapping.columns.values()}
    src.ignored = [h for h in headers if fold(h) not in wanted]
    src.headers = headers


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _header_index(src: Source, rows: list[list[str]]) -> int:
    """0-based index of the header among the first rows: the mapping's header_row, or the
    first row that holds most of the mapped headers ('auto', for title blocks)."""
    if src.mapping.header_row != "auto":
        idx = int(src.mapping.header_row) - 1
        if idx >= len(rows):
            raise src.problem(f"the file has {len(rows)} line(s); expected a header on row {idx + 1}")
        return idx
    wanted = {fold(h) for h in src.mapping.columns.values()}
    best, best_hits = 0, -1
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        hits = len(wanted & {fold(c) for c in row if c is not None})
        if hits > best_hits:
            best, best_hits = i, hits
    if best_hits <= 0:
        return 0   # let the header check name the first missing column
    return best


# --- CSV -----------------------------------------------------------------------------

def _codec(mapping: FileMapping) -> str:
    try:
        return codecs.lookup(mapping.encoding).name
    except LookupError:
        return mapping.encoding


def _open_csv_head(src: Source) -> list[list[str]]:
    """Decode and split the first lines with the mapping's encoding and delimiter."""
    with open(src.path, "rb") as fh:
        head = fh.read(256 * 1024)
    if not head.strip():
        raise src.problem("the file is empty (expected a header and rows)")
    encoding = _codec(src.mapping)
    if encoding in ("utf-8", "utf-8-sig") and head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    try:
        text = head.decode(encoding if encoding != "utf-8-sig" else "utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:   # not just a character cut at the end of the sample
            raise src.problem(_encoding_message(src, head, exc.start)) from None
        text = head[: exc.start].decode(encoding if encoding != "utf-8-sig" else "utf-8")
    lines = text.splitlines()[: HEADER_SCAN_ROWS + 1]
    return [row for row in csv.reader(lines, delimiter=src.mapping.delimiter)]


def _encoding_message(src: Source, data: bytes, position: int) -> str:
    line = data[:position].count(b"\n") + 1
    hint = ""
    if src.mapping.encoding.lower().replace("-", "").startswith("utf8"):
        hint = "; French systems often export Windows-1252: set 'encoding: cp1252' in the mapping"
    return (f"not readable as {src.mapping.encoding} (byte 0x{data[position]:02x} on line {line}); "
            f"expected text encoded as {src.mapping.encoding}{hint}")


def _prepare_csv(src: Source, required: set[str]) -> None:
    rows = _open_csv_head(src)
    idx = _header_index(src, rows)
    headers = [h.strip().lstrip("\ufeff") for h in rows[idx]] if idx < len(rows) else []
    src.header_line = idx + 1
    _match_headers(src, headers, required)


def _csv_options(src: Source, invalid: list):
    encoding = _codec(src.mapping)
    read = pacsv.ReadOptions(
        encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
        skip_rows=src.header_line, column_names=[f"c{i}" for i in range(len(src.headers))],
        block_size=8 << 20)

    def on_invalid(row):
        invalid.append((row.number, row.actual_columns, row.expected_columns))
        return "skip"

    parse = pacsv.ParseOptions(delimiter=src.mapping.delimiter, invalid_row_handler=on_invalid)
    keep = {f"c{i}": pa.string() for i in src.positions.values()}
    convert = pacsv.ConvertOptions(column_types=keep, include_columns=list(keep),
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    return read, parse, convert


def _arrow_problem(src: Source, exc: Exception) -> Exception:
    # pyarrow may quote the row it choked on ("...got 3: <the row>"): a message must name
    # the problem, never repeat data, so only its first two parts are kept
    text = ":".join(str(exc).splitlines()[0].split(":")[:2])[:200]
    if "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
        return src.problem(f"not readable as {src.mapping.encoding} ({text}); expected "
                           f"text encoded as {src.mapping.encoding}")
    return src.problem(f"cannot be read as CSV separated by '{src.mapping.delimiter}' ({text})")


def _frame(src: Source, table: pa.Table, first_row: int, invalid_lines: set[int]) -> pd.DataFrame:
    """Arrow columns -> canonical text columns + source row numbers."""
    data = {canonical: table.column(f"c{i}").to_pandas(types_mapper=pd.ArrowDtype).astype("string")
            for canonical, i in src.positions.items()}
    for canonical in src.absent_optional:
        data[canonical] = pd.Series([""] * table.num_rows, dtype="string")
    frame = pd.DataFrame(data)
    frame[ROW] = _row_numbers(first_row, table.num_rows, invalid_lines)
    return frame


def _row_numbers(first_row: int, n: int, invalid_lines: set[int]) -> np.ndarray:
    """Line numbers of the n rows read from `first_row` on, skipping malformed lines."""
    rows = np.arange(first_row, first_row + n + len(invalid_lines), dtype=np.int64)
    if invalid_lines:
        rows = rows[~np.isin(rows, list(invalid_lines))]
    return rows[:n]


def _invalid_rows(src: Source, invalid: list) -> tuple[set[int], list[dict]]:
    lines, rejects = set(), []
    for number, actual, expected in invalid:
        # single-threaded, pyarrow gives the line's number in the whole file
        line = number
        if line is not None:
            lines.add(line)
        rejects.append({"row": line, "column": None, "value": None,
                        "reason": f"row has {actual} fields, expected {expected} "
                                  f"(a stray '{src.mapping.delimiter}' or quote?)"})
    return lines, rejects


def read_csv(src: Source) -> tuple[pd.DataFrame, list[dict]]:
    invalid: list = []
    read, parse, convert = _csv_options(src, invalid)
    read.use_threads = True
    try:
        table = pacsv.read_csv(src.path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _arrow_problem(src, exc) from None
    if invalid and any(n is None for n, _, _ in invalid):
        invalid.clear()   # row numbers are only known single-threaded: read again to name them
        read.use_threads = False
        table = pacsv.read_csv(src.path, read_options=read, parse_options=parse, convert_options=convert)
    lines, rejects = _invalid_rows(src, invalid)
    return _frame(src, table, src.header_line + 1, lines), rejects


def read_csv_batches(src: Source, arrow: bool = False) -> Iterator[tuple[pd.DataFrame | dict, list[dict]]]:
    """Stream a large CSV (the rent-account panel) batch by batch; with `arrow`, each
    batch is a dict of canonical field -> pyarrow string array, plus ROW -> row numbers."""
    invalid: list = []
    read, parse, convert = _csv_options(src, invalid)
    read.use_threads = False   # row numbers of malformed rows stay exact
    try:
        reader = pacsv.open_csv(src.path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _arrow_problem(src, exc) from None
    next_row = src.header_line + 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _arrow_problem(src, exc) from None
        lines, rejects = _invalid_rows(src, invalid)
        invalid.clear()
        table = pa.Table.from_batches([batch])
        if arrow:
            out = {c: table.column(f"c{i}").combine_chunks() for c, i in src.positions.items()}
            for c in src.absent_optional:
                out[c] = pa.nulls(table.num_rows, pa.string()).fill_null("")
            out[ROW] = _row_numbers(next_row, table.num_rows, lines)
        else:
            out = _frame(src, table, next_row, lines)
        next_row += batch.num_rows + len(lines)
        yield out, rejects


# --- XLSX ----------------------------------------------------------------------------

def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _read_sheet(src: Source) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    if src.path.stat().st_size == 0:
        raise src.problem("the file is empty (expected an Excel workbook)")
    try:
        book = CalamineWorkbook.from_path(str(src.path))
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise src.problem(f"not a readable Excel workbook ({type(exc).__name__}); expected an .xlsx file "
                          f"saved by Excel or LibreOffice") from None
    sheet = src.mapping.sheet if src.mapping.sheet is not None else 0
    names = book.sheet_names
    if isinstance(sheet, int):
        if sheet >= len(names):
            raise src.problem(f"the workbook has {len(names)} sheet(s); expected sheet number {sheet + 1}")
        sheet = names[sheet]
    elif sheet not in names:
        raise src.problem(f"no sheet named '{sheet}' (sheets: {', '.join(names)})")
    try:
        ws = book.get_sheet_by_name(sheet)
        rows = ws.to_python(skip_empty_area=False)
        merged = ws.merged_cell_ranges or []
    except Exception as exc:
        raise src.problem(f"the sheet '{sheet}' cannot be read ({type(exc).__name__})") from None
    text = [[_cell_text(v) for v in row] for row in rows]
    # a merged range shows its first cell's value in every cell it covers (a ward typed
    # once for the three people below it): each of those rows has that value
    for (r0, c0), (r1, c1) in merged:
        if r0 < len(text) and c0 < len(text[r0]):
            for r in range(r0, min(r1 + 1, len(text))):
                for c in range(c0, min(c1 + 1, len(text[r]))):
                    text[r][c] = text[r0][c0]
    return text


def _prepare_xlsx(src: Source, required: set[str]) -> list[list[str]]:
    rows = _read_sheet(src)
    if not any(any(c.strip() for c in row) for row in rows):
        raise src.problem("the sheet is empty (expected a header and rows)")
    idx = _header_index(src, rows)
    src.header_line = idx + 1
    _match_headers(src, [h.strip() for h in rows[idx]], required)
    return rows[idx + 1:]


def read_xlsx(src: Source, body: list[list[str]]) -> pd.DataFrame:
    width = len(src.headers)
    data = {}
    for canonical, i in src.positions.items():
        data[canonical] = pd.Series([r[i] if i < len(r) else "" for r in body], dtype="string")
    for canonical in src.absent_optional:
        data[canonical] = pd.Series([""] * len(body), dtype="string")
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(body)))
    frame[ROW] = np.arange(src.header_line + 1, src.header_line + 1 + len(body), dtype=np.int64)
    # rows that are entirely blank (end of sheet, spacer rows) are not records
    blank = np.array([not any(str(c).strip() for c in r[:width]) for r in body], dtype=bool)
    return frame.loc[~blank].reset_index(drop=True)


# --- rows that are not records ---------------------------------------------------------------

SKIPPED_ROW = "skipped by the mapping (skip_rows): a totals or notes row"


def skipped_rows(columns, src: Source) -> tuple[np.ndarray, list[dict]]:
    """Rows the mapping's `skip_rows` says are not records (a "Total" line at the foot of a
    register): those whose first non-blank cell, among the columns read and in the file's
    order, fully matches one of its patterns, in any case. `columns`: canonical field ->
    the cells' text (a pandas Series or an arrow array), and ROW -> row numbers. Returns
    which rows, and a reject for each (row, column, field, value, reason)."""
    patterns = [re.compile(p, re.IGNORECASE) for p in src.mapping.skip_rows]
    n = len(columns[ROW])
    if not patterns or not n or not src.positions:
        return np.zeros(n, dtype=bool), []
    order = sorted(src.positions.items(), key=lambda kv: kv[1])
    fields = list(dict.fromkeys(f for f, _ in order if f in columns))
    cells = pd.DataFrame({f: pd.Series(np.asarray(columns[f], dtype=object), dtype="string").str.strip()
                          for f in fields}).replace("", pd.NA)
    present = cells.notna().to_numpy()
    first = present.argmax(axis=1)
    value = cells.to_numpy(dtype=object, na_value=None)[np.arange(n), first]
    distinct = pd.unique(pd.Series(value, dtype=object).dropna())
    hits = {v for v in distinct if any(p.fullmatch(v) for p in patterns)}
    skip = present.any(axis=1) & np.array([v in hits for v in value], dtype=bool)
    rows = np.asarray(columns[ROW])
    rejects = [{"row": int(rows[i]), "column": src.mapping.columns[fields[first[i]]], "field": fields[first[i]],
                "value": value[i], "reason": SKIPPED_ROW} for i in np.flatnonzero(skip)]
    return skip, rejects


# --- entry points ------------------------------------------------------------------------

def open_sources(landlord: str, folder: Path, mapping: FileMapping, load: set[str]) -> list[Source]:
    """Locate the files of one table; raise FileProblem on the first bad one."""
    sources = []
    for path in locate(landlord, folder, mapping):
        src = Source(landlord, mapping.table, path, path.relative_to(folder).as_posix(), mapping, load=set(load))
        if path.stat().st_size == 0:
            raise src.problem("the file is empty (expected a header and rows)")
        sources.append(src)
    return sources


def read(src: Source, required: set[str]) -> tuple[pd.DataFrame, list[dict]]:
    """The whole file as text columns named by canonical field, plus its row numbers."""
    if src.mapping.format == "xlsx":
        body = _prepare_xlsx(src, required)
        return read_xlsx(src, body), []
    _prepare_csv(src, required)
    return read_csv(src)


def batches(src: Source, required: set[str], arrow: bool = False) -> Iterator[tuple[pd.DataFrame | dict, list[dict]]]:
    """Like `read`, in batches, for files too large to hold as text (see read_csv_batches)."""
    if src.mapping.format == "xlsx":
        frame, malformed = read(src, required)
        if arrow:
            frame = {c: (pa.array(frame[c].to_numpy(dtype=object), pa.string()) if c != ROW else frame[c].to_numpy())
                     for c in frame.columns}
        yield frame, malformed
        return
    _prepare_csv(src, required)
    yield from read_csv_batches(src, arrow)


