#!/usr/bin/env python3
"""Benchmark `synth` and `prepare` at several scales, in one run on this machine.

    .venv/bin/python bench/prepare.py                 # scales 1 and 10
    .venv/bin/python bench/prepare.py --scales 1 10 100

Each step runs in its own process, so its peak memory is its own: `peak MB` is the
largest resident set of the main process, `worker MB` that of the largest worker
process (`prepare` reads landlords in one worker per core). Results are printed as a
Markdown table and saved in bench/results/ (git-ignored). The machine is shared and
noisy: compare the ratios between scales within one run, not single figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(step: str, scale: float, work: Path) -> dict:
    """Run one step in this process and measure it."""
    from increase_eval import config, prepare, synth

    conf = config.load(ROOT / "config")
    t0 = time.perf_counter()
    if step == "synth":
        truth = synth.generate(work / "raw", conf, scale=scale)
        size = {"people": truth["people"]}
    else:
        outcome = prepare.run(work / "raw", work / "processed", conf, secret=work / "secret.key", say=lambda m: None)
        size = {"rows_in": sum(a.rows_in for a in outcome.accounts)}
    seconds = time.perf_counter() - t0
    return {"step": step, "scale": scale, "seconds": round(seconds, 2), **size,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "worker_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--one", nargs=3, metavar=("STEP", "SCALE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], float(args.one[1]), Path(args.one[2]))))
        return
    results = []
    for scale in args.scales:
        work = Path(tempfile.mkdtemp(prefix=f"increase-bench-{scale:g}-"))
        try:
            for step in ("synth", "prepare"):
                out = subprocess.run([sys.executable, __file__, "--one", step, str(scale), str(work)],
                                     capture_output=True, text=True, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                raw_mb = sum(p.stat().st_size for p in (work / "raw").rglob("*") if p.is_file()) / 2**20
                result["raw_mb"] = round(raw_mb)
                results.append(result)
                print(json.dumps(result), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d')}", "",
             "| step | scale | rows or people | raw MB | seconds | peak MB | worker MB |", "|---|---|---|---|---|---|---|"]
    for r in results:
        size = f"{r.get('people', r.get('rows_in')):,}"
        lines.append(f"| {r['step']} | {r['scale']:g} | {size} | {r['raw_mb']:,} | {r['seconds']} | {r['peak_mb']:,} | "
                     f"{r['worker_mb']:,} |")
    prep = [r for r in results if r["step"] == "prepare"]
    for a, b in zip(prep, prep[1:]):
        lines.append(f"\nprepare time ratio, scale {b['scale']:g} / {a['scale']:g}: {b['seconds'] / a['seconds']:.1f}x "
                     f"for {b['rows_in'] / a['rows_in']:.1f}x the rows")
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "prepare.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    (out / "prepare.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
