"""Statistical models: logistic regression with cluster-robust errors, Kaplan-Meier,
difference-in-differences with two-way fixed effects (and its event study), and
propensity-score matching. Each returns plain tables; nothing here formats or plots.

None of these designs assigned people to the programme at random: they estimate
associations, or effects under stated assumptions (parallel trends, no unobserved
confounding once matched), and the notebooks say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationError


# --- logistic regression ---------------------------------------------------------------------

@dataclass
class Logit:
    table: pd.DataFrame          # term, odds_ratio, lower, upper, p_value
    n: int
    events: int
    clusters: int
    formula: str
    dropped: tuple = ()          # terms left out: recorded for no one, or the same for everyone


MIN_EVENTS = 10   # fewer events or non-events than this: no model is fitted


def logit_odds_ratios(data: pd.DataFrame, formula: str, cluster: str | None = None,
                      level: float = 0.95) -> Logit | None:
    """Odds ratios with `level` intervals; errors robust to clustering by `cluster`
    (people of one neighbourhood share more than the model says). None when the data
    cannot support a model: under MIN_EVENTS events or non-events, or a fit that fails
    (perfect separation, a singular design)."""
    outcome = formula.split("~")[0].strip()
    columns = [c for c in data.columns if c in formula or c == cluster]
    d = data[columns].dropna().copy()
    d[outcome] = d[outcome].astype(float)
    for c in d.columns:
        if str(d[c].dtype) in ("Int64", "Float64", "boolean"):
            d[c] = d[c].astype(float)
    events = int(d[outcome].sum())
    if min(events, len(d) - events) < MIN_EVENTS:
        return None
    try:
        model = smf.logit(formula, data=d)
        if cluster and d[cluster].nunique() > 1:
            groups = pd.factorize(d[cluster])[0]
            fit = model.fit(disp=False, cov_type="cluster", cov_kwds={"groups": groups})
        else:
            fit = model.fit(disp=False)
    except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
        return None
    ci = fit.conf_int(alpha=1 - level)
    table = pd.DataFrame({"term": fit.params.index, "odds_ratio": np.exp(fit.params.to_numpy()),
                          "lower": np.exp(ci[0].to_numpy()), "upper": np.exp(ci[1].to_numpy()),
                          "p_value": fit.pvalues.to_numpy()})
    table = table[table["term"] != "Intercept"].reset_index(drop=True)
    return Logit(table, int(fit.nobs), int(d[outcome].sum()),
                 int(d[cluster].nunique()) if cluster else 0, formula)


def recorded_terms(data: pd.DataFrame, terms: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """The terms a model can estimate from `data` (recorded for someone, and not the same
    for everyone), and those it cannot: a characteristic no landlord recorded is left out
    of the model rather than leaving every person out of it."""
    kept = [t for t in terms if data[t].notna().any() and data[t].nunique(dropna=True) > 1]
    return kept, tuple(t for t in terms if t not in kept)


def strongest(table: pd.DataFrame) -> pd.Series | None:
    """The odds ratio farthest from 1 among those whose interval excludes 1, if any."""
    clear = table[(table["lower"] > 1) | (table["upper"] < 1)]
    if clear.empty:
        return None
    return clear.loc[np.abs(np.log(clear["odds_ratio"])).idxmax()]


# --- Kaplan-Meier ------------------------------------------------------------------------------

def kaplan_meier(durations, events, level: float = 0.95) -> pd.DataFrame:
    """Survival curve with censoring: time, at_risk, events, survival, lower, upper
    (log(-log) intervals, which stay within 0 and 1)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    ok = ~np.isnan(t)
    t, e = t[ok], e[ok]
    if len(t) == 0:   # nothing to follow: the curve's start, typed, so that it still plots
        return pd.DataFrame({"time": [0.0], "at_risk": [0.0], "events": [0.0], "survival": [1.0], "lower": [1.0],
                             "upper": [1.0]})
    times = np.unique(t[e]) if e.any() else np.array([], dtype=float)
    at_risk = np.array([(t >= x).sum() for x in times], dtype=float)
    d = np.array([((t == x) & e).sum() for x in times], dtype=float)
    s = np.cumprod(1 - d / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(d / (at_risk * (at_risk - d)))
        z = stats.norm.ppf(0.5 + level / 2)
        log_s = np.log(s)
        se = np.sqrt(greenwood) / np.abs(log_s)
        lower = np.exp(-np.exp(np.log(-log_s) + z * se))
        upper = np.exp(-np.exp(np.log(-log_s) - z * se))
    lower = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, lower))
    upper = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, upper))
    start = pd.DataFrame({"time": [0.0], "at_risk": [float(len(t))], "events": [0.0], "survival": [1.0],
                          "lower": [1.0], "upper": [1.0]})
    curve = pd.DataFrame({"time": times, "at_risk": at_risk, "events": d, "survival": s,
                          "lower": np.nan_to_num(lower, nan=0.0), "upper": np.nan_to_num(upper, nan=1.0)})
    return pd.concat([start, curve], ignore_index=True)


def survival_at(curve: pd.DataFrame, time: float) -> pd.Series:
    """The curve's survival and interval at `time` (the last step at or before it)."""
    before = curve[curve["time"] <= time]
    return before.iloc[-1][["survival", "lower", "upper", "at_risk"]] if len(before) else curve.iloc[0][
        ["survival", "lower", "upper", "at_risk"]]


# --- difference in differences -------------------------------------------------------------------

def _demean_two_way(x: np.ndarray, unit: np.ndarray, time: np.ndarray, tol: float = 1e-9,
                    max_iter: int = 200) -> np.ndarray:
    """Remove unit and time means (alternating projections; exact for balanced panels,
    converging for unbalanced ones)."""
    x = np.array(x, dtype=float, copy=True)
    if x.ndim == 1:
        x = x[:, None]
    nu, nt = unit.max() + 1, time.max() + 1
    cu, ct = np.bincount(unit, minlength=nu), np.bincount(time, minlength=nt)
    for _ in range(max_iter):
        change = 0.0
        for g, counts, n in ((unit, cu, nu), (time, ct, nt)):
            means = np.vstack([np.bincount(g, weights=x[:, j], minlength=n) for j in range(x.shape[1])]).T
            means /= np.maximum(counts, 1)[:, None]
            x -= means[g]
            change = max(change, float(np.abs(means).max()))
        if change < tol:
            break
    return x


@dataclass
class Regression:
    table: pd.DataFrame       # term, estimate, lower, upper, std_error, p_value
    n: int
    units: int
    clusters: int


def twfe(y, regressors: pd.DataFrame, unit, time, cluster=None, level: float = 0.95) -> Regression:
    """OLS of y on regressors with unit and time fixed effects (absorbed), standard errors
    robust to clustering (default: by unit), with the usual small-sample factor."""
    unit_codes = pd.factorize(pd.Series(unit))[0]
    time_codes = pd.factorize(pd.Series(time))[0]
    cl = unit_codes if cluster is None else pd.factorize(pd.Series(cluster))[0]
    X = _demean_two_way(regressors.to_numpy(dtype=float), unit_codes, time_codes)
    yy = _demean_two_way(np.asarray(y, dtype=float), unit_codes, time_codes)[:, 0]
    XtX_inv = np.linalg.pinv(X.T @ X)
    beta = XtX_inv @ X.T @ yy
    resid = yy - X @ beta
    n, k = X.shape
    G = cl.max() + 1
    scores = np.vstack([np.bincount(cl, weights=X[:, j] * resid, minlength=G) for j in range(k)]).T
    meat = scores.T @ scores
    n_fe = (unit_codes.max() + 1) + (time_codes.max() + 1) - 1
    factor = G / (G - 1) * (n - 1) / max(n - k - n_fe, 1) if G > 1 else 1.0
    cov = factor * XtX_inv @ meat @ XtX_inv
    se = np.sqrt(np.diag(cov))
    z = stats.t.ppf(0.5 + level / 2, df=max(G - 1, 1))
    table = pd.DataFrame({"term": regressors.columns, "estimate": beta, "lower": beta - z * se,
                          "upper": beta + z * se, "std_error": se,
                          "p_value": 2 * stats.t.sf(np.abs(beta / se), df=max(G - 1, 1))})
    return Regression(table, int(n), int(unit_codes.max() + 1), int(G))


def did(panel: pd.DataFrame, outcome: str = "arrears", level: float = 0.95) -> Regression:
    """Difference in differences: `panel` has tenancy_id, month, `outcome`, and
    event_month (missing for comparison tenancies). Treatment starts the month after the
    event (a job starts within a month; rent follows pay)."""
    treated = panel["event_month"].notna() & (panel["month"] > panel["event_month"])
    return twfe(panel[outcome], pd.DataFrame({"treated_after": treated.astype(float)}),
                panel["tenancy_id"], panel["month"], level=level)


def event_study(panel: pd.DataFrame, outcome: str = "arrears", window: tuple[int, int] = (-12, 12),
                level: float = 0.95) -> pd.DataFrame:
    """Coefficients by month relative to the event (reference: the month before, -1);
    flat coefficients before the event support parallel trends. Ends are binned."""
    rel = _months_between(panel["month"], panel["event_month"])
    lo, hi = window
    rel = rel.clip(lo, hi)
    cols = {}
    for k in range(lo, hi + 1):
        if k != -1:
            cols[k] = (rel == k).fillna(False).astype(float).to_numpy()
    X = pd.DataFrame(cols)
    fit = twfe(panel[outcome], X, panel["tenancy_id"], panel["month"], level=level)
    table = fit.table.rename(columns={"term": "event_time"})
    ref = pd.DataFrame({"event_time": [-1], "estimate": [0.0], "lower": [0.0], "upper": [0.0],
                        "std_error": [0.0], "p_value": [np.nan]})
    return pd.concat([table, ref]).sort_values("event_time").reset_index(drop=True)


def _months_between(month: pd.Series, event: pd.Series) -> pd.Series:
    m = month.dt.year * 12 + month.dt.month
    e = event.dt.year * 12 + event.dt.month
    return (m - e).astype("Int64")


# --- propensity-score matching -----------------------------------------------------------------

@dataclass
class Matching:
    att: float
    lower: float
    upper: float
    treated: int
    matched_controls: int
    balance: pd.DataFrame     # covariate, smd_before, smd_after
    unmatched: int


def _smd(x_t: np.ndarray, x_c: np.ndarray) -> float:
    """Standardised mean difference (pooled standard deviation); controls matched with
    replacement appear as often as they are used."""
    if len(x_t) < 2 or len(x_c) < 2:
        return float("nan")
    pooled = np.sqrt((x_t.var(ddof=1) + x_c.var(ddof=1)) / 2)
    return float((x_t.mean() - x_c.mean()) / pooled) if pooled > 0 else 0.0


def psm(units: pd.DataFrame, covariates: list[str], outcome: str, within: str | None = None,
        caliper_sd: float = 0.2, n_boot: int = 200, seed: int = 1, level: float = 0.95) -> Matching:
    """Nearest-neighbour matching (1:1, with replacement) on the logit of the propensity
    score, within `within` groups, with a caliper of `caliper_sd` standard deviations.
    `units` has a boolean `treated`, the covariates (numeric) and the outcome. The interval
    is a bootstrap over treated units (matches held fixed)."""
    d = units.dropna(subset=covariates + [outcome]).reset_index(drop=True)
    z = d[covariates].astype(float)
    z = (z - z.mean()) / z.std(ddof=0).replace(0, 1)    # standardised: a well-conditioned fit
    X = sm.add_constant(z, has_constant="add")
    fit = sm.Logit(d["treated"].astype(float), X).fit(disp=False, maxiter=200, method="bfgs")
    ps = np.clip(np.asarray(fit.predict(X), dtype=float), 1e-6, 1 - 1e-6)
    score = np.log(ps / (1 - ps))
    caliper = caliper_sd * score.std()
    groups = d[within] if within else pd.Series(0, index=d.index)
    treated_idx, control_idx = [], []
    for _, g in d.groupby(groups, sort=False):
        t = g.index[g["treated"].to_numpy(dtype=bool)]
        c = g.index[~g["treated"].to_numpy(dtype=bool)]
        if len(t) == 0 or len(c) == 0:
            continue
        cs = np.sort(score[c])
        corder = c[np.argsort(score[c])]
        pos = np.clip(np.searchsorted(cs, score[t]), 1, len(cs) - 1) if len(cs) > 1 else np.zeros(len(t), int)
        left = corder[np.maximum(pos - 1, 0)]
        right = corder[pos] if len(cs) > 1 else corder[np.zeros(len(t), int)]
        best = np.where(np.abs(score[left] - score[t]) <= np.abs(score[right] - score[t]), left, right)
        ok = np.abs(score[best] - score[t]) <= caliper
        treated_idx.extend(t[ok])
        control_idx.extend(best[ok])
    treated_idx, control_idx = np.array(treated_idx, int), np.array(control_idx, int)
    n_treated = int(d["treated"].sum())
    diff = d[outcome].to_numpy(float)[treated_idx] - d[outcome].to_numpy(float)[control_idx]
    att = float(diff.mean()) if len(diff) else float("nan")
    rng = np.random.default_rng(seed)
    boots = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(n_boot)] if len(diff) > 1 else [att]
    lo, hi = np.quantile(boots, [0.5 - level / 2, 0.5 + level / 2])
    rows = []
    all_t = d.index[d["treated"].to_numpy(dtype=bool)]
    all_c = d.index[~d["treated"].to_numpy(dtype=bool)]
    for cov in covariates:
        x = d[cov].to_numpy(float)
        before = _smd(x[all_t], x[all_c])
        after = _smd(x[treated_idx], x[control_idx]) if len(treated_idx) > 1 else float("nan")
        rows.append({"covariate": cov, "smd_before": before, "smd_after": after})
    return Matching(att, float(lo), float(hi), len(treated_idx), len(np.unique(control_idx)),
                    pd.DataFrame(rows), n_treated - len(treated_idx))
