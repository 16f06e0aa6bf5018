"""Statistical disclosure control: no count from 1 to k-1 reaches a reader, no rate whose
count could be worked back, and no hidden count that can be recovered from the totals it
adds up to (k in config/programme.yml, `thresholds.disclosure_k`).

Primary suppression hides the small counts themselves (shown `<k`). Secondary
suppression then hides further cells (shown `[c]`) wherever a small count could be
worked back from the additive relations a table takes part in: a row's parts and its
total (`Within`), a column whose sum is published here or in another table of the
report (`Along`), or a group of rows that add up to less than one row's total
(`Subset`). A relation is safe when it holds no hidden cell, or at least two unpublished
cells of which one is at least k: then each small count can still be anything from 1 to
k-1. The rule is the usual greedy one (hide the smallest further cell that is large
enough); the tests audit its tables with linear programming. Categories that would
each be small are better counted together first (`collapse`): a list of small cells
whose total is published elsewhere cannot be protected inside the table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SECONDARY = "[c]"


def small(counts, k: int) -> np.ndarray:
    """True where a count must not be shown (1 to k-1; zero is not disclosive)."""
    c = pd.to_numeric(pd.Series(counts), errors="coerce").to_numpy(dtype=float)
    return (c >= 1) & (c < k)


def rate_hidden(numerator, denominator, k: int) -> np.ndarray:
    """True where a rate must not be shown: fewer than k people behind it, or a count
    (or its complement, denominator - numerator) of 1 to k-1 it would give back."""
    num = pd.to_numeric(pd.Series(numerator), errors="coerce").to_numpy(dtype=float)
    den = pd.to_numeric(pd.Series(denominator), errors="coerce").to_numpy(dtype=float)
    return (den < k) | small(num, k) | small(den - num, k)


# --- relations between the counts of a table --------------------------------------------------
@dataclass(frozen=True)
class Within:
    """In every row, `total` = sum of `parts` (+ a remainder that is not shown, if `rest`)."""
    total: str
    parts: tuple[str, ...]
    rest: bool = False


@dataclass(frozen=True)
class Along:
    """The sum of `column` over the rows (within each `by` group) is published, in this
    table or in another table of the same report."""
    column: str
    by: str | None = None


@dataclass(frozen=True)
class Subset:
    """The rows whose `key` is in `labels` count disjoint groups of the people counted in
    `total` (read on the first of them): total = sum of their `part` + a remainder."""
    key: str
    labels: tuple
    part: str
    total: str


@dataclass(frozen=True)
class Chain:
    """Nested stages in one `column`: each row of `order` (by `key`) counts a subset of
    the row before it, the difference being a count of people too."""
    key: str
    order: tuple
    column: str


Cell = tuple[int, str]


@dataclass
class _Relation:
    total: Cell | None       # None: the sum is published elsewhere
    parts: list[Cell]
    rest: bool


def _expand(table: pd.DataFrame, relations) -> list[_Relation]:
    rows = range(len(table))
    out: list[_Relation] = []
    for r in relations:
        if isinstance(r, Within):
            out += [_Relation((i, r.total), [(i, c) for c in r.parts], r.rest) for i in rows]
        elif isinstance(r, Along):
            groups = [np.arange(len(table))] if r.by is None else \
                [np.flatnonzero(table[r.by].to_numpy() == g) for g in pd.unique(table[r.by])]
            out += [_Relation(None, [(int(i), r.column) for i in g], False) for g in groups if len(g)]
        elif isinstance(r, Subset):
            where = [int(i) for i in np.flatnonzero(table[r.key].isin(r.labels).to_numpy())]
            if where:
                out.append(_Relation((where[0], r.total), [(i, r.part) for i in where], True))
        elif isinstance(r, Chain):
            keys = list(table[r.key])
            present = [keys.index(s) for s in r.order if s in keys]
            out += [_Relation((a, r.column), [(b, r.column)], True) for a, b in zip(present, present[1:])]
        else:
            raise TypeError(f"not a disclosure relation: {r!r}")
    return out


def protect(table: pd.DataFrame, k: int, counts, relations=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(primary, secondary): boolean frames over the `counts` columns of `table`, True
    where a cell must be hidden as a small count, or to protect one."""
    counts = list(counts)
    values = {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in counts}
    primary = {c: small(values[c], k) for c in counts}
    secondary = {c: np.zeros(len(table), dtype=bool) for c in counts}
    rels = _expand(table, relations)
    for rel in rels:
        for cell in rel.parts + ([rel.total] if rel.total else []):
            if cell[1] not in values:
                raise KeyError(f"relation on '{cell[1]}', which is not among the counts {counts}")
    value = lambda cell: values[cell[1]][cell[0]]  # noqa: E731
    hidden = lambda cell: primary[cell[1]][cell[0]] or secondary[cell[1]][cell[0]]  # noqa: E731
    # a cell alone in its group of a column whose total is published elsewhere is published
    # there: hiding it here would protect nothing
    alone = {r.parts[0] for r in rels if r.total is None and len(r.parts) == 1}

    def ranked(cells, total) -> list:
        candidates = [c for c in dict.fromkeys(cells) if not hidden(c) and not np.isnan(value(c)) and c not in alone]
        # the smallest cell of at least 2k-1 (beside it a small count keeps its whole range
        # 1..k-1 even to a reader who guesses that [c] means "k or more"), then of at least
        # k, parts before the total, zeros last
        return sorted(candidates, key=lambda c: (value(c) < 2 * k - 1, value(c) < k, c == total, value(c)))

    def best(cells, total):
        return next(iter(ranked(cells, total)), None)

    def greedy():                  # relation by relation, until each is safe or has nothing left
        changed = True
        while changed:
            changed = False
            for rel in rels:
                cells = rel.parts + ([rel.total] if rel.total else [])
                unpublished = [c for c in cells if hidden(c)]
                remainder = value(rel.total) - np.nansum([value(c) for c in rel.parts]) if rel.rest else np.nan
                small_remainder = rel.rest and bool(small([remainder], k)[0])
                if not unpublished and not small_remainder:
                    continue
                large = any(value(c) >= k for c in unpublished) or (rel.rest and remainder >= k)
                if len(unpublished) + rel.rest >= 2 and large:
                    continue
                cell = best(cells, rel.total)
                if cell is not None:
                    secondary[cell[1]][cell[0]] = True
                    changed = True

    def cells_of(cell) -> list:
        return [c for r in rels if cell in r.parts or cell == r.total for c in r.parts + ([r.total] if r.total else [])]

    everything = list(dict.fromkeys(c for r in rels for c in r.parts + ([r.total] if r.total else [])))
    # then the audit: what the relations together still pin down (zeros, chains of sums).
    # Against a reader who takes `[c]` for any count, hide more until nothing is pinned,
    # looking beyond the pinned cell's own relations if need be; against a wary reader
    # (see `_pinned`), try the pinned cells' relations for a cell whose hiding frees one
    # (and keep a cell hidden for the wary reader only if that frees something)
    while True:
        greedy()
        pins = _pinned(rels, value, primary, secondary, k)
        cell = next((c for c in (best(cells_of(p), None) for p in pins) if c is not None), None)
        if cell is None and pins:
            cell = best(everything, None)
        if cell is None:
            break
        secondary[cell[1]][cell[0]] = True      # one at a time: it may free the others
    pins = _pinned(rels, value, primary, secondary, k, wary=True)
    tried = set()
    while pins:
        options = [c for c in dict.fromkeys(c for p in pins for c in ranked(cells_of(p), None)[:3]) if c not in tried]
        for cell in options:
            tried.add(cell)
            before = {c: v.copy() for c, v in secondary.items()}
            secondary[cell[1]][cell[0]] = True
            greedy()
            now = _pinned(rels, value, primary, secondary, k, wary=True)
            if len(now) < len(pins) and not _pinned(rels, value, primary, secondary, k):
                pins = now
                break
            secondary.update(before)
        else:
            break
    index = table.index
    return (pd.DataFrame(primary, index=index), pd.DataFrame(secondary, index=index))


def _pinned(rels: list[_Relation], value, primary, secondary, k: int, wary: bool = False) -> list:
    """Small counts (hidden, or remainders never shown) a reader could still work out
    exactly from what is published: for each, the lowest and highest values consistent
    with every relation (linear programming), where `<k` means 1..k-1, `[c]` any count,
    and a total published elsewhere is known unless small. A `wary` reader also knows
    that `[c]` is not 1..k-1 and is granted knowing whether it is 0 or at least k (more
    than it can know). A pinned remainder is reported as its relation's total cell."""
    from scipy.optimize import linprog

    hidden = {c for r in rels for c in r.parts + ([r.total] if r.total else [])
              if primary[c[1]][c[0]] or secondary[c[1]][c[0]]}
    sums = {j: float(np.nansum([value(c) for c in r.parts])) for j, r in enumerate(rels) if r.total is None}
    variables = sorted(hidden) + [(j, "rest") for j, r in enumerate(rels) if r.rest] + \
        [(j, "sum") for j, s in sums.items() if small([s], k)[0]]
    remainders = {j: value(r.total) - float(np.nansum([value(c) for c in r.parts])) for j, r in enumerate(rels) if r.rest}
    sensitive = [v for v in variables if v in hidden and primary[v[1]][v[0]]] + \
        [(j, "rest") for j, x in remainders.items() if small([x], k)[0]]
    if not sensitive:
        return []
    where = {v: n for n, v in enumerate(variables)}
    bounds = [(1, k - 1) if v[1] == "sum" or (v in hidden and primary[v[1]][v[0]]) else
              (k, None) if wary and v in hidden and value(v) >= k else (0, None) for v in variables]
    A, b = np.zeros((len(rels), len(variables))), np.zeros(len(rels))
    for j, r in enumerate(rels):
        for c in r.parts:
            if c in hidden:
                A[j, where[c]] += 1
            else:
                b[j] -= value(c)
        if (j, "sum") in where:
            A[j, where[(j, "sum")]] -= 1
        elif r.total is None:
            b[j] += sums[j]
        elif r.total in hidden:
            A[j, where[r.total]] -= 1
        else:
            b[j] += value(r.total)
        if r.rest:
            A[j, where[(j, "rest")]] += 1
    out = []
    for v in sensitive:
        objective = np.zeros(len(variables))
        objective[where[v]] = 1
        lo = linprog(objective, A_eq=A, b_eq=b, bounds=bounds)
        hi = linprog(-objective, A_eq=A, b_eq=b, bounds=bounds)
        if lo.status == 0 and hi.status == 0 and -hi.fun - lo.fun < 1 - 1e-6:
            out.append(rels[v[0]].total if v[1] == "rest" else v)
    return out


def pinned(table: pd.DataFrame, k: int, counts, relations, primary: pd.DataFrame, secondary: pd.DataFrame,
           wary: bool = False) -> list:
    """The small counts of a table shown with these masks that a reader could work out
    exactly (see `_pinned`; `protect` hides more until a wary reader pins none it can fix)."""
    counts = list(counts)
    values = {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in counts}
    return _pinned(_expand(table, relations), lambda cell: values[cell[1]][cell[0]],
                   {c: primary[c].to_numpy() for c in counts}, {c: secondary[c].to_numpy() for c in counts}, k,
                   wary)


def suppress(table: pd.DataFrame, k: int, counts: list[str], rates: dict[str, tuple[str, str]] | None = None,
             relations=()) -> pd.DataFrame:
    """A copy of `table` in which each count column shows `<k` for 1..k-1 and `[c]` where
    hidden to protect one (see `protect`), and each rate (mapped to its (denominator,
    numerator) count columns) is blank when rate x denominator would give back a small
    count, or when either of its counts is hidden; the table's interval columns (`lower`,
    `upper`) are blanked with it."""
    rates = rates or {}
    needed = list(dict.fromkeys([*counts, *(c for pair in rates.values() for c in pair)]))
    primary, secondary = protect(table, k, needed, relations)
    out = table.astype(object).copy()
    for rate, (denominator, numerator) in rates.items():
        hide = rate_hidden(table[numerator], table[denominator], k)
        for c in (denominator, numerator):
            hide |= (primary[c] | secondary[c]).to_numpy()
        for col in (rate, *(c for c in ("lower", "upper") if c in table)):
            out.loc[hide, col] = None
    for c in counts:
        out.loc[secondary[c].to_numpy(), c] = SECONDARY
        out.loc[primary[c].to_numpy(), c] = f"<{k}"
    return out


def collapse(table: pd.DataFrame, key: str, count: str, k: int, other, by: str | None = None) -> pd.DataFrame:
    """Rows whose `count` is 1 to k-1 merged into one row labelled `other` (per `by`
    group), other count columns summed and shares recomputed by the caller: many small
    categories listed one by one could be pinned down by their total alone."""
    if table.empty:
        return table
    keep, merged = [], []
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=False))
    numeric = [c for c in table.columns if c not in (key, by) and pd.api.types.is_integer_dtype(table[c])]
    for g, part in groups:
        few = small(part[count], k) | (part[key] == other).to_numpy()   # an existing "other" takes them in
        if few.sum() >= 2:
            row = part[few][numeric].sum().to_dict() | {key: other}
            if by is not None:
                row[by] = g
            keep.append(part[~few])
            merged.append(pd.DataFrame([row]))
        else:
            keep.append(part)
    out = pd.concat(keep + merged, ignore_index=True)
    if by is not None:
        order = {g: i for i, (g, _) in enumerate(groups)}
        out = out.sort_values(by, key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return out[table.columns.intersection(out.columns)].astype({c: table[c].dtype for c in numeric})
