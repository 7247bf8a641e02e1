"""The faster paths of a large run give the same results as the plain ones they replace (issue 13, 1M records)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from undercount.link.lookups import name_key_codes as _key_codes
from undercount.link.slots import _equal, slot_support


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


def _named(rows: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    """A linkage table's name keys, sex and age (Latin keys as they are), unique ids out of order."""
    frame = pd.DataFrame(rows, columns=["given_key", "father_key", "grandfather_key", "family_key", "age"])
    frame.insert(0, "unique_id", np.arange(len(frame))[::-1] * 7 + 3)
    frame["sex"] = "male"
    frame["name_tokens"] = [sorted({k for k in r[:4] if k}) for r in rows]
    return frame


def test_rare_keys_are_an_arrow_list_column_in_the_table_s_order() -> None:
    # A million records hold tens of millions of rare keys: they stay Arrow strings (no Python string
    # each), one list per row of the table in its order and on its index, and reach the engine as lists of strings.
    from undercount.link.backends.duckdb import arrow_table
    from undercount.link.blocking import key_families, rare_keys

    table = _named([("ahmd", "ali", "hsn", "njr", 30), ("ahmd", "ali", "hsn", "njr", 31), ("mhmd", "ali", "hsn", "njr", 60),
                    ("sd", "kml", "", "frj", 20), ("ahmd", "ali", "", "njr", 30)])
    table.index = pd.Index([10, 11, 12, 13, 14])
    keys, _ = rare_keys(table, key_families())
    assert isinstance(keys.dtype, pd.ArrowDtype) and keys.index.equals(table.index)
    lists = keys.tolist()
    assert lists[3] == []  # no name shared with another record
    assert all(k == sorted(k) for k in lists)
    assert set(lists[0]) & set(lists[1]) and set(lists[0]) & set(lists[4]) and not set(lists[3]) & set().union(*lists[:3], lists[4])
    backwards, _ = rare_keys(table.iloc[::-1], key_families())
    assert backwards.tolist() == lists[::-1]  # each record keeps its own keys whatever the rows' order
    engine = arrow_table(pd.DataFrame({"unique_id": table["unique_id"].to_numpy(), "block_keys": keys.to_numpy()}))
    held = arrow_table(pd.DataFrame({"unique_id": table["unique_id"].to_numpy(), "block_keys": keys.reset_index(drop=True)}))
    assert held.schema.field("block_keys").type == engine.schema.field("block_keys").type == pa.list_(pa.string())
    assert held.column("block_keys").to_pylist() == engine.column("block_keys").to_pylist() == lists
