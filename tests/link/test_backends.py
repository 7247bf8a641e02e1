"""The engines receive the linkage table with every column's type stated (issue 13 crash)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

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
