"""Confidence and wellbeing between the entry and 6-month questionnaires: paired changes
among people who answered both, with the non-response they rest on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .schema import WELLBEING_ITEMS


def scores(q: pd.DataFrame) -> pd.DataFrame:
    """Confidence (1-10) and the SWEMWBS raw total (7 items, 7-35; missing if any item is)."""
    out = q[["person_id", "wave", "confidence"]].copy()
    out["wellbeing"] = q[WELLBEING_ITEMS].astype("Float64").sum(axis=1, skipna=False)
    return out


def paired_changes(q: pd.DataFrame, people: int) -> pd.DataFrame:
    """measure, pairs, mean change and 95% interval (paired t), response rates; every
    column is there even when no one answered both questionnaires (blank, not left out)."""
    s = scores(q)
    wide = s.pivot_table(index="person_id", columns="wave", values=["confidence", "wellbeing"], aggfunc="first")
    rows = []
    answered = s.groupby("wave")["person_id"].nunique()
    for measure in ("confidence", "wellbeing"):
        if ("entry" not in answered) or (measure, "month6") not in wide.columns or (measure, "entry") not in wide.columns:
            rows.append({"measure": measure, "pairs": 0})
            continue
        pair = wide[measure][["entry", "month6"]].dropna().astype(float)
        diff = pair["month6"] - pair["entry"]
        n = len(diff)
        mean = diff.mean() if n else np.nan
        half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        rows.append({"measure": measure, "pairs": n, "entry_mean": pair["entry"].mean(),
                     "month6_mean": pair["month6"].mean(), "change": mean, "lower": mean - half,
                     "upper": mean + half})
    # without pairs (no questionnaires, or entry ones only) the table keeps its columns, empty
    t = pd.DataFrame(rows, columns=["measure", "pairs", "entry_mean", "month6_mean", "change", "lower", "upper"])
    t["entry_response"] = answered.get("entry", 0) / people if people else np.nan
    t["month6_response"] = answered.get("month6", 0) / people if people else np.nan
    return t
