"""Tidy frames for the evaluator's own questions (notebooks/00_explore.ipynb): one call
gives one landlord's or group's processed data as long tables, one row per person, per
session, per questionnaire answer or per tenancy-month, with the landlord's and the
neighbourhood's names beside their ids, ready for seaborn or a groupby.

These are person-level rows under pseudonyms, and NOTHING here is disclosure-controlled:
a chart or table made from them may show a count of one. They are for exploring on the
evaluator's machine, never for a report, an e-mail or a commit (the report's tables and
charts go through disclosure control in notebook.Context).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import config as cfg, data, indicators

NOTICE = ("Exploration: person-level rows under pseudonyms, NOT disclosure-controlled (a count of one can show). "
          "Its outputs stay on this machine: never copy them into a report, an e-mail or a commit.")


@dataclass
class Frames:
    """One entity's tidy frames. Categories keep the codes of the processed data (docs/data.md)."""

    entity: str
    people: pd.DataFrame        # one row per participant: who, where, pathway, outcomes
    sessions: pd.DataFrame      # one row per session, with its participant's landlord and neighbourhood
    wellbeing: pd.DataFrame     # one row per questionnaire answer: wave, measure, score
    arrears: pd.DataFrame       # one row per tenancy-month: arrears and months from finding work
    businesses: pd.DataFrame    # one row per business created

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name} {len(getattr(self, name)):,}" for name in
                          ("people", "sessions", "wellbeing", "arrears", "businesses"))
        return f"Frames({self.entity!r}: {sizes} rows)"


def frames(landlord: str = "all", processed: str | Path = "../data/processed",
           config_dir: str | Path | None = None) -> Frames:
    """The tidy frames of a landlord or a group (`all`, `fr`, `uk`) from a processed folder
    (relative to the working directory, else to notebooks/, as in the notebooks)."""
    from .notebook import DEFAULT_CONFIG

    config_dir = Path(config_dir or os.environ.get("INCREASE_EVAL_CONFIG") or DEFAULT_CONFIG)
    processed = Path(processed)
    if not processed.is_absolute() and not processed.exists():
        processed = DEFAULT_CONFIG.parent / "notebooks" / processed
    conf = cfg.load(config_dir)
    valid = data.entities(conf)
    if landlord not in valid:
        raise ValueError(f"unknown landlord '{landlord}'; valid values: {', '.join(valid)}")
    return tidy(data.load(processed, landlord, conf), conf)


def _names(d: data.Dataset, conf: cfg.Config) -> tuple[dict, pd.Series]:
    landlords = {lid: conf.landlords[lid].name for lid in conf.landlords}
    hoods = d.neighbourhoods.drop_duplicates("neighbourhood_id").set_index("neighbourhood_id")["name"]
    return landlords, hoods


def _placed(frame: pd.DataFrame, landlords: dict, hoods: pd.Series) -> pd.DataFrame:
    """`landlord` and `neighbourhood` as names (categories), their ids beside them."""
    out = frame.rename(columns={"landlord": "landlord_id"})
    out.insert(0, "landlord", out["landlord_id"].map(landlords).astype("category"))
    if "neighbourhood_id" in out:
        names = out["neighbourhood_id"].map(hoods).fillna(out["neighbourhood_id"]).fillna("unknown")
        out.insert(1, "neighbourhood", names.astype("category"))
    return out


def tidy(d: data.Dataset, conf: cfg.Config) -> Frames:
    landlords, hoods = _names(d, conf)
    p = d.participants.copy()
    for stage in ("training_started", "training_completed"):
        p[stage] = indicators.reached(p, stage)
    p["currency"] = p["landlord"].map({l: conf.landlords[l].currency for l in conf.landlords})
    where = p.set_index("person_id")[["landlord", "neighbourhood_id"]]
    people = _placed(p.drop(columns=["tenancy_id"]), landlords, hoods)

    def by_person(frame: pd.DataFrame) -> pd.DataFrame:
        """A person-level table placed by its participant's landlord and neighbourhood."""
        rows = frame.drop(columns=["landlord"]).join(where, on="person_id", how="inner")
        return _placed(rows, landlords, hoods)

    sessions = by_person(d.sessions)
    q = d.questionnaires
    scores = [c for c in q.columns if c == "confidence" or c.startswith("wellbeing_")]
    wellbeing = by_person(q.melt(id_vars=["landlord", "person_id", "wave", "response_date"], value_vars=scores,
                                 var_name="measure", value_name="score").dropna(subset=["score"]))
    businesses = by_person(d.businesses)
    return Frames(d.entity, people, sessions, wellbeing, _arrears(d, landlords, hoods), businesses)


def _arrears(d: data.Dataset, landlords: dict, hoods: pd.Series) -> pd.DataFrame:
    """Tenancy-months: the tenancy's group (participants who found work, other
    participants, other tenants of the same landlord), and for the first the months since
    the month they found work (0: that month)."""
    panel = d.rent_accounts
    t = d.tenancies.set_index("tenancy_id")
    work = (d.participants[d.participants["employment"].astype(bool)].dropna(subset=["tenancy_id"])
            .drop_duplicates("tenancy_id").set_index("tenancy_id")["employment_date"])
    month = pd.to_datetime(panel["month"])
    out = pd.DataFrame({"landlord": panel["landlord"].to_numpy(), "tenancy_id": panel["tenancy_id"].to_numpy(),
                        "month": month.to_numpy(), "arrears": panel["arrears"].to_numpy(),
                        "rent_due": panel["rent_due"].to_numpy()})
    out["neighbourhood_id"] = out["tenancy_id"].map(t["neighbourhood_id"])
    participant = out["tenancy_id"].map(t["participant"]).astype("boolean").fillna(False).astype(bool)
    found = out["tenancy_id"].map(work)
    codes = np.where(found.notna().to_numpy(), 0, np.where(participant.to_numpy(), 1, 2))
    out["group"] = pd.Categorical.from_codes(codes, categories=["participant in work", "participant", "comparison"])
    event = found.dt.to_period("M").dt.to_timestamp()
    out["months_from_work"] = ((out["month"].dt.year - event.dt.year) * 12
                               + (out["month"].dt.month - event.dt.month)).astype("Int64")
    return _placed(out, landlords, hoods)
