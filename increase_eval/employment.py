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


def model_people(d) -> pd.DataFrame:
    """Participants for the models (`d`: a data.Dataset): those of the landlords that
    provided outcomes (none recorded is not none found); where a landlord did not provide
    session records, its people's dosage is missing, not 0, so that a model with dosage
    leaves them out and one without it (no landlord provided sessions) keeps them."""
    p = d.having("outcomes").participants.copy()
    unknown = p["landlord"].isin(list(d.lacking("sessions")))
    for c in ("sessions_n", "training_sessions_n", "session_hours"):
        p[c] = p[c].mask(unknown)
    p["_no_sessions"] = unknown
    return p


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


def followed_12m(p: pd.DataFrame, data_end) -> pd.DataFrame:
    """People followed 12 months after starting training (the people both models count),
    with sex coded for them as `woman` (1, 0, or missing)."""
    e = indicators.employment_outcomes(p, data_end)
    d = e[e["eligible_12m"]].copy()
    d["woman"] = (d["sex"] == "F").astype(float).where(d["sex"].notna())
    return d


def dosage_before(d: pd.DataFrame, sessions: pd.DataFrame, happened: pd.Series, date: pd.Series) -> pd.Series:
    """Training sessions held before the outcome, for people of `followed_12m`: before its
    `date` for those for whom it `happened` within the 12 months, before the 12-month mark
    for the others."""
    cutoff = d["training_start_date"] + pd.Timedelta(days=365)
    return sessions_before(d, sessions, cutoff.where(~happened, date))


def model_frame(p: pd.DataFrame, data_end, sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """People followed 12 months after starting training, their outcome (employed within
    those 12 months) and the model's variables. Dosage: training sessions held before the
    job for those who found one within the 12 months, before the 12-month mark for the
    others (`training_sessions_before`); `training_sessions_n` counts every session, those
    after the job too, and is kept for comparison only."""
    d = followed_12m(p, data_end)
    d["employed"] = d["employed_12m"].astype(float)
    if sessions is not None:
        d["training_sessions_before"] = dosage_before(d, sessions, d["employed_12m"].astype(bool), d["employment_date"])
    return d


FORMULA = "employed ~ training_sessions_before + barriers_n + age_at_entry + woman"


@dataclass(frozen=True)
class Pooling:
    """How a model of people of several landlords allows for the landlord and the place.
    `area`: the column entering the model as a term per category (C(landlord), C(country))
    and the imputation models as dummies, or None; `cluster`: the column whose groups the
    errors are robust to. Up to `max_landlord_terms` landlords (configuration), one term
    per landlord and clusters by neighbourhood; above, the country (when several) and
    clusters by landlord, neighbourhoods being nested in landlords."""

    area: str | None
    cluster: str
    landlords: int
    max_landlord_terms: int

    @property
    def key(self) -> str:
        """The variant's name in the strings (`employment.model_pooling.<key>`): `landlord`
        (one landlord), `landlords` (a term each), `countries` (the country, clusters by
        landlord) or `country` (one country: no place term, clusters by landlord)."""
        if self.cluster == "neighbourhood_id":
            return "landlords" if self.area == "landlord" else "landlord"
        return "countries" if self.area == "country" else "country"


def max_landlord_terms(config) -> int:
    """The most landlords a pooled model gives a term each (config/programme.yml,
    `thresholds.model_landlord_terms_max`, where its reason is written)."""
    from .errors import ConfigError

    try:
        return int(config.programme["thresholds"]["model_landlord_terms_max"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{config.root / 'programme.yml'}: thresholds.model_landlord_terms_max is missing or not a "
                          "whole number (the most landlords a pooled model gives a term each; see the default "
                          "config/programme.yml for the value and its reason)") from None


def pooling(d: pd.DataFrame, max_landlord_terms: int) -> Pooling:
    """The model's allowance for landlord and place on the people of `d` (see Pooling)."""
    landlords = int(d["landlord"].nunique())
    if landlords <= max_landlord_terms:
        return Pooling("landlord" if landlords > 1 else None, "neighbourhood_id", landlords, max_landlord_terms)
    return Pooling("country" if d["country"].nunique() > 1 else None, "landlord", landlords, max_landlord_terms)


@dataclass(frozen=True)
class Specification:
    """A model's formula, the terms it estimates, those left out and its pooling."""

    formula: str
    terms: list[str]
    dropped: tuple[str, ...]
    pooling: Pooling


def specification(d: pd.DataFrame, max_landlord_terms: int, outcome: str = "employed",
                  dosage: str = "training_sessions_before") -> Specification:
    """The model of `outcome` on `d` (the employment model and who creates a business):
    the characteristics `d` can estimate, then the landlord or the country as `pooling`
    says."""
    terms, dropped = _terms(d, dosage)
    pool = pooling(d, max_landlord_terms)
    return Specification(_formula(outcome, terms, pool), terms, dropped, pool)


@dataclass
class Model:
    """The employment model: imputed (main) and complete-case estimates, and who lacks what."""

    imputed: models.Logit | None
    complete: models.Logit | None
    eligible: int                  # people followed 12 months after starting training
    missing: pd.DataFrame          # variable, missing: people lacking each variable of the model
    groups: pd.DataFrame           # complete (True/False), n, k (found work), rate, lower, upper
    dropped: tuple = ()            # terms left out: recorded for no one, or the same for everyone
    pooling: Pooling | None = None  # how landlords and places are allowed for


def known_dosage(d: pd.DataFrame) -> pd.DataFrame:
    """People of landlords that gave no session records have no dosage (missing, not 0;
    see model_people): left out of a model with dosage when others have it, and the
    dosage term left out when nobody has it."""
    if "_no_sessions" not in d or not d["_no_sessions"].astype(bool).any():
        return d
    unknown = d["_no_sessions"].astype(bool)
    d = d.copy()
    d["training_sessions_before"] = d["training_sessions_before"].mask(unknown)
    return d[~unknown] if (~unknown).any() else d


def _terms(d: pd.DataFrame, dosage: str = "training_sessions_before") -> tuple[list[str], tuple[str, ...]]:
    """The model's terms that `d` can estimate (see models.recorded_terms)."""
    return models.recorded_terms(d, [dosage, "barriers_n", "age_at_entry", "woman"])


def _formula(outcome: str, terms: list[str], pool: Pooling) -> str:
    f = f"{outcome} ~ " + " + ".join(terms or ["1"])
    return f + f" + C({pool.area})" if pool.area else f


def imputed_logit(d: pd.DataFrame, spec: Specification, m: int = IMPUTATIONS, seed: int = 1) -> models.Logit | None:
    """The logistic model on `d` with its missing characteristics (the four barrier flags,
    sex, age) imputed by chained equations (models.impute_chained, from the outcome, the
    dosage, the landlord or country as the model has it, and each other) and the m fits
    combined by Rubin's rules, errors clustered as `spec.pooling` says; the number of
    barriers is recomputed from the imputed flags. Only the model's own variables are
    imputed."""
    formula, area = spec.formula, spec.pooling.area
    outcome = formula.split("~")[0].strip()
    used = [v for v in models.formula_variables(formula, d) if v not in (outcome, "landlord", area)]
    dosage = [v for v in used if v.startswith("training_sessions")]
    columns = {"outcome": d[outcome].astype(float)}
    for v in dosage:
        columns[v] = d[v].astype(float)
    # the place as the model has it: a dummy per landlord (all but the first), or per country
    for value in sorted(d[area].unique())[1:] if area else []:
        columns[f"{area}_{value}"] = (d[area] == value).astype(float)
    impute = ([*BARRIERS] if "barriers_n" in used else []) + [c for c in ("woman", "age_at_entry") if c in used]
    for c in impute:
        columns[c] = d[c].astype("Float64").astype(float) if c != "woman" else d[c].astype(float)
    x = pd.DataFrame(columns, index=d.index)
    predictors = [c for c in x.columns if c not in impute]
    complete = int(d[models.formula_variables(formula, d)].notna().all(axis=1).sum())
    keep = list(dict.fromkeys([outcome, *dosage, *([area] if area else []), spec.pooling.cluster]))
    frames = []
    for f in models.impute_chained(x, impute, predictors, m=m, seed=seed):
        g = d[keep].copy()
        for c in ("woman", "age_at_entry"):
            if c in used:
                g[c] = f[c]
        if "barriers_n" in used:
            g["barriers_n"] = f[BARRIERS].sum(axis=1)
        frames.append(g)
    return models.logit_pooled(frames, formula, cluster=spec.pooling.cluster, complete=complete)


def model(p: pd.DataFrame, data_end, sessions: pd.DataFrame, m: int = IMPUTATIONS, *,
          max_landlord_terms: int) -> Model:
    """Employment within 12 months of training start on dosage (training sessions before
    the job or the 12-month mark), barriers, age and sex, with landlord as area where
    several are pooled, errors robust to clustering by neighbourhood; where more than
    `max_landlord_terms` are pooled, the country as area (when several) and errors robust
    to clustering by landlord (see Pooling). Main estimates: multiple imputation of
    missing characteristics; complete cases beside them. A term recorded for no one (no
    landlord recorded sex, or none gave session records) is left out and listed in
    `dropped`; people of a landlord without session records are left out of a model with
    dosage."""
    d = known_dosage(model_frame(p, data_end, sessions))
    spec = specification(d, max_landlord_terms)
    used = [v for v in models.formula_variables(spec.formula, d) if v != "employed"]
    variables = [*BARRIERS, "woman", "age_at_entry"]      # the dosage and the landlord are always known
    missing = pd.DataFrame({"variable": variables, "missing": [int(d[v].isna().sum()) for v in variables]})
    g = d.assign(complete=d[used].notna().all(axis=1))
    groups = indicators.rate_table(g, "employed", by="complete").sort_values("complete", ascending=False)
    imputed = imputed_logit(d, spec, m) if len(d) and spec.terms else None
    complete = (models.logit_odds_ratios(d, spec.formula, cluster=spec.pooling.cluster) if spec.terms else None)
    return Model(imputed, complete, len(d), missing, groups.reset_index(drop=True), spec.dropped, spec.pooling)


def odds_ratios(p: pd.DataFrame, data_end, sessions: pd.DataFrame | None = None, *,
                max_landlord_terms: int) -> models.Logit | None:
    """The employment model's complete-case odds ratios (see `model` for the main,
    imputed ones). Without sessions, dosage counts every training session (held after
    the job too): kept only to show what counting them does."""
    d = model_frame(p, data_end, sessions)
    dosage = "training_sessions_before" if sessions is not None else "training_sessions_n"
    spec = specification(d, max_landlord_terms, dosage=dosage)
    if dosage not in spec.terms:
        return None
    return models.logit_odds_ratios(d, spec.formula, cluster=spec.pooling.cluster)


BY_RELATIONS = (*indicators.RATE_RELATIONS, Along("n"), Along("k"))
CONTRACT_RELATIONS = (Along("people"),)


def contract_types(p: pd.DataFrame, k: int) -> pd.DataFrame:
    """People in a job by contract type; types held by fewer than k people counted together."""
    jobs = p[p["job"].astype(bool)]
    t = jobs["contract_type"].fillna("unknown").value_counts().rename_axis("contract_type").reset_index(name="people")
    t = collapse(t, "contract_type", "people", k, "other")
    t["share"] = t["people"] / t["people"].sum() if len(t) else np.nan
    return t
