"""Business creation: how many, which legal forms and sectors, who creates one, and how
long businesses survive (ERDF indicator C5, new enterprises supported)."""

from __future__ import annotations

import pandas as pd

from . import indicators, models
from .disclosure import Along, collapse

MONTH_DAYS = 30.44
CHECK_WINDOW_DAYS = 15   # checks are made within about two weeks of each 6-month mark


def creation_rate(p: pd.DataFrame) -> pd.DataFrame:
    starters = p[indicators.reached(p, "training_started")].assign(created=lambda d: d["business"].astype(bool))
    return indicators.rate_table(starters, "created")


def survival_curve(b: pd.DataFrame) -> pd.DataFrame:
    return models.kaplan_meier(b["survival_days"].astype(float), b["ceased"].astype(bool))


def survival_points(b: pd.DataFrame, data_end, months=(6, 12, 18)) -> pd.DataFrame:
    """Share still trading at the m-month check, among businesses old enough to have had
    it and whose status then is known (closed by then, or found trading at or after it),
    with Wilson intervals. Checks fall on irregular dates, so a Kaplan-Meier curve of
    detected closures reads low at the check marks; this share does not, and needs no
    assumption about businesses too young to be checked (they are simply not counted)."""
    end = pd.Timestamp(data_end)
    age = (b["ceased_date"].fillna(b["last_trading_date"]) - b["created_date"]).dt.days
    rows = []
    for m in months:
        mark = m * MONTH_DAYS
        old_enough = b["created_date"] + pd.Timedelta(days=mark + CHECK_WINDOW_DAYS) <= end
        closed = b["ceased"].astype(bool) & (age <= mark + CHECK_WINDOW_DAYS)
        seen_trading = (b["last_trading_date"] - b["created_date"]).dt.days >= mark - CHECK_WINDOW_DAYS
        known = old_enough & (closed | seen_trading)
        n, k = int(known.sum()), int((known & ~closed).sum())
        rate, lo, hi = indicators.wilson(k, n)
        rows.append({"months": m, "n": n, "k": k, "survival": float(rate), "lower": float(lo), "upper": float(hi)})
    return pd.DataFrame(rows)


COUNT_RELATIONS = (Along("businesses"),)


def counts(b: pd.DataFrame, column: str, k: int) -> pd.DataFrame:
    """Businesses by `column`; categories of fewer than k businesses counted together as "other"."""
    t = b[column].fillna("unknown").value_counts().rename_axis(column).reset_index(name="businesses")
    t = collapse(t, column, "businesses", k, "other")
    t["share"] = t["businesses"] / t["businesses"].sum() if len(t) else 0.0
    return t


def who_creates(p: pd.DataFrame, data_end, sessions: pd.DataFrame, *, max_landlord_terms: int) -> models.Logit | None:
    """Creating a business within 12 months of starting training, among people followed
    that long, on dosage (training sessions before the business was created, or before the
    12-month mark for the others), barriers, age and sex; landlord and place allowed for,
    and missing characteristics multiply imputed, as in the employment model (landlord as
    area where several are pooled, errors robust to clustering by neighbourhood; above
    `max_landlord_terms` landlords, the country, and clustering by landlord:
    employment.Pooling)."""
    from . import employment

    d = employment.known_dosage(model_frame(p, data_end, sessions))
    spec = employment.specification(d, max_landlord_terms, outcome="created")
    if not len(d) or not spec.terms:
        return None
    fit = employment.imputed_logit(d, spec)
    if fit is not None:
        fit.dropped = spec.dropped
    return fit


def model_frame(p: pd.DataFrame, data_end, sessions: pd.DataFrame) -> pd.DataFrame:
    """People followed 12 months after starting training (the employment model's people),
    whether they created a business within them, and the dosage before it (see
    who_creates)."""
    from . import employment

    d = employment.followed_12m(p, data_end)
    limit = d["training_start_date"] + pd.Timedelta(days=365)
    created = d["business_date"].notna() & (d["business_date"] <= limit)
    d["created"] = created.astype(float)
    d["training_sessions_before"] = employment.dosage_before(d, sessions, created, d["business_date"])
    return d


def km_at_checks(b: pd.DataFrame, months=(6, 12, 18)) -> pd.DataFrame:
    """The Kaplan-Meier curve of closures as detected, read exactly at each mark (for the
    benchmark: a closure is dated at the check that finds it, up to about two weeks after
    the mark, so this reading misses part of them and reads high)."""
    curve = survival_curve(b)
    rows = []
    for m in months:
        at = models.survival_at(curve, m * MONTH_DAYS)
        rows.append({"months": m, "survival": float(at["survival"]), "lower": float(at["lower"]),
                     "upper": float(at["upper"]), "at_risk": float(at["at_risk"])})
    return pd.DataFrame(rows)
