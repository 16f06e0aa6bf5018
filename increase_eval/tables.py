"""Outputs beside the HTML reports: headline figures and the index pages (the workbooks are
the reports' own tables: increase_eval.sheets)."""

from __future__ import annotations

import html
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import data, disclosure
from .config import Config
from .text import load as load_text

if TYPE_CHECKING:
    from . import value


def _k(config: Config) -> int:
    return int(config.programme["thresholds"]["disclosure_k"])


def entity_accounts(d: data.Dataset, config: Config, values: value.Values) -> dict[str, value.Account]:
    """The value accounts of the entity's landlords, computed once per data snapshot and
    kept on disk (cache.py): the one computation the notebooks (Context.accounts), the
    headline and the report's workbook share."""
    from . import cache, value

    end = pd.Timestamp(config.programme["programme"]["data_end"])
    return cache.get(d, config, "accounts", d.entity, lambda: {
        lid: value.account(value.basis(config.landlords[lid], d, end), values) for lid in d.processed})


def accounts(d: data.Dataset, config: Config, config_dir: Path) -> dict[str, value.Account]:
    """entity_accounts with the values of `config_dir`, once per dataset loaded (the
    headline and the workbook of a report job share them)."""
    from . import value

    if _ACCOUNTS.get("data") is not d or _ACCOUNTS.get("config_dir") != str(config_dir):
        _ACCOUNTS.clear()
        _ACCOUNTS.update(data=d, config_dir=str(config_dir),
                         accounts=entity_accounts(d, config, value.load_values(config_dir)))
    return _ACCOUNTS["accounts"]


_ACCOUNTS: dict = {}


def sroi_by_currency(accts: dict[str, value.Account], values: value.Values) -> dict[str, float]:
    """The SROI ratio per currency (never pooled): social value over cost."""
    from . import value

    if not accts:
        return {}
    g = value.group_totals(list(accts.values()), values)
    num = lambda v: None if v is None or pd.isna(v) else float(v)  # noqa: E731
    return {r["currency"]: (None if pd.isna(r["ratio"]) else
                            {"ratio": num(r["ratio"]), "lower": num(r["ratio_lower"]), "upper": num(r["ratio_upper"])})
            for _, r in g.iterrows()}


def headline(d: data.Dataset, config: Config, config_dir: Path) -> dict:
    """Raw headline figures of an entity, suppressed where a reader could see a small count."""
    from . import employment, indicators, value   # the models' modules, in report jobs only: an index is quick

    p, k = d.participants, _k(config)
    end = config.programme["programme"]["data_end"]
    measured = d.having("outcomes").participants   # jobs and businesses: only where outcomes were provided
    six = employment.outcome_rates(measured, end).set_index("measure").loc["6m"]
    hidden = lambda n: None if disclosure.small([n], k)[0] else n  # noqa: E731
    rate_ok = six["n"] > 0 and not disclosure.rate_hidden([six["k"]], [six["n"]], k)[0]
    return {"engaged": hidden(len(p)), "trained": hidden(int(indicators.reached(p, "training_started").sum())),
            "employed_6m": float(six["rate"]) if rate_ok else None,
            "employed_6m_lower": float(six["lower"]) if rate_ok else None,
            "employed_6m_upper": float(six["upper"]) if rate_ok else None,
            "businesses": hidden(int(measured["business"].sum())) if len(measured) else None,
            "sroi": sroi_by_currency(accounts(d, config, config_dir), value.load_values(config_dir))}


def _cell(v):
    """A value as a worksheet cell: numbers stay numbers; text can never be a formula."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and not v.lstrip("-").replace(".", "", 1).isdigit():
        return "'" + v
    return v


def _sroi_text(sroi, t) -> str:
    """SROI ratios of the index, one per currency (never pooled), as the reports write them:
    '€4.72 for each euro spent (€2.56 to €5.90)'."""
    if not isinstance(sroi, dict) or not sroi:
        return "–"
    out = []
    for cur, r in sroi.items():
        r, lo, hi = (r.get("ratio"), r.get("lower"), r.get("upper")) if isinstance(r, dict) else (r, None, None)
        if r is None:
            out.append("–")
        elif lo is None or hi is None:
            out.append(f"{t.money(r, cur, 2)} {t(f'common.per_spent.{cur}')}")
        else:
            out.append(t("index.sroi_cell", ratio=t.money(r, cur, 2), spent=t(f"common.per_spent.{cur}"),
                         lo=t.money(lo, cur, 2), hi=t.money(hi, cur, 2)))
    return " · ".join(out)


def index_name(lang: str) -> str:
    """index.html in English, index_fr.html in French (each links to the other)."""
    return "index.html" if lang == "en" else f"index_{lang}.html"


def workbook_name(outputs: Path, entity: str, lang: str, langs: list[str] | None = None) -> str | None:
    """The workbook of an entity in a language: its own, or (for a landlord reported in one
    language) the one it has; with `langs`, only the workbooks of those reports (the ones
    the index links)."""
    own = [f"tables_{l}.xlsx" for l in sorted(langs, key=lambda l: l != lang)] if langs is not None else \
        [f"tables_{lang}.xlsx", *sorted(p.name for p in (outputs / entity).glob("tables_*.xlsx"))]
    for name in own:
        if (outputs / entity / name).is_file():
            return name
    return None


def index_page(outputs: Path, results: list, manifest: dict, config: Config, inputs: str | None = None) -> None:
    """outputs/index.html (English) and index_fr.html (French): every report with its
    headline figures, in the reader's language and number format, worded as the reports.
    Every report published whole is listed (report.listing), not only this run's
    `results`; a report this run could not make, or an earlier one it did not make again,
    says so (`inputs`: the run's digest of configuration, notebooks and code, when known)."""
    from . import report

    listed = report.listing(outputs, results, manifest, config, inputs)
    for lang in ("en", "fr"):
        _write_index(outputs, listed, manifest, config, lang)


# Every table of the index has the same columns at the same widths, so that the groups'
# and each country's tables line up; on a narrow screen (a phone) their rows are stacked,
# each cell after its column's name, so that the page never scrolls sideways.
INDEX_COLUMNS = ('<colgroup><col style="width:16%"><col style="width:11%"><col style="width:11%">'
                 '<col style="width:10%"><col style="width:17%"><col style="width:12%"><col style="width:23%">'
                 '</colgroup>')
INDEX_CSS = """body{font-family:system-ui,Arial,sans-serif;max-width:72rem;margin:0 auto;padding:1rem;line-height:1.45}
table{border-collapse:collapse;width:100%;table-layout:fixed}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{font-size:.9rem}td.num,th.num{text-align:right}.meta{color:#555;font-size:.9rem}
.synthetic-banner{background:#E69F00;color:#000;padding:.5rem;font-weight:bold}nav.lang{float:right}
tr.has-note td{border-bottom:0}td.note{color:#555;font-size:.9rem}.iv{white-space:nowrap}
@media screen and (max-width:60rem){
table,tbody,tr,td{display:block;width:auto}thead{display:none}
tr{border-bottom:1px solid #ddd;padding:.4rem 0}tr.has-note{border-bottom:0;padding-bottom:0}
td{border:0;padding:.1rem 0}td.num{text-align:left}td:first-child{font-weight:bold}
tr.note td:first-child{display:none}td[data-label]::before{content:attr(data-label);color:#555}
}
@media print{body{max-width:none;padding:0;font-size:9pt}tr{break-inside:avoid}h2,h3{break-after:avoid}
nav.lang{display:none}a{color:inherit}.synthetic-banner{print-color-adjust:exact;-webkit-print-color-adjust:exact}}"""


def _index_tables(t, head: str, groups: list[str], by_country: dict[str, list], partnership: bool = True) -> str:
    """The partnership and its country groups first, then the landlords in one table per
    country (sorted by name, with links to each country): a federation's hundreds of
    landlords stay easy to find without any script (the browser's own search finds a name)."""
    esc = html.escape
    parts = []
    table = lambda rows: (f'<table>{INDEX_COLUMNS}<thead><tr>{head}</tr></thead>\n'  # noqa: E731
                          f'<tbody>{"".join(rows)}</tbody></table>')
    if groups:
        parts.append(f'<h2 id="groups">{esc(t("index.groups" if partnership else "index.pooled_groups"))}</h2>\n'
                     f'{table(groups)}')
    if by_country:
        countries = sorted(by_country, key=lambda c: t(f"index.countries.{c}"))
        links = " · ".join(f'<a href="#landlords-{c.lower()}">{esc(t("index.landlords_in", country=t(f"index.countries.{c}"), n=t.number(len(by_country[c]))))}</a>'
                           for c in countries)
        parts.append(f'<h2 id="landlords">{esc(t("index.landlords"))}</h2>\n<nav class="countries"><p>{links}</p></nav>')
        for c in countries:
            title = t("index.landlords_in", country=t(f"index.countries.{c}"), n=t.number(len(by_country[c])))
            rows = [row for _, row in sorted(by_country[c], key=lambda x: x[0].casefold())]
            parts.append(f'<h3 id="landlords-{c.lower()}">{esc(title)}</h3>\n{table(rows)}')
    return "\n".join(parts)


def _notes(t, entries: list) -> list[str]:
    """What the index says of a report it cannot list as made by this run or up to date:
    in the reader's words, never the error (which names files and code)."""
    out = []
    for x in entries:
        language = t(f"index.language.{x.job.lang}")
        if x.status == "failed":
            out.append(t("index.failed_earlier" if x.published else "index.failed", language=language))
        elif x.status == "earlier":
            out.append(t("index.earlier", language=language))
    return out


def _write_index(outputs: Path, listed: list, manifest: dict, config: Config, lang: str) -> None:
    t = load_text(config.root, lang)
    other = "fr" if lang == "en" else "en"
    esc = html.escape
    k = _k(config)
    by_entity: dict[str, list] = {}
    for x in listed:
        by_entity.setdefault(x.job.entity, []).append(x)
    heads = [t("cols.landlord"), t("index.reports"), t("cols.engaged"), t("cols.trained"), t("index.employed_6m"),
             t("cols.businesses"), t("index.sroi")]
    # each cell names its column, shown before it on a narrow screen where rows are stacked (INDEX_CSS)
    label = lambda i: f' data-label="{esc(t("index.label", label=heads[i]), quote=True)}"'  # noqa: E731
    groups, by_country = [], {}      # rows of the groups; of the landlords, by country
    for entity, entries in by_entity.items():
        entries = sorted(entries, key=lambda x: x.job.lang != lang)      # the reader's language first
        name = data.entity_name(entity, config, t)
        reports = [x.job.lang for x in entries if x.published]
        links = " ".join(f'<a href="{esc(entity)}/report_{l}.html" hreflang="{l}">{l.upper()}</a>' for l in reports)
        pdfs = " ".join(f'<a href="{esc(entity)}/report_{l}.pdf" hreflang="{l}">PDF {l.upper()}</a>' for l in reports
                        if (outputs / entity / f"report_{l}.pdf").is_file())
        book = workbook_name(outputs, entity, lang, reports)
        xlsx = f'<a href="{esc(entity)}/{book}">xlsx</a>' if book else ""
        notes = _notes(t, entries)
        # the figures of a report made by this run or up to date, else of the earlier one linked
        source = next((x for x in entries if x.status == "current"), None) or \
            next((x for x in entries if x.published), None)
        if source is None:         # nothing to link: only why
            row = f'<tr><td>{esc(name)}</td><td colspan="6" class="note">{esc(" ".join(notes))}</td></tr>'
        else:
            if source.status != "current":
                notes.append(t("index.figures_earlier"))
            h = source.headline or {}
            count = lambda n: "–" if n is None else (f"<{k}" if disclosure.small([n], k)[0] else t.number(n))  # noqa: E731
            rate = ("–" if h.get("employed_6m") is None else       # the interval wraps as one piece
                    f"{esc(t.pct(h['employed_6m']))} <span class=\"iv\">"
                    f"{esc(t.interval(h['employed_6m_lower'], h['employed_6m_upper']))}</span>")
            cells = [f"<td>{esc(name)}</td>", f"<td{label(1)}>{links} {pdfs} {xlsx}</td>",
                     *(f'<td class="num"{label(i)}>{v}</td>' for i, v in enumerate(
                         (esc(count(h.get("engaged"))), esc(count(h.get("trained"))), rate,
                          esc(count(h.get("businesses")))), 2)),
                     f"<td{label(6)}>{esc(_sroi_text(h.get('sroi'), t))}</td>"]
            row = f"<tr>{''.join(cells)}</tr>"
            if notes:     # under the row it explains
                row = (f'<tr class="has-note">{"".join(cells)}</tr>'
                       f'<tr class="note"><td></td><td colspan="6" class="note">{esc(" ".join(notes))}</td></tr>')
        if entity in data.GROUPS:
            groups.append(row)
        else:
            by_country.setdefault(config.landlords[entity].country, []).append((name, row))
    synthetic = (f'<p class="synthetic-banner">{esc(t("common.synthetic"))}</p>' if manifest.get("synthetic") else "")
    num = ' class="num"'
    head = "".join(f'<th{"" if i in (0, 1, 6) else num}>{esc(x)}</th>' for i, x in enumerate(heads))
    from .report import made_by

    meta = t("index.meta", snapshot=manifest["snapshot"], version=manifest["code_version"],
             date=t.date(datetime.now(timezone.utc)), tool=made_by())
    partnership = data.of_partnership("all", config)
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>INCREASE Valorisation Sociale</title>
<style>{INDEX_CSS}</style></head><body>
<nav class="lang"><a href="{index_name(other)}" hreflang="{other}" lang="{other}">{esc(t("index.other"))}</a></nav>
<h1>INCREASE Valorisation Sociale</h1>{synthetic}
<p>{esc(t("index.intro" if partnership else "index.pooled_intro"))}</p>
{_index_tables(t, head, groups, by_country, partnership)}
<footer class="meta"><p>{esc(meta)}</p></footer></body></html>
"""
    fd, tmp = tempfile.mkstemp(prefix=f".index_{lang}.", dir=outputs)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.chmod(tmp, 0o644)
    os.replace(tmp, outputs / index_name(lang))
