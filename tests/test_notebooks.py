"""Every notebook runs with papermill for the partnership and for one landlord, in both
languages, on the small synthetic programme; produced values are checked against the
library, and bad parameters fail at once with the valid values."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest

from increase_eval import data, employment, lab, report, text

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = report.notebooks()      # the report's seven; 00_explore is tested in test_lab.py
RUNS = [("all", "en"), ("all", "fr"), ("archipel_habitat", "fr"), ("archipel_habitat", "en")]


def visible_text(nb: dict) -> str:
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            d = out.get("data", {}).get("text/html") or ""
            d = "".join(d) if isinstance(d, list) else d
            d = re.sub(r'<img[^>]*alt="([^"]*)"[^>]*>', r" \1 ", d)
            parts.append(html.unescape(re.sub(r"<[^>]+>", " ", d)))
    return re.sub(r"[ \t\r\n]+", " ", " ".join(parts))   # keep no-break spaces: French formats use them


@pytest.fixture(scope="module")
def executed(prepared, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("notebooks")
    results = {}
    for entity, lang in RUNS:
        for path in NOTEBOOKS:
            out = out_dir / f"{entity}_{lang}_{path.name}"
            pm.execute_notebook(str(path), str(out), parameters={"landlord": entity, "lang": lang,
                                                                 "processed": str(prepared.processed)},
                                kernel_name=lab.KERNEL, cwd=str(ROOT / "notebooks"), progress_bar=False)
            results[(entity, lang, path.stem)] = json.loads(out.read_text(encoding="utf-8"))
    return results


def test_seven_numbered_notebooks_in_reading_order_with_a_tagged_parameters_cell_of_defaults_only():
    assert [p.stem for p in NOTEBOOKS] == ["01_summary", "02_data_quality", "03_participants_reach", "04_employment",
                                           "05_business_creation", "06_value_for_landlords", "07_methods"]
    for path in NOTEBOOKS + [ROOT / "notebooks" / report.EXPLORE]:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and tagged[0] is cells[0]
        typed = re.findall(r"^(\w+): (\w+) = ", "".join(tagged[0]["source"]), flags=re.M)
        names = ["landlord", "processed"] if path.name == report.EXPLORE else ["landlord", "lang", "processed"]
        assert typed == [(name, "str") for name in names], path.name
        assert "(" not in "".join(tagged[0]["source"]).split("#")[0]   # literals only, nothing computed
        # the project's kernel, bound to .venv: a Jupyter installed elsewhere runs them with the project's Python
        assert nb["metadata"]["kernelspec"] == {"name": "increase-eval", "display_name": "Python (increase-eval)",
                                                "language": "python"}, path.name


def test_the_exploration_notebook_is_never_part_of_a_report():
    assert (ROOT / "notebooks" / report.EXPLORE).is_file()
    assert report.EXPLORE not in {p.name for p in report.notebooks()}


def test_every_notebook_runs_for_each_entity_and_language(executed):
    assert len(executed) == len(RUNS) * len(NOTEBOOKS)
    for key, nb in executed.items():
        errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], key
        shown = visible_text(nb)
        banner = "SYNTHETIC DATA" if key[1] == "en" else "DONNÉES SYNTHÉTIQUES"
        assert banner in shown, key


def test_reports_are_in_the_reader_s_language(executed):
    fr = visible_text(executed[("all", "fr", "01_summary")])
    en = visible_text(executed[("all", "en", "01_summary")])
    assert "Synthèse" in fr and "Summary" not in fr
    assert "Summary" in en and "Synthèse" not in en
    assert "Limites" in visible_text(executed[("all", "fr", "07_methods")])
    assert "Limitations" in visible_text(executed[("all", "en", "07_methods")])
    assert re.search(r"\d,\d\u00a0%", fr) and re.search(r"\d\.\d%", en)


def test_employment_rate_shown_is_the_library_s(executed, prepared, config):
    d = data.load(prepared.processed, "all", config)
    six = employment.outcome_rates(d.participants, config.programme["programme"]["data_end"]).set_index("measure").loc["6m"]
    for lang in ("en", "fr"):
        t = text.Text(lang, {})
        shown = visible_text(executed[("all", lang, "04_employment")])
        row = f"{t.number(six['n'])} {t.number(six['k'])} {t.pct(six['rate'])} {t.pct(six['lower'])} {t.pct(six['upper'])}"
        assert row in shown, row


def test_a_landlord_s_report_counts_only_its_people(executed, prepared, config):
    d = data.load(prepared.processed, "archipel_habitat", config)
    shown = visible_text(executed[("archipel_habitat", "en", "03_participants_reach")])
    assert f"{len(d.participants):,} people were engaged" in shown
    assert "Southern Housing" not in shown and "Archipel Habitat" in shown


def test_unknown_parameters_fail_at_once_with_the_valid_values(prepared, tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(NOTEBOOKS[0]), str(tmp_path / "x.ipynb"), kernel_name=lab.KERNEL, progress_bar=False,
                            parameters={"landlord": "atlantis", "processed": str(prepared.processed)})
    assert "unknown landlord 'atlantis'; valid values: all, fr, uk, southern_housing" in str(err.value)
    with pytest.raises(pm.PapermillExecutionError, match="unknown language 'de'; valid values: fr, en"):
        pm.execute_notebook(str(NOTEBOOKS[0]), str(tmp_path / "y.ipynb"), kernel_name=lab.KERNEL, progress_bar=False,
                            parameters={"lang": "de", "processed": str(prepared.processed)})


def test_help_notebook_describes_each_parameter_with_its_type_and_default():
    for path in NOTEBOOKS + [ROOT / "notebooks" / report.EXPLORE]:
        out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(path)],
                             capture_output=True, text=True, check=True).stdout
        assert "Unknown type" not in out, path.name
        assert re.search(r"landlord: str \(default \"all\"\)\s+\"all\" \(partnership\), \"fr\", \"uk\"", out), out
        assert path.name == report.EXPLORE or re.search(r"lang: str \(default \"en\"\)\s+report language", out), out
        assert re.search(r"processed: str \(default \"../data/processed\"\)\s+folder written by `increase-eval prepare`",
                         out), out
