"""Outputs beside the HTML reports: headline figures, the Excel workbook of key tables
(formatted, with the same disclosure control as the reports) and the index page."""

from __future__ import annotations

import html
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import businesses, data, disclosure, employment, indicators, value
from .config import Config
from .text import load as load_text


def _k(config: Config) -> int:
    return int(config.programme["thresholds"]["disclosure_k"])


def accounts(d: data.Dataset, config: Config, config_dir: Path) -> dict[str, value.Account]:
    """The value accounts of the entity's landlords: worked out once per dataset loaded (the
    headline and the workbook of a report job share them), and read from the disk cache
    when the report's notebooks made them (cache.py; the same entry as Context.accounts)."""
    from . import cache

    if _ACCOUNTS.get("data") is not d or _ACCOUNTS.get("config_dir") != str(config_dir):
        def made():
            values = value.load_values(config_dir)
            end = config.programme["programme"]["data_end"]
            return {lid: value.account(value.basis(config.landlords[lid], d, end), values) for lid in d.landlords}
        _ACCOUNTS.clear()
        _ACCOUNTS.update(data=d, config_dir=str(config_dir), accounts=cache.get(d, config, "accounts", d.entity, made))
    return _ACCOUNTS["accounts"]


_ACCOUNTS: dict = {}


def sroi_by_currency(accts: dict[str, value.Account], values: value.Values) -> dict[str, float]:
    """The SROI ratio per currency (never pooled): social value over cost."""
    if not accts:
        return {}
    g = value.group_totals(list(accts.values()), values)
    return {r["currency"]: (None if pd.isna(r["ratio"]) else float(r["ratio"])) for _, r in g.iterrows()}


def headline(d: data.Dataset, config: Config, config_dir: Path) -> dict:
    """Raw headline figures of an entity, suppressed where a reader could see a small count."""
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


def _account_lines(accts: dict[str, value.Account], k: int) -> pd.DataFrame:
    """Every landlord's account lines, one row each, money hidden where its count is small."""
    rows = []
    for lid, a in accts.items():
        for _, r in a.lines.iterrows():
            small = r["quantity"] is not None and not pd.isna(r["quantity"]) and disclosure.small([r["quantity"]], k)[0]
            rows.append({"landlord": lid, "currency": a.currency, "stakeholder": r["stakeholder"], "line": r["line"],
                         "quantity": r["quantity"], "value": None if small else r["value"],
                         "lower": None if small else r["lower"], "upper": None if small else r["upper"],
                         "counted": bool(r["counted"])})
        rows.append({"landlord": lid, "currency": a.currency, "stakeholder": "total", "line": "social",
                     "quantity": None, "value": a.totals["social"], "lower": a.intervals["social"][0],
                     "upper": a.intervals["social"][1], "counted": True})
        if a.cost:
            rows.append({"landlord": lid, "currency": a.currency, "stakeholder": "total", "line": "sroi",
                         "quantity": None, "value": a.totals["ratio"], "lower": a.intervals["ratio"][0],
                         "upper": a.intervals["ratio"][1], "counted": True})
    return pd.DataFrame(rows)


def _sheets(d: data.Dataset, config: Config, config_dir: Path) -> dict[str, tuple[pd.DataFrame, dict]]:
    """name -> (table, how to suppress and format it). A sheet resting on an export that
    no landlord of the entity provided is left out; otherwise it counts those that did."""
    p = d.participants
    measured = d.having("outcomes").participants
    checked = d.having("outcomes", "business_checks").businesses
    end = config.programme["programme"]["data_end"]
    th = config.programme["thresholds"]
    rate = {"rates": {"rate": ("n", "k")}, "counts": ["n", "k"], "percents": ["rate", "lower", "upper"],
            "relations": indicators.RATE_RELATIONS}
    accts = accounts(d, config, config_dir)
    profile = indicators.esf_profile(p, th["under_age"], th["over_age"])
    known = p["landlord"].isin(d.providers("outcomes"))
    sheets = {
        "funnel": (indicators.funnel(p, outcome_known=known), {"counts": ["people"], "percents": ["share_of_engaged"], "drop": ["engaged"],
                            "rates": {"share_of_engaged": ("engaged", "people")}, "relations": indicators.FUNNEL_RELATIONS}),
        "profile": (profile, rate | {"rates": {"rate": ("known", "k")}, "counts": ["known", "k"],
                                     "relations": indicators.PROFILE_RELATIONS}),
        "employment": (employment.outcome_rates(measured, end), rate),
        "by_barriers": (employment.rates_by(measured, end, "barriers_n"), rate | {"relations": employment.BY_RELATIONS}),
        "business_survival": (businesses.survival_points(checked, end), rate | {"rates": {"survival": ("n", "k")},
                                                                               "percents": ["survival", "lower", "upper"]}),
        "value_account": (_account_lines(accts, _k(config)), {"counts": ["quantity"], "decimals": 2}),
    }
    if measured.empty:
        del sheets["employment"], sheets["by_barriers"]
    elif measured["barriers_n"].isna().all():
        del sheets["by_barriers"]
    if checked.empty:
        del sheets["business_survival"]
    tornado = [a.tornado.assign(landlord=lid) for lid, a in accts.items() if a.tornado is not None]
    if tornado:
        sheets["sroi_sensitivity"] = (pd.concat(tornado, ignore_index=True).drop(columns="swing"), {"decimals": 2})
    return sheets


def workbook(d: data.Dataset, lang: str, config: Config, config_dir: Path, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    t = load_text(config.root, lang)
    k = _k(config)
    wb = Workbook()
    wb.remove(wb.active)
    for name, (table, how) in _sheets(d, config, config_dir).items():
        shown = disclosure.suppress(table, k, how.get("counts", []), how.get("rates"), how.get("relations", ()))
        shown = shown.drop(columns=how.get("drop", []))   # columns a rate needs but the sheet need not show
        ws = wb.create_sheet(t(f"sheets.{name}")[:31])
        headers = [t(f"cols.{c}") if _has(t, f"cols.{c}") else c for c in shown.columns]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="0072B2")
        for row in shown.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for j, col in enumerate(shown.columns, start=1):
            fmt = "0.0%" if col in how.get("percents", []) else ("0.00" if how.get("decimals") else None)
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if fmt and isinstance(cell.value, (int, float)):
                    cell.number_format = fmt
            width = max(len(str(headers[j - 1])), *(len(str(c.value or "")) for (c,) in ws.iter_rows(min_col=j, max_col=j)))
            ws.column_dimensions[ws.cell(1, j).column_letter].width = min(max(10, width + 2), 60)
        ws.freeze_panes = "A2"
    wb.save(path)


def _has(t, key: str) -> bool:
    try:
        t(key)
        return True
    except KeyError:
        return False


def _cell(v):
    """A value as a worksheet cell: numbers stay numbers; text can never be a formula."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and not v.lstrip("-").replace(".", "", 1).isdigit():
        return "'" + v
    return v


def _sroi_text(sroi) -> str:
    """SROI ratios of the index, one per currency (never pooled)."""
    if not isinstance(sroi, dict) or not sroi:
        return "–"
    return " · ".join(f"{'–' if r is None else format(r, '.2f')} ({cur})" for cur, r in sroi.items())


def index_page(outputs: Path, results: list, manifest: dict, config: Config) -> None:
    """outputs/index.html: every report with its headline figures (both languages)."""
    en, fr = load_text(config.root, "en"), load_text(config.root, "fr")
    both = lambda key: f"{html.escape(en(key))} / {html.escape(fr(key))}"  # noqa: E731
    k = _k(config)
    rows = []
    seen = set()
    for r in results:
        entity = r.job.entity
        name = en(f"entities.{entity}") if entity in data.GROUPS else config.landlords[entity].name
        links = " ".join(f'<a href="{html.escape(x.job.entity)}/report_{x.job.lang}.html">{x.job.lang.upper()}</a>'
                         for x in results if x.job.entity == entity and
                         (outputs / x.job.entity / f"report_{x.job.lang}.html").is_file())
        if entity in seen:
            continue
        seen.add(entity)
        h = r.headline or {}
        count = lambda n: "–" if n is None else (f"<{k}" if disclosure.small([n], k)[0] else f"{n:,}")  # noqa: E731
        rate = ("–" if h.get("employed_6m") is None else
                f"{100 * h['employed_6m']:.1f}% [{100 * h['employed_6m_lower']:.1f}, {100 * h['employed_6m_upper']:.1f}]")
        xlsx = (f'<a href="{html.escape(entity)}/tables.xlsx">xlsx</a>'
                if (outputs / entity / "tables.xlsx").is_file() else "")
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{links} {xlsx}</td><td>{html.escape(count(h.get('engaged')))}</td>"
                    f"<td>{html.escape(count(h.get('trained')))}</td><td>{html.escape(rate)}</td>"
                    f"<td>{html.escape(count(h.get('businesses')))}</td>"
                    f"<td>{html.escape(_sroi_text(h.get('sroi')))}</td></tr>")
    synthetic = (f'<p class="synthetic-banner" style="background:#E69F00;padding:.5rem;font-weight:bold">'
                 f'{html.escape(en("common.synthetic"))}<br>{html.escape(fr("common.synthetic"))}</p>'
                 if manifest.get("synthetic") else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>INCREASE Valorisation Sociale</title>
<style>body{{font-family:system-ui,Arial,sans-serif;max-width:70rem;margin:0 auto;padding:1rem}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}}
td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){{text-align:left}}</style></head><body>
<h1>INCREASE Valorisation Sociale</h1>{synthetic}
<p>{both("index.intro")}</p>
<p style="color:#555">{html.escape(en("report.meta", date=datetime.now(timezone.utc).strftime("%d/%m/%Y"),
                                              snapshot=manifest["snapshot"], version=manifest["code_version"], tool=""))}</p>
<table><thead><tr><th>{both("cols.landlord")}</th><th>{both("index.reports")}</th><th>{both("cols.engaged")}</th>
<th>{both("cols.trained")}</th><th>{both("index.employed_6m")}</th><th>{both("cols.businesses")}</th>
<th>{both("index.sroi")}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
    fd, tmp = tempfile.mkstemp(prefix=".index.", dir=outputs)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.chmod(tmp, 0o644)
    os.replace(tmp, outputs / "index.html")
