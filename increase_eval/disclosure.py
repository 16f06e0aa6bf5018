"""Statistical disclosure control: no count from 1 to k-1 reaches a reader, and no rate
whose count could be worked back (k in config/programme.yml, `thresholds.disclosure_k`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def suppress(table: pd.DataFrame, k: int, counts: list[str], rates: dict[str, tuple[str, str]] | None = None,
             intervals: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """A copy of `table` in which each count column shows `<k` for 1..k-1, and each rate
    (mapped to its (denominator, numerator) count columns) is blank when the denominator
    is under k or the numerator is 1..k-1: rate x denominator would give the count back.
    `intervals` maps a rate to its (lower, upper) columns, blanked with it."""
    out = table.astype(object).copy()
    for rate, (denominator, numerator) in (rates or {}).items():
        hidden = rate_hidden(table[numerator], table[denominator], k)
        for col in (rate, *(intervals or {}).get(rate, ())):
            out.loc[hidden, col] = None
    for c in counts:
        out.loc[small(table[c], k), c] = f"<{k}"
    return out
