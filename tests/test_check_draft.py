"""check and draft: the dry run says, per file and column, what parses and what does not
(shapes, never values; exit 0/1/2), and the draft of a landlord's mapping, once its
TODOs are filled, reads that landlord as its real mapping does; neither prints nor
writes personal data, and the draft never picks one of two readings of a date."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from increase_eval import check, cli, config as cfg, draft, normalise, prepare, readers, schema

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "increase_eval.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


@pytest.fixture
def conf(tmp_path) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path / "config"


def edit(conf: Path, landlord: str, change) -> None:
    path = conf / "landlords" / f"{landlord}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def personal_values(raw: Path, config, landlords=None) -> set[str]:
    """Names, e-mails, phones, addresses, tenancy references and birth dates (in two
    spellings) of the raw exports, as long as they cannot occur by chance."""
    found: set[str] = set()
    for landlord in config.landlords.values():
        if landlords and landlord.id not in landlords:
            continue
        for table, mapping in landlord.files.items():
            ids = schema.identifiers(table)
            load = ids | schema.required_fields(table)
            for src in readers.open_sources(landlord.id, raw / landlord.id, mapping, load):
                frame, _ = readers.read(src, set())
                for col in ids & set(frame.columns):
                    values = frame[col].dropna()
                    if col in ("birth_date", "lead_birth_date"):
                        parsed, _ = normalise.dates(values, mapping.date_formats, normalise.Tokens())
                        found |= {d.strftime(f) for d in parsed.dropna() for f in ("%d/%m/%Y", "%Y-%m-%d")}
                    else:
                        found |= {v.strip() for v in values if len(v.strip()) >= 5}
    config_text = "\n".join(p.read_text(encoding="utf-8") for p in config.root.rglob("*.yml"))
    return {v for v in found if re.search(r"[g-zG-Z@\s/\-]", v) and v not in config_text}


# reasons prepare gives for linking records, which a dry run of one file cannot know
LINKING = ("required value missing|no participant with this reference|register row was rejected|already used for "
           "another person|not in the landlord's tenancies|without a business creation|no follow-up value")


def tree(folder: Path) -> dict[str, float]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


# --- check ------------------------------------------------------------------------------------------

def test_check_reads_every_mapped_column_of_the_synthetic_exports(prepared, config, capsys, tmp_path):
    before = tree(prepared.raw)
    code = cli.main(["check", "--raw", str(prepared.raw), "--config", str(ROOT / "config"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["exit_code"] == 0
    assert tree(prepared.raw) == before, "check wrote into the raw folder"
    landlords = {r["id"]: r for r in report["landlords"]}
    assert set(landlords) == set(config.landlords)
    for lid, landlord in config.landlords.items():
        r = landlords[lid]
        assert r["ok"] and not r["problems"], r["verdict"]
        files = {f["table"]: f for f in r["files"]}
        assert set(files) == set(landlord.files)
        for table, mapping in landlord.files.items():
            columns = {c["field"]: c for c in files[table]["columns"]}
            assert set(columns) == set(mapping.columns), (lid, table)
            assert files[table]["unread"] == []
            for name, c in columns.items():
                assert c["header"] == mapping.columns[name]
                if c["status"] == "not read":
                    assert schema.FIELDS[table][name].kind == "ignored" or table == "rent_accounts"
                    continue
                assert c["status"] in ("ok", "rejects"), (lid, table, name, c)
                if c["parsed"] < c["filled"]:   # each failing value is shown by its shape and reason
                    assert c["failing"] and all(f["shape"] and f["reason"] for f in c["failing"])
                    assert sum(f["count"] for f in c["failing"]) >= c["filled"] - c["parsed"]
                else:
                    assert c["share_parsed"] in (1.0, None)
    # every value prepare set aside for what it is (not for linking) is in check's report, with the same count
    rejects = pd.read_parquet(prepared.processed / "rejects.parquet")
    rejects = rejects[~rejects["reason"].str.contains(LINKING)]
    want = rejects.groupby(["landlord", "file", "column", "reason"]).size().to_dict()
    got: dict = {}
    for r in report["landlords"]:
        for f in r["files"]:
            for c in f["columns"]:
                for x in c["failing"]:
                    key = (r["id"], f["file"], c["header"], x["reason"])
                    got[key] = got.get(key, 0) + x["count"]
    assert want and got == want
    # the large rent panels are sampled, and say so
    assert all(f["rows"] <= 50_000 for r in report["landlords"] for f in r["files"])


def test_check_prints_an_aligned_table_and_a_verdict_per_landlord(prepared):
    out = run_cli("check", "--raw", str(prepared.raw), "--landlord", "neotoa", "southern_housing", "--rows", "2000")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Traceback" not in text + out.stderr
    assert "participants: NEOTOA_PARTICIPANTS.csv" in text
    assert "participants: INCREASE_participant_register.xlsx" in text
    assert re.search(r"IDENTIFIANT\s+participant_ref\s+reference\s+[\d,]+\s+100%\s+ok", text)
    assert "the first 2,000 rows only" in text        # a file larger than --rows is sampled, and it says so
    assert re.search(r"Neotoa \(neotoa\): OK - every mapped column", text)
    assert re.search(r"Southern Housing \(southern_housing\): OK", text)
    assert "Nothing was written." in text
    # the table's columns line up: every row of a file's table starts its 'field' column at one place
    block = text.split("participants: NEOTOA_PARTICIPANTS.csv", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    starts = {line.index(" participant_ref") if "participant_ref" in line else None for line in block[:3]}
    assert len(starts - {None}) == 1


def test_check_shows_the_failing_shape_of_a_wrong_date_format(copy_of, conf):
    raw, _ = copy_of
    edit(conf, "neotoa", lambda d: d["defaults"].update(date_formats=["yyyy-mm-dd"]))
    out = run_cli("check", "--raw", str(raw), "--config", str(conf), "--landlord", "neotoa")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    line = next(l for l in out.stdout.splitlines() if l.strip().startswith("DATE INSCRIPTION"))
    assert "FAILS" in line and "99/99/9999 x" in line and "not a date (expected yyyy-mm-dd)" in line
    assert "these values read as dd/mm/yyyy: add it to date_formats" in out.stdout
    assert "Neotoa (neotoa): FAILS" in out.stdout


def test_check_says_what_a_file_level_problem_is_in_one_line(copy_of, conf):
    raw, _ = copy_of
    edit(conf, "neotoa", lambda d: d["files"]["sessions"].update(delimiter=","))
    (raw / "neotoa" / "NEOTOA_SORTIES.csv").rename(raw / "neotoa" / "sorties.csv")
    out = run_cli("check", "--raw", str(raw), "--config", str(conf), "--landlord", "neotoa", "abri")
    assert out.returncode == 1
    errors = [l for l in out.stdout.splitlines() if l.strip().startswith("error:")]
    assert len(errors) == 2, out.stdout
    assert any("NEOTOA_SEANCES.csv" in e and "not separated by ','" in e for e in errors)
    assert any("NEOTOA_SORTIES.csv: file not found" in e for e in errors)
    assert "Neotoa (neotoa): CANNOT READ" in out.stdout and "Abri (abri): OK" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_check_exits_2_on_a_configuration_error(prepared, conf):
    edit(conf, "neotoa", lambda d: d.update(curency="EUR"))
    out = run_cli("check", "--raw", str(prepared.raw), "--config", str(conf))
    assert out.returncode == 2 and "curency: unknown key" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("check", "--raw", str(prepared.raw), "--landlord", "nobody")
    assert out.returncode == 2 and "unknown landlord" in out.stderr


def test_check_prints_no_personal_data(prepared, config, copy_of, conf):
    raw, _ = copy_of
    # a mapping gone wrong: names read as birth dates, birth dates as entry dates
    edit(conf, "abri", lambda d: d["files"]["participants"]["columns"].update(birth_date="Forename",
                                                                             entry_date="DateOfBirth"))
    outputs = [run_cli("check", "--raw", str(prepared.raw)), run_cli("check", "--raw", str(prepared.raw), "--json"),
               run_cli("check", "--raw", str(raw), "--config", str(conf), "--landlord", "abri")]
    assert outputs[2].returncode == 1
    text = "\n".join(o.stdout + o.stderr for o in outputs)
    assert "<withheld>" in outputs[2].stdout          # an identifier's failing value with letters: not even its shape
    leaked = [v for v in personal_values(prepared.raw, config) if v in text]
    assert not leaked, leaked[:5]


def test_check_flags_a_column_whose_dates_read_both_ways(tmp_path, config):
    from increase_eval.config import FileMapping

    mapping = FileMapping("sessions", "s.csv", "csv", {"participant_ref": "ref", "session_date": "date",
                                                       "duration": "min"}, date_formats=("%d/%m/%Y",))
    landlord = next(iter(config.landlords.values()))
    frame = "ref,date,min\n" + "".join(f"R{i},{i % 12 + 1:02d}/0{i % 9 + 1}/2021,60\n" for i in range(20))
    (tmp_path / "s.csv").write_text(frame, encoding="utf-8")
    [src] = readers.open_sources("x", tmp_path, mapping, schema.loaded_fields("sessions"))
    report = check.check_file(src, landlord, config, check._tokens(config), 100, 0.01, set())
    col = next(c for c in report.columns if c.field == "session_date")
    assert col.status == "ok" and any("also reads as mm/dd/yyyy" in n for n in col.notes)


# --- draft ------------------------------------------------------------------------------------------

def _effective(real: dict, table: str, key: str):
    f = real["files"].get(table, {})
    return f.get(key, (real.get("defaults") or {}).get(key))


def fill_todos(drafted: dict, real: dict, todos: list[draft.Todo]) -> dict:
    """What a person would write at each TODO, taken from the real mapping; nothing else changes."""
    d = copy.deepcopy(drafted)
    for t in todos:
        w = t.where
        if w[0] in ("name", "country", "cost", "neighbourhoods"):
            d[w[0]] = real[w[0]]
        elif w[0] == "vocab":
            d.setdefault("vocab", {})
            if w[1] in (real.get("vocab") or {}):
                d["vocab"][w[1]] = real["vocab"][w[1]]
            else:
                d["vocab"].pop(w[1], None)
        elif w[0] == "defaults":
            d.setdefault("defaults", {})[w[1]] = real["defaults"][w[1]]
        elif w[0] == "files" and len(w) == 3 and w[2] == "columns":
            columns = d["files"][w[1]]["columns"]
            for name, header in real["files"][w[1]]["columns"].items():
                columns.setdefault(name, header)
        elif w[0] == "files" and len(w) == 3:
            d["files"][w[1]][w[2]] = _effective(real, w[1], w[2])
        elif w[0] == "files" and len(w) == 4:
            d["files"][w[1]]["columns"][w[3]] = real["files"][w[1]]["columns"][w[3]]
    return d


def prepare_alone(raw: Path, landlord: str, conf: Path, work: Path, secret: Path) -> dict:
    """prepare with only this landlord's folder: kept, rejected, merged per table and file."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "raw").mkdir(parents=True)
    shutil.copytree(raw / landlord, work / "raw" / landlord)
    out = prepare.run(work / "raw", work / "processed", cfg.load(conf), secret=secret, say=lambda m: None,
                      workers=1)
    assert not out.errors, out.errors
    return {(a.table, a.file): (a.rows_in, a.kept, a.rejected, a.merged) for a in out.accounts}


@pytest.mark.parametrize("landlord", ["neotoa", "southern_housing"])
def test_a_drafted_mapping_reads_the_landlord_as_its_real_mapping(landlord, prepared, config, conf, tmp_path):
    real = yaml.safe_load((conf / "landlords" / f"{landlord}.yml").read_text(encoding="utf-8"))
    want = prepare_alone(prepared.raw, landlord, conf, tmp_path / "real", prepared.secret)

    out = run_cli("draft", landlord, str(prepared.raw / landlord), "--config", str(conf), "--force")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "The mapping schema accepts it." in out.stdout
    text = (conf / "landlords" / f"{landlord}.yml").read_text(encoding="utf-8")
    leaked = [v for v in personal_values(prepared.raw, config, {landlord}) if v in text or v in out.stdout]
    assert not leaked, leaked[:5]

    result = draft.draft(landlord, prepared.raw / landlord, conf, force=True)
    assert result.problems == [] and result.text == text
    drafted = yaml.safe_load(result.text)
    # the sniffing is right without help: every file, table, format and header
    assert {t: f["path"] for t, f in drafted["files"].items()} == {t: f["path"] for t, f in real["files"].items()}
    for key in ("encoding", "delimiter", "decimal"):
        assert drafted["defaults"][key] == real["defaults"][key], key
    todo_columns = {(t.where[1], t.where[3]) for t in result.todos if t.where[0] == "files" and len(t.where) == 4}
    for table, f in real["files"].items():
        for name, header in f["columns"].items():
            if (table, name) not in todo_columns:
                assert drafted["files"][table]["columns"].get(name) == header, (table, name)

    filled = fill_todos(drafted, real, result.todos)
    (conf / "landlords" / f"{landlord}.yml").write_text(yaml.safe_dump(filled, allow_unicode=True, sort_keys=False),
                                                        encoding="utf-8")
    got = prepare_alone(prepared.raw, landlord, conf, tmp_path / "draft", prepared.secret)
    assert got == want


def test_draft_writes_both_readings_of_ambiguous_dates_and_picks_none(tmp_path, conf):
    folder = tmp_path / "nouveau"
    folder.mkdir()
    # every day is 12 or less: dd/mm/yyyy and mm/dd/yyyy both fit the register's dates
    rows = [f"B{i:04d};Nom{i};Prénom{i};{i % 12 + 1:02d}/{i % 7 + 1:02d}/19{60 + i % 30};Quartier {'ABC'[i % 3]};"
            f"{i % 11 + 1:02d}/{i % 12 + 1:02d}/2021" for i in range(60)]
    (folder / "inscrits.csv").write_text("N° dossier;Nom;Prénom;Date de naissance;Quartier;Date d'entrée\n"
                                         + "\n".join(rows) + "\n", encoding="cp1252")
    # the sessions' dates are plain dd/mm/yyyy (days above 12)
    (folder / "seances.csv").write_text("N° dossier;Date séance;Durée (min)\n" + "".join(
        f"B{i:04d};{i % 28 + 1:02d}/03/2021;60\n" for i in range(60)), encoding="cp1252")
    out = run_cli("draft", "nouveau", str(folder), "--config", str(conf))
    assert out.returncode == 0, out.stdout + out.stderr
    text = (conf / "landlords" / "nouveau.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["defaults"]["encoding"] == "cp1252" and data["defaults"]["delimiter"] == ";"
    assert data["defaults"]["date_formats"] == ["dd/mm/yyyy"]          # from the sessions, unambiguous
    participants = text.split("  participants:", 1)[1].split("\n  sessions:", 1)[0]
    assert "# date_formats: [\"dd/mm/yyyy\"]" in participants and "# date_formats: [\"mm/dd/yyyy\"]" in participants
    assert "TODO" in participants and "every day is 12 or less" in re.sub(r"\s*\n\s*#\s*", " ", participants)
    # not inherited from the defaults either: read as ISO only (then rejected, never misread) until chosen
    assert data["files"]["participants"]["date_formats"] == ["yyyy-mm-dd"]
    assert data["files"]["participants"]["columns"]["birth_date"] == "Date de naissance"
    assert data["country"] == "FR"
    assert "Nom1" not in text and "Prénom1" not in text             # no personal data copied
    assert "files.participants.date_formats" in out.stdout


def test_draft_never_takes_data_for_headers(tmp_path, conf):
    folder = tmp_path / "headless"
    folder.mkdir()
    shutil.copy(ROOT / "tests" / "corpus" / "base_participants.csv", folder)
    (folder / "export.csv").write_text("B0001;Dupont;Jeanne;Rennes\nB0002;Martin;Claire;Brest\n", encoding="utf-8")
    out = run_cli("draft", "headless", str(folder), "--config", str(conf))
    assert out.returncode == 0, out.stderr
    text = (conf / "landlords" / "headless.yml").read_text(encoding="utf-8")
    assert "export.csv (no header row recognised" in " ".join(text.replace("#", " ").split())
    for name in ("Dupont", "Jeanne", "Martin", "Claire"):
        assert name not in text and name not in out.stdout


def test_draft_refuses_to_overwrite_a_mapping(tmp_path, prepared, conf):
    before = (conf / "landlords" / "neotoa.yml").read_text(encoding="utf-8")
    out = run_cli("draft", "neotoa", str(prepared.raw / "neotoa"), "--config", str(conf))
    assert out.returncode == 2 and "already exists" in out.stderr and "--force" in out.stderr
    assert (conf / "landlords" / "neotoa.yml").read_text(encoding="utf-8") == before
    out = run_cli("draft", "neotoa", str(tmp_path / "nowhere"), "--config", str(conf), "--force")
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("draft", "Bad Id", str(prepared.raw / "neotoa"), "--config", str(conf))
    assert out.returncode == 2 and "not a usable landlord id" in out.stderr


# --- the sniffers --------------------------------------------------------------------------------------

def test_encodings_delimiters_and_decimal_marks_are_sniffed_or_said_unsure():
    assert draft.sniff_encoding("é;a\n".encode("utf-8-sig"), True)[:2] == ("utf-8-sig", True)
    assert draft.sniff_encoding("Prénom;Nom\n".encode("utf-8"), True)[:2] == ("utf-8", True)
    assert draft.sniff_encoding("Prénom;Nom\n".encode("cp1252"), True)[:2] == ("cp1252", True)
    assert draft.sniff_encoding(b"Name,Ref\n", False)[:2] == ("utf-8", False)        # ASCII so far: unsure
    mixed = "Prénom;".encode("utf-8") + "Durée\n".encode("cp1252")
    assert draft.sniff_encoding(mixed, True)[:2] == ("cp1252", False)
    assert draft.sniff_delimiter(["a;b;c", "1;2,5;3", "4;5,5;6"])[:2] == (";", True)
    assert draft.sniff_delimiter(["a\tb", "1\t2"])[0] == "\t"
    assert draft.sniff_delimiter(["just one column", "x", "y"])[1] is False
    assert draft.decimal_evidence(["1 234,56", "12,5", "3"]) == {",": 2}
    assert draft.decimal_evidence(["1,234.56", "12.5"]) == {".": 2}
    assert draft.decimal_evidence(["1,234", "1.234"]) == {}                      # three digits: either way


def test_dates_are_never_guessed_when_two_formats_fit():
    g = draft.sniff_dates(["01/02/2021", "03/04/2021", "12/11/2020"])
    assert g.formats == [] and set(g.ambiguous) == {"%d/%m/%Y", "%m/%d/%Y"}
    g = draft.sniff_dates(["01/02/2021", "13/04/2021", "25/11/2020", "30/12/2020"])
    assert g.formats == ["%d/%m/%Y"] and not g.ambiguous
    g = draft.sniff_dates(["2021-02-01", "43000", "2020-11-30"])           # ISO and Excel serials: nothing to write
    assert g.formats == [] and not g.ambiguous
    g = draft.sniff_dates(["12/31/2020", "01/15/2021", "02/28/2021", "31/02/2021"])
    assert g.formats == ["%m/%d/%Y"] and g.unread == 1
    assert draft.sniff_dates(["03/2021", "12/2020"], month=True).formats == ["%m/%Y"]


def test_headers_are_matched_in_english_and_french():
    def best(header: str, table: str) -> str | None:
        col = draft.Column(0, header, draft.words(header), [])
        scores = {name: draft._keyword(col, table, name)[0] for name in schema.FIELDS[table]}
        name, score = max(scores.items(), key=lambda kv: kv[1])
        return name if score > 0 else None

    for header, field in [("Date de naissance", "birth_date"), ("DOB", "birth_date"), ("Nom", "last_name"),
                          ("Surname", "last_name"), ("Quartier", "neighbourhood"), ("Estate", "neighbourhood"),
                          ("DateOfBirth", "birth_date"), ("Né(e) le", "birth_date"),
                          ("N° dossier", "participant_ref"),
                          ("Date d'entrée", "entry_date"), ("DATE ENTREE FORMATION", "training_start_date"),
                          ("Travailleur handicapé", "disability"), ("Adresse mail", "email")]:
        assert best(header, "participants") == field, header
    assert best("Durée (h)", "sessions") == "duration"
    assert best("Loyer", "rent_accounts") == "rent_due" and best("Solde impayé", "rent_accounts") == "arrears"
    assert best("Bien-être Q3", "questionnaires") == "wellbeing_3"
    assert best("Thinking clearly", "questionnaires") == "wellbeing_5"
