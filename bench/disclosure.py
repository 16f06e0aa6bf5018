#!/usr/bin/env python3
"""Benchmark secondary suppression on random two-way tables with margins (rows, three
count columns and their total, every column total published elsewhere), the hardest
shape the reports use: how long `disclosure.protect` takes, how much it hides, and how
many tables still let a reader pin a small count down.

    .venv/bin/python bench/disclosure.py --tables 1500

"Pinned" is counted for two readers: one who takes `[c]` for any count (the guarantee:
must be 0) and a wary one who also knows whether each `[c]` is 0 or at least k (more
than a reader can know). Results are printed and saved in bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from increase_eval import disclosure
from increase_eval.disclosure import Along, Within

ROOT = Path(__file__).resolve().parents[1]
VALUES = [0, 1, 2, 3, 4, 5, 6, 9, 12, 20, 40]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=1500, help="random tables drawn (some are skipped, see below)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    k, cols = args.k, ["a", "b", "c", "total"]
    relations = [Within("total", ("a", "b", "c")), *(Along(c) for c in cols)]
    out = {"tables": 0, "with_small_counts": 0, "cells": 0, "primary": 0, "secondary": 0, "pinned_any_reader": 0,
           "pinned_wary_reader": 0, "seconds": 0.0}
    for _ in range(args.tables):
        t = pd.DataFrame(rng.choice(VALUES, size=(int(rng.integers(2, 7)), 3)), columns=cols[:3])
        t["total"] = t.sum(axis=1)
        # skipped, as in the property test: totals elsewhere that are small themselves,
        # and columns of nothing but small counts (the reports count those together first)
        if disclosure.small(t.sum(), k).any() or not all((t[c] >= k).any() or not (t[c] > 0).any() for c in t):
            continue
        t0 = time.perf_counter()
        primary, secondary = disclosure.protect(t, k, cols, relations)
        out["seconds"] += time.perf_counter() - t0
        out["tables"] += 1
        out["with_small_counts"] += bool(primary.any().any())
        out["cells"] += t.size
        out["primary"] += int(primary.sum().sum())
        out["secondary"] += int(secondary.sum().sum())
        out["pinned_any_reader"] += bool(disclosure.pinned(t, k, cols, relations, primary, secondary))
        out["pinned_wary_reader"] += bool(disclosure.pinned(t, k, cols, relations, primary, secondary, wary=True))
    out["ms_per_table"] = round(1000 * out["seconds"] / max(out["tables"], 1), 1)
    out["machine"] = f"{platform.machine()}, {platform.python_version()}"
    print(json.dumps(out, indent=1))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "disclosure.json").write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
