"""The analysis library against hand-computed values: intervals, indicators, disclosure,
formats, social value; and the strings the notebooks use exist in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from increase_eval import disclosure, indicators, text

ROOT = Path(__file__).resolve().parents[1]


def test_wilson_interval_by_hand():
    # k=5, n=10, z=1.959964: centre (0.5 + z^2/20)/(1 + z^2/10) = 0.5; half-width 0.2634
    p, lo, hi = indicators.wilson(5, 10)
    assert (p, lo, hi) == pytest.approx((0.5, 0.2366, 0.7634), abs=1e-4)
    p, lo, hi = indicators.wilson(0, 20)
    assert p == 0 and lo == pytest.approx(0, abs=1e-12) and hi == pytest.approx(0.1611, abs=1e-4)
    for k, n in ((0, 7), (0, 3301), (41, 41), (1234, 1234)):     # bounds contain the rate, even after rounding
        p, lo, hi = indicators.wilson(k, n)
        assert 0 <= lo <= p <= hi <= 1


def _people():
    d = pd.Timestamp
    return pd.DataFrame({
        "landlord": ["a"] * 4, "person_id": list("wxyz"), "neighbourhood_id": ["n1", "n1", "n2", "n2"],
        "assessment_date": [d("2019-01-10"), d("2019-01-10"), pd.NaT, d("2020-01-01")],
        "training_start_date": [d("2019-02-01"), d("2019-02-01"), pd.NaT, d("2023-01-01")],
        "training_completed": pd.array([True, False, None, False], dtype="boolean"),
        "exit_date": [d("2019-06-01"), d("2019-06-01"), d("2019-03-01"), pd.NaT],
        "employment_date": [d("2019-06-20"), d("2019-11-01"), pd.NaT, pd.NaT],
        "employment": [True, True, False, False], "further_training": [False, False, True, False],
        "business": [False, True, False, False],
    })


def test_employment_at_exit_and_six_months_count_only_people_followed_long_enough():
    e = indicators.employment_outcomes(_people(), "2023-06-30").set_index("person_id")
    assert e["employed_exit"].tolist()[:3] == [True, False, False]     # 19 days after exit; 153; never
    assert e["employed_6m"].tolist()[:3] == [True, True, False]
    assert e["eligible_exit"].tolist() == [True, True, True, False]     # z has not left
    assert e["eligible_12m"].tolist() == [True, True, False, False]     # z started too late to be followed a year


def test_funnel_counts_everyone_beyond_a_stage():
    f = indicators.funnel(_people()).set_index("stage")["people"]
    assert f.to_dict() == {"engaged": 4, "assessed": 3, "training_started": 3, "training_completed": 1, "outcome": 3}


def test_suppression_hides_small_counts_and_the_rates_that_would_reveal_them():
    t = pd.DataFrame({"n": [100, 3, 50, 10], "k": [40, 1, 2, 0], "rate": [0.4, 1 / 3, 0.04, 0.0]})
    out = disclosure.suppress(t, 5, ["n", "k"], {"rate": ("n", "k")})
    assert out["n"].tolist() == [100, "<5", 50, 10]
    assert out["k"].tolist() == [40, "<5", "<5", 0]
    assert out["rate"].tolist() == [0.4, None, None, 0.0]
    # 97 of 100 is as disclosive as 3 of 100: the complement is a small count too
    out = disclosure.suppress(pd.DataFrame({"n": [100], "k": [97], "rate": [0.97]}), 5, ["n", "k"], {"rate": ("n", "k")})
    assert out["rate"].tolist() == [None]


def test_numbers_and_dates_in_each_language():
    fr, en = text.Text("fr", {}), text.Text("en", {})
    assert fr.number(1234.5, 1) == "1\u00a0234,5" and en.number(1234.5, 1) == "1,234.5"
    assert fr.pct(0.123) == "12,3\u00a0%" and en.pct(0.123) == "12.3%"
    assert fr.date(pd.Timestamp("2026-11-27")) == "27/11/2026"
    assert fr.money(-110, "EUR") == "-110\u00a0€" and en.money(-110, "GBP") == "-£110"
    assert fr.interval(0.1, 0.2) == "[10,0\u00a0% ; 20,0\u00a0%]"
    # a negative value that rounds to zero shows no sign (an SMD of -0.004 is 0.00, not -0.00)
    assert en.number(-0.004, 2) == "0.00" and fr.number(-0.004, 2) == "0,00" and en.number(-0.0, 1) == "0.0"
    assert en.number(-0.006, 2) == "-0.01" and fr.number(-1234.4) == "-1\u00a0234" and en.number(-0.4) == "0"
    assert en.money(-0.001, "GBP", 2) == "£0.00" and fr.money(-0.001, "EUR", 2) == "0,00\u00a0€"
    assert en.money(-0.01, "GBP", 2) == "-£0.01" and en.pct(-0.00001) == "0.0%" and fr.pct(-0.0004) == "0,0\u00a0%"


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out |= _keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}"}
    return out


def test_strings_exist_in_both_languages():
    en = yaml.safe_load((ROOT / "config/strings/en.yml").read_text(encoding="utf-8"))
    fr = yaml.safe_load((ROOT / "config/strings/fr.yml").read_text(encoding="utf-8"))
    assert _keys(en) == _keys(fr)


def test_every_string_a_notebook_uses_exists():
    en = _keys(yaml.safe_load((ROOT / "config/strings/en.yml").read_text(encoding="utf-8")))
    used, groups = set(), set()
    for path in (ROOT / "notebooks").glob("0*.ipynb"):
        source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        used |= set(re.findall(r'"((?:common|cols|quality|reach|engagement|employment|business|value|summary)\.[a-z0-9_]+)"', source))
        groups |= set(re.findall(r'label\("([a-z_]+)"', source))
        for mapping in re.findall(r"labels=\{([^}]*)\}", source):
            groups |= set(re.findall(r'"[a-z_]+":\s*"([a-z_]+)"', mapping))
    # a key worded per kind of report has a `landlord` and a `group` form
    missing = sorted(k for k in used if k not in en and not {f"{k}.landlord", f"{k}.group"} <= set(en))
    assert len(used) > 100 and missing == []
    label_groups = {k.split(".")[1] for k in en if k.startswith("labels.")}
    assert len(groups) > 10 and groups <= label_groups, groups - label_groups


def test_chart_alternative_text_is_in_the_reader_s_number_format():
    from increase_eval import plots, text

    fr = text.load(ROOT / "config", "fr")
    _, alt = plots.rates(["Femmes"], [0.47], [0.371], [0.57], "Titre", "%", pct=fr.pct)
    assert alt == "Titre. Femmes: 47\u00a0% (37\u00a0% – 57\u00a0%)"
    _, alt = plots.tornado(["Durée"], [1.254], [3.4], 2.0, "Titre", "x", "bas", "haut", number=fr.number)
    assert alt == "Titre. Durée: 1,25 – 3,40"
    _, alt = plots.forest(["Séances"], [1.1], [1.08], [1.12], "Titre", "x", number=fr.number)
    assert alt == "Titre. Séances: 1,10 (1,08 – 1,12)"


def test_a_survival_chart_cut_short_keeps_its_size():
    """A curve with nobody left to draw (every step under the disclosure threshold, or no
    start dates) and numbers at risk placed up to a year: the figure stays its usual size
    (numbers outside the axis once stretched a cropped PNG to gigabytes)."""
    from increase_eval import models, plots

    empty = models.kaplan_meier([], [])
    normal = models.kaplan_meier([30, 60, 200, 400, 500], [1, 1, 0, 1, 0])
    widths = []
    for curve in (empty, normal):
        fig, _ = plots.survival({"x": curve}, "Titre", "jours", "%", cumulative=True, min_at_risk=5,
                                at_risk=([0, 90, 180, 270, 365], ["<5"] * 5, "Pas encore en emploi"))
        assert fig.axes[0].get_xlim() == (0, 365)       # the marks set the horizon
        png, width = plots.to_png(fig)
        widths.append(width)
        assert len(png) < 500_000
    assert widths[0] == widths[1]


def test_a_survival_chart_shows_one_row_of_numbers_at_risk_the_protected_one():
    """The numbers under the axis are the caller's, as readers may see them (`<5`), each
    under its own tick, drawn once: never the curve's raw counts beside them."""
    from increase_eval import models, plots, text

    fr = text.load(ROOT / "config", "fr")
    curve = models.kaplan_meier(list(range(10, 410, 10)), [1, 0] * 20)
    fig, alt = plots.survival({"x": curve}, "Titre", "jours", "%", cumulative=True, min_at_risk=5,
                              at_risk=([0, 180, 365], ["40", "22", "<5"], "Pas encore en emploi"))
    plots.localise(fig, fr)
    ax = fig.axes[0]
    assert sorted(a.get_text() for a in ax.texts) == sorted(["40", "22", "<5", "Pas encore en emploi"])
    assert list(ax.get_xticks()) == [0, 180, 365]
    assert alt.endswith("Pas encore en emploi: 0: 40; 180: 22; 365: <5")


def test_an_odds_ratio_axis_keeps_few_readable_ticks_and_long_labels_wrap():
    """From 0.49 to 1.45 the axis reads 0,5 / 0,7 / 1 / 1,5 (every tenth collided on a
    narrow chart: '1 1,11,21,3'); a long row label wraps instead of squeezing the plot."""
    from increase_eval import plots, text

    fr = text.load(ROOT / "config", "fr")
    label = "Chaque séance de formation en plus (tenue avant le résultat)"
    fig, _ = plots.forest([label, "Femme (vs homme)"], [1.05, 0.84], [1.03, 0.49], [1.07, 1.45], "Titre", "x",
                          number=fr.number)
    plots.localise(fig, fr)
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [0.5, 0.7, 1, 1.5]
    assert [tl.get_text() for tl in ax.get_xticklabels()] == ["0,5", "0,7", "1", "1,5"]
    assert "\n" in ax.get_yticklabels()[0].get_text() and ax.get_yticklabels()[0].get_text().replace("\n", " ") == label
