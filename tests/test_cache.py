"""Heavy results computed once per data snapshot (increase_eval/cache.py): a second
computation of the same key reads the disk cache, a change of configuration, code or data
computes again, concurrent jobs neither compute an entry twice nor corrupt it, and no
cached file holds a person's or a tenancy's row."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from increase_eval import cache, employment, models, notebook, tables, tenancies, value

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def processed(prepared, tmp_path) -> Path:
    """A private copy of the synthetic processed data: its own, empty cache beside it."""
    return Path(shutil.copytree(prepared.processed, tmp_path / "data" / "processed"))


def context(processed: Path, entity: str = "all", config_dir: Path = ROOT / "config") -> notebook.Context:
    notebook._CACHE.clear()            # as a new kernel: nothing in memory
    return notebook.setup(entity, "en", processed, config_dir)


def fail(*args, **kwargs):
    raise AssertionError("computed again instead of read from the cache")


def counted(monkeypatch, module, name) -> list:
    calls, real = [], getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_a_second_computation_of_the_same_key_reads_the_cache(processed, monkeypatch):
    ctx = context(processed)
    arrears, accounts = ctx.arrears(), ctx.accounts()
    assert set(arrears) == {"EUR", "GBP"} and all(arrears.values())
    entries = sorted(p.name for p in cache.location(processed).rglob("*.pkl"))
    assert entries == ["accounts-all.pkl", "arrears-EUR+archipel_habitat+neotoa+pas_de_calais_habitat+logirep.pkl",
                       "arrears-GBP+southern_housing+abri+clarion.pkl"]
    # a new kernel (another notebook, the other language, a Lab session): read, not computed
    monkeypatch.setattr(tenancies, "estimates", fail)
    monkeypatch.setattr(value, "basis", fail)
    again = context(processed)
    assert again.arrears()["EUR"]["did"].table.equals(arrears["EUR"]["did"].table)
    assert again.arrears()["GBP"]["matching"].att == arrears["GBP"]["matching"].att
    assert {l: a.totals for l, a in again.accounts().items()} == {l: a.totals for l, a in accounts.items()}
    # the report job's Excel tables and headline read the notebooks' accounts
    tables._ACCOUNTS.clear()
    assert tables.accounts(again.data, again.config, ROOT / "config").keys() == accounts.keys()
    # the country group pools the same landlords as `all` for its currency: the same estimates
    fr = context(processed, "fr")
    assert fr.arrears()["EUR"]["event_study"].equals(arrears["EUR"]["event_study"])


def test_the_imputed_models_are_computed_once_and_read_as_computed(processed, monkeypatch):
    ctx = context(processed, "uk")
    employed, creates = ctx.employment_model(), ctx.business_model()
    names = sorted(p.name for p in cache.location(processed).rglob("*-model-*.pkl"))
    assert names == ["business-model-uk.pkl", "employment-model-uk.pkl"]
    # another kernel reads them: the 30 imputations are not run again
    monkeypatch.setattr(models, "impute_chained", fail)
    again = context(processed, "uk")
    pd.testing.assert_frame_equal(again.employment_model().imputed.table, employed.imputed.table)
    pd.testing.assert_frame_equal(again.employment_model().missing, employed.missing)
    pd.testing.assert_frame_equal(again.business_model().table, creates.table)
    assert again.business_model().dropped == creates.dropped
    # and they are what the library computes
    monkeypatch.undo()
    fresh = employment.model(employment.model_people(again.data), again.data_end, again.data.sessions,
                             max_landlord_terms=again.max_landlord_terms)
    pd.testing.assert_frame_equal(fresh.imputed.table, employed.imputed.table)


def test_the_cache_is_the_one_the_library_would_compute(processed, monkeypatch):
    context(processed, "uk").accounts()                   # computed and written
    monkeypatch.setattr(value, "basis", fail)
    cached = context(processed, "uk").accounts()          # read back from disk, not computed
    monkeypatch.undo()
    monkeypatch.setenv(cache.ENV, "off")
    fresh = context(processed, "uk").accounts()
    tables._ACCOUNTS.clear()
    workbook = tables.accounts(context(processed, "uk").data, cache_config(), ROOT / "config")
    for lid in fresh:
        assert cached[lid].totals == fresh[lid].totals == workbook[lid].totals
        pd.testing.assert_frame_equal(cached[lid].lines, fresh[lid].lines)


def cache_config():
    from increase_eval import config

    return config.load(ROOT / "config")


def test_a_change_of_configuration_code_or_data_computes_again(processed, tmp_path, monkeypatch):
    context(processed, "southern_housing").arrears()
    calls = counted(monkeypatch, tenancies, "estimates")
    context(processed, "southern_housing").arrears()
    assert calls == []
    # configuration: any file of it
    conf = Path(shutil.copytree(ROOT / "config", tmp_path / "config"))
    (conf / "programme.yml").write_text((conf / "programme.yml").read_text(encoding="utf-8") + "\n# changed\n",
                                        encoding="utf-8")
    context(processed, "southern_housing", conf).arrears()
    assert len(calls) == 1
    # code
    monkeypatch.setattr(cache, "_CODE", ["another version"])
    context(processed, "southern_housing").arrears()
    assert len(calls) == 2
    monkeypatch.undo()
    calls = counted(monkeypatch, tenancies, "estimates")
    # data: a new prepare run is a new snapshot, and the older snapshots' entries go
    old = {p.parent.parent.name for p in cache.location(processed).rglob("*.pkl")}
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    manifest["created"] = "2030-01-01T00:00:00+00:00"
    (processed / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    cache._PRUNED.clear()
    context(processed, "southern_housing").arrears()
    assert len(calls) == 1
    assert {p.name for p in cache.location(processed).iterdir()}.isdisjoint(old)


def _compute_once(where: str, log: str, queue) -> None:
    d = type("D", (), {"folder": Path(where), "entity": "x"})()
    conf = type("C", (), {"digest": lambda self: "config"})()

    def slow():
        with open(log, "a") as fh:
            fh.write("computed\n")
        time.sleep(1.0)
        return {"estimate": pd.DataFrame({"term": ["treated_after"], "estimate": [-110.0]}), "draws": list(range(10**5))}
    queue.put(cache.get(d, conf, "arrears", ["EUR", "a", "b"], slow)["estimate"]["estimate"].iloc[0])


def _write_many(path: str, seed: int) -> None:
    for i in range(30):
        cache._write(Path(path), {"writer": seed, "i": i, "draws": [float(seed)] * (2 * 10**5)})


def test_concurrent_jobs_compute_an_entry_once_and_never_corrupt_it(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    (processed / "manifest.json").write_text(json.dumps({"snapshot": "0123456789abcdef"}))
    log = tmp_path / "computed.log"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    jobs = [ctx.Process(target=_compute_once, args=(str(processed), str(log), queue)) for _ in range(3)]
    for j in jobs:
        j.start()
    results = [queue.get(timeout=60) for _ in jobs]
    for j in jobs:
        j.join(timeout=60)
    assert results == [-110.0] * 3
    assert log.read_text().splitlines() == ["computed"]          # the others waited, then read it
    # writers racing on one entry: a reader only ever sees a whole one
    path = tmp_path / "entry.pkl"
    writers = [ctx.Process(target=_write_many, args=(str(path), s)) for s in (1, 2)]
    for w in writers:
        w.start()
    seen = 0
    while any(w.is_alive() for w in writers):
        if path.exists():
            with open(path, "rb") as fh:
                entry = pickle.load(fh)
            assert entry["draws"] == [float(entry["writer"])] * (2 * 10**5)
            seen += 1
    for w in writers:
        w.join()
    assert seen and not list(tmp_path.glob(".entry.pkl.*"))


def test_a_person_level_table_is_never_cached(tmp_path):
    people = pd.DataFrame({"person_id": ["a", "b"], "arrears": [1.0, 2.0]})
    with pytest.raises(ValueError, match="person_id"):
        cache.aggregate_only({"panel": people})
    with pytest.raises(ValueError, match="tenancy_id"):
        cache.aggregate_only([pd.Series([1.0], index=pd.Index(["t"], name="tenancy_id"))])
    cache.aggregate_only({"did": pd.DataFrame({"term": ["treated_after"], "estimate": [-1.0]})})


def test_a_person_level_result_fails_alike_with_the_cache_on_or_off(processed, monkeypatch):
    d = context(processed, "uk").data
    people = lambda: {"panel": pd.DataFrame({"person_id": ["a"], "arrears": [1.0]})}  # noqa: E731
    for setting in ("on", "off"):
        monkeypatch.setenv(cache.ENV, setting)
        with pytest.raises(ValueError, match="person_id"):
            cache.get(d, cache_config(), "test", "uk", people)
    assert not list(cache.location(processed).rglob("test-uk*.pkl"))      # nothing written


def test_report_jobs_share_the_cache_and_it_holds_no_person_or_tenancy(reports, prepared):
    files = [p for p in cache.location(prepared.processed).rglob("*") if p.is_file() and p.suffix == ".pkl"]
    names = {p.stem for p in files}
    assert {"accounts-all", "accounts-archipel_habitat", "accounts-southern_housing"} <= names
    assert any(n.startswith("arrears-EUR") for n in names) and any(n.startswith("arrears-GBP") for n in names)
    people = pd.read_parquet(prepared.processed / "participants.parquet", columns=["person_id"])["person_id"]
    tenancy = pd.read_parquet(prepared.processed / "tenancies.parquet", columns=["tenancy_id"])["tenancy_id"]
    ids = {i.encode() for i in people.dropna().tolist() + tenancy.dropna().tolist()}
    for path in files:
        content = path.read_bytes()
        assert b"person_id" not in content and b"tenancy_id" not in content, path.name
        assert not set(re.findall(rb"[PT][0-9a-f]{16}", content)) & ids, path.name
