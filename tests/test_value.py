"""The value account: arithmetic by hand, values that fit each country, people counted
once, the landlord's arrears value against the planted effect, a reproducible joint
Monte-Carlo, break-even values where the ratio is 1, and clear messages for a values
table or a cost that cannot be used."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from increase_eval import data, value
from increase_eval.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def values():
    return value.load_values(ROOT / "config")


@pytest.fixture(scope="module")
def everyone(prepared, config):
    return data.load(prepared.processed, "all", config)


@pytest.fixture(scope="module")
def accounts(everyone, config, values):
    end = config.programme["programme"]["data_end"]
    return {lid: value.account(value.basis(config.landlords[lid], everyone, end), values) for lid in config.landlords}


def test_present_value_by_hand():
    a = {"deadweight": 0.15, "displacement": 0.1, "attribution": 0.3, "drop_off": 0.3, "duration_years": 2,
         "discount_rate": 0.035}
    net = 10 * 1000 * 0.85 * 0.9 * 0.7
    assert value.present_value(10, 1000, a) == pytest.approx(net / 1.035 + net * 0.7 / 1.035 ** 2)
    # half a third year counts half
    a3 = a | {"duration_years": 2.5}
    assert value.present_value(10, 1000, a3) == pytest.approx(net / 1.035 + net * 0.7 / 1.035 ** 2
                                                              + 0.5 * net * 0.49 / 1.035 ** 3)


def test_each_country_is_valued_with_its_own_figures_in_its_own_currency(values, accounts):
    for country, table in values.countries.items():
        assert table.currency == {"FR": "EUR", "UK": "GBP"}[country]
    for lid, a in accounts.items():
        keys = {v.key for v in values.countries[a.basis.country].values}
        lines = set(a.lines["line"]) - {"arrears_avoided", "turnover_avoided", "businesses_trading"}
        assert lines <= keys, lid
        assert a.currency == a.basis.currency == {"FR": "EUR", "UK": "GBP"}[a.basis.country]
        assert a.cost is not None and a.cost["own"] > 0


def test_deflation_to_one_price_year(values):
    assert values.deflate(100, "EUR", values.price_year["EUR"]) == pytest.approx(100)
    assert values.deflate(100, "EUR", 2016) == pytest.approx(100 * 117.45 / 100.2)
    assert values.deflate(100, "GBP", 2014) == pytest.approx(100 * 96.2507 / 74.6524)


def test_people_are_counted_once_per_outcome_area(everyone, accounts):
    p = everyone.participants
    for lid, a in accounts.items():
        mine = p[p["landlord"] == lid]
        distinct = mine.loc[mine["job"].astype(bool) | mine["business"].astype(bool), "person_id"].nunique()
        assert a.basis.people == distinct
        assert a.basis.people == a.basis.jobs + a.basis.businesses - a.basis.both
        residents = a.lines[a.lines["stakeholder"] == "residents"]
        assert (residents["quantity"] == distinct).all()


def test_the_landlord_s_arrears_value_recovers_the_planted_effect(accounts, values, prepared):
    truth = prepared.truth["arrears"]["effect_of_employment"]
    a0 = value.central(values)
    covered = 0
    for lid, a in accounts.items():
        deadweight = a.basis.deadweight.estimate if a.basis.deadweight is not None else a0["deadweight"]
        factor = (1 - deadweight) * (1 - a0["displacement"]) * (1 - a0["attribution"])
        arr = a.basis.arrears
        assert arr is not None and arr.treated_tenancies > 0 and arr.treated_months > arr.treated_tenancies
        planted = values.deflate(-truth * arr.treated_tenancies * factor, a.currency, arr.year)
        low = values.deflate(-arr.upper * arr.treated_tenancies * factor, a.currency, arr.year)
        high = values.deflate(-arr.lower * arr.treated_tenancies * factor, a.currency, arr.year)
        covered += low <= planted <= high
        assert a.totals["arrears_avoided"] == pytest.approx(
            values.deflate(-arr.effect * arr.treated_tenancies * factor, a.currency, arr.year))
        # a balance lower by the effect is counted once per tenancy, not once per month
        assert a.totals["arrears_avoided"] < -truth * arr.treated_months * factor / 2
        # a transfer from tenants: the landlord's value, not the social total
        assert a.totals["social"] == pytest.approx(a.totals["residents"] + a.totals["public_purse"]
                                                   + a.totals["turnover_avoided"])
    assert covered >= 6    # 95% intervals: with seven landlords, at most one miss is plausible


def test_monte_carlo_is_reproducible_vectorised_and_brackets_the_central_values(accounts, values):
    lid, a = next(iter(accounts.items()))
    t0 = time.perf_counter()
    again = value.account(a.basis, values)
    assert time.perf_counter() - t0 < 30    # not a benchmark: a guard against a per-draw Python loop
    assert len(a.draws["ratio"]) == values.monte_carlo.draws == 10_000
    np.testing.assert_array_equal(a.draws["ratio"], again.draws["ratio"])
    other = value.account(a.basis, values.model_copy(update={"monte_carlo": value.MonteCarlo(draws=10_000, seed=1)}))
    assert not np.array_equal(a.draws["ratio"], other.draws["ratio"])
    for key in ("ratio", "social", "landlord"):
        lo, hi = a.intervals[key]
        assert lo < a.totals[key] < hi, key


def test_deadweight_is_measured_where_the_rent_accounts_record_housing_benefit(accounts, values):
    assumed = values.assumptions["deadweight"]
    measured = {lid for lid, a in accounts.items() if a.basis.deadweight is not None}
    assert measured == {"clarion", "neotoa", "logirep"}
    for lid, a in accounts.items():
        x0 = value.parameters(a.basis, values)["deadweight"][0]
        dw = a.tornado.set_index("assumption").loc["deadweight"]
        if lid in measured:
            est = a.basis.deadweight
            assert x0 == est.estimate and (dw["base"], dw["low_value"], dw["high_value"]) == (est.estimate, est.lower,
                                                                                             est.upper)
            # its sampling distribution, not the assumption's triangle, in the simulations
            shared, own = value._rngs(values, lid)
            draws = value.parameters(a.basis, values, 20_000, shared, own)["deadweight"]
            assert draws.mean() == pytest.approx(est.estimate, abs=0.002)
            assert draws.std() == pytest.approx(est.std_error, rel=0.05)
        else:
            assert x0 == assumed.central and (dw["low_value"], dw["high_value"]) == (assumed.low, assumed.high)
    # the account uses it: a higher deadweight, a lower social value
    lid = sorted(measured)[0]
    b = accounts[lid].basis
    higher = b.__class__(**{**b.__dict__, "deadweight": b.deadweight.__class__(
        **{**b.deadweight.__dict__, "estimate": b.deadweight.estimate + 0.1})})
    assert value.account(higher, values).totals["social"] < accounts[lid].totals["social"]


def test_break_even_values_sit_where_the_ratio_is_1(accounts, values):
    for lid, a in accounts.items():
        t = a.tornado
        assert set(value.ASSUMPTIONS) <= set(t["assumption"])
        for _, r in t.iterrows():
            if np.isnan(r["break_even"]):
                continue
            assert value.ratio_at([a.basis], values, **{r["assumption"]: r["break_even"]}) == pytest.approx(1, abs=1e-9)
            lo, hi = sorted((r["ratio_at_low"], r["ratio_at_high"]))
            if lo < 1 < hi:   # the tornado's bar crosses 1: the break-even lies within the range tested
                assert min(r["low_value"], r["high_value"]) <= r["break_even"] <= max(r["low_value"], r["high_value"])
        dw = t.set_index("assumption").loc["deadweight"]
        assert dw["ratio_at_low"] > a.totals["ratio"] > dw["ratio_at_high"]


def test_a_group_adds_up_draw_by_draw_and_never_pools_currencies(accounts, values, config, prepared):
    g = value.group_totals(list(accounts.values()), values).set_index("currency")
    assert set(g.index) == {"EUR", "GBP"}
    for cur in g.index:
        mine = [a for a in accounts.values() if a.currency == cur]
        assert g.loc[cur, "social"] == pytest.approx(sum(a.totals["social"] for a in mine))
        assert g.loc[cur, "cost"] == pytest.approx(sum(a.cost["total"] for a in mine))
        np.testing.assert_allclose(np.quantile(sum(a.draws["social"] for a in mine), 0.05), g.loc[cur, "social_lower"])
    # a landlord's account is the same in its own report (its data only) and in the partnership's
    end = config.programme["programme"]["data_end"]
    for lid in ("neotoa", "clarion"):
        alone = value.account(value.basis(config.landlords[lid], data.load(prepared.processed, lid, config), end),
                              values)
        assert alone.totals == pytest.approx(accounts[lid].totals, nan_ok=True)
        np.testing.assert_array_equal(alone.draws["social"], accounts[lid].draws["social"])


def test_a_landlord_without_a_cost_gets_an_account_without_ratios(accounts, values):
    a = next(iter(accounts.values()))
    b = a.basis.__class__(**{**a.basis.__dict__, "cost": None})
    no_cost = value.account(b, values)
    assert no_cost.cost is None and np.isnan(no_cost.totals["ratio"]) and no_cost.tornado is None
    assert no_cost.totals["social"] == pytest.approx(a.totals["social"])


def _broken(tmp_path, change) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    path = tmp_path / "config" / "values.yml"
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(d)
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    return tmp_path / "config"


@pytest.mark.parametrize("change, words", [
    (lambda d: d["countries"]["FR"]["values"][0].update(price_year=1990), ["countries.FR.values.resident_income",
                                                                          "no EUR deflator for 1990"]),
    (lambda d: d["assumptions"]["deadweight"].update(low=0.5), ["assumptions.deadweight", "low (0.5)"]),
    (lambda d: d["assumptions"].pop("drop_off"), ["assumptions", "drop_off"]),
    (lambda d: d["countries"]["UK"].update(currency="EUR", curency="GBP"), ["countries.UK.curency"]),
])
def test_a_values_table_that_cannot_be_used_is_explained(tmp_path, change, words):
    folder = _broken(tmp_path, change)
    with pytest.raises(ConfigError) as exc:
        value.load_values(folder)
    text = str(exc.value)
    assert "values.yml" in text
    for w in words:
        assert w in text, text
