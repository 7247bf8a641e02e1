"""The faster paths of a large run give the same results as the plain ones they replace (issue 13, 1M records)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from undercount.link.lookups import name_key_codes as _key_codes
from undercount.link.model import LinkOptions, settings_dict
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


def test_the_corrections_look_up_the_table_once_and_give_the_same_bits() -> None:
    # A run corrects its pairs five or six times: the table's look-ups are made once and kept, and
    # the bits are those of look-ups made afresh.
    from undercount.link.lineage import LineageRates, corrections
    from undercount.link.lookups import TableLookups

    rng = np.random.default_rng(11)
    table = _keys(rng, 300)
    table.insert(0, "unique_id", rng.choice(10**6, 300, replace=False))
    table["source"] = np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, 300)]
    table["script"] = np.array(["arabic", "latin"], dtype=object)[rng.integers(0, 2, 300)]
    table["sex"] = np.array(["male", "female", None], dtype=object)[rng.integers(0, 3, 300)]
    n = 2000
    scored = pd.DataFrame({"unique_id_l": rng.choice(table["unique_id"], n), "unique_id_r": rng.choice(table["unique_id"], n)})
    settings = settings_dict("duckdb", options=LinkOptions())
    for comparison in settings["comparisons"]:
        name, levels = comparison["output_column_name"], len(comparison["comparison_levels"]) - 1
        for level in comparison["comparison_levels"]:
            level["m_probability"], level["u_probability"] = rng.uniform(0.01, 0.9), rng.uniform(0.001, 0.5)
        scored[f"gamma_{name}"] = rng.integers(-1, levels, n).astype("int8")
        scored[f"mw_{name}"] = rng.normal(0, 3, n)
    look = TableLookups(table)
    assert look.key_codes() is look.key_codes() and look.objects("sex") is look.objects("sex")
    fresh = corrections(table, scored, settings, LineageRates())
    for _ in range(2):
        kept = corrections(table, scored, settings, LineageRates(), lookups=look)
        assert fresh.keys() == kept.keys() and all(np.array_equal(fresh[k], kept[k]) for k in fresh)
    assert any(np.any(v != 0) for k, v in fresh.items() if k in ("grandfather", "father", "family"))  # slot bits were made


def test_inclusion_probabilities_are_the_hundred_step_bisection_s() -> None:
    from undercount.link.missed import DEFENSIVE, _inclusion

    rng = np.random.default_rng(2)
    for n, size in ((5000, 300), (40_000, 2000)):
        proxy = rng.normal(0, 3, n) + rng.integers(0, 4, n) * 2.0
        lo, hi = -float(proxy.max()) - 50.0, -float(proxy.min()) + 50.0
        target = (1 - DEFENSIVE) * size
        for _ in range(100):
            mid = (lo + hi) / 2
            if np.exp(np.minimum(mid + proxy, 0.0)).sum() > target:
                hi = mid
            else:
                lo = mid
        plain = np.minimum(1.0, np.exp(np.minimum(lo + proxy, 0.0)) + DEFENSIVE * size / n)
        assert np.array_equal(_inclusion(proxy, size), plain)
