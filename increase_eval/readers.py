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
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .config import FileMapping
from .errors import FileProblem
from .normalise import fold

ROW = "_row"          # column holding the source row number (1-based, as a spreadsheet shows)
HEADER_SCAN_ROWS = 30  # how far down a title block may push the header ('auto')
SAMPLE_ROWS = 30       # data rows below the header looked at to check the file's shape
MOJIBAKE = ("Ã©", "Ã¨", "Ã", "â€")
LISTED = 5             # items a message lists before "and N more"
FORMULA_REASON = ("the cell holds a formula that was never calculated (open the file in Excel or LibreOffice "
                  "and save it, so that its values are stored)")


def some(items: list, n: int = LISTED) -> str:
    """At most n items, then how many more: a message never grows with the file."""
    items = [str(i) for i in items]
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


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
    trailing_field: bool = False    # every data row ends with one more, empty, field than the header
    blank_rows: int = 0             # rows holding nothing (';;;;', empty lines, blank sheet rows): not records
    formula_cells: set[tuple[int, int]] = field(default_factory=set)   # XLSX (row, column), 0-based:
                                                                        # formulas with no calculated value
    text_columns: list[list[str]] | None = field(default=None, repr=False)   # XLSX: the sheet's text by column,
                                                                            # from reading it to read_xlsx only

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
                              f"{some([_col_letter(i) for i in hits])}); expected it once", header)
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

HEAD_BYTES = 256 * 1024        # sniffed at first; more is read when the header lies deeper,
MAX_HEAD_BYTES = 32 << 20      # up to this (a file without line breaks is not read whole)
SINGLE_BYTE = ("cp125", "iso8859", "latin", "cp850", "cp437", "mac-")


def _codec(mapping: FileMapping) -> str:
    try:
        return codecs.lookup(mapping.encoding).name
    except LookupError:
        return mapping.encoding


def _read_head(src: Source, lines_needed: int) -> tuple[bytes, bool]:
    """The first bytes of the file, enough for `lines_needed` lines (or all of it); and
    whether that is the whole file."""
    with open(src.path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        while head.count(b"\n") < lines_needed and len(head) < MAX_HEAD_BYTES:
            more = fh.read(max(HEAD_BYTES, len(head)))
            if not more:
                return head, True
            head += more
        return head, not fh.read(1)


def _check_bytes(src: Source, head: bytes) -> None:
    """File-level encoding mistakes that decode without an error: UTF-16 read as a one-
    byte encoding or UTF-8 (mostly NUL bytes), and UTF-8 read as Windows-1252 or Latin-1
    (every accented letter would become two wrong ones: 'é' as 'Ã©')."""
    encoding = _codec(src.mapping)
    if encoding.startswith("utf-16") or encoding.startswith("utf-32"):
        return
    sample = head[:HEAD_BYTES]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise src.problem(f"the file is UTF-16 (it starts with a UTF-16 byte order mark), not "
                          f"{src.mapping.encoding} as the mapping says; write 'encoding: utf-16' in the mapping")
    nuls = sample.count(0)
    if nuls > len(sample) * 0.3:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 0.8 * len(sample[1::2]) and even < 0.2 * len(sample[0::2]):
            likely = "utf-16-le"
        elif even > 0.8 * len(sample[0::2]) and odd < 0.2 * len(sample[1::2]):
            likely = "utf-16-be"
        else:
            raise src.problem(f"the file is mostly NUL bytes ({100 * nuls // len(sample)}% of its start): it is "
                              f"damaged or not a text export; expected text encoded as {src.mapping.encoding}")
        raise src.problem(f"the file is mostly NUL bytes, as UTF-16 text is when read as {src.mapping.encoding}; "
                          f"it is probably UTF-16: write 'encoding: {likely}' in the mapping")
    if encoding.startswith(SINGLE_BYTE) and encoding not in ("cp65001",):
        for part in _utf8_samples(src, sample):
            if _is_utf8_text(part):
                raise src.problem(f"the file is UTF-8 (it holds UTF-8 multi-byte characters), not "
                                  f"{src.mapping.encoding} as the mapping says, so every accented letter would "
                                  f"be read as two wrong ones; write 'encoding: utf-8' in the mapping")


def _utf8_samples(src: Source, head: bytes) -> list[bytes]:
    """The start of the file and, for a longer file, its end: where non-ASCII text is."""
    samples = [head]
    size = src.path.stat().st_size
    if size > len(head):
        with open(src.path, "rb") as fh:
            fh.seek(max(len(head), size - HEAD_BYTES))
            tail = fh.read()
        # start on a character boundary: skip UTF-8 continuation bytes
        start = 0
        while start < min(4, len(tail)) and 0x80 <= tail[start] <= 0xBF:
            start += 1
        samples.append(tail[start:])
    return samples


def _is_utf8_text(data: bytes) -> bool:
    """True if `data` holds multi-byte UTF-8 characters and decodes as UTF-8 throughout
    (a character cut at the end of the sample is allowed)."""
    if data.isascii():
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _open_csv_head(src: Source) -> list[list[str]]:
    """Decode and split the first lines with the mapping's encoding and delimiter: as far
    as a title block may push the header (or the declared header row), and a sample of the
    data rows below it."""
    header_row = src.mapping.header_row
    depth = HEADER_SCAN_ROWS if header_row == "auto" else int(header_row)
    needed = depth + SAMPLE_ROWS + 1
    head, whole = _read_head(src, needed)
    if not head.strip():
        raise src.problem("the file is empty (expected a header and rows)")
    _check_bytes(src, head)
    encoding = _codec(src.mapping)
    if encoding in ("utf-8", "utf-8-sig") and head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    try:
        text = head.decode(encoding if encoding != "utf-8-sig" else "utf-8")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(head) - 4:   # not just a character cut at the end of the sample
            raise src.problem(_encoding_message(src, head, exc.start)) from None
        text = head[: exc.start].decode(encoding if encoding != "utf-8-sig" else "utf-8")
    # lines end at CR, LF or CRLF only: str.splitlines would also cut at a form feed or
    # U+0085 inside a value
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and (not whole or lines[-1] == ""):
        lines = lines[:-1]                       # the last line read may be cut short
    return [row for row in csv.reader(lines[:needed], delimiter=src.mapping.delimiter)]


def _encoding_message(src: Source, data: bytes, position: int) -> str:
    line = data[:position].count(b"\n") + 1
    hint = ""
    if src.mapping.encoding.lower().replace("-", "").startswith("utf8"):
        hint = "; French systems often export Windows-1252: set 'encoding: cp1252' in the mapping"
    return (f"not readable as {src.mapping.encoding} (byte 0x{data[position]:02x} on line {line}); "
            f"expected text encoded as {src.mapping.encoding}{hint}")


def _blank(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def _prepare_csv(src: Source, required: set[str]) -> None:
    rows = _open_csv_head(src)
    idx = _header_index(src, rows)
    headers = [h.strip().lstrip("\ufeff") for h in rows[idx]] if idx < len(rows) else []
    src.header_line = idx + 1
    _match_headers(src, headers, required)
    # one more field on every data row than the header has, empty (but in a stray row): a
    # delimiter written after the last field (some exports end every line with ';'); that
    # field is read, and a row with a value in it is rejected as a row with a field too many
    sample = [r for r in rows[idx + 1: idx + 1 + SAMPLE_ROWS] if not _blank(r)]
    src.trailing_field = bool(headers) and headers[-1] != "" and bool(sample) and all(
        len(r) == len(headers) + 1 for r in sample) and sum(not r[-1].strip() for r in sample) >= 0.8 * len(sample)


def _width(src: Source) -> int:
    return len(src.headers) + (1 if src.trailing_field else 0)


def _csv_options(src: Source, invalid: list, blank: list):
    encoding = _codec(src.mapping)
    read = pacsv.ReadOptions(
        encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
        skip_rows=src.header_line, column_names=[f"c{i}" for i in range(_width(src))],
        block_size=8 << 20)
    delimiter = src.mapping.delimiter

    def on_invalid(row):
        # an empty line, or a short line of delimiters only, holds nothing: not a record
        if not row.text.replace(delimiter, "").replace('"', "").strip():
            blank.append(row.number)
        else:
            invalid.append((row.number, row.actual_columns, row.expected_columns))
        return "skip"

    # empty lines are not dropped silently: they go through on_invalid, so that the rows
    # after them keep the number a text editor shows
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False)
    columns = list(dict.fromkeys(src.positions.values()))
    if src.trailing_field:
        columns.append(len(src.headers))
    keep = {f"c{i}": pa.string() for i in columns}
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


class _Records:
    """The file's records read again with Python's csv module, forward only, to look at
    whole rows whose loaded fields are all empty: only a row whose every field is empty
    (';;;;') is blank; one with a value in a column that is not loaded is a record."""

    def __init__(self, src: Source):
        self.src = src
        self.reader = None
        self.number = 0

    def blank(self, numbers: np.ndarray) -> np.ndarray:
        if len(self.src.positions) >= len(self.src.headers) and not self.src.trailing_field:
            return np.ones(len(numbers), dtype=bool)     # every column is loaded: nothing else to see
        if self.reader is None:
            encoding = _codec(self.src.mapping)
            fh = open(self.src.path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")
            self.reader = csv.reader(fh, delimiter=self.src.mapping.delimiter)
        out = np.zeros(len(numbers), dtype=bool)
        for k, wanted in enumerate(numbers):
            row = None
            while self.number < wanted:
                row = next(self.reader, None)
                self.number += 1
                if row is None:
                    return out
            out[k] = row is not None and _blank(row)
        return out


def _clean(src: Source, table: pa.Table, rows: np.ndarray, records: _Records) -> tuple[pa.Table, np.ndarray, list[dict]]:
    """Drop blank rows (counted in src.blank_rows) and rows with a value in the trailing
    field (rejected as rows with one field too many)."""
    rejects: list[dict] = []
    if table.num_rows == 0:
        return table, rows, rejects
    drop = np.zeros(table.num_rows, dtype=bool)
    if src.trailing_field:
        extra = table.column(f"c{len(src.headers)}")
        filled = pc.invert(pc.or_(pc.equal(pc.binary_length(extra), 0), pc.utf8_is_space(extra)))
        filled = filled.to_numpy(zero_copy_only=False)
        for row in rows[filled]:
            rejects.append({"row": int(row), "column": None, "value": None,
                            "reason": f"row has {len(src.headers) + 1} fields, expected {len(src.headers)} "
                                      f"(a stray '{src.mapping.delimiter}' or quote?)"})
        drop |= filled
    # rows whose loaded fields are all empty: found column by column among the rows still
    # in question, so that a file with none costs one length check of one column
    candidates = np.flatnonzero(~drop)
    for i in dict.fromkeys(src.positions.values()):
        if not len(candidates):
            break
        col = table.column(f"c{i}")
        if len(candidates) < table.num_rows:
            col = col.take(pa.array(candidates))
        empty = pc.or_(pc.equal(pc.binary_length(col), 0), pc.utf8_is_space(col))
        candidates = candidates[empty.to_numpy(zero_copy_only=False)]
    if len(candidates):
        blank = candidates[records.blank(rows[candidates])]
        drop[blank] = True
        src.blank_rows += len(blank)
    if drop.any():
        table = table.filter(pa.array(~drop))
        rows = rows[~drop]
    return table, rows, rejects


def _frame(src: Source, table: pa.Table, rows: np.ndarray) -> pd.DataFrame:
    """Arrow columns -> canonical text columns + source row numbers."""
    data = {canonical: table.column(f"c{i}").to_pandas(types_mapper=pd.ArrowDtype).astype("string")
            for canonical, i in src.positions.items()}
    for canonical in src.absent_optional:
        data[canonical] = pd.Series([""] * table.num_rows, dtype="string")
    frame = pd.DataFrame(data)
    frame[ROW] = rows
    return frame


def _row_numbers(first_row: int, n: int, skipped: set[int]) -> np.ndarray:
    """Line numbers of the n rows read from `first_row` on, skipping malformed and blank lines."""
    rows = np.arange(first_row, first_row + n + len(skipped), dtype=np.int64)
    if skipped:
        rows = rows[~np.isin(rows, list(skipped))]
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
    blank: list = []
    read, parse, convert = _csv_options(src, invalid, blank)
    read.use_threads = True
    try:
        table = pacsv.read_csv(src.path, read_options=read, parse_options=parse, convert_options=convert)
        if any(n is None for n, _, _ in invalid) or any(n is None for n in blank):
            invalid.clear()   # row numbers are only known single-threaded: read again to name them
            blank.clear()
            read.use_threads = False
            table = pacsv.read_csv(src.path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _arrow_problem(src, exc) from None
    lines, rejects = _invalid_rows(src, invalid)
    src.blank_rows += len(blank)
    rows = _row_numbers(src.header_line + 1, table.num_rows, lines | set(blank))
    table, rows, more = _clean(src, table, rows, _Records(src))
    return _frame(src, table, rows), rejects + more


def read_csv_batches(src: Source, arrow: bool = False) -> Iterator[tuple[pd.DataFrame | dict, list[dict]]]:
    """Stream a large CSV (the rent-account panel) batch by batch; with `arrow`, each
    batch is a dict of canonical field -> pyarrow string array, plus ROW -> row numbers."""
    invalid: list = []
    blank: list = []
    read, parse, convert = _csv_options(src, invalid, blank)
    read.use_threads = False   # row numbers of malformed rows stay exact
    try:
        reader = pacsv.open_csv(src.path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _arrow_problem(src, exc) from None
    records = _Records(src)
    next_row = src.header_line + 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _arrow_problem(src, exc) from None
        lines, rejects = _invalid_rows(src, invalid)
        skipped = lines | set(blank)
        src.blank_rows += len(blank)
        invalid.clear()
        blank.clear()
        table = pa.Table.from_batches([batch])
        rows = _row_numbers(next_row, table.num_rows, skipped)
        next_row += batch.num_rows + len(skipped)
        table, rows, more = _clean(src, table, rows, records)
        if arrow:
            out = {c: table.column(f"c{i}").combine_chunks() for c, i in src.positions.items()}
            for c in src.absent_optional:
                out[c] = pa.nulls(table.num_rows, pa.string()).fill_null("")
            out[ROW] = rows
        else:
            out = _frame(src, table, rows)
        yield out, rejects + more


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


def _floats_text(values: list) -> list[str]:
    x = np.array(values, dtype=np.float64)
    whole = np.isfinite(x) & (x == np.floor(x)) & (np.abs(x) < 2.0 ** 53)
    out = np.where(whole, np.where(whole, x, 0).astype(np.int64).astype(str), "").astype(object)
    for i in np.flatnonzero(~whole):
        out[i] = _cell_text(values[i])
    return out.tolist()


def _datetimes_text(values: list) -> list[str]:
    x = np.array(values, dtype="datetime64[us]")
    days = x.astype("datetime64[D]")
    midnight = days == x
    out = np.where(midnight, days.astype(str), "").astype(object)
    for i in np.flatnonzero(~midnight):
        out[i] = _cell_text(values[i])
    return out.tolist()


# cells of one type converted together (_cell_text's rules, with numpy)
_BY_TYPE = {float: _floats_text, datetime: _datetimes_text,
            date: lambda v: np.array(v, dtype="datetime64[D]").astype(str).tolist(),
            type(None): lambda v: [""] * len(v), bool: lambda v: ["1" if b else "0" for b in v]}


def _column_text(col: tuple) -> list[str] | tuple:
    """_cell_text of each cell of one column: the cells of each type converted together
    (a column of dates, numbers, or dates with blanks: most of a register), the rare
    other types cell by cell."""
    kinds = set(map(type, col))
    if kinds == {str}:
        return col
    where: dict[type, list[int]] = {k: [] for k in kinds}
    for i, v in enumerate(col):
        where[type(v)].append(i)
    out = list(col)
    for kind, idx in where.items():
        if kind is str:
            continue
        convert = _BY_TYPE.get(kind)
        texts = convert([col[i] for i in idx]) if convert else [_cell_text(col[i]) for i in idx]
        for i, t in zip(idx, texts):
            out[i] = t
    return out


def _text_grid(rows: list[list]) -> tuple[list, list[list[str]] | None]:
    """The sheet's text by row (rows may be tuples), and by column where the sheet is a
    rectangle (None otherwise)."""
    width = len(rows[0]) if rows else 0
    if not width or any(len(r) != width for r in rows):
        return [[v if type(v) is str else _cell_text(v) for v in row] for row in rows], None
    columns = [list(_column_text(c)) for c in zip(*rows)]
    return list(zip(*columns)), columns


def _sheet_name(src: Source, book) -> str:
    """The sheet the mapping names; by number (the default: the first), counting only the
    sheets a person sees: a hidden sheet is never read unless named."""
    sheet = src.mapping.sheet if src.mapping.sheet is not None else 0
    names = book.sheet_names
    if isinstance(sheet, int):
        from python_calamine import SheetVisibleEnum

        meta = getattr(book, "sheets_metadata", None)   # python-calamine 0.2 and later
        visible = [m.name for m in meta if m.visible == SheetVisibleEnum.Visible] if meta else list(names)
        if sheet >= len(visible):
            hidden = len(names) - len(visible)
            raise src.problem(f"the workbook has {len(visible)} visible sheet(s)"
                              f"{f' and {hidden} hidden' if hidden else ''}; expected sheet number {sheet + 1}")
        return visible[sheet]
    if sheet not in names:
        raise src.problem(f"no sheet named '{sheet}' (sheets: {some(names)})")
    return sheet


def _read_sheet(src: Source) -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    if src.path.stat().st_size == 0:
        raise src.problem("the file is empty (expected an Excel workbook)")
    try:
        book = CalamineWorkbook.from_path(str(src.path))
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise src.problem(f"not a readable Excel workbook ({type(exc).__name__}); expected an .xlsx file "
                          f"saved by Excel or LibreOffice") from None
    sheet = _sheet_name(src, book)
    try:
        ws = book.get_sheet_by_name(sheet)
        rows = ws.to_python(skip_empty_area=False)
        merged = ws.merged_cell_ranges or []
    except Exception as exc:
        raise src.problem(f"the sheet '{sheet}' cannot be read ({type(exc).__name__})") from None
    text, columns = _text_grid(rows)
    # a merged range shows its first cell's value in every cell it covers (a ward typed
    # once for the three people below it): each of those rows has that value
    for (r0, c0), (r1, c1) in merged:
        if r0 < len(text) and c0 < len(text[r0]):
            for r in range(r0, min(r1 + 1, len(text))):
                text[r] = list(text[r])
                for c in range(c0, min(c1 + 1, len(text[r]))):
                    text[r][c] = text[r0][c0]
                    if columns is not None:
                        columns[c][r] = text[r0][c0]
    src.formula_cells = _uncalculated_formulas(src, sheet)
    last = max((r for r, _ in src.formula_cells), default=-1)
    text.extend([] for _ in range(last + 1 - len(text)))   # rows holding only such formulas are rows
    src.text_columns = columns if last < len(rows) else None
    return text


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _uncalculated_formulas(src: Source, sheet: str) -> set[tuple[int, int]]:
    """Cells of the sheet holding a formula with no calculated value: a workbook written
    by a program that does not compute formulas (a script, some exports) stores only the
    formula, and every reader (calamine included) sees a blank. Excel or LibreOffice
    store the values when they save the file. A formula whose stored result is an empty
    text (t="str", as Excel writes =IF(A2="";"";A2)) was calculated. A workbook marked
    to be fully recalculated when opened (fullCalcOnLoad, which such programs set, some
    storing 0 as every formula's value) has no formula value to trust. Returns 0-based
    (row, column) pairs."""
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(src.path) as z:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            stale = any(_local(e.tag) == "calcPr" and e.get("fullCalcOnLoad") in ("1", "true") for e in book.iter())
            rid = next((e.get(_REL) or e.get("r:id") for e in book.iter() if _local(e.tag) == "sheet"
                        and e.get("name") == sheet), None)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next((e.get("Target") for e in rels.iter() if e.get("Id") == rid), None)
            if target is None:
                return set()
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            with z.open(part) as fh:
                data = fh.read()
    except (KeyError, OSError, zipfile.BadZipFile, ElementTree.ParseError):
        return set()   # calamine read the sheet; this check has nothing more to say
    if b"<f" not in data and b":f" not in data:
        return set()
    found: set[tuple[int, int]] = set()
    row, col = -1, -1
    cell_has_f = cell_has_v = False
    text_result = False
    for event, e in ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
        name = _local(e.tag)
        if event == "start":
            if name == "row":
                row = int(e.get("r")) - 1 if e.get("r") else row + 1
                col = -1
            elif name == "c":
                ref = e.get("r")
                col = _column_index(ref) if ref else col + 1
                cell_has_f = cell_has_v = False
                text_result = e.get("t") == "str"
            continue
        if name == "f":
            cell_has_f = True
        elif name == "v":
            cell_has_v = cell_has_v or bool(e.text) or text_result
        elif name == "c":
            if cell_has_f and (stale or not cell_has_v):
                found.add((row, col))
            e.clear()
        elif name == "row":
            e.clear()
    return found


def _column_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1


def _prepare_xlsx(src: Source, required: set[str]) -> list[list[str]]:
    rows = _read_sheet(src)
    if not any(any(c.strip() for c in row) for row in rows) and not src.formula_cells:
        raise src.problem("the sheet is empty (expected a header and rows)")
    idx = _header_index(src, rows)
    src.header_line = idx + 1
    _match_headers(src, [h.strip() for h in rows[idx]], required)
    return rows[idx + 1:]


def read_xlsx(src: Source, body: list[list[str]]) -> tuple[pd.DataFrame, list[dict]]:
    width = len(src.headers)
    columns, src.text_columns = src.text_columns, None     # never carried further (results are pickled)
    if columns is not None and len(columns[0]) == src.header_line + len(body):   # the sheet's, by column
        columns = [c[src.header_line:] for c in columns]
        cell = lambda i: columns[i] if i < len(columns) else [""] * len(body)   # noqa: E731
    elif body and all(len(r) == len(body[0]) for r in body):   # a rectangle
        columns = list(zip(*body))
        cell = lambda i: columns[i] if i < len(columns) else [""] * len(body)   # noqa: E731
    else:
        cell = lambda i: [r[i] if i < len(r) else "" for r in body]   # noqa: E731
    data = {}
    for canonical, i in src.positions.items():
        data[canonical] = pd.Series(pd.arrays.ArrowStringArray(pa.array(cell(i), pa.large_string())),
                                    dtype="string")
    for canonical in src.absent_optional:
        data[canonical] = pd.Series([""] * len(body), dtype="string")
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(body)))
    first = src.header_line + 1
    frame[ROW] = np.arange(first, first + len(body), dtype=np.int64)
    # a cell holding a formula never calculated has no value to read: its row is
    # rejected, with the fix, rather than read as blank
    rejects, formula_rows = [], np.zeros(len(body), dtype=bool)
    if src.formula_cells:
        header_of = {i: src.mapping.columns[c] for c, i in src.positions.items()}
        for k in range(len(body)):
            hit = next((i for i in sorted(header_of) if (src.header_line + k, i) in src.formula_cells), None)
            if hit is not None:
                formula_rows[k] = True
                rejects.append({"row": first + k, "column": header_of[hit], "value": None, "reason": FORMULA_REASON})
    # rows that are entirely blank (end of sheet, spacer rows) are not records
    blank = np.ones(len(body), dtype=bool)
    for i in range(width):
        if blank.any():
            filled = pc.not_equal(pc.utf8_trim_whitespace(pa.array(cell(i), pa.large_string())), "")
            blank &= ~filled.to_numpy(zero_copy_only=False)
    blank &= ~formula_rows
    src.blank_rows += int(blank.sum())
    return frame.loc[~blank & ~formula_rows].reset_index(drop=True), rejects


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
        return read_xlsx(src, body)
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


