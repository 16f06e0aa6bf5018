"""Tenancies and rent arrears: the panel for difference in differences, the units for
propensity-score matching, and tenancy sustainment.

Treated: tenancies of participants who found work (job or business), from the month
after their employment date. Comparison: tenancies of non-participants in the same
neighbourhoods (never treated). Participants who did not find work are left out of both.
"""

from __future__ import annotations

import pandas as pd

from . import frames
from .disclosure import Along, Within


def unplaced(tenancies: pd.DataFrame) -> int:
    """Tenancies whose neighbourhood is not known (a rent panel without a tenancies export
    or a neighbourhood column): they cannot be compared with tenants of the same
    neighbourhoods, and the arrears analysis leaves them out."""
    return int(tenancies["neighbourhood_id"].isna().sum())


def arrears_panel(tenancies: pd.DataFrame, panel: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Monthly arrears with each tenancy's event month (missing for comparison tenancies),
    for tenancies whose neighbourhood is known."""
    tenancies = tenancies[tenancies["neighbourhood_id"].notna()]
    placed = set(tenancies["tenancy_id"])
    employed = participants[participants["employment"].astype(bool) & frames.isin(participants["tenancy_id"], placed)]
    event = employed.set_index("tenancy_id")["employment_date"].dt.to_period("M").dt.to_timestamp()
    event = event[~event.index.duplicated()]
    comparison = set(tenancies.loc[~tenancies["participant"].astype(bool), "tenancy_id"])
    keep = frames.isin(panel["tenancy_id"], comparison) | frames.isin(panel["tenancy_id"], event.index)
    p = panel.loc[keep, ["landlord", "tenancy_id", "month", "arrears"]].copy()
    p["month"] = pd.to_datetime(p["month"])
    p["event_month"] = frames.lookup(p["tenancy_id"], event)
    p = p[p["arrears"].notna()]
    hoods = tenancies.set_index("tenancy_id")["neighbourhood_id"]
    p["neighbourhood_id"] = p["tenancy_id"].map(hoods)
    return p.reset_index(drop=True)


def matching_units(panel: pd.DataFrame, tenancies: pd.DataFrame, window: int = 12) -> pd.DataFrame:
    """One row per tenancy: treated flag, covariates measured before the event, and the
    outcome: mean arrears in the `window` months after the event minus the `window`
    months before. A comparison tenancy's reference month is the middle of its panel."""
    p = panel.copy()
    ref = p["event_month"].copy()
    mid = p.groupby("tenancy_id")["month"].transform(lambda m: m.min() + (m.max() - m.min()) / 2)
    ref = ref.fillna(mid.dt.to_period("M").dt.to_timestamp())
    rel = (p["month"].dt.year * 12 + p["month"].dt.month) - (ref.dt.year * 12 + ref.dt.month)
    pre = p[(rel >= -window) & (rel <= -1)].groupby("tenancy_id")["arrears"].mean()
    post = p[(rel >= 1) & (rel <= window)].groupby("tenancy_id")["arrears"].mean()
    ref_by = ref.groupby(p["tenancy_id"]).first()
    t = tenancies.set_index("tenancy_id")
    units = pd.DataFrame({"pre_arrears": pre, "change": post - pre})
    units["treated"] = p.groupby("tenancy_id")["event_month"].first().notna().reindex(units.index)
    units["lead_age"] = (ref_by.reindex(units.index).dt.year - t["lead_birth_year"].reindex(units.index)).astype(float)
    household = t["household_type"].reindex(units.index).fillna("unknown")
    for h in ("single_parent", "single", "couple_children"):
        units[f"household_{h}"] = (household == h).astype(float)
    units["neighbourhood_id"] = t["neighbourhood_id"].reindex(units.index)
    return units.dropna(subset=["change", "pre_arrears"]).reset_index()


SUSTAIN_RELATIONS = (Within("tenancies", ("ended",), rest=True), Along("tenancies"), Along("ended"))


def sustainment(tenancies: pd.DataFrame, data_end) -> pd.DataFrame:
    """Tenancies that ended by the exports' date, participants' against comparison ones,
    among tenancies whose source records ends (`end_known`: for one derived from a rent
    panel without an end column, a missing end says nothing)."""
    t = tenancies[tenancies["end_known"].astype(bool)].copy()
    end = pd.Timestamp(data_end)
    t["ended"] = t["tenancy_end"].notna() & (t["tenancy_end"] <= end)
    return t.groupby("participant").agg(tenancies=("tenancy_id", "size"), ended=("ended", "sum")).reset_index()


def estimates(tenancies_: pd.DataFrame, panel: pd.DataFrame, participants: pd.DataFrame, window=(-12, 12)):
    """Difference in differences, its event study and matching, for landlords that share
    a currency. Returns None when there are no participants' tenancies with a job."""
    from . import models

    p = arrears_panel(tenancies_, panel, participants)
    treated = p.loc[p["event_month"].notna(), "tenancy_id"].nunique()
    if treated < 5 or p["tenancy_id"].nunique() - treated < 5:
        return None
    did = models.did(p)
    events = models.event_study(p, window=window)
    units = matching_units(p, tenancies_)
    every = ["pre_arrears", "lead_age", "household_single_parent", "household_single", "household_couple_children"]
    # a covariate no tenancy has (the lead tenant's age, for tenancies derived from a
    # rent panel) or every tenancy has alike (no household type recorded) cannot balance
    # anything: matched without it
    covariates = [c for c in every if units[c].nunique(dropna=True) > 1]
    match = models.psm(units.dropna(subset=covariates), covariates, "change", within="neighbourhood_id")
    return {"did": did, "event_study": events, "matching": match, "treated": treated,
            "tenancies": p["tenancy_id"].nunique(), "left_out": [c for c in every if c not in covariates]}


def finding(est: dict) -> tuple[str, bool]:
    """What the estimates say, for titles that state it: the direction of the effect
    ('down', 'up' or 'none' when the interval spans zero) and whether the months before
    the event look flat (at least 80% of pre-event intervals include zero)."""
    d = est["did"].table.iloc[0]
    direction = "down" if d["upper"] < 0 else "up" if d["lower"] > 0 else "none"
    pre = est["event_study"]
    pre = pre[pre["event_time"] < -1]
    flat = bool(((pre["lower"] <= 0) & (pre["upper"] >= 0)).mean() >= 0.8) if len(pre) else False
    return direction, flat
