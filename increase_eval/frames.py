"""Two lookups on string IDs that pandas 3 makes slow or fragile, shared by the pipeline
and the analysis:

- `isin`: pandas' isin on arrow-backed strings converts every allowed value in Python
  (minutes at scale 100); arrow's hash set does it in C++.
- `lookup`: Series.map through an empty date series fails in pandas 3; reindex keeps the
  values' dtype whatever is found.

Both take the arrow arrays behind arrow-backed string columns as they are (converting
millions of IDs to Python strings and back was most of their time at scale 100), and
fall back to a conversion for anything else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _strings(x, strict: bool = True) -> pa.Array | pa.ChunkedArray:
    """The IDs of a Series, Index or collection as an arrow large_string array, missing
    values null. Anything else (a number) is refused, or null when not `strict`."""
    if isinstance(x, (pd.Series, pd.Index)):
        array = x.array
        if hasattr(array, "__arrow_array__"):
            a = pa.array(array)
            if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
                return a.cast(pa.large_string()) if pa.types.is_string(a.type) else a
        x = x.to_numpy(dtype=object, na_value=None)
    if strict:
        odd = next((v for v in x if v is not None and not isinstance(v, str) and not pd.isna(v)), None)
        if odd is not None:
            raise TypeError(f"IDs must be text, not {type(odd).__name__} ({odd!r})")
    return pa.array([v if isinstance(v, str) else None for v in x], pa.large_string())


def isin(values: pd.Series, allowed) -> pd.Series:
    """values.isin(allowed) for string IDs (missing values are never in)."""
    if not isinstance(allowed, (pd.Series, pd.Index)):
        allowed = list(allowed)
    value_set = pc.unique(_strings(allowed, strict=False))   # as isin: what is not text is never matched
    found = pc.is_in(_strings(values), value_set=value_set.drop_null())
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """values[key] for each key, missing where absent, in the values' dtype."""
    if not (values.index.is_unique and pd.api.types.is_string_dtype(values.index)):   # as before
        return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=values.dtype)
    where = pc.index_in(_strings(keys), value_set=_strings(values.index))
    where = pc.fill_null(where, -1).to_numpy(zero_copy_only=False).astype(np.intp)
    return pd.Series(values.array.take(where, allow_fill=True), index=keys.index, dtype=values.dtype)
