"""The engines receive the linkage table with every column's type stated (issue 13 crash)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from undercount.link.backends.duckdb import DuckDBBackend, arrow_table
from undercount.link.prepare import LIST_COLUMNS, prepare_records
from undercount.link.run import _RECORD_COLUMNS
from undercount.names import parse_names


def _records(names: list[str]) -> pd.DataFrame:
    parsed = parse_names(pd.Series(names))
    frame = pd.DataFrame({"record_id": range(1, len(names) + 1), "source": "febrl"})
    for column in ("given", "father", "grandfather", "family", "script", "name_key"):
        frame[column] = parsed[column].astype(object).where(parsed[column].notna(), None).to_numpy()
    for column in ("id_number", "id_valid", "sex", "age", "date_of_birth", "event_date", "place"):
        frame[column] = None
    return frame[_RECORD_COLUMNS]


def test_a_long_name_after_many_two_part_names_registers_in_duckdb() -> None:
    # FEBRL3 crashed: the neighbour-slot lists were empty in every row DuckDB sampled, so it typed
    # them as lists of NULL, and "cambell de la cruz" (row 1914) failed to cast.
    names = [f"name{i % 97} surname{i % 89}" for i in range(2999)] + ["cambell de la cruz"]
    prepared = prepare_records(_records(names))
    assert prepared["family_next"].iloc[:2999].map(len).max() == 0
    assert len(prepared["family_next"].iloc[-1]) == 1
    backend = DuckDBBackend(threads=1)
    try:
        backend.register(prepared, "uc_link_input")
        types = dict(backend.con.execute("SELECT column_name, column_type FROM (DESCRIBE uc_link_input)").fetchall())
        assert all(types[c] == "VARCHAR[]" for c in LIST_COLUMNS)
        last = backend.con.execute("SELECT family_next FROM uc_link_input WHERE unique_id = 3000").fetchone()
        assert last == (list(prepared["family_next"].iloc[-1]),)
    finally:
        backend.close()


def test_arrow_table_types_empty_columns_as_text_and_lists_as_string_lists() -> None:
    frame = pd.DataFrame({"unique_id": [1, 2], "id_number": [None, None], "name_tokens": [[], ["ab"]]})
    table = arrow_table(frame)
    assert table.schema.field("id_number").type == pa.string()
    assert table.schema.field("name_tokens").type == pa.list_(pa.string())
    assert table.column("name_tokens").to_pylist() == [[], ["ab"]]


def test_scored_pairs_are_read_in_batches_into_the_same_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scored pairs stream into columns sized once (a million records score tens of millions
    # of pairs): batches smaller than the table, NULLs and one-byte gammas give DuckDB's own frame.
    import undercount.link.backends.duckdb as engine

    monkeypatch.setattr(engine, "_BATCH_ROWS", 7)
    backend = engine.DuckDBBackend(threads=1)
    try:
        backend.con.execute("CREATE TABLE t AS SELECT range AS unique_id_l, (range % 3)::INTEGER AS gamma_x, "
                            "CASE WHEN range % 5 = 0 THEN NULL ELSE range * 0.5 END::DOUBLE AS mw_tf FROM range(100)")
        select = "unique_id_l, CAST(gamma_x AS TINYINT) AS gamma_x, mw_tf"
        got = backend.to_pandas(type("T", (), {"physical_name": "t"})(), select)
        expected = backend.con.execute(f"SELECT {select} FROM t").df()
        assert got.dtypes.to_dict() == expected.dtypes.to_dict() and len(got) == 100
        pd.testing.assert_frame_equal(got.sort_values("unique_id_l", ignore_index=True),
                                      expected.sort_values("unique_id_l", ignore_index=True))
    finally:
        backend.close()
