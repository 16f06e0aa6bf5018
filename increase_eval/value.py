"""The value account: what the programme produced for each landlord, for its residents,
for the public purse and for the local economy, in the landlord's own currency.

Social Value International's formula, per value:

    impact in year t = quantity x value x (1 - deadweight) x (1 - displacement)
                       x (1 - attribution) x (1 - drop_off)^(t - 1)
    present value    = sum over the years the benefit lasts of impact_t / (1 + discount_rate)^t

What is counted, and why (say it in the report, `methods`):
- Residents and the public purse: one count per person per outcome area. A person who
  started a job, a business, or both is one person into work, valued once.
- The landlord: rent arrears avoided = the difference-in-differences effect on the
  arrears balance x the tenancies of participants who found work, x the share of those
  jobs owed to the programme (1 - deadweight)(1 - displacement)(1 - attribution). The
  effect is a change in the balance owed, so it is counted once per tenancy, not once per
  month: a balance lower by 110 for twelve months is 110 less owed, not 1,320. Arrears
  paid are a transfer from tenants' income: they are the landlord's value, not added a
  second time to the social total. Fewer tenancies ending (re-lets avoided) is counted
  only when the comparison with other tenancies gives an interval that excludes zero.
- What the data cannot support (evictions, staff time, image) is listed, not dropped.
- Money is deflated to one price year per currency; pounds and euros are never added,
  except in the partnership's conversion column at the stated rate.

Uncertainty: a tornado (each assumption at its low and high), a joint Monte-Carlo over
every assumption and value range and the estimated effects (seeded, vectorised), and the
break-even value of each assumption (where the ratio is 1).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import optimize

from .errors import ConfigError

ASSUMPTIONS = ["deadweight", "displacement", "attribution", "drop_off", "duration_years", "discount_rate"]
STAKEHOLDERS = ["landlord", "residents", "public_purse", "local_economy"]
SHARES = {"deadweight", "displacement", "attribution", "drop_off"}
DEADWEIGHT_MAX = 0.999   # a drawn deadweight stays a share


# --- the values table (config/values.yml) ---------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueSpec(_Strict):
    key: str
    stakeholder: Literal["residents", "public_purse", "landlord"]
    per: Literal["person_year", "tenancy_ended"]
    amount: float = Field(gt=0)
    low: float | None = Field(None, ge=0)
    high: float | None = Field(None, ge=0)
    price_year: int
    source: str
    derivation: dict[Literal["en", "fr"], str] = {}
    licence: str = "not stated"
    assumption: bool = False

    @model_validator(mode="after")
    def _range(self):
        low, high = self.low if self.low is not None else self.amount, self.high if self.high is not None else self.amount
        if not low <= self.amount <= high:
            raise ValueError(f"low ({low:g}) <= amount ({self.amount:g}) <= high ({high:g}) does not hold")
        return self


class Reference(_Strict):
    amount: float
    price_year: int
    source: str


class NotQuantified(_Strict):
    key: str
    reference: Reference | None = None


class CountryValues(_Strict):
    currency: Literal["EUR", "GBP"]
    values: list[ValueSpec]
    not_quantified: list[NotQuantified] = []


class Assumption(_Strict):
    central: float
    low: float
    high: float
    source: dict[Literal["en", "fr"], str]     # why this value, in each report language

    @model_validator(mode="after")
    def _order(self):
        if not self.low <= self.central <= self.high:
            raise ValueError(f"low ({self.low:g}) <= central ({self.central:g}) <= high ({self.high:g}) does not hold")
        return self


class Deflator(_Strict):
    source: str
    assumption: bool = False
    index: dict[int, float]


class ExchangeRate(_Strict):
    eur_per_gbp: float = Field(gt=0)
    year: int
    source: str
    assumption: bool = False


class MonteCarlo(_Strict):
    draws: int = Field(10000, ge=100)
    seed: int = 0
    interval: float = Field(0.90, gt=0, lt=1)


class Values(_Strict):
    price_year: dict[Literal["EUR", "GBP"], int]
    deflators: dict[Literal["EUR", "GBP"], Deflator]
    exchange_rate: ExchangeRate
    countries: dict[Literal["UK", "FR"], CountryValues]
    assumptions: dict[Literal["deadweight", "displacement", "attribution", "drop_off", "duration_years",
                              "discount_rate"], Assumption]
    monte_carlo: MonteCarlo = MonteCarlo()

    @model_validator(mode="after")
    def _complete(self):
        missing = [a for a in ASSUMPTIONS if a not in self.assumptions]
        if missing:
            raise ValueError(f"assumptions: missing {', '.join(missing)}")
        for a in SHARES:
            spec = self.assumptions[a]
            if not 0 <= spec.low <= spec.high <= 1:
                raise ValueError(f"assumptions.{a}: a share between 0 and 1")
        for country, table in self.countries.items():
            years = self.deflators[table.currency].index
            for v in table.values:
                if v.price_year not in years:
                    raise ValueError(f"countries.{country}.values.{v.key}: no {table.currency} deflator for "
                                     f"{v.price_year} (deflators.{table.currency}.index has "
                                     f"{min(years)}-{max(years)})")
        for currency, year in self.price_year.items():
            if year not in self.deflators[currency].index:
                raise ValueError(f"price_year.{currency}: no deflator for {year}")
        return self

    def currency_of(self, country: str) -> str:
        return self.countries[country].currency

    def deflate(self, amount, currency: str, year: int):
        """Money of `year` in money of the currency's price year."""
        index = self.deflators[currency].index
        year = min(max(int(year), min(index)), max(index))
        return amount * index[self.price_year[currency]] / index[year]


def load_values(config_root: Path | str) -> Values:
    """config/values.yml, checked: one line per problem naming the file and the key."""
    from .config import _read_yaml

    path = Path(config_root) / "values.yml"
    try:
        return Values.model_validate(_read_yaml(path))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err.get("ctx", {}).get("error", err["msg"]) if err["type"] == "value_error" else err["msg"]
            lines.append(f"{path}: {where}: {msg}")
        raise ConfigError(*lines) from None


# --- what the data says, for one landlord ----------------------------------------------------------

@dataclass
class Arrears:
    """The effect of finding work on the arrears balance (difference in differences)."""

    effect: float                 # per tenancy, in the money of the months observed (negative: fewer arrears)
    std_error: float
    lower: float
    upper: float
    treated_tenancies: int        # participants' tenancies observed after a job or business started
    treated_months: int           # their tenancy-months after it
    comparison_tenancies: int
    year: int                     # middle year of the treated months (the money the effect is in)


@dataclass
class Turnover:
    """Tenancies that ended: participants' against comparison tenancies of the same landlord."""

    participant_tenancies: int
    participant_ended: int
    comparison_tenancies: int
    comparison_ended: int
    difference: float             # comparison share - participants' share (positive: fewer endings)
    std_error: float
    lower: float
    upper: float

    @property
    def supported(self) -> bool:
        """Counted only when the interval excludes zero (and the effect goes the right way)."""
        return self.lower > 0


@dataclass
class Basis:
    """The counts and estimates one landlord's account rests on."""

    landlord: str
    country: str
    currency: str
    people: int                   # distinct people into work: a job, a business, or both
    jobs: int                     # people with a job start
    businesses: int               # people who created a business
    both: int
    job_records: int              # job starts recorded (a person may have several contracts)
    business_records: int         # business creations recorded
    engaged: int
    trained: int
    completed: int
    arrears: Arrears | None
    turnover: Turnover | None
    survival_12m: dict | None     # k, n, survival, lower, upper of businesses trading at 12 months
    cost: object | None           # config.Cost, in the landlord's currency
    why_no_arrears: str | None = None   # reason key when arrears cannot be estimated
    why_no_turnover: str | None = None  # reason key when tenancy endings cannot be compared
    missing: frozenset = frozenset()    # optional exports the landlord did not provide (data.OPTIONAL_TABLES)
    deadweight: object | None = None    # tenancies.BenefitExits: deadweight measured from housing benefit
                                        # stopping among comparison tenants; None: the assumed value

    @property
    def measured(self) -> bool:
        """Whether people into work can be counted: without an outcomes export they cannot
        (none recorded is not none found), and neither can the value they bring."""
        return "outcomes" not in self.missing


def arrears_effect(tenancies_: pd.DataFrame, panel: pd.DataFrame, participants: pd.DataFrame,
                   min_units: int = 5, outcomes: bool = True) -> tuple[Arrears | None, str | None]:
    """The difference-in-differences effect of finding work on one landlord's arrears
    (`outcomes`: whether the landlord provided the outcomes that date finding work)."""
    from . import models, tenancies

    if panel.empty:
        return None, "no_panel"
    if not outcomes:
        return None, "no_outcomes"
    if tenancies_.empty or tenancies_["neighbourhood_id"].isna().all():
        return None, "no_comparison"
    p = tenancies.arrears_panel(tenancies_, panel, participants)
    treated = p["event_month"].notna()
    n_treated = p.loc[treated, "tenancy_id"].nunique()
    n_comparison = p.loc[~treated, "tenancy_id"].nunique()
    if n_treated < min_units or n_comparison < min_units:
        return None, "too_few"
    fit = models.did(p).table.iloc[0]
    after = treated & (p["month"] > p["event_month"])
    months = p.loc[after, "month"]
    year = int(months.dt.year.median()) if len(months) else int(p["month"].dt.year.median())
    return Arrears(float(fit["estimate"]), float(fit["std_error"]), float(fit["lower"]), float(fit["upper"]),
                   int(p.loc[after, "tenancy_id"].nunique()), int(after.sum()), int(n_comparison), year), None


def turnover(tenancies_: pd.DataFrame, data_end, level: float = 0.95) -> Turnover | None:
    """Share of tenancies ended by the data's end, participants' against comparison ones,
    with a Newcombe (hybrid Wilson score) interval for the difference; None when either
    group has fewer than 5 tenancies whose end is known."""
    from .indicators import wilson

    # a tenancy derived from a rent panel without an end column says nothing of its end
    t = tenancies_[tenancies_["end_known"].astype(bool)].copy() if "end_known" in tenancies_ else tenancies_.copy()
    if t.empty:
        return None
    end = pd.Timestamp(data_end)
    t["ended"] = t["tenancy_end"].notna() & (t["tenancy_end"] <= end)
    part, comp = t[t["participant"].astype(bool)], t[~t["participant"].astype(bool)]
    n1, k1, n2, k2 = len(part), int(part["ended"].sum()), len(comp), int(comp["ended"].sum())
    if min(n1, n2) < 5:
        return None
    p1, l1, u1 = (float(x) for x in wilson(k1, n1, level))
    p2, l2, u2 = (float(x) for x in wilson(k2, n2, level))
    d = p2 - p1
    lower = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    upper = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Turnover(n1, k1, n2, k2, d, float(se), float(lower), float(upper))


def _records(outcomes: pd.DataFrame, people: pd.DataFrame, kind: str) -> int:
    """Outcome records of one kind among these people (contracts, business creations)."""
    o = outcomes[outcomes["outcome_type"] == kind]
    return int(o["person_id"].isin(set(people["person_id"])).sum())


def basis(landlord, d, data_end) -> Basis:
    """One landlord's counts and estimates, from its processed data (`d`: a Dataset)."""
    from . import businesses, indicators, tenancies
    from .data import OPTIONAL_TABLES

    mine = lambda f: f[f["landlord"] == landlord.id] if "landlord" in f else f  # noqa: E731
    missing = frozenset(t for t in OPTIONAL_TABLES if d.status(t, landlord.id) != "provided")
    p = mine(d.participants)
    job, business = p["job"].astype(bool), p["business"].astype(bool)
    ten, panel = mine(d.tenancies), mine(d.rent_accounts)
    arrears, why = arrears_effect(ten, panel, p, outcomes="outcomes" not in missing)
    b = mine(d.businesses)
    survival = None
    if len(b) and not {"outcomes", "business_checks"} & missing:
        row = businesses.survival_points(b, data_end, months=(12,)).iloc[0]
        if row["n"]:   # no business old enough to have had its 12-month check: nothing to say yet
            survival = {k: row[k] for k in ("k", "n", "survival", "lower", "upper")}
    sustained = turnover(ten, data_end)
    why_turnover = None
    if sustained is None:
        known = ten["end_known"].astype(bool).any() if len(ten) else False
        why_turnover = "too_few" if known else ("no_tenancies" if "tenancies" in missing else "ends_unknown")
    return Basis(
        landlord=landlord.id, country=landlord.country, currency=landlord.currency,
        people=int((job | business).sum()), jobs=int(job.sum()), businesses=int(business.sum()),
        both=int((job & business).sum()), engaged=len(p),
        job_records=_records(d.outcomes, p, "job"), business_records=_records(d.outcomes, p, "business"),
        trained=int(indicators.reached(p, "training_started").sum()),
        completed=int(indicators.reached(p, "training_completed").sum()),
        arrears=arrears, turnover=sustained, survival_12m=survival, cost=landlord.cost,
        why_no_arrears=why, why_no_turnover=why_turnover, missing=missing,
        deadweight=tenancies.benefit_exits(ten, panel) if len(ten) and len(panel) else None)


# --- the model, vectorised over draws --------------------------------------------------------------

def years_weight(duration, drop_off, discount) -> np.ndarray:
    """Sum over years t of w_t (1 - drop_off)^(t-1) / (1 + discount)^t, where w_t is the
    part of year t the benefit lasts (a duration of 2.5 years counts half the third)."""
    duration, drop_off, discount = (np.asarray(x, dtype=float) for x in (duration, drop_off, discount))
    horizon = int(np.ceil(np.max(duration))) if duration.size else 0
    total = np.zeros(np.broadcast(duration, drop_off, discount).shape)
    for t in range(1, horizon + 1):
        w = np.clip(duration - (t - 1), 0.0, 1.0)
        total = total + w * (1 - drop_off) ** (t - 1) / (1 + discount) ** t
    return total


def present_value(quantity: float, proxy: float, a: dict) -> float:
    """The present value of `quantity` units of an outcome worth `proxy` a year."""
    net = quantity * proxy * (1 - a["deadweight"]) * (1 - a["displacement"]) * (1 - a["attribution"])
    return float(net * years_weight(a["duration_years"], a["drop_off"], a["discount_rate"]))


def central(values: Values) -> dict:
    return {k: values.assumptions[k].central for k in ASSUMPTIONS}


def _specs(b: Basis, values: Values) -> list[ValueSpec]:
    return list(values.countries[b.country].values)


def parameters(b: Basis, values: Values, n: int = 1, rng: np.random.Generator | None = None,
               landlord_rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """The model's inputs, at their central values (rng None) or drawn n times: each
    assumption and each value with a range from a triangular distribution (low, central,
    high); the arrears and turnover effects from normal sampling distributions."""
    def tri(low, mode, high):
        if rng is None or high <= low:
            return np.full(n, float(mode))
        return rng.triangular(low, mode, high, n)

    out = {k: tri(s.low, s.central, s.high) for k, s in values.assumptions.items()}
    for v in _specs(b, values):
        low = v.low if v.low is not None else v.amount
        high = v.high if v.high is not None else v.amount
        out[v.key] = values.deflate(tri(low, v.amount, high), b.currency, v.price_year)
    own = landlord_rng if landlord_rng is not None else rng
    if b.arrears is not None:
        out["arrears_effect"] = (np.full(n, b.arrears.effect) if own is None
                                 else own.normal(b.arrears.effect, b.arrears.std_error, n))
    if b.turnover is not None:
        out["turnover_difference"] = (np.full(n, b.turnover.difference) if own is None
                                      else own.normal(b.turnover.difference, b.turnover.std_error, n))
    if b.deadweight is not None:   # measured: its own estimate and sampling distribution replace the assumption
        dw = b.deadweight
        out["deadweight"] = (np.full(n, dw.estimate) if own is None
                             else np.clip(own.normal(dw.estimate, dw.std_error, n), 0.0, DEADWEIGHT_MAX))
    return out


def evaluate(b: Basis, values: Values, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every line of the account, for arrays of inputs (one element per draw)."""
    factor = (1 - x["deadweight"]) * (1 - x["displacement"]) * (1 - x["attribution"])
    years = years_weight(x["duration_years"], x["drop_off"], x["discount_rate"])
    zero = np.zeros_like(factor)
    out: dict[str, np.ndarray] = {"residents": zero.copy(), "public_purse": zero.copy()}
    for v in _specs(b, values):
        if v.stakeholder in ("residents", "public_purse"):
            line = b.people * x[v.key] * factor * years
            out[v.key] = line
            out[v.stakeholder] = out[v.stakeholder] + line
    out["arrears_avoided"] = zero.copy()
    if b.arrears is not None:
        out["arrears_avoided"] = values.deflate(-x["arrears_effect"] * b.arrears.treated_tenancies * factor,
                                                b.currency, b.arrears.year)
    out["turnover_avoided"] = zero.copy()
    relet = next((v.key for v in _specs(b, values) if v.stakeholder == "landlord"), None)
    if b.turnover is not None and b.turnover.supported and relet is not None:
        out["turnover_avoided"] = (x["turnover_difference"] * b.turnover.participant_tenancies * x[relet]
                                   * (1 - x["attribution"]))
    out["landlord"] = out["arrears_avoided"] + out["turnover_avoided"]
    out["social"] = out["residents"] + out["public_purse"] + out["turnover_avoided"]
    nan = np.full_like(factor, np.nan)
    if not b.measured:   # no outcomes export: the people into work, and their value, are unknown (not 0)
        for k in [v.key for v in _specs(b, values) if v.stakeholder in ("residents", "public_purse")] + [
                "residents", "public_purse", "social"]:
            out[k] = nan.copy()
    cost = _cost(b, values)
    out["ratio"] = out["social"] / cost["total"] if cost else nan
    own = cost.get("own") if cost else None
    out["ratio_own"] = out["social"] / own if own else nan
    # the landlord's own return rests on its arrears line: unknown, not 0, when that cannot be measured
    out["landlord_return"] = out["landlord"] / own if own and b.arrears is not None else nan
    return out


def _cost(b: Basis, values: Values) -> dict | None:
    """The landlord's cost in the price year of its currency: total, ERDF, own."""
    c = b.cost
    if c is None:
        return None
    year = c.price_year or values.price_year[b.currency]
    out = {"total": float(values.deflate(c.total, b.currency, year))}
    if c.erdf is not None:
        out["erdf"] = float(values.deflate(c.erdf, b.currency, year))
        out["own"] = out["total"] - out["erdf"]
    return out


# --- the account ------------------------------------------------------------------------------------

@dataclass
class Account:
    """One landlord's value account: central values, Monte-Carlo intervals, the tornado
    and the break-even values."""

    basis: Basis
    currency: str
    price_year: int
    lines: pd.DataFrame               # stakeholder, line, quantity, unit, value, lower, upper, counted, note
    totals: dict[str, float]          # central: residents, public_purse, landlord, social, ratio, ...
    intervals: dict[str, tuple[float, float]]   # Monte-Carlo interval of each total
    cost: dict | None                 # total, erdf, own (deflated)
    erdf_leverage: float | None       # EU money spent on its residents per unit of its own money
    tornado: pd.DataFrame | None      # assumption, base, low_value, high_value, ratio_at_low, ratio_at_high, break_even
    draws: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    not_quantified: list = field(default_factory=list)
    level: float = 0.90


def _rngs(values: Values, landlord: str) -> tuple[np.random.Generator, np.random.Generator]:
    """Shared draws of the assumptions (the same in every landlord's account, so that a
    group's totals add up draw by draw) and the landlord's own draws of its effects (the
    same in its own report and in a group's)."""
    seed = values.monte_carlo.seed
    return np.random.default_rng(seed), np.random.default_rng([seed, zlib.crc32(landlord.encode())])


def account(b: Basis, values: Values) -> Account:
    mc = values.monte_carlo
    x0 = parameters(b, values)
    base = {k: float(v[0]) for k, v in evaluate(b, values, x0).items()}
    shared, own = _rngs(values, b.landlord)
    draws = evaluate(b, values, parameters(b, values, mc.draws, shared, own))
    tail = (1 - mc.interval) / 2
    interval = {k: (float(np.nanquantile(v, tail)), float(np.nanquantile(v, 1 - tail))) if np.isfinite(v).any()
                else (np.nan, np.nan) for k, v in draws.items()}
    cost = _cost(b, values)
    rows = []
    for v in _specs(b, values):
        if v.stakeholder in ("residents", "public_purse"):
            rows.append({"stakeholder": v.stakeholder, "line": v.key, "quantity": b.people if b.measured else None,
                         "unit": "people", "value": base[v.key], "lower": interval[v.key][0],
                         "upper": interval[v.key][1], "counted": b.measured,
                         "note": None if b.measured else "no_outcomes", "source": v.source,
                         "assumption": v.assumption})
    rows.insert(0, {"stakeholder": "landlord", "line": "arrears_avoided",
                    "quantity": b.arrears.treated_tenancies if b.arrears else None, "unit": "tenancies",
                    "value": base["arrears_avoided"] if b.arrears else np.nan,
                    "lower": interval["arrears_avoided"][0] if b.arrears else np.nan,
                    "upper": interval["arrears_avoided"][1] if b.arrears else np.nan,
                    "counted": False, "note": "transfer" if b.arrears else (b.why_no_arrears or "no_panel"),
                    "source": None, "assumption": False})
    supported = b.turnover is not None and b.turnover.supported
    rows.insert(1, {"stakeholder": "landlord", "line": "turnover_avoided",
                    "quantity": b.turnover.participant_tenancies if b.turnover else None, "unit": "tenancies",
                    "value": base["turnover_avoided"] if supported else np.nan,
                    "lower": interval["turnover_avoided"][0] if supported else np.nan,
                    "upper": interval["turnover_avoided"][1] if supported else np.nan,
                    "counted": supported, "note": None if supported else ("no_difference" if b.turnover
                                                                          else b.why_no_turnover or "too_few"),
                    "source": None, "assumption": False})
    if b.measured and b.businesses:
        rows.append({"stakeholder": "local_economy", "line": "businesses_trading", "quantity": b.businesses,
                     "unit": "businesses", "value": np.nan, "lower": np.nan, "upper": np.nan, "counted": False,
                     "note": "not_valued", "source": None, "assumption": False})
    lines = pd.DataFrame(rows)
    totals = {k: base[k] for k in ("residents", "public_purse", "arrears_avoided", "turnover_avoided", "landlord",
                                   "social", "ratio", "ratio_own", "landlord_return")}
    leverage = cost["erdf"] / cost["own"] if cost and cost.get("own") else None
    tornado = sensitivity([b], values) if cost and b.measured else None
    return Account(b, b.currency, values.price_year[b.currency], lines, totals, interval, cost, leverage, tornado,
                   draws, list(values.countries[b.country].not_quantified), mc.interval)


def _ranges(bases: list[Basis], values: Values) -> list[tuple[str, float, float, float, tuple[float, float]]]:
    """What the tornado varies: (name, base, low, high, domain for the break-even search).
    Values are in the money of the accounts' currency (one currency per tornado)."""
    out = []
    for name in ASSUMPTIONS:
        s = values.assumptions[name]
        domain = (0.0, 0.999) if name in SHARES else (0.0, 40.0) if name == "duration_years" else (0.0, 1.0)
        central, low, high = s.central, s.low, s.high
        if name == "deadweight" and len(bases) == 1 and bases[0].deadweight is not None:
            dw = bases[0].deadweight   # measured: its estimate and 95% interval
            central, low, high = dw.estimate, dw.lower, dw.upper
        out.append((name, central, low, high, domain))
    b = bases[0]
    turnover = any(x.turnover is not None and x.turnover.supported for x in bases)
    for v in _specs(b, values):
        if (v.low is not None or v.high is not None) and (v.stakeholder != "landlord" or turnover):
            d = lambda a: float(values.deflate(a, b.currency, v.price_year))  # noqa: E731
            out.append((v.key, d(v.amount), d(v.low if v.low is not None else v.amount),
                        d(v.high if v.high is not None else v.amount), (0.0, 20 * d(v.amount))))
    return out


def ratio_at(bases: Basis | list[Basis], values: Values, **changes: float) -> float:
    """The SROI ratio (of one landlord, or of landlords sharing a currency: their social
    value over their cost) with some inputs changed and the others at their central values."""
    bases = [bases] if isinstance(bases, Basis) else bases
    social = cost = 0.0
    for b in bases:
        x = parameters(b, values)
        for k, v in changes.items():
            x[k] = np.array([float(v)])
        social += float(evaluate(b, values, x)["social"][0])
        c = _cost(b, values)
        cost += c["total"] if c else np.nan
    return social / cost if cost else float("nan")


def sensitivity(bases: Basis | list[Basis], values: Values) -> pd.DataFrame:
    """The tornado: the ratio with each input at its low and at its high value, the others
    central, widest swing first; and each input's break-even value (where the ratio is 1,
    the others central), or NaN when no value in its domain gives a ratio of 1."""
    bases = [bases] if isinstance(bases, Basis) else bases
    rows = []
    for name, base, low, high, domain in _ranges(bases, values):
        at_low, at_high = ratio_at(bases, values, **{name: low}), ratio_at(bases, values, **{name: high})
        rows.append({"assumption": name, "base": base, "low_value": low, "high_value": high,
                     "ratio_at_low": at_low, "ratio_at_high": at_high, "swing": abs(at_high - at_low),
                     "break_even": break_even(bases, values, name, domain)})
    return pd.DataFrame(rows).sort_values("swing", ascending=False).reset_index(drop=True)


def break_even(bases: Basis | list[Basis], values: Values, name: str, domain: tuple[float, float]) -> float:
    """The value of `name` at which the ratio is 1 (others central); NaN if none in `domain`."""
    f = lambda v: ratio_at(bases, values, **{name: v}) - 1.0  # noqa: E731
    lo, hi = domain
    f_lo, f_hi = f(lo), f(hi)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or f_lo * f_hi > 0:
        return float("nan")
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


# --- a group of landlords ---------------------------------------------------------------------------

def group_totals(accounts: list[Account], values: Values) -> pd.DataFrame:
    """Subtotals per currency (never pooled): sums of the central values, and Monte-Carlo
    intervals of the sums (the assumption draws are shared, so draws add up). Landlords
    whose value cannot be measured (no outcomes export) are not counted: `landlords` says
    how many are, `not_counted` lists the others; a currency with none counted has no sums."""
    rows = []
    tail = (1 - values.monte_carlo.interval) / 2
    for currency in sorted({a.currency for a in accounts}):
        mine = [a for a in accounts if a.currency == currency and a.basis.measured]
        row = {"currency": currency, "landlords": len(mine),
               "not_counted": [a.basis.landlord for a in accounts if a.currency == currency and not a.basis.measured],
               "arrears_measured": sum(a.basis.arrears is not None for a in mine)}
        for k in ("residents", "public_purse", "landlord", "social", "arrears_avoided", "turnover_avoided"):
            if not mine:
                row[k] = row[f"{k}_lower"] = row[f"{k}_upper"] = np.nan
                continue
            row[k] = sum(a.totals[k] for a in mine)
            s = sum(a.draws[k] for a in mine)
            row[f"{k}_lower"], row[f"{k}_upper"] = float(np.quantile(s, tail)), float(np.quantile(s, 1 - tail))
        costed = [a for a in mine if a.cost]
        row["cost"] = sum(a.cost["total"] for a in costed) if len(costed) == len(mine) and mine else np.nan
        owns = [a.cost.get("own") for a in costed]
        row["own"] = sum(owns) if len(costed) == len(mine) and mine and None not in owns else np.nan
        if len(costed) == len(mine) and costed:
            r = sum(a.draws["social"] for a in mine) / row["cost"]
            row["ratio"] = row["social"] / row["cost"]
            row["ratio_lower"], row["ratio_upper"] = float(np.quantile(r, tail)), float(np.quantile(r, 1 - tail))
        else:
            row["ratio"] = row["ratio_lower"] = row["ratio_upper"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def convert(amount: float, currency: str, to: str, values: Values) -> float:
    """At the stated rate of config/values.yml (for the partnership report's conversion column only)."""
    if currency == to:
        return amount
    rate = values.exchange_rate.eur_per_gbp
    return amount * rate if (currency, to) == ("GBP", "EUR") else amount / rate
