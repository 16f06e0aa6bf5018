"""Tenancies and rent arrears: the panel for difference in differences, the units for
propensity-score matching, and tenancy sustainment.

Treated: tenancies of participants who found work (job or business), from the month
after their employment date. Comparison: tenancies of non-participants in the same
neighbourhoods (never treated). Participants who did not find work are left out of both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


COVARIATES = ["early_arrears", "lead_age", "household_single_parent", "household_single", "household_couple_children"]
HOUSEHOLDS = ("single_parent", "single", "couple_children")


class _Hood:
    """One neighbourhood's tenancies as a tenancy x month grid of arrears, with running
    sums, so that the mean over any window of months, and whether it was observed in
    every month of it, take one subtraction."""

    def __init__(self, month: np.ndarray, arrears: np.ndarray, code: np.ndarray, months: int):
        self.local, self.codes = pd.factorize(code)
        n = len(self.codes)
        grid = np.full((n, months), np.nan)
        grid[self.local, month] = arrears
        seen = ~np.isnan(grid)
        zeros = np.zeros((n, 1))
        self.sum = np.hstack([zeros, np.cumsum(np.nan_to_num(grid), axis=1)])
        self.count = np.hstack([zeros, np.cumsum(seen, axis=1)])
        self.run = np.zeros((n, months + 1))          # months observed in a row from each month on
        for m in range(months - 1, -1, -1):
            self.run[:, m] = (self.run[:, m + 1] + 1) * seen[:, m]
        self.months = months

    def mean(self, rows, start, stop):
        """Mean over months start..stop-1 (arrays of positions or one position)."""
        return (self.sum[rows, stop] - self.sum[rows, start]) / (stop - start)

    def full(self, rows, start, stop):
        return (start >= 0) & (self.count[rows, stop] - self.count[rows, start] == stop - start)

    def after(self, rows, e):
        """Months observed in a row after month e."""
        return self.run[rows, e + 1] if e + 1 < self.months else np.zeros(np.size(rows))


def arrears_matching(p: pd.DataFrame, tenancies: pd.DataFrame, window: int = 12, baseline: int = 6,
                     min_after: int = 3, caliper_sd: float = 0.2, level: float = 0.95, controls_per_treated: int = 20,
                     seed: int = 1):
    """Propensity-score matching of participants' tenancies (treated from the month after
    their job started, e) with comparison tenancies of the same neighbourhood observed in
    the same calendar months (risk-set matching), so that the calendar (the trend of
    arrears, their December peaks) is the same for a participant and its match.

    Outcome, for a tenancy at e: mean arrears over months e+1..e+k minus the mean over
    e-6..e-1, where k is the number of months (up to 12, at least `min_after`) the
    participant's tenancy is observed after e in a row; its match must be observed in every
    one of those months and in the 12 before e. Covariates, at e: mean arrears over
    e-12..e-7 (months the outcome does not use: matching on the arrears that the outcome
    subtracts would pull the estimate towards the comparison tenancies' mean), the lead
    tenant's age and the household. The propensity score is a logistic regression of
    participants at e against comparison tenancies at the same months (up to
    `controls_per_treated` per participant, drawn with `seed`); matches are the nearest
    within `caliper_sd` of its standard deviation, with replacement; differences are
    bias-corrected and the interval counts the reuse of comparisons (models.matched_effect).
    Returns a models.Matching whose `excluded` counts participants' tenancies not observed
    over the windows (or missing a covariate), or None when fewer than 5 are matched."""
    from . import models

    month = (p["month"].dt.year * 12 + p["month"].dt.month).to_numpy()
    first = int(month.min())
    month = month - first
    months = int(month.max()) + 1
    code, ids = pd.factorize(p["tenancy_id"])
    event = (p["event_month"].dt.year * 12 + p["event_month"].dt.month).to_numpy(dtype=float) - first
    per = pd.DataFrame({"code": code, "event": event, "hood": p["neighbourhood_id"].to_numpy(dtype=object)})
    per = per.groupby("code").first().reindex(range(len(ids)))
    t = tenancies.drop_duplicates("tenancy_id").set_index("tenancy_id").reindex(ids)
    birth = t["lead_birth_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    household = t["household_type"].astype("string").fillna("unknown").to_numpy(dtype=object)
    use_age = bool(np.isfinite(birth).any())   # none known (tenancies derived from a panel): matched without it
    # a household type no tenancy records, or every tenancy has alike, cannot balance anything
    kinds = [h for h in HOUSEHOLDS if 0 < (household == h).sum() < len(household)]
    dummies = np.column_stack([(household == h).astype(float) for h in kinds]) if kinds else np.zeros((len(ids), 0))
    names = [c for c in COVARIATES if (use_age or c != "lead_age") and
             (not c.startswith("household_") or c[len("household_"):] in kinds)]
    arrears = p["arrears"].to_numpy(float)
    rng = np.random.default_rng(seed)

    def covariates(h: _Hood, rows, e: int) -> np.ndarray:
        g = h.codes[rows]
        cols = [h.mean(rows, e - window, e - baseline)]
        if use_age:
            cols.append((first + e - 1) // 12 - birth[g])
        return np.column_stack([*cols, dummies[g]])

    def outcome(h: _Hood, rows, e: int, k) -> np.ndarray:
        return h.mean(rows, e + 1, e + 1 + k) - h.mean(rows, e - baseline, e)

    def candidates(h: _Hood, controls: np.ndarray, e: int) -> tuple[np.ndarray, np.ndarray]:
        """The comparison tenancies observed over e's windows with every covariate, and those."""
        ok = controls[h.full(controls, e - window, e) & (h.after(controls, e) >= min_after)]
        x = covariates(h, ok, e) if len(ok) else np.zeros((0, 0))
        keep = np.isfinite(x).all(axis=1)
        return ok[keep], x[keep]

    rows_of = pd.Series(np.arange(len(code))).groupby(per["hood"].to_numpy(dtype=object)[code], sort=False).indices
    hoods = [(hood, rows_of[hood]) for hood in pd.unique(per["hood"].dropna())]
    plans, fit_t, fit_c, excluded = [], [], [], 0
    for hood, rows in hoods:          # first pass: who can be compared, and the rows of the score's fit
        h = _Hood(month[rows], arrears[rows], code[rows], months)
        ev = per["event"].to_numpy()[h.codes]
        treated = np.flatnonzero(np.isfinite(ev))
        controls = np.flatnonzero(~np.isfinite(ev))
        groups = {}
        for i in treated:
            e = int(ev[i])
            k = int(min(window, h.after(i, e))) if 0 <= e - window and e + 1 < months else 0
            x = covariates(h, np.array([i]), e)[0] if k >= min_after and h.full(i, e - window, e) else None
            if x is None or not np.isfinite(x).all():
                excluded += 1
                continue
            groups.setdefault(e, []).append((i, k, x))
            fit_t.append(x)
        for e, members in groups.items():
            ok, x = candidates(h, controls, e)
            if len(ok) == 0:
                continue
            take = min(len(ok), controls_per_treated * len(members))
            fit_c.append(x[rng.choice(len(ok), take, replace=False)])
        plans.append((hood, rows, groups))
    n_in = len(fit_t)
    if n_in < 5 or not fit_c:
        return None
    fit_t, fit_c = np.array(fit_t), np.vstack(fit_c)
    score = models.propensity(np.vstack([fit_t, fit_c]), np.r_[np.ones(len(fit_t)), np.zeros(len(fit_c))])
    caliper = caliper_sd * score.spread
    y_t, y_c, x_t, x_c, used = [], [], [], [], []
    for hood, rows, groups in plans:  # second pass: the matches
        h = _Hood(month[rows], arrears[rows], code[rows], months)
        ev = per["event"].to_numpy()[h.codes]
        controls = np.flatnonzero(~np.isfinite(ev))
        for e, members in groups.items():
            ok, x = candidates(h, controls, e)
            if len(ok) == 0:
                continue
            s = score(x)
            after = h.after(ok, e)
            for i, k, xi in members:
                eligible = np.flatnonzero(after >= k)
                if not len(eligible):
                    continue
                si = score(xi[None, :])[0]
                j = eligible[np.argmin(np.abs(s[eligible] - si))]
                if abs(s[j] - si) > caliper:
                    continue
                y_t.append(outcome(h, i, e, k))
                y_c.append(outcome(h, ok[j], e, k))
                x_t.append(xi)
                x_c.append(x[j])
                used.append(h.codes[ok[j]])
    if len(y_t) < 5:
        return None
    y_t, y_c, x_t, x_c = np.array(y_t), np.array(y_c), np.array(x_t), np.array(x_c)
    diff = y_t - y_c
    z = lambda x: (x - score.mean) / score.sd  # noqa: E731
    diff = diff - models.bias_adjustment(z(x_t), z(x_c), y_c)
    att, se, lo, hi = models.matched_effect(diff, np.array(used), level)
    balance = pd.DataFrame([{"covariate": c, "smd_before": models._smd(fit_t[:, j], fit_c[:, j]),
                             "smd_after": models._smd(x_t[:, j], x_c[:, j])} for j, c in enumerate(names)])
    return models.Matching(att, lo, hi, len(y_t), len(set(used)), balance, n_in - len(y_t), se, excluded,
                           len(y_t) >= len(names) + 10)


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
    events = models.event_study_fit(p, window=window)
    match = arrears_matching(p, tenancies_)
    left_out = [c for c in COVARIATES if match is not None and c not in set(match.balance["covariate"])]
    return {"did": did, "event_study": events.table, "pretrend": events.pretrend, "matching": match,
            "treated": treated, "tenancies": p["tenancy_id"].nunique(), "left_out": left_out}


def finding(est: dict) -> tuple[str, bool]:
    """What the estimates say, for titles that state it: the direction of the effect
    ('down', 'up' or 'none' when the interval spans zero) and whether the months before
    the event are consistent with parallel trends: the joint Wald test of the pre-event
    coefficients does not reject at 5% (which supports the comparison; it cannot prove it)."""
    d = est["did"].table.iloc[0]
    direction = "down" if d["upper"] < 0 else "up" if d["lower"] > 0 else "none"
    test = est.get("pretrend")
    flat = bool(test is not None and test.terms and not test.rejected)
    return direction, flat


@dataclass
class BenefitExits:
    """How often comparison tenants' housing benefit stops: the deadweight of moves into work."""

    estimate: float       # share whose benefit stops within `horizon` months (Kaplan-Meier)
    lower: float
    upper: float
    std_error: float      # Greenwood's
    tenancies: int        # comparison tenancies followed after `min_months` months of receipt
    stops: int            # of them, stops seen (within any follow-up)
    min_months: int
    horizon: int


def benefit_exits(tenancies_: pd.DataFrame, panel: pd.DataFrame, min_months: int = 6, horizon: int = 12,
                  level: float = 0.95, min_tenancies: int = 30, min_stops: int = 5) -> BenefitExits | None:
    """Deadweight from the rent panel, where it records housing benefit month by month
    (`housing_benefit`): among comparison tenancies (no participant), each one's first
    run of receipt; those that received it for `min_months` months are followed from then
    until the first month without it (a stop: a proxy for a move into work) or until their
    panel ends (censored), and the share whose benefit stops within `horizon` months is read
    from a Kaplan-Meier curve, with its log(-log) interval. A month left blank neither
    continues nor stops a run. None when the panel has no such column or too few tenancies
    or stops to say anything (then the assumed deadweight is used)."""
    from . import models

    if "housing_benefit" not in panel or panel["housing_benefit"].isna().all():
        return None
    comparison = set(tenancies_.loc[~tenancies_["participant"].astype(bool), "tenancy_id"])
    b = panel.loc[frames.isin(panel["tenancy_id"], comparison) & panel["housing_benefit"].notna(),
                  ["tenancy_id", "month", "housing_benefit"]]
    if b.empty:
        return None
    month = pd.to_datetime(b["month"])
    b = pd.DataFrame({"t": b["tenancy_id"].to_numpy(), "m": (month.dt.year * 12 + month.dt.month).to_numpy(),
                      "on": b["housing_benefit"].astype(bool).to_numpy()})
    start = b[b["on"]].groupby("t")["m"].min()
    b = b[b["t"].isin(start.index)]
    b["start"] = b["t"].map(start)
    b = b[b["m"] >= b["start"]]
    stop = b[~b["on"]].groupby("t")["m"].min()
    b["stop"] = b["t"].map(stop)
    last = b[b["on"] & (b["stop"].isna() | (b["m"] < b["stop"]))].groupby("t")["m"].max()
    spells = pd.DataFrame({"start": start, "stop": stop.reindex(start.index), "last": last.reindex(start.index)})
    stopped = spells["stop"].notna()
    # months received: up to the stop, or to the last month seen
    received = np.where(stopped, spells["stop"] - spells["start"], spells["last"] - spells["start"] + 1)
    followed = received >= min_months
    time = np.where(stopped, spells["stop"] - spells["start"] + 1, spells["last"] - spells["start"] + 1) - min_months
    time, event = time[followed], stopped.to_numpy()[followed]
    if len(time) < min_tenancies or event.sum() < min_stops:
        return None
    curve = models.kaplan_meier(time, event, level=level)
    at = models.survival_at(curve, horizon)
    row = curve[curve["time"] <= horizon].iloc[-1]
    return BenefitExits(float(1 - at["survival"]), float(1 - at["upper"]), float(1 - at["lower"]),
                        float(row["std_error"]), int(len(time)), int(event.sum()), min_months, horizon)
