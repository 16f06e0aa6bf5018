"""The mapping language: every mistake a new user makes in a mapping is one line naming
the file, the key path and what is allowed (exit 2, no traceback), what can be read one
way only is accepted in words, and docs/mapping.md is the schema's own reference."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from increase_eval import config as cfg, mapping
from increase_eval.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def conf(tmp_path):
    """A private copy of the repository's configuration, to break at will."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path / "config"


def edit(conf: Path, landlord: str, change) -> Path:
    path = conf / "landlords" / f"{landlord}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems(conf: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        cfg.load(conf)
    return exc.value.lines


def test_the_repositorys_mappings_are_valid():
    config = cfg.load(ROOT / "config")
    assert len(config.landlords) == 7
    assert {l.currency for l in config.landlords.values() if l.country == "FR"} == {"EUR"}
    assert {l.currency for l in config.landlords.values() if l.country == "UK"} == {"GBP"}


def test_the_reference_is_the_schemas_own():
    assert (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8") == mapping.reference(), \
        "docs/mapping.md is out of date: run .venv/bin/python -m increase_eval.mapping"


def test_the_reference_documents_every_key_and_field():
    doc = mapping.reference()
    for model in (mapping.Landlord, mapping.Cost, mapping.Neighbourhood, mapping.FileOptions):
        for key in model.model_fields:
            assert f"| `{key}` |" in doc, key
    for table, fields in mapping.FIELDS.items():
        assert f"### `{table}`" in doc
        for name in fields:
            assert f"| `{name}` |" in doc, (table, name)


def test_the_references_example_is_a_valid_mapping(config):
    data = yaml.safe_load(mapping.EXAMPLE)
    registry = {"FR-SHARED-01": cfg.Neighbourhood("FR-SHARED-01", "Shared place", (), shared=True)}
    checked = mapping.validate(data, Path("habitat_exemple.yml"), config.vocabularies["categories"], registry)
    assert checked["currency"] == "EUR" and checked["language"] == "fr"


@pytest.mark.parametrize("change, key, words", [
    (lambda d: d.update(curency="EUR"), "curency", ["unknown key", "did you mean 'currency'"]),
    (lambda d: d["files"]["participants"]["columns"].update(sexe="Civilité"), "files.participants.columns.sexe",
     ["unknown key", "did you mean 'sex'", "participant_ref"]),
    (lambda d: d.update(country="Germany"), "country", ["write UK (or GB) or FR"]),
    (lambda d: d["defaults"].update(encoding="utf-9"), "defaults.encoding", ["not an encoding", "cp1252"]),
    (lambda d: d["defaults"].update(decimal="virgula"), "defaults.decimal", ["not a decimal mark", "','"]),
    (lambda d: d["defaults"].update(delimiter=";;"), "defaults.delimiter", ["not one character", "tab"]),
    (lambda d: d["defaults"].update(date_formats=["dd/mm/yyyy hh:mm", "le jour"]), "defaults.date_formats",
     ["not a date format", "dd, mm, yyyy"]),
    (lambda d: d["defaults"].update(date_formats=["%d/%q/%Y"]), "defaults.date_formats", ["%q", "not a date"]),
    (lambda d: d["defaults"].update(date_formats=["mm/yyyy"]), "defaults.date_formats", ["no day"]),
    (lambda d: d["files"]["participants"].update(header_row=0), "files.participants.header_row", ["0"]),
    (lambda d: d["files"].update(sesions=d["files"].pop("sessions")), "files.sesions",
     ["unknown table", "did you mean 'sessions'"]),
    (lambda d: d["files"].pop("participants"), "files.participants", ["participant register"]),
    (lambda d: d["files"]["sessions"]["columns"].pop("session_date"), "files.sessions.columns.session_date",
     ["missing", "session_date"]),
    (lambda d: d.update(currency="GBP"), "currency", ["does not fit country FR", "EUR"]),
    (lambda d: d.update(cost={"total": 100, "erdf": 200, "source": "x"}), "cost", ["more than total"]),
    (lambda d: d.update(cost={"total": 100, "source": "x", "currency": "GBP"}), "cost.currency",
     ["not the landlord's currency"]),
    (lambda d: d["vocab"].update(sexx={"F": ["a"]}), "vocab.sexx", ["unknown vocabulary", "did you mean 'sex'"]),
    (lambda d: d["vocab"]["sex"].update(W=["a"]), "vocab.sex.W", ["not a sex category", "F, M"]),
    (lambda d: d["vocab"].update(single_parent={"true": ["Parent isolé"]}), "vocab.single_parent",
     ["both true: and false:"]),
    (lambda d: d["files"]["participants"].update(blank_is_false=["sex"]), "files.participants.blank_is_false.0",
     ["not a yes/no field"]),
    (lambda d: d["files"]["participants"].update(skip_rows=["[Total"]), "files.participants.skip_rows",
     ["not a regular expression"]),
    (lambda d: d["files"]["participants"].update(path="../elsewhere.xlsx"), "files.participants.path",
     ["outside the landlord's folder"]),
    (lambda d: d["neighbourhoods"].append(dict(d["neighbourhoods"][0])), "neighbourhoods.6.id", ["listed twice"]),
    (lambda d: d.update(id="pdch"), "id", ["file's name"]),
])
def test_a_mapping_mistake_is_one_line_naming_file_key_and_what_is_allowed(conf, change, key, words):
    path = edit(conf, "pas_de_calais_habitat", change)
    lines = problems(conf)
    mine = [l for l in lines if l.startswith(f"{path}: {key}:")]
    assert len(mine) == 1, lines
    for w in words:
        assert w in mine[0], mine[0]
    assert all(len(l) < 600 for l in lines)


def test_a_wrong_default_is_reported_once_not_once_per_file(conf):
    edit(conf, "neotoa", lambda d: d["defaults"].update(encoding="utf-9"))
    lines = problems(conf)
    assert len([l for l in lines if "utf-9" in l]) == 1


def test_every_problem_of_every_mapping_is_reported_together(conf):
    edit(conf, "neotoa", lambda d: d.update(curency="EUR"))
    edit(conf, "abri", lambda d: d["files"]["sessions"]["columns"].update(sexe="x"))
    lines = problems(conf)
    assert any("neotoa.yml: curency" in l for l in lines) and any("abri.yml: files.sessions.columns.sexe" in l
                                                                  for l in lines)


def test_words_that_can_be_read_one_way_only_are_accepted(conf):
    def change(d):
        d["country"] = "GB" if d["country"] == "UK" else d["country"]
        d["defaults"].update(encoding="utf8-bom", delimiter="\\t", decimal="comma", date_formats=["dd/mm/yyyy"])
    edit(conf, "southern_housing", change)
    landlord = cfg.load(conf).landlords["southern_housing"]
    f = landlord.files["sessions"]
    assert (landlord.country, landlord.currency, landlord.language) == ("UK", "GBP", "en")
    assert (f.encoding, f.delimiter, f.decimal, f.date_formats) == ("utf-8-sig", "\t", ",", ("%d/%m/%Y",))


def test_human_date_notation_is_translated_or_explained():
    assert mapping.date_format("dd/mm/yyyy") == "%d/%m/%Y"
    assert mapping.date_format("jj/mm/aaaa") == "%d/%m/%Y"
    assert mapping.date_format("yyyymmdd") == "%Y%m%d"
    assert mapping.date_format("dd-mmm-yy") == "%d-%b-%y"
    assert mapping.date_format("mm/yyyy", month=True) == "%m/%Y"
    assert mapping.date_format("%d.%m.%Y") == "%d.%m.%Y"
    for bad in ("dd/mm", "dd/qq/yyyy", "%d/%m/%Q", "hello"):
        with pytest.raises(ValueError):
            mapping.date_format(bad)


def test_a_key_given_twice_is_an_error_not_a_silent_replacement(conf):
    path = conf / "landlords" / "abri.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\nname: Abri again\n", encoding="utf-8")
    (line,) = [l for l in problems(conf) if "abri.yml" in l]
    assert "given twice" in line and "'name'" in line


def test_a_neighbourhood_id_of_another_mapping_is_explained_in_one_line(conf):
    other = yaml.safe_load((conf / "landlords" / "neotoa.yml").read_text(encoding="utf-8"))
    edit(conf, "logirep", lambda d: d.update(neighbourhoods=other["neighbourhoods"]))
    lines = problems(conf)
    assert len(lines) == len(other["neighbourhoods"])
    assert all("also used by" in l and "neighbourhoods.yml" in l and len(l) < 500 for l in lines)


def test_a_shared_place_of_the_registry_may_be_listed_by_two_landlords(conf):
    (conf / "neighbourhoods.yml").write_text(
        "neighbourhoods:\n  - {id: FR-SH-01, name: Centre-ville, country: FR, aliases: [Centre]}\n", encoding="utf-8")
    for lid in ("neotoa", "logirep"):
        edit(conf, lid, lambda d: d["neighbourhoods"].append({"id": "FR-SH-01", "aliases": ["Hyper centre"]}))
    config = cfg.load(conf)
    shared = [n for l in ("neotoa", "logirep") for n in config.landlords[l].neighbourhoods if n.id == "FR-SH-01"]
    assert len(shared) == 2 and all(n.shared and n.name == "Centre-ville" for n in shared)
    assert set(shared[0].aliases) == {"Centre", "Hyper centre"}


def test_the_command_line_prints_each_problem_and_exits_2_without_traceback(conf, tmp_path):
    edit(conf, "pas_de_calais_habitat", lambda d: d.update(curency="EUR", country="DE"))
    proc = subprocess.run([sys.executable, "-m", "increase_eval.cli", "prepare", "--config", str(conf), "--raw",
                           str(tmp_path), "--processed", str(tmp_path / "p")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and all(re.match(r"error: .*pas_de_calais_habitat\.yml: (curency|country): ", l)
                                   for l in lines), lines


def test_cost_lives_in_the_mapping_with_its_own_contribution(conf):
    edit(conf, "neotoa", lambda d: d.update(cost={"total": 1000000, "erdf": 690000, "source": "budget"}))
    cost = cfg.load(conf).landlords["neotoa"].cost
    assert (cost.total, cost.erdf, cost.own, cost.currency) == (1000000, 690000, 310000, "EUR")
