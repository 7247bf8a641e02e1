"""The faster paths of a large run give the same results as the plain ones they replace (issue 13, 1M records)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from undercount.link.blocking import _key_lists
from undercount.link.prepare import _by_value, _spelled_as
from undercount.link.scratch import scratch_connection
from undercount.link.slots import _equal, _key_codes, slot_support


def _keys(rng: np.random.Generator, n: int) -> pd.DataFrame:
    pool = np.array(["a", "b", "c", "", None, np.nan], dtype=object)
    return pd.DataFrame({f"{p}_key": pool[rng.integers(0, len(pool), n)] for p in ("given", "father", "grandfather", "family")})


def test_key_codes_give_the_equalities_of_the_keys() -> None:
    rng = np.random.default_rng(3)
    table = _keys(rng, 400)
    codes = _key_codes(table)
    objects = table.to_numpy(dtype=object)
    left, right = rng.integers(0, 400, 2000), rng.integers(0, 400, 2000)
    for x in range(4):
        for y in range(4):
            assert (_equal(codes[left, x], codes[right, y]) == _equal(objects[left, x], objects[right, y])).all()
    slot = rng.random((2000, 3)) < 0.5
    assert (slot_support(codes[left], codes[right], slot) == slot_support(objects[left], objects[right], slot)).all()


def test_key_lists_hold_each_records_keys_in_order_one_string_per_key() -> None:
    with scratch_connection() as con:
        con.execute("CREATE TEMP TABLE kept AS SELECT * FROM (VALUES (0, 7, 'n2:b'), (0, 7, 'n2:a'), (1, 3, 'n2:a'), "
                    "(2, 9, 'd:x')) AS v(fam, unique_id, key)")
        lists = _key_lists(con, pd.Index([3, 5, 7, 9]))
        con.execute("DELETE FROM kept")
        empty = _key_lists(con, pd.Index([3, 5]))
    assert lists == [["n2:a"], [], ["n2:a", "n2:b"], ["d:x"]]
    assert lists[0][0] is lists[2][0]  # one string per key, not one per holder
    assert empty == [[], []]


def test_a_function_per_distinct_value_gives_what_a_map_per_row_gives() -> None:
    mapping = {"ab": "x", "c": "y"}
    for values in (["a b", "c", None, "a b", "d"], [None, None], ["d", "d"], ["c"]):
        for series in (pd.Series(values), pd.Series(values, dtype=object)):
            old = series.map(lambda v: mapping.get(v.replace(" ", "")) if isinstance(v, str) else None)
            new = _spelled_as(series, mapping)
            assert new.dtype == old.dtype and new.equals(old)
            flags = _by_value(series, lambda v: isinstance(v, str) and v.replace(" ", "") not in mapping).astype(bool)
            assert flags.tolist() == series.map(lambda v: isinstance(v, str) and v.replace(" ", "") not in mapping).tolist()
