"""Report jobs on a Dask distributed cluster (`increase-eval report --scheduler ADDRESS`).

The same job as on one machine (report._run_in_process: the report made in its own
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

Dask is imported here only: without --scheduler nothing of it is needed (the `dask` extra).
"""

from __future__ import annotations

import hashlib
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


def check_workers(client, processed: Path, outputs: Path, config_dir: Path, inputs: str) -> int:
    """Every worker sees the same processed data, configuration and code as this run, and can
    write the outputs: else one line per worker saying what is wrong. Returns the number of
    workers."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except Exception:  # noqa: BLE001 - dask raises TimeoutError or its own
        raise UserError(f"no Dask worker joined the scheduler within {WORKER_WAIT} s: start some with "
                        f"'dask worker {client.scheduler.address}'") from None
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

    Client, as_completed = _dask()
    processed, outputs, config_dir = processed.resolve(), outputs.resolve(), config_dir.resolve()
    own = not hasattr(scheduler, "submit")
    if own:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {str(exc).splitlines()[0][:200]}"
                            ) from None
    else:
        client = scheduler
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

