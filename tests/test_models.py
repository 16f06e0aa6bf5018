"""Models against hand-computed values, against statsmodels fitted the long way, and
against effects planted in simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.duration.survfunc import SurvfuncRight

from increase_eval import models


def test_kaplan_meier_by_hand():
    curve = models.kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    # at risk 5, 4, 2 at times 1, 2, 3: S = 4/5, 4/5*3/4, 3/5*1/2
    assert curve["time"].tolist() == [0, 1, 2, 3]
    assert curve["at_risk"].tolist() == [5, 5, 4, 2]
    assert curve["survival"].tolist() == pytest.approx([1, 0.8, 0.6, 0.3])
    assert (curve["lower"] <= curve["survival"]).all() and (curve["survival"] <= curve["upper"]).all()
    assert models.survival_at(curve, 2.5)["survival"] == pytest.approx(0.6)


def test_kaplan_meier_matches_statsmodels():
    rng = np.random.default_rng(3)
    t = rng.exponential(100, 300).round()
    e = rng.random(300) < 0.7
    ours = models.kaplan_meier(t, e).iloc[1:]
    theirs = SurvfuncRight(t, e.astype(int))
    assert ours["survival"].to_numpy() == pytest.approx(theirs.surv_prob)


def _panel(seed=0, units=60, months=24, effect=-50.0, unbalanced=True):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        treated = u < units // 3
        event = rng.integers(6, 18) if treated else None
        level = rng.normal(0, 100)
        for m in range(months):
            if unbalanced and rng.random() < 0.1:
                continue
            y = level + 2.0 * m + rng.normal(0, 10) + (effect if treated and m > event else 0)
            rows.append({"unit": u, "month": m, "y": y, "d": float(treated and m > event)})
    return pd.DataFrame(rows)


def test_two_way_fixed_effects_equal_ols_with_dummies_and_clustered_errors():
    panel = _panel()
    panel["x"] = np.random.default_rng(1).normal(size=len(panel))
    ours = models.twfe(panel["y"], panel[["d", "x"]], panel["unit"], panel["month"])
    long = smf.ols("y ~ d + x + C(unit) + C(month)", data=panel).fit(cov_type="cluster",
                                                                     cov_kwds={"groups": panel["unit"]})
    # exact, not converged: unit means removed, then the time dummies partialled out
    np.testing.assert_allclose(ours.table["estimate"], long.params[["d", "x"]], rtol=1e-9)
    np.testing.assert_allclose(ours.table["std_error"], long.bse[["d", "x"]], rtol=1e-9)
    np.testing.assert_allclose(ours.cov, long.cov_params().loc[["d", "x"], ["d", "x"]], rtol=1e-9)
    assert ours.clusters == panel["unit"].nunique() and ours.df == ours.clusters - 1


def test_the_joint_pre_trend_test_is_a_clustered_wald_test():
    panel = _panel(seed=4)
    panel["x"] = np.random.default_rng(2).normal(size=len(panel))
    fit = models.twfe(panel["y"], panel[["d", "x"]], panel["unit"], panel["month"])
    test = models.wald_test(fit, ["d", "x"])
    long = smf.ols("y ~ d + x + C(unit) + C(month)", data=panel).fit(cov_type="cluster",
                                                                     cov_kwds={"groups": panel["unit"]})
    b, V = long.params[["d", "x"]].to_numpy(), long.cov_params().loc[["d", "x"], ["d", "x"]].to_numpy()
    assert test.statistic == pytest.approx(b @ np.linalg.solve(V, b) / 2, rel=1e-9)
    assert (test.df1, test.df2) == (2, panel["unit"].nunique() - 1)


def _event_panel(pre_trend: float, seed: int = 3, units: int = 600):
    """Monthly arrears; a third of the units find work (an event) and owe 110 less after;
    with `pre_trend`, their arrears climb by that much a month in the year before."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2019-01-01")
    rows = []
    for u in range(units):
        event = int(rng.integers(14, 22)) if u < units // 3 else None
        level = rng.normal(200, 100)
        for m in range(36):
            y = level + 1.5 * m + 35 * (m % 12 == 11) + rng.normal(0, 40)
            if event is not None:
                y += -110 * (m > event) + pre_trend * min(max(m - event + 12, 0), 12) * (m <= event)
            rows.append((str(u), start + pd.DateOffset(months=m), y,
                         start + pd.DateOffset(months=event) if event is not None else pd.NaT))
    return pd.DataFrame(rows, columns=["tenancy_id", "month", "arrears", "event_month"])


def test_the_pre_trend_test_rejects_a_planted_pre_trend_and_not_parallel_trends():
    flat = models.event_study_fit(_event_panel(0.0))
    assert flat.pretrend.terms == 11 and not flat.pretrend.rejected
    trending = models.event_study_fit(_event_panel(4.0))
    assert trending.pretrend.rejected and trending.pretrend.p_value < 0.001
    # its size: under parallel trends it rejects about one panel in twenty
    rejected = sum(models.event_study_fit(_event_panel(0.0, seed=s, units=240)).pretrend.rejected for s in range(40))
    assert rejected <= 6


def test_did_and_event_study_recover_a_planted_effect():
    panel = _panel(seed=5, units=400, effect=-110.0)
    start = pd.Timestamp("2020-01-01")
    p = pd.DataFrame({"tenancy_id": panel["unit"].astype(str),
                      "month": [start + pd.DateOffset(months=int(m)) for m in panel["month"]],
                      "arrears": panel["y"]})
    events = panel.groupby("unit").apply(lambda g: g.loc[g["d"] > 0, "month"].min() - 1, include_groups=False)
    p["event_month"] = [start + pd.DateOffset(months=int(events[u])) if pd.notna(events[u]) else pd.NaT
                        for u in panel["unit"]]
    fit = models.did(p)
    row = fit.table.iloc[0]
    assert row["lower"] < -110 < row["upper"]
    es = models.event_study(p, window=(-6, 6)).set_index("event_time")
    pre = es.loc[-6:-2]
    assert (pre["lower"] < 0).all() and (pre["upper"] > 0).all()     # no pre-trend
    assert es.loc[3, "upper"] < -60                                   # the effect after


def test_logit_recovers_planted_odds_ratios_with_cluster_robust_intervals():
    rng = np.random.default_rng(11)
    n = 6000
    area = rng.integers(0, 30, n)
    sessions = rng.poisson(7, n)
    barriers = rng.integers(0, 5, n)
    eta = -1.0 + np.log(1.1) * sessions + np.log(0.72) * barriers + rng.normal(0, 0.2, 30)[area]
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    d = pd.DataFrame({"y": y, "sessions": sessions, "barriers": barriers, "area": area})
    fit = models.logit_odds_ratios(d, "y ~ sessions + barriers", cluster="area")
    t = fit.table.set_index("term")
    assert t.loc["sessions", "lower"] < 1.1 < t.loc["sessions", "upper"]
    assert t.loc["barriers", "lower"] < 0.72 < t.loc["barriers", "upper"]
    assert fit.n == n and fit.clusters == 30


def test_matching_recovers_an_effect_and_improves_balance():
    rng = np.random.default_rng(2)
    n = 4000
    x = rng.normal(0, 1, n)
    group = rng.integers(0, 4, n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(x - 1.5)))
    y = 30 * x + np.where(treated, -110, 0) + rng.normal(0, 20, n)
    m = models.psm(pd.DataFrame({"treated": treated, "x": x, "g": group, "y": y}), ["x"], "y", within="g")
    assert m.lower < -110 < m.upper
    b = m.balance.set_index("covariate")
    assert abs(b.loc["x", "smd_before"]) > 0.5 and abs(b.loc["x", "smd_after"]) < 0.1
    naive = y[treated].mean() - y[~treated].mean()
    assert not m.lower < naive < m.upper     # confounded: the naive difference is not the effect


def test_matching_intervals_count_comparisons_used_for_several_treated_units():
    rng = np.random.default_rng(5)
    n_t, n_c = 400, 40              # few comparisons: each serves about ten treated units
    x = np.r_[rng.normal(0.3, 1, n_t), rng.normal(0, 1, n_c)]
    y = np.r_[-110 + rng.normal(0, 20, n_t), rng.normal(0, 20, n_c)]
    units = pd.DataFrame({"treated": np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)], "x": x, "y": y})
    m = models.psm(units, ["x"], "y", caliper_sd=5, bias_correction=False)
    assert m.treated == n_t and m.matched_controls < n_c
    # a standard error that ignores the reuse of comparisons (the treated outcomes' spread alone)
    naive = np.std(y[:n_t], ddof=0) / np.sqrt(n_t)
    assert m.std_error > 2 * naive
    # and the interval covers: replicate the experiment
    covered = 0
    for seed in range(60):
        r = np.random.default_rng(100 + seed)
        units["y"] = np.r_[-110 + r.normal(0, 20, n_t), r.normal(0, 20, n_c)]
        mm = models.psm(units, ["x"], "y", caliper_sd=5, bias_correction=False)
        covered += mm.lower < -110 < mm.upper
    assert covered >= 52


def _arrears_panel(seed: int = 101, hoods: int = 4, per_hood: int = 300):
    """Tenancies of a few neighbourhoods over 48 months, with a trend and December peaks;
    participants (a quarter) owe 90 more throughout and 110 less from the month after
    their job, which comes late in their panel (few months observed after it)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2019-01-01")
    rows, ten = [], []
    for h in range(hoods):
        for i in range(per_hood):
            tid = f"T{h}-{i}"
            treated = i < per_hood // 4
            first = int(rng.integers(0, 12))
            last = first + 30
            event = first + int(rng.integers(16, 28)) if treated else None
            base = rng.normal(260, 200) + (90 if treated else 0)
            for m in range(first, min(last, 47) + 1):
                y = base + 3.0 * m + 60 * (m % 12 == 11) + rng.normal(0, 60) - (110 if treated and m > event else 0)
                rows.append((tid, start + pd.DateOffset(months=m), y,
                             start + pd.DateOffset(months=event) if treated else pd.NaT, f"H{h}"))
            ten.append((tid, f"H{h}", int(rng.integers(1950, 2000)), rng.choice(["single", "couple", "single_parent"])))
    panel = pd.DataFrame(rows, columns=["tenancy_id", "month", "arrears", "event_month", "neighbourhood_id"])
    tenancies = pd.DataFrame(ten, columns=["tenancy_id", "neighbourhood_id", "lead_birth_year", "household_type"])
    return panel, tenancies


def test_arrears_matching_compares_the_same_calendar_months_and_recovers_the_effect():
    from increase_eval import tenancies

    panel, ten = _arrears_panel()
    m = tenancies.arrears_matching(panel, ten)
    assert m.lower < -110 < m.upper
    assert m.treated + m.unmatched + m.excluded == panel.loc[panel["event_month"].notna(), "tenancy_id"].nunique()
    b = m.balance.set_index("covariate")
    assert abs(b.loc["early_arrears", "smd_before"]) > 0.2 and abs(b.loc["early_arrears", "smd_after"]) < 0.1
    # with the trend this steep, windows of unequal length (the treated see few months
    # after the job) would be far off: the same calendar months make it cancel
    assert abs(m.att + 110) < 4 * m.std_error


def test_formula_variables_are_the_formula_s_own_not_substrings_of_it():
    d = pd.DataFrame({"employed": [1.0], "age": [30.0], "age_band": [None], "landlord": ["a"], "woman": [1.0]})
    assert models.formula_variables("employed ~ age + woman + C(landlord)", d) == ["employed", "age", "woman",
                                                                                   "landlord"]
    rng = np.random.default_rng(0)
    n = 400
    data = pd.DataFrame({"y": rng.random(n) < 0.4, "x": rng.normal(size=n), "g": rng.integers(0, 8, n)})
    data["xx"] = np.where(rng.random(n) < 0.5, np.nan, 1.0)      # not in the model; its name contains "x"
    fit = models.logit_odds_ratios(data, "y ~ x", cluster="g")
    assert fit.n == n


def test_rubin_s_rules_on_one_complete_data_set_give_the_complete_case_fit():
    rng = np.random.default_rng(11)
    n = 3000
    d = pd.DataFrame({"area": rng.integers(0, 30, n), "x": rng.poisson(7, n), "z": rng.integers(0, 5, n)})
    d["y"] = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.1 * d.x - 0.3 * d.z)))).astype(float)
    one = models.logit_odds_ratios(d, "y ~ x + z", cluster="area").table
    pooled = models.logit_pooled([d], "y ~ x + z", cluster="area").table
    np.testing.assert_allclose(pooled[["odds_ratio", "lower", "upper"]], one[["odds_ratio", "lower", "upper"]],
                               rtol=1e-6)


def test_multiple_imputation_recovers_odds_ratios_when_a_third_lose_a_flag():
    rng = np.random.default_rng(21)
    n = 6000
    flags = rng.random((n, 3)) < [0.3, 0.25, 0.35]
    sessions = rng.poisson(7, n).astype(float)
    area = rng.integers(0, 30, n)
    eta = -1.0 + np.log(1.1) * sessions + np.log(0.72) * flags.sum(axis=1)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    d = pd.DataFrame({"y": y, "sessions": sessions, "area": area, **{f"f{j}": flags[:, j].astype(float)
                                                                     for j in range(3)}})
    for j in range(3):      # missing at random given the outcome: complete cases are biased, imputation is not
        d.loc[rng.random(n) < np.where(y == 1, 0.25, 0.05), f"f{j}"] = np.nan
    frames = models.impute_chained(d, ["f0", "f1", "f2"], ["y", "sessions"], m=20, seed=3)
    for f in frames:
        assert f[["f0", "f1", "f2"]].isin([0.0, 1.0]).all().all()
        observed = d["f0"].notna()
        assert (f.loc[observed, "f0"] == d.loc[observed, "f0"]).all()
        f["barriers"] = f[["f0", "f1", "f2"]].sum(axis=1)
    fit = models.logit_pooled(frames, "y ~ sessions + barriers", cluster="area",
                              complete=int(d.notna().all(axis=1).sum()))
    t = fit.table.set_index("term")
    assert t.loc["barriers", "lower"] < 0.72 < t.loc["barriers", "upper"]
    assert t.loc["sessions", "lower"] < 1.1 < t.loc["sessions", "upper"]
    assert fit.imputations == 20 and fit.n == n and fit.complete < n


def test_kaplan_meier_standard_errors_are_greenwood_s():
    rng = np.random.default_rng(3)
    t = rng.exponential(100, 300).round()
    e = rng.random(300) < 0.7
    ours = models.kaplan_meier(t, e).iloc[1:]
    theirs = SurvfuncRight(t, e.astype(int))
    alive = ours["survival"].to_numpy() > 0          # where none survive, statsmodels says nan and we say 0
    assert ours["std_error"].to_numpy()[alive] == pytest.approx(theirs.surv_prob_se[alive], rel=1e-9, abs=1e-12)


def test_strongest_association_is_the_clearest_odds_ratio_away_from_one():
    t = pd.DataFrame({"term": ["a", "b", "c"], "odds_ratio": [1.5, 0.5, 3.0], "lower": [1.1, 0.3, 0.8],
                      "upper": [2.0, 0.8, 9.0]})
    assert models.strongest(t)["term"] == "b"        # c is larger but its interval includes 1
    assert models.strongest(t.iloc[[2]]) is None
