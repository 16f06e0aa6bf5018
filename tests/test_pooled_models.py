"""Pooled models of many landlords (employment.Pooling): up to the configured limit
(config/programme.yml, `thresholds.model_landlord_terms_max`), a term per landlord and
errors clustered by neighbourhood, as for the seven partners, with the same numbers as
before the limit existed; above it, the country (when both are pooled) and errors
clustered by landlord, which runs fast, stays finite where landlord terms would separate
and recovers planted effects. The report says which, in both languages."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from increase_eval import config as cfg, employment, models, narrative, notebook, text
from increase_eval.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
BARRIERS = employment.BARRIERS


def _frame(landlords: int, per: int, seed: int = 0, countries=("UK", "FR"), landlord_sd: float = 0.2,
           hoods: int = 3, small: tuple[int, ...] = (), missing: float = 0.08) -> pd.DataFrame:
    """A model frame (employment.model_frame's columns) of `landlords` landlords of `per`
    people each (the first ones of `small` sizes), in turn of each of `countries`, with 3
    neighbourhoods each. Planted: odds ratio 1.10 per training session and 0.72 per
    barrier, French landlords' odds higher by exp(0.2), and each landlord's own odds by a
    normal effect of standard deviation `landlord_sd` (people of one landlord alike);
    barrier flags and sex missing at random in part."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(landlords):
        n = small[k] if k < len(small) else per
        rows.append(pd.DataFrame({"landlord": f"l{k:03d}", "country": countries[k % len(countries)],
                                  "neighbourhood_id": [f"l{k:03d}-{j}" for j in rng.integers(0, hoods, n)],
                                  "u": rng.normal(0, landlord_sd)}, index=range(n)))
    d = pd.concat(rows, ignore_index=True)
    n = len(d)
    flags = rng.random((n, 4)) < [0.2, 0.25, 0.3, 0.35]
    for j, b in enumerate(BARRIERS):
        d[b] = flags[:, j].astype(float)
    d["training_sessions_before"] = rng.poisson(7, n).astype(float)
    d["age_at_entry"] = rng.integers(18, 64, n).astype(float)
    d["woman"] = (rng.random(n) < 0.66).astype(float)
    eta = (-1.0 + np.log(1.10) * d["training_sessions_before"] + np.log(0.72) * flags.sum(axis=1)
           + 0.2 * (d["country"] == "FR") + d["u"])
    d["employed"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    for b in BARRIERS:
        d.loc[rng.random(n) < missing, b] = np.nan
    d.loc[rng.random(n) < missing / 3, "woman"] = np.nan
    d["barriers_n"] = d[BARRIERS].sum(axis=1, min_count=4)
    return d.drop(columns="u")


@pytest.fixture(scope="module")
def limit() -> int:
    return employment.max_landlord_terms(cfg.load(ROOT / "config"))


def test_the_limit_is_configuration_with_its_reason(tmp_path, limit):
    text_ = (ROOT / "config" / "programme.yml").read_text(encoding="utf-8")
    assert f"model_landlord_terms_max: {limit}" in text_ and "Why 40" in text_ and limit == 40
    # a configuration folder without it (a federation's made before it) fails saying what to add
    conf = tmp_path / "config"
    shutil.copytree(ROOT / "config", conf)
    programme = yaml.safe_load((conf / "programme.yml").read_text(encoding="utf-8"))
    del programme["thresholds"]["model_landlord_terms_max"]
    (conf / "programme.yml").write_text(yaml.safe_dump(programme, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="thresholds.model_landlord_terms_max is missing"):
        employment.max_landlord_terms(cfg.load(conf))


def test_landlord_terms_and_neighbourhood_clusters_up_to_the_limit_then_country_and_landlord_clusters(limit):
    base = "employed ~ training_sessions_before + barriers_n + age_at_entry + woman"
    cases = [  # landlords, countries: key, formula, clusters by
        (1, ("UK",), "landlord", base, "neighbourhood_id"),
        (7, ("UK", "FR"), "landlords", base + " + C(landlord)", "neighbourhood_id"),
        (limit, ("UK", "FR"), "landlords", base + " + C(landlord)", "neighbourhood_id"),
        (limit + 1, ("UK", "FR"), "countries", base + " + C(country)", "landlord"),
        (limit + 1, ("FR",), "country", base, "landlord"),
    ]
    for landlords, countries, key, formula, cluster in cases:
        d = _frame(landlords, 12, seed=landlords, countries=countries)
        spec = employment.specification(d, limit)
        assert (spec.pooling.key, spec.formula, spec.pooling.cluster) == (key, formula, cluster), landlords
        assert spec.pooling.landlords == landlords and spec.pooling.max_landlord_terms == limit
    # the business model's outcome, the same allowance
    d = _frame(limit + 1, 12).rename(columns={"employed": "created"})
    assert employment.specification(d, limit, outcome="created").formula == \
        "created ~ training_sessions_before + barriers_n + age_at_entry + woman + C(country)"


def test_up_to_the_limit_a_pooled_model_gives_the_numbers_it_gave_before_the_limit():
    """Seven landlords: the formula, the imputations (a dummy per landlord among their
    predictors) and the clusters are those of the code before federations' models changed
    (commit 406da1b), whose estimates on this frame are recorded here to the last digit."""
    d = _frame(7, 120, seed=4)
    spec = employment.specification(d, 40)
    imputed = employment.imputed_logit(d, spec, m=5)
    complete = models.logit_odds_ratios(d, spec.formula, cluster=spec.pooling.cluster)
    before = {   # term: odds ratio, lower, upper (406da1b: employment.imputed_logit(d, employment._formula(d), m=5))
        "imputed": {"training_sessions_before": (1.0690647344960464, 1.0013519011631826, 1.141356405490913),
                    "barriers_n": (0.7226828007646081, 0.6127276812665294, 0.8523695705103891),
                    "age_at_entry": (0.9980015336969681, 0.9863784710709531, 1.0097615575288188),
                    "woman": (1.5359607080352282, 1.1658523218841865, 2.0235627208901636),
                    "C(landlord)[T.l005]": (1.8559650069512028, 1.207100027191999, 2.8536210996866176)},
        "complete": {"training_sessions_before": (1.0850405093647635, 1.0022197613030854, 1.1747053415029496),
                     "barriers_n": (0.6561715257438089, 0.5268225604517803, 0.8172791059436167),
                     "age_at_entry": (1.0027611173688915, 0.9863819724781782, 1.0194122424810972),
                     "woman": (1.7285670836255718, 1.2808657246731032, 2.332753625175179),
                     "C(landlord)[T.l005]": (1.9815499508245609, 1.1384184175998415, 3.4491186605108273)}}
    for name, fit in (("imputed", imputed), ("complete", complete)):
        t = fit.table.set_index("term")
        for term, values in before[name].items():
            assert tuple(t.loc[term, ["odds_ratio", "lower", "upper"]]) == pytest.approx(values, rel=1e-9), (name, term)
        assert fit.cluster == "neighbourhood_id" and fit.clusters == 21
    assert (imputed.n, imputed.events, imputed.complete, complete.n, complete.events) == (840, 303, 588, 588, 219)


@pytest.fixture(scope="module")
def federation() -> pd.DataFrame:
    """200 landlords of 45 people, the first 20 of 3: some of those have nobody in work,
    where a term of their own would be minus infinity (perfect separation)."""
    return _frame(200, 45, seed=11, small=(3,) * 20)


def test_many_landlords_fit_fast_and_finite_where_landlord_terms_would_separate(federation, limit):
    d = federation
    events = d.groupby("landlord")["employed"].agg(["sum", "count"])
    assert ((events["sum"] == 0) | (events["sum"] == events["count"])).any()     # separation, with landlord terms
    spec = employment.specification(d, limit)
    start = time.perf_counter()
    fit = employment.imputed_logit(d, spec)                                      # 30 imputations
    complete = models.logit_odds_ratios(d, spec.formula, cluster=spec.pooling.cluster)
    seconds = time.perf_counter() - start
    assert seconds < 60, seconds          # 25 minutes with 200 landlord terms (README, Benchmarks); ~2 s idle
    for f in (fit, complete):
        assert np.isfinite(f.table[["odds_ratio", "lower", "upper"]].to_numpy()).all()
        assert f.cluster == "landlord"
        assert list(f.table["term"]) == ["C(country)[T.UK]", "training_sessions_before", "barriers_n",
                                         "age_at_entry", "woman"]
    assert fit.imputations == employment.IMPUTATIONS and fit.n == len(d) > fit.complete
    # a cluster per landlord: every one imputed; complete cases, those with someone complete
    assert fit.clusters == 200 and complete.clusters == d.dropna(subset=[*BARRIERS, "woman"])["landlord"].nunique()


def test_many_landlords_recover_planted_odds_ratios_within_their_intervals(federation, limit):
    """Planted: 1.10 per session, 0.72 per barrier, given the landlord's own effect (SD
    0.2). Without landlord terms the model estimates the odds ratios averaged over
    landlords, smaller by a factor of about 1/sqrt(1 + 0.346 x 0.2^2) = 0.993 on the log
    scale: 1.0991 and 0.7236, well inside intervals about 0.03 and 0.1 wide."""
    spec = employment.specification(federation, limit)
    t = employment.imputed_logit(federation, spec).table.set_index("term")
    assert t.loc["training_sessions_before", "lower"] < 1.10 < t.loc["training_sessions_before", "upper"]
    assert t.loc["barriers_n", "lower"] < 0.72 < t.loc["barriers_n", "upper"]
    assert t.loc["training_sessions_before", "lower"] > 1 and t.loc["barriers_n", "upper"] < 1
    # the country's planted difference (odds higher by exp(0.2) in France: UK below 1)
    assert t.loc["C(country)[T.UK]", "lower"] < np.exp(-0.2) < t.loc["C(country)[T.UK]", "upper"]


class _Ctx:
    def __init__(self, lang: str):
        self.t = text.load(ROOT / "config", lang)


def test_the_report_says_which_allowance_its_model_made_in_both_languages():
    english = {}
    for lang in ("en", "fr"):
        ctx = _Ctx(lang)
        for key, (area, cluster, landlords) in {"landlord": (None, "neighbourhood_id", 1),
                                                "landlords": ("landlord", "neighbourhood_id", 7),
                                                "countries": ("country", "landlord", 200),
                                                "country": (None, "landlord", 100)}.items():
            pooling = employment.Pooling(area, cluster, landlords, 40)
            assert pooling.key == key
            said = narrative.model_pooling(ctx, pooling, 38 if cluster == "neighbourhood_id" else landlords)
            methods = next(x for x in ctx.t.strings["methods"]["models"] if isinstance(x, dict))[key]
            methods = methods.format(max=40, landlords=landlords)
            for sentence in (said, methods):
                assert "{" not in sentence and "C(" not in sentence and "_" not in sentence, sentence
            if lang == "en":
                english[key] = said
                assert ("neighbourhood" in said) and (("landlord being alike" in said) == (cluster == "landlord"))
                assert ("country is included" in said) == (area == "country")
            else:
                assert said != english[key] and "quartier" in said
                assert ("même bailleur" in said) == (cluster == "landlord")
                assert ("pays est pris en compte" in said) == (area == "country")
            if cluster == "landlord":
                assert "40" in said and str(landlords) in said and "40" in methods
            # what the imputations draw on: the landlord, the country or neither, as the model
            imputed_from = ctx.t(f"employment.imputed_from.{key}")
            assert (("landlord" in imputed_from) or ("bailleur" in imputed_from)) == (area == "landlord")
            assert (("country" in imputed_from) or ("pays" in imputed_from)) == (area == "country")


def test_a_report_s_models_and_its_methods_section_agree_on_the_allowance(prepared, tmp_path):
    """With the limit set below the seven partners, `all` pools both countries (country,
    clusters by landlord) and `uk` one (clusters by landlord only); the methods section
    works the allowance out without fitting, the same as the fitted model's."""
    conf = tmp_path / "config"
    shutil.copytree(ROOT / "config", conf)
    path = conf / "programme.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("model_landlord_terms_max: 40",
                                                             "model_landlord_terms_max: 2"), encoding="utf-8")
    processed = Path(shutil.copytree(prepared.processed, tmp_path / "data" / "processed"))
    for entity, key, area in (("all", "countries", "C(country)"), ("uk", "country", None)):
        notebook._CACHE.clear()
        ctx = notebook.setup(entity, "en", processed, conf)
        model = ctx.employment_model()
        assert ctx.model_pooling() == model.pooling and model.pooling.key == key
        assert model.imputed.cluster == "landlord" and model.imputed.clusters == len(ctx.data.landlords)
        assert (area in model.imputed.formula) if area else "C(" not in model.imputed.formula
        page = narrative.methods(ctx, ctx.data.participants["entry_date"].min(), ctx.data.participants["entry_date"].max())
        assert "robust to people of one landlord being alike" in page and "more than 2 landlords pooled" in page
        business = ctx.business_model()
        assert business.cluster == "landlord" and (area in business.formula if area else "C(" not in business.formula)
