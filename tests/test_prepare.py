"""synth -> prepare end to end on a small synthetic programme: the accounting adds up,
nothing personal reaches data/processed, duplicates are merged, a broken landlord does
not stop the others, and the processed folder is replaced whole or not at all."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from increase_eval import cli, prepare, readers, schema, store
from increase_eval.config import load

TABLES = ["participants", "sessions", "outcomes", "businesses", "business_checks", "questionnaires",
          "ambassadors", "tenancies", "neighbourhoods", "rejects"]


def read_all(processed: Path) -> dict[str, pd.DataFrame]:
    out = {t: pd.read_parquet(processed / f"{t}.parquet") for t in TABLES}
    out["rent_accounts"] = pd.read_parquet(processed / "rent_accounts")
    return out


# --- accounting -------------------------------------------------------------------------------

def test_every_raw_row_is_kept_rejected_or_merged(prepared):
    m = prepared.manifest
    files = [f for l in m["landlords"].values() for f in l["files"]]
    assert len(files) == 7 * 8
    for f in files:
        assert f["rows_in"] == f["kept"] + f["rejected"] + f["merged"], f
        assert f["rows_in"] > 0
    assert m["totals"]["rows_in"] == sum(f["rows_in"] for f in files)


def test_rows_in_are_the_rows_of_the_raw_files(prepared):
    """Counted independently of the reader: data lines of each CSV file."""
    for f in prepared.manifest["landlords"]["archipel_habitat"]["files"]:
        text = (prepared.raw / "archipel_habitat" / f["file"]).read_bytes().decode("cp1252")
        assert f["rows_in"] == len(text.strip().splitlines()) - 1, f["file"]


def test_kept_rows_are_the_processed_rows(prepared):
    m, t = prepared.manifest, read_all(prepared.processed)
    kept = {}
    for l in m["landlords"].values():
        for f in l["files"]:
            kept[f["table"]] = kept.get(f["table"], 0) + f["kept"]
    for table in ("participants", "sessions", "outcomes", "business_checks", "questionnaires", "ambassadors",
                  "tenancies", "rent_accounts"):
        assert kept[table] == len(t[table]), table
    assert m["tables"]["rent_accounts"] == len(t["rent_accounts"])


def test_every_rejected_row_has_a_reason_naming_file_row_and_column(prepared):
    rejects = read_all(prepared.processed)["rejects"]
    m = prepared.manifest
    for l_id, l in m["landlords"].items():
        for f in l["files"]:
            mine = rejects[(rejects["landlord"] == l_id) & (rejects["file"] == f["file"])]
            assert mine["row"].nunique() == f["rejected"], (l_id, f["file"])
    assert rejects["reason"].notna().all() and rejects["row"].notna().all()
    assert rejects["column"].notna().mean() > 0.95


def test_planted_flaws_are_caught(prepared):
    rejects = read_all(prepared.processed)["rejects"]
    reasons = rejects["reason"].value_counts()
    flaws = prepared.truth["planted_flaws"]
    planted_negative = sum(f["negative_duration"] for f in flaws.values())
    assert reasons.get("session duration not between 1 and 480 minutes", 0) >= planted_negative * 0.9
    assert reasons.get("balance beyond +/-50000", 0) == sum(f["impossible_balance"] for f in flaws.values())
    assert reasons.get("no participant with this reference in the register", 0) >= \
        sum(f["orphan_sessions"] for f in flaws.values()) * 0.8
    # a rejected value of an identifier is never shown, even in the rejects table
    births = rejects[rejects["field"] == "birth_date"]
    assert len(births) > 0 and births["value_shape"].eq("<birth_date withheld>").all()


def test_duplicates_within_and_across_landlords_are_merged(prepared):
    t = read_all(prepared.processed)
    p = t["participants"]
    assert p["person_id"].is_unique
    flaws = prepared.truth["planted_flaws"]
    merged = sum(f["merged"] for l in prepared.manifest["landlords"].values() for f in l["files"]
                 if f["table"] == "participants")
    planted = sum(f["registered_twice"] + f["registered_by_another_landlord"] for f in flaws.values())
    assert 0.9 * planted <= merged <= planted
    across = p[p["also_registered_by"] != ""]
    assert len(across) >= 0.8 * sum(f["registered_by_another_landlord"] for f in flaws.values())
    assert (across["registrations"] >= 2).all()
    # each simulated person is one participant at most (no duplicate survives), and is
    # missing only if register rows were rejected (a rejected twin leaves the other)
    rejected = sum(f["rejected"] for l in prepared.manifest["landlords"].values() for f in l["files"]
                   if f["table"] == "participants")
    assert prepared.truth["people"] - rejected <= len(p) <= prepared.truth["people"]


def test_processed_tables_meet_their_schemas_and_link(prepared):
    t = read_all(prepared.processed)
    for name in TABLES:
        schema.processed(name).validate(t[name], lazy=True)
    people = set(t["participants"]["person_id"])
    for name in ("sessions", "outcomes", "businesses", "questionnaires", "ambassadors"):
        assert set(t[name]["person_id"]) <= people, name
    assert set(t["rent_accounts"]["tenancy_id"]) <= set(t["tenancies"]["tenancy_id"])
    linked = t["participants"]["tenancy_id"].notna().mean()
    assert linked > 0.9
    assert t["tenancies"]["participant"].sum() == t["participants"]["tenancy_id"].nunique()
    assert (~t["tenancies"]["participant"]).sum() >= 2.5 * t["tenancies"]["participant"].sum()


def test_participant_summary_is_computed_from_the_other_tables(prepared):
    t = read_all(prepared.processed)
    p = t["participants"].set_index("person_id")
    s = t["sessions"]
    hours = s.groupby("person_id")["duration_minutes"].sum() / 60
    assert np.allclose(p.loc[hours.index, "session_hours"].astype(float), hours.astype(float))
    training = s[s["session_type"] == "training"].groupby("person_id").size()
    assert (p.loc[training.index, "training_sessions_n"] == training).all()
    jobs = t["outcomes"].query("outcome_type == 'job'").groupby("person_id")["outcome_date"].min()
    assert (p.loc[jobs.index, "job_date"] == jobs).all()
    assert p.loc[p["employment"], "employment_date"].notna().all()
    assert (p["age_at_entry"].dropna().between(16, 80)).all()
    # barriers_n is missing when any of its four flags is
    flags = p[["disability", "single_parent", "no_qualification", "long_term_unemployed"]]
    assert p.loc[flags.isna().any(axis=1), "barriers_n"].isna().all()


def test_businesses_follow_their_checks(prepared):
    b = read_all(prepared.processed)["businesses"]
    assert len(b) > 0
    assert (b.loc[b["ceased"], "ceased_date"] >= b.loc[b["ceased"], "created_date"]).all()
    assert (b["survival_days"] >= 0).all()
    share_ceased = b["ceased"].mean()
    assert 0.05 < share_ceased < 0.5


def test_manifest_says_what_data_and_code_made_the_tables(prepared):
    m = prepared.manifest
    assert m["synthetic"]["synthetic"] is True and m["synthetic"]["seed"] == 7
    assert re.fullmatch(r"[0-9a-f]{16}", m["snapshot"])
    assert m["code_version"].startswith("0.1.0")
    f = m["landlords"]["neotoa"]["files"][0]
    path = prepared.raw / "neotoa" / f["file"]
    assert f["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert m["errors"] == []


# --- personal data ----------------------------------------------------------------------------

def _identifiers(raw: Path, config) -> set[str]:
    """Every direct identifier in the raw exports, read with the mappings."""
    found: set[str] = set()
    for landlord in config.landlords.values():
        for table, mapping in landlord.files.items():
            ids = schema.identifiers(table)
            for src in readers.open_sources(landlord.id, raw / landlord.id, mapping, ids | schema.required_fields(table)):
                frame, _ = readers.read(src, set())
                for col in ids & set(frame.columns):
                    found |= {v.strip() for v in frame[col].dropna() if len(v.strip()) >= 5}
    return found


def _all_text(processed: Path) -> str:
    parts = [(processed / "manifest.json").read_text(encoding="utf-8")]
    for table in read_all(processed).values():
        for col in table.columns:
            parts.append("\n".join(table[col].astype("string").dropna().unique()))
    return "\n".join(parts)


def test_no_direct_identifier_reaches_processed_data(prepared, config):
    found = _identifiers(prepared.raw, config)
    # Only values that cannot arise by chance in processed data: a hexadecimal ID holds
    # no letter after f, no '@', space or '/'; dates are checked person by person below.
    config_text = "\n".join(p.read_text(encoding="utf-8") for p in config.root.rglob("*.yml"))
    identifiers = {v for v in found if re.search(r"[g-zG-Z@\s/]", v) and v not in config_text}
    assert len(identifiers) > 3000     # names, e-mails, phones, addresses, refs, business names
    assert any("@" in v for v in identifiers) and any(re.fullmatch(r"0[67]( \d\d){4}", v) for v in identifiers)
    text = _all_text(prepared.processed)
    assert [v for v in identifiers if v in text] == []


def test_no_birth_date_reaches_processed_data(prepared, config):
    """Re-derive each person's ID from the raw register with the secret, and check that
    none of that person's processed dates is their birth date (in any column)."""
    from increase_eval.pseudonymise import load_or_create

    pseudo, _ = load_or_create(prepared.secret)
    births = []
    for landlord in config.landlords.values():
        m = landlord.files["participants"]
        [src] = readers.open_sources(landlord.id, prepared.raw / landlord.id, m, schema.loaded_fields("participants"))
        frame, _ = readers.read(src, set())
        parsed, _ = prepare.parse(frame, "participants", m, landlord, config, prepare._tokens(config))
        births.append(pd.DataFrame({"person_id": pseudo.person_keys(parsed["first_name"], parsed["last_name"],
                                                                    parsed["birth_date"]),
                                    "birth_date": parsed["birth_date"]}).dropna())
    births = pd.concat(births).drop_duplicates("person_id").set_index("person_id")["birth_date"]
    p = pd.read_parquet(prepared.processed / "participants.parquet").set_index("person_id")
    assert len(p.index.intersection(births.index)) == len(p)       # every person re-derived
    b = pd.to_datetime(births.reindex(p.index))
    assert (p["birth_year"] == b.dt.year).all()                     # the year is all that is kept
    for col in p.select_dtypes("datetime").columns:
        assert not (p[col] == b).any(), col
    for name, table in read_all(prepared.processed).items():
        assert not any("birth_date" in c for c in table.columns), name


def test_processed_files_are_only_the_documented_tables(prepared):
    names = sorted(p.name for p in prepared.processed.iterdir())
    assert names == sorted([f"{t}.parquet" for t in TABLES] + ["manifest.json", "rent_accounts"])


# --- errors ----------------------------------------------------------------------------------

def test_a_broken_landlord_is_skipped_and_the_others_are_processed(copy_of, tmp_path, capsys):
    raw, secret = copy_of
    register = raw / "neotoa" / "NEOTOA_PARTICIPANTS.csv"
    text = register.read_text(encoding="utf-8").replace("DATE INSCRIPTION", "DATE D'INSCRIPTION", 1)
    register.write_text(text, encoding="utf-8")
    (raw / "logirep" / "LOGIREP_INCREASE_SEANCES.csv").write_bytes("REF;DATE\n".encode("utf-16"))
    code = cli.main(["prepare", "--raw", str(raw), "--processed", str(tmp_path / "out"), "--secret", str(secret),
                     "--quiet", "--config", str(Path(__file__).parents[1] / "config")])
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.err + out.out
    assert ("error: neotoa: NEOTOA_PARTICIPANTS.csv, column 'DATE INSCRIPTION': required column missing "
            "(expected a header 'DATE INSCRIPTION' for entry_date) - Neotoa skipped") in out.out
    assert "error: logirep: LOGIREP_INCREASE_SEANCES.csv" in out.out
    p = pd.read_parquet(tmp_path / "out" / "participants.parquet")
    assert set(p["landlord"]) == {"southern_housing", "abri", "clarion", "archipel_habitat", "pas_de_calais_habitat"}
    assert not (tmp_path / "out" / "rent_accounts" / "neotoa.parquet").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["landlords"]["neotoa"]["status"] == "not processed"
    assert len(manifest["errors"]) == 2


def test_user_errors_are_one_line_without_traceback(tmp_path, capsys):
    code = cli.main(["prepare", "--raw", str(tmp_path / "nowhere"), "--processed", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: raw data folder") and err.count("\n") == 1


def test_a_folder_without_mapping_is_reported(copy_of, tmp_path, config):
    raw, secret = copy_of
    (raw / "unknown_landlord").mkdir()
    outcome = prepare.run(raw, tmp_path / "out", config, secret=secret, say=lambda m: None, workers=1)
    assert outcome.errors == [f"unknown_landlord: folder {raw / 'unknown_landlord'} has no mapping "
                              f"(expected config/landlords/unknown_landlord.yml)"]


# --- atomic, repeatable -------------------------------------------------------------------------

def test_an_interrupted_run_leaves_the_previous_processed_data_whole(copy_of, tmp_path, config, monkeypatch):
    raw, secret = copy_of
    out = tmp_path / "out"
    prepare.run(raw, out, config, secret=secret, say=lambda m: None, workers=1)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare, "build_tables", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare.run(raw, out, config, secret=secret, say=lambda m: None, workers=1)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".out.*"))    # no staging left behind


def test_a_run_killed_between_the_two_renames_is_recovered(tmp_path):
    target = tmp_path / "processed"
    aside = tmp_path / ".processed.old-123"
    aside.mkdir()
    (aside / "manifest.json").write_text("{}")
    (tmp_path / ".processed.new-abc").mkdir()
    store.recover(target)
    assert (target / "manifest.json").read_text() == "{}"
    assert not aside.exists() and not (tmp_path / ".processed.new-abc").exists()


def test_same_input_gives_identical_processed_tables(prepared, tmp_path, config):
    again = tmp_path / "again"
    prepare.run(prepared.raw, again, config, secret=prepared.secret, say=lambda m: None, workers=1)
    first, second = read_all(prepared.processed), read_all(again)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_like=False, obj=name)


# --- a new landlord is configuration, not code ----------------------------------------------------

NEW_MAPPING = """
id: harbour_homes
name: Harbour Homes
country: UK
language: en
currency: GBP
neighbourhoods:
  - {id: UK-HH-01, name: "Folkestone - Harbour", aliases: [Harbour Ward]}
defaults: {format: csv, encoding: latin-1, delimiter: "\\t", decimal: ".", date_formats: ["%Y%m%d"],
           booleans: {"true": [T], "false": [F]}}
files:
  participants:
    path: "exports/people_*.txt"
    header_row: 3
    columns: {participant_ref: PERSON, first_name: GIVEN, last_name: FAMILY, birth_date: BORN, neighbourhood: WARD,
              entry_date: JOINED, disability: DISAB, sex: GENDER}
  sessions:
    path: sessions.xlsx
    format: xlsx
    sheet: Log
    header_row: 2
    columns: {participant_ref: Person, session_date: When, duration: Minutes}
"""


def test_a_landlord_shaped_unlike_the_others_needs_only_a_mapping(tmp_path):
    from openpyxl import Workbook

    conf = tmp_path / "config"
    shutil.copytree(Path(__file__).parents[1] / "config", conf)
    (conf / "landlords" / "harbour_homes.yml").write_text(NEW_MAPPING, encoding="utf-8")
    raw = tmp_path / "raw" / "harbour_homes"
    (raw / "exports").mkdir(parents=True)
    head = "Harbour Homes people export\tgenerated 2023-07-01\n\n"
    rows = ["PERSON\tGIVEN\tFAMILY\tBORN\tWARD\tJOINED\tDISAB\tGENDER\tNOTES",
            "h1\tZoë\tO'Brien\t19800214\tHarbour Ward\t20190301\tT\tF\tcalled twice",
            "h2\tAmir\tKhan\t19920730\tfolkestone - harbour\t20200115\tF\tM\t",
            "h3\tBad\tDate\t19921330\tHarbour Ward\t20200115\tF\tM\t"]
    (raw / "exports" / "people_2019.txt").write_bytes((head + "\n".join(rows[:2]) + "\n").encode("latin-1"))
    (raw / "exports" / "people_2020.txt").write_bytes((head + "\n".join(rows) + "\n").encode("latin-1"))
    wb = Workbook()
    ws = wb.active
    ws.title = "Log"
    ws.append(["Session log"])
    ws.append(["Person", "When", "Minutes"])
    ws.append(["H1", "20190310", 60])
    ws.append(["h2", "20200120", 45])
    ws.append(["h9", "20200120", 45])
    wb.save(raw / "sessions.xlsx")

    cfg = load(conf, only=["harbour_homes"])
    outcome = prepare.run(tmp_path / "raw", tmp_path / "out", cfg, secret=tmp_path / "k", say=lambda m: None)
    assert outcome.errors == []
    p = pd.read_parquet(tmp_path / "out" / "participants.parquet")
    assert len(p) == 2
    assert sorted(p["entry_date"].dt.strftime("%Y-%m-%d")) == ["2019-03-01", "2020-01-15"]
    assert set(p["neighbourhood_id"]) == {"UK-HH-01"}
    assert p.sort_values("entry_date")["sessions_n"].tolist() == [1, 1]
    accounts = {(a.table, a.file): (a.rows_in, a.kept, a.rejected, a.merged) for a in outcome.accounts}
    assert accounts == {("participants", "exports/people_2019.txt"): (1, 1, 0, 0),
                        ("participants", "exports/people_2020.txt"): (3, 1, 1, 1),
                        ("sessions", "sessions.xlsx"): (3, 2, 1, 0)}
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert set(zip(rejects["file"], rejects["row"], rejects["column"], rejects["reason"])) == {
        ("exports/people_2020.txt", 6, "BORN", "not a date (expected yyyymmdd)"),
        ("sessions.xlsx", 5, "Person", "no participant with this reference in the register")}


# --- the pseudonymisation secret ---------------------------------------------------------------------

def test_secret_is_created_private_and_gives_stable_ids(prepared, tmp_path, config):
    import stat

    assert stat.S_IMODE(prepared.secret.stat().st_mode) == 0o600
    other = tmp_path / "other"
    prepare.run(prepared.raw, other, config, secret=tmp_path / "new.key", say=lambda m: None, workers=1)
    a = pd.read_parquet(prepared.processed / "participants.parquet")
    b = pd.read_parquet(other / "participants.parquet")
    assert len(a) == len(b) and not set(a["person_id"]) & set(b["person_id"])   # another key, other IDs


def test_ids_are_hmac_sha256_of_the_secret_whatever_its_length():
    import hmac
    import pickle

    from increase_eval.pseudonymise import ID_HEX, Pseudonymiser

    for key in (bytes(range(32)), bytes(range(64)), bytes(range(100))):   # within, at and beyond a block
        pseudo = Pseudonymiser(key)
        values = pd.Series(["abri|T-1", "abri|Élodie", "", "archipel_habitat|0042"], dtype="string")
        expected = ["T" + hmac.new(key, f"tenancy|{v}".encode(), hashlib.sha256).hexdigest()[:ID_HEX] for v in values]
        assert pseudo.many("tenancy", values).tolist() == expected
        assert pickle.loads(pickle.dumps(pseudo)).many("tenancy", values).tolist() == expected   # to workers
        assert key.hex() not in repr(pseudo)


def test_secret_problems_are_explained(tmp_path, prepared, capsys):
    loose = tmp_path / "loose.key"
    shutil.copy2(prepared.secret, loose)
    loose.chmod(0o644)
    code = cli.main(["prepare", "--raw", str(prepared.raw), "--processed", str(tmp_path / "o"), "--secret", str(loose)])
    err = capsys.readouterr().err
    assert code == 2 and f"can be read by other users; restrict it with: chmod 600 {loose}" in err
    damaged = tmp_path / "damaged.key"
    damaged.write_text("not hex")
    damaged.chmod(0o600)
    code = cli.main(["prepare", "--raw", str(prepared.raw), "--processed", str(tmp_path / "o"), "--secret", str(damaged)])
    err = capsys.readouterr().err
    assert code == 2 and "is damaged (expected 64 hexadecimal characters)" in err
    assert prepared.secret.read_text().strip() not in err


def test_registrations_count_register_rows_merged_into_a_person(prepared):
    p = pd.read_parquet(prepared.processed / "participants.parquet")
    flaws = prepared.truth["planted_flaws"]
    twice_here = sum(f["registered_twice"] for f in flaws.values())
    # people registered twice by one landlord count 2 registrations though no other landlord is named
    same_landlord = p[(p["registrations"] >= 2) & (p["also_registered_by"] == "")]
    assert len(same_landlord) >= 0.8 * twice_here
    merged = sum(f["merged"] for l in prepared.manifest["landlords"].values() for f in l["files"]
                 if f["table"] == "participants")
    assert int((p["registrations"] - 1).sum()) == merged


# --- broken exports on the rent panel's streamed path ------------------------------------------

def test_the_rent_panel_refuses_numbers_against_its_decimal_mark_and_names_a_file_level_mistake(copy_of, tmp_path,
                                                                                               config):
    raw, secret = copy_of
    # abri (GBP, decimal point): a few amounts in euros or with a decimal comma, and blank rows
    path = raw / "abri" / "abri_rent_accounts.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0], lines[1:]
    first = rows[0].split(",")
    rows[0] = ",".join(first[:3] + ['"€12.50"'])
    rows[1] = ",".join(rows[1].split(",")[:3] + ['"1.234,56"'])
    rows[2] = ",".join(rows[2].split(",")[:3] + ['"12,5"'])
    path.write_text("\ufeff" + "\n".join([header, *rows[:10], ",,,", *rows[10:], ",,,", ""]), encoding="utf-8")
    # neotoa (decimal comma): every amount written with a decimal point
    neotoa = raw / "neotoa" / "NEOTOA_COMPTES.csv"
    text = neotoa.read_text(encoding="utf-8")
    neotoa.write_text(text.replace(",", "."), encoding="utf-8")

    outcome = prepare.run(raw, tmp_path / "out", config, secret=secret, say=lambda m: None, workers=1)
    [error] = outcome.errors
    assert error.startswith("neotoa: NEOTOA_COMPTES.csv, column '")
    assert "rows rejected as 'uses '.' as decimal mark but the mapping says ','" in error
    assert 'write decimal: "." in the mapping' in error and error.endswith("Neotoa skipped") and len(error) < 330
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert not (rejects["landlord"] == "neotoa").any()
    mine = rejects[(rejects["landlord"] == "abri") & (rejects["table"] == "rent_accounts")]
    reasons = dict(zip(mine["row"], mine["reason"]))
    assert reasons[2] == "amount in EUR but the landlord's currency is GBP"
    assert reasons[3] == reasons[4] == "uses ',' as decimal mark but the mapping says '.'"
    [account] = [a for a in outcome.accounts if a.landlord == "abri" and a.table == "rent_accounts"]
    assert account.blank_rows == 2 and account.balanced() and account.rows_in == len(rows)


def test_a_rent_panel_failing_while_the_tables_are_built_skips_its_landlord_as_one_process_does(copy_of, tmp_path,
                                                                                                 config, monkeypatch):
    """With workers, the tables are built from the exports while the panels still stream; a
    panel found unusable then (here every amount of Neotoa's written with the other decimal
    mark) makes the run start again without that landlord: the same tables, errors and
    manifest as reading the landlords one after the other."""
    raw, secret = copy_of
    neotoa = raw / "neotoa" / "NEOTOA_COMPTES.csv"
    neotoa.write_text(neotoa.read_text(encoding="utf-8").replace(",", "."), encoding="utf-8")
    said: list[str] = []
    attempts = []
    once = prepare._run_once
    monkeypatch.setattr(prepare, "_run_once", lambda *a: attempts.append(sorted(a[-1])) or once(*a))
    pooled = prepare.run(raw, tmp_path / "pool", config, secret=secret, say=said.append, workers=2)
    if attempts == [[], ["neotoa"]]:    # found late (the usual case): run again without it, and said so
        assert "Neotoa: rent panel unusable; preparing the others again without it" in said
    else:   # the panel was done before the tables were built: skipped at once
        assert attempts == [[]]
    alone = prepare.run(raw, tmp_path / "one", config, secret=secret, say=lambda m: None, workers=1)
    assert pooled.errors == alone.errors and len(pooled.errors) == 1 and pooled.errors[0].endswith("Neotoa skipped")
    assert any(m.startswith("skipped Neotoa: ") for m in said)
    for name in TABLES:
        a, b = (pd.read_parquet(tmp_path / d / f"{name}.parquet") for d in ("pool", "one"))
        pd.testing.assert_frame_equal(a, b)
    assert sorted(p.name for p in (tmp_path / "pool" / "rent_accounts").iterdir()) == \
        sorted(p.name for p in (tmp_path / "one" / "rent_accounts").iterdir())
    manifests = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("pool", "one")]
    for m in manifests:
        m.pop("created", None)
    assert manifests[0] == manifests[1]
