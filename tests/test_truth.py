"""The planted effects of the synthetic data lie inside the reported 95% intervals.
The truth file is read here, and only here."""

from __future__ import annotations

import pytest

from increase_eval import businesses, data, employment, models, tenancies


@pytest.fixture(scope="module")
def everyone(prepared, config):
    return data.load(prepared.processed, "all", config)


def test_employment_odds_ratios(everyone, prepared, config):
    fit = employment.odds_ratios(everyone.participants, config.programme["programme"]["data_end"])
    t = fit.table.set_index("term")
    truth = prepared.truth
    assert t.loc["training_sessions_n", "lower"] < truth["employment_or_per_training_session"] < t.loc["training_sessions_n", "upper"]
    assert t.loc["barriers_n", "lower"] < truth["employment_or_per_barrier"] < t.loc["barriers_n", "upper"]
    assert t.loc["training_sessions_n", "lower"] > 1      # the association is found, not just not excluded


def test_time_to_employment(everyone, prepared, config):
    km = employment.time_to_employment(everyone.participants, config.programme["programme"]["data_end"])
    at = models.survival_at(km, 365)
    truth = prepared.truth["time_to_employment"]["cumulative_share"]["365"]
    assert 1 - at["upper"] < truth < 1 - at["lower"]


def test_business_survival_at_12_months(everyone, prepared, config):
    points = businesses.survival_points(everyone.businesses, config.programme["programme"]["data_end"]).set_index("months")
    truth = prepared.truth["business_survival"]
    for months in (6, 12, 18):
        assert points.loc[months, "lower"] < truth[f"survival_{months}m_sample"] < points.loc[months, "upper"], months
    assert truth["survival_12m"] == 0.78


def test_arrears_effect_of_finding_work(everyone, prepared):
    truth = prepared.truth["arrears"]["effect_of_employment"]
    for country in ("UK", "FR"):
        landlords = everyone.participants.loc[everyone.participants["country"] == country, "landlord"].unique()
        est = tenancies.estimates(everyone.tenancies[everyone.tenancies["landlord"].isin(landlords)],
                                  everyone.rent_accounts[everyone.rent_accounts["landlord"].isin(landlords)],
                                  everyone.participants[everyone.participants["landlord"].isin(landlords)])
        did = est["did"].table.iloc[0]
        assert did["lower"] < truth < did["upper"], country
        m = est["matching"]
        assert m.lower < truth < m.upper, country
        pre = est["event_study"].set_index("event_time").loc[-12:-2]
        assert ((pre["lower"] < 0) & (pre["upper"] > 0)).mean() >= 0.8, country   # parallel pre-trends
