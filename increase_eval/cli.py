"""Command line: `increase-eval synth | prepare | report | check | draft`. A thin shell over the library.

User errors print one line and exit 2; a landlord that could not be processed makes the
run exit 1 after the others are done; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .errors import UserError


def _folders(p: argparse.ArgumentParser, *names: str) -> None:
    helps = {
        "raw": ("data/raw", "raw exports, one sub-folder per landlord (keep real data on an encrypted volume "
                            "and point here)"),
        "processed": ("data/processed", "where processed tables and manifest.json are written"),
        "config": ("config", "configuration folder (programme.yml, landlords/*.yml, vocabularies.yml)"),
        "outputs": ("outputs", "where reports, index.html and Excel tables are written"),
    }
    for name in names:
        default, text = helps[name]
        p.add_argument(f"--{name}", type=Path, default=Path(default), help=f"{text} (default: {default})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="increase-eval",
        description="Evaluation workbook for INCREASE Valorisation Sociale: make synthetic exports, prepare "
                    "landlords' exports into a clean pseudonymised dataset.")
    parser.add_argument("--version", action="version", version=f"increase-eval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("synth", help="write deterministic synthetic exports for every landlord",
                       description="Write synthetic raw exports shaped like each partner's own (formats, "
                                   "languages, flaws), with true effects planted and written to a truth file "
                                   "for tests. Refuses to write into a folder holding real exports.")
    _folders(s, "raw", "config")
    s.add_argument("--seed", type=int, default=20230331, help="random seed (default: 20230331)")
    s.add_argument("--scale", type=float, default=1.0,
                   help="programme size relative to the real one (about 8,700 people engaged); 10 and 100 "
                        "make larger programmes for benchmarks (default: 1)")
    s.add_argument("--landlords", type=int, default=None, metavar="N",
                   help="a federation of N synthetic landlords instead of the seven partners: each drawn from a "
                        "partner's export shapes and language, with a size of its own, its mapping written to "
                        "--config/landlords/ (a folder of its own, made from config/ when it does not exist)")
    s.add_argument("--truth", type=Path, default=None,
                   help="where to write the planted effects (default: synthetic_truth.json beside --raw)")

    p = sub.add_parser("prepare", help="read, clean, validate, pseudonymise and join the raw exports",
                       description="Read every landlord's exports with its mapping, clean and validate each "
                                   "row, replace identities by keyed-hash IDs, merge duplicates, and write "
                                   "parquet tables and manifest.json. Every raw row is kept, rejected with a "
                                   "reason, or merged as a duplicate; the counts are printed at the end.")
    _folders(p, "raw", "processed", "config")
    p.add_argument("--secret", type=Path, default=None,
                   help="pseudonymisation secret file (default: $INCREASE_EVAL_SECRET or "
                        ".secrets/pseudonymisation.key, created on first use with mode 600)")
    p.add_argument("--workers", type=int, default=None,
                   help="landlords read in parallel processes (default: one per core; 1 reads in this process)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="read each landlord as a task on a Dask distributed cluster (started with 'dask scheduler' "
                        "and 'dask worker'); linking, tables and the manifest stay on this machine. The secret "
                        "goes to the workers and their results come back, so only tls://host:port (Dask's TLS, "
                        "with certificates) or a scheduler on this machine (tcp://127.0.0.1:PORT) is accepted. "
                        "Every worker must see --raw and the folder holding --processed at the same paths (a "
                        "shared folder) and run the same code. Needs the dask extra; --workers is then unused. "
                        "Default: this machine's processes")

    r = sub.add_parser("report", help="run the notebooks for every landlord and group, build the HTML reports",
                       description="Run the seven report notebooks for each landlord (in its language) and for the "
                                   "partnership groups all, fr and uk, in parallel processes; write one "
                                   "self-contained HTML report per entity and language, Excel tables and an index "
                                   "page. Reports whose data, configuration, notebooks and code did not change are "
                                   "not made again.")
    _folders(r, "processed", "outputs", "config")
    r.add_argument("--landlord", nargs="+", action="extend", metavar="ID", default=None,
                   help="only these entities (landlord ids, all, fr, uk; default: every one)")
    r.add_argument("--lang", choices=["fr", "en"], default=None, help="only reports in this language")
    r.add_argument("--workers", type=int, default=None, help="reports made at once (default: one per core)")
    r.add_argument("--force", action="store_true", help="make every report again, changed or not")
    r.add_argument("--pdf", action="store_true", help="also print each report to report_<lang>.pdf beside it, "
                   "with headless Chromium (skipped, with a message, when Chromium is not installed)")
    r.add_argument("--timeout", type=int, default=900, help="seconds one notebook may run (default: 900)")
    r.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the reports on a Dask distributed cluster (e.g. tcp://host:8786, started with 'dask "
                        "scheduler' and 'dask worker'); every worker must see --processed, --config and --outputs at "
                        "the same paths (a shared folder). Needs the dask extra. Default: this machine's processes")
    r.add_argument("--retries", type=int, default=2,
                   help="with --scheduler: times a report whose job process was killed on a worker is run again "
                        "(a lost worker's jobs are run again by the scheduler; default: 2)")

    c = sub.add_parser("check", help="dry run: how each mapping reads each column of its exports (writes nothing)",
                       description="Read each file of each landlord's mapping (the first rows of a large file) "
                                   "with the readers prepare uses, and print per file and column the field it "
                                   "feeds, the share of filled cells that parse, the commonest failing values "
                                   "by their shape (letters a/A, digits 9; never the values) with the reason, "
                                   "and the columns nobody reads; then a verdict per landlord. Exit 0 when every "
                                   "mapped column parses, 1 when one does not or a file cannot be read, 2 for a "
                                   "configuration error.")
    _folders(c, "raw", "config")
    c.add_argument("--landlord", nargs="+", action="extend", metavar="ID", default=None,
                   help="only these landlords (default: every landlord with a folder in --raw)")
    c.add_argument("--rows", type=int, default=50_000,
                   help="data rows read from each file; a larger file is sampled (default: 50000)")
    c.add_argument("--tolerance", type=float, default=1.0, metavar="PERCENT",
                   help="share of a column's filled cells that may fail (stray values prepare sets aside) "
                        "before the column counts as not parsing (default: 1)")
    c.add_argument("--workers", type=int, default=None,
                   help="landlords read in parallel processes (default: one per core; 1 reads in this process)")
    c.add_argument("--json", action="store_true", help="print the report as JSON, for tools")

    d = sub.add_parser("draft", help="write a first mapping for a new landlord from its exports",
                       description="Sniff every CSV and XLSX file in FOLDER (encoding, delimiter, header row, "
                                   "sheet, date formats, decimal mark, yes/no words, category spellings), guess "
                                   "which file is which table and which header feeds which field, and write "
                                   "config/landlords/ID.yml: a commented mapping with a TODO on every guess to "
                                   "check and every blank to fill. Copies no personal data. Refuses to replace "
                                   "an existing mapping without --force.")
    d.add_argument("id", metavar="ID", help="the landlord's id (lower case, digits, _): names the mapping file")
    d.add_argument("folder", metavar="FOLDER", type=Path, help="the folder holding the landlord's exports")
    _folders(d, "config")
    d.add_argument("--force", action="store_true", help="replace an existing mapping")
    return parser


def _synth(args) -> int:
    from . import config as cfg, synth

    t0 = time.perf_counter()
    if args.landlords is not None:
        if args.scale <= 0:
            raise UserError("--scale must be positive")
        synth.check_raw(args.raw)
        shapes = synth.federation(args.config, args.landlords, seed=args.seed)
        config = cfg.load(args.config)
        countries = {c: sum(l.country == c for l in config.landlords.values()) for c in ("UK", "FR")}
        print(f"a federation of {len(shapes)} landlords ({countries['UK']} UK, {countries['FR']} French): "
              f"mappings written to {args.config / 'landlords'}")
    else:
        config = cfg.load(args.config)
    truth = synth.generate(args.raw, config, seed=args.seed, scale=args.scale, truth_path=args.truth)
    print(f"synthetic exports for {truth['people']:,} people written to {args.raw} "
          f"(seed {args.seed}, scale {args.scale:g}) in {time.perf_counter() - t0:.1f} s")
    return 0


def _prepare(args) -> int:
    from . import config as cfg, prepare, summary

    t0 = time.perf_counter()
    if args.scheduler is not None:   # a plain-text connection is refused before anything is read
        from . import cluster

        cluster.refuse_plain(args.scheduler)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    outcome = prepare.run(args.raw, args.processed, cfg.load(args.config), secret=args.secret, say=say,
                          workers=args.workers, scheduler=args.scheduler)
    if outcome.secret_created:
        print("A new pseudonymisation secret was created (mode 600). Keep it with the raw exports; never "
              "share it with anyone holding processed data.", file=sys.stderr)
    print(summary.prepare_summary(outcome, time.perf_counter() - t0))
    return 1 if outcome.errors else 0


def _cost_warnings(config_dir: Path, entities: list[str] | None) -> None:
    """A landlord without a cost still gets its report, without return ratios: say which
    file and key would give them."""
    from . import config as cfg, data

    conf = cfg.load(config_dir)
    wanted = set()
    for e in entities or data.entities(conf):
        if e in data.entities(conf):
            wanted |= set(data.landlords_of(e, conf))
    for lid in sorted(wanted):
        if conf.landlords[lid].cost is None:
            print(f"warning: {conf.landlords[lid].source}: cost: not given; the value account is shown without "
                  f"return ratios (add cost: {{total: ..., erdf: ..., source: ...}} in {conf.landlords[lid].currency})",
                  file=sys.stderr)


def _report(args) -> int:
    from . import report

    t0 = time.perf_counter()
    _cost_warnings(args.config, args.landlord)
    pdf = args.pdf
    if pdf and report.chromium() is None:
        print("warning: --pdf: Chromium is not installed, so no PDF is made (Debian: apt-get install chromium); "
              "the HTML reports, workbooks and index are made as usual", file=sys.stderr)
        pdf = False
    try:
        results = report.run(args.processed, args.outputs, args.config, entities=args.landlord, lang=args.lang,
                             workers=args.workers, force=args.force, timeout=args.timeout, pdf=pdf,
                             scheduler=args.scheduler, retries=args.retries)
    except (ValueError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    print(report.summary(results))
    print(f"Done in {time.perf_counter() - t0:.1f} s; index: {args.outputs / 'index.html'}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _check(args) -> int:
    from . import check, config as cfg

    t0 = time.perf_counter()
    if args.rows < 1:
        raise UserError(f"--rows {args.rows}: give a number of rows, 1 or more")
    if not 0 <= args.tolerance <= 100:
        raise UserError(f"--tolerance {args.tolerance:g}: give a percentage from 0 to 100")
    config = cfg.load(args.config, only=args.landlord)
    reports, notes = check.run(args.raw, config, only=args.landlord, rows=args.rows,
                               tolerance=args.tolerance / 100, workers=args.workers)
    code = check.exit_code(reports, notes)
    seconds = time.perf_counter() - t0
    if args.json:
        print(check.to_json(reports, notes, args.rows, seconds, code))
    else:
        print(check.format_text(reports, notes, args.rows, seconds))
    return code


def _draft(args) -> int:
    from . import draft

    result = draft.draft(args.id, args.folder, args.config, force=args.force,
                         command=f"increase-eval draft {args.id} {args.folder}")
    print(draft.summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"synth": _synth, "prepare": _prepare, "report": _report, "check": _check,
                "draft": _draft}[args.command](args)
    except UserError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the previous outputs are left as they were", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
