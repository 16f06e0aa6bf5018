"""report --scheduler: the same report jobs on a Dask distributed cluster (a LocalCluster of
two worker processes here) make the same reports as the local pool, write the same state
files, and survive a worker lost mid-job and a job process killed on a live worker: the
report is made again and published whole.

Kept economical: a federation of three small landlords (synth --landlords 3), two UK
reports in one language."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from increase_eval import cli, cluster, config as cfg, prepare, report, synth

pytest.importorskip("distributed", reason="report --scheduler needs the dask extra: pip install -e '.[dask]'")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds job processes in /proc")

ENTITIES = ["fed_001", "fed_003"]      # both shaped like UK partners: two English reports
DATE = re.compile(r"\b\d{1,2}(/\d{2}/\d{4}| [A-Z][a-z]+ \d{4})\b")


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("federation")
    synth.federation(tmp / "config", 3, seed=7)
    config = cfg.load(tmp / "config")
    synth.generate(tmp / "raw", config, seed=7, scale=0.1)
    prepare.run(tmp / "raw", tmp / "processed", config, secret=tmp / "secret.key", say=lambda m: None)
    return tmp


@pytest.fixture(scope="module")
def local(fed):
    """The reports made by the local pool: what the cluster must make too."""
    out = fed / "local"
    results = report.run(fed / "processed", out, fed / "config", entities=ENTITIES, workers=2, progress=False)
    assert [(r.job.name, r.status) for r in results] == [("fed_001/en", "done"), ("fed_003/en", "done")]
    return out


@pytest.fixture(scope="module")
def dask_cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as c:
        yield c


def _same_reports(a: Path, b: Path) -> None:
    """The same HTML byte for byte (but the date the report was made), the same workbook
    cells, the same state file key and files."""
    for entity in ENTITIES:
        one = (a / entity / "report_en.html").read_text(encoding="utf-8")
        two = (b / entity / "report_en.html").read_text(encoding="utf-8")
        assert DATE.sub("DATE", one) == DATE.sub("DATE", two), entity
        cells = []
        for out in (a, b):
            wb = load_workbook(out / entity / "tables_en.xlsx")
            cells.append([[c for row in ws.iter_rows(values_only=True) for c in row] for ws in wb.worksheets[1:]])
        assert cells[0] == cells[1], entity


def _state(out: Path, entity: str) -> dict:
    import json

    return json.loads((out / entity / ".state_en.json").read_text(encoding="utf-8"))


def test_the_cluster_makes_the_same_reports_and_state_as_the_local_pool(fed, local, dask_cluster):
    out = fed / "dask"
    results = report.run(fed / "processed", out, fed / "config", entities=ENTITIES, progress=False,
                         scheduler=dask_cluster.scheduler_address)
    assert [(r.job.name, r.status) for r in results] == [("fed_001/en", "done"), ("fed_003/en", "done")]
    _same_reports(local, out)
    for entity in ENTITIES:
        assert _state(out, entity)["key"] == _state(local, entity)["key"]
        assert _state(out, entity)["headline"] == _state(local, entity)["headline"]
    assert 'href="fed_001/report_en.html"' in (out / "index.html").read_text(encoding="utf-8")
    # incremental the same way: nothing changed, nothing made, on the cluster or here
    again = report.run(fed / "processed", out, fed / "config", entities=ENTITIES, progress=False,
                       scheduler=dask_cluster.scheduler_address)
    assert {r.status for r in again} == {"skipped"}
    here = report.run(fed / "processed", out, fed / "config", entities=ENTITIES, progress=False)
    assert {r.status for r in here} == {"skipped"}


def _jobs(outputs: Path) -> dict[str, tuple[int, int]]:
    """The live report job processes writing into `outputs`: entity -> (pid, parent pid)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] in ("Z", "X") or b"increase_eval.report" not in cmd or str(outputs).encode() not in cmd:
            continue
        found[cmd[cmd.index(b"--job") + 1].decode()] = (int(entry.name), int(stat[1]))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _left(outputs: Path) -> list[str]:
    """Processes still holding a path of `outputs` on their command line (jobs, kernels)."""
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                if str(outputs).encode() in (entry / "cmdline").read_bytes():
                    left.append(entry.name)
            except OSError:
                pass
    return left


def test_a_worker_lost_mid_job_and_a_job_killed_on_a_live_worker_are_run_again_and_published_whole(
        fed, local, dask_cluster):
    out = fed / "lost"
    done: dict = {}

    def run():
        done["results"] = report.run(fed / "processed", out, fed / "config", entities=ENTITIES, progress=False,
                                     scheduler=dask_cluster.scheduler_address, retries=2)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    jobs = {}
    # mid-job: both jobs running, their kernels started (a connection file in their work folders)
    while time.monotonic() < deadline:
        jobs = _jobs(out)
        kernels = list(out.glob("*/.work-*/kernel.json"))
        if len(jobs) == 2 and len(kernels) == 2:
            break
        time.sleep(0.2)
    assert len(jobs) == 2, jobs
    time.sleep(3)
    lost_job, lost_worker = jobs["fed_001"]
    killed_job, its_worker = jobs["fed_003"]
    assert lost_worker != its_worker        # one job on each worker
    subprocess.run(["kill", "-KILL", str(lost_worker)], check=True)      # a worker lost mid-job
    os.killpg(killed_job, signal.SIGKILL)                               # a job process killed, its worker alive
    assert _wait(lambda: not _alive(lost_job) and not _alive(killed_job), 10), "the jobs outlived their kill"
    assert _alive(its_worker)
    thread.join(300)
    assert not thread.is_alive()
    results = done["results"]
    assert [(r.job.name, r.status) for r in results] == [("fed_001/en", "done"), ("fed_003/en", "done")], \
        [(r.job.name, r.status, r.error) for r in results]
    _same_reports(local, out)
    for entity in ENTITIES:           # the state file describes the files published
        assert report._up_to_date(out, report.Job(entity, "en"), _state(local, entity)["key"]) is not None
    assert _wait(lambda: not _left(out), 10), "a job or kernel of a lost job is still running"
    # the killed jobs' work folders are removed by the next run, which has nothing to make
    again = report.run(fed / "processed", out, fed / "config", entities=ENTITIES, progress=False)
    assert {r.status for r in again} == {"skipped"}
    assert not list(out.glob("*/.work-*"))


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_scheduler_nobody_answers_is_one_line_of_error(fed, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "2s")
    code = cli.main(["report", "--processed", str(fed / "processed"), "--outputs", str(tmp_path / "o"), "--config",
                     str(fed / "config"), "--landlord", "fed_001", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err


def test_workers_that_do_not_see_the_same_processed_data_are_named(fed, tmp_path, dask_cluster):
    """A worker must see the run's processed data at the same path (a shared folder)."""
    from dask.distributed import Client

    from increase_eval.errors import UserError

    other = tmp_path / "processed"
    shutil.copytree(fed / "processed", other)
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        config = cfg.load(fed / "config")
        inputs = report.inputs_digest(config)
        assert cluster.check_workers(client, other, tmp_path, fed / "config", inputs) == 2
        with pytest.raises(UserError, match="runs other code"):
            cluster.check_workers(client, other, tmp_path, fed / "config", "0" * 64)
        with pytest.raises(UserError, match=r"does not see .*manifest\.json"):
            cluster.check_workers(client, tmp_path / "nowhere", tmp_path, fed / "config", inputs)


def test_without_a_scheduler_dask_is_not_imported():
    code = ("import sys; from increase_eval import cli, report, tables; cli.build_parser(); "
            "assert not {'dask', 'distributed'} & set(sys.modules), sorted(m for m in sys.modules if 'dask' in m)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
