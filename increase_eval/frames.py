"""Two lookups on string IDs that pandas 3 makes slow or fragile, shared by the pipeline
and the analysis:

- `isin`: pandas' isin on arrow-backed strings converts every allowed value in Python
  (minutes at scale 100); arrow's hash set does it in C++.
- `lookup`: Series.map through an empty date series fails in pandas 3; reindex keeps the
  values' dtype whatever is found.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def isin(values: pd.Series, allowed) -> pd.Series:
    """values.isin(allowed) for string IDs (missing values are never in)."""
    if isinstance(allowed, (pd.Index, pd.Series)):
        allowed = allowed.to_numpy(dtype=object)
    value_set = pa.array([a for a in allowed if isinstance(a, str)], pa.string())
    found = pc.is_in(pa.array(values.to_numpy(dtype=object, na_value=None), pa.string()), value_set=value_set)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """values[key] for each key, missing where absent, in the values' dtype."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=values.dtype)
