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
    imputations: int = 0         # multiple imputation: how many data sets were combined (0: none)
    complete: int | None = None  # of the n, how many had every variable (with imputation)
    cluster: str | None = None   # the column whose groups the errors are robust to (None: not clustered)


MIN_EVENTS = 10   # fewer events or non-events than this: no model is fitted


def formula_variables(formula: str, data: pd.DataFrame) -> list[str]:
    """The columns of `data` a formula uses, as patsy reads it: `C(landlord)` uses
    landlord, `age` does not use `age_band`. (Looking for column names in the formula's text
    would: a column whose name is part of another's would shrink the complete cases.)"""
    from patsy import ModelDesc

    desc = ModelDesc.from_formula(formula)
    used: list[str] = []
    for term in desc.lhs_termlist + desc.rhs_termlist:
        for factor in term.factors:
            for name in factor.code.replace("(", " ").replace(")", " ").replace(",", " ").split():
                if name in data.columns and name not in used:
                    used.append(name)
    return used


def _as_float(d: pd.DataFrame) -> pd.DataFrame:
    d = d.copy()
    for c in d.columns:
        if str(d[c].dtype) in ("Int64", "Float64", "boolean", "bool"):
            d[c] = d[c].astype(float)
    return d


def _fit_logit(d: pd.DataFrame, formula: str, cluster: str | None):
    model = smf.logit(formula, data=d)
    if cluster and d[cluster].nunique() > 1:
        return model.fit(disp=False, cov_type="cluster", cov_kwds={"groups": pd.factorize(d[cluster])[0]})
    return model.fit(disp=False)


def logit_odds_ratios(data: pd.DataFrame, formula: str, cluster: str | None = None,
                      level: float = 0.95) -> Logit | None:
    """Odds ratios with `level` intervals; errors robust to clustering by `cluster`
    (people of one neighbourhood share more than the model says), on the rows with every
    variable of the formula (complete cases). None when the data cannot support a model:
    under MIN_EVENTS events or non-events, or a fit that fails (perfect separation, a
    singular design)."""
    outcome = formula.split("~")[0].strip()
    columns = formula_variables(formula, data) + ([cluster] if cluster and cluster not in formula else [])
    d = _as_float(data[columns].dropna())
    events = int(d[outcome].sum())
    if min(events, len(d) - events) < MIN_EVENTS:
        return None
    try:
        fit = _fit_logit(d, formula, cluster)
    except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
        return None
    ci = fit.conf_int(alpha=1 - level)
    table = pd.DataFrame({"term": fit.params.index, "odds_ratio": np.exp(fit.params.to_numpy()),
                          "lower": np.exp(ci[0].to_numpy()), "upper": np.exp(ci[1].to_numpy()),
                          "p_value": fit.pvalues.to_numpy()})
    table = table[table["term"] != "Intercept"].reset_index(drop=True)
    return Logit(table, int(fit.nobs), events, int(d[cluster].nunique()) if cluster else 0, formula, cluster=cluster)


# --- multiple imputation ------------------------------------------------------------------------

def _gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X' diag(w) X. By einsum, not BLAS: for these small matrices a threaded BLAS on a
    busy machine can be a hundred times slower than one core."""
    return np.einsum("ij,ik->jk", X * w[:, None], X)


def _logit_newton(X: np.ndarray, y: np.ndarray, ridge: float = 1e-4, steps: int = 25, start=None,
                  weights: np.ndarray | None = None):
    """Logistic regression by Newton-Raphson with a small ridge (so that a separated
    imputation model still has an answer): coefficients and their covariance."""
    w = np.ones(len(y)) if weights is None else weights
    beta = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    penalty = ridge * np.eye(X.shape[1])
    penalty[0, 0] = ridge * 1e-4        # the intercept barely: enough to stay invertible when a flag is all 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
        H = _gram(X, w * p * (1 - p)) + penalty
        step = np.linalg.solve(H, X.T @ (w * (y - p)) - penalty @ beta)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    p = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
    H = _gram(X, w * p * (1 - p)) + penalty
    return beta, np.linalg.inv(H)


def _augmented(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The imputation model's data with White, Daniel and Royston's (2010) augmentation:
    for each predictor, four records at its mean plus or minus one standard deviation (the
    others at their means), with the outcome 0 and 1, weighing p + 1 in all; so that a flag
    always 0 among the observed (perfect prediction) gets a finite model, not wild draws."""
    mean, sd = A[:, 1:].mean(axis=0), A[:, 1:].std(axis=0)
    k = A.shape[1] - 1
    rows, outcome = [], []
    for j in range(k):
        for sign in (-1, 1):
            x = mean.copy()
            x[j] += sign * sd[j]
            for value in (0.0, 1.0):
                rows.append(np.r_[1.0, x])
                outcome.append(value)
    weight = (k + 1) / (4 * k) if k else 0.0
    return (np.vstack([A, *rows]) if rows else A, np.r_[y, outcome],
            np.r_[np.ones(len(y)), np.full(len(rows), weight)])


def _logit_fit(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression and its covariance: cluster-robust by
    `groups` with statsmodels' small-sample factor G/(G-1) (n-1)/(n-k), or the inverse
    information without groups (the same numbers as statsmodels' Logit, faster)."""
    beta, _ = _logit_newton(X, y, ridge=0.0, steps=50)
    p = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
    bread = np.linalg.inv(_gram(X, p * (1 - p)))
    if groups is None or groups.max() < 1:
        return beta, bread
    n, k = X.shape
    G = int(groups.max()) + 1
    scores = np.vstack([np.bincount(groups, weights=X[:, j] * (y - p), minlength=G) for j in range(k)]).T
    factor = G / (G - 1) * (n - 1) / (n - k)
    return beta, factor * bread @ (scores.T @ scores) @ bread


def impute_chained(d: pd.DataFrame, impute: list[str], predictors: list[str], m: int = 30,
                   iterations: int = 5, seed: int = 1) -> list[pd.DataFrame]:
    """Multiple imputation by chained equations (van Buuren): `m` completed copies of `d`.
    Each variable of `impute` is drawn in turn from a model of it on every other variable
    (`predictors`, complete, and the other imputed ones): logistic for 0/1 variables,
    linear-normal for the rest, with the model's coefficients themselves drawn from their
    sampling distribution (proper imputation). Chains start from random observed values and
    run `iterations` cycles. Numeric columns only (dummies already made)."""
    rng = np.random.default_rng(seed)
    base = np.column_stack([np.ones(len(d)), d[predictors].to_numpy(dtype=float)])
    values = d[impute].astype(float).to_numpy()
    missing = np.isnan(values)
    binary = [set(np.unique(values[~missing[:, j], j])) <= {0.0, 1.0} for j in range(len(impute))]
    todo = [j for j in range(len(impute)) if missing[:, j].any() and (~missing[:, j]).sum() > 2]
    out = []
    warm: dict[int, np.ndarray] = {}     # each model's last coefficients: Newton starts there
    for _ in range(m):
        cur = values.copy()
        for j in todo:
            observed = values[~missing[:, j], j]
            cur[missing[:, j], j] = rng.choice(observed, missing[:, j].sum())
        for _ in range(iterations if todo else 0):
            for j in todo:
                A = np.column_stack([base, np.delete(cur, j, axis=1)])
                o, mi = ~missing[:, j], missing[:, j]
                if binary[j]:
                    Xa, ya, wa = _augmented(A[o], cur[o, j])
                    beta, cov = _logit_newton(Xa, ya, start=warm.get(j), weights=wa)
                    warm[j] = beta
                    b = rng.multivariate_normal(beta, cov, method="cholesky")
                    cur[mi, j] = (rng.random(mi.sum()) < 1 / (1 + np.exp(-np.clip(A[mi] @ b, -30, 30)))).astype(float)
                else:
                    beta, *_ = np.linalg.lstsq(A[o], cur[o, j], rcond=None)
                    resid = cur[o, j] - A[o] @ beta
                    dof = max(o.sum() - A.shape[1], 1)
                    sigma2 = float(resid @ resid) / rng.chisquare(dof)
                    cov = sigma2 * np.linalg.pinv(A[o].T @ A[o])
                    b = rng.multivariate_normal(beta, cov, method="svd")
                    cur[mi, j] = A[mi] @ b + rng.normal(0, np.sqrt(sigma2), mi.sum())
        frame = d.copy()
        for j, c in enumerate(impute):
            frame[c] = cur[:, j]
        out.append(frame)
    return out


def logit_pooled(frames: list[pd.DataFrame], formula: str, cluster: str | None = None, level: float = 0.95,
                 complete: int | None = None) -> Logit | None:
    """The same logistic regression on each imputed data set, combined by Rubin's rules:
    the mean of the log odds ratios; their variance, the mean within-imputation
    (cluster-robust) variance plus (1 + 1/m) times the variance between imputations; t
    intervals with Rubin's degrees of freedom."""
    import patsy

    outcome = formula.split("~")[0].strip()
    params, variances = [], []
    for f in frames:
        d = _as_float(f)
        events = int(d[outcome].sum())
        if min(events, len(d) - events) < MIN_EVENTS:
            return None
        try:
            y, X = patsy.dmatrices(formula, d, return_type="dataframe")
            groups = pd.factorize(d.loc[X.index, cluster])[0] if cluster else None
            beta, cov = _logit_fit(X.to_numpy(), y.to_numpy()[:, 0], groups)
        except (np.linalg.LinAlgError, ValueError):
            return None
        if not np.isfinite(beta).all():
            return None
        params.append(pd.Series(beta, index=X.columns))
        variances.append(np.diag(cov))
    m = len(frames)
    P = pd.DataFrame(params)
    q = P.mean().to_numpy()
    within = np.mean(variances, axis=0)
    between = P.var(ddof=1).to_numpy() if m > 1 else np.zeros_like(q)
    total = within + (1 + 1 / m) * between
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + 1 / m) * between / within
        dof = np.where(r > 0, (m - 1) * (1 + 1 / r) ** 2, np.inf)
    half = stats.t.ppf(0.5 + level / 2, dof) * np.sqrt(total)
    p_value = 2 * stats.t.sf(np.abs(q / np.sqrt(total)), dof)
    table = pd.DataFrame({"term": P.columns, "odds_ratio": np.exp(q), "lower": np.exp(q - half),
                          "upper": np.exp(q + half), "p_value": p_value})
    table = table[table["term"] != "Intercept"].reset_index(drop=True)
    d = frames[0]
    return Logit(table, len(d), int(_as_float(d[[outcome]])[outcome].sum()),
                 int(d[cluster].nunique()) if cluster else 0, formula, imputations=m, complete=complete,
                 cluster=cluster)


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
    (log(-log) intervals, which stay within 0 and 1) and std_error (Greenwood's, of the
    survival)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    ok = ~np.isnan(t)
    t, e = t[ok], e[ok]
    if len(t) == 0:   # nothing to follow: the curve's start, typed, so that it still plots
        return pd.DataFrame({"time": [0.0], "at_risk": [0.0], "events": [0.0], "survival": [1.0], "lower": [1.0],
                             "upper": [1.0], "std_error": [0.0]})
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
        std_error = np.nan_to_num(s * np.sqrt(greenwood), nan=0.0)
    lower = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, lower))
    upper = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, upper))
    start = pd.DataFrame({"time": [0.0], "at_risk": [float(len(t))], "events": [0.0], "survival": [1.0],
                          "lower": [1.0], "upper": [1.0], "std_error": [0.0]})
    curve = pd.DataFrame({"time": times, "at_risk": at_risk, "events": d, "survival": s,
                          "lower": np.nan_to_num(lower, nan=0.0), "upper": np.nan_to_num(upper, nan=1.0),
                          "std_error": std_error})
    return pd.concat([start, curve], ignore_index=True)


def survival_at(curve: pd.DataFrame, time: float) -> pd.Series:
    """The curve's survival and interval at `time` (the last step at or before it)."""
    before = curve[curve["time"] <= time]
    return before.iloc[-1][["survival", "lower", "upper", "at_risk"]] if len(before) else curve.iloc[0][
        ["survival", "lower", "upper", "at_risk"]]


# --- difference in differences -------------------------------------------------------------------

def _within(a: np.ndarray, unit: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`a` (n x c) minus its mean within each unit."""
    means = np.vstack([np.bincount(unit, weights=a[:, j], minlength=len(counts)) for j in range(a.shape[1])]).T
    return a - (means / np.maximum(counts, 1)[:, None])[unit]


@dataclass
class Regression:
    table: pd.DataFrame       # term, estimate, lower, upper, std_error, p_value
    n: int
    units: int
    clusters: int
    cov: np.ndarray | None = None   # cluster-robust covariance of the estimates (terms in table order)

    @property
    def df(self) -> int:
        """Degrees of freedom of the cluster-robust t and F tests: clusters - 1."""
        return max(self.clusters - 1, 1)


def twfe(y, regressors: pd.DataFrame, unit, time, cluster=None, level: float = 0.95) -> Regression:
    """OLS of y on regressors with unit and time fixed effects, standard errors robust to
    clustering (default: by unit), with the usual small-sample factor.

    Exact for unbalanced panels: every variable is demeaned within units, then the
    (within-unit demeaned) time dummies are partialled out (Frisch-Waugh-Lovell) from
    their cross-products, which are small (periods x periods), so the dummies are never
    formed. Identical to OLS with unit and time dummies (tested)."""
    from scipy import sparse

    unit_codes = pd.factorize(pd.Series(unit))[0]
    time_codes = pd.factorize(pd.Series(time), sort=True)[0]
    cl = unit_codes if cluster is None else pd.factorize(pd.Series(cluster))[0]
    n, k = len(unit_codes), regressors.shape[1]
    nu, nt = int(unit_codes.max()) + 1, int(time_codes.max()) + 1
    counts = np.bincount(unit_codes, minlength=nu).astype(float)
    Z = np.column_stack([regressors.to_numpy(dtype=float), np.asarray(y, dtype=float)])
    Zw = _within(Z, unit_codes, counts)
    if nt > 1:
        C = sparse.csr_matrix((np.ones(n), (unit_codes, time_codes)), shape=(nu, nt))
        DtD = np.diag(np.asarray(C.sum(axis=0)).ravel()) - (C.T @ C.multiply(1 / counts[:, None]).tocsr()).toarray()
        DtZ = np.vstack([np.bincount(time_codes, weights=Zw[:, j], minlength=nt) for j in range(Z.shape[1])]).T
        gamma = np.zeros((nt, Z.shape[1]))
        gamma[1:] = np.linalg.pinv(DtD[1:, 1:]) @ DtZ[1:]     # the first period is the reference
        Zw = Zw - _within(gamma[time_codes], unit_codes, counts)
    X, yy = Zw[:, :k], Zw[:, k]
    XtX_inv = np.linalg.pinv(X.T @ X)
    beta = XtX_inv @ X.T @ yy
    resid = yy - X @ beta
    G = int(cl.max()) + 1
    scores = np.vstack([np.bincount(cl, weights=X[:, j] * resid, minlength=G) for j in range(k)]).T
    meat = scores.T @ scores
    n_fe = nu + nt - 1
    factor = G / (G - 1) * (n - 1) / max(n - k - n_fe, 1) if G > 1 else 1.0
    cov = factor * XtX_inv @ meat @ XtX_inv
    se = np.sqrt(np.diag(cov))
    df = max(G - 1, 1)
    z = stats.t.ppf(0.5 + level / 2, df=df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stats.t.sf(np.abs(beta / se), df=df)
    table = pd.DataFrame({"term": regressors.columns, "estimate": beta, "lower": beta - z * se,
                          "upper": beta + z * se, "std_error": se, "p_value": p_value})
    return Regression(table, int(n), nu, G, cov)


@dataclass
class WaldTest:
    """A joint test that several coefficients are all zero: F = W / q with q and G - 1
    degrees of freedom, W the cluster-robust Wald statistic."""

    statistic: float
    df1: int
    df2: int
    p_value: float
    terms: int
    negative: int              # how many of the coefficients are below zero (for the reader)

    @property
    def rejected(self) -> bool:
        return bool(self.p_value < 0.05)


def wald_test(fit: Regression, terms) -> WaldTest:
    """Joint Wald test of `terms` of a cluster-robust regression (F with q and G - 1
    degrees of freedom, as Stata's `test` after clustered errors)."""
    names = list(fit.table["term"])
    idx = [names.index(t) for t in terms]
    b = fit.table["estimate"].to_numpy(float)[idx]
    V = fit.cov[np.ix_(idx, idx)]
    q = len(idx)
    W = float(b @ np.linalg.pinv(V) @ b)
    F = W / q
    return WaldTest(F, q, fit.df, float(stats.f.sf(F, q, fit.df)), q, int((b < 0).sum()))


def did(panel: pd.DataFrame, outcome: str = "arrears", level: float = 0.95) -> Regression:
    """Difference in differences: `panel` has tenancy_id, month, `outcome`, and
    event_month (missing for comparison tenancies). Treatment starts the month after the
    event (a job starts within a month; rent follows pay)."""
    treated = panel["event_month"].notna() & (panel["month"] > panel["event_month"])
    return twfe(panel[outcome], pd.DataFrame({"treated_after": treated.astype(float)}),
                panel["tenancy_id"], panel["month"], level=level)


@dataclass
class EventStudy:
    table: pd.DataFrame        # event_time, estimate, lower, upper, std_error, p_value (-1: the reference, 0)
    pretrend: WaldTest         # joint test that every pre-event coefficient (before -1) is zero
    fit: Regression


def event_study_fit(panel: pd.DataFrame, outcome: str = "arrears", window: tuple[int, int] = (-12, 12),
                    level: float = 0.95) -> EventStudy:
    """Coefficients by month relative to the event (reference: the month before, -1; ends
    binned), and the check of parallel trends: a joint cluster-robust Wald test that all
    pre-event coefficients are zero. Counting the pre-event intervals that include zero is
    no test: the coefficients share their reference month, so they move together."""
    rel = _months_between(panel["month"], panel["event_month"])
    lo, hi = window
    rel = rel.clip(lo, hi)
    cols = {}
    for k in range(lo, hi + 1):
        if k != -1:
            cols[k] = (rel == k).fillna(False).astype(float).to_numpy()
    X = pd.DataFrame(cols)
    fit = twfe(panel[outcome], X, panel["tenancy_id"], panel["month"], level=level)
    pre = [k for k in cols if k < -1]
    test = wald_test(fit, pre) if pre else WaldTest(float("nan"), 0, fit.df, float("nan"), 0, 0)
    table = fit.table.rename(columns={"term": "event_time"})
    ref = pd.DataFrame({"event_time": [-1], "estimate": [0.0], "lower": [0.0], "upper": [0.0],
                        "std_error": [0.0], "p_value": [np.nan]})
    table = pd.concat([table, ref]).sort_values("event_time").reset_index(drop=True)
    return EventStudy(table, test, fit)


def event_study(panel: pd.DataFrame, outcome: str = "arrears", window: tuple[int, int] = (-12, 12),
                level: float = 0.95) -> pd.DataFrame:
    """The event study's coefficients (see event_study_fit, which also tests them)."""
    return event_study_fit(panel, outcome, window, level).table


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
    treated: int               # treated units matched
    matched_controls: int      # distinct comparison units used
    balance: pd.DataFrame      # covariate, smd_before, smd_after
    unmatched: int             # treated units with no comparison within the caliper
    std_error: float = float("nan")
    excluded: int = 0          # treated units that could not be compared (see the caller: windows, covariates)
    bias_corrected: bool = False


def _smd(x_t: np.ndarray, x_c: np.ndarray) -> float:
    """Standardised mean difference (pooled standard deviation); controls matched with
    replacement appear as often as they are used."""
    if len(x_t) < 2 or len(x_c) < 2:
        return float("nan")
    pooled = np.sqrt((x_t.var(ddof=1) + x_c.var(ddof=1)) / 2)
    return float((x_t.mean() - x_c.mean()) / pooled) if pooled > 0 else 0.0


@dataclass
class Score:
    """The logit of an estimated propensity score, as a function of the covariates."""

    mean: np.ndarray
    sd: np.ndarray
    coef: np.ndarray           # intercept first, on standardised covariates
    spread: float              # standard deviation of the score in the sample it was fitted on

    def __call__(self, X) -> np.ndarray:
        z = (np.asarray(X, dtype=float) - self.mean) / self.sd
        return self.coef[0] + z @ self.coef[1:]


def propensity(X, treated) -> Score:
    """Logistic regression of `treated` on the covariates (standardised: a well-conditioned fit)."""
    X = np.asarray(X, dtype=float)
    mean, sd = X.mean(axis=0), X.std(axis=0)
    varies = sd > 0                      # a covariate everyone shares cannot enter the model
    sd = np.where(varies, sd, 1.0)
    Z = sm.add_constant((X - mean) / sd, has_constant="add")
    keep = np.r_[True, varies]
    fit = sm.Logit(np.asarray(treated, dtype=float), Z[:, keep]).fit(disp=False, maxiter=200, method="bfgs")
    coef = np.zeros(Z.shape[1])
    coef[keep] = np.asarray(fit.params, dtype=float)
    return Score(mean, sd, coef, float(np.std(Z @ coef)))


def nearest(score_t: np.ndarray, score_c: np.ndarray) -> np.ndarray:
    """For each treated score, the position of the nearest comparison score (ties: the lower)."""
    order = np.argsort(score_c, kind="stable")
    cs = score_c[order]
    if len(cs) == 1:
        return np.zeros(len(score_t), dtype=int)
    pos = np.clip(np.searchsorted(cs, score_t), 1, len(cs) - 1)
    left, right = order[pos - 1], order[pos]
    return np.where(np.abs(score_c[left] - score_t) <= np.abs(score_c[right] - score_t), left, right)


def bias_adjustment(X_t: np.ndarray, X_c: np.ndarray, y_c: np.ndarray) -> np.ndarray:
    """Abadie and Imbens's (2011) regression bias correction of matched differences: the
    difference in covariates within each pair times the slopes of the comparison outcome on
    the covariates (OLS on the matched comparisons, as often as each is used). Subtract it
    from the pair's difference. Zero when there are too few pairs to fit the slopes."""
    X_t, X_c = np.atleast_2d(X_t), np.atleast_2d(X_c)
    if len(y_c) < X_c.shape[1] + 10:
        return np.zeros(len(y_c))
    A = np.column_stack([np.ones(len(y_c)), X_c])
    beta = np.linalg.lstsq(A, y_c, rcond=None)[0][1:]
    return (X_t - X_c) @ beta


def matched_effect(diff: np.ndarray, controls: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean of matched differences (the effect on the treated) with its standard error
    and interval. With replacement, one comparison unit may serve several treated ones,
    and their differences then share its noise: the variance counts each comparison as a
    cluster of the pairs it serves (Abadie and Imbens's (2006) variance, with the
    conditional variances estimated from the pairs themselves). A bootstrap holding the
    matches fixed ignores this sharing and is too narrow; one that re-matches is not valid
    for nearest-neighbour matching (Abadie and Imbens 2008)."""
    diff = np.asarray(diff, dtype=float)
    n = len(diff)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    att = float(diff.mean())
    if n < 2:
        return att, float("nan"), float("nan"), float("nan")
    codes = pd.factorize(pd.Series(controls))[0]
    G = int(codes.max()) + 1
    sums = np.bincount(codes, weights=diff - att, minlength=G)
    var = float((sums ** 2).sum()) / n ** 2 * (G / (G - 1) if G > 1 else 1.0)
    se = float(np.sqrt(var))
    z = stats.norm.ppf(0.5 + level / 2)
    return att, se, att - z * se, att + z * se


def psm(units: pd.DataFrame, covariates: list[str], outcome: str, within: str | None = None,
        caliper_sd: float = 0.2, level: float = 0.95, bias_correction: bool = True) -> Matching:
    """Nearest-neighbour matching (1:1, with replacement) on the logit of the propensity
    score, within `within` groups, with a caliper of `caliper_sd` standard deviations of
    that score; `units` has a boolean `treated`, the covariates (numeric) and the outcome.
    Differences are bias-corrected (Abadie and Imbens 2011) and their interval counts the
    reuse of comparisons (see matched_effect). For panels, see
    tenancies.arrears_matching, which matches on the same calendar months."""
    d = units.dropna(subset=covariates + [outcome]).reset_index(drop=True)
    X = d[covariates].to_numpy(float)
    treated = d["treated"].to_numpy(dtype=bool)
    score_fn = propensity(X, treated)
    score = score_fn(X)
    caliper = caliper_sd * score_fn.spread
    groups = d[within] if within else pd.Series(0, index=d.index)
    treated_idx, control_idx = [], []
    for _, g in d.groupby(groups, sort=False):
        idx = g.index.to_numpy()
        t, c = idx[treated[idx]], idx[~treated[idx]]
        if len(t) == 0 or len(c) == 0:
            continue
        best = c[nearest(score[t], score[c])]
        ok = np.abs(score[best] - score[t]) <= caliper
        treated_idx.extend(t[ok])
        control_idx.extend(best[ok])
    treated_idx, control_idx = np.array(treated_idx, int), np.array(control_idx, int)
    y = d[outcome].to_numpy(float)
    diff = y[treated_idx] - y[control_idx]
    corrected = bias_correction and len(diff) >= len(covariates) + 10
    if corrected:
        Z = (X - score_fn.mean) / score_fn.sd
        diff = diff - bias_adjustment(Z[treated_idx], Z[control_idx], y[control_idx])
    att, se, lo, hi = matched_effect(diff, control_idx, level)
    rows = []
    for j, cov in enumerate(covariates):
        x = X[:, j]
        after = _smd(x[treated_idx], x[control_idx]) if len(treated_idx) > 1 else float("nan")
        rows.append({"covariate": cov, "smd_before": _smd(x[treated], x[~treated]), "smd_after": after})
    return Matching(att, lo, hi, len(treated_idx), len(np.unique(control_idx)), pd.DataFrame(rows),
                    int(treated.sum()) - len(treated_idx), se, 0, corrected)
