"""report --scheduler: the same report jobs on a Dask distributed cluster (a LocalCluster of
two worker processes here) make the same reports as the local pool, write the same state
files, and survive a worker lost mid-job and a job process killed on a live worker: the
report is made again and published whole.

prepare --scheduler: each landlord read as a Dask task writes the same processed tables and
manifest as the local pool; a plain-text connection to another machine is refused before
anything is read; a landlord with a broken file is skipped as locally; a worker killed
mid-job (its part file half-written) has its job run again and nothing half-written published.

Kept economical: a federation of three small landlords (synth --landlords 3), two UK
reports in one language; one LocalCluster for the module."""

from __future__ import annotations

import json
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
    # the local pool (two processes), which prepare --scheduler must match
    prepare.run(tmp / "raw", tmp / "processed", config, secret=tmp / "secret.key", say=lambda m: None, workers=2)
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
    code = ("import sys; from increase_eval import cli, prepare, report, tables; cli.build_parser(); "
            "assert not {'dask', 'distributed'} & set(sys.modules), sorted(m for m in sys.modules if 'dask' in m)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# --- prepare --scheduler ----------------------------------------------------------------------

def _same_processed(a: Path, b: Path) -> None:
    """The same files byte for byte (parquet tables and rent panel parts, nothing else), and
    the same manifest but for when it was made."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for name in files:
        if name.name != "manifest.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    one, two = (json.loads((x / "manifest.json").read_text(encoding="utf-8")) for x in (a, b))
    assert {k: v for k, v in one.items() if k != "created"} == {k: v for k, v in two.items() if k != "created"}


def test_prepare_on_the_cluster_writes_the_same_processed_data_as_the_local_pool(fed, dask_cluster, tmp_path):
    said = []
    outcome = prepare.run(fed / "raw", tmp_path / "processed", cfg.load(fed / "config"), secret=fed / "secret.key",
                          say=said.append, scheduler=dask_cluster.scheduler_address)
    assert not outcome.errors
    _same_processed(fed / "processed", tmp_path / "processed")
    assert sorted(m for m in said if m.startswith("read ")) == ["read Bailleur 002", "read Landlord 001",
                                                                "read Landlord 003"]
    # LocalCluster's workers keep Dask's default memory management: the run says they may spill
    assert any("may spill results" in m and "distributed.worker.memory.target" in m for m in said)
    assert not [p for p in tmp_path.iterdir() if p.name != "processed"], "staging or probe files left"


@pytest.mark.parametrize("address, refused", [
    ("tcp://192.0.2.7:8786", True), ("192.0.2.7:8786", True), ("tcp://scheduler.example.org:8786", True),
    ("ws://127.0.0.1:8786", True), ("ucx://10.0.0.1:8786", True), ("tcp://[2001:db8::1]:8786", True),
    ("tls://192.0.2.7:8786", False), ("tls://scheduler.example.org:8786", False), ("tcp://127.0.0.1:8786", False),
    ("tcp://localhost:8786", False), ("127.0.0.1:8786", False), ("tcp://[::1]:8786", False),
    ("tcp://127.0.1.1:8786", False), ("inproc://10.0.0.1/123/1", False),
])
def test_only_tls_or_this_machine_may_carry_the_secret(address, refused):
    assert (cluster.transport_problem(address) is not None) == refused


def test_prepare_refuses_a_plain_tcp_scheduler_on_another_machine_before_reading_anything(tmp_path, capsys):
    raw = tmp_path / "raw"
    (raw / "fed_001").mkdir(parents=True)
    code = cli.main(["prepare", "--raw", str(raw), "--processed", str(tmp_path / "processed"),
                     "--config", str(tmp_path / "config"), "--secret", str(tmp_path / "secret.key"),
                     "--scheduler", "tcp://192.0.2.7:8786"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "tcp://192.0.2.7:8786 is not encrypted (tcp://) and not on this machine's loopback interface" in err
    assert "pseudonymisation secret" in err and "tls://192.0.2.7:8786" in err and cluster.TLS_DOCS in err
    # not even the configuration or the secret was read (neither exists), nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_prepare_on_the_cluster_skips_a_landlord_with_a_broken_file_and_prepares_the_others(
        fed, dask_cluster, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(fed / "raw", raw)
    (raw / "fed_002" / "inscrits_increase.csv").write_bytes(b"")
    config = cfg.load(fed / "config")
    said = []
    outcome = prepare.run(raw, tmp_path / "processed", config, secret=fed / "secret.key", say=said.append,
                          scheduler=dask_cluster.scheduler_address)
    assert len(outcome.errors) == 1 and outcome.errors[0].startswith("fed_002: inscrits_increase.csv: ")
    assert outcome.errors[0].endswith("Bailleur 002 skipped")
    assert any(m.startswith("skipped Bailleur 002: fed_002: inscrits_increase.csv") for m in said)
    manifest = json.loads((tmp_path / "processed" / "manifest.json").read_text(encoding="utf-8"))
    local = json.loads((fed / "processed" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["landlords"]["fed_002"]["status"] == "not processed"
    for lid in ("fed_001", "fed_003"):     # the others read whole, exactly as without the broken landlord
        assert manifest["landlords"][lid] == local["landlords"][lid]
    assert sorted(p.name for p in (tmp_path / "processed" / "rent_accounts").iterdir()) == \
        ["fed_001.parquet", "fed_003.parquet"]


def test_prepare_names_workers_that_do_not_see_the_raw_exports_or_run_other_code(fed, dask_cluster, tmp_path,
                                                                                  monkeypatch):
    from dask.distributed import Client

    from increase_eval.errors import UserError

    stage = tmp_path / "stage"
    stage.mkdir()
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        assert len(cluster.check_prepare_workers(client, fed / "raw", ["fed_001", "fed_002"], stage)) == 2
        with pytest.raises(UserError, match=r"does not see .*nowhere/fed_001"):
            cluster.check_prepare_workers(client, tmp_path / "nowhere", ["fed_001"], stage)
        real = cluster.prepare_code()      # this process only: the workers keep their own
        monkeypatch.setattr(cluster, "prepare_code", lambda: {**real, "code": "0" * 64})
        with pytest.raises(UserError, match="runs other increase-eval code"):
            cluster.check_prepare_workers(client, fed / "raw", ["fed_001"], stage)
    assert not list(stage.iterdir()), "a probe file was left in the staging folder"


def test_a_job_failing_on_a_worker_stops_prepare_publishes_nothing_and_no_log_holds_the_secret(
        fed, dask_cluster, tmp_path):
    """A job that raises (here a mapping without its register, found on the worker) stops the
    run as locally, with nothing published; Dask's own log of the failed task (key, task,
    exception, traceback: Dask 2026.8 shows the task as `_process_landlord(...)`, an older
    one quoted its arguments, where the Pseudonymiser shows as `Pseudonymiser(<secret>)`)
    holds neither the secret nor its bytes, on the workers or the scheduler."""
    from dask.distributed import Client

    from increase_eval.errors import UserError

    config = cfg.load(fed / "config")
    config.landlords["fed_003"].files.pop("participants")
    with pytest.raises(UserError, match="no mapping for the participants table"):
        prepare.run(fed / "raw", tmp_path / "processed", config, secret=fed / "secret.key", say=lambda m: None,
                    scheduler=dask_cluster.scheduler_address)
    assert not list(tmp_path.iterdir()), "something was published or left behind"
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        logs = [m for lines in client.get_worker_logs().values() for _, m in lines]
        logs += [m for _, m in client.get_scheduler_logs()]
    text = "\n".join(logs)
    assert "Compute Failed" in text and "prepare-fed_003-" in text
    key = (fed / "secret.key").read_text(encoding="ascii").strip()
    assert key not in text and key.upper() not in text and repr(bytes.fromhex(key))[2:-1] not in text


def _lose_first_attempt(landlord: str, marker: str, log: str) -> int:
    """Installed in each worker process: the first attempt at `landlord`'s job writes half its
    rent panel part (under its temporary name) and then kills its worker with SIGKILL, as a
    machine that dies mid-write would; every attempt is logged with its worker's PID."""
    from increase_eval import prepare as prep

    original = getattr(prep._stream_panel, "original", prep._stream_panel)

    def stream(data, config, tokens, pseudo, tenancies, out):
        with open(log, "a", encoding="ascii") as fh:
            fh.write(f"{data.landlord.id} {os.getpid()} {out.name}\n")
        original(data, config, tokens, pseudo, tenancies, out)
        if data.landlord.id == landlord:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return                  # the retry: left alone
            with open(out, "r+b") as fh:
                fh.truncate(out.stat().st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)

    stream.original = original
    prep._stream_panel = stream
    return os.getpid()


def _restore() -> None:
    from increase_eval import prepare as prep

    prep._stream_panel = getattr(prep._stream_panel, "original", prep._stream_panel)


def test_prepare_on_the_cluster_runs_a_job_lost_with_its_worker_again_and_publishes_nothing_half_written(
        fed, dask_cluster, tmp_path):
    from dask.distributed import Client

    marker, log = tmp_path / "killed", tmp_path / "attempts.log"
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        pids = client.run(_lose_first_attempt, "fed_001", str(marker), str(log))
        try:
            outcome = prepare.run(fed / "raw", tmp_path / "processed", cfg.load(fed / "config"),
                                  secret=fed / "secret.key", say=lambda m: None, scheduler=client)
        finally:
            client.run(_restore)
    assert marker.exists(), "the job was never killed"
    attempts = [line.split() for line in log.read_text(encoding="ascii").splitlines()]
    lost = [int(pid) for lid, pid, _ in attempts if lid == "fed_001"]
    assert len(lost) == 2 and lost[0] != lost[1], attempts        # run again, on the other worker
    assert lost[0] in pids.values() and not _alive(lost[0])
    # the half-written part never had the part's name: a hidden temporary file, removed before publishing
    half = next(name for lid, _, name in attempts if lid == "fed_001")
    assert half.startswith(".fed_001.parquet.") and half.endswith(".tmp")
    assert not outcome.errors
    _same_processed(fed / "processed", tmp_path / "processed")    # no half-written part, no temporary file
