#!/usr/bin/env python3
"""Benchmark a federation's reports: N synthetic landlords (synth --landlords N) at a small
size, reported by the local process pool and by a Dask LocalCluster with the same number of
workers (processes, one thread each), on this machine, on the same data:

  - synth and prepare, for the record;
  - `report --force` with the local pool (`--workers W`), the analysis cache emptied first;
  - `report --force --scheduler` on a LocalCluster of W workers, the cache emptied first
    (the cluster's start is timed apart);

and prints, per N and mode, the reports made, the total seconds, seconds per report (the
run's wall time divided by the reports, and the mean of each job's own seconds, landlords'
reports and group reports apart), the time a worker slot ran no job, per job, and Dask's
overhead per job: the difference of the two totals divided by the jobs (which includes
how much slower the jobs ran, if other load changed meanwhile) and the difference of idle
slot time per job (which does not).

    .venv/bin/pip install -e '.[dask]'
    .venv/bin/python bench/federation.py --landlords 10 50 --scale 0.05 --workers 2 --lang en

Results are printed as a Markdown table and saved in bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from increase_eval import config as cfg, data, prepare, report, synth  # noqa: E402


def _empty_cache(processed: Path) -> None:
    shutil.rmtree(processed.parent / ".cache", ignore_errors=True)


def _figures(results: list, seconds: float, workers: int) -> dict:
    """`idle_per_job`: the time a worker slot ran no job process, per job (wall time x
    workers - the jobs' own seconds, / jobs): scheduling overhead and the tail, apart from
    how fast the jobs themselves ran (which other load on the machine changes)."""
    made = [r for r in results if r.status == "done"]
    busy = sum(r.seconds for r in made)
    own = [r.seconds for r in made if r.job.entity not in data.GROUPS]
    groups = [r.seconds for r in made if r.job.entity in data.GROUPS]
    return {"reports": len(results), "made": len(made), "failed": [f"{r.job.name}: {r.error}" for r in results
                                                                   if r.status == "failed"],
            "seconds": round(seconds, 1), "per_report": round(seconds / max(len(made), 1), 2),
            "job_mean_landlord": round(statistics.mean(own), 2) if own else None,
            "job_mean_group": round(statistics.mean(groups), 2) if groups else None,
            "group_jobs": {r.job.name: round(r.seconds, 1) for r in made if r.job.entity in data.GROUPS},
            "job_seconds_sum": round(busy, 1), "idle_per_job": round((seconds * workers - busy) / max(len(made), 1), 2)}


def bench(n: int, scale: float, workers: int, lang: str | None, modes: list[str], folder: Path, seed: int) -> dict:
    conf, raw, processed = folder / "config", folder / "raw", folder / "processed"
    out: dict = {"landlords": n, "scale": scale, "workers": workers, "lang": lang or "both"}
    t0 = time.perf_counter()
    synth.federation(conf, n, seed=seed)
    config = cfg.load(conf)
    truth = synth.generate(raw, config, seed=seed, scale=scale)
    out["people"] = truth["people"]
    out["synth_seconds"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    prepare.run(raw, processed, config, secret=folder / "secret.key", say=lambda m: None, workers=workers)
    out["prepare_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"N={n}: {truth['people']:,} people; synth {out['synth_seconds']} s, prepare {out['prepare_seconds']} s",
          file=sys.stderr, flush=True)
    for mode in modes:
        _empty_cache(processed)
        outputs = folder / f"outputs-{mode}"
        if mode == "local":
            t0 = time.perf_counter()
            results = report.run(processed, outputs, conf, lang=lang, workers=workers, force=True, progress=False)
            out[mode] = _figures(results, time.perf_counter() - t0, workers)
        else:
            from dask.distributed import LocalCluster

            t0 = time.perf_counter()
            with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                              dashboard_address=None) as cluster:
                started = time.perf_counter() - t0
                t0 = time.perf_counter()
                results = report.run(processed, outputs, conf, lang=lang, force=True, progress=False,
                                     scheduler=cluster.scheduler_address)
                out[mode] = _figures(results, time.perf_counter() - t0, workers)
            out[mode]["cluster_start_seconds"] = round(started, 1)
        print(f"N={n} {mode}: {json.dumps(out[mode])}", file=sys.stderr, flush=True)
    if "local" in out and "dask" in out:
        jobs = max(out["local"]["made"], 1)
        out["dask_overhead_per_job"] = round((out["dask"]["seconds"] - out["local"]["seconds"]) / jobs, 2)
        out["dask_idle_overhead_per_job"] = round(out["dask"]["idle_per_job"] - out["local"]["idle_per_job"], 2)
    return out


def table(rows: list[dict]) -> str:
    lines = ["| landlords | people | reports | mode | total s | s per report (wall / jobs) | mean job s: "
             "landlord / group | idle slot s per job | Dask overhead per job s: wall / idle |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for mode in ("local", "dask"):
            if mode not in r:
                continue
            m = r[mode]
            lines.append(f"| {r['landlords']} | {r['people']:,} | {m['made']} | {mode} | {m['seconds']} | "
                         f"{m['per_report']} | {m['job_mean_landlord']} / {m['job_mean_group']} | {m['idle_per_job']} | "
                         + (f"{r.get('dask_overhead_per_job', '')} / {r.get('dask_idle_overhead_per_job', '')} |"
                            if mode == "dask" else " |"))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landlords", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--scale", type=float, default=0.05, help="size of each landlord relative to its partner's")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lang", choices=["en", "fr"], default=None, help="only the reports in this language")
    ap.add_argument("--modes", nargs="+", choices=["local", "dask"], default=["local", "dask"])
    ap.add_argument("--seed", type=int, default=20230331)
    ap.add_argument("--keep", type=Path, default=None, help="keep the data and reports in this folder")
    a = ap.parse_args()
    rows = []
    for n in a.landlords:
        folder = (a.keep / f"n{n}") if a.keep else Path(tempfile.mkdtemp(prefix=f"federation-{n}-"))
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            rows.append(bench(n, a.scale, a.workers, a.lang, a.modes, folder, a.seed))
        finally:
            if not a.keep:
                shutil.rmtree(folder, ignore_errors=True)
    machine = {"cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
               "python": platform.python_version(), "platform": platform.platform()}
    print(table(rows))
    print(f"\nmachine: {machine['cpus']} cores, Python {machine['python']}, {machine['platform']}")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"federation-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
