"""The answer in words: the summary a landlord's board reads first, the value account by
stakeholder, the impact map, and the methods and glossary, in the reader's language and
currency, built from the value accounts (increase_eval.value).

Everything returned is escaped HTML made here; links point only to the report's own
sections. Counts pass through disclosure control (a count of 1 to k-1 shows `<k`), and
so does money computed from such a count (it would give the count back).
"""

from __future__ import annotations

import html

import pandas as pd

from . import disclosure, sheets
from .sheets import Num
from .text import capitalised
from .value import Account, group_totals

SECTIONS = {  # anchor -> the string that names it in a link ("see section 3")
    "summary": "see.summary", "data-quality": "see.data_quality", "participants": "see.participants",
    "employment": "see.employment", "businesses": "see.businesses", "value": "see.value",
    "value-account": "see.value_account", "impact-map": "see.impact_map", "arrears": "see.arrears",
    "sustainment": "see.sustainment", "sensitivity": "see.sensitivity", "methods": "see.methods",
    "limitations": "see.limitations", "evidence": "see.evidence", "glossary": "see.glossary",
}


def esc(text) -> str:
    return html.escape(str(text))


def link(ctx, anchor: str, bare: bool = False) -> str:
    """A link to one of the report's sections, in the reader's words ('(see section 3)',
    or 'section 3' in a table's column)."""
    where = ctx.t(SECTIONS[anchor])
    text = where if bare else ctx.t("common.see", where=where)
    return f'{"" if bare else " "}<a class="see" href="#{anchor}">{esc(text)}</a>'


def para(ctx, key: str, see: str | None = None, **kw) -> str:
    return f"<p>{esc(ctx.t(key, **kw))}{link(ctx, see) if see else ''}</p>"


# --- exports a landlord did not provide ----------------------------------------------------------

def gap(ctx, landlord: str, table: str) -> str:
    """One sentence saying that a landlord did not provide an export (or that none of its
    rows could be used): in a landlord's report, what cannot be measured without it; in a
    group's, that this landlord is not counted here (the others are). Empty when it did."""
    status = ctx.data.status(table, landlord)
    if status == "provided":
        return ""
    name, t = ctx.landlord_name(landlord), ctx.t
    if status == "empty":
        text = t("missing.empty_group" if ctx.is_group else "missing.empty", name=name,
                 table=t(f"labels.tables.{table}"))
        return f'<p class="not-provided">{esc(text)}{link(ctx, "data-quality")}</p>'
    if ctx.is_group:   # a table's own group sentence, where the general one would not be exact
        key = f"missing.{table}.group" if "group" in ctx.t.strings["missing"][table] else "missing.group"
        text = t(key, name=name, what=t(f"missing.{table}.what"))
    else:
        text = t(f"missing.{table}.landlord", name=name)
    return f'<p class="not-provided">{esc(text)}</p>'


def not_provided(ctx, tables) -> str:
    """The sentences of `gap` for every landlord of this report and each of `tables`."""
    return "\n".join(g for lid in ctx.data.lacking(*tables) for table in tables if (g := gap(ctx, lid, table)))


def exports_not_provided(ctx) -> str:
    """One sentence per landlord listing the optional exports it did not provide (section 1)."""
    from .data import OPTIONAL_TABLES

    out = []
    for lid, gaps in ctx.data.lacking(*OPTIONAL_TABLES).items():
        missing = [ctx.t(f"labels.tables.{t}") for t, s in gaps.items() if s == "missing"]
        if missing:
            out.append(para(ctx, "missing.listed", name=ctx.landlord_name(lid), tables=", ".join(missing)))
    return "\n".join(out)


def table(headers: list[str], rows: list[list[str]], caption: str | None = None, classes: str = "report-table",
          raw: set[int] = frozenset(), total_rows: set[int] = frozenset()) -> str:
    """An HTML table of text cells, escaped except the columns in `raw` (links made here),
    number columns right-aligned; it goes to the report's workbook too (sheets), with the
    values its `Num` cells carry."""
    return sheets.register(*sheets.render(headers, rows, caption, classes, raw, total_rows))


# --- numbers as a reader sees them -------------------------------------------------------------------

def small(ctx, n) -> bool:
    return n is not None and not pd.isna(n) and bool(disclosure.small([n], ctx.k)[0])


def money(ctx, x, currency: str, decimals: int = 0) -> str:
    """Money as a reader reads it: large amounts to the nearest hundred, ratios to the cent."""
    if x is None or pd.isna(x):
        return "–"
    if decimals:
        return Num(ctx.t.money(float(x), currency, decimals), round(float(x), decimals), "money", currency, decimals)
    shown = round(float(x), -2) if abs(x) >= 10_000 else round(float(x))
    return Num(ctx.t.money(shown, currency), shown, "money", currency)


def between(ctx, lo, hi, currency: str | None = None, decimals: int = 2, ratio_money: bool = False) -> str:
    """An interval in words: 'from £2.31 to £5.33', 'from 2.31 to 5.33'."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "–"
    if currency:
        f = lambda v: money(ctx, v, currency, 2 if ratio_money else 0)  # noqa: E731
    else:
        f = lambda v: Num(ctx.t.number(v, decimals), round(float(v), decimals), "number", decimals=decimals)  # noqa: E731
    a, b = f(lo), f(hi)
    return Num(ctx.t("common.between", lo=a, hi=b), (a.value, b.value), "interval", currency,
               2 if ratio_money or not currency else 0)


def ratio(ctx, r) -> str:
    return "–" if r is None or pd.isna(r) else Num(ctx.t.number(r, 2), round(float(r), 2), "number", decimals=2)


def ratio_range(ctx, lo, hi) -> str:
    """Two ratios side by side, '2,00 – 5,30' (the ends of a tested range)."""
    a, b = ratio(ctx, lo), ratio(ctx, hi)
    if not isinstance(a, Num) or not isinstance(b, Num):
        return f"{a} – {b}"
    return Num(f"{a} – {b}", (a.value, b.value), "interval", decimals=2)





def assumption_value(ctx, name: str, v: float, currency: str) -> str:
    """An assumption or value as a reader reads it: 15 %, 3 years, 7 650 €."""
    if name in ("deadweight", "displacement", "attribution", "drop_off", "discount_rate"):
        d = 1 if name == "discount_rate" else 0
        return Num(ctx.t.pct(v, d), round(float(v), d + 2), "percent", decimals=d)
    if name == "duration_years":
        d = 0 if float(v).is_integer() else 1
        n = ctx.t.number(v, d)
        words = ctx.t("common.years_one" if abs(v) < 2 and (ctx.lang == "fr" or v == 1) else "common.years", n=n)
        return Num(words, round(float(v), d), "number", decimals=d)
    return money(ctx, v, currency)


def _line_name(ctx, line: str) -> str:
    return ctx.t(f"account.lines.{line}")


# --- the summary ------------------------------------------------------------------------------------

def rate_words(ctx, k: int, n: int) -> dict:
    """A rate and its 95% interval in words, or dashes where disclosure control hides it."""
    from .indicators import wilson

    if n == 0 or disclosure.rate_hidden([k], [n], ctx.k)[0]:
        return {"rate": "–", "interval": ctx.t("common.not_shown")}
    p, lo, hi = (float(x) for x in wilson(k, n))
    return {"rate": ctx.t.pct(p), "interval": ctx.t("common.interval95", lo=ctx.t.pct(lo), hi=ctx.t.pct(hi))}


def summary(ctx, accounts: dict[str, Account], employed_6m: tuple[int, int],
            targets: pd.DataFrame | None = None) -> str:
    """5 to 8 plain sentences and one value-account table: the answer first."""
    six_months = rate_words(ctx, *employed_6m)
    if not accounts:
        return para(ctx, "summary.no_landlord")
    parts = []
    if ctx.is_group:
        unread = [l for l in ctx.data.landlords if l not in accounts]
        if unread:   # a landlord whose exports could not be read counts neither cost nor value
            parts.append(para(ctx, "summary.not_processed", see="data-quality",
                              landlords=", ".join(ctx.landlord_name(l) for l in unread)))
        parts += _group_sentences(ctx, accounts, six_months, targets)
        parts.append(group_table(ctx, accounts, caption=ctx.t("summary.table_caption_group")))
    else:
        (a,) = accounts.values()
        parts += _landlord_sentences(ctx, a, six_months)
        parts.append(account_table(ctx, a, caption=ctx.t("summary.table_caption", name=ctx.entity_name)))
    parts.append(para(ctx, "summary.claims", see="limitations"))
    return "\n".join(parts)


def _landlord_sentences(ctx, a: Account, six: dict) -> list[str]:
    b, cur, t = a.basis, a.currency, ctx.t
    name = ctx.entity_name
    out = []
    reach = dict(engaged=ctx.count(b.engaged), trained=ctx.count(b.trained), completed=ctx.count(b.completed))
    if a.cost:
        own = a.cost.get("own")
        key = "summary.cost" if own is not None else "summary.cost_no_split"
        out.append(para(ctx, key, see="participants", name=name, cost=money(ctx, a.cost["total"], cur),
                        own=money(ctx, own, cur), erdf=money(ctx, a.cost.get("erdf"), cur), year=a.price_year,
                        **reach))
    else:
        out.append(para(ctx, "summary.no_cost", see="participants", name=name, **reach))
    if not b.measured:   # no outcomes: nothing below that rests on people into work can be said
        out.append(gap(ctx, b.landlord, "outcomes"))
    else:
        out.append(para(ctx, "summary.work" if b.both else "summary.work_none_both", see="employment",
                        people=ctx.count(b.people), jobs=ctx.count(b.jobs),
                        businesses=ctx.count(b.businesses), both=ctx.count(b.both), rate=six["rate"],
                        interval=six["interval"]))
    own = a.cost.get("own") if a.cost else None
    if b.arrears is not None and not small(ctx, b.arrears.treated_tenancies):
        lo, hi = a.intervals["arrears_avoided"]
        # the landlord's own answer first: what came back to it, against its own money
        key = "summary.arrears" if own else "summary.arrears_no_own"
        out.append(para(ctx, key, see="arrears", name=name,
                        effect=money(ctx, -b.arrears.effect, cur),
                        interval=between(ctx, -b.arrears.upper, -b.arrears.lower, cur),
                        tenancies=ctx.count(b.arrears.treated_tenancies),
                        value=money(ctx, a.totals["arrears_avoided"], cur), value_interval=between(ctx, lo, hi, cur),
                        own=money(ctx, own, cur), landlord_return=money(ctx, a.totals["landlord_return"], cur, 2),
                        per_own=t(f"common.per_own.{cur}")))
    else:
        out.append(para(ctx, f"summary.arrears_none.{b.why_no_arrears or 'too_few'}", see="arrears", name=name))
    if not b.measured:
        return out
    lo, hi = a.intervals["social"]
    out.append(f'<p>{esc(t("summary.social", social=money(ctx, a.totals["social"], cur), year=a.price_year, interval=between(ctx, lo, hi, cur), residents=money(ctx, a.totals["residents"], cur), public=money(ctx, a.totals["public_purse"], cur)))} '
               f'{esc(t(f"summary.residents_basis.{b.country}"))}{link(ctx, "value-account")}</p>')
    if a.cost:
        lo, hi = a.intervals["ratio"]
        words = dict(spent=t(f"common.per_spent.{cur}"), per_own=t(f"common.per_own.{cur}"))
        key = "summary.ratio" if own else "summary.ratio_no_split"
        out.append(para(ctx, key, see="value-account", ratio=money(ctx, a.totals["ratio"], cur, 2),
                        interval=between(ctx, lo, hi, cur, ratio_money=True), name=name,
                        leverage=money(ctx, a.erdf_leverage, cur, 2), **words))
        out.append(_most_sensitive(ctx, a))
    if b.businesses and b.survival_12m is not None:
        s = b.survival_12m
        words = rate_words(ctx, int(s["k"]), int(s["n"]))
        out.append(para(ctx, "summary.businesses", see="businesses", created=ctx.count(b.businesses),
                        survival=words["rate"], interval=words["interval"]))
    elif b.businesses:   # no survival to give: no business checks, or no business old enough yet
        out.append(para(ctx, "summary.businesses_created", see="businesses", created=ctx.count(b.businesses)))
        out.append(gap(ctx, b.landlord, "business_checks"))
    return out


def _most_sensitive(ctx, a: Account) -> str:
    top = a.tornado.iloc[0]
    name = top["assumption"]
    label = ctx.t.label("assumption", name)
    base = assumption_value(ctx, name, top["base"], a.currency)
    if pd.isna(top["break_even"]):
        return para(ctx, "summary.sensitive_robust", see="sensitivity", top=label, base=base,
                    low=ratio(ctx, min(top["ratio_at_low"], top["ratio_at_high"])),
                    high=ratio(ctx, max(top["ratio_at_low"], top["ratio_at_high"])))
    return para(ctx, "summary.sensitive", see="sensitivity", top=label, base=base,
                break_even=assumption_value(ctx, name, top["break_even"], a.currency))


def _lower_first(text: str) -> str:
    """A table label inside a sentence: 'People trained' -> 'people trained'."""
    return text[:1].lower() + text[1:]


def _group_sentences(ctx, accounts: dict[str, Account], six: dict, targets: pd.DataFrame | None) -> list[str]:
    out = []
    b = [a.basis for a in accounts.values()]
    out.append(para(ctx, "summary.group_reach", see="participants", landlords=len(b),
                    engaged=ctx.count(sum(x.engaged for x in b)), trained=ctx.count(sum(x.trained for x in b)),
                    completed=ctx.count(sum(x.completed for x in b))))
    if targets is not None and len(targets):   # every target, met or not
        each = [ctx.t("summary.target", what=_lower_first(ctx.t.label("target", r["target"]).lstrip(". ")), achieved=ctx.count(int(r["achieved"])),
                      target=ctx.t.number(r["target_value"]), attainment=ctx.t.pct(r["attainment"]))
                for _, r in targets.iterrows()]
        out.append(para(ctx, "summary.targets", see="participants", targets=" ; ".join(each) if ctx.lang == "fr"
                        else "; ".join(each)))
    measured = [x for x in b if x.measured]   # landlords that provided outcomes
    if measured:
        both = sum(x.both for x in measured)
        out.append(para(ctx, "summary.group_work" if both else "summary.group_work_none_both", see="employment",
                        people=ctx.count(sum(x.people for x in measured)), both=ctx.count(both), rate=six["rate"],
                        interval=six["interval"]))
    out.append(not_provided(ctx, ("outcomes",)))
    values = ctx.values
    for _, row in group_totals(list(accounts.values()), values).iterrows():
        cur = row["currency"]
        if not row["landlords"]:   # no landlord of this currency provided outcomes: said above
            continue
        country = ctx.t(f"labels.currency_country.{cur}")
        # no landlord's arrears measured (no rent accounts, or too few tenancies): not 0 avoided
        key = "summary.group_value" if row["arrears_measured"] else "summary.group_value_no_arrears"
        out.append(para(ctx, key, see="value-account", country=country,
                        cost=money(ctx, row["cost"], cur), social=money(ctx, row["social"], cur),
                        interval=between(ctx, row["social_lower"], row["social_upper"], cur),
                        ratio=money(ctx, row["ratio"], cur, 2),
                        ratio_interval=between(ctx, row["ratio_lower"], row["ratio_upper"], cur, ratio_money=True),
                        landlord=money(ctx, row["landlord"], cur), own=money(ctx, row["own"], cur),
                        spent=ctx.t(f"common.per_spent.{cur}"),
                        year=values.price_year[cur]))
    if len({a.currency for a in accounts.values()}) > 1:
        out.append(para(ctx, "summary.group_caution"))
    return out


# --- the value account -------------------------------------------------------------------------------

def account_table(ctx, a: Account, caption: str | None = None, detail: bool = False) -> str:
    """One landlord's account: a line per stakeholder and item, what each counts, its
    value and its Monte-Carlo interval, the totals, the cost and the ratios."""
    cur, t = a.currency, ctx.t
    headers = [t("account.cols.stakeholder"), t("account.cols.item"), t("account.cols.counted_for"),
               t("account.cols.value", year=a.price_year), t("account.cols.interval", level=t.pct(a.level, 0)),
               t("account.cols.see")]
    if detail:
        headers.insert(5, t("account.cols.note"))
    rows, totals = [], set()
    anchors = {"landlord": "arrears", "residents": "value-account", "public_purse": "value-account",
               "local_economy": "businesses"}
    for _, r in a.lines.iterrows():
        hide = small(ctx, r["quantity"])
        unit = t("account.units." + r["unit"]) if isinstance(r["unit"], str) else ""
        quantity = ("–" if r["quantity"] is None or pd.isna(r["quantity"]) else
                    f"{ctx.count(r['quantity'])} {unit}" if hide else
                    Num(f"{ctx.count(r['quantity'])} {unit}", float(r["quantity"]), "count", unit=unit))
        if r["line"] == "turnover_avoided":
            see = "sustainment"
        elif r["line"] == "arrears_avoided":
            see = "arrears"
        else:
            see = anchors[r["stakeholder"]]
        shown = "–" if hide else money(ctx, r["value"], cur)
        interval = "–" if hide else between(ctx, r["lower"], r["upper"], cur)
        note = t(f"account.notes.{r['note']}") if isinstance(r["note"], str) else ""
        if pd.isna(r["value"]) or hide:
            shown, interval, note = (note or "–"), "", ""   # the note says why there is no value
        row = [t(f"account.stakeholders.{r['stakeholder']}"), _line_name(ctx, r["line"]), quantity, shown, interval,
               link(ctx, see, bare=True)]
        if detail:
            row.insert(5, note)
        rows.append(row)
    for nq in a.not_quantified:
        row = [t("account.stakeholders.landlord"), _line_name(ctx, nq.key), "–", t("account.notes.not_quantified"),
               "", link(ctx, "value-account", bare=True)]
        if detail:
            ref = nq.reference
            row.insert(5, t("account.notes.reference", amount=money(ctx, ref.amount, cur), year=ref.price_year,
                            source=_breakable(ref.source)) if ref else "")
        rows.append(row)
    lo, hi = a.intervals["social"]
    totals.add(len(rows))
    relets = bool(a.lines.loc[a.lines["line"].eq("turnover_avoided"), "counted"].any())
    rows.append(_detail([t("account.total_social"), t("account.total_social_note" if relets
                                                       else "account.total_social_note_no_relets"), "",
                         money(ctx, a.totals["social"], cur), between(ctx, lo, hi, cur),
                         link(ctx, "value-account", bare=True)], detail))
    if a.cost:
        totals.add(len(rows))
        split = (t("account.cost_split", own=money(ctx, a.cost["own"], cur), erdf=money(ctx, a.cost["erdf"], cur))
                 if a.cost.get("own") is not None else "")
        rows.append(_detail([t("account.cost"), split, "", money(ctx, a.cost["total"], cur), "",
                             link(ctx, "value-account", bare=True)], detail))
        lo, hi = a.intervals["ratio"]
        totals.add(len(rows))
        rows.append(_detail([t("account.ratio"), t("account.ratio_note", spent=t(f"common.per_spent.{cur}")), "",
                             money(ctx, a.totals["ratio"], cur, 2), between(ctx, lo, hi, cur, ratio_money=True),
                             link(ctx, "sensitivity", bare=True)], detail))
    else:
        rows.append(_detail([t("account.cost"), t("account.no_cost"), "", "–", "", ""], detail))
    raw = {len(headers) - 1}
    return table(headers, rows, caption, raw=raw, total_rows=totals, classes="report-table account")


def _detail(row: list[str], detail: bool) -> list[str]:
    """A row of the account with, in the detailed table, an empty note before the link."""
    return [*row[:5], "", row[5]] if detail else row


def ratios_table(ctx, a: Account) -> str:
    """The return ratios side by side: on the whole cost, on the landlord's own money, the
    landlord's own return, and the EU money each unit of its own brought."""
    if not a.cost:
        return para(ctx, "account.no_cost_text")
    if not a.basis.measured:
        return para(ctx, "account.ratios_none")
    cur, t = a.currency, ctx.t
    per = dict(per_cost=t(f"common.per_cost.{cur}"), per_own=t(f"common.per_own.{cur}"))
    m = lambda x: money(ctx, x, cur, 2)  # noqa: E731
    iv = lambda key: between(ctx, *a.intervals[key], cur, ratio_money=True)  # noqa: E731
    rows = [[t("account.ratios.sroi", **per), m(a.totals["ratio"]), iv("ratio")]]
    if a.cost.get("own"):   # the landlord's own return first: the question it asked
        rows = [[t("account.ratios.landlord", **per), m(a.totals["landlord_return"]), iv("landlord_return")],
                *rows,
                [t("account.ratios.leverage", **per), m(a.erdf_leverage), ""],
                [t("account.ratios.own", **per), m(a.totals["ratio_own"]), iv("ratio_own")]]
    return table([t("account.cols.ratio"), t("account.cols.central"), t("account.cols.interval",
                                                                          level=t.pct(a.level, 0))], rows)


def group_table(ctx, accounts: dict[str, Account], caption: str | None = None) -> str:
    """One line per landlord, each in its own currency; subtotals per currency; for the
    partnership, a column converted at the stated rate (labelled as such)."""
    t, values = ctx.t, ctx.values
    convert_to = ({"fr": "EUR", "en": "GBP"}[ctx.lang] if ctx.entity == "all" and
                  len({a.currency for a in accounts.values()}) > 1 else None)
    headers = [t("cols.landlord"), t("account.cols.cost"), t("account.stakeholders.landlord"),
               t("account.stakeholders.residents"), t("account.stakeholders.public_purse"),
               t("account.cols.social"), t("account.cols.ratio_interval", level=t.pct(values.monte_carlo.interval, 0))]
    if convert_to:
        rate = values.exchange_rate.eur_per_gbp
        headers.append(t("account.cols.converted", currency=convert_to, rate=t.number(rate, 2)))
    rows, totals = [], set()
    for lid, a in accounts.items():
        cur = a.currency
        hide = small(ctx, a.basis.people) or not a.basis.measured   # not measured: "–", said beside the table
        row = [ctx.landlord_name(lid), money(ctx, a.cost["total"], cur) if a.cost else t("account.no_cost_short"),
               money(ctx, a.totals["landlord"], cur) if a.basis.arrears else "–",
               "–" if hide else money(ctx, a.totals["residents"], cur),
               "–" if hide else money(ctx, a.totals["public_purse"], cur),
               "–" if hide else money(ctx, a.totals["social"], cur),
               _ratio_cell(ctx, a.totals["ratio"], *a.intervals["ratio"], cur) if a.cost and not hide else "–"]
        if convert_to:
            row.append("–" if hide else money(ctx, _convert(a.totals["social"], cur, convert_to, values), convert_to))
        rows.append(row)
    for _, g in group_totals(list(accounts.values()), values).iterrows():
        cur = g["currency"]
        totals.add(len(rows))
        landlord = money(ctx, g["landlord"], cur) if g["arrears_measured"] else "–"
        row = [t("account.subtotal", currency=cur), money(ctx, g["cost"], cur), landlord,
               money(ctx, g["residents"], cur), money(ctx, g["public_purse"], cur), money(ctx, g["social"], cur),
               _ratio_cell(ctx, g["ratio"], g["ratio_lower"], g["ratio_upper"], cur)]
        if convert_to:
            row.append(money(ctx, _convert(g["social"], cur, convert_to, values), convert_to))
        rows.append(row)
    return table(headers, rows, caption, total_rows=totals)


def _ratio_cell(ctx, r, lo, hi, cur: str) -> str:
    """A ratio in money, as the summary writes it ('€4.72 (from €2.56 to €5.90)'), carrying
    its interval to the workbook."""
    if r is None or pd.isna(r):
        return "–"
    central, interval = money(ctx, r, cur, 2), between(ctx, lo, hi, cur, ratio_money=True)
    cell = Num(f"{central} ({interval})", central.value, "money", cur, 2)
    if isinstance(interval, Num):
        cell.interval = interval.value
    return cell


def _convert(amount, currency, to, values):
    from .value import convert

    return convert(amount, currency, to, values)


# --- the impact map ----------------------------------------------------------------------------------

def impact_map(ctx, accounts: dict[str, Account]) -> str:
    """Inputs -> activities -> outputs -> outcomes -> value, with this entity's numbers; an
    item resting on an export some landlords did not provide counts the others and names them."""
    acc = list(accounts.values())
    b = [a.basis for a in acc]
    t = ctx.t

    def counted(table: str, items: list[str]) -> list[str]:
        """The items (counted over the landlords that provided `table`), then who did not."""
        lacking = [ctx.landlord_name(l) for l in ctx.data.lacking(table)]
        shown = items if len(lacking) < len(ctx.data.processed) else []
        what = t(f"labels.tables.{table}")
        return shown + ([t("impact.not_provided", what=what, names=", ".join(lacking))] if lacking else [])

    by_cur: dict[str, list[Account]] = {}
    for a in acc:
        by_cur.setdefault(a.currency, []).append(a)
    inputs, value = [], []
    for cur, mine in by_cur.items():
        costed = [a for a in mine if a.cost]
        if costed:
            inputs.append(t("impact.cost", cost=money(ctx, sum(a.cost["total"] for a in costed), cur)))
            if all(a.cost.get("own") is not None for a in costed):
                inputs.append(t("impact.cost_split", own=money(ctx, sum(a.cost["own"] for a in costed), cur),
                                erdf=money(ctx, sum(a.cost["erdf"] for a in costed), cur)))
        measured = [a for a in mine if a.basis.measured]   # without outcomes, no value is measured
        if measured:
            value.append(t("impact.value_social", value=money(ctx, sum(a.totals["social"] for a in measured), cur)))
        if any(a.basis.arrears for a in mine):
            value.append(t("impact.value_landlord", value=money(ctx, sum(a.totals["arrears_avoided"] for a in mine), cur)))
    inputs.append(t("impact.staff"))
    value = counted("outcomes", value)
    s = ctx.data.having("sessions").sessions
    activities = (counted("sessions", [t("impact.sessions", sessions=ctx.count(len(s)),
                                         hours=ctx.t.number(float(s["duration_minutes"].sum() or 0) / 60, 0))]) +
                  counted("ambassadors", [t("impact.ambassadors_trained", n=ctx.count(
                      int(ctx.data.having("ambassadors").ambassadors["person_id"].nunique())))]))
    outputs = [t("impact.engaged", n=ctx.count(sum(x.engaged for x in b))),
               t("impact.trained", n=ctx.count(sum(x.trained for x in b))),
               t("impact.completed", n=ctx.count(sum(x.completed for x in b)))]
    measured = [x for x in b if x.measured]
    outcomes = counted("outcomes", [t("impact.into_work", n=ctx.count(sum(x.people for x in measured))),
                                    t("impact.businesses", n=ctx.count(sum(x.businesses for x in measured)))])
    if any(x.arrears for x in b):
        outcomes.append(t("impact.arrears"))
    cells = [inputs, activities, outputs, outcomes, value]
    heads = [t(f"impact.stages.{s}") for s in ("inputs", "activities", "outputs", "outcomes", "value")]
    body = "".join(f"<td><ul>{''.join(f'<li>{esc(x)}</li>' for x in c)}</ul></td>" for c in cells)
    head = "".join(f"<th>{esc(h)} →</th>" if i < 4 else f"<th>{esc(h)}</th>" for i, h in enumerate(heads))
    markup = (f'<table class="report-table impact-map"><caption>{esc(t("impact.caption"))}</caption>'
              f"<thead><tr>{head}</tr></thead><tbody><tr>{body}</tr></tbody></table>")
    # in the workbook: one column per stage, one line per item
    payload = {"caption": t("impact.caption"), "headers": heads, "totals": [],
               "rows": [[{"t": c[i] if i < len(c) else ""} for c in cells] for i in range(max(map(len, cells)))]}
    return sheets.register(markup, payload)


# --- assumptions, their base case, and the break-even values ------------------------------------------

def assumptions_table(ctx, tornado: pd.DataFrame, cur: str) -> str:
    """Every assumption and value with its base case, its range, the ratio at each end and
    the value at which the ratio would be 1."""
    t = ctx.t
    rows = []
    for _, r in tornado.iterrows():
        name = r["assumption"]
        be = (t("account.break_even_none") if pd.isna(r["break_even"])
              else assumption_value(ctx, name, r["break_even"], cur))
        rows.append([ctx.t.label("assumption", name), assumption_value(ctx, name, r["base"], cur),
                     _range(ctx, name, r["low_value"], r["high_value"], cur),
                     ratio_range(ctx, r["ratio_at_low"], r["ratio_at_high"]), be])
    return table([t("cols.assumption"), t("account.cols.base"), t("account.cols.range"), t("account.cols.ratio_range"),
                  t("account.cols.break_even")], rows, t("account.assumptions_caption"))


def _range(ctx, name: str, low, high, cur: str) -> str:
    """An assumption's tested range, '10 % – 50 %', carrying both ends for the workbook."""
    a, b = assumption_value(ctx, name, low, cur), assumption_value(ctx, name, high, cur)
    text = f"{a} – {b}"
    if isinstance(a, Num) and isinstance(b, Num) and a.kind == b.kind and a.kind != "interval":
        if a.kind == "percent":   # a range of shares: the workbook keeps them as two percentages
            return Num(text, (a.value, b.value), "interval", decimals=max(a.decimals, b.decimals), unit="%")
        return Num(text, (a.value, b.value), "interval", a.currency, max(a.decimals, b.decimals))
    return text


def break_even_sentences(ctx, tornado: pd.DataFrame, cur: str) -> str:
    out = []
    for _, r in tornado.iterrows():
        name = r["assumption"]
        label = ctx.t.label("assumption", name)
        base = assumption_value(ctx, name, r["base"], cur)
        if pd.isna(r["break_even"]):
            out.append(ctx.t("account.break_even_sentence_none", assumption=label, base=base))
        else:
            out.append(ctx.t("account.break_even_sentence", assumption=label, base=base,
                             value=assumption_value(ctx, name, r["break_even"], cur)))
    return "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in out) + "</ul>"


def _breakable(text: str) -> str:
    """Web addresses in a source may wrap after each '/' (a zero-width space), so that a
    narrow column wraps them instead of breaking ordinary words or overflowing the page."""
    return text.replace("/", "/\u200b")


def values_table(ctx, a: Account) -> str:
    """The money values used for this landlord's residents, public purse and landlord, with
    their price year, deflated amount and source (introduced in the reader's language)."""
    t, values, cur = ctx.t, ctx.values, a.currency
    rows = []
    for v in values.countries[a.basis.country].values:
        rows.append([t(f"account.stakeholders.{v.stakeholder}"), _line_name(ctx, v.key),
                     f"{money(ctx, v.amount, cur)} ({v.price_year})",
                     money(ctx, values.deflate(v.amount, cur, v.price_year), cur),
                     t("account.is_assumption") if v.assumption else t("account.not_assumption"), v.derivation.get(ctx.lang, ""),
                     _breakable(" ".join(v.source.split()))])
    return table([t("account.cols.stakeholder"), t("account.cols.item"), t("account.cols.as_published"),
                  t("account.cols.value", year=values.price_year[cur]), t("account.cols.assumption"),
                  t("account.cols.derivation"), t("cols.source")], rows, t("account.values_caption", currency=cur))


def sustainment(ctx, accounts: dict[str, Account]) -> str:
    """Tenancies ended, participants' against comparison ones, with the interval of the
    difference and one sentence of reading, per landlord."""
    out = []
    for lid, a in accounts.items():
        tv = a.basis.turnover
        prefix = f"{ctx.landlord_name(lid)} : " if ctx.is_group and ctx.lang == "fr" else (
            f"{ctx.landlord_name(lid)}: " if ctx.is_group else "")
        if tv is None:
            # no tenancies export, or tenancies whose ends are unknown: said by the section already
            if a.basis.why_no_turnover == "too_few":
                out.append(f"<p>{esc(prefix + ctx.t('sustainment.too_few'))}</p>")
            continue
        hidden = any(small(ctx, n) for n in (tv.participant_ended, tv.comparison_ended, tv.participant_tenancies))
        part = "–" if hidden else ctx.t.pct(tv.participant_ended / tv.participant_tenancies)
        comp = ctx.t.pct(tv.comparison_ended / tv.comparison_tenancies) if tv.comparison_tenancies else "–"
        points = abs(100 * tv.difference)
        diff = "–" if hidden else ctx.t("sustainment.points_one" if points < 2 else "sustainment.points",
                                        n=ctx.t.number(points, 1))
        interval = ("–" if hidden else ctx.t("common.interval95", lo=ctx.t.number(100 * tv.lower, 1),
                                              hi=ctx.t.number(100 * tv.upper, 1)))
        direction = ctx.t("sustainment.less" if tv.difference > 0 else "sustainment.more")
        text = ctx.t("sustainment.difference", share_part=part, share_comp=comp, difference=diff, interval=interval,
                     direction=direction)
        reading = ctx.t("sustainment.reading_supported" if tv.supported else "sustainment.reading_none")
        out.append(f"<p>{esc(prefix + text)} {esc(reading)}</p>")
    return "\n".join(out)


def deadweight_table(ctx, accounts: dict[str, Account]) -> str:
    """Which deadweight each landlord's account uses: measured from housing benefit
    stopping among its comparison tenants (value.Basis.deadweight), with its interval, or
    the assumed value of config/values.yml."""
    t = ctx.t
    assumed = ctx.values.assumptions["deadweight"]
    measured = [a.basis.deadweight for a in accounts.values() if a.basis.deadweight is not None]
    months, horizon = (measured[0].min_months, measured[0].horizon) if measured else (6, 12)
    def share(v, d):   # a percentage the workbook keeps as a number
        return Num(t.pct(v, d), round(float(v), d + 2), "percent", decimals=d)

    def shares(lo, hi, d):
        return Num(f"{t.pct(lo, d)} – {t.pct(hi, d)}", (round(float(lo), d + 2), round(float(hi), d + 2)), "interval",
                   decimals=d, unit="%")

    rows = []
    for lid, a in accounts.items():
        dw = a.basis.deadweight
        if dw is None:
            rows.append([ctx.landlord_name(lid), share(assumed.central, 0), shares(assumed.low, assumed.high, 0),
                         t("account.deadweight_assumed")])
        else:
            rows.append([ctx.landlord_name(lid), share(dw.estimate, 1), shares(dw.lower, dw.upper, 1),
                         t("account.deadweight_measured", stops=ctx.count(dw.stops), tenancies=ctx.count(dw.tenancies))])
    head = [t("cols.landlord"), t("account.deadweight_cols.used"), t("account.deadweight_cols.interval"),
            t("account.deadweight_cols.source")]
    intro = para(ctx, "account.deadweight_intro", months=months, horizon=horizon, assumed=t.pct(assumed.central, 0),
                 source=assumed.source.get(ctx.lang, ""))
    caveat = para(ctx, "account.deadweight_caveat") if measured else ""
    return (f"<h3>{esc(t('account.deadweight_title'))}</h3>" + intro
            + table(head, rows, t("account.deadweight_caption")) + caveat)


def sensitivity_section(ctx, accounts: dict[str, Account]) -> list[tuple[str, object]]:
    """What section 5 shows about uncertainty, per currency: (kind, content) pairs the
    notebook displays in order ('html' markup, or 'tornado' (title, table, currency))."""
    from .value import sensitivity

    from .value import ratio_at

    out: list[tuple[str, object]] = []
    by_cur: dict[str, list[Account]] = {}
    for a in accounts.values():
        by_cur.setdefault(a.currency, []).append(a)
    out.append(("html", deadweight_table(ctx, accounts)))
    for cur, every in by_cur.items():
        if ctx.is_group and len(by_cur) > 1:
            country = ctx.t('labels.currency_country.' + cur)
            out.append(("html", f"<h3>{esc(capitalised(country))} ({cur})</h3>"))
        out.append(("html", values_table(ctx, every[0])))
        # landlords without outcomes have no value to test (the section says they did not provide them)
        mine = [a for a in every if a.basis.measured]
        if not mine:
            continue
        costed = [a for a in mine if a.cost]
        if not costed or len(costed) < len(mine):
            out.append(("html", para(ctx, "account.no_cost_text")))
            continue
        tornado = mine[0].tornado if len(mine) == 1 else sensitivity([a.basis for a in mine], ctx.values)
        out.append(("html", assumptions_table(ctx, tornado, cur)))
        out.append(("tornado", tornado, cur, ratio_at([a.basis for a in mine], ctx.values)))
        if len(mine) == 1:
            a = mine[0]
            out.append(("html", para(ctx, "account.monte_carlo", interval=between(ctx, *a.intervals["ratio"]),
                                     landlord_interval=between(ctx, *a.intervals["landlord"], a.currency))))
        out.append(("html", f"<h3>{esc(ctx.t('account.break_even_title'))}</h3>" + break_even_sentences(ctx, tornado, cur)))
    return out


def left_out(ctx, covariates: list[str]) -> str:
    """The matching's covariates that no tenancy records (or all alike), in words; empty when none."""
    if not covariates:
        return ""
    return para(ctx, "value.psm_left_out", covariates=", ".join(ctx.t.label("covariate", c) for c in covariates))


def model_pooling(ctx, pooling, clusters: int) -> str:
    """The sentence saying how the employment model allows for landlord and place
    (employment.Pooling): a term per landlord and errors clustered by neighbourhood, or,
    with more landlords than the configured limit, the country and errors clustered by
    landlord; `clusters`, how many clusters the fit had."""
    t = ctx.t
    return t(f"employment.model_pooling.{pooling.key}", clusters=t.number(clusters),
             landlords=t.number(pooling.landlords), max=t.number(pooling.max_landlord_terms))


def methods(ctx, first_entry, last_entry) -> str:
    """Data period, definitions, comparison groups, costs, value and what each model assumes."""
    t = ctx.t
    parts = [para(ctx, "methods.period", start=t.date(first_entry), end=t.date(last_entry),
                  data_end=t.date(ctx.data_end))]
    pooling = None
    for key in ("indicators", "comparison", "costs", "value", "models"):
        parts.append(f"<h3>{esc(t(f'methods.{key}_title'))}</h3>")
        node = ctx.t.strings["methods"][key]
        if isinstance(node, list):
            items = []
            for x in node:
                if isinstance(x, dict):   # worded by how this report's models allow for landlord and place
                    pooling = pooling or ctx.model_pooling()
                    x = x[pooling.key].format(max=t.number(pooling.max_landlord_terms),
                                              landlords=t.number(pooling.landlords))
                items.append(f"<li>{esc(x)}</li>")
            parts.append("<ul>" + "".join(items) + "</ul>")
        else:
            parts.append(f"<p>{esc(node)}</p>")
    return "\n".join(parts)


def glossary(ctx) -> str:
    terms = ctx.t.strings["glossary"]["terms"]
    items = "".join(f"<dt>{esc(term)}</dt><dd>{esc(meaning)}</dd>" for term, meaning in terms.values())
    return f'<dl class="glossary">{items}</dl>'


def reconciliation(ctx, accounts: dict[str, Account], employed_6m: tuple[int, int]) -> str:
    """Records and people side by side, so that no figure is read as another: contracts
    against people in work, business creations against the people who made them."""
    b = [a.basis for a in accounts.values() if a.basis.measured]
    if not b:   # no outcomes export: nothing to reconcile
        return ""
    total = lambda f: sum(getattr(x, f) for x in b)  # noqa: E731
    key = "account.reconcile" if total("both") else "account.reconcile_none_both"
    return para(ctx, key, see="employment", job_records=ctx.count(total("job_records")),
                jobs=ctx.count(total("jobs")), business_records=ctx.count(total("business_records")),
                businesses=ctx.count(total("businesses")), both=ctx.count(total("both")),
                people=ctx.count(total("people")), in_work=ctx.count(employed_6m[0]), followed=ctx.count(employed_6m[1]))
