"""Configuration: programme, landlords (one mapping file each), vocabularies.

Configuration is data reviewed like code. This module only loads it and checks that it
is well formed, so that a typo in a mapping is reported before any file is read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

# Written by `synth` at the top of a raw folder it made; `prepare` carries it into every
# output so that nobody mistakes synthetic figures for real ones.
SYNTHETIC_MARKER = "SYNTHETIC.json"

FILE_OPTIONS = {"path", "format", "encoding", "delimiter", "decimal", "date_formats", "month_formats",
                "booleans", "header_row", "sheet", "columns", "units", "vocab"}


@dataclass(frozen=True)
class FileMapping:
    """How one canonical table is found in one landlord's exports."""

    table: str
    path: str                      # file name or glob, relative to the landlord's folder
    format: str                    # csv | xlsx
    columns: dict[str, str]        # canonical field -> header in the export
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    month_formats: tuple[str, ...] = ("%Y-%m",)
    booleans: dict[str, tuple[str, ...]] = field(default_factory=dict)
    header_row: int | str = 1      # 1-based row of the header, or "auto"
    sheet: str | int = 0
    units: dict[str, str] = field(default_factory=dict)
    vocab: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Neighbourhood:
    id: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Landlord:
    id: str
    name: str
    country: str
    language: str
    currency: str
    neighbourhoods: tuple[Neighbourhood, ...]
    files: dict[str, FileMapping]
    source: Path


@dataclass(frozen=True)
class Config:
    root: Path
    programme: dict[str, Any]
    vocabularies: dict[str, Any]
    landlords: dict[str, Landlord]

    @property
    def plausibility(self) -> dict[str, Any]:
        return self.programme["plausibility"]

    def period(self) -> tuple[date, date]:
        p = self.programme["programme"]["plausible_dates"]
        return p["earliest"], p["latest"]

    def digest(self) -> str:
        """Hash of every configuration file: part of the processed data's identity."""
        h = hashlib.sha256()
        for path in sorted(self.root.rglob("*.yml")):
            h.update(path.relative_to(self.root).as_posix().encode())
            h.update(path.read_bytes())
        return h.hexdigest()


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def load_landlord(path: Path) -> Landlord:
    data = _read_yaml(path)
    for key in ("id", "name", "country", "language", "neighbourhoods", "files"):
        if key not in data:
            raise ConfigError(f"{path}: missing key '{key}'")
    if data["id"] != path.stem:
        raise ConfigError(f"{path}: id '{data['id']}' must match the file name '{path.stem}'")
    defaults = data.get("defaults") or {}
    landlord_vocab = data.get("vocab") or {}
    files: dict[str, FileMapping] = {}
    for table, spec in (data["files"] or {}).items():
        spec = {**defaults, **(spec or {})}
        unknown = set(spec) - FILE_OPTIONS
        if unknown:
            raise ConfigError(f"{path}: files.{table} has unknown option(s) {sorted(unknown)}; "
                              f"known options are {sorted(FILE_OPTIONS)}")
        if "path" not in spec or "columns" not in spec:
            raise ConfigError(f"{path}: files.{table} needs 'path' and 'columns'")
        fmt = spec.get("format", "csv")
        if fmt not in ("csv", "xlsx"):
            raise ConfigError(f"{path}: files.{table}.format is '{fmt}'; expected csv or xlsx")
        vocab = {k: {c: _as_tuple(a) for c, a in v.items()} for k, v in landlord_vocab.items()}
        for k, v in (spec.get("vocab") or {}).items():
            vocab.setdefault(k, {}).update({c: _as_tuple(a) for c, a in v.items()})
        booleans = {str(k).lower(): _as_tuple(v) for k, v in (spec.get("booleans") or {}).items()}
        header_row = spec.get("header_row", 1)
        if header_row != "auto" and not (isinstance(header_row, int) and header_row >= 1):
            raise ConfigError(f"{path}: files.{table}.header_row must be a row number from 1 or 'auto'")
        files[table] = FileMapping(
            table=table, path=str(spec["path"]), format=fmt,
            columns={str(k): str(v) for k, v in spec["columns"].items()},
            encoding=spec.get("encoding", "utf-8"), delimiter=spec.get("delimiter", ","),
            decimal=spec.get("decimal", "."),
            date_formats=_as_tuple(spec.get("date_formats", ["%Y-%m-%d"])),
            month_formats=_as_tuple(spec.get("month_formats", ["%Y-%m"])),
            booleans=booleans, header_row=header_row, sheet=spec.get("sheet", 0),
            units=dict(spec.get("units") or {}), vocab=vocab,
        )
    hoods = tuple(Neighbourhood(str(n["id"]), str(n["name"]), _as_tuple(n.get("aliases")))
                  for n in data["neighbourhoods"])
    return Landlord(id=data["id"], name=data["name"], country=data["country"], language=data["language"],
                    currency=data.get("currency", "EUR"), neighbourhoods=hoods, files=files, source=path)


def load(config_dir: Path | str = "config", only: list[str] | None = None) -> Config:
    """Load the programme, vocabularies and the mapping of every listed landlord.

    Landlords are those named in programme.yml plus any extra mapping file found in
    config/landlords/: adding a landlord is adding its mapping and its folder.
    """
    root = Path(config_dir)
    if not root.is_dir():
        raise ConfigError(f"configuration folder {root} does not exist")
    programme = _read_yaml(root / "programme.yml")
    vocabularies = _read_yaml(root / "vocabularies.yml")
    listed = list(programme.get("landlords") or [])
    found = sorted(p.stem for p in (root / "landlords").glob("*.yml"))
    order = listed + [lid for lid in found if lid not in listed]
    landlords = {}
    for lid in order:
        if only and lid not in only:
            continue
        landlords[lid] = load_landlord(root / "landlords" / f"{lid}.yml")
    if only:
        missing = [lid for lid in only if lid not in landlords]
        if missing:
            raise ConfigError(f"unknown landlord(s) {missing}; known: {order}")
    return Config(root=root, programme=programme, vocabularies=vocabularies, landlords=landlords)
