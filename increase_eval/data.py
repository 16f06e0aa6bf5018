"""Load the processed tables for one entity: a landlord, `fr`, `uk` or `all`.

Analysis code reads data/processed only through this module, and never writes to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import Config

GROUPS = ("all", "fr", "uk")


def entities(config: Config) -> list[str]:
    return [*GROUPS, *config.landlords]


def landlords_of(entity: str, config: Config) -> list[str]:
    if entity not in entities(config):
        raise ValueError(f"unknown landlord '{entity}'; valid: {', '.join(entities(config))}")
    if entity in GROUPS:
        countries = config.programme["entities"][entity]["countries"]
        return [l.id for l in config.landlords.values() if l.country in countries]
    return [entity]


@dataclass
class Dataset:
    entity: str
    landlords: list[str]
    participants: pd.DataFrame
    sessions: pd.DataFrame
    outcomes: pd.DataFrame
    businesses: pd.DataFrame
    questionnaires: pd.DataFrame
    ambassadors: pd.DataFrame
    tenancies: pd.DataFrame
    rent_accounts: pd.DataFrame
    neighbourhoods: pd.DataFrame
    rejects: pd.DataFrame
    manifest: dict

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic"))


def load(processed: Path | str, entity: str, config: Config) -> Dataset:
    processed = Path(processed)
    if not (processed / "manifest.json").is_file():
        raise FileNotFoundError(f"no processed data in {processed}: run 'increase-eval prepare' first")
    mine = landlords_of(entity, config)
    def read(name: str, column: str = "landlord", values=mine) -> pd.DataFrame:
        """Only this entity's rows are ever loaded: by landlord, or for person-level
        tables by person (a person registered first here may have records from another
        landlord, and those are theirs)."""
        return pd.read_parquet(processed / f"{name}.parquet", filters=[(column, "in", list(values))])

    people = read("participants")
    ids = people["person_id"].tolist()
    by_person = lambda name: read(name, "person_id", ids)  # noqa: E731
    panel = pd.read_parquet(processed / "rent_accounts", filters=[("landlord", "in", mine)])
    return Dataset(
        entity=entity, landlords=mine, participants=people, sessions=by_person("sessions"),
        outcomes=by_person("outcomes"), businesses=by_person("businesses"),
        questionnaires=by_person("questionnaires"), ambassadors=by_person("ambassadors"),
        tenancies=read("tenancies"), rent_accounts=panel, neighbourhoods=read("neighbourhoods"),
        rejects=read("rejects"),
        manifest=json.loads((processed / "manifest.json").read_text(encoding="utf-8")))
