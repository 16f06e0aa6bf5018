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
    ours = models.twfe(panel["y"], panel[["d"]], panel["unit"], panel["month"])
    long = smf.ols("y ~ d + C(unit) + C(month)", data=panel).fit(cov_type="cluster",
                                                                 cov_kwds={"groups": panel["unit"]})
    assert ours.table["estimate"][0] == pytest.approx(long.params["d"], rel=1e-6)
    assert ours.table["std_error"][0] == pytest.approx(long.bse["d"], rel=1e-3)


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


def test_strongest_association_is_the_clearest_odds_ratio_away_from_one():
    t = pd.DataFrame({"term": ["a", "b", "c"], "odds_ratio": [1.5, 0.5, 3.0], "lower": [1.1, 0.3, 0.8],
                      "upper": [2.0, 0.8, 9.0]})
    assert models.strongest(t)["term"] == "b"        # c is larger but its interval includes 1
    assert models.strongest(t.iloc[[2]]) is None
