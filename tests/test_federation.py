"""synth --landlords N: a federation of N synthetic landlords, each with its own mapping in a
configuration folder of its own, drawn from the seven partners' shapes and languages, of
different sizes; prepared like the partners; reported per landlord, per country group and
for the federation, with an index split by country."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from increase_eval import cli, config as cfg, data, report, synth, tables
from increase_eval.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_a_federation_s_mappings_are_drawn_from_the_partners_in_their_languages_with_sizes_of_their_own(tmp_path):
    shapes = synth.federation(tmp_path / "config", 9, seed=3)
    config = cfg.load(tmp_path / "config")
    assert list(config.landlords) == [f"fed_{k:03d}" for k in range(1, 10)] == list(shapes)
    partners = cfg.load(ROOT / "config").landlords
    for lid, landlord in config.landlords.items():
        shape = partners[shapes[lid]]
        assert (landlord.country, landlord.language, landlord.currency) == (shape.country, shape.language,
                                                                            shape.currency)
        assert {t: (f.path, f.columns, f.encoding, f.delimiter) for t, f in landlord.files.items()} == \
            {t: (f.path, f.columns, f.encoding, f.delimiter) for t, f in shape.files.items()}
        assert all(n.id.startswith(lid.upper()) for n in landlord.neighbourhoods)
        assert landlord.cost is not None and landlord.cost.assumption
    assert len(set(shapes.values())) == 7        # every partner's shape is used
    countries = [l.country for l in config.landlords.values()]
    assert countries[:2] == ["UK", "FR"] and countries.count("UK") == 4 and countries.count("FR") == 5
    params = synth.load_parameters(config)
    sizes = [params["engaged"][lid] for lid in config.landlords]
    assert len(set(sizes)) == 9 and params["shaped_like"] == shapes
    # the federation is its landlords only: the partners' mappings, registers and commentaries stay out
    assert sorted(p.name for p in (tmp_path / "config" / "landlords").iterdir()) == [f"{l}.yml" for l in shapes]
    assert [p.name for p in (tmp_path / "config" / "commentary").iterdir()] == ["README.md"]
    # country groups hold the federation's landlords by their country; every one gets its report
    assert data.landlords_of("fr", config) == [l for l in shapes if config.landlords[l].country == "FR"]
    assert data.landlords_of("all", config) == list(shapes)
    jobs = {(j.entity, j.lang) for j in report.plan(config)}
    assert {("fed_001", "en"), ("fed_002", "fr"), ("all", "fr"), ("all", "en"), ("fr", "fr"), ("uk", "en")} <= jobs
    assert len(jobs) == 9 + 4
    # made again with fewer landlords: replaced whole
    synth.federation(tmp_path / "config", 2, seed=3)
    assert list(cfg.load(tmp_path / "config").landlords) == ["fed_001", "fed_002"]


def test_the_partners_configuration_is_never_replaced(tmp_path):
    with pytest.raises(UserError, match="configuration folder of its own"):
        synth.federation(ROOT / "config", 3)
    copy = tmp_path / "config"
    shutil.copytree(ROOT / "config", copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match=r"holds mappings synth did not write \(abri"):
        synth.federation(copy, 3)
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before
    with pytest.raises(UserError, match="from 1 to"):
        synth.federation(tmp_path / "other", 0)


def test_synth_landlords_on_the_command_line_then_prepare(tmp_path, capsys):
    conf, raw, processed = tmp_path / "config", tmp_path / "raw", tmp_path / "processed"
    assert cli.main(["synth", "--landlords", "3", "--scale", "0.05", "--config", str(conf), "--raw", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "a federation of 3 landlords (2 UK, 1 French)" in out
    assert sorted(p.name for p in raw.iterdir() if p.is_dir()) == ["fed_001", "fed_002", "fed_003"]
    truth = json.loads((tmp_path / "synthetic_truth.json").read_text())
    assert set(truth["planted_flaws"]) == {"fed_001", "fed_002", "fed_003"}
    # shaped like its partner: the French landlord's register is the partner's file, in French
    shape = yaml.safe_load((conf / "synth.yml").read_text())["shaped_like"]["fed_002"]
    partner = cfg.load(ROOT / "config").landlords[shape]
    assert (raw / "fed_002" / partner.files["participants"].path).is_file()
    assert cli.main(["prepare", "--raw", str(raw), "--processed", str(processed), "--config", str(conf),
                     "--secret", str(tmp_path / "secret.key"), "--quiet"]) == 0
    manifest = json.loads((processed / "manifest.json").read_text())
    assert {l: r["status"] for l, r in manifest["landlords"].items()} == dict.fromkeys(
        ["fed_001", "fed_002", "fed_003"], "processed")
    for rec in manifest["landlords"].values():
        for f in rec["files"]:
            assert f["rows_in"] == f["kept"] + f["rejected"] + f["merged"], f
    # the default configuration folder is refused, with one line
    assert cli.main(["synth", "--landlords", "3", "--raw", str(tmp_path / "raw2")]) == 2
    assert "configuration folder of its own" in capsys.readouterr().err


def test_the_index_of_a_federation_is_split_by_country_sorted_by_name_without_script(tmp_path):
    synth.federation(tmp_path / "config", 12, seed=3)
    config = cfg.load(tmp_path / "config")
    results = [report.Result(j, "skipped") for j in report.plan(config)]
    (tmp_path / "outputs").mkdir()
    tables.index_page(tmp_path / "outputs", results, {"snapshot": "s", "code_version": "v"}, config)
    for lang, uk, fr in (("en", "United Kingdom (6)", "France (6)"), ("fr", "Royaume-Uni (6)", "France (6)")):
        page = (tmp_path / "outputs" / tables.index_name(lang)).read_text(encoding="utf-8")
        assert "<script" not in page
        assert f'<a href="#landlords-uk">{uk}</a>' in page and f'<a href="#landlords-fr">{fr}</a>' in page
        sections = re.split(r'<h3 id="landlords-', page)
        assert len(sections) == 3
        for section in sections[1:]:
            country = section[:2].upper()
            names = re.findall(r"<tr><td>([^<]+)</td>", section)
            assert len(names) == 6 and names == sorted(names)
            assert {config.landlords[l].country for l in config.landlords if config.landlords[l].name in names} \
                == {country}
        groups = sections[0][sections[0].index('id="groups"'):]
        assert len(re.findall(r"<tr><td>", groups)) == 3      # all, fr, uk


def _shown(page: str) -> str:
    page = re.sub(r"(?s)<(style|title)>.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_federation_is_named_as_what_it_pools_not_as_the_programme_s_partnership(tmp_path, config):
    """The pooled report of a federation (or of any landlords that are not the programme's
    partners) is "Federation of N landlords", in its report's title and the index; the
    partners' own configuration keeps "INCREASE partnership"."""
    from increase_eval import text

    synth.federation(tmp_path / "config", 12, seed=3)
    fed = cfg.load(tmp_path / "config")
    en, fr = text.load(fed.root, "en"), text.load(fed.root, "fr")
    assert [data.entity_name(e, fed, en) for e in ("all", "fr", "uk")] == [
        "Federation of 12 landlords", "The federation's French landlords", "The federation's UK landlords"]
    assert data.entity_name("all", fed, fr) == "Fédération de 12 bailleurs"
    assert data.entity_name("fed_001", fed, en) == fed.landlords["fed_001"].name
    assert [data.entity_name(e, config, en) for e in ("all", "fr")] == ["INCREASE partnership", "French partners"]
    assert data.entity_name("all", config, fr) == "Partenariat INCREASE"
    one = tmp_path / "one"
    synth.federation(one, 1, seed=3)
    assert data.entity_name("all", cfg.load(one), en) == "Federation of one landlord"
    # the index and a report's title
    results = [report.Result(j, "skipped") for j in report.plan(fed)]
    (tmp_path / "outputs").mkdir()
    tables.index_page(tmp_path / "outputs", results, {"snapshot": "s", "code_version": "v"}, fed)
    for lang, name in (("en", "Federation of 12 landlords"), ("fr", "Fédération de 12 bailleurs")):
        shown = _shown((tmp_path / "outputs" / tables.index_name(lang)).read_text(encoding="utf-8"))
        assert name in shown and not re.search(r"(?i)partnership|partenariat|partners|partenaires", shown), shown
        nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [
            {"output_type": "display_data", "data": {"text/html": '<h1 id="summary">S</h1>'}}]}]}
        doc = report.assemble(report.Job("all", lang), [nb], {"snapshot": "s", "code_version": "v"}, fed)
        assert f"<title>{html.escape(text.load(fed.root, lang)('report.title', name=name))}</title>" in doc
        assert "INCREASE partnership" not in doc and "Partenariat INCREASE" not in doc


@pytest.mark.slow
def test_a_federation_s_reports_do_not_hold_it_to_the_partnership_s_targets(tmp_path, monkeypatch):
    """The programme's targets are its partners': the federation's summary does not
    compare it with them, and its reach section says that no targets were set for it,
    for the federation as for a landlord of it."""
    import papermill as pm

    from increase_eval import lab, text

    conf, raw, processed = tmp_path / "config", tmp_path / "raw", tmp_path / "processed"
    assert cli.main(["synth", "--landlords", "2", "--scale", "0.05", "--config", str(conf), "--raw", str(raw)]) == 0
    assert cli.main(["prepare", "--raw", str(raw), "--processed", str(processed), "--config", str(conf),
                     "--secret", str(tmp_path / "secret.key"), "--quiet"]) == 0
    monkeypatch.setenv("INCREASE_EVAL_CONFIG", str(conf))
    for entity, lang, notebooks in (("all", "en", ("01_summary", "03_participants_reach")),
                                    ("fed_002", "fr", ("03_participants_reach",))):
        t = text.load(conf, lang)
        for name in notebooks:
            out = tmp_path / f"{entity}_{name}.ipynb"
            pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out), kernel_name=lab.KERNEL,
                                parameters={"landlord": entity, "lang": lang, "processed": str(processed)},
                                cwd=str(ROOT / "notebooks"), progress_bar=False)
            nb = json.loads(out.read_text(encoding="utf-8"))
            shown = _shown(" ".join("".join(o["data"]["text/html"]) for c in nb["cells"] for o in c.get("outputs", [])
                                    if "text/html" in o.get("data", {})))
            assert not re.search(r"(?i)partnership|partenariat|INCREASE partn", shown), (entity, name)
            assert t("cols.target_value") not in shown and t("cols.partnership_target") not in shown
            if name == "03_participants_reach":
                assert t(t.variant("reach.targets_none", entity == "all")) in shown, (entity, shown[:2000])
