"""Kill safety: `prepare` and `report` killed with SIGKILL (the top process alone, not its
group: the case that used to leak) at seeded random moments leave no process of the run
alive, their outputs whole and no empty failed/ folder, and the next run completes and
recovers. A run's processes are found by a unique marker in the top process's
environment, which every process it starts inherits (read from /proc: Linux only)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from increase_eval import lifeline, report

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
MARK = "INCREASE_EVAL_TEST_RUN"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds a run's processes in /proc")


def run_processes(marker: str) -> dict[int, str]:
    """The live processes (zombies are dead) carrying the marker: PID -> command line."""
    needle = f"{MARK}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:       # ended meanwhile, or not ours
            continue
        if state not in ("Z", "X"):
            found[int(entry.name)] = cmdline
    return found


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_at(cmd: list[str], ready, delay: float) -> tuple[list[str], dict[int, str]]:
    """Start `cmd` with a fresh marker, wait until `ready(processes, top)` (or its end),
    then `delay` seconds more, SIGKILL the top process alone and wait up to 3 s for every
    process of the run to end (they get SIGKILL at once; a job left running would take
    longer to finish). Returns the command lines alive at the kill, and the processes
    still alive after the 3 s (which are then killed, by PID)."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "increase_eval.cli", *cmd], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, MARK: marker})
    try:
        assert wait_for(lambda: proc.poll() is not None or ready(run_processes(marker), proc.pid), 180)
        time.sleep(delay)           # the seeded random part of the moment
        at_kill = list(run_processes(marker).values())
        proc.kill()
        proc.wait()
        wait_for(lambda: not run_processes(marker), 3)
        return at_kill, run_processes(marker)
    finally:
        for pid in run_processes(marker):       # never leave a test's processes running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_whole_snapshot(processed: Path) -> None:
    """Every table the manifest lists, with the rows it says, and nothing else."""
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    for name, rows in manifest["tables"].items():
        parts = sorted((processed / name).glob("*.parquet")) if name == "rent_accounts" else \
            [processed / f"{name}.parquet"]
        assert parts and sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == rows, name
    listed = {f"{n}.parquet" for n in manifest["tables"]} | {"manifest.json", "rent_accounts"}
    assert {p.name for p in processed.iterdir()} <= listed | {".gitkeep", "README.md"}


def assert_whole_outputs(outputs: Path) -> None:
    for path in outputs.glob("*/report_*.html"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and text.endswith("</body></html>\n"), path
    for path in outputs.glob("*/tables_*.xlsx"):
        assert load_workbook(path, read_only=True).sheetnames, path
    assert [d for d in outputs.glob("*/failed") if not any(d.iterdir())] == []


def test_prepare_killed_at_random_moments_leaves_no_process_and_the_data_whole(prepared, tmp_path):
    processed = tmp_path / "processed"
    shutil.copytree(prepared.processed, processed)
    cmd = ["prepare", "--raw", str(prepared.raw), "--processed", str(processed), "--secret", str(prepared.secret),
           "--config", str(CONFIG), "--quiet"]
    started = lambda found, top: True                                              # noqa: E731
    workers = lambda found, top: any(p != top and c == found.get(top) for p, c in found.items())  # noqa: E731
    rng = random.Random(20261128)
    moments = [(started, rng.uniform(0.2, 1.5)), (workers, rng.uniform(0, 0.3)), (workers, rng.uniform(0, 0.3))]
    with_workers = 0
    for ready, delay in moments:
        at_kill, alive = kill_at(cmd, ready, delay)
        assert alive == {}, f"killed {delay:.2f} s after {ready.__name__}: {alive}"
        with_workers += len(at_kill) > 1
        assert_whole_snapshot(processed)
    assert with_workers >= 1           # the case that leaked: killed while its pool workers ran
    again = subprocess.run([sys.executable, "-m", "increase_eval.cli", *cmd], cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_whole_snapshot(processed)
    assert json.loads((processed / "manifest.json").read_text())["totals"] == prepared.manifest["totals"]
    assert not list(tmp_path.glob(".processed.*"))


def test_report_killed_at_random_moments_leaves_no_process_and_the_next_run_recovers(reports, tmp_path):
    outputs = tmp_path / "outputs"
    shutil.copytree(reports.outputs, outputs)
    entities = ["archipel_habitat", "neotoa"]           # two jobs at once, each with its kernel
    cmd = ["report", "--processed", str(reports.processed), "--outputs", str(outputs), "--config", str(CONFIG),
           "--landlord", *entities, "--force", "--workers", "2"]
    job = lambda found, top: any("increase_eval.report --job" in c for c in found.values())  # noqa: E731
    kernel = lambda found, top: any("ipykernel" in c for c in found.values())            # noqa: E731
    rng = random.Random(20261129)
    moments = [(job, rng.uniform(0, 0.5)), (kernel, rng.uniform(0, 1.0)), (kernel, rng.uniform(2.0, 5.0))]
    with_kernels = 0
    for ready, delay in moments:
        at_kill, alive = kill_at(cmd, ready, delay)
        assert alive == {}, f"killed {delay:.2f} s after {ready.__name__}: {alive}"
        with_kernels += any("ipykernel" in c for c in at_kill)
        assert_whole_outputs(outputs)
    assert with_kernels >= 1
    (outputs / "fr" / "failed").mkdir(parents=True)       # as older versions left them
    results = report.run(reports.processed, outputs, CONFIG, entities=entities, progress=False)
    assert {r.status for r in results} <= {"done", "skipped"}
    assert_whole_outputs(outputs)
    assert not (outputs / "fr" / "failed").exists()
    assert not list(outputs.glob("*/.work-*")) and not list(outputs.glob("*/.report_*"))
    index = (outputs / "index.html").read_text(encoding="utf-8")
    assert 'href="neotoa/report_fr.html"' in index
    for r in results:        # every report is the one its state file describes
        state = json.loads((outputs / r.job.entity / f".state_{r.job.lang}.json").read_text())
        assert {n: report._sha256(outputs / r.job.entity / n) for n in state["files"]} == state["files"]
    again = report.run(reports.processed, outputs, CONFIG, entities=entities, progress=False)
    assert {r.status for r in again} == {"skipped"}


def test_a_report_published_by_a_run_killed_before_its_state_was_written_is_made_again(reports, tmp_path):
    """The job published, then the run was killed before writing the state file: the state
    still names the inputs of the report before, and must not let the next run skip it."""
    outputs = tmp_path / "outputs"
    shutil.copytree(reports.outputs, outputs)
    path = outputs / "archipel_habitat" / "report_fr.html"
    path.write_bytes(path.read_bytes().replace(b"</main>", b"<p>made from other inputs</p></main>"))
    results = report.run(reports.processed, outputs, CONFIG, entities=["archipel_habitat"], progress=False)
    assert [r.status for r in results] == ["done"]
    assert b"made from other inputs" not in path.read_bytes()
    again = report.run(reports.processed, outputs, CONFIG, entities=["archipel_habitat"], progress=False)
    assert [r.status for r in again] == ["skipped"]


def test_a_job_whose_run_is_gone_publishes_nothing(reports, tmp_path, monkeypatch):
    outputs = tmp_path / "outputs"
    shutil.copytree(reports.outputs, outputs)
    before = {p: p.read_bytes() for p in outputs.rglob("*") if p.is_file()}
    job = ["--job", "archipel_habitat", "fr", "--processed", str(reports.processed), "--outputs", str(outputs),
           "--config", str(CONFIG), "--timeout", "60"]
    # started by a run that is already gone: it exits at once
    gone = subprocess.run([sys.executable, "-m", "increase_eval.report", *job, "--parent", "1"], capture_output=True,
                          timeout=120)
    assert gone.returncode == lifeline.ORPHANED_EXIT
    # the run is gone by the time the report is ready: nothing is renamed into place
    empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    monkeypatch.setattr(report, "_start_kernel", lambda work: None)
    monkeypatch.setattr(report, "_execute_notebook", lambda nb, out, *a: out.write_text(json.dumps(empty)))
    args = (report.Job("archipel_habitat", "fr"), reports.processed, outputs, CONFIG, 60)
    with pytest.raises(lifeline.Orphaned):
        report.run_job(*args, parent=os.getpid())        # never this process's parent
    assert {p: p.read_bytes() for p in outputs.rglob("*") if p.is_file()} == before
    made = report.run_job(*args, parent=os.getppid())    # the same job, its run alive: published
    assert set(made["files"]) == {"report_fr.html", "tables_fr.xlsx"}
    assert report._sha256(outputs / "archipel_habitat" / "report_fr.html") == made["files"]["report_fr.html"]
    assert not list(outputs.glob("*/.work-*")) and not list(outputs.glob("*/failed"))


@pytest.mark.parametrize("prctl", [True, False], ids=["pdeathsig", "watcher"])
def test_a_bound_process_dies_with_its_parent(prctl):
    """A grandchild bound to its parent dies when the parent is killed with SIGKILL: with
    Linux's PR_SET_PDEATHSIG, and with the polling thread used elsewhere."""
    child = ("import sys, time, increase_eval.lifeline as l\n"
             f"l._PRCTL = l._PRCTL if {prctl} else None\n"
             "l.bind(int(sys.argv[1]))\n"
             "print('bound', flush=True)\n"
             "time.sleep(120)\n")
    parent = ("import os, subprocess, sys, time\n"
              f"subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())])\n"
              "time.sleep(120)\n")
    marker = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, env={**os.environ, MARK: marker},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "bound\n"     # written by the grandchild
        assert len(run_processes(marker)) == 2
        proc.kill()
        proc.wait()
        assert wait_for(lambda: not run_processes(marker), 5)
    finally:
        for pid in run_processes(marker):
            os.kill(pid, signal.SIGKILL)
        proc.stdout.close()
