"""Figures: one theme, the Okabe-Ito colour-blind-safe palette, units on every axis, a
title that states the finding. Each function returns (figure, alternative text); all
words come from the caller (already in the reader's language)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

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


def _fig(title: str):
    fig, ax = plt.subplots()
    ax.set_title(title, loc="left")
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
    """Numbers under the x axis (numbers at risk, or checked), with their caption on the left."""
    for x, label in zip(times, labels):
        ax.annotate(label, (x, 0), xycoords=("data", "axes fraction"), xytext=(0, -38), textcoords="offset points",
                    ha="center", va="top", fontsize=8)
    ax.annotate(caption, (0, 0), xycoords="axes fraction", xytext=(-5, -38), textcoords="offset points",
                ha="right", va="top", fontsize=8)


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
        _at_risk_row(ax, times, labels, caption)
        alt += f" {caption}: " + "; ".join(f"{x:g}: {label}" for x, label in zip(times, labels))
    fig.tight_layout()
    return fig, alt


def checks(months, share, lower, upper, checked: list[str], title: str, xlabel: str, ylabel: str,
           checked_label: str, pct=_pct):
    """Shares found trading at each follow-up check, with their intervals, and under each
    the number of businesses it counts (as a reader may see it): the figures reported, drawn."""
    fig, ax = _fig(title)
    m = np.asarray(months, dtype=float)
    r, lo, hi = (np.asarray(v, dtype=float) * 100 for v in (share, lower, upper))
    ax.errorbar(m, r, yerr=[np.clip(r - lo, 0, None), np.clip(hi - r, 0, None)], fmt="o", color=PALETTE[0],
                ecolor=PALETTE[0], capsize=4)
    ax.set_xticks(m, [f"{x:g}" for x in m])
    ax.set_xlim(0, max(m.max() if len(m) else 1, 1) + 3)
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _at_risk_row(ax, m, checked, checked_label)
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{x:g}: {pct(v / 100, 0)} ({pct(a / 100, 0)} – {pct(b / 100, 0)}; {n})"
                                   for x, v, a, b, n in zip(m, r, lo, hi, checked) if not np.isnan(v))
    return fig, alt


def forest(labels: list[str], estimate, lower, upper, title: str, xlabel: str, number=_number):
    """Odds ratios on a log scale with a line at 1 (no association)."""
    fig, ax = _fig(title)
    y = np.arange(len(labels))[::-1]
    e, lo, hi = (np.asarray(v, dtype=float) for v in (estimate, lower, upper))
    ax.errorbar(e, y, xerr=[np.clip(e - lo, 0, None), np.clip(hi - e, 0, None)], fmt="s", color=PALETTE[0], capsize=3)
    ax.axvline(1, color="grey", linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(y, labels)
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
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower right")
    fig.tight_layout()
    alt = f"{title}. " + "; ".join(f"{l}: {number(a, 2)} – {number(b, 2)}" for l, a, b in zip(labels, lo, hi))
    return fig, alt


def lines(x, series: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str):
    fig, ax = _fig(title)
    for i, (name, values) in enumerate(series.items()):
        ax.plot(x, values, color=PALETTE[i], label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    return fig, f"{title}. {xlabel}; {ylabel}."
