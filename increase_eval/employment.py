"""Employment outcomes: rates at exit, at 6 months and within 12 months of training, time
to employment, and what is associated with it (a logistic model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import frames, indicators, models
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


def _days_to_employment(p: pd.DataFrame, data_end) -> tuple[np.ndarray, np.ndarray]:
    s = p[p["training_start_date"].notna()]
    end = pd.Timestamp(data_end)
    followed = (end - s["training_start_date"]).dt.days
    event = s["employment_date"].notna() & (s["days_to_employment"] >= 0)
    days = np.where(event, s["days_to_employment"].astype(float), followed.astype(float))
    return days, event.to_numpy()


def time_to_employment(p: pd.DataFrame, data_end) -> pd.DataFrame:
    """Kaplan-Meier of days from training start to employment, censored at the exports'
    date; people who never started training are left out."""
    return models.kaplan_meier(*_days_to_employment(p, data_end))


def at_risk(p: pd.DataFrame, data_end, days) -> list[int]:
    """Numbers at risk under the time-to-employment curve: people not yet in work and
    still followed at each of `days` after starting training."""
    d, _ = _days_to_employment(p, data_end)
    d = d[~np.isnan(d)]
    return [int((d >= x).sum()) for x in days]


BARRIERS = ["disability", "single_parent", "no_qualification", "long_term_unemployed"]
IMPUTATIONS = 30   # at least the percentage of people with a missing value (White, Royston and Wood 2011)


def sessions_before(p: pd.DataFrame, sessions: pd.DataFrame, cutoff: pd.Series) -> pd.Series:
    """Training sessions each person had strictly before `cutoff` (aligned with p): the
    dosage as it stood before the outcome, not sessions held after it."""
    s = sessions.loc[sessions["session_type"].eq("training"), ["person_id", "session_date"]]
    s = s[s["person_id"].isin(set(p["person_id"]))]
    cut = frames.lookup(s["person_id"], pd.Series(cutoff.to_numpy(), index=p["person_id"].to_numpy()))
    before = s[s["session_date"].to_numpy() < cut.to_numpy()]
    return p["person_id"].map(before.groupby("person_id").size()).fillna(0).astype(float)


def model_frame(p: pd.DataFrame, data_end, sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """People followed 12 months after starting training, their outcome (employed within
    those 12 months) and the model's variables. Dosage: training sessions held before the
    job for those who found one within the 12 months, before the 12-month mark for the
    others (`training_sessions_before`); `training_sessions_n` counts every session, those
    after the job too, and is kept for comparison only."""
    e = indicators.employment_outcomes(p, data_end)
    d = e[e["eligible_12m"]].copy()
    d["employed"] = d["employed_12m"].astype(float)
    d["woman"] = (d["sex"] == "F").astype(float).where(d["sex"].notna())
    if sessions is not None:
        employed = d["employed_12m"].astype(bool)
        cutoff = d["training_start_date"] + pd.Timedelta(days=365)
        cutoff = cutoff.where(~employed, d["employment_date"])
        d["training_sessions_before"] = sessions_before(d, sessions, cutoff)
    return d


FORMULA = "employed ~ training_sessions_before + barriers_n + age_at_entry + woman"


@dataclass
class Model:
    """The employment model: imputed (main) and complete-case estimates, and who lacks what."""

    imputed: models.Logit | None
    complete: models.Logit | None
    eligible: int                  # people followed 12 months after starting training
    missing: pd.DataFrame          # variable, missing: people lacking each variable of the model
    groups: pd.DataFrame           # complete (True/False), n, k (found work), rate, lower, upper


def _formula(d: pd.DataFrame, outcome: str = "employed", dosage: str = "training_sessions_before") -> str:
    f = f"{outcome} ~ {dosage} + barriers_n + age_at_entry + woman"
    return f + " + C(landlord)" if d["landlord"].nunique() > 1 else f


def imputed_logit(d: pd.DataFrame, formula: str, m: int = IMPUTATIONS, seed: int = 1) -> models.Logit | None:
    """The logistic model on `d` with its missing characteristics (the four barrier flags,
    sex, age) imputed by chained equations (models.impute_chained, from the outcome, the
    dosage, the landlord and each other) and the m fits combined by Rubin's rules; the
    number of barriers is recomputed from the imputed flags."""
    outcome, dosage = formula.split("~")[0].strip(), formula.split("~")[1].split("+")[0].strip()
    x = pd.DataFrame({"outcome": d[outcome].astype(float), "dosage": d[dosage].astype(float)}, index=d.index)
    for lid in sorted(d["landlord"].unique())[1:]:
        x[f"landlord_{lid}"] = (d["landlord"] == lid).astype(float)
    impute = [*BARRIERS, "woman", "age_at_entry"]
    for c in impute:
        x[c] = d[c].astype("Float64").astype(float) if c != "woman" else d[c].astype(float)
    predictors = [c for c in x.columns if c not in impute]
    complete = int(d[models.formula_variables(formula, d)].notna().all(axis=1).sum())
    frames = []
    for f in models.impute_chained(x, impute, predictors, m=m, seed=seed):
        g = d[[outcome, dosage, "landlord", "neighbourhood_id"]].copy()
        g["woman"], g["age_at_entry"] = f["woman"], f["age_at_entry"]
        g["barriers_n"] = f[BARRIERS].sum(axis=1)
        frames.append(g)
    return models.logit_pooled(frames, formula, cluster="neighbourhood_id", complete=complete)


def model(p: pd.DataFrame, data_end, sessions: pd.DataFrame, m: int = IMPUTATIONS) -> Model:
    """Employment within 12 months of training start on dosage (training sessions before
    the job or the 12-month mark), barriers, age and sex, with landlord as area where
    several are pooled; errors robust to clustering by neighbourhood. Main estimates:
    multiple imputation of missing characteristics; complete cases beside them."""
    d = model_frame(p, data_end, sessions)
    formula = _formula(d)
    used = [v for v in models.formula_variables(formula, d) if v != "employed"]
    variables = [*BARRIERS, "woman", "age_at_entry"]      # the dosage and the landlord are always known
    missing = pd.DataFrame({"variable": variables, "missing": [int(d[v].isna().sum()) for v in variables]})
    g = d.assign(complete=d[used].notna().all(axis=1))
    groups = indicators.rate_table(g, "employed", by="complete").sort_values("complete", ascending=False)
    return Model(imputed_logit(d, formula, m) if len(d) else None,
                 models.logit_odds_ratios(d, formula, cluster="neighbourhood_id"), len(d), missing,
                 groups.reset_index(drop=True))


def odds_ratios(p: pd.DataFrame, data_end, sessions: pd.DataFrame | None = None) -> models.Logit:
    """The employment model's complete-case odds ratios (see `model` for the main,
    imputed ones). Without sessions, dosage counts every training session (held after
    the job too): kept only to show what counting them does."""
    d = model_frame(p, data_end, sessions)
    dosage = "training_sessions_before" if sessions is not None else "training_sessions_n"
    return models.logit_odds_ratios(d, _formula(d, dosage=dosage), cluster="neighbourhood_id")


BY_RELATIONS = (*indicators.RATE_RELATIONS, Along("n"), Along("k"))
CONTRACT_RELATIONS = (Along("people"),)


def contract_types(p: pd.DataFrame, k: int) -> pd.DataFrame:
    """People in a job by contract type; types held by fewer than k people counted together."""
    jobs = p[p["job"].astype(bool)]
    t = jobs["contract_type"].fillna("unknown").value_counts().rename_axis("contract_type").reset_index(name="people")
    t = collapse(t, "contract_type", "people", k, "other")
    t["share"] = t["people"] / t["people"].sum() if len(t) else np.nan
    return t
