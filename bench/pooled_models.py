#!/usr/bin/env python3
"""Time the pooled models of one report (the employment model of 04_employment, its
every-session comparison, and who creates a business of 05_business_creation) on a
processed folder, the analysis cache off, as the notebooks call them; print the seconds,
how the model allows for place (its formula and clusters) and the odds ratios.

Made to compare a federation's `all` report before and after its models stopped carrying
one term per landlord (see the README, "Benchmarks"):

    increase-eval synth --landlords 200 --scale 0.05 --config fed/config --raw fed/raw
    increase-eval prepare --config fed/config --raw fed/raw --processed fed/processed
    .venv/bin/python bench/pooled_models.py --processed fed/processed --config fed/config --entity all

Run it with PYTHONPATH set to another checkout's code to time that code on the same data
(it uses only what both have: notebook.setup and the context's model methods). `--save`
writes the tables as a pickle, to compare two runs' numbers exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processed", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--entity", default="all")
    ap.add_argument("--save", help="write the odds-ratio tables to this pickle")
    args = ap.parse_args()
    os.environ["INCREASE_EVAL_CACHE"] = "off"       # time the models, not the cache

    from increase_eval import employment, notebook

    t0 = time.perf_counter()
    ctx = notebook.setup(args.entity, "en", Path(args.processed).resolve(), Path(args.config).resolve())
    out: dict = {"entity": args.entity, "load_seconds": round(time.perf_counter() - t0, 2),
                 "landlords": len(ctx.data.landlords), "people": len(ctx.data.participants),
                 "python": platform.python_version(), "load_average_before": os.getloadavg()}
    tables = {}
    # code before the pooling switch took no limit: pass it only where the code has one
    limit = ({"max_landlord_terms": ctx.max_landlord_terms} if hasattr(type(ctx), "max_landlord_terms") else {})
    out["max_landlord_terms"] = limit.get("max_landlord_terms")
    runs = [("employment.model", ctx.employment_model),
            ("employment.odds_ratios (every session)",
             lambda: employment.odds_ratios(employment.model_people(ctx.data), ctx.data_end, **limit)),
            ("businesses.who_creates", ctx.business_model)]
    for name, run in runs:
        t0 = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - t0
        fits = {"imputed": result.imputed, "complete": result.complete} if hasattr(result, "imputed") else {"": result}
        for part, fit in fits.items():
            key = f"{name} {part}".strip()
            tables[key] = None if fit is None else fit.table
            out[key] = None if fit is None else {
                "formula": fit.formula, "n": fit.n, "events": fit.events, "clusters": fit.clusters,
                "cluster": getattr(fit, "cluster", "neighbourhood_id"),
                "odds_ratios": {r.term: [round(r.odds_ratio, 4), round(r.lower, 4), round(r.upper, 4)]
                                for r in fit.table.itertuples() if not r.term.startswith("C(")}}
        out[f"{name} seconds"] = round(seconds, 1)
        print(f"{name}: {seconds:.1f} s", flush=True)
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=1, default=str))
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump(tables, fh)


if __name__ == "__main__":
    main()
