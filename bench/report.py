#!/usr/bin/env python3
"""Benchmark the reports and the notebooks in Lab, side by side in one run on the same
data (default: data/processed):

  (a) naive, with --naive: for every report and notebook, the papermill CLI then the
      nbconvert CLI (HTML without code), one after another (about 11 minutes at scale 1);
  (b) `increase-eval report --force` made by the code at git ref --before (default: none):
      the reports as they were made before the analysis cache, on the same data;
  (c) `increase-eval report --force` with the disk cache off (INCREASE_EVAL_CACHE=off):
      every report computes its own estimates, as (b) did;
  (d) `increase-eval report --force` with an empty cache (cold: each estimate computed once);
  (e) `increase-eval report --force` again, cache warm (the data did not change);
  (f) `increase-eval report` again with nothing changed;
  (g) each report notebook for `all` as JupyterLab runs it, in a kernel of its own: cold
      (fresh kernel, empty cache), rerun in the same kernel ("Run All" again), and warm
      (a fresh kernel, the cache filled: "Restart Kernel and Run All", or another day's
      session); kernel start apart.

    .venv/bin/pip install -e '.[bench]'      # nbconvert, for (a) only
    .venv/bin/python bench/report.py --processed data/processed --before <commit>

Results are printed as a Markdown table and saved in bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def naive(processed: Path, work: Path) -> float:
    from increase_eval import config, report

    jobs = report.plan(config.load(ROOT / "config"))
    t0 = time.perf_counter()
    for job in jobs:
        for nb in report.notebooks():
            out = work / f"{job.entity}_{job.lang}_{nb.name}"
            subprocess.run([str(BIN / "papermill"), str(nb), str(out), "-p", "landlord", job.entity, "-p", "lang",
                            job.lang, "-p", "processed", str(processed), "--cwd", str(nb.parent)],
                           check=True, capture_output=True)
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)],
                           check=True, capture_output=True)
    return time.perf_counter() - t0


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def before(ref: str, processed: Path, work: Path) -> float:
    """`report --force` made by the code of git ref `ref` (its package, notebooks and
    configuration), with this environment's Python and the same data."""
    old = work / "before"
    old.mkdir()
    archive = subprocess.run(["git", "archive", ref, "increase_eval", "notebooks", "config"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    env = {**os.environ, "PYTHONPATH": str(old)}     # the job processes and their kernels import it too
    return timed([sys.executable, "-m", "increase_eval.cli", "report", "--force", "--processed", str(processed),
                  "--outputs", str(work / "outputs-before"), "--config", str(old / "config")], env=env, cwd=old)


def lab_notebooks(processed: Path, entity: str = "all", lang: str = "en") -> dict[str, dict[str, float]]:
    """Each report notebook as Lab runs it: its own kernel, the notebooks/ folder as working
    directory. Seconds of kernel start, and of running every cell cold, again in the same
    kernel, and warm in a new kernel."""
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from increase_eval import cache, lab, report

    def run_all(client, nb) -> float:
        t0 = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        return time.perf_counter() - t0

    out = {}
    for path in report.notebooks():
        nb = parameterize_notebook(load_notebook_node(str(path)),
                                   {"landlord": entity, "lang": lang, "processed": str(processed)})
        cache.clear(processed)
        row = {}
        for phase in ("cold", "warm"):
            client = NotebookClient(nb, timeout=1800, kernel_name=lab.KERNEL,
                                    resources={"metadata": {"path": str(path.parent)}})
            t0 = time.perf_counter()
            with client.setup_kernel():
                row.setdefault("kernel_start", time.perf_counter() - t0)
                row[phase] = run_all(client, nb)
                if phase == "cold":
                    row["rerun"] = run_all(client, nb)
        out[path.stem] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processed", type=Path, default=ROOT / "data" / "processed")
    ap.add_argument("--before", metavar="REF", help="git ref of the code to compare with (b)")
    ap.add_argument("--naive", action="store_true", help="also time the papermill + nbconvert loop (a)")
    args = ap.parse_args()
    processed = args.processed.resolve()
    from increase_eval import cache

    work = Path(tempfile.mkdtemp(prefix="increase-bench-report-"))
    runs: dict[str, float] = {}
    try:
        outputs = work / "outputs"
        cli = [str(BIN / "increase-eval"), "report", "--processed", str(processed), "--outputs", str(outputs)]
        if args.naive:
            runs["naive"] = naive(processed, work)
        if args.before:
            runs["before"] = before(args.before, processed, work)
        runs["cache_off"] = timed(cli + ["--force"], env={**os.environ, cache.ENV: "off"})
        cache.clear(processed)
        runs["cold"] = timed(cli + ["--force"])
        runs["warm"] = timed(cli + ["--force"])
        runs["rerun"] = timed(cli)
        sizes = {p.relative_to(outputs).as_posix(): p.stat().st_size for p in outputs.glob("*/report_*.html")}
        notebooks = lab_notebooks(processed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    largest = max(sizes, key=sizes.get)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    names = {"naive": "(a) papermill CLI + nbconvert CLI, one notebook after another",
             "before": f"(b) increase-eval report --force, code of {args.before}",
             "cache_off": "(c) increase-eval report --force, disk cache off",
             "cold": "(d) increase-eval report --force, cache empty",
             "warm": "(e) increase-eval report --force, cache warm",
             "rerun": "(f) increase-eval report, nothing changed"}
    base = runs.get("before", runs["cache_off"])
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d')}; load average at the end {load:.1f}; data: {processed}",
             "", "| run | seconds | against (b) |" if "before" in runs else "| run | seconds | against (c) |", "|---|---|---|"]
    lines += [f"| {names[k]} | {v:.2f} | {base / v:.1f}x |" for k, v in runs.items()]
    lines += ["", f"Reports: {len(sizes)}; largest: {largest} at {sizes[largest] / 2**20:.2f} MB.", "",
              "| notebook (`all`, en) | kernel start | cold | rerun, same kernel | warm, new kernel |", "|---|---|---|---|---|"]
    lines += [f"| {nb} | {r['kernel_start']:.1f} | {r['cold']:.1f} | {r['rerun']:.1f} | {r['warm']:.1f} |"
              for nb, r in notebooks.items()]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text(text + "\n")
    (out / "report.json").write_text(json.dumps({"machine": machine, "load": load, "runs": runs, "sizes": sizes,
                                                 "notebooks": notebooks}, indent=2))


if __name__ == "__main__":
    main()
