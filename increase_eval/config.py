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

from . import mapping
from .errors import ConfigError

# Written by `synth` at the top of a raw folder it made; `prepare` carries it into every
# output so that nobody mistakes synthetic figures for real ones.
SYNTHETIC_MARKER = "SYNTHETIC.json"

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
    sheet: str | int | None = None  # None: the first visible sheet
    units: dict[str, str] = field(default_factory=dict)
    vocab: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    skip_rows: tuple[str, ...] = ()          # regexes: rows that are not records (totals, notes)
    blank_is_false: tuple[str, ...] = ()     # yes/no fields whose blank cell means no


@dataclass(frozen=True)
class Neighbourhood:
    id: str
    name: str
    aliases: tuple[str, ...]
    shared: bool = False           # from config/neighbourhoods.yml: a place several landlords serve


@dataclass(frozen=True)
class Cost:
    """What the programme cost one landlord, in its own currency."""

    total: float
    erdf: float | None
    currency: str
    source: str
    assumption: bool = False
    price_year: int | None = None

    @property
    def own(self) -> float | None:
        """The landlord's own contribution (match funding), when the ERDF part is known."""
        return None if self.erdf is None else self.total - self.erdf


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
    cost: Cost | None = None


@dataclass(frozen=True)
class Config:
    root: Path
    programme: dict[str, Any]
    vocabularies: dict[str, Any]
    landlords: dict[str, Landlord]
    neighbourhood_registry: dict[str, Neighbourhood] = field(default_factory=dict)

    @property
    def plausibility(self) -> dict[str, Any]:
        return self.programme["plausibility"]

    def period(self) -> tuple[date, date]:
        p = self.programme["programme"]["plausible_dates"]
        return p["earliest"], p["latest"]

    def digest(self) -> str:
        """Hash of every configuration file (mappings, values, strings, evidence registers,
        commentaries): part of the processed data's and of each report's identity."""
        h = hashlib.sha256()
        for path in sorted(p for p in self.root.rglob("*") if p.suffix in (".yml", ".md") and p.is_file()):
            h.update(path.relative_to(self.root).as_posix().encode())
            h.update(path.read_bytes())
        return h.hexdigest()


class _UniqueKeys(yaml.SafeLoader):
    """YAML whose mappings may not repeat a key: PyYAML keeps the last silently, so a
    second `questionnaires:` entry would quietly replace the first."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is given twice (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); the second would silently replace the first",
                    key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} is missing")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)  # noqa: S506 (a SafeLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def load_landlord(path: Path, categories: dict[str, dict] | None = None,
                  registry: dict[str, Neighbourhood] | None = None) -> Landlord:
    """One landlord's mapping, checked against the mapping language (increase_eval.mapping):
    every problem is reported, one line each, as a ConfigError."""
    registry = registry or {}
    try:
        checked = mapping.validate(_read_yaml(path), path, categories or {}, registry)
    except mapping.MappingProblems as exc:
        raise ConfigError(*exc.lines) from None
    m = checked["landlord"]
    vocab = {k: {c: tuple(a) for c, a in v.items()} for k, v in m.vocab.items()}
    files: dict[str, FileMapping] = {}
    for table, f in checked["files"].items():
        merged = {k: {c: tuple(a) for c, a in v.items()} for k, v in vocab.items()}
        for k, v in f.vocab.items():
            merged.setdefault(k, {}).update({c: tuple(a) for c, a in v.items()})
        fmt = f.format or ("xlsx" if f.path.lower().endswith((".xlsx", ".xlsm")) else "csv")
        files[table] = FileMapping(
            table=table, path=f.path, format=fmt,
            columns={k: v for k, v in f.columns.model_dump().items() if v is not None},
            encoding=f.encoding, delimiter=f.delimiter, decimal=f.decimal,
            date_formats=tuple(f.date_formats), month_formats=tuple(f.month_formats),
            booleans={k: tuple(v) for k, v in f.booleans.items()}, header_row=f.header_row, sheet=f.sheet,
            units=dict(f.units), vocab=merged, skip_rows=tuple(f.skip_rows), blank_is_false=tuple(f.blank_is_false))
    hoods = []
    for n in m.neighbourhoods:
        shared = registry.get(n.id)
        if shared is not None:
            aliases = tuple(dict.fromkeys((*shared.aliases, *n.aliases)))
            hoods.append(Neighbourhood(n.id, n.name or shared.name, aliases, shared=True))
        else:
            hoods.append(Neighbourhood(n.id, n.name, tuple(n.aliases)))
    cost = None
    if m.cost is not None:
        cost = Cost(total=m.cost.total, erdf=m.cost.erdf, currency=checked["currency"], source=m.cost.source,
                    assumption=m.cost.assumption, price_year=m.cost.price_year)
    return Landlord(id=m.id, name=m.name, country=m.country, language=checked["language"],
                    currency=checked["currency"], neighbourhoods=tuple(hoods), files=files, source=path, cost=cost)


REGISTRY = "neighbourhoods.yml"


def load_registry(root: Path) -> tuple[dict[str, Neighbourhood], dict[str, str]]:
    """config/neighbourhoods.yml (optional): places several landlords serve, named once for
    the programme. Returns the neighbourhoods by id and the country of each."""
    path = root / REGISTRY
    if not path.is_file():
        return {}, {}
    data = _read_yaml(path)
    out: dict[str, Neighbourhood] = {}
    countries: dict[str, str] = {}
    problems = []
    for i, n in enumerate(data.get("neighbourhoods") or []):
        missing = [k for k in ("id", "name", "country") if not isinstance(n, dict) or not n.get(k)]
        if missing:
            problems.append(f"{path}: neighbourhoods.{i}: missing {', '.join(missing)} (each entry needs id, name, "
                            "country and, optionally, aliases and source)")
            continue
        nid = str(n["id"]).strip()
        if nid in out:
            problems.append(f"{path}: neighbourhoods.{i}.id: '{nid}' is listed twice")
        country = mapping.COUNTRY_WORDS.get(mapping._squash(n["country"]))
        if country is None:
            problems.append(f"{path}: neighbourhoods.{i}.country: '{n['country']}' is not UK or FR")
        aliases = n.get("aliases") or []
        out[nid] = Neighbourhood(nid, str(n["name"]), tuple(str(a) for a in (aliases if isinstance(aliases, list)
                                                                            else [aliases])), shared=True)
        countries[nid] = country or ""
    if problems:
        raise ConfigError(*problems)
    return out, countries


def load(config_dir: Path | str = "config", only: list[str] | None = None) -> Config:
    """Load the programme, vocabularies and the mapping of every listed landlord.

    Landlords are those named in programme.yml plus any extra mapping file found in
    config/landlords/: adding a landlord is adding its mapping and its folder. Every
    mapping is checked; all their problems are reported together.
    """
    root = Path(config_dir)
    if not root.is_dir():
        raise ConfigError(f"configuration folder {root} does not exist")
    programme = _read_yaml(root / "programme.yml")
    vocabularies = _read_yaml(root / "vocabularies.yml")
    registry, countries = load_registry(root)
    listed = list(programme.get("landlords") or [])
    # <id>.yml is a mapping; <id>.evidence.yml and the like, beside it, are not
    found = sorted(p.stem for p in (root / "landlords").glob("*.yml") if "." not in p.stem)
    order = listed + [lid for lid in found if lid not in listed]
    landlords, problems = {}, []
    for lid in order:
        if only and lid not in only:
            continue
        try:
            landlords[lid] = load_landlord(root / "landlords" / f"{lid}.yml", vocabularies.get("categories") or {},
                                           registry)
        except ConfigError as exc:
            problems += exc.lines
    if only:
        missing = [lid for lid in only if lid not in order]
        if missing:
            problems.append(f"unknown landlord(s) {missing}; known: {order}")
    # one id, one place: an id two mappings use must be a shared place of the registry
    owner: dict[str, str] = {}
    for l in landlords.values():
        for n in l.neighbourhoods:
            if n.shared and countries.get(n.id) != l.country:
                problems.append(f"{l.source}: neighbourhoods: '{n.id}' is in {countries.get(n.id)} according to "
                                f"{root / REGISTRY}, and {l.name} is in {l.country}")
            if n.id in owner and not n.shared:
                problems.append(f"{l.source}: neighbourhoods: '{n.id}' is also used by "
                                f"{landlords[owner[n.id]].source}; move it to {root / REGISTRY} (a place several "
                                "landlords serve: id, name, country, aliases) and give only its id in both mappings")
            owner.setdefault(n.id, l.id)
    if problems:
        raise ConfigError(*problems)
    return Config(root=root, programme=programme, vocabularies=vocabularies, landlords=landlords,
                  neighbourhood_registry=registry)
