"""Every table of a report, twice: as HTML in the report and as a sheet of its workbook.

A table is built once, in the notebook's kernel, from cells that are either text or a
`Num`: the text a reader sees, carrying the value behind it (a count, an amount of money
with its currency, a share, a number, an interval) or the mark of a hidden count (`<5`,
`[c]`). The HTML aligns text columns left and number columns right; the same table goes
out of the kernel beside its HTML as JSON (`MIME`), which the report job turns into a sheet
(`workbook`): numbers stored as numbers with their format, hidden counts as empty cells
with the mark in a column beside them, so that a sum in Excel still works and nothing a
report hides is shown. A report's workbook is therefore its tables, in its language, and
disclosure control is decided once for both.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

MIME = "application/vnd.increase-eval.table+json"
MARKS = re.compile(r"^(<\d+|\[c\])$")
_PENDING: dict[str, dict] = {}     # tables built by narrative, published with the markup that holds them


class Num(str):
    """A table cell's text, with the value behind it for the workbook. kind: count, money,
    percent, number or interval (value: (low, high)); `unit` is written after a count."""

    def __new__(cls, text: str, value, kind: str = "number", currency: str | None = None, decimals: int = 0,
                unit: str = ""):
        cell = super().__new__(cls, text)
        cell.value, cell.kind, cell.currency, cell.decimals, cell.unit = value, kind, currency, decimals, unit
        cell.interval = None     # (low, high) of an estimate shown with its interval in one cell
        return cell


def _json_cell(c):
    """A cell as JSON: {"t": text} for text; {"v": value, "k": kind, ...} for a number;
    {"m": mark} for a hidden count."""
    if isinstance(c, Num):
        v = c.value
        if v is None or (not isinstance(v, tuple) and pd.isna(v)):
            return {"t": str(c)}
        if isinstance(v, tuple):
            if any(x is None or pd.isna(x) for x in v):
                return {"t": str(c)}
            v = [float(x) for x in v]
        else:
            v = float(v)
        out = {"v": v, "k": c.kind, "d": c.decimals}
        if c.currency:
            out["c"] = c.currency
        if c.unit:
            out["u"] = c.unit
        if c.interval is not None and not any(x is None or pd.isna(x) for x in c.interval):
            out["i"] = [float(x) for x in c.interval]
        return out
    text = "" if c is None else str(c)
    return {"m": text} if MARKS.match(text) else {"t": text}


NUMERIC = re.compile(r"^[-−–+]?[\s\u00a0\u202f]*[£€]?[\s\u00a0\u202f]*[\d\u00a0\u202f,.]+[\s\u00a0\u202f]*(%|£|€)?$")


def _is_number(cell) -> bool:
    if isinstance(cell, Num):
        return True
    text = str(cell).strip()
    return bool(MARKS.match(text) or NUMERIC.match(text))


def numeric_columns(headers: list[str], rows: list[list]) -> set[int]:
    """Columns whose filled cells are all numbers (or hidden counts, or a dash): right-aligned."""
    out = set()
    for j in range(len(headers)):
        cells = [r[j] for r in rows if j < len(r) and str(r[j]).strip() not in ("", "–", "-")]
        if cells and all(_is_number(c) for c in cells):
            out.add(j)
    return out


def render(headers: list[str], rows: list[list], caption: str | None = None, classes: str = "report-table",
           raw: set[int] = frozenset(), total_rows: set[int] = frozenset()) -> tuple[str, dict]:
    """(HTML, payload) of a table: cells escaped except the columns in `raw` (links made by
    the library), number columns right-aligned. The payload drops the `raw` columns (links)."""
    num = numeric_columns(headers, rows)
    # number columns right-aligned; link columns ("see section 3") left out on paper
    cls = lambda j: ' class="num"' if j in num else ' class="link"' if j in raw else ""  # noqa: E731
    head = "".join(f"<th{cls(j)}>{html.escape(str(h))}</th>" for j, h in enumerate(headers))
    body = []
    for i, r in enumerate(rows):
        cells = "".join(f"<td{cls(j)}>{c if j in raw else _breakable(html.escape(str(c)))}</td>" for j, c in enumerate(r))
        total = ' class="total"' if i in total_rows else ""
        body.append(f"<tr{total}>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    markup = f'<table class="{classes}">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    keep = [j for j in range(len(headers)) if j not in raw]
    payload = {"caption": caption, "headers": [str(headers[j]) for j in keep],
               "rows": [[_json_cell(r[j]) for j in keep if j < len(r)] for r in rows],
               "totals": sorted(total_rows)}
    return markup, payload


def _breakable(text: str) -> str:
    """Escaped text with a break opportunity after each / . _ - of a long unbroken token (an
    address in a source), so that it wraps in its column instead of widening the table."""
    return re.sub(r"\S{24,}", lambda m: re.sub(r"([/._-])(?=\w)", r"\1<wbr>", m.group(0)), text)


def register(markup: str, payload: dict) -> str:
    """Markup that carries its table to the workbook: `publish` finds it by this id."""
    key = f"t{len(_PENDING)}_{id(payload)}"
    _PENDING[key] = payload
    return markup.replace("<table ", f'<table data-sheet="{key}" ', 1)


def take(markup: str) -> list[dict]:
    """The payloads of the tables in `markup`, in order (each taken once)."""
    return [p for key in re.findall(r'data-sheet="([^"]+)"', markup) if (p := _PENDING.pop(key, None))]


STRIP = re.compile(r' data-sheet="[^"]*"')


# --- the workbook -------------------------------------------------------------------------------------

def collect(executed: list[dict]) -> list[dict]:
    """Every table of a report's executed notebooks, in order, each with the section and
    heading it sits under."""
    heading = re.compile(r"<h([1-3])[^>]*>(.*?)</h\1>", re.S)
    out, section, title = [], "", ""
    for nb in executed:
        for cell in nb["cells"]:
            for o in cell.get("outputs", []):
                d = o.get("data", {})
                markup = d.get("text/html", "")
                markup = "".join(markup) if isinstance(markup, list) else markup
                for m in heading.finditer(markup):
                    text = html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
                    if m.group(1) == "1":
                        section, title = text, text
                    else:
                        title = text
                tables = d.get(MIME)
                if tables:
                    tables = json.loads(tables) if isinstance(tables, str) else tables
                    for t in tables:
                        out.append({**t, "section": section, "title": t.get("caption") or title})
    return out


def _number_format(cell: dict, lang: str) -> str:
    k, d = cell["k"], cell.get("d", 0)
    decimals = "0" + ("." + "0" * d if d else "")
    grouped = "#,##" + decimals
    if k == "percent":
        return decimals + "%"
    if k == "money":
        sym = {"GBP": "£", "EUR": "€"}.get(cell.get("c"), cell.get("c") or "")
        return f'{grouped}\\ "{sym}"' if lang == "fr" else f'"{sym}"{grouped}'
    if k == "count":
        return "#,##0" + (f'\\ "{cell["u"]}"' if cell.get("u") else "")
    return grouped


def _sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title).strip() or "Table"
    name = re.sub(r"\s+", " ", name)[:31].strip()
    base, n = name, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[:31 - len(suffix)].rstrip() + suffix
        n += 1
    used.add(name.lower())
    return name


def workbook(tables: list[dict], path: Path, t, readme: list[str], title: str) -> None:
    """One sheet per table (after a README sheet listing them): numbers as numbers with
    their format, hidden counts empty with their mark in a column beside, header frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    info = wb.active
    info.title = t("workbook.readme")[:31]
    used = {info.title.lower()}
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="0072B2")
    sheets = []
    for number, table in enumerate(tables, start=1):
        ws = wb.create_sheet(_sheet_name(f"{number} {table['title']}", used))
        sheets.append((ws.title, table["section"], table["title"]))
        # columns: each table column, split in two for intervals, and a flag column after a
        # column holding hidden counts
        n = len(table["headers"])
        interval = [any(j < len(r) and r[j].get("k") == "interval" for r in table["rows"]) for j in range(n)]
        estimate = [any(j < len(r) and "i" in r[j] for r in table["rows"]) for j in range(n)]
        flagged = [any(j < len(r) and "m" in r[j] for r in table["rows"]) for j in range(n)]
        headers = []
        for j, h in enumerate(table["headers"]):
            if interval[j]:
                headers += [t("workbook.low", column=h), t("workbook.high", column=h)]
            else:
                headers.append(h)
            if estimate[j]:
                headers += [t("workbook.low", column=h), t("workbook.high", column=h)]
            if flagged[j]:
                headers.append(t("workbook.flag", column=h))
        ws.append([table["section"]])
        ws.append([table["title"]])
        ws.cell(1, 1).font = Font(italic=True, color="555555")
        ws.cell(2, 1).font = Font(bold=True, size=12)
        ws.append(headers)
        for c in ws[3]:
            c.font, c.fill = head_font, head_fill
            c.alignment = Alignment(wrap_text=True, vertical="top")
        widths = [len(str(h)) for h in headers]
        for i, r in enumerate(table["rows"]):
            values, formats = [], []
            for j in range(n):
                cell = r[j] if j < len(r) else {"t": ""}
                if interval[j]:
                    if cell.get("k") == "interval":
                        kind = "percent" if cell.get("u") == "%" else "money" if cell.get("c") else "number"
                        fmt = _number_format({**cell, "k": kind}, t.lang)
                        values += list(cell["v"])
                        formats += [fmt, fmt]
                    else:
                        shown = cell.get("t", cell.get("m", ""))
                        values += [None if shown.strip() in ("", "–") else _text(shown), None]
                        formats += [None, None]
                elif "v" in cell:
                    values.append(cell["v"] if cell["k"] not in ("count",) or cell["v"] % 1 else int(cell["v"]))
                    formats.append(_number_format(cell, t.lang))
                else:
                    shown = cell.get("t", "")     # a dash (a figure not shown) is an empty cell
                    values.append(None if "m" in cell or shown.strip() in ("", "–") else _text(shown))
                    formats.append(None)
                if estimate[j]:
                    values += list(cell["i"]) if "i" in cell else [None, None]
                    formats += [_number_format(cell, t.lang)] * 2 if "i" in cell else [None, None]
                if flagged[j]:
                    values.append(cell.get("m"))
                    formats.append(None)
            ws.append(values)
            row = ws.max_row
            for col, (v, fmt) in enumerate(zip(values, formats), start=1):
                c = ws.cell(row, col)
                if fmt:
                    c.number_format = fmt
                if i in table.get("totals", []):
                    c.font = Font(bold=True)
                widths[col - 1] = max(widths[col - 1], len(str(v if v is not None else "")) + (3 if fmt else 0))
        for col, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(col)].width = min(max(10, w + 2), 60)
        ws.freeze_panes = "A4"
    # the README sheet: what this is, where it comes from, how to read hidden cells, contents
    info.append([title])
    info.cell(1, 1).font = Font(bold=True, size=13)
    for line in readme:
        info.append([line])
    info.append([])
    info.append([t("workbook.contents")])
    info.cell(info.max_row, 1).font = Font(bold=True)
    info.append([t("workbook.sheet"), t("workbook.section"), t("workbook.table")])
    for c in info[info.max_row]:
        c.font, c.fill = head_font, head_fill
    for name, section, caption in sheets:
        info.append([name, section, caption])
    info.column_dimensions["A"].width = 34
    info.column_dimensions["B"].width = 40
    info.column_dimensions["C"].width = 70
    for row in info.iter_rows(min_row=2, max_row=len(readme) + 1):
        row[0].alignment = Alignment(wrap_text=False)
    wb.save(path)


def _text(v):
    """Text for a cell: never a formula (tables._cell)."""
    from .tables import _cell

    return _cell("" if v is None else str(v))
