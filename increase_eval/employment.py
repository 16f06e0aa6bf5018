"""Employment outcomes: rates at exit, at 6 months and within 12 months of training, time
to employment, and what is associated with it (a logistic model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import indicators, models
from .disclosure import Along, collapse

MEASURES = ["exit", "6m", "12m"]


def outcome_rates(p: pd.DataFrame, data_end) -> pd.DataFrame:
    e = indicators.employment_outcomes(p, data_end)
    rows = []
    for m in MEASURES:
        t = indicators.rate_table(e, f"employed_{m}", eligible=f"eligible_{m}")
        rows.append({"measure": m, **t.iloc[0].to_dict()})
    return pd.DataFrame(rows)


def rates_by(p: pd.DataFrame, data_end, by: str, measure: str = "6m") -> pd.DataFrame:
    e = indicators.employment_outcomes(p, data_end)
    return indicators.rate_table(e, f"employed_{measure}", by=by, eligible=f"eligible_{measure}")


def time_to_employment(p: pd.DataFrame, data_end) -> pd.DataFrame:
    """Kaplan-Meier of days from training start to employment, censored at the exports'
    date; people who never started training are left out."""
    s = p[p["training_start_date"].notna()]
    end = pd.Timestamp(data_end)
    followed = (end - s["training_start_date"]).dt.days
    event = s["employment_date"].notna() & (s["days_to_employment"] >= 0)
    days = np.where(event, s["days_to_employment"].astype(float), followed.astype(float))
    return models.kaplan_meier(days, event.to_numpy())


TERMS = ["training_sessions_n", "barriers_n", "age_at_entry", "woman"]


def model_people(d) -> pd.DataFrame:
    """Participants for the models (`d`: a data.Dataset): those of the landlords that
    provided outcomes (none recorded is not none found); where a landlord did not provide
    session records, its people's dosage is missing, not 0, so that a model with dosage
    leaves them out and one without it (no landlord provided sessions) keeps them."""
    p = d.having("outcomes").participants.copy()
    unknown = p["landlord"].isin(list(d.lacking("sessions")))
    for c in ("sessions_n", "training_sessions_n", "session_hours"):
        p[c] = p[c].mask(unknown)
    return p


def model_frame(p: pd.DataFrame, data_end) -> pd.DataFrame:
    e = indicators.employment_outcomes(p, data_end)
    d = e[e["eligible_12m"]].copy()
    d["employed"] = d["employed_12m"].astype(float)
    d["woman"] = (d["sex"] == "F").astype(float).where(d["sex"].notna())
    return d


def odds_ratios(p: pd.DataFrame, data_end) -> models.Logit | None:
    """Employment within 12 months of training start on dosage (training sessions),
    barriers, age and sex, with landlord as area where several are pooled; errors
    robust to clustering by neighbourhood. A term recorded for no one is left out (and
    listed in `dropped`); None when nothing is left, or too few people."""
    return fit_with_recorded(model_frame(p, data_end), "employed")


def fit_with_recorded(d: pd.DataFrame, outcome: str) -> models.Logit | None:
    kept, dropped = models.recorded_terms(d, TERMS)
    if not kept:
        return None
    formula = f"{outcome} ~ " + " + ".join(kept)
    if d["landlord"].nunique() > 1:
        formula += " + C(landlord)"
    fit = models.logit_odds_ratios(d, formula, cluster="neighbourhood_id")
    if fit is not None:
        fit.dropped = dropped
    return fit


BY_RELATIONS = (*indicators.RATE_RELATIONS, Along("n"), Along("k"))
CONTRACT_RELATIONS = (Along("people"),)


def contract_types(p: pd.DataFrame, k: int) -> pd.DataFrame:
    """People in a job by contract type; types held by fewer than k people counted together."""
    jobs = p[p["job"].astype(bool)]
    t = jobs["contract_type"].fillna("unknown").value_counts().rename_axis("contract_type").reset_index(name="people")
    t = collapse(t, "contract_type", "people", k, "other")
    t["share"] = t["people"] / t["people"].sum() if len(t) else np.nan
    return t
