"""report: run the seven notebooks for every landlord and group, in parallel, and build one
self-contained HTML report per entity and language, an index page and Excel tables.

Each report (entity, language) is a job run in its own process, in its own session, so
that a job over its time limit is killed with its kernels. Jobs and their kernels die
with the run even when it is killed with SIGKILL (lifeline), and a job whose run is gone
publishes nothing: the run writes each report's state file and the index, so a report is
never published by a run that can no longer record it. A job is skipped when nothing it
depends on changed (the source files of its landlords, from the processed manifest, the
configuration, the notebooks and the library) and its files are the ones its state file
records. Outputs are written atomically: a failed or interrupted job never replaces a
good report; its executed notebooks are kept under outputs/<entity>/failed/ for
debugging.

Why not nbconvert: every output our notebooks show is HTML the library made (text,
tables, figures as inline PNG with alternative text), so the report is assembled from
those outputs directly. No code cell can leak into it, it loads no script from a CDN
(nbconvert's templates load require.js and MathJax, jupyter/nbconvert#754), and seven
notebooks become one document with a table of contents (nbconvert has none, #1690).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import data, lifeline
from .config import Config, load as load_config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
KERNEL_START_ERRORS = ("Address already in use", "Kernel died before replying", "kernel_info", "Kernel didn't respond")


@dataclass(frozen=True)
class Job:
    entity: str
    lang: str

    @property
    def name(self) -> str:
        return f"{self.entity}/{self.lang}"


@dataclass
class Result:
    job: Job
    status: str                  # done | skipped | failed
    seconds: float = 0.0
    error: str = ""
    headline: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)     # file published -> its SHA-256
    killed: int = 0     # the signal that ended the job's process from outside (not its time limit): may be retried


EXPLORE = "00_explore.ipynb"   # the evaluator's own exploration: never part of a report


def notebooks() -> list[Path]:
    """The report's notebooks, in reading order (01_summary ... 07_methods)."""
    return sorted(p for p in NOTEBOOKS_DIR.glob("0*.ipynb") if p.name != EXPLORE)


def plan(config: Config, entities: list[str] | None = None, lang: str | None = None) -> list[Job]:
    """Every landlord in its own language; groups in the languages config gives them."""
    valid = data.entities(config)
    unknown = [e for e in entities or [] if e not in valid]
    if unknown:
        raise ValueError(f"unknown landlord(s) {unknown}; valid: {', '.join(valid)}")
    jobs = []
    for entity in valid:
        if entities and entity not in entities:
            continue
        langs = (config.programme["entities"][entity]["languages"] if entity in data.GROUPS
                 else [config.landlords[entity].language])
        jobs += [Job(entity, l) for l in langs if lang in (None, l)]
    return jobs


# --- incremental ----------------------------------------------------------------------------

def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def job_key(job: Job, manifest: dict, config: Config, inputs: str) -> str:
    """What the report depends on: its landlords' source files, and `inputs` (the digest
    of configuration, notebooks and code, the same for every report of a run)."""
    sources = []
    for lid in data.landlords_of(job.entity, config):
        for f in (manifest.get("landlords") or {}).get(lid, {}).get("files", []):
            sources.append((lid, f["file"], f["sha256"]))
    payload = json.dumps([job.entity, job.lang, sorted(sources), inputs, bool(manifest.get("synthetic"))])
    return hashlib.sha256(payload.encode()).hexdigest()


def inputs_digest(config: Config) -> str:
    """Configuration, notebooks and library code: a change to any redoes every report."""
    return config.digest() + _digest(notebooks() + list(Path(__file__).parent.glob("*.py")))


def _state_path(outputs: Path, job: Job) -> Path:
    return outputs / job.entity / f".state_{job.lang}.json"


# --- one job, in its own process --------------------------------------------------------------

def _start_kernel(work: Path, retries: int = 3):
    """A kernel for one report's notebooks; one that fails to start is retried
    (papermill#511: 'Address already in use' when many start at once). It dies with this
    job, even when the job is killed with SIGKILL (lifeline), and its connection file is
    in the job's work folder, which the next run removes if the job could not. The kernel
    is the project's own (`increase-eval`, lab.py), the one the notebooks name."""
    from jupyter_client.manager import KernelManager

    from . import lab

    specs = lab.spec_manager()
    for attempt in range(1, retries + 1):
        km = KernelManager(kernel_name=lab.KERNEL, kernel_spec_manager=specs, connection_file=str(work / "kernel.json"))
        try:
            km.start_kernel(cwd=str(NOTEBOOKS_DIR), preexec_fn=lifeline.preexec(os.getpid()))
            client = km.client()
            client.start_channels()
            client.wait_for_ready(timeout=120)
            client.stop_channels()
            return km
        except Exception as exc:
            km.shutdown_kernel(now=True)
            if attempt == retries or not any(s in str(exc) for s in KERNEL_START_ERRORS + ("Timeout", "timed out")):
                raise
            time.sleep(0.5 * attempt)


def _execute_notebook(path: Path, out: Path, params: dict, timeout: int, km) -> None:
    """papermill with the report's kernel: the seven notebooks of a report share it, so
    imports and the entity's data are loaded once (each notebook still runs on its own
    in the tests, so none depends on another)."""
    import papermill as pm

    from .lab import KERNEL

    pm.execute_notebook(str(path), str(out), parameters=params, kernel_name=KERNEL, cwd=str(NOTEBOOKS_DIR),
                        progress_bar=False, execution_timeout=timeout, log_output=False, km=km)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _publish(src: Path, dst: Path, parent: int | None) -> None:
    """Rename a finished file into place, unless the run that started this job is gone
    (it could then never write the report's state file and the index)."""
    if parent is not None:
        lifeline.check(parent)
    os.replace(src, dst)


def run_job(job: Job, processed: Path, outputs: Path, config_dir: Path, timeout: int,
            parent: int | None = None, pdf: bool = False) -> dict:
    """Execute the notebooks of one report and write its HTML, its workbook (every table
    of the report, in its language) and, with `pdf`, its PDF. `parent`: the PID of the run
    that started this job; when it is gone, nothing is published (lifeline.Orphaned).
    Returns the headline figures for the index and the SHA-256 of each file published
    (for the state file)."""
    from . import sheets, tables

    config = load_config(config_dir)
    target = outputs / job.entity
    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".work-{job.lang}-", dir=target))
    executed = []
    params = {"landlord": job.entity, "lang": job.lang, "processed": str(processed.resolve())}
    env_config = os.environ.get("INCREASE_EVAL_CONFIG")
    os.environ["INCREASE_EVAL_CONFIG"] = str(config_dir.resolve())
    km = None
    try:
        km = _start_kernel(work)
        for nb in notebooks():
            out = work / nb.name
            try:
                _execute_notebook(nb, out, params, timeout, km)
            except Exception:
                if out.exists():      # failed/ only ever holds notebooks
                    failed = target / "failed"
                    failed.mkdir(exist_ok=True)
                    os.replace(out, failed / f"{job.lang}_{nb.name}")
                raise
            executed.append(json.loads(out.read_text(encoding="utf-8")))
        # build everything first, publish last: a failure leaves the previous outputs whole
        manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
        document = assemble(job, executed, manifest, config)
        entity_data = data.load(processed, job.entity, config)     # once, for headline and workbook
        headline = tables.headline(entity_data, config, config_dir)
        built = {f"report_{job.lang}.html": work / f"report_{job.lang}.html"}
        built[f"report_{job.lang}.html"].write_bytes(document.encode("utf-8"))
        book = f"tables_{job.lang}.xlsx"
        built[book] = work / book
        t, name = _text_and_name(job, config)
        sheets.workbook(sheets.collect(executed), built[book], t, readme_lines(manifest, config, t),
                        t("workbook.title", name=name))
        if pdf:
            built[f"report_{job.lang}.pdf"] = work / f"report_{job.lang}.pdf"
            print_pdf(built[f"report_{job.lang}.html"], built[f"report_{job.lang}.pdf"])
        files = {}
        for name, path in built.items():
            os.chmod(path, 0o644)
            files[name] = _sha256(path)
        for name, path in built.items():     # the report first, then its workbook
            _publish(path, target / name, parent)
        return {"headline": headline, "files": files}
    finally:
        if km is not None:
            km.shutdown_kernel(now=True)
        if env_config is None:
            os.environ.pop("INCREASE_EVAL_CONFIG", None)
        for p in work.glob("*"):
            p.unlink()
        work.rmdir()


def _write_atomic(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _text_and_name(job: Job, config: Config):
    from .text import load as load_text

    t = load_text(config.root, job.lang)
    return t, data.entity_name(job.entity, config, t)


_MADE_BY: list[str] = []


def made_by() -> str:
    """The version of the code making a report or an index, written as `prepare` writes its
    own into the manifest (package version and commit): the data's and the report's may
    differ, and a reader is told both."""
    if not _MADE_BY:
        from .prepare import code_version

        _MADE_BY.append(code_version())
    return _MADE_BY[0]


def readme_lines(manifest: dict, config: Config, t) -> list[str]:
    """The workbook's README sheet: what it is, the data snapshot, the code, the synthetic
    mark, how hidden counts are shown."""
    k = int(config.programme["thresholds"]["disclosure_k"])
    lines = [t("workbook.what"), t("workbook.snapshot", snapshot=manifest["snapshot"], version=manifest["code_version"]),
             t("workbook.made", date=t.date(datetime.now(timezone.utc)), tool=made_by())]
    if manifest.get("synthetic"):
        lines.append(t("common.synthetic"))
    return lines + [t("workbook.hidden", k=k, k1=k - 1), t("report.disclosure", k=k, k1=k - 1)]


# --- PDF ------------------------------------------------------------------------------------------

def chromium() -> str | None:
    """The headless Chromium that prints reports to PDF (the one the browser tests use)."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


def print_pdf(html_path: Path, pdf_path: Path, timeout: int = 180) -> None:
    """Print a report to PDF with headless Chromium, through the report's print stylesheet
    (sections on new pages, title, synthetic mark and page number on every page; Chromium's
    own header and footer, which would print the file's path, are left out). Text stays text."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("--pdf needs Chromium to print the reports (Debian: apt-get install chromium); "
                           "the HTML reports are made without it")
    with tempfile.TemporaryDirectory(prefix="increase-pdf-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=lifeline.preexec(os.getpid()))
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        lines = [l for l in (done.stderr or "").splitlines() if l.strip()]
        raise RuntimeError(f"Chromium could not print {html_path.name} to PDF: {lines[-1] if lines else done.returncode}")


# --- the HTML document -------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:60rem;margin:0 auto;
padding:1rem 1.5rem;color:#1a1a1a;line-height:1.5}
header{border-bottom:2px solid #0072B2;margin-bottom:1rem}
.meta{color:#555;font-size:.9rem}
footer{border-top:1px solid #ddd;margin-top:2rem}
.synthetic-banner{background:#E69F00;color:#000;padding:.5rem;font-weight:bold}
nav.toc{background:#f4f7fa;padding:.5rem 1rem;margin:1rem 0}
nav.toc ol{margin:.25rem 0;padding-left:1.25rem;list-style:none}
table.report-table{border-collapse:collapse;margin:.75rem 0;font-size:.9rem}
table.report-table th,table.report-table td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;
vertical-align:top;overflow-wrap:break-word}
table.report-table th.num,table.report-table td.num{text-align:right;overflow-wrap:normal}
table.report-table a.see{white-space:normal}
table.report-table caption{text-align:left;font-weight:bold;padding:.25rem 0}
img{height:auto}
figure{margin:1rem 0}
h1{margin-top:2.5rem;color:#0072B2}
table.report-table tr.total td{font-weight:bold;border-top:1px solid #999}
table.impact-map td,table.impact-map th{vertical-align:top;text-align:left}
table.impact-map ul{margin:0;padding-left:1rem}
a.see{font-size:.85em;white-space:nowrap}
dl.glossary dt{font-weight:bold;margin-top:.5rem}
dl.glossary dd{margin-left:1.5rem}
.commentary{border-left:3px solid #0072B2;padding-left:1rem}
@media print{
body{max-width:none;padding:0;font-size:10pt;line-height:1.35}
main h1:not(#summary),nav.toc{break-before:page}
h1,h2,h3,h4,caption{break-after:avoid}
h1+p,h2+p,h3+p{break-before:avoid}
table.report-table,figure,.commentary ul,dl.glossary dd{break-inside:avoid}
tr,img{break-inside:avoid}
thead{display:table-header-group}
table.report-table{font-size:8.5pt}
a.see,td.link,th.link{display:none}
a{color:inherit;text-decoration:none}
.synthetic-banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
PRINT_PAGE = """@page{{size:A4;margin:16mm 13mm 15mm 13mm;
@top-left{{content:{title};font:8pt system-ui,Arial,sans-serif;color:#555}}
@top-right{{content:{synthetic};font:bold 8pt system-ui,Arial,sans-serif;color:#000;background:#E69F00}}
@bottom-right{{content:{page};font:8pt system-ui,Arial,sans-serif;color:#555}}}}"""


def _css_string(text: str) -> str:
    """A CSS string literal of plain text (quotes, backslashes and markup escaped)."""
    return '"' + "".join(c if c.isalnum() or c in " .,:;'()-–_/&" else f"\\{ord(c):x} " for c in text) + '"'


def print_css(t, name: str, synthetic: bool) -> str:
    """The page box of a printed report: its title at the top of every page, the synthetic
    mark beside it when the data are synthetic, the page number at the bottom."""
    before, after = t("report.print_page").split("{page}")
    page = f'{_css_string(before)} counter(page) {_css_string(after.replace("{pages}", ""))} counter(pages)'
    return PRINT_PAGE.format(title=_css_string(t("report.title", name=name)),
                             synthetic=_css_string(t("report.synthetic_short")) if synthetic else '""', page=page)
BANNER = re.compile(r'<div class="nb-banner">.*?</div>', re.S)
HEADING = re.compile(r'<h([1-3])(?: id="([^"]+)")?>(.*?)</h\1>', re.S)


def _outputs_html(nb: dict) -> str:
    """The reader-facing outputs of an executed notebook: HTML only (no code, no stderr,
    no evaluator notes)."""
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "parameters" in cell["metadata"].get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") in ("display_data", "execute_result") and "text/html" in out.get("data", {}):
                content = out["data"]["text/html"]
                parts.append("".join(content) if isinstance(content, list) else content)
    return BANNER.sub("", "\n".join(parts))


def assemble(job: Job, executed: list[dict], manifest: dict, config: Config) -> str:
    t, name = _text_and_name(job, config)
    body = "\n".join(f'<section class="notebook">{_outputs_html(nb)}</section>' for nb in executed)
    toc, counter = [], [0]

    def anchor(m: re.Match) -> str:
        counter[0] += 1
        ident = m.group(2) or f"s{counter[0]}"   # a stable anchor the notebook gave, or a number
        if m.group(1) in ("1", "2"):
            toc.append((int(m.group(1)), ident, re.sub(r"<[^>]+>", "", m.group(3))))
        return f'<h{m.group(1)} id="{ident}">{m.group(3)}</h{m.group(1)}>'

    body = HEADING.sub(anchor, body)
    items, open_sub = [], False
    for level, ident, title in toc:
        if level == 1:
            if open_sub:
                items.append("</ol></li>")
                open_sub = False
            elif items:
                items.append("</li>")
            items.append(f'<li><a href="#{ident}">{title}</a>')
        else:
            if not open_sub:
                items.append("<ol>")
                open_sub = True
            items.append(f'<li><a href="#{ident}">{title}</a></li>')
    items.append("</ol></li>" if open_sub else "</li>")
    synthetic = (f'<p class="synthetic-banner" role="alert">{html.escape(t("common.synthetic"))}</p>'
                 if manifest.get("synthetic") else "")
    today = t.date(datetime.now(timezone.utc))
    k = int(config.programme["thresholds"]["disclosure_k"])
    meta = html.escape(t("report.meta", date=today, snapshot=manifest["snapshot"], version=manifest["code_version"],
                         tool=made_by()))
    # the answer first: the summary comes straight after the header, the contents after it
    cut = body.find("</section>") + len("</section>")
    first, rest = body[:cut], body[cut:]
    return f"""<!DOCTYPE html>
<html lang="{job.lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(t("report.title", name=name))}</title>
<style>{CSS}{print_css(t, name, bool(manifest.get("synthetic")))}</style></head>
<body>
<header><h1 style="margin-top:0">{html.escape(t("report.title", name=name))}</h1>
<p class="meta">{html.escape(t("report.made", date=today))}</p>{synthetic}
<p class="meta">{html.escape(t("report.disclosure", k=k, k1=k - 1))}</p></header>
<main>{first}
<nav class="toc" aria-label="{html.escape(t("report.contents"))}"><strong>{html.escape(t("report.contents"))}</strong>
<ol>{"".join(items)}</ol></nav>
{rest}</main>
<footer class="meta"><p>{html.escape(t("report.about"))} {meta}</p></footer>
</body></html>
"""


# --- the batch -----------------------------------------------------------------------------

def _run_in_process(job: Job, processed: Path, outputs: Path, config_dir: Path, timeout: int,
                    pdf: bool = False) -> Result:
    """Run one job in a child process (new session): killed with its kernels when late.
    The job dies with this process, even when it is killed with SIGKILL (lifeline)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "increase_eval.report", "--job", job.entity, job.lang, "--processed", str(processed),
           "--outputs", str(outputs), "--config", str(config_dir), "--timeout", str(timeout),
           "--parent", str(os.getpid())] + (["--pdf"] if pdf else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _RUNNING.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout * max(len(notebooks()), 1) + 120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Result(job, "failed", time.perf_counter() - t0, f"timed out after {timeout} s per notebook")
    finally:
        _RUNNING.discard(proc)
    seconds = time.perf_counter() - t0
    if proc.returncode < 0:      # killed from outside (out of memory, an operator): nothing was published whole
        return Result(job, "failed", seconds, f"the job's process was killed (signal {-proc.returncode})",
                      killed=-proc.returncode)
    if proc.returncode != 0:
        lines = [l for l in err.strip().splitlines() if l.strip()]
        return Result(job, "failed", seconds, lines[-1] if lines else f"exit code {proc.returncode}")
    made = json.loads(out.strip().splitlines()[-1])
    return Result(job, "done", seconds, headline=made["headline"], files=made["files"])


_RUNNING: set = set()   # job processes alive, killed with their kernels if the run is interrupted


def _kill_running() -> None:
    for proc in list(_RUNNING):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(processed: Path, outputs: Path, config_dir: Path, entities: list[str] | None = None, lang: str | None = None,
        workers: int | None = None, force: bool = False, timeout: int = 900, progress: bool = True,
        pdf: bool = False, scheduler=None, retries: int = 2) -> list[Result]:
    """Make the reports that changed (all with `force`), their workbooks and, with `pdf`,
    their PDF; then the index pages, listing every report published (not only this run's).
    `scheduler`: the address of a Dask distributed scheduler (or a dask.distributed.Client)
    to run the jobs on instead of this machine's processes (distributed.py); a job lost
    there is run again up to `retries` times."""
    from tqdm import tqdm

    processed, outputs, config_dir = Path(processed), Path(outputs), Path(config_dir)
    config = load_config(config_dir)
    if not (processed / "manifest.json").is_file():
        raise FileNotFoundError(f"no processed data in {processed}: run 'increase-eval prepare' first")
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    jobs = plan(config, entities, lang)
    # a landlord whose exports prepare could not read (or that has none) has no report of its
    # own; the group reports say it is not counted
    read = {lid for lid, rec in (manifest.get("landlords") or {}).items() if rec.get("status") == "processed"}
    unread = sorted({j.entity for j in jobs if j.entity not in data.GROUPS and j.entity not in read})
    if unread:
        print(f"no report for {', '.join(unread)}: no processed data (see the prepare summary)", file=sys.stderr)
        jobs = [j for j in jobs if j.entity in data.GROUPS or j.entity in read]
    from . import lab
    lab.ensure_kernel()     # registered once here, before jobs start their kernels (a fresh clone too)
    digest = inputs_digest(config)
    results: dict[Job, Result] = {}
    todo = []
    for job in jobs:
        key = job_key(job, manifest, config, digest)
        saved = None if force else _up_to_date(outputs, job, key, pdf)
        if saved is not None:
            results[job] = Result(job, "skipped", headline=saved.get("headline", {}))
            continue
        todo.append((job, key))
    workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    outputs.mkdir(parents=True, exist_ok=True)
    recover(outputs)
    todo = _schedule(todo)
    if scheduler is not None:
        if todo:       # nothing to make: no cluster needed
            from . import cluster   # imports Dask: only when asked for
            cluster.run_jobs(scheduler, todo, processed, outputs, config_dir, timeout, pdf, retries, results,
                             digest, progress)
        ordered = [results[j] for j in jobs]
        from . import tables
        tables.index_page(outputs, ordered, manifest, config, inputs=digest)
        return ordered
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=len(todo), disable=not progress or not todo, unit="report", file=sys.stderr) as bar:
        futures = {pool.submit(_run_in_process, job, processed, outputs, config_dir, timeout, pdf): (job, key)
                   for job, key in todo}
        try:
            done = as_completed(futures)
            _collect(done, futures, results, outputs, bar)
        except BaseException:   # Ctrl-C: stop the jobs and their kernels; published files stay whole
            for f in futures:
                f.cancel()
            _kill_running()
            raise
    ordered = [results[j] for j in jobs]
    from . import tables
    tables.index_page(outputs, ordered, manifest, config, inputs=digest)
    return ordered


def _schedule(todo: list) -> list:
    """The order jobs start in. Longest first, the partnership in its first language, but
    a report that reads the heavy estimates another one computes (cache.py: the
    partnership's other language; the country groups, which pool the partnership's
    landlords of one currency) after the landlords' reports rather than beside it, where
    it would only wait for them."""
    first = {}
    for job, _ in todo:
        first.setdefault(job.entity, job)

    def rank(job_key) -> int:
        job = job_key[0]
        if job.entity not in data.GROUPS:
            return 1
        if job.entity == "all" and first["all"] is job:
            return 0
        return 2 if job.entity != "all" else 3
    return sorted(todo, key=rank)


def _saved(outputs: Path, job: Job) -> dict | None:
    try:
        saved = json.loads(_state_path(outputs, job).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and f"report_{job.lang}.html" in (saved.get("files") or {}) else None


def _whole(outputs: Path, job: Job, saved: dict) -> bool:
    """The files the state describes are the ones in place."""
    for name, digest in saved["files"].items():
        path = outputs / job.entity / name
        if not path.is_file() or _sha256(path) != digest:
            return False
    return True


def published(outputs: Path, job: Job) -> dict | None:
    """The saved state of a report published whole by a run that recorded it (its files
    are the ones its state file describes), whatever inputs it was made from; None when
    there is none. A failed job leaves the previous one in place, and its state."""
    saved = _saved(outputs, job)
    return saved if saved is not None and _whole(outputs, job, saved) else None


def _up_to_date(outputs: Path, job: Job, key: str, pdf: bool = False) -> dict | None:
    """The saved state of a report that need not be made again: made from the same
    inputs (key), and the files it describes are the ones in place. A report published
    by a job whose run was killed before writing the state file does not match, so it
    is made again."""
    saved = _saved(outputs, job)
    if saved is None or saved.get("key") != key:
        return None
    if pdf and f"report_{job.lang}.pdf" not in saved["files"]:    # asked for now, not made then
        return None
    return saved if _whole(outputs, job, saved) else None


@dataclass
class Listed:
    """A report as the index lists it. `status`: "current" (made by this run, or up to
    date), "earlier" (published by an earlier run from inputs that have changed since, and
    not made again by this run), "failed" (this run could not make it). `published`: a
    report is in place to link (for a failed one, the previous version, if any)."""
    job: Job
    status: str
    headline: dict
    published: bool


def listing(outputs: Path, results: list[Result], manifest: dict, config: Config,
            inputs: str | None = None) -> list[Listed]:
    """Every report of the configuration that this run made, skipped or failed, or that
    an earlier run published whole (its state file and its files agree), in the order of
    the plan: a run that makes only some reports (--landlord, --lang) still lists the others."""
    outputs = Path(outputs)
    ran = {r.job: r for r in results}
    out = []
    for job in plan(config):
        r = ran.get(job)
        if r is not None and r.status != "failed":
            out.append(Listed(job, "current", r.headline or {},
                              (outputs / job.entity / f"report_{job.lang}.html").is_file()))
            continue
        saved = published(outputs, job)
        if r is not None:
            out.append(Listed(job, "failed", (saved or {}).get("headline") or {}, saved is not None))
        elif saved is not None:
            if inputs is None:
                inputs = inputs_digest(config)
            current = saved.get("key") == job_key(job, manifest, config, inputs)
            out.append(Listed(job, "current" if current else "earlier", saved.get("headline") or {}, True))
    return out


def _collect(done, futures, results, outputs, bar) -> None:
    for future in done:
        job, key = futures[future]
        record(future.result(), key, results, outputs, bar)


def record(result: Result, key: str, results: dict, outputs: Path, bar) -> None:
    """A job's result, as the run (the one process that writes state files) records it."""
    job = result.job
    results[job] = result
    if result.status == "done":
        _write_atomic(_state_path(outputs, job),
                      json.dumps({"key": key, "headline": result.headline, "files": result.files}).encode("utf-8"))
    bar.set_postfix_str(f"{job.name} {result.status}")
    bar.update(1)


def recover(outputs: Path) -> None:
    """Remove what a killed run left: work folders (with a kernel's connection file),
    half-written files (published files are only ever replaced by rename, so they are
    whole) and empty failed/ folders (older versions made one before knowing whether a
    notebook would go in it)."""
    import shutil

    patterns = ("*/.work-*", "*/.report_*.html.*", "*/..state_*.json.*", ".index*")   # see _write_atomic
    for stale in [p for pattern in patterns for p in outputs.glob(pattern)]:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    for failed in outputs.glob("*/failed"):
        if failed.is_dir() and not any(failed.iterdir()):
            failed.rmdir()


def summary(results: list[Result]) -> str:
    rows = [f"{'report':<32} {'status':<8} {'seconds':>8}  problem"]
    for r in results:
        rows.append(f"{r.job.name:<32} {r.status:<8} {r.seconds:>8.1f}  {r.error}")
    done = sum(r.status == "done" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    failed = sum(r.status == "failed" for r in results)
    rows.append(f"{done} made, {skipped} up to date, {failed} failed")
    return "\n".join(rows)


def _job_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="increase_eval.report")
    ap.add_argument("--job", nargs=2, required=True)
    ap.add_argument("--processed", type=Path, required=True)
    ap.add_argument("--outputs", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--timeout", type=int, required=True)
    ap.add_argument("--parent", type=int, default=None, help="PID of the run: the job dies with it")
    ap.add_argument("--pdf", action="store_true", help="print the report to PDF too")
    a = ap.parse_args(argv)
    if a.parent is not None:
        lifeline.bind(a.parent)
    # terminated: stop the kernel and remove the work folder on the way out (finally)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        made = run_job(Job(*a.job), a.processed, a.outputs, a.config, a.timeout, parent=a.parent, pdf=a.pdf)
    except Exception as exc:  # reported on one line by the parent
        name = type(exc).__name__
        text = str(exc).strip().splitlines()
        print(f"{name}: {text[-1] if text else ''}"[:500], file=sys.stderr)
        return 1
    print(json.dumps(made, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(_job_main(sys.argv[1:]))
