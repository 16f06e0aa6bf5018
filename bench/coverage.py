#!/usr/bin/env python3
"""Coverage of the reports' 95% intervals against the planted truth, over synthetic
replicates: for each seed, `synth` (default scale), `prepare`, then every estimator the
reports show, each estimate checked against its population value in the truth file
(`population`: what the estimator would give with unlimited data under the planted model).

    .venv/bin/python bench/coverage.py --replicates 100           # seeds 1000-1099
    .venv/bin/python bench/coverage.py --replicates 3 --scale 0.1 # a quick check

Replicates run one at a time; each one's rows are appended to `rows.csv` as soon as it
ends, so a run can be stopped and resumed (seeds already in the file are skipped). The
summary (`summary.csv`, `summary.md`, and printed) gives, per estimand, N, coverage with
its Wilson 95% interval, the mean bias (estimate - truth), the standard deviation of the
estimates, the mean standard error where there is one, and the mean interval width.
Output goes to bench/results/coverage/ (git-ignored) unless --out says otherwise.

Estimands: the employment model's odds ratios per session (dosage before the outcome) and
per barrier, imputed (the reports' main figures) and complete cases; the same model
counting every session (before this change); who creates a business; the employment
rates at exit, at 6 and at 12 months; the Kaplan-Meier share in work within a year;
business survival at each check (the shares shown) and the Kaplan-Meier curve read at the
marks (not shown: it reads high); the arrears effect by difference in differences and by
matching, per currency, and matching as it was before this change (legacy, here only);
the event study's joint pre-trend test (its "coverage" is the share of replicates where
it does not reject at 5%); and the value account's inputs per landlord: the arrears
effect, the deadweight measured from housing benefit, and the tenancy-end difference.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # small matrices: one core each, not a threaded BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["seed", "estimand", "group", "estimate", "lower", "upper", "std_error", "truth", "covered", "seconds"]

# Each estimand's truth in the truth file's `population` block. The rates' Wilson
# intervals treat people, not neighbourhoods, as drawn: they estimate the rate in the
# sample's own neighbourhoods (`given_neighbourhoods`); `*_in_new_neighbourhoods` rows
# (added by the summary) check them against the rate in new neighbourhoods instead.
TRUTH = {
    "or_per_session": "employment_or_per_session_before_outcome",
    "or_per_barrier": "employment_or_per_barrier",
    "or_per_session_complete_cases": "employment_or_per_session_before_outcome",
    "or_per_barrier_complete_cases": "employment_or_per_barrier",
    "or_per_session_every_session_before": "employment_or_per_session_all_sessions",
    "or_per_barrier_every_session_before": "employment_or_per_barrier_all_sessions",
    "business_or_per_session": "business_or_per_session_before_creation",
    "business_or_per_barrier": "business_or_per_barrier",
    "employment_rate_exit": "given_neighbourhoods.employment_rate_exit",
    "employment_rate_6m": "given_neighbourhoods.employment_rate_6m",
    "employment_rate_12m": "given_neighbourhoods.employment_rate_12m",
    "km_in_work_within_365_days": "given_neighbourhoods.employed_within_365_days_of_training_start",
    **{f"business_survival_{m}m": f"business_survival_at_checks.{m}m" for m in (6, 12, 18)},
    **{f"business_km_at_{m}m_not_shown": f"business_survival_at_checks.{m}m" for m in (6, 12, 18)},
    "arrears_did": "arrears_effect_of_employment",
    "arrears_psm": "arrears_effect_of_employment",
    "arrears_psm_before": "arrears_effect_of_employment",
    "value_arrears_effect": "arrears_effect_of_employment",
    "value_tenancy_end_difference": "tenancy_end_difference",
    "value_deadweight": "deadweight_comparison_exit_12m",
}
NEW_NEIGHBOURHOODS = ["employment_rate_exit", "employment_rate_6m", "employment_rate_12m", "km_in_work_within_365_days"]


def truth_of(estimand: str, population: dict) -> float:
    if estimand not in TRUTH:
        return float("nan")
    node = population
    for part in TRUTH[estimand].split("."):
        node = node[part]
    return float(node)


# --- matching as it was before (the comparison of the README; not used by the reports) ---------------

def legacy_matching(p: pd.DataFrame, tenancies: pd.DataFrame, seed: int = 1, n_boot: int = 200):
    """Propensity-score matching as main had it before: outcome = mean arrears over the 12
    months after the event minus the 12 before (a comparison tenancy's reference month is
    the middle of its panel), matched on those same pre-event arrears, bootstrap over
    treated units with the matches held fixed. Returns (att, lower, upper)."""
    from increase_eval import models

    p = p.copy()
    ref = p["event_month"].copy()
    g = p.groupby("tenancy_id")["month"]
    low = g.transform("min")
    mid = low + (g.transform("max") - low) / 2
    ref = ref.fillna(mid.dt.to_period("M").dt.to_timestamp())
    rel = (p["month"].dt.year * 12 + p["month"].dt.month) - (ref.dt.year * 12 + ref.dt.month)
    pre = p[(rel >= -12) & (rel <= -1)].groupby("tenancy_id")["arrears"].mean()
    post = p[(rel >= 1) & (rel <= 12)].groupby("tenancy_id")["arrears"].mean()
    ref_by = ref.groupby(p["tenancy_id"]).first()
    t = tenancies.drop_duplicates("tenancy_id").set_index("tenancy_id")
    units = pd.DataFrame({"pre_arrears": pre, "change": post - pre})
    units["treated"] = p.groupby("tenancy_id")["event_month"].first().notna().reindex(units.index)
    units["lead_age"] = (ref_by.reindex(units.index).dt.year
                         - t["lead_birth_year"].reindex(units.index).astype("Float64")).astype(float)
    household = t["household_type"].reindex(units.index).fillna("unknown")
    for h in ("single_parent", "single", "couple_children"):
        units[f"household_{h}"] = (household == h).astype(float)
    units["neighbourhood_id"] = t["neighbourhood_id"].reindex(units.index)
    units = units.dropna(subset=["change", "pre_arrears"]).reset_index()
    covariates = [c for c in ["pre_arrears", "lead_age", "household_single_parent", "household_single",
                              "household_couple_children"] if units[c].notna().any()]
    d = units.dropna(subset=covariates).reset_index(drop=True)
    X = d[covariates].to_numpy(float)
    treated = d["treated"].to_numpy(bool)
    score_fn = models.propensity(X, treated)
    score = score_fn(X)
    caliper = 0.2 * score.std()
    ti, ci = [], []
    for _, g in d.groupby("neighbourhood_id", sort=False):
        idx = g.index.to_numpy()
        tt, cc = idx[treated[idx]], idx[~treated[idx]]
        if len(tt) and len(cc):
            best = cc[models.nearest(score[tt], score[cc])]
            ok = np.abs(score[best] - score[tt]) <= caliper
            ti.extend(tt[ok])
            ci.extend(best[ok])
    y = d["change"].to_numpy(float)
    diff = y[np.array(ti, int)] - y[np.array(ci, int)]
    rng = np.random.default_rng(seed)
    boots = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(n_boot)]
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(diff.mean()), float(lo), float(hi)


# --- one replicate ------------------------------------------------------------------------------------

def replicate(seed: int, scale: float, work: Path, conf) -> list[dict]:
    from increase_eval import businesses, data, employment, models, prepare, synth, tenancies, value

    raw, processed = work / "raw", work / "processed"
    truth = synth.generate(raw, conf, seed=seed, scale=scale, truth_path=work / "truth.json")
    prepare.run(raw, processed, conf, secret=work / "secret.key", say=lambda m: None)
    pop = truth["population"]
    end = conf.programme["programme"]["data_end"]
    d = data.load(processed, "all", conf)
    p = d.participants
    rows: list[dict] = []
    clock = [time.perf_counter()]

    def add(estimand, group, estimate, lower, upper, std_error=np.nan, covered=None):
        now = time.perf_counter()
        true = truth_of(estimand, pop)
        ok = (lower <= true <= upper) if covered is None else covered
        rows.append({"seed": seed, "estimand": estimand, "group": group, "estimate": estimate, "lower": lower,
                     "upper": upper, "std_error": std_error, "truth": true, "covered": bool(ok),
                     "seconds": round(now - clock[0], 3)})
        clock[0] = now

    def odds(fit, term, name):
        if fit is not None:
            r = fit.table.set_index("term").loc[term]
            add(name, "all", r["odds_ratio"], r["lower"], r["upper"])

    # employment: the model (imputed, main; complete cases), and counting every session (before)
    most = employment.max_landlord_terms(conf)
    m = employment.model(p, end, d.sessions, max_landlord_terms=most)
    odds(m.imputed, "training_sessions_before", "or_per_session")
    odds(m.imputed, "barriers_n", "or_per_barrier")
    odds(m.complete, "training_sessions_before", "or_per_session_complete_cases")
    odds(m.complete, "barriers_n", "or_per_barrier_complete_cases")
    every = employment.odds_ratios(p, end, max_landlord_terms=most)
    odds(every, "training_sessions_n", "or_per_session_every_session_before")
    odds(every, "barriers_n", "or_per_barrier_every_session_before")
    biz = businesses.who_creates(p, end, d.sessions, max_landlord_terms=most)
    odds(biz, "training_sessions_before", "business_or_per_session")
    odds(biz, "barriers_n", "business_or_per_barrier")
    # rates, and the Kaplan-Meier share in work within a year of starting training
    rates = employment.outcome_rates(p, end).set_index("measure")
    for measure in ("exit", "6m", "12m"):
        r = rates.loc[measure]
        add(f"employment_rate_{measure}", "all", r["rate"], r["lower"], r["upper"])
    km = models.survival_at(employment.time_to_employment(p, end), 365)
    add("km_in_work_within_365_days", "all", 1 - km["survival"], 1 - km["upper"], 1 - km["lower"])
    # businesses: shares at the checks (shown) and the Kaplan-Meier curve at the marks (not shown)
    points = businesses.survival_points(d.businesses, end).set_index("months")
    km_marks = businesses.km_at_checks(d.businesses).set_index("months")
    for months in (6, 12, 18):
        r = points.loc[months]
        add(f"business_survival_{months}m", "all", r["survival"], r["lower"], r["upper"])
        r = km_marks.loc[months]
        add(f"business_km_at_{months}m_not_shown", "all", r["survival"], r["lower"], r["upper"])
    # arrears, per currency: difference in differences, its pre-trend test, matching (now and before)
    for currency in ("GBP", "EUR"):
        mine = [l for l, x in conf.landlords.items() if x.currency == currency]
        ten = d.tenancies[d.tenancies["landlord"].isin(mine)]
        panel = d.rent_accounts[d.rent_accounts["landlord"].isin(mine)]
        part = p[p["landlord"].isin(mine)]
        est = tenancies.estimates(ten, panel, part)
        if est is None:
            continue
        r = est["did"].table.iloc[0]
        add("arrears_did", currency, r["estimate"], r["lower"], r["upper"], r["std_error"])
        test = est["pretrend"]
        add("pretrend_test_not_rejected_5pct", currency, test.statistic, np.nan, np.nan, covered=not test.rejected)
        mt = est["matching"]
        if mt is not None:
            add("arrears_psm", currency, mt.att, mt.lower, mt.upper, mt.std_error)
        att, lo, hi = legacy_matching(tenancies.arrears_panel(ten, panel, part), ten)
        add("arrears_psm_before", currency, att, lo, hi)
    # the value account's inputs, per landlord
    for lid, landlord in conf.landlords.items():
        b = value.basis(landlord, d, end)
        if b.arrears is not None:
            add("value_arrears_effect", lid, b.arrears.effect, b.arrears.lower, b.arrears.upper, b.arrears.std_error)
        if b.turnover is not None:
            add("value_tenancy_end_difference", lid, b.turnover.difference, b.turnover.lower, b.turnover.upper,
                b.turnover.std_error)
        if b.deadweight is not None:
            dw = b.deadweight
            add("value_deadweight", lid, dw.estimate, dw.lower, dw.upper, dw.std_error)
    return rows


# --- the summary ---------------------------------------------------------------------------------------

def recompute_truth(rows: pd.DataFrame, conf, scale: float) -> pd.DataFrame:
    """Each row's truth and coverage from the current synth (truth_values per seed, which
    writes nothing), and the rates checked against new neighbourhoods too."""
    from increase_eval import synth

    params = synth.load_parameters(conf)
    rows = rows[~rows["estimand"].str.endswith("_in_new_neighbourhoods")].copy()
    for seed in sorted(rows["seed"].unique()):
        pop = synth.truth_values(conf, params, int(seed), scale)
        mine = rows["seed"] == seed
        rows.loc[mine, "truth"] = [truth_of(e, pop) for e in rows.loc[mine, "estimand"]]
        for e in NEW_NEIGHBOURHOODS:
            pop[e + "_in_new_neighbourhoods"] = pop[TRUTH[e].split(".")[1]]
    scored = rows["truth"].notna()
    rows.loc[scored, "covered"] = ((rows.loc[scored, "lower"] <= rows.loc[scored, "truth"])
                                   & (rows.loc[scored, "truth"] <= rows.loc[scored, "upper"]))
    return rows


def with_new_neighbourhoods(rows: pd.DataFrame, conf) -> pd.DataFrame:
    """The rates again, against their value in new neighbourhoods (population, not given)."""
    from increase_eval import synth

    pop = synth.population_values(conf, synth.load_parameters(conf))
    extra = rows[rows["estimand"].isin(NEW_NEIGHBOURHOODS)].copy()
    extra["truth"] = [float(pop[TRUTH[e].split(".")[1]]) for e in extra["estimand"]]
    extra["covered"] = (extra["lower"] <= extra["truth"]) & (extra["truth"] <= extra["upper"])
    extra["estimand"] = extra["estimand"] + "_in_new_neighbourhoods"
    return pd.concat([rows, extra], ignore_index=True)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    from increase_eval.indicators import wilson

    out = []
    for (estimand, group), g in rows.groupby(["estimand", "group"], sort=False):
        n, k = len(g), int(g["covered"].astype(bool).sum())
        rate, lo, hi = (float(x) for x in wilson(k, n))
        est, true = g["estimate"].astype(float), g["truth"].astype(float)
        out.append({"estimand": estimand, "group": group, "N": n, "covered": k, "coverage": rate,
                    "coverage_lower": lo, "coverage_upper": hi, "truth": float(true.mean()),
                    "mean_estimate": float(est.mean()), "bias": float((est - true).mean()),
                    "sd": float(est.std(ddof=1)) if n > 1 else np.nan,
                    "mean_se": float(g["std_error"].astype(float).mean()),
                    "width": float((g["upper"].astype(float) - g["lower"].astype(float)).mean()),
                    "seconds": float(g["seconds"].astype(float).mean())})
    return pd.DataFrame(out)


def markdown(s: pd.DataFrame) -> str:
    lines = ["| estimand | group | N | coverage | Wilson 95% | truth | bias | SD | mean SE | width |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda x, d=3: "" if pd.isna(x) else f"{x:.{d}f}"  # noqa: E731
    for _, r in s.iterrows():
        lines.append(f"| {r['estimand']} | {r['group']} | {r['N']} | {r['covered']}/{r['N']} | "
                     f"{100 * r['coverage_lower']:.0f}-{100 * r['coverage_upper']:.0f}% | {f(r['truth'], 4)} | "
                     f"{f(r['bias'], 4)} | {f(r['sd'], 4)} | {f(r['mean_se'], 4)} | {f(r['width'], 4)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "coverage")
    ap.add_argument("--config", type=Path, default=ROOT / "config")
    ap.add_argument("--recompute-truth", action="store_true",
                    help="recompute every row's truth from the current synth before summarising")
    a = ap.parse_args(argv)
    from increase_eval import config as cfg

    conf = cfg.load(a.config)
    a.out.mkdir(parents=True, exist_ok=True)
    work = a.out / "work"
    path = a.out / "rows.csv"
    done = set(pd.read_csv(path)["seed"].astype(int)) if path.is_file() and path.stat().st_size else set()
    seeds = [s for s in range(a.first_seed, a.first_seed + a.replicates) if s not in done]
    for i, seed in enumerate(seeds, 1):
        t0 = time.perf_counter()
        rows = replicate(seed, a.scale, work, conf)
        new = not path.is_file() or path.stat().st_size == 0
        with open(path, "a", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            if new:
                w.writeheader()
            w.writerows(rows)
        print(f"seed {seed}: {len(rows)} estimates in {time.perf_counter() - t0:.1f} s ({i}/{len(seeds)})",
              flush=True)
    shutil.rmtree(work, ignore_errors=True)
    all_rows = pd.read_csv(path)
    all_rows = all_rows[all_rows["seed"].between(a.first_seed, a.first_seed + a.replicates - 1)]
    if a.recompute_truth:
        all_rows = recompute_truth(all_rows, conf, a.scale)
        all_rows.to_csv(a.out / "rows_recomputed.csv", index=False)
    s = summarise(with_new_neighbourhoods(all_rows, conf))
    s.to_csv(a.out / "summary.csv", index=False)
    text = markdown(s)
    (a.out / "summary.md").write_text(text, encoding="utf-8")
    (a.out / "run.json").write_text(json.dumps({"replicates": int(all_rows["seed"].nunique()), "scale": a.scale,
                                                "first_seed": a.first_seed}, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
