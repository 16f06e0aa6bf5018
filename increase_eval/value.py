"""Social return on investment (Social Value International guide):

    impact in year t = quantity x proxy x (1 - deadweight) x (1 - displacement)
                       x (1 - attribution) x (1 - drop_off)^(t - 1)
    present value    = sum over t of impact_t / (1 + discount_rate)^t
    SROI ratio       = present value / inputs

Values, assumptions and inputs come from config/values.yml, each with its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ASSUMPTIONS = ["deadweight", "displacement", "attribution", "drop_off", "duration_years", "discount_rate"]


def load_values(config_root: Path | str) -> dict:
    return yaml.safe_load((Path(config_root) / "values.yml").read_text(encoding="utf-8"))


def central(values: dict) -> dict:
    return {k: values["assumptions"][k]["central"] for k in ASSUMPTIONS}


def to_currency(amount: float, currency: str, values: dict) -> float:
    target = values["currency"]
    if currency == target:
        return amount
    rate = values["eur_per_gbp"]
    return amount / rate if (currency, target) == ("EUR", "GBP") else amount * rate


def present_value(quantity: float, proxy: float, a: dict) -> float:
    years = int(round(a["duration_years"]))
    net = quantity * proxy * (1 - a["deadweight"]) * (1 - a["displacement"]) * (1 - a["attribution"])
    return sum(net * (1 - a["drop_off"]) ** (t - 1) / (1 + a["discount_rate"]) ** t for t in range(1, years + 1))


@dataclass
class Sroi:
    table: pd.DataFrame      # outcome, quantity, proxy, present_value, source
    present_value: float
    inputs: float
    ratio: float
    currency: str


def sroi(quantities: dict[str, float], inputs: float, values: dict, assumptions: dict | None = None) -> Sroi:
    a = assumptions or central(values)
    rows = []
    for v in values["values"]:
        q = quantities.get(v["outcome"], 0)
        proxy = to_currency(v["value"], v["currency"], values)
        rows.append({"outcome": v["outcome"], "quantity": q, "proxy": proxy,
                     "present_value": present_value(q, proxy, a), "source": v["source"]})
    table = pd.DataFrame(rows)
    pv = float(table["present_value"].sum())
    return Sroi(table, pv, inputs, pv / inputs if inputs else float("nan"), values["currency"])


def inputs_for(share: float, values: dict) -> float:
    total = values["inputs"]["total"]
    return to_currency(total["amount"], total["currency"], values) * share


def sensitivity(quantities: dict[str, float], inputs: float, values: dict) -> pd.DataFrame:
    """SROI ratio with each assumption at its low and its high value, the others central:
    the rows of a tornado plot, widest swing first."""
    base = central(values)
    rows = []
    for name in ASSUMPTIONS:
        spec = values["assumptions"][name]
        low = sroi(quantities, inputs, values, {**base, name: spec["low"]}).ratio
        high = sroi(quantities, inputs, values, {**base, name: spec["high"]}).ratio
        rows.append({"assumption": name, "low_value": spec["low"], "high_value": spec["high"],
                     "ratio_at_low": low, "ratio_at_high": high, "swing": abs(high - low)})
    return pd.DataFrame(rows).sort_values("swing", ascending=False).reset_index(drop=True)


def for_entity(participants: pd.DataFrame, landlords: list[str], values: dict) -> tuple[Sroi, pd.DataFrame]:
    """SROI of an entity: its people into employment, valued once each; inputs are its
    landlords' shares of the programme cost (config/values.yml)."""
    quantities = {"employment": float(participants["employment"].sum())}
    shares = values["inputs"]["shares"]
    unknown = [l for l in landlords if l not in shares]
    if unknown:
        raise ValueError(f"no cost share for {unknown} in config/values.yml (inputs.shares)")
    inputs = inputs_for(sum(shares[l] for l in landlords), values)
    return sroi(quantities, inputs, values), sensitivity(quantities, inputs, values)
