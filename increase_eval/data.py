"""Load the processed tables for one entity: a landlord, `fr`, `uk` or `all`.

Analysis code reads data/processed only through this module, and never writes to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from . import frames
from .config import Config

GROUPS = ("all", "fr", "uk")
# Exports a landlord may leave out of its mapping (only the participant register is
# required): what rests on one is then not measured for that landlord, and said so.
OPTIONAL_TABLES = ("sessions", "outcomes", "business_checks", "questionnaires", "ambassadors", "tenancies",
                   "rent_accounts")
PERSON_TABLES = ("sessions", "outcomes", "businesses", "questionnaires", "ambassadors")
LANDLORD_TABLES = ("tenancies", "rent_accounts", "neighbourhoods", "rejects")


def entities(config: Config) -> list[str]:
    return [*GROUPS, *config.landlords]


def landlords_of(entity: str, config: Config) -> list[str]:
    if entity not in entities(config):
        raise ValueError(f"unknown landlord '{entity}'; valid: {', '.join(entities(config))}")
    if entity in GROUPS:
        countries = config.programme["entities"][entity]["countries"]
        return [l.id for l in config.landlords.values() if l.country in countries]
    return [entity]


def of_partnership(entity: str, config: Config) -> bool:
    """Every landlord the entity covers is one of the programme's own partners
    (programme.yml `partners`): a federation made by `synth --landlords`, or any other
    landlords, is not the programme's partnership and is not named or targeted as it."""
    partners = set(config.programme.get("partners") or [])
    return set(landlords_of(entity, config)) <= partners


def entity_name(entity: str, config: Config, t) -> str:
    """The name a reader sees: a landlord's own; a group's from the strings (`t`), the
    partnership's (`entities`) when it pools the programme's partners only, otherwise named
    after what it pools (`pooled`: "Federation of N landlords")."""
    if entity not in GROUPS:
        return config.landlords[entity].name
    if of_partnership(entity, config):
        return t(f"entities.{entity}")
    n = len(landlords_of(entity, config))
    return t(f"pooled.{entity}_one" if entity == "all" and n == 1 else f"pooled.{entity}", n=t.number(n))


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
    folder: Path | None = None      # the processed folder it was loaded from (beside it: cache.py's results)

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic"))

    @property
    def processed(self) -> list[str]:
        """This entity's landlords whose exports `prepare` could read (the others, skipped
        for a file-level problem, have no rows at all)."""
        return [l for l in self.landlords if self._record(l).get("status") == "processed"]

    def _record(self, landlord: str) -> dict:
        return (self.manifest.get("landlords") or {}).get(landlord) or {}

    def status(self, table: str, landlord: str) -> str:
        """What a landlord gave of an export (from the manifest's accounting of its files):
        'provided'; 'missing', no such export in its mapping; or 'empty', an export none of
        whose rows could be kept."""
        files = [f for f in self._record(landlord).get("files", []) if f.get("table") == table]
        if not files:
            return "missing"
        return "provided" if sum(int(f.get("kept", 0)) for f in files) else "empty"

    def lacking(self, *tables: str) -> dict[str, dict[str, str]]:
        """{landlord: {table: 'missing' or 'empty'}} for this entity's processed landlords
        that did not provide one of `tables`."""
        out: dict[str, dict[str, str]] = {}
        for l in self.processed:
            gaps = {t: s for t in tables if (s := self.status(t, l)) != "provided"}
            if gaps:
                out[l] = gaps
        return out

    def providers(self, *tables: str) -> list[str]:
        """This entity's processed landlords that provided every one of `tables`."""
        gaps = self.lacking(*tables)
        return [l for l in self.processed if l not in gaps]

    def having(self, *tables: str) -> "Dataset":
        """This dataset restricted to the landlords that provided every one of `tables`: a
        landlord that did not provide an export is left out of what rests on it (rather
        than counted as having none of it: no jobs, no arrears, no questionnaires)."""
        return self.only(self.providers(*tables))

    def only(self, landlords) -> "Dataset":
        """The same dataset for some of its landlords: their participants and everything
        recorded for those people; their tenancies, rent accounts, places and rejects."""
        keep = [l for l in self.landlords if l in set(landlords)]
        if keep == self.landlords:
            return self
        people = self.participants[frames.isin(self.participants["landlord"], keep)]
        ids = people["person_id"].to_numpy(dtype=object)
        tables = {name: getattr(self, name)[frames.isin(getattr(self, name)["person_id"], ids)]
                  for name in PERSON_TABLES}
        tables |= {name: getattr(self, name)[frames.isin(getattr(self, name)["landlord"], keep)]
                   for name in LANDLORD_TABLES}
        return replace(self, landlords=keep, participants=people, **tables)


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
        manifest=json.loads((processed / "manifest.json").read_text(encoding="utf-8")), folder=processed.resolve())
