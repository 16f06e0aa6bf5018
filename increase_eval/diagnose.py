"""File-level mistakes seen in row-level rejects: one line instead of thousands.

When one reason rejects more than half of the rows of a file, or most values of a column
fail one parse, the file was almost certainly read with a wrong setting (decimal mark,
date format, delimiter, encoding) or holds something the mapping did not expect; every
row rejected for it would hide the one fix. `problem` turns such counts into one
`FileProblem` naming landlord, file and column, with the likely fix; the landlord is then
skipped like for any other file problem. The values looked at to guess a date format
never appear in the message (only formats do).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from . import normalise as nz
from .errors import FileProblem

MIN_ROWS = 20          # a smaller file with a few bad rows is a few bad rows
SHARE = 0.5            # "most": more than half
SAMPLE = 200           # failing values kept per reason to guess a date format
MALFORMED = "_fields"  # key of the rows the CSV parser could not split to the header's width

DATE_FORMATS = ["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y", "%m/%d/%y",
                "%Y%m%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d-%b-%Y", "%d-%b-%y"]
MONTH_FORMATS = ["%Y-%m", "%m/%Y", "%m-%Y", "%Y%m", "%b %Y", "%B %Y", "%b-%y", "%m/%y"]


class Tally:
    """Rows rejected per (field, reason) in one file, how many cells each field had
    filled, and a few failing values per reason (for the date format guess only)."""

    def __init__(self) -> None:
        self.rows_in = 0
        self.rejected: Counter = Counter()
        self.filled: Counter = Counter()
        self.samples: dict[tuple, list[str]] = {}

    def add(self, field: str | None, reason: str, n: int, values: Iterable | None = None) -> None:
        key = (field or MALFORMED, reason)
        self.rejected[key] += n
        if values is not None:
            kept = self.samples.setdefault(key, [])
            if len(kept) < SAMPLE:
                for v in values:
                    if isinstance(v, str) and v.strip() and v not in kept:
                        kept.append(v.strip())
                        if len(kept) >= SAMPLE:
                            break


def problem(landlord: str, file: str, tally: Tally, header: dict[str, str], kinds: dict[str, str],
            mapping) -> FileProblem | None:
    """The file-level problem these rejects show, or None. `header`: field -> column
    header in the file; `kinds`: field -> kind of value (date, month, number, ...)."""
    if tally.rows_in < MIN_ROWS:
        return None
    worst = None
    malformed = sum(n for (f, _), n in tally.rejected.items() if f == MALFORMED)
    if malformed > SHARE * tally.rows_in:
        worst = ((MALFORMED, "row has a different number of fields than the header"), malformed, tally.rows_in)
    for (field, reason), n in tally.rejected.most_common():
        if worst is not None:
            break
        if field == MALFORMED:
            continue
        if n > SHARE * tally.rows_in:
            worst = ((field, reason), n, tally.rows_in)
        elif tally.filled.get(field, 0) >= MIN_ROWS and n > SHARE * tally.filled[field] \
                and reason != "required value missing":
            worst = ((field, reason), n, tally.filled[field])
    if worst is None:
        return None
    (field, reason), n, of = worst
    what = "rows" if of == tally.rows_in else "filled cells"
    fix = _fix(field, reason, tally.samples.get((field, reason), []), kinds.get(field, ""), mapping)
    column = None if field == MALFORMED else header.get(field, field)
    said = SHORT.get(reason.split(" (")[0], reason)
    said = said if len(said) <= 70 else said[:69] + "…"
    return FileProblem(landlord, file, f"{n:,} of {of:,} {what} rejected as '{said}'; {fix}", column)


SHORT = {"the cell holds a formula that was never calculated": "formula never calculated"}


def _fix(field: str, reason: str, samples: list[str], kind: str, mapping) -> str:
    delimiter = getattr(mapping, "delimiter", ",")
    if field == MALFORMED or reason.startswith("row has "):
        return (f"check the delimiter (the mapping says '{delimiter}') and that values holding it are quoted")
    if reason.startswith("uses '"):
        mark = reason.split("'")[1]
        return f"write decimal: \"{mark}\" in the mapping"
    if reason.startswith("amount in "):
        return "check the landlord's currency: in its mapping, and that this file is its own"
    if reason.startswith("the cell holds a formula"):
        return ("the cells hold formulas the program that wrote the file never calculated: open the file in "
                "Excel or LibreOffice and save it, so that their values are stored")
    if "NUL byte" in reason or "control character" in reason:
        return "check the file's encoding (UTF-16 read as UTF-8 shows NUL bytes): write it in the mapping"
    if any(m in s for s in samples for m in ("Ã", "â€")):
        return "the values look like UTF-8 read as Windows-1252: write encoding: utf-8 in the mapping"
    if reason.startswith(("not a date", "not a month")):
        month = reason.startswith("not a month")
        declared = list(getattr(mapping, "month_formats" if month else "date_formats", ()))
        guess = _guess(samples, MONTH_FORMATS + DATE_FORMATS if month else DATE_FORMATS, declared)
        said = " or ".join(_human(f) for f in declared) or "its formats"
        key = "month_formats" if month else "date_formats"
        if guess:
            return (f"the values look like {_human(guess)} while the mapping says {said}; write "
                    f"{key}: [\"{guess}\"] in the mapping")
        return f"the values are not dates written {said}; check {key} in the mapping"
    if reason == "required value missing":
        return "the column is empty in most rows; check that the mapping names the right column"
    if reason.startswith("unknown category") or reason.startswith("unknown neighbourhood"):
        return "most values are spellings the mapping does not know; add them under vocab: or check the column"
    if reason.startswith("not a yes/no"):
        return "add the file's yes/no words under booleans: in the mapping, or check the column"
    if reason.startswith("no participant with this reference") or reason.startswith("tenancy not in"):
        return "the references match no record of the register; check the column mapped and that both files " \
               "come from the same export"
    if "duration" in reason:
        return "check the column and units.duration (minutes or hours) in the mapping"
    if kind in ("date", "month"):
        return "check that the mapping names the right column and its date formats (dd/mm or mm/dd, yy or yyyy)"
    if kind in ("number", "int"):
        return "check that the mapping names the right column and its decimal mark"
    return "check that the mapping names the right column and its format"


def _guess(samples: list[str], formats: list[str], declared: list[str]) -> str | None:
    """The format, other than the declared ones, that reads at least 80% of the samples."""
    values = [nz.strip_time(s) for s in samples if s]
    if not values:
        return None
    best, best_n = None, 0
    for fmt in formats:
        if fmt in declared:
            continue
        n = 0
        for v in values:
            try:
                datetime.strptime(v, fmt)
                n += 1
            except ValueError:
                pass
        if n > best_n:
            best, best_n = fmt, n
    return best if best_n >= 0.8 * len(values) else None


def _human(fmt: str) -> str:
    return (fmt.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy").replace("%y", "yy")
            .replace("%B", "Month").replace("%b", "Mon"))
