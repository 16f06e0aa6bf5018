"""Configuration: programme, landlords (one mapping file each), vocabularies.

Configuration is data reviewed like code. This module only loads it and checks that it
is well formed, so that a typo in a mapping is reported before any file is read.
"""

from __future__ import annotations

import hashlib
import re
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
                "booleans", "header_row", "sheet", "columns", "units", "vocab", "skip_rows", "blank_is_false"}
# Optional programme-level list of places shared by several landlords (see load()).
NEIGHBOURHOOD_REGISTRY = "neighbourhoods.yml"
DURATION_UNITS = ("minutes", "hours")


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
    # vocabulary name -> canonical value -> spellings; for a yes/no field, field name ->
    # "true"/"false" -> the words of a category column that mean yes and no
    vocab: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # regular expressions: a row whose first non-blank cell fully matches one (any case)
    # is a totals or notes row, not a record
    skip_rows: tuple[str, ...] = ()
    # yes/no fields whose blank cells mean "no" (a column ticked X when true)
    blank_is_false: tuple[str, ...] = ()


@dataclass(frozen=True)
class Neighbourhood:
    id: str
    name: str
    aliases: tuple[str, ...]
    shared: bool = False           # from config/neighbourhoods.yml: may be used by several landlords


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
    neighbourhood_registry: dict[str, Neighbourhood] = field(default_factory=dict)

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


def _vocab_entry(value: Any) -> dict[str, tuple[str, ...]]:
    # YAML reads an unquoted `true:`/`yes:` key as a boolean: a yes/no field's words
    return {("true" if c is True else "false" if c is False else str(c)): _as_tuple(a)
            for c, a in (value or {}).items()}


def _check_file_options(path: Path, table: str, spec: dict[str, Any], vocab: dict) -> None:
    """What the mapping language says a file option may hold (skip_rows, blank_is_false,
    units, yes/no vocabularies, the two shapes of business follow-up)."""
    from .normalise import fold
    from .schema import FIELDS, HORIZONS   # schema imports this module: import when called

    fields = FIELDS.get(table, {})
    booleans = sorted(n for n, f in fields.items() if f.kind == "bool")
    for pattern in _as_tuple(spec.get("skip_rows")):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{path}: files.{table}.skip_rows: '{pattern}' is not a valid regular "
                              f"expression ({exc})") from None
    for name in _as_tuple(spec.get("blank_is_false")):
        if name not in booleans:
            raise ConfigError(f"{path}: files.{table}.blank_is_false names '{name}', which is not a yes/no field "
                              f"of {table} (yes/no fields: {', '.join(booleans) or 'none'})")
    for key, unit in (spec.get("units") or {}).items():
        if key != "duration" or unit not in DURATION_UNITS:
            raise ConfigError(f"{path}: files.{table}.units.{key} is '{unit}'; expected units: "
                              f"{{duration: minutes}} or {{duration: hours}}")
    for name, words in vocab.items():
        if name not in booleans:
            continue
        if not set(words) <= {"true", "false"}:
            raise ConfigError(f"{path}: vocab.{name} is a yes/no field: expected the keys \"true\" and "
                              f"\"false\" (the words meaning yes and no), found {sorted(words)}")
        both = {fold(w) for w in words.get("true", ())} & {fold(w) for w in words.get("false", ())}
        if both:
            raise ConfigError(f"{path}: vocab.{name} lists {sorted(both)} as both true and false")
    if table == "business_checks":
        columns = set(spec["columns"])
        dated = {"check_date", "trading"} & columns
        if dated == {"check_date", "trading"} or (not dated and columns & set(HORIZONS)):
            return
        raise ConfigError(f"{path}: files.business_checks.columns must map both check_date and trading, or at "
                          f"least one of {', '.join(HORIZONS)} (found {', '.join(sorted(dated)) or 'neither'})")


def _neighbourhoods(path: Path, entries: Any, registry: dict[str, Neighbourhood]) -> tuple[Neighbourhood, ...]:
    """A landlord's neighbourhoods; `{id: X}` with X in the registry takes its name and
    aliases from there (the landlord's own aliases are added)."""
    from .normalise import fold

    out: list[Neighbourhood] = []
    for n in entries or []:
        if not isinstance(n, dict) or "id" not in n:
            raise ConfigError(f"{path}: each neighbourhoods entry needs an id")
        nid, own = str(n["id"]), _as_tuple(n.get("aliases"))
        if nid in registry:
            base = registry[nid]
            if "name" in n and str(n["name"]) != base.name:
                raise ConfigError(f"{path}: neighbourhood {nid} is in config/{NEIGHBOURHOOD_REGISTRY} as "
                                  f"'{base.name}'; its name comes from there (give only id and aliases)")
            out.append(Neighbourhood(nid, base.name, tuple(dict.fromkeys(base.aliases + own)), shared=True))
        elif "name" not in n:
            raise ConfigError(f"{path}: neighbourhood {nid} needs a name (or an entry in "
                              f"config/{NEIGHBOURHOOD_REGISTRY})")
        else:
            out.append(Neighbourhood(nid, str(n["name"]), own))
    spelled: dict[str, str] = {}
    for h in out:   # one spelling naming two places would be a guess
        for s in (h.id, h.name, *h.aliases):
            other = spelled.setdefault(fold(s), h.id)
            if other != h.id:
                raise ConfigError(f"{path}: '{s}' names two neighbourhoods ({other} and {h.id}); "
                                  f"expected each name and alias to name one")
    return tuple(out)


def load_landlord(path: Path, registry: dict[str, Neighbourhood] | None = None) -> Landlord:
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
        vocab = {k: _vocab_entry(v) for k, v in landlord_vocab.items()}
        for k, v in (spec.get("vocab") or {}).items():
            vocab.setdefault(k, {}).update(_vocab_entry(v))
        _check_file_options(path, table, spec, vocab)
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
            skip_rows=_as_tuple(spec.get("skip_rows")), blank_is_false=_as_tuple(spec.get("blank_is_false")),
        )
    hoods = _neighbourhoods(path, data["neighbourhoods"], registry or {})
    return Landlord(id=data["id"], name=data["name"], country=data["country"], language=data["language"],
                    currency=data.get("currency", "EUR"), neighbourhoods=hoods, files=files, source=path)


def load_registry(root: Path) -> tuple[dict[str, Neighbourhood], dict[str, str]]:
    """config/neighbourhoods.yml, when there is one: places several landlords work in,
    named once. Returns the neighbourhoods by id and their countries."""
    path = root / NEIGHBOURHOOD_REGISTRY
    if not path.is_file():
        return {}, {}
    registry: dict[str, Neighbourhood] = {}
    countries: dict[str, str] = {}
    for n in _read_yaml(path).get("neighbourhoods") or []:
        missing = [k for k in ("id", "name", "country") if not isinstance(n, dict) or k not in n]
        if missing:
            raise ConfigError(f"{path}: each entry needs id, name and country (missing {', '.join(missing)})")
        nid = str(n["id"])
        if nid in registry:
            raise ConfigError(f"{path}: neighbourhood {nid} is listed twice")
        registry[nid] = Neighbourhood(nid, str(n["name"]), _as_tuple(n.get("aliases")), shared=True)
        countries[nid] = str(n["country"])
    return registry, countries


def _check_shared(landlords: dict[str, Landlord], countries: dict[str, str]) -> None:
    """The same neighbourhood id in two mappings is one place only through the registry."""
    seen: dict[str, Landlord] = {}
    for l in landlords.values():
        for h in l.neighbourhoods:
            if h.shared and countries.get(h.id) != l.country:
                raise ConfigError(f"{l.source}: neighbourhood {h.id} is in {countries.get(h.id)} (config/"
                                  f"{NEIGHBOURHOOD_REGISTRY}); {l.name} is in {l.country}")
            first = seen.setdefault(h.id, l)
            if first is not l and not h.shared:
                raise ConfigError(f"neighbourhood id {h.id} is used by {first.source} and {l.source}; an id "
                                  f"two landlords share must be one place: move it to config/"
                                  f"{NEIGHBOURHOOD_REGISTRY} (id, name, country, aliases) and give only its "
                                  f"id in both mappings, or give each its own id")


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
    registry, countries = load_registry(root)
    landlords = {}
    for lid in order:
        if only and lid not in only:
            continue
        landlords[lid] = load_landlord(root / "landlords" / f"{lid}.yml", registry)
    if only:
        missing = [lid for lid in only if lid not in landlords]
        if missing:
            raise ConfigError(f"unknown landlord(s) {missing}; known: {order}")
    _check_shared(landlords, countries)
    return Config(root=root, programme=programme, vocabularies=vocabularies, landlords=landlords,
                  neighbourhood_registry=registry)
