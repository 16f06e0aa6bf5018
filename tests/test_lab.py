"""The evaluator's JupyterLab: the project's named kernel, registered in the environment
and used by every notebook (run through nbclient from another working directory, as a
Jupyter installed elsewhere would), tables that stay DataFrames in Lab but reach a report
once, the exploration notebook and its tidy frames, and outputs kept out of commits."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from increase_eval import explore, lab, report, sheets

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def tasks():
    """tasks.py, the set-up the README's commands run."""
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the kernel ------------------------------------------------------------------------------------

def test_the_named_kernel_is_registered_in_the_environment_and_runs_its_python():
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_data_dir

    assert lab.registered() and lab.kernel_dir().is_relative_to(Path(sys.prefix))
    spec = KernelSpecManager().get_kernel_spec(lab.KERNEL)
    assert spec.argv[0] == sys.executable and spec.display_name == lab.DISPLAY_NAME
    assert not (Path(jupyter_data_dir()) / "kernels" / lab.KERNEL).exists()     # not in the user's home


def test_registering_is_idempotent(tmp_path):
    assert lab.ensure_kernel(tmp_path) is True
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / lab.KERNEL / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and spec["display_name"] == lab.DISPLAY_NAME
    assert lab.ensure_kernel(tmp_path) is False


def test_reports_run_in_this_environment_s_kernel_whatever_else_is_registered(tmp_path, monkeypatch):
    stale = tmp_path / "another-clone" / "kernels" / lab.KERNEL
    stale.mkdir(parents=True)
    (stale / "kernel.json").write_text(json.dumps({"argv": ["/another/clone/.venv/bin/python", "-m", "ipykernel_launcher",
                                                            "-f", "{connection_file}"], "display_name": "old",
                                                   "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "another-clone"))     # found first by any Jupyter
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(lab.KERNEL).argv[0] == "/another/clone/.venv/bin/python"
    assert lab.spec_manager().get_kernel_spec(lab.KERNEL).argv[0] == sys.executable


def test_every_notebook_names_the_project_kernel_and_the_lab_command_opens_notebooks_with_it():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        assert json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"] == lab.KERNEL, path.name
    cmd, env = tasks().lab_command(["--no-browser"])
    assert cmd[1:3] == ["lab", f"--ServerApp.root_dir={NOTEBOOKS}"] and "--no-browser" in cmd
    assert f"--MultiKernelManager.default_kernel_name={lab.KERNEL}" in cmd
    assert env["JUPYTER_PATH"].split(":")[0] == str(ROOT / ".venv" / "share" / "jupyter")


# --- every notebook, through nbclient, from another working directory -----------------------------

def run(path: Path, params: dict, cwd: Path) -> tuple[nbformat.NotebookNode, NotebookClient]:
    """Execute a notebook as a Jupyter installed elsewhere would: the kernel its metadata
    names, the working directory given, then one cell saying which Python ran it."""
    nb = parameterize_notebook(load_notebook_node(str(path)), params)     # as papermill would inject them
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb, client


def errors(nb) -> list:
    return [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("another-folder")


@pytest.mark.parametrize("name", [p.name for p in report.notebooks()])
def test_every_report_notebook_runs_in_the_named_kernel_from_another_directory(name, prepared, elsewhere):
    nb, client = run(NOTEBOOKS / name, {"landlord": "all", "lang": "en", "processed": str(prepared.processed)},
                     elsewhere)
    assert client.kernel_name == lab.KERNEL
    assert errors(nb) == []
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.executable    # the project's Python


def test_the_exploration_notebook_runs_for_a_landlord_and_says_its_outputs_are_not_protected(prepared, elsewhere):
    nb, client = run(NOTEBOOKS / report.EXPLORE, {"landlord": "archipel_habitat", "processed": str(prepared.processed)},
                     elsewhere)
    assert client.kernel_name == lab.KERNEL and errors(nb) == []
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "stream")
    assert explore.NOTICE in printed
    figures = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) >= 7
    notes = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "not disclosure-controlled" in notes and "stay on your machine" in notes


def test_tidy_frames_in_one_call(prepared, config):
    from increase_eval import data

    d = data.load(prepared.processed, "archipel_habitat", config)
    x = explore.frames("archipel_habitat", prepared.processed)
    assert len(x.people) == len(d.participants) and set(x.people["landlord"]) == {"Archipel Habitat"}
    assert x.people["neighbourhood"].notna().all() and "tenancy_id" not in x.people
    assert len(x.sessions) == len(d.sessions.merge(d.participants[["person_id"]]))
    assert set(x.arrears["group"].unique()) == {"participant in work", "participant", "comparison"}
    worked = x.arrears[x.arrears["group"] == "participant in work"]
    assert worked["months_from_work"].notna().all() and (worked["months_from_work"] == 0).any()
    assert x.arrears.loc[x.arrears["group"] != "participant in work", "months_from_work"].isna().all()
    assert {"measure", "score", "wave"} <= set(x.wellbeing.columns)
    with pytest.raises(ValueError, match="unknown landlord 'atlantis'; valid values: all"):
        explore.frames("atlantis", prepared.processed)


# --- a table in Lab -------------------------------------------------------------------------------------

def test_a_table_is_a_dataframe_in_lab_and_reaches_a_report_once(prepared, elsewhere):
    cells = [
        f"from increase_eval import indicators, notebook\nctx = notebook.setup('all', 'en', {str(prepared.processed)!r})\n"
        "rows = indicators.accounting(ctx.data.manifest, ctx.data.landlords)",
        "ctx.table(rows, {'landlord': 'cols.landlord', 'rows_in': 'cols.rows_in', 'rejected': 'cols.rejected'},\n"
        "          counts=['rows_in', 'rejected'], labels={'landlord': ctx.landlord_name})",
        "t = ctx.table(rows, {'landlord': 'cols.landlord', 'rejected': 'cols.rejected'}, counts=['rejected'])\n"
        "type(t).__name__, list(t.columns), t['landlord'].iloc[0] in ctx.data.landlords, type(t.head()).__name__",
        "t",
    ]
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": lab.KERNEL, "display_name": lab.DISPLAY_NAME,
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(elsewhere)}}).execute()
    shown = [[(o["output_type"], sorted(o.get("data", {}))) for o in c.outputs] for c in nb.cells]
    # the cell ending with ctx.table(...) shows the formatted table once, and no raw frame
    # (beside the HTML, the table's cells as JSON for the report's workbook: sheets.MIME)
    assert shown[1] == [("display_data", sorted(["text/html", sheets.MIME]))]
    assert re.search(r'<table class="[^"]*report-table', nb.cells[1].outputs[0]["data"]["text/html"])
    # assigned, it is a DataFrame of the shown columns under their own names, with ids
    assert shown[2][0][0] == "display_data" and shown[2][1] == ("execute_result", ["text/plain"])
    assert nb.cells[2].outputs[1]["data"]["text/plain"] == "('Table', ['landlord', 'rejected'], True, 'DataFrame')"
    # typed in a later cell, it shows as a DataFrame
    assert 'class="dataframe"' in nb.cells[3].outputs[0]["data"]["text/html"]
    assert len(re.findall(r'<table class="[^"]*report-table', report._outputs_html({"cells": nb.cells[:3]}))) == 2


# --- outputs never committed -----------------------------------------------------------------------------

def test_committed_notebooks_are_exactly_what_the_filter_commits():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        stripped = subprocess.run([sys.executable, "-m", "nbstripout", "--keep-id"], input=path.read_bytes(),
                                  capture_output=True, check=True).stdout
        assert stripped == path.read_bytes(), path.name


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_set_up_s_git_filter_keeps_outputs_out_of_commits(tmp_path):
    repo = tmp_path / "clone"
    repo.mkdir()
    git = lambda *args: subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)  # noqa: E731
    git("init", "-q")
    shutil.copy2(ROOT / ".gitattributes", repo / ".gitattributes")
    t = tasks()
    t.PY = Path(sys.executable)
    t.strip_filter(repo)
    t.strip_filter(repo)                       # idempotent
    assert git("config", "--local", "--get", "filter.nbstripout.clean").stdout.strip().endswith("-m nbstripout --keep-id")
    nb = nbformat.read(NOTEBOOKS / "04_employment.ipynb", as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="person Pa7f59b2c089b8f85\n")]
    nb.cells[1].execution_count = 3
    nbformat.write(nb, repo / "04_employment.ipynb")
    git("add", "04_employment.ipynb")
    staged = json.loads(git("show", ":04_employment.ipynb").stdout)
    assert all(not c.get("outputs") and not c.get("execution_count") for c in staged["cells"] if c["cell_type"] == "code")
    assert [c["id"] for c in staged["cells"]] == [c["id"] for c in nb.cells]
    assert staged["metadata"]["kernelspec"]["name"] == lab.KERNEL
    # the worktree keeps its outputs; a worktree of a shared repository gets no filter from set-up
    assert "Pa7f59b2c089b8f85" in (repo / "04_employment.ipynb").read_text()
    linked = tmp_path / "worktree"
    linked.mkdir()
    (linked / ".git").write_text("gitdir: elsewhere\n")
    t.strip_filter(linked)
    assert (linked / ".git").read_text() == "gitdir: elsewhere\n"
