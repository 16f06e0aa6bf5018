"""Figures: one theme, the Okabe-Ito colour-blind-safe palette, units on every axis, a
title that states the finding. Each function returns (figure, alternative text); all
words come from the caller (already in the reader's language)."""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

# Okabe & Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
THEME = {
    "figure.figsize": (7.5, 4.2), "figure.dpi": 100, "savefig.dpi": 100, "font.size": 10,
    "axes.titlesize": 11, "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "legend.frameon": False,
}
plt.rcParams.update(THEME)


def _number(x, decimals: int = 0) -> str:
    """Default number format of alternative texts; callers pass their language's (text.Text.number)."""
    return f"{x:,.{decimals}f}"


def _pct(p, decimals: int = 1) -> str:
    return f"{100 * p:.{decimals}f}%"


# a report shows a figure at its size in inches x DISPLAY_DPI pixels (7.5 in: 750 px, within
# the 912 px text column) and draws it at twice that, sharp on high-density screens and paper
DISPLAY_DPI = 100
RENDER_SCALE = 2
LABEL_WIDTH = 32      # characters per line of a forest plot's row label: the plot keeps its width
TITLE_WIDTH = 78      # characters: a longer title is wrapped, not run off the image


def _fig(title: str):
    fig, ax = plt.subplots()
    ax.set_title("\n".join(textwrap.wrap(title, TITLE_WIDTH)) or title, loc="left")
    return fig, ax


def funnel(stages: list[str], shown: list, title: str, xlabel: str, number=_number):
    """Bars of people per stage. `shown` holds each stage's count as a reader may see it:
    a number, or a string (`<5`, `[c]`) for a hidden count, which gets no bar (its length
    would give the count away), only its label."""
    fig, ax = _fig(title)
    y = np.arange(len(stages))[::-1]
    lengths = [float(v) if not isinstance(v, str) and v is not None else 0.0 for v in shown]
    labels = [v if isinstance(v, str) else "–" if v is None else number(v) for v in shown]
    ax.barh(y, lengths, color=PALETTE[0])
    for yi, length, label in zip(y, lengths, labels):
        ax.annotate(label, (length, yi), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_yticks(y, stages)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(lengths + [1.0]) * 1.12)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{s}: {label}" for s, label in zip(stages, labels))
    return fig, alt


def rates(labels: list[str], rate, lower, upper, title: str, xlabel: str, reference: float | None = None,
          reference_label: str | None = None, pct=_pct):
    """Dot-and-interval chart of rates (0-1) by group; `pct` formats them in the alternative text."""
    fig, ax = _fig(title)
    y = np.arange(len(labels))[::-1]
    r, lo, hi = (np.asarray(v, dtype=float) * 100 for v in (rate, lower, upper))
    ax.errorbar(r, y, xerr=[np.clip(r - lo, 0, None), np.clip(hi - r, 0, None)], fmt="o", color=PALETTE[0],
                ecolor=PALETTE[0], capsize=3)
    if reference is not None:
        ax.axvline(reference * 100, color=PALETTE[3], linestyle="--", label=reference_label)
        ax.legend(loc="lower right")
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(100, np.nanmax(hi) if len(hi) else 100))
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{l}: {pct(v / 100, 0)} ({pct(a / 100, 0)} – {pct(b / 100, 0)})"
                                   for l, v, a, b in zip(labels, r, lo, hi) if not np.isnan(v))
    return fig, alt


def _at_risk_row(ax, times, labels, caption: str) -> None:
    """Numbers under the x axis (numbers at risk, or checked), with their caption on the
    left (clear of the first number), and the axis title moved below them."""
    for x, label in zip(times, labels):
        ax.annotate(label, (x, 0), xycoords=("data", "axes fraction"), xytext=(0, -24), textcoords="offset points",
                    ha="center", va="top", fontsize=8, color="#555")
    ax.annotate(caption, (0, 0), xycoords="axes fraction", xytext=(-18, -24), textcoords="offset points",
                ha="right", va="top", fontsize=8, color="#555")
    ax.xaxis.labelpad = 20


def survival(curves: dict[str, pd.DataFrame], title: str, xlabel: str, ylabel: str, cumulative: bool = False,
             min_at_risk: int = 0, at_risk: tuple[list, list, str] | None = None):
    """Kaplan-Meier step curves with their intervals; `cumulative` shows 1 - S (share
    who had the event). Each curve stops before fewer than `min_at_risk` remain at risk,
    where a step would show what happened to one or two people (and little else).
    `at_risk`: (times, numbers as a reader may see them, caption), shown under the axis."""
    fig, ax = _fig(title)
    for i, (name, c) in enumerate(curves.items()):
        c = c[c["at_risk"] >= min_at_risk] if min_at_risk else c
        s, lo, hi = c["survival"], c["lower"], c["upper"]
        if cumulative:
            s, lo, hi = 1 - s, 1 - hi, 1 - lo
        ax.step(c["time"], s * 100, where="post", color=PALETTE[i], label=name)
        ax.fill_between(c["time"], lo * 100, hi * 100, step="post", color=PALETTE[i], alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 100)
    if len(curves) > 1:
        ax.legend()
    alt = f"{title}. {xlabel}; {ylabel}."
    if at_risk is not None:
        times, labels, caption = at_risk
        # the marks set the horizon: numbers placed outside the axis would stretch a tightly
        # cropped figure to their distance (a curve cut short, or empty, drew a 13 GB image)
        ax.set_xlim(0, max(times))
        ax.set_xticks(times)          # each number under its own tick
        _at_risk_row(ax, times, labels, caption)
        alt += f" {caption}: " + "; ".join(f"{x:g}: {label}" for x, label in zip(times, labels))
    fig.tight_layout()
    return fig, alt


def forest(labels: list[str], estimate, lower, upper, title: str, xlabel: str, number=_number):
    """Odds ratios on a log scale with a line at 1 (no association)."""
    fig, ax = _fig(title)
    y = np.arange(len(labels))[::-1]
    e, lo, hi = (np.asarray(v, dtype=float) for v in (estimate, lower, upper))
    ax.errorbar(e, y, xerr=[np.clip(e - lo, 0, None), np.clip(hi - e, 0, None)], fmt="s", color=PALETTE[0], capsize=3)
    ax.axvline(1, color="grey", linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(y, ["\n".join(textwrap.wrap(label, LABEL_WIDTH)) or label for label in labels])
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{l}: {number(v, 2)} ({number(a, 2)} – {number(b, 2)})"
                                   for l, v, a, b in zip(labels, e, lo, hi))
    return fig, alt


def event_study(table: pd.DataFrame, title: str, xlabel: str, ylabel: str):
    fig, ax = _fig(title)
    t = table["event_time"].astype(float)
    ax.axhline(0, color="grey")
    ax.axvline(-0.5, color=PALETTE[3], linestyle="--")
    ax.fill_between(t, table["lower"], table["upper"], color=PALETTE[0], alpha=0.2)
    ax.plot(t, table["estimate"], "o-", color=PALETTE[0])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig, f"{title}. {xlabel}; {ylabel}."


def tornado(labels: list[str], at_low, at_high, base: float, title: str, xlabel: str, low_label: str,
            high_label: str, number=_number):
    fig, ax = _fig(title)
    y = np.arange(len(labels))[::-1]
    lo, hi = np.asarray(at_low, float), np.asarray(at_high, float)
    ax.barh(y, lo - base, left=base, color=PALETTE[1], label=low_label)
    ax.barh(y, hi - base, left=base, color=PALETTE[0], label=high_label)
    ax.axvline(base, color="black")
    fig.base_case = base   # `localise` labels the line with the base-case value, in the reader's words
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    # below the axis, where it can hide no bar
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{l}: {number(a, 2)} – {number(b, 2)}" for l, a, b in zip(labels, lo, hi))
    return fig, alt


def lines(x, series: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str):
    fig, ax = _fig(title)
    for i, (name, values) in enumerate(series.items()):
        ax.plot(x, values, color=PALETTE[i], label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    top = max([float(np.nanmax(v)) for v in series.values() if np.isfinite(np.asarray(v, float)).any()] or [1.0])
    ax.set_ylim(0, top * 1.1)        # a level starts at zero: the axis does not exaggerate a change
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    return fig, f"{title}. {xlabel}; {ylabel}."


def survival_points(months: list, shown: list, lower: list, upper: list, checked: list, title: str, xlabel: str,
                    ylabel: str, checked_label: str, pct=_pct, number=_number):
    """The shares the survival table gives (trading at each check, with 95% intervals), not a
    curve: `shown` holds each share or None where disclosure control hides it (no point is
    drawn then); the number of businesses checked is written under each mark."""
    fig, ax = _fig(title)
    x = np.arange(len(months))
    for xi, s, lo, hi in zip(x, shown, lower, upper):
        if s is None or pd.isna(s):
            continue
        ax.errorbar([xi], [100 * s], yerr=[[100 * (s - lo)], [100 * (hi - s)]], fmt="o", color=PALETTE[0], capsize=4)
        ax.annotate(pct(s), (xi, 100 * s), xytext=(8, 0), textcoords="offset points", va="center")
    ax.set_xticks(x, [f"{m}\n{c}" for m, c in zip(months, checked)])
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
    ax.annotate(checked_label, (0, 0), xycoords=("axes fraction", "axes fraction"), xytext=(-6, -27),
                textcoords="offset points", ha="right", va="center", fontsize=9, color="#555")
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{m}: {pct(s) if s is not None and not pd.isna(s) else '–'} ({checked_label} {c})"
                                   for m, s, c in zip(months, shown, checked))
    return fig, alt


# --- the reader's number format on the axes ------------------------------------------------------

NICE_LOG = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10, 20, 50, 100)
MID_LOG = (0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5)     # between: labels that never touch on a narrow chart
DENSE_LOG = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5, 2, 3, 4, 5)


def _decimals(step: float) -> int:
    return 0 if step >= 1 or step <= 0 else min(3, -math.floor(math.log10(step) + 1e-9))


def localise(fig, t) -> None:
    """Axis ticks in the reader's format (`t`: a text.Text): 1 234,5 and 47 % in French,
    months by name, odds-ratio (log) axes at readable values (0,5 / 1 / 2, not 10^-1); and
    the words a chart needs besides its caller's: the numbers at risk under a survival
    curve, the base case on a tornado."""
    def number(v, d):     # French groups digits with a thin space on an axis
        return t.number(v, d).replace("\u00a0", "\u202f") if t.lang == "fr" else t.number(v, d)

    for ax in fig.axes:
        for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            if isinstance(axis.get_major_formatter(), (mdates.AutoDateFormatter, mdates.DateFormatter,
                                                        mdates.ConciseDateFormatter)):
                lo, hi = axis.get_view_interval()
                months = max(1, (hi - lo) / 30.4)
                step = next(m for m in (1, 2, 3, 6, 12, 24) if months / m <= 9)
                axis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, min(step, 12)) if step < 12 else [1],
                                                           interval=max(1, step // 12)))
                axis.set_major_formatter(FuncFormatter(lambda v, pos: t.month(mdates.num2date(v))))
                continue
            if axis.get_scale() == "log":
                lo, hi = sorted(axis.get_view_interval())
                ticks = [v for v in NICE_LOG if lo <= v <= hi]
                for denser in (MID_LOG, DENSE_LOG):     # a narrow range: denser readable values
                    if len(ticks) < 3:
                        ticks = [v for v in denser if lo <= v <= hi] or [1]
                axis.set_major_locator(FixedLocator(ticks))
                axis.set_minor_locator(NullLocator())
                axis.set_major_formatter(FuncFormatter(lambda v, pos: number(v, 0 if float(v).is_integer() else
                                                                             (1 if round(v * 10, 6).is_integer() else 2))))
                continue
            if not isinstance(axis.get_major_formatter(), FuncFormatter) and \
                    axis.get_major_locator().__class__.__name__ in ("AutoLocator", "MaxNLocator"):
                locs = axis.get_majorticklocs()
                d = _decimals(float(np.min(np.diff(locs)))) if len(locs) > 1 else 0
                suffix = ("\u202f%" if t.lang == "fr" else "%") if "%" in label else ""
                axis.set_major_formatter(FuncFormatter(lambda v, pos, d=d, suffix=suffix: number(v, d) + suffix))
    ax = fig.axes[0] if fig.axes else None
    if ax is not None and getattr(fig, "base_case", None) is not None:   # the line at the base case, in the legend
        from matplotlib.lines import Line2D

        handles, labels = ax.get_legend_handles_labels()
        sep = " : " if t.lang == "fr" else ": "
        ax.legend(handles + [Line2D([0], [0], color="black")],
                  labels + [f"{t('account.cols.base')}{sep}{number(fig.base_case, 2)}"],
                  loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)


def to_png(fig) -> tuple[bytes, int]:
    """The figure as PNG drawn at RENDER_SCALE times its display size, and the width in CSS
    pixels to show it at (its natural width over RENDER_SCALE)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=DISPLAY_DPI * RENDER_SCALE)
    png = buf.getvalue()
    width = int.from_bytes(png[16:20], "big")
    return png, round(width / RENDER_SCALE)
