"""bench/coverage.py keeps working: three small replicates, every estimand the reports
show scored against its population value (the benchmark itself runs 100 at full scale,
outside the test suite; its figures are in the README)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("coverage_bench", ROOT / "bench" / "coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_three_replicates_give_a_summary_of_every_estimand(tmp_path):
    bench = _bench()
    assert bench.main(["--replicates", "3", "--scale", "0.1", "--first-seed", "500", "--out", str(tmp_path)]) == 0
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert sorted(rows["seed"].unique()) == [500, 501, 502]
    summary = pd.read_csv(tmp_path / "summary.csv")
    shown = {"or_per_session", "or_per_barrier", "or_per_session_complete_cases", "or_per_barrier_complete_cases",
             "business_or_per_session", "business_or_per_barrier", "employment_rate_exit", "employment_rate_6m",
             "employment_rate_12m", "km_in_work_within_365_days", "business_survival_6m", "business_survival_12m",
             "business_survival_18m", "arrears_did", "arrears_psm", "pretrend_test_not_rejected_5pct",
             "value_arrears_effect", "value_tenancy_end_difference", "value_deadweight"}
    assert shown <= set(summary["estimand"])
    scored = summary[summary["estimand"] != "pretrend_test_not_rejected_5pct"]
    assert scored["truth"].notna().all() and (scored["N"] == 3).all()
    assert set(summary.loc[summary["estimand"] == "arrears_psm", "group"]) == {"GBP", "EUR"}
    assert set(summary.loc[summary["estimand"] == "value_deadweight", "group"]) == {"clarion", "logirep", "neotoa"}
    assert ((summary["coverage_lower"] <= summary["coverage"]) & (summary["coverage"] <= summary["coverage_upper"])).all()
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| arrears_psm | GBP | 3 |" in text
    # a second run skips the seeds already done and only summarises
    assert bench.main(["--replicates", "3", "--scale", "0.1", "--first-seed", "500", "--out", str(tmp_path)]) == 0
    assert len(pd.read_csv(tmp_path / "rows.csv")) == len(rows)
