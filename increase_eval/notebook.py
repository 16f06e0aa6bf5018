"""What a notebook needs: check its parameters, load its entity's data, and show text,
tables and figures in the reader's language, with disclosure control on every table."""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import config as cfg, data, disclosure, sheets, text, value

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config"
ARREARS_TABLES = ("rent_accounts", "outcomes")   # the arrears panel, and the dates people found work


class Literal(str):
    """A table header given as it is (a landlord's name), not as a key of the strings."""


@dataclass
class Context:
    entity: str
    lang: str
    t: text.Text
    data: data.Dataset
    config: cfg.Config
    values: value.Values

    @property
    def k(self) -> int:
        return int(self.config.programme["thresholds"]["disclosure_k"])

    @property
    def data_end(self) -> pd.Timestamp:
        return pd.Timestamp(self.config.programme["programme"]["data_end"])

    @property
    def entity_name(self) -> str:
        return data.entity_name(self.entity, self.config, self.t)

    @property
    def of_partnership(self) -> bool:
        """Every landlord of this report is one of the programme's partners, whose targets
        the programme sets (not so in a federation made by synth --landlords)."""
        return data.of_partnership(self.entity, self.config)

    @property
    def is_group(self) -> bool:
        return self.entity in data.GROUPS

    def landlord_name(self, landlord_id: str) -> str:
        return self.config.landlords[landlord_id].name

    def neighbourhood_name(self, neighbourhood_id: str) -> str:
        if neighbourhood_id == "other":
            return self.t("common.other_areas")
        # a shared place (config/neighbourhoods.yml) has one row per landlord, one name
        names = self.data.neighbourhoods.drop_duplicates("neighbourhood_id").set_index("neighbourhood_id")["name"]
        return names.get(neighbourhood_id, neighbourhood_id)

    def arrears(self) -> dict:
        """Arrears estimates (difference in differences, event study, matching) for each
        currency of this entity, over the landlords that provided rent accounts and the
        outcomes that date finding work (None for a currency where none did, or too few
        tenancies can be compared); computed once per data snapshot and kept on disk
        (cache.py), shared by the notebooks, both languages, the group's reports that
        pool the same landlords and Lab sessions."""
        from . import cache, tenancies

        key = ("arrears", self.data.manifest["snapshot"], self.entity)
        if key not in _CACHE:
            out = {}
            for currency, landlords in self.currencies().items():
                d = self.data.having(*ARREARS_TABLES).only(landlords)
                # the same landlords give the same estimates whichever report pools them (`all` and `fr`)
                out[currency] = (cache.get(d, self.config, "arrears", [currency, *d.landlords],
                                           lambda d=d: tenancies.estimates(d.tenancies, d.rent_accounts, d.participants))
                                 if d.landlords else None)
            _CACHE[key] = out
        return _CACHE[key]

    @property
    def max_landlord_terms(self) -> int:
        """The most landlords a pooled model gives a term each (config/programme.yml)."""
        from . import employment

        return employment.max_landlord_terms(self.config)

    def employment_model(self):
        """The employment model of this entity's participants (employment.model: imputed and
        complete-case odds ratios, who lacks what): the 30 imputations and their fits are
        computed once per data snapshot and kept on disk (cache.py), shared by both
        languages and Lab sessions."""
        from . import cache, employment

        return cache.get(self.data, self.config, "employment-model", self.entity, lambda: employment.model(
            employment.model_people(self.data), self.data_end, self.data.sessions,
            max_landlord_terms=self.max_landlord_terms))

    def business_model(self):
        """Who creates a business (businesses.who_creates), imputed like the employment
        model, computed once per data snapshot and kept on disk (cache.py)."""
        from . import businesses, cache, employment

        return cache.get(self.data, self.config, "business-model", self.entity, lambda: businesses.who_creates(
            employment.model_people(self.data), self.data_end, self.data.sessions,
            max_landlord_terms=self.max_landlord_terms))

    def model_pooling(self):
        """How this entity's employment and business models allow for landlord and place
        (employment.Pooling), worked out from the people they count without fitting them:
        for the methods section, which says which variant its report used."""
        from . import employment

        people = employment.model_people(self.data)
        if not len(people):           # no outcomes: no model, and nobody to count
            return employment.pooling(people, self.max_landlord_terms)
        d = employment.known_dosage(employment.model_frame(people, self.data_end, self.data.sessions))
        return employment.pooling(d, self.max_landlord_terms)

    # --- exports some landlords did not provide ------------------------------------------------
    def provided(self, *tables: str, say: bool = True) -> data.Dataset:
        """This entity's data for the landlords that provided every one of `tables` (for a
        section that rests on them); first, unless `say` is False, one sentence for each
        landlord that did not: what cannot be measured (a landlord's report) or that it is
        not counted here (a group's). When none did, the result has no landlord and no rows."""
        if say:
            self.not_provided(*tables)
        return self.data.having(*tables)

    def not_provided(self, *tables: str, group: str | None = None) -> None:
        """Say which landlords of this entity did not provide `tables` (nothing when all
        did). `group`: in a group's report, one sentence of the strings naming them all
        (`{names}`) in place of one general sentence each."""
        from . import narrative

        lacking = [self.landlord_name(l) for l in self.data.lacking(*tables)]
        if group and self.is_group and lacking:
            self._show(f'<p class="not-provided">{html.escape(self.t(group, names=", ".join(lacking)))}</p>')
            return
        markup = narrative.not_provided(self, tables)
        if markup:
            self._show(markup)

    def recorded(self, frame: pd.DataFrame, field: str) -> bool:
        """Whether `field` is recorded for anyone in `frame` (rows of a section); when it
        is not, and there are rows, says so (a table of "not recorded" would say nothing)."""
        if frame[field].notna().any():
            return True
        if len(frame):
            self.say(f"not_recorded.{field}")
        return False

    def accounts(self) -> dict[str, value.Account]:
        """The value account of each landlord of this entity (increase_eval.value): computed
        once per data snapshot and kept on disk (cache.py), shared by the summary and
        section 5, both languages, the report's Excel tables and Lab sessions."""
        from . import tables

        key = ("accounts", self.data.manifest["snapshot"], self.entity, self.config.digest())
        if key not in _CACHE:
            _CACHE[key] = tables.entity_accounts(self.data, self.config, self.values)
        return _CACHE[key]

    def currencies(self) -> dict[str, list[str]]:
        """Landlords of this entity by currency: amounts in pounds and euros are never pooled."""
        out: dict[str, list[str]] = {}
        for l in self.data.landlords:
            out.setdefault(self.config.landlords[l].currency, []).append(l)
        return out

    # --- display -----------------------------------------------------------------------------
    def _show(self, markup: str, tables: list[dict] | None = None) -> None:
        """Display markup; the tables it holds (sheets.render) go beside it as JSON, for the
        report's workbook."""
        from IPython.display import display

        tables = (tables or []) + sheets.take(markup)
        bundle = {"text/html": sheets.STRIP.sub("", markup)}
        if tables:
            bundle[sheets.MIME] = tables
        display(bundle, raw=True)

    def heading(self, key: str, level: int = 2, anchor: str | None = None, **kw) -> None:
        """A heading; `anchor` gives it a stable id that links and the contents use."""
        ident = f' id="{html.escape(anchor, quote=True)}"' if anchor else ""
        key = self.t.variant(key, self.is_group)
        self._show(f"<h{level}{ident}>{html.escape(text.capitalised(self.t(key, **kw)))}</h{level}>")

    def say(self, key: str, see: str | None = None, **kw) -> None:
        """A sentence of the strings, worded for this kind of report where the strings give a
        landlord's and a group's form; `see` links it to the section (anchor) that computes it."""
        from . import narrative

        self._show(narrative.para(self, self.t.variant(key, self.is_group), see=see, **kw))

    def html(self, markup: str) -> None:
        """Markup the library built (narrative, evidence): escaped where it holds data."""
        self._show(markup)

    def count(self, n) -> str:
        """A count as a reader may see it: `<k` when 1 to k-1 or already hidden (missing)."""
        return f"<{self.k}" if pd.isna(n) or disclosure.small([n], self.k)[0] else self.t.number(n)

    def rate(self, k: int, n: int) -> str:
        """A rate with its interval, or a dash when it would reveal a count under k."""
        from .indicators import wilson

        if disclosure.rate_hidden([k], [n], self.k)[0]:
            return "–"
        p, lo, hi = wilson(k, n)
        return f"{self.t.pct(float(p))} {self.t.interval(float(lo), float(hi))}"

    def protected(self, frame: pd.DataFrame, counts=(), rates: dict | None = None, relations=()) -> pd.DataFrame:
        """`frame` as a reader may see it: counts 1..k-1 as `<k`, further counts hidden
        (`[c]`) where the table's `relations` would let one be worked back, and rates
        (rate -> (denominator, numerator)) blanked with their intervals when they would
        reveal a hidden count. For charts as much as for tables."""
        return disclosure.suppress(frame, self.k, list(counts), rates, relations)

    def table(self, frame: pd.DataFrame, headers: dict[str, str], counts=(), rates: dict | None = None,
              percents=(), decimals: dict | None = None, labels: dict | None = None, caption: str | None = None,
              p_values=(), relations=(), blocks: str | None = None) -> "Table":
        """Show `frame` with translated headers (`headers`: column -> string key), its
        counts and rates protected (see `protected`), numbers formatted for the language,
        text left and numbers right. `labels` maps a column to a label group in the
        strings (a missing value reads "unknown"), or to a function. A landlord column is
        left out of a landlord's own report (it would repeat its name on every row).
        `blocks`: a column (landlord) whose groups of rows are protected each on its own,
        so that a landlord's rows are hidden alike in its report and in a group's.
        Returns the table as readers see it, unformatted: a DataFrame of the shown columns
        under their own names, protected (see `Table`)."""
        shown = frame.copy()
        for col, group in (labels or {}).items():
            shown[col] = shown[col].map(group if callable(group) else (lambda v, g=group: self.t.label(g, v)))
            shown[col] = shown[col].where(shown[col].notna(), self.t("common.unknown"))
        if blocks and len(shown):
            parts = [self.protected(shown[frame[blocks] == b], counts, rates, relations)
                     for b in pd.unique(frame[blocks])]
            hidden = pd.concat(parts).loc[shown.index]
        else:
            hidden = self.protected(shown, counts, rates, relations)
        if not self.is_group:
            headers = {c: h for c, h in headers.items() if c != "landlord"}
        cols = list(headers)
        # a row's key (a category, a number of barriers) that is missing reads "unknown":
        # a dash means a figure withheld, never a category
        measures = {*counts, *percents, *p_values, *(decimals or {}), *(rates or {}), "lower", "upper"}
        for col in cols:
            if col not in measures:
                hidden[col] = hidden[col].where(hidden[col].notna(), self.t("common.unknown"))
        rows = []
        for _, r in hidden[cols].iterrows():
            row = []
            for col in cols:
                v = r[col]
                if isinstance(v, str):
                    row.append(v)          # a label, or the mark of a hidden count
                elif v is None or pd.isna(v):
                    row.append("–")
                elif col in percents:
                    row.append(sheets.Num(self.t.pct(v), float(v), "percent", decimals=1))
                elif col in p_values:
                    row.append(sheets.Num(self.t.p_value(v), float(v), "number", decimals=3))
                elif col in counts or (col not in (decimals or {}) and pd.api.types.is_integer(v)):
                    row.append(sheets.Num(self.t.number(v, 0), float(v), "count"))
                else:
                    d = (decimals or {}).get(col, 0)
                    row.append(sheets.Num(self.t.number(v, d), float(v), "number", decimals=d))
            rows.append(row)
        markup, payload = sheets.render([h if isinstance(h := headers[c], Literal) else self.t(h) for c in cols], rows,
                                        self.t(caption) if caption else None)
        self._show(markup, [payload])
        protected = hidden[cols].copy()
        for col in (labels or {}):       # the analysis's own values (ids), not their labels
            if col in cols:
                protected[col] = frame[col]
        # the cell that shows it does not show it again (Table._ipython_display_)
        return Table._shown(protected.infer_objects(), markup)

    def figure(self, fig_alt) -> None:
        """A chart with its axes in the reader's number format, drawn at twice the size it is
        shown at (sharp on screen and paper), its width set."""
        import matplotlib.pyplot as plt

        from . import plots

        fig, alt = fig_alt
        plots.localise(fig, self.t)
        png, width = plots.to_png(fig)
        plt.close(fig)
        data64 = base64.b64encode(png).decode("ascii")
        self._show(f'<figure><img src="data:image/png;base64,{data64}" alt="{html.escape(alt, quote=True)}" '
                   f'width="{width}" style="max-width:100%;height:auto"/></figure>')

    def banner(self) -> None:
        """The header every notebook starts with: entity, data snapshot, synthetic mark."""
        m = self.data.manifest
        synthetic = (f'<p class="synthetic-banner" style="background:#E69F00;padding:0.5em;font-weight:bold">'
                     f"{html.escape(self.t('common.synthetic'))}</p>" if self.data.synthetic else "")
        # one banner per notebook; a combined report replaces them by its own header
        self._show(f'<div class="nb-banner"><p><strong>{html.escape(self.entity_name)}</strong> · '
                   f"{html.escape(self.t('common.snapshot', snapshot=m['snapshot'], version=m['code_version']))}</p>"
                   f"{synthetic}</div>")


class Table(pd.DataFrame):
    """What `Context.table` showed, as a DataFrame to keep working with in Lab: the shown
    columns under the analysis's names, counts and rates protected as readers see them
    (`<5`, `[c]`, blanks), ids rather than labels. `html` is the formatted table.

    The cell that showed it does not show it again when it ends with the call (a report
    holds each table once, and no raw frame); typed in a later cell it shows as any
    DataFrame, and whatever is derived from it (`t.head()`, `t.query(...)`) is a plain
    DataFrame."""

    _metadata = ["html", "_shown_in"]

    @property
    def _constructor(self):
        return pd.DataFrame

    @classmethod
    def _shown(cls, frame: pd.DataFrame, markup: str) -> "Table":
        table = cls(frame)
        table.html = markup
        table._shown_in = _cell_run()
        return table

    def _ipython_display_(self) -> None:
        from IPython.display import display

        shown_in = getattr(self, "_shown_in", None)
        if shown_in is not None and shown_in == _cell_run():
            return                  # ctx.table has just shown it, formatted
        display(pd.DataFrame(self))


_CELL_RUNS = [0, False]   # cells run in this kernel (counted from the first table shown), hook registered


def _cell_run() -> int | None:
    """Which cell is running (None outside IPython): counted by a pre_run_cell hook."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    if not _CELL_RUNS[1]:
        shell.events.register("pre_run_cell", _next_cell)
        _CELL_RUNS[1] = True
    return _CELL_RUNS[0]


def _next_cell(*_) -> None:
    _CELL_RUNS[0] += 1


def setup(landlord: str, lang: str, processed: str | Path, config_dir: str | Path | None = None) -> Context:
    """Check the parameters (failing at once with the valid values) and load the data."""
    config_dir = Path(config_dir or os.environ.get("INCREASE_EVAL_CONFIG") or DEFAULT_CONFIG)
    processed = Path(processed)
    if not processed.is_absolute() and not processed.exists():   # relative to notebooks/, as in JupyterLab
        processed = DEFAULT_CONFIG.parent / "notebooks" / processed
    conf = cfg.load(config_dir)
    valid = data.entities(conf)
    if landlord not in valid:
        raise ValueError(f"unknown landlord '{landlord}'; valid values: {', '.join(valid)}")
    if lang not in text.LANGUAGES:
        raise ValueError(f"unknown language '{lang}'; valid values: {', '.join(text.LANGUAGES)}")
    manifest = (Path(processed) / "manifest.json")
    key = ("data", str(Path(processed).resolve()), landlord, manifest.stat().st_mtime_ns if manifest.exists() else 0)
    if key not in _CACHE:   # notebooks of one report share a kernel: load once
        _CACHE.clear()
        _CACHE[key] = data.load(processed, landlord, conf)
    return Context(landlord, lang, text.load(config_dir, lang), _CACHE[key], conf, value.load_values(config_dir))


_CACHE: dict = {}
