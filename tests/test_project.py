"""The project's own promises: the conda environment lists what pip installs, synthetic
data is deterministic and never written over real exports, committed notebooks carry no
outputs, and the data folders hold no data in git."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from increase_eval import synth
from increase_eval.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^]]*\])?\s*(.*)$", requirement)   # pip's [extras] aside
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    assert conda.pop("python") == ">=" + project["requires-python"].removeprefix(">=")
    conda.pop("pip")
    assert conda == pip


def test_synthetic_data_is_deterministic(tmp_path, config):
    a = synth.generate(tmp_path / "a" / "raw", config, seed=11, scale=0.03)
    b = synth.generate(tmp_path / "b" / "raw", config, seed=11, scale=0.03)
    c = synth.generate(tmp_path / "c" / "raw", config, seed=12, scale=0.03)
    files = sorted(p.relative_to(tmp_path / "a" / "raw") for p in (tmp_path / "a" / "raw").rglob("*.csv"))
    assert len(files) > 40
    for f in files:
        assert (tmp_path / "a" / "raw" / f).read_bytes() == (tmp_path / "b" / "raw" / f).read_bytes(), f
    assert a == b and a != c


def test_synth_never_writes_over_real_exports(tmp_path, config):
    real = tmp_path / "raw" / "neotoa"
    real.mkdir(parents=True)
    (real / "NEOTOA_PARTICIPANTS.csv").write_text("real data")
    with pytest.raises(UserError, match="not synthetic: synth never writes over real data"):
        synth.generate(tmp_path / "raw", config, scale=0.01)
    assert (real / "NEOTOA_PARTICIPANTS.csv").read_text() == "real data"


def test_scale_makes_proportionally_larger_programmes(tmp_path, config):
    small = synth.generate(tmp_path / "s" / "raw", config, scale=0.05)
    large = synth.generate(tmp_path / "l" / "raw", config, scale=0.2)
    assert large["people"] == pytest.approx(4 * small["people"], rel=0.01)
    assert small["people"] == pytest.approx(8700 * 0.05, rel=0.01)


def test_committed_notebooks_carry_no_outputs():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for path in tracked:
        nb = json.loads((ROOT / path).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path


def test_no_data_is_tracked_by_git():
    tracked = subprocess.run(["git", "ls-files", "data", "outputs", ".secrets"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert all(Path(p).name in (".gitkeep", "README.md") for p in tracked), tracked


def test_every_processed_column_is_documented():
    from increase_eval.schema import PROCESSED

    doc = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    for table, columns in PROCESSED.items():
        assert f"## {table}" in doc, table
        section = doc.split(f"## {table}", 1)[1].split("\n## ", 1)[0]
        for column in columns:
            if column.startswith("wellbeing_") and "wellbeing_1" in section:
                continue
            assert column in section, (table, column)
