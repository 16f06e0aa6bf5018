"""Community ambassadors: what outlives the programme."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .disclosure import Along, Within, collapse, small

RELATIONS = (Along("trained"), Along("active_last_month"), Within("trained", ("active_last_month",), rest=True))


def by_neighbourhood(a: pd.DataFrame, p: pd.DataFrame, k: int) -> pd.DataFrame:
    """Ambassadors trained and still active in the last month of the data, by
    neighbourhood; neighbourhoods with fewer than k trained counted together as "other"."""
    hood = p.set_index("person_id")["neighbourhood_id"]
    a = a.assign(neighbourhood_id=a["person_id"].map(hood))
    last = a["month"].max() if len(a) else None
    trained = a.groupby("neighbourhood_id")["person_id"].nunique().rename("trained")
    active = (a[(a["month"] == last) & a["active"].astype(bool)].groupby("neighbourhood_id")["person_id"]
              .nunique().rename("active_last_month"))
    t = pd.concat([trained, active], axis=1).fillna(0).astype(int).rename_axis("neighbourhood_id").reset_index()
    return collapse(t, "neighbourhood_id", "trained", k, "other")


def active_by_month(a: pd.DataFrame, k: int) -> pd.Series:
    """Ambassadors active each month; months with 1 to k-1 are left blank (a gap in the line)."""
    s = a[a["active"].astype(bool)].groupby("month")["person_id"].nunique().astype(float)
    return s.where(~small(s, k), np.nan)
