"""Jobs on a Dask distributed cluster: report jobs (`increase-eval report --scheduler
ADDRESS`) and prepare's per-landlord reading (`increase-eval prepare --scheduler ADDRESS`).

Reports. The same job as on one machine (report._run_in_process: the report made in its own
process, in its own session, killed with its kernels when over its time limit, bound to
the process that started it by the lifeline) is submitted as a Dask task; the task's
process is the worker, so a job dies with its worker. This run, the only writer of state
files and of the index, records each result as it comes back, exactly as with the local
pool, so incremental keys and state files behave the same.

What can go wrong on a cluster, and what happens:

- a worker is lost mid-job (its machine or process dies): the job's process and kernel die
  with it (lifeline), a file it had not yet renamed into place is never published, and the
  scheduler runs the task again on another worker (`distributed.scheduler.allowed-failures`
  times, 3 by default; then the report is failed, with a message);
- the job's own process is killed on a worker that lives on (out of memory, an operator):
  the task raises JobLost and Dask runs it again, up to `retries` times;
- a notebook fails or runs over its time limit: the report is failed as locally (not
  retried: it would fail again), its executed notebooks kept under outputs/<entity>/failed/.

A report whose first file was renamed into place and whose job was then lost is made again
whole by the retry; its state file is written only after the retry's result comes back, so
a next run never trusts a half-published report (report._up_to_date checks every file).

Every worker must see the processed data, the configuration and the outputs folder at the
same paths as this run (a shared folder), and run the same code: checked on every worker
before any job is submitted.

Prepare (prepare_map, below). Each landlord's job (prepare._process_landlord: read, clean,
pseudonymise, stream its rent panel to its part file in the staging folder) is a Dask task;
everything after (linking people across landlords, the tables, the manifest, publishing)
stays in the run that submitted them. Unlike a report job, a prepare job carries personal
data over the network: the pseudonymisation secret goes to the workers inside the job, and
the job's result (pseudonymised tables, rejected rows with their raw cell values) comes
back. So prepare refuses any connection that is not encrypted (see `transport_problem`):
only tls:// (Dask's TLS, mutually authenticated), or a scheduler and workers all on this
machine's loopback interface. The tasks are pinned to the workers checked before
submitting (transport, shared folders, code), so a worker that joins later never receives
the secret. Our code never writes the secret on a worker nor logs it (the Pseudonymiser
shows as `Pseudonymiser(<secret>)` in any log line quoting the task); a worker whose
memory manager may spill results to its local disk is named in a warning (README,
"Running on a cluster", says how to turn spilling off).

Dask is imported here only: without --scheduler nothing of it is needed (the `dask` extra).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
import uuid
from pathlib import Path

from .errors import UserError

CONNECT_TIMEOUT = "20s"
WORKER_WAIT = 60          # seconds to wait for a first worker to join the scheduler


class JobLost(RuntimeError):
    """The job's process was killed from outside on a worker that is still alive: Dask
    runs the task again (`retries`)."""


def _dask():
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UserError("--scheduler needs Dask distributed on this machine and on the workers: "
                        "pip install 'increase-eval[dask]' (or 'dask[distributed]')") from None
    return Client, as_completed


def job_task(job, processed: str, outputs: str, config_dir: str, timeout: int, pdf: bool):
    """The Dask task: one report made on the worker in its own process (report._run_in_process,
    with its time limit and lifeline: the job dies with this worker)."""
    from . import report

    result = report._run_in_process(report.Job(*job), Path(processed), Path(outputs), Path(config_dir), timeout, pdf)
    if result.killed:
        raise JobLost(f"{result.job.name}: {result.error} on {os.uname().nodename}")
    return result


def worker_view(processed: str, outputs: str, config_dir: str) -> dict:
    """What a worker sees of the shared folders and the code: run on every worker before
    jobs are submitted."""
    from . import report
    from .config import load as load_config

    seen = {"host": os.uname().nodename, "python": sys.version.split()[0], "problem": ""}
    manifest = Path(processed) / "manifest.json"
    if not manifest.is_file():
        seen["problem"] = f"does not see {manifest}"
        return seen
    seen["manifest"] = hashlib.sha256(manifest.read_bytes()).hexdigest()
    try:
        seen["inputs"] = report.inputs_digest(load_config(Path(config_dir)))
    except Exception as exc:  # noqa: BLE001 - said in one line to the user
        seen["problem"] = f"cannot read the configuration {config_dir}: {str(exc).splitlines()[0][:200]}"
        return seen
    probe = Path(outputs) / f".probe-{uuid.uuid4().hex}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        seen["problem"] = f"cannot write in {outputs} ({exc.strerror})"
    return seen


def _wait_for_a_worker(client) -> None:
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except Exception:  # noqa: BLE001 - dask raises TimeoutError or its own
        raise UserError(f"no Dask worker joined the scheduler within {WORKER_WAIT} s: start some with "
                        f"'dask worker {client.scheduler.address}'") from None


def check_workers(client, processed: Path, outputs: Path, config_dir: Path, inputs: str) -> int:
    """Every worker sees the same processed data, configuration and code as this run, and can
    write the outputs: else one line per worker saying what is wrong. Returns the number of
    workers."""
    _wait_for_a_worker(client)
    views = client.run(worker_view, str(processed), str(outputs), str(config_dir))
    manifest = processed / "manifest.json"
    mine = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None
    problems = []
    for address, seen in sorted(views.items()):
        where = f"worker {address} ({seen['host']})"
        if seen["problem"]:
            problems.append(f"{where} {seen['problem']}")
        elif seen["manifest"] != mine:
            problems.append(f"{where} sees other processed data in {processed}")
        elif seen["inputs"] != inputs:
            problems.append(f"{where} runs other code, notebooks or configuration than this machine")
    if problems:
        raise UserError("\n".join(problems + ["every worker must see the processed data, configuration and outputs "
                                               "folders at the same paths (a shared folder) and run the same version "
                                               "of increase-eval"]))
    return len(views)


def run_jobs(scheduler, todo: list, processed: Path, outputs: Path, config_dir: Path, timeout: int, pdf: bool,
             retries: int, results: dict, inputs: str, progress: bool = True) -> None:
    """Submit the jobs (`todo`: (Job, key) in the order they should start) to the cluster and
    record each result as it comes back (report.record), as the local pool does."""
    from tqdm import tqdm

    from . import report

    _, as_completed = _dask()
    processed, outputs, config_dir = processed.resolve(), outputs.resolve(), config_dir.resolve()
    client, own = _connect(scheduler)
    futures = {}
    try:
        check_workers(client, processed, outputs, config_dir, inputs)
        run = uuid.uuid4().hex[:8]
        with tqdm(total=len(todo), disable=not progress or not todo, unit="report", file=sys.stderr) as bar:
            for i, (job, key) in enumerate(todo):
                future = client.submit(job_task, (job.entity, job.lang), str(processed), str(outputs), str(config_dir),
                                       timeout, pdf, key=f"report-{job.entity}-{job.lang}-{run}", pure=False,
                                       retries=retries, priority=len(todo) - i)
                futures[future] = (job, key)
            try:
                for future in as_completed(list(futures), loop=client.loop):
                    job, key = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - lost workers, JobLost after its retries
                        text = str(exc).strip().splitlines()
                        result = report.Result(job, "failed", 0.0,
                                               f"{type(exc).__name__}: {text[-1] if text else ''}"[:500])
                    report.record(result, key, results, outputs, bar)
            except BaseException:      # Ctrl-C: no new job starts; a running one finishes but is not recorded
                client.cancel(list(futures))
                raise
    finally:
        if own:
            client.close()



# --- prepare --------------------------------------------------------------------------------

TLS_DOCS = "https://distributed.dask.org/en/stable/tls.html"
LIVENESS = 5            # seconds between checks that a worker able to run the pending jobs is left
PREPARE_LIBRARIES = ("numpy", "pandas", "pyarrow", "pandera", "python-calamine", "pyyaml", "pydantic")


def transport_problem(address: str) -> str | None:
    """Why `address` may not carry prepare's personal data, or None when it may: a tls://
    address (encrypted, mutually authenticated), or a tcp:// one (or one without a scheme,
    which Dask reads as tcp://) whose host is this machine's loopback interface; inproc://
    stays in this process. Host names other than `localhost` are not resolved: a name is
    taken for another machine."""
    address = str(address).strip()
    scheme, sep, location = address.rpartition("://")
    scheme = scheme.lower() if sep else "tcp"
    if scheme in ("tls", "inproc"):
        return None
    if location.startswith("["):
        host = location[1:].partition("]")[0]
    else:
        host = location.rpartition(":")[0] if location.count(":") == 1 else location
    if scheme == "tcp" and _loopback(host):
        return None
    if scheme == "tcp":
        return f"{address} is not encrypted (tcp://) and not on this machine's loopback interface"
    return f"{address} is a {scheme}:// connection, not tls://"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_plain(address: str, what: str = "--scheduler") -> None:
    """UserError unless `address` is TLS or this machine's loopback: before anything is read."""
    problem = transport_problem(address)
    if problem is None:
        return
    host = (address.rpartition("://")[2] if "://" in address else address) if what == "--scheduler" else "HOST:PORT"
    raise UserError("\n".join([
        f"{what} {problem}: prepare sends the pseudonymisation secret to the workers and gets pseudonymised "
        f"rows and rejected raw cells back, which anyone on the network path could read; nothing was sent",
        f"use Dask's TLS: tls://{host}, the scheduler, every worker and this machine each with a certificate from "
        f"your CA (dask scheduler/worker --tls-ca-file --tls-cert --tls-key; here distributed.comm.tls.* in the "
        f"Dask configuration; see {TLS_DOCS})",
        "or a scheduler and workers on this machine only (tcp://127.0.0.1:PORT)"]))


def prepare_code() -> dict:
    """What makes prepare's results: this package's sources, the libraries that read and
    check the data, Python's version (major.minor)."""
    from importlib.metadata import PackageNotFoundError, version

    from .cache import hash_sources

    h = hashlib.sha256()
    hash_sources(h)
    libraries = {"python": ".".join(sys.version.split()[0].split(".")[:2])}
    for lib in PREPARE_LIBRARIES:
        try:
            libraries[lib] = version(lib)
        except PackageNotFoundError:
            libraries[lib] = None
    return {"code": h.hexdigest(), "libraries": libraries}


def raw_listing(raw: str, landlords: list[str]) -> str:
    """Digest of the landlords' raw folders as seen from here: every file's path and size."""
    h = hashlib.sha256()
    for lid in landlords:
        folder = Path(raw) / lid
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(f"{path.relative_to(raw)}\0{path.stat().st_size}\0".encode())
    return h.hexdigest()


def prepare_view(raw: str, landlords: list[str], probe: str, token: str, dask_worker=None) -> dict:
    """What a worker sees of the raw folder, the staging folder and the code: run on every
    worker before prepare's jobs are submitted. Reads no file's content but the probe."""
    seen = {"host": os.uname().nodename, "problem": "", **prepare_code()}
    missing = [lid for lid in landlords if not (Path(raw) / lid).is_dir()]
    if missing:
        seen["problem"] = f"does not see {Path(raw) / missing[0]}"
        return seen
    try:
        seen["raw"] = raw_listing(raw, landlords)
    except OSError as exc:
        seen["problem"] = f"cannot list {raw} ({exc.strerror})"
        return seen
    probe_path = Path(probe)
    try:
        if probe_path.read_text(encoding="ascii") != token:
            seen["problem"] = f"sees another staging folder at {probe_path.parent}"
            return seen
        mine = probe_path.with_name(f".probe-{uuid.uuid4().hex}")
        mine.write_bytes(b"")
        mine.unlink()
    except OSError as exc:
        seen["problem"] = f"cannot {'see' if isinstance(exc, FileNotFoundError) else 'write in'} the staging " \
                          f"folder {probe_path.parent} ({exc.strerror})"
        return seen
    data = getattr(dask_worker, "data", {})
    seen["spills"] = type(data) is not dict     # Dask's SpillBuffer (or a custom store) may write to disk
    seen["local_directory"] = str(getattr(dask_worker, "local_directory", ""))
    return seen


def _connect(scheduler):
    Client, _ = _dask()
    if hasattr(scheduler, "submit"):
        return scheduler, False
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False), True
    except (OSError, ValueError, TypeError) as exc:
        hint = (f" (a tls:// scheduler needs this machine's certificate in the Dask configuration: {TLS_DOCS})"
                if str(scheduler).startswith("tls://") else "")
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {str(exc).splitlines()[0][:200]}{hint}"
                        ) from None


def _listeners(dask_scheduler=None) -> list[str]:
    return [listener.contact_address for listener in dask_scheduler.listeners]


def check_prepare_workers(client, raw: Path, landlords: list[str], stage: Path,
                          say=lambda m: None) -> list[str]:
    """Every worker is reached over TLS or this machine's loopback, sees the landlords' raw
    folders and the staging folder at the same paths as this run, and runs the same code
    with the same libraries: else one line per worker saying what is wrong. Returns the
    addresses of the workers checked (the only ones prepare's jobs may run on)."""
    _wait_for_a_worker(client)
    info = client.scheduler_info()
    try:
        scheduler_addresses = client.run_on_scheduler(_listeners)
    except Exception:  # noqa: BLE001 - run_on_scheduler may be turned off: its main address then
        scheduler_addresses = [info["address"]]
    for address in [client.scheduler.address, *scheduler_addresses]:
        refuse_plain(address, "the scheduler, listening at")
    plain = [a for a in info["workers"] if transport_problem(a)]
    if plain:
        refuse_plain(plain[0], f"{len(plain)} worker(s), e.g.")
    token = uuid.uuid4().hex
    probe = stage / f".probe-{token}"
    probe.write_text(token, encoding="ascii")
    try:
        views = client.run(prepare_view, str(raw), landlords, str(probe), token, workers=list(info["workers"]))
    finally:
        probe.unlink(missing_ok=True)
    mine = {"raw": raw_listing(str(raw), landlords), **prepare_code()}
    problems = []
    for address, seen in sorted(views.items()):
        where = f"worker {address} ({seen['host']})"
        if seen["problem"]:
            problems.append(f"{where} {seen['problem']}")
        elif seen["raw"] != mine["raw"]:
            problems.append(f"{where} sees other files in {raw} (names or sizes differ)")
        elif seen["libraries"] != mine["libraries"]:
            other = next(k for k in mine["libraries"] if seen["libraries"].get(k) != mine["libraries"][k])
            problems.append(f"{where} has {other} {seen['libraries'].get(other)}, this machine "
                            f"{mine['libraries'][other]}")
        elif seen["code"] != mine["code"]:
            problems.append(f"{where} runs other increase-eval code than this machine")
    if problems:
        raise UserError("\n".join(problems + ["every worker must see the raw exports and the processed folder's "
                                               "parent at the same paths as this machine (a shared folder) and run "
                                               "the same version of increase-eval and its libraries"]))
    spilling = sorted(a for a, seen in views.items() if seen["spills"])
    if spilling:
        where = views[spilling[0]]["local_directory"]
        say(f"warning: {len(spilling)} of {len(views)} Dask workers may spill results (pseudonymised tables, rejected "
            f"rows' raw cells) to their local disk under memory pressure (e.g. {where}); turn it off with "
            f"distributed.worker.memory.target and .spill: false (README, 'Running on a cluster')")
    return sorted(views)


def prepare_map(scheduler, fn, jobs: list, raw: Path, stage: Path, say=lambda m: None):
    """fn(job) for each of prepare's per-landlord jobs, as Dask tasks on the workers checked
    first (check_prepare_workers); yields the results in the jobs' order, as prepare._map
    does. A lost worker's job is run again by the scheduler on another checked worker
    (`distributed.scheduler.allowed-failures` times); a job lost more often, or left with no
    checked worker alive, stops the run with a UserError (nothing is published). Before the
    last result is yielded, the connection is closed and the staging folder holds no
    temporary part file of a lost attempt."""
    import queue

    client, own = _connect(scheduler)      # prepare.run has refused a plain address already
    landlords = [job[0].id for job in jobs]
    futures: dict = {}
    results: dict[int, object] = {}
    given = 0
    try:
        workers = check_prepare_workers(client, raw, landlords, stage, say)
        run = uuid.uuid4().hex[:8]
        finished: queue.Queue = queue.Queue()
        for i, job in enumerate(jobs):
            future = client.submit(fn, job, key=f"prepare-{job[0].id}-{run}", pure=False, workers=workers,
                                   allow_other_workers=False, priority=len(jobs) - i)
            futures[future] = i
            future.add_done_callback(finished.put)
        while futures:
            try:
                done = [finished.get(timeout=LIVENESS)]
            except queue.Empty:       # nothing done yet: is a worker left to do it?
                done = []
            for future in done:
                i = futures.pop(future, None)
                if i is None:
                    continue
                results[i] = _take(future, jobs[i][0].id)
                future.release()       # the worker drops its copy
            if not done and not set(workers) & set(client.scheduler_info()["workers"]):
                raise UserError(f"every Dask worker checked before submitting has left the scheduler, with "
                                f"{len(futures)} landlord(s) not prepared; nothing was published: run prepare "
                                f"again (workers that joined since are not used: they were not checked)")
            while futures and given in results:
                yield results.pop(given)
                given += 1
    finally:
        if futures:
            client.cancel(list(futures))
        if own:
            client.close()
    for folder in {job[4].parent for job in jobs}:
        for left in folder.glob(".*.tmp"):      # a lost attempt's part, never renamed into place
            left.unlink(missing_ok=True)
    while given < len(jobs):
        yield results.pop(given)
        given += 1


def _take(future, landlord: str):
    """A job's result; a job the cluster lost is said in one line (a bug raises as locally)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - sorted below
        name = type(exc).__name__
        if name in ("KilledWorker", "CancelledError", "FutureCancelledError"):
            raise UserError(f"{landlord}: its prepare job was lost ({name}: the workers running it died, or the "
                            f"scheduler restarted); nothing was published: run prepare again") from None
        raise
