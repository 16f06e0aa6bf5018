"""Community ambassadors: what outlives the programme."""

from __future__ import annotations

import pandas as pd


def by_neighbourhood(a: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    """Ambassadors trained and still active in the last month of the data, by neighbourhood."""
    hood = p.set_index("person_id")["neighbourhood_id"]
    a = a.assign(neighbourhood_id=a["person_id"].map(hood))
    last = a["month"].max() if len(a) else None
    trained = a.groupby("neighbourhood_id")["person_id"].nunique().rename("trained")
    active = (a[(a["month"] == last) & a["active"].astype(bool)].groupby("neighbourhood_id")["person_id"]
              .nunique().rename("active_last_month"))
    return pd.concat([trained, active], axis=1).fillna(0).astype(int).reset_index()


def active_by_month(a: pd.DataFrame) -> pd.Series:
    return a[a["active"].astype(bool)].groupby("month")["person_id"].nunique()
