"""The rent panel's fast paths give what the paths they replace gave (prepare.py):
tenancy codes by position in the tenancies export against a dictionary of IDs in order of
first appearance, and one sort of a single key (or none) against np.lexsort."""

import numpy as np
from hypothesis import example, given, settings, strategies as st

from increase_eval import prepare


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=-1, max_value=30), max_size=40), max_size=6))
def test_codes_by_position_are_the_codes_of_a_dictionary_of_ids_in_order_of_appearance(batches):
    ids = np.array([f"t{i:03d}" for i in range(31)], dtype=object)
    fast = prepare._Codes(ids)
    by_id: dict[str, int] = {}
    for where in batches:
        where = np.array(where, dtype=np.int64)
        code, known = fast.of_positions(where)
        expected = [by_id.setdefault(ids[w], len(by_id)) if w >= 0 else -1 for w in where]
        assert code.tolist() == expected
        assert known.tolist() == [w >= 0 for w in where]
    assert fast.names().tolist() == list(by_id)


def test_codes_by_id_when_tenancies_come_from_the_panel():
    codes = prepare._Codes()
    assert codes.of_ids(np.array(["b", "a", "b"], dtype=object))[0].tolist() == [0, 1, 0]
    assert codes.of_ids(np.array(["c", "a"], dtype=object))[0].tolist() == [2, 1]
    assert codes.names().tolist() == ["b", "a", "c"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=20), st.integers(min_value=17000, max_value=17040)),
                max_size=60), st.booleans())
def test_rows_in_tenancy_month_row_order_as_lexsort(pairs, presorted):
    if presorted:
        pairs = sorted(pairs)
    code = np.array([c for c, _ in pairs], dtype=np.int64)
    month = np.array([m for _, m in pairs], dtype=np.int32)
    row = np.arange(len(pairs), dtype=np.int64)
    assert prepare._by_tenancy_month(code, month).tolist() == np.lexsort((row, month, code)).tolist()


@settings(max_examples=150, deadline=None)
@example(["528,01", "", "abc", None, "0,00"], 3000, ",")     # read once per distinct value
@example(["1.5", "12", "1 234.50"], 20_000, ".")
@given(st.lists(st.sampled_from(["528,01", "0", "-12,5", "", "  7 ", "1 234,50", "abc", "1.5", "12,", "€3", None,
                                 "100", "0,00"]), min_size=0, max_size=30), st.integers(min_value=1, max_value=3000),
       st.sampled_from([",", "."]))
def test_amounts_read_once_per_distinct_value_are_the_amounts_read_row_by_row(cells, times, decimal):
    import pyarrow as pa

    from increase_eval import config as config_
    from pathlib import Path

    conf = config_.load(Path(__file__).resolve().parents[1] / "config")
    tokens = prepare._tokens(conf)
    whole = pa.array(([None] + cells * times)[:60_001], pa.string())
    for array in (whole, whole.slice(1)):    # a batch's column may be a slice of a larger array
        fast = prepare._panel_numbers(array, decimal, tokens, "EUR")
        slow = prepare._numbers(array.fill_null(""), decimal, tokens, "EUR")
        assert np.array_equal(fast[0], slow[0], equal_nan=True)
        assert fast[1].tolist() == slow[1].tolist()
        assert fast[2] == slow[2]


def test_the_panel_part_reads_back_with_the_documented_types_and_the_same_ids(tmp_path):
    """Tenancy IDs written from their codes, a dictionary per row group: the file reads
    back as PANEL_SCHEMA, each row with its own ID, across row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(3)
    names = np.array([f"T{i:016x}" for i in range(5000)], dtype=object)
    code = np.sort(rng.integers(0, 5000, prepare.PANEL_ROW_GROUP + 1234))
    table = pa.table({"landlord": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(code), np.int8)),
                                                                 pa.array(["x"], pa.string())),
                      "tenancy_id": prepare._by_row_group(code, pa.array(names, pa.string()))})
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=prepare.PANEL_ROW_GROUP, store_schema=False)
    back = pq.read_table(tmp_path / "p.parquet")
    assert back.schema.field("tenancy_id").type == prepare.PANEL_SCHEMA.field("tenancy_id").type
    assert back.schema.field("landlord").type == prepare.PANEL_SCHEMA.field("landlord").type
    assert back.column("tenancy_id").to_pylist() == names[code].tolist()
    assert set(back.column("landlord").to_pylist()) == {"x"}
    assert pq.ParquetFile(tmp_path / "p.parquet").metadata.num_row_groups == 2
