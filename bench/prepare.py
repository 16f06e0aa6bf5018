#!/usr/bin/env python3
"""Benchmark `synth` and `prepare` at several scales, in one run on this machine.

    .venv/bin/python bench/prepare.py                 # scales 1 and 10
    .venv/bin/python bench/prepare.py --scales 1 10 100
    .venv/bin/python bench/prepare.py --scales 10 100 --data /work/bench-data --before main

Each step runs in its own process, so its peak memory is its own: `peak MB` is the
largest resident set of the main process, `worker MB` that of the largest worker
process (`prepare` reads landlords in one worker per core); `cpu s` is the CPU time of
the process and its workers (user + system), steadier than seconds on a shared machine.

`--data DIR` keeps each scale's synthetic exports in DIR/s<scale>/raw and reuses them
(synth at scale 100 takes minutes: made once, then timed no more). `--before REF` also
times `prepare` with the code of git ref REF (its package and configuration), just
before this code's, on the same exports and secret, and checks that both wrote the same
processed tables (every table and the manifest, its time stamps and code version apart).

Results are printed as a Markdown table and saved in bench/results/ (git-ignored). The
machine is shared and noisy: compare the ratios between scales and between codes within
one run, not single figures across runs.
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


def one(step: str, scale: float, work: Path, processed: str = "processed") -> dict:
    """Run one step in this process and measure it."""
    from increase_eval import config, prepare, synth

    conf = config.load(Path(os.environ.get("BENCH_CONFIG", ROOT / "config")))
    t0 = time.perf_counter()
    if step == "synth":
        truth = synth.generate(work / "raw", conf, scale=scale)
        size = {"people": truth["people"]}
    else:
        outcome = prepare.run(work / "raw", work / processed, conf, secret=work / "secret.key", say=lambda m: None)
        size = {"rows_in": sum(a.rows_in for a in outcome.accounts)}
    seconds = time.perf_counter() - t0
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"step": step, "scale": scale, "seconds": round(seconds, 2), **size,
            "cpu_s": round(me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime, 1),
            "peak_mb": round(me.ru_maxrss / 1024), "worker_mb": round(children.ru_maxrss / 1024)}


def run_step(step: str, scale: float, work: Path, code: Path = ROOT, processed: str = "processed") -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "BENCH_CONFIG": str(code / "config")}
    out = subprocess.run([sys.executable, __file__, "--one", step, str(scale), str(work), processed],
                         capture_output=True, text=True, check=True, env=env, cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])


def same_tables(a: Path, b: Path) -> list[str]:
    """Differences between two processed folders: each table's rows (in any order) and
    schema, and the manifest but for when and by which code it was written."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = []
    names = lambda p: sorted(x.relative_to(p).as_posix() for x in p.rglob("*.parquet"))  # noqa: E731
    if names(a) != names(b):
        found.append(f"tables: {sorted(set(names(a)) ^ set(names(b)))}")
    for name in sorted(set(names(a)) & set(names(b))):
        ta, tb = pq.read_table(a / name), pq.read_table(b / name)
        if ta.schema != tb.schema or ta.num_rows != tb.num_rows:
            found.append(f"{name}: schema or row count")
            continue
        if not ta.equals(tb):
            keys = [(c, "ascending") for c in ta.column_names]
            if not ta.take(pc.sort_indices(ta, sort_keys=keys)).equals(tb.take(pc.sort_indices(tb, sort_keys=keys))):
                found.append(f"{name}: rows")
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    for m in (ma, mb):
        for stamp in ("created", "code_version", "snapshot"):
            m.pop(stamp, None)
    found += [f"manifest: {k}" for k in sorted(set(ma) | set(mb)) if ma.get(k) != mb.get(k)]
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--data", type=Path, help="keep and reuse the synthetic exports in DATA/s<scale>")
    ap.add_argument("--before", metavar="REF", help="also time prepare with the code of this git ref")
    ap.add_argument("--one", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], float(args.one[1]), Path(args.one[2]), *args.one[3:])))
        return
    results, checks = [], []
    old = None
    if args.before:
        old = Path(tempfile.mkdtemp(prefix="increase-bench-before-"))
        archive = subprocess.run(["git", "archive", args.before, "increase_eval", "config"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    try:
        for scale in args.scales:
            work = (args.data / f"s{scale:g}") if args.data else Path(tempfile.mkdtemp(prefix=f"increase-bench-{scale:g}-"))
            try:
                steps = [("synth", ROOT, "processed")] if not (work / "raw").is_dir() else []
                if old is not None:
                    steps.append(("prepare", old, "processed-before"))
                steps.append(("prepare", ROOT, "processed"))
                for step, code, processed in steps:
                    result = run_step(step, scale, work, code, processed)
                    raw_mb = sum(p.stat().st_size for p in (work / "raw").rglob("*") if p.is_file()) / 2**20
                    result["raw_mb"] = round(raw_mb)
                    result["code"] = args.before if code is old else "this"
                    results.append(result)
                    print(json.dumps(result), flush=True)
                if old is not None:
                    diff = same_tables(work / "processed-before", work / "processed")
                    checks.append(f"scale {scale:g}: " + ("identical processed tables and manifest" if not diff
                                                          else "DIFFERENT: " + "; ".join(diff)))
                    print(checks[-1], flush=True)
            finally:
                if args.data:
                    for processed in ("processed", "processed-before"):
                        shutil.rmtree(work / processed, ignore_errors=True)
                else:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d')}", "",
             "| step | code | scale | rows or people | raw MB | seconds | cpu s | peak MB | worker MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        size = f"{r.get('people', r.get('rows_in')):,}"
        lines.append(f"| {r['step']} | {r['code']} | {r['scale']:g} | {size} | {r['raw_mb']:,} | {r['seconds']} | "
                     f"{r['cpu_s']} | {r['peak_mb']:,} | {r['worker_mb']:,} |")
    prep = [r for r in results if r["step"] == "prepare" and r["code"] == "this"]
    for a, b in zip(prep, prep[1:]):
        lines.append(f"\nprepare time ratio, scale {b['scale']:g} / {a['scale']:g}: {b['seconds'] / a['seconds']:.1f}x "
                     f"for {b['rows_in'] / a['rows_in']:.1f}x the rows")
    lines += ["", *checks]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "prepare.json").write_text(json.dumps({"machine": machine, "results": results, "checks": checks}, indent=2))
    (out / "prepare.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
