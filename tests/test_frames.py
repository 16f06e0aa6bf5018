"""frames.isin and frames.lookup (arrow paths) against pandas' own isin and reindex."""

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from increase_eval import frames

ids = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "é", "", "a b"])), max_size=20)


@settings(max_examples=150, deadline=None)
@given(ids, ids, st.sampled_from(["string", "object", "str"]), st.sampled_from(["series", "index", "set", "list"]))
def test_isin_is_pandas_isin_on_strings(values, allowed, dtype, kind):
    v = pd.Series(values, dtype=dtype, index=np.arange(len(values)) * 2)
    a = pd.Series(allowed, dtype=dtype)
    a = {"series": a, "index": pd.Index(a), "set": set(allowed), "list": list(allowed)}[kind]
    expected = v.astype(object).isin([x for x in allowed if isinstance(x, str)]) & v.notna()
    got = frames.isin(v, a)
    assert got.dtype == bool and got.index.equals(v.index)
    assert got.tolist() == expected.tolist()


@settings(max_examples=150, deadline=None)
@given(ids, st.lists(st.sampled_from(["a", "b", "c", "d", "é", "", "a b"]), unique=True, max_size=7),
       st.sampled_from(["datetime64[ns]", "Float64", "boolean", "string", "float64", "Int64"]),
       st.sampled_from(["string", "object"]))
def test_lookup_is_reindex_in_the_values_dtype(keys, index, dtype, index_dtype):
    rng = np.random.default_rng(len(keys))
    raw = {"datetime64[ns]": pd.to_datetime(rng.integers(0, 10_000, len(index)), unit="D"),
           "Float64": rng.normal(size=len(index)), "float64": rng.normal(size=len(index)),
           "boolean": rng.integers(0, 2, len(index)).astype(bool), "string": [f"x{i}" for i in range(len(index))],
           "Int64": rng.integers(0, 9, len(index))}[dtype]
    values = pd.Series(raw, index=pd.Index(index, dtype=index_dtype), dtype=dtype)
    k = pd.Series(keys, dtype="string", index=np.arange(len(keys)) + 5)
    got = frames.lookup(k, values)
    expected = values.reindex([x if isinstance(x, str) else "\0none" for x in keys])
    assert got.dtype == values.dtype and got.index.equals(k.index)
    assert got.isna().tolist() == expected.isna().tolist()
    assert got.dropna().tolist() == expected.dropna().tolist()


def test_lookup_on_a_repeated_index_is_refused_as_reindex_refuses_it():
    import pytest
    with pytest.raises(ValueError):
        frames.lookup(pd.Series(["a"], dtype="string"), pd.Series([1.0, 2.0], index=["a", "a"]))


def test_ids_that_are_not_text_are_refused_not_taken_as_missing():
    import pytest
    with pytest.raises(TypeError, match="IDs must be text"):
        frames.isin(pd.Series([1, 2], dtype=object), ["1"])
    with pytest.raises(TypeError, match="IDs must be text"):
        frames.lookup(pd.Series(["a", 3], dtype=object), pd.Series([1.0], index=["a"]))
