"""Indicators: counts, rates with Wilson intervals, the pathway funnel, employment at
exit and at 6 months (the EU's immediate and longer-term results), the ESF participant
profile, target attainment and data completeness."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .disclosure import Along, Chain, Subset, Within, collapse
from .schema import STAGES

ESF_INDICATORS = ["unemployed", "long_term_unemployed", "inactive", "under_25", "over_54", "disability",
                  "single_parent", "no_qualification", "women", "ethnic_minority"]

# How the counts of each table add up, for secondary suppression (see disclosure.py)
RATE_RELATIONS = (Within("n", ("k",), rest=True),)
FUNNEL_RELATIONS = (Chain("stage", tuple(STAGES[:4]), "people"), Chain("stage", ("engaged", "outcome"), "people"))
PROFILE_RELATIONS = (Within("known", ("k",), rest=True),
                     Subset("indicator", ("unemployed", "long_term_unemployed", "inactive"), "k", "known"))
ACCOUNTING_RELATIONS = (Within("rows_in", ("kept", "rejected", "merged")),
                        *(Along(c) for c in ("rows_in", "kept", "rejected", "merged")))
AREA_RELATIONS = (*(Along(c, by="landlord") for c in ("engaged", "trained", "completed")),
                  Within("engaged", ("trained",), rest=True), Within("trained", ("completed",), rest=True))


def wilson(k, n, level: float = 0.95):
    """Wilson score interval for k successes in n trials: (rate, lower, upper); arrays welcome.
    Better than the normal approximation for small n and rates near 0 or 1."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        # exact bounds contain p; rounding can push them past it at k = 0 or k = n
        lower = np.clip(centre - half, 0, np.where(np.isnan(p), np.nan, p))
        upper = np.clip(centre + half, np.where(np.isnan(p), np.nan, p), 1)
    return p, lower, upper


def rate_table(frame: pd.DataFrame, flag: str, by: str | list[str] | None = None,
               eligible: str | None = None) -> pd.DataFrame:
    """n (eligible people), k (flag true), rate and its 95% Wilson interval, overall or by group."""
    d = frame if eligible is None else frame[frame[eligible].fillna(False).astype(bool)]
    d = d[d[flag].notna()]
    if by is None:
        g = pd.DataFrame({"n": [len(d)], "k": [int(d[flag].astype(bool).sum())]})
    else:
        g = d.groupby(by, dropna=False, observed=True)[flag].agg(n="size", k=lambda s: int(s.astype(bool).sum()))
        g = g.reset_index()
    g["rate"], g["lower"], g["upper"] = wilson(g["k"], g["n"])
    return g


def employment_outcomes(p: pd.DataFrame, data_end) -> pd.DataFrame:
    """Adds the outcome flags used by the employment analysis, each with the people it can
    be measured for (follow-up long enough before the exports' date):
    - at exit: employment within 4 weeks of leaving (EU immediate result);
    - at 6 months: employment within 6 months of leaving (EU longer-term result);
    - within 12 months of starting training (the model's outcome)."""
    end = pd.Timestamp(data_end)
    out = p.copy()
    emp = out["employment_date"]
    for name, origin, days in (("exit", out["exit_date"], 28), ("6m", out["exit_date"], 183),
                               ("12m", out["training_start_date"], 365)):
        eligible = origin.notna() & (origin + pd.Timedelta(days=days) <= end)
        out[f"eligible_{name}"] = eligible
        out[f"employed_{name}"] = (emp.notna() & (emp <= origin + pd.Timedelta(days=days))).where(eligible)
    return out


def reached(p: pd.DataFrame, stage: str) -> np.ndarray:
    """Who reached a stage of the pathway: the date or flag says so, or the stage the
    landlord recorded (`recorded_stage`) is that one or a later one. A person recorded as
    in training with no start date is counted as trained, and has no date for analyses
    that need one."""
    says = {
        "engaged": lambda: np.ones(len(p), dtype=bool),
        "assessed": lambda: (p["assessment_date"].notna() | p["training_start_date"].notna()).to_numpy(),
        "training_started": lambda: p["training_start_date"].notna().to_numpy(),
        "training_completed": lambda: p["training_completed"].fillna(False).astype(bool).to_numpy(),
        "outcome": lambda: (p["employment"] | p["further_training"]).astype(bool).to_numpy(),
    }[stage]()
    if "recorded_stage" not in p:
        return says
    rank = p["recorded_stage"].map({s: i for i, s in enumerate(STAGES)}).astype("float64").to_numpy()
    return says | (rank >= STAGES.index(stage))


def funnel(p: pd.DataFrame, outcome_known=None) -> pd.DataFrame:
    """People reaching each stage of the pathway (see `reached`). `outcome_known` (a mask
    of `p`): the people whose landlord provided outcomes; the last stage counts only
    them, its share is of them, and it is left out when there are none."""
    known = np.ones(len(p), dtype=bool) if outcome_known is None else np.asarray(outcome_known, dtype=bool)
    rows = [{"stage": s, "people": int(reached(p, s).sum()), "engaged": len(p)} for s in STAGES[:-1]]
    if known.any():
        rows.append({"stage": "outcome", "people": int(reached(p[known], "outcome").sum()),
                     "engaged": int(known.sum())})
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["share_of_engaged"] = table["people"] / table["engaged"].where(table["engaged"] > 0)
    return table[["stage", "people", "engaged", "share_of_engaged"]]


def esf_profile(p: pd.DataFrame, under: int = 25, over: int = 54) -> pd.DataFrame:
    """Share of participants with each ESF-style indicator, among those for whom it is known."""
    flags = pd.DataFrame({
        "unemployed": p["employment_status"].eq("unemployed").where(p["employment_status"].notna()),
        "long_term_unemployed": p["employment_status"].eq("long_term_unemployed").where(p["employment_status"].notna()),
        "inactive": p["employment_status"].eq("inactive").where(p["employment_status"].notna()),
        "under_25": (p["age_at_entry"] < under).where(p["age_at_entry"].notna()),
        "over_54": (p["age_at_entry"] > over).where(p["age_at_entry"].notna()),
        "disability": p["disability"], "single_parent": p["single_parent"], "no_qualification": p["no_qualification"],
        "women": p["sex"].eq("F").where(p["sex"].notna()), "ethnic_minority": p["ethnic_minority"],
    })
    rows = []
    for name in ESF_INDICATORS:
        col = flags[name].dropna().astype(bool)
        rows.append({"indicator": name, "known": len(col), "k": int(col.sum())})
    t = pd.DataFrame(rows)
    t["rate"], t["lower"], t["upper"] = wilson(t["k"], t["known"])
    return t


def targets(p: pd.DataFrame, config_targets: dict, outcome_known=None) -> pd.DataFrame:
    """Achievement against the programme targets (config/programme.yml, `targets.use`);
    jobs and businesses among the people whose landlord provided outcomes
    (`outcome_known`, a mask of `p`), and left out when there are none."""
    which = config_targets[config_targets["use"]]
    known = p if outcome_known is None else p[np.asarray(outcome_known, dtype=bool)]
    achieved = {"trained": int(reached(p, "training_started").sum())}
    if len(known):
        achieved |= {"into_employment": int(known["employment"].sum()),
                     "of_which_business_creation": int(known["business"].sum()),
                     "new_businesses": int(known["business"].sum())}
    rows = [{"target": k, "target_value": v, "achieved": achieved[k]} for k, v in which.items() if k in achieved]
    t = pd.DataFrame(rows)
    t["attainment"] = t["achieved"] / t["target_value"]
    return t


def own_targets(config_targets: dict, entity: str) -> dict | None:
    """A landlord's (or group's) own share of the partnership targets, where the
    configuration gives one (`targets.by_entity.<entity>` in config/programme.yml); None
    when targets are set for the partnership only."""
    return (config_targets.get("by_entity") or {}).get(entity)


def completeness(frame: pd.DataFrame, columns: list[str], by: str = "landlord") -> pd.DataFrame:
    """Share of rows with a value, per column and group."""
    known = frame[columns].notna()
    known[by] = frame[by]
    return known.groupby(by).mean().reset_index()


def accounting(manifest: dict, landlords: list[str]) -> pd.DataFrame:
    """The manifest's row accounting per landlord and table."""
    rows = []
    for lid in landlords:
        for f in manifest["landlords"].get(lid, {}).get("files", []):
            rows.append({k: f[k] for k in ("landlord", "table", "file", "rows_in", "kept", "rejected", "merged")})
    return pd.DataFrame(rows, columns=["landlord", "table", "file", "rows_in", "kept", "rejected", "merged"])


def accounting_shown(table: pd.DataFrame, k: int) -> pd.DataFrame:
    """The accounting of rows as every output shows it. Row counts of data files count
    records, not people, and are shown as they are, with one exception decided from the
    row alone (so alike in every report, workbook and index of a run): a register whose
    kept rows, its people, number 1 to k-1 shows them as `<k`, and its rows received as
    `[c]` (they would give them back)."""
    out = table.astype(object).copy()
    few = (table["table"] == "participants") & pd.Series(disclosure_small(table["kept"], k), index=table.index)
    out.loc[few, "kept"] = f"<{k}"
    out.loc[few, "rows_in"] = "[c]"
    return out


def disclosure_small(counts, k: int):
    from .disclosure import small

    return small(counts, k)


def reject_reasons_by_landlord(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows by landlord and reason, each row counted once, under the first reason
    `prepare` gave it: a landlord's counts then add up to its rejected rows, which the
    accounting shows."""
    if rejects.empty:
        return pd.DataFrame({"landlord": pd.Series(dtype=object), "reason": pd.Series(dtype=object),
                             "rows": pd.Series(dtype="int64")})
    first = rejects.drop_duplicates(["landlord", "file", "row"])
    t = first.groupby(["landlord", "reason"], sort=False).size().rename("rows").reset_index()
    return t.sort_values(["landlord", "rows", "reason"], ascending=[True, False, True], kind="stable").reset_index(drop=True)


def reject_reasons_shown(rejects: pd.DataFrame, landlords: list[str], k: int) -> pd.DataFrame:
    """Reasons (rows) by landlord (columns), each landlord's column protected on its own
    (its total, the rows it rejected, is published): the same cells hidden in a landlord's
    report as in a group's, and no pooled sum that a landlord's report could be taken from."""
    from .disclosure import suppress

    long = reject_reasons_by_landlord(rejects)
    reasons = list(long.groupby("reason")["rows"].sum().sort_values(ascending=False, kind="stable").index)
    out = pd.DataFrame({"reason": reasons})
    for lid in landlords:
        # the landlord's own reasons only, in one order (most rows first, then by name): the
        # same decision whichever report asks
        mine = (long[long["landlord"] == lid].sort_values(["rows", "reason"], ascending=[False, True], kind="stable")
                .reset_index(drop=True))
        shown = suppress(mine, k, ["rows"], relations=[Along("rows")]) if len(mine) else mine
        out[lid] = out["reason"].map(dict(zip(mine["reason"], shown["rows"]))).astype(object).where(
            out["reason"].isin(mine["reason"]), 0).to_numpy()
    return out


def by_area(p: pd.DataFrame, k: int) -> pd.DataFrame:
    """Engaged, trained and completed people by landlord and neighbourhood; neighbourhoods
    with fewer than k people engaged are counted together as "other" within their landlord."""
    g = p.assign(trained=reached(p, "training_started"), completed=reached(p, "training_completed"))
    t = (g.groupby(["landlord", "neighbourhood_id"])
         .agg(engaged=("person_id", "size"), trained=("trained", "sum"), completed=("completed", "sum"))
         .astype(int).reset_index())
    return collapse(t, "neighbourhood_id", "engaged", k, "other", by="landlord")
