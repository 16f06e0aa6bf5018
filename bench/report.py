#!/usr/bin/env python3
"""Benchmark the batch report against the loop an evaluator would write, in one run on
the same data:

  (a) naive: for every report and notebook, the papermill CLI then the nbconvert CLI
      (HTML without code), one after another;
  (b) `increase-eval report --force` (parallel, one kernel per report);
  (c) `increase-eval report` again with nothing changed.

    .venv/bin/pip install -e '.[bench]'      # nbconvert, for (a) only
    .venv/bin/python bench/report.py --processed data/processed

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


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processed", type=Path, default=ROOT / "data" / "processed")
    args = ap.parse_args()
    processed = args.processed.resolve()
    work = Path(tempfile.mkdtemp(prefix="increase-bench-report-"))
    try:
        outputs = work / "outputs"
        cli = [str(BIN / "increase-eval"), "report", "--processed", str(processed), "--outputs", str(outputs)]
        a = naive(processed, work)
        b = timed(cli + ["--force"])
        c = timed(cli)
        sizes = {p.relative_to(outputs).as_posix(): p.stat().st_size for p in outputs.glob("*/report_*.html")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    largest = max(sizes, key=sizes.get)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = "\n".join([
        f"Machine: {machine}; {time.strftime('%Y-%m-%d')}; data: {processed}", "",
        "| run | seconds |", "|---|---|",
        f"| (a) papermill CLI + nbconvert CLI, one notebook after another | {a:.1f} |",
        f"| (b) increase-eval report --force | {b:.1f} |",
        f"| (c) increase-eval report, nothing changed | {c:.2f} |", "",
        f"(a) / (b): {a / b:.1f}x. Reports: {len(sizes)}; largest: {largest} at {sizes[largest] / 2**20:.2f} MB.",
    ])
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text(text + "\n")
    (out / "report.json").write_text(json.dumps({"machine": machine, "naive": a, "report_force": b,
                                                 "report_rerun": c, "sizes": sizes}, indent=2))


if __name__ == "__main__":
    main()
