"""Hypothesis: whatever bytes, text, JSON or spec comes in, the readers answer with a table or
with undercount's own error (InputError, ConfigError), never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from undercount.errors import ConfigError, InputError
from undercount.ingest.columns import score_headers
from undercount.ingest.limits import (
    ReadLimits,
    column_label,
    json_too_deep,
    nesting_depth,
)
from undercount.ingest.read import _unique_headers, decode_bytes, read_table
from undercount.ingest.spec import load_spec, spec_from_dict

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SMALL = ReadLimits(field_chars=50, columns=8, rows=30, cells=120, depth=5)


def _read(path: Path, data: bytes, limits: ReadLimits = SMALL) -> Any:
    path.write_bytes(data)
    return read_table(path, score=score_headers, limits=limits)


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_any_bytes_decode_or_refuse(data: bytes) -> None:
    try:
        text, encoding = decode_bytes(data, "x.csv")
    except InputError as exc:
        assert exc.file == "x.csv"
        return
    assert isinstance(text, str) and encoding
    text.encode("utf-8")  # storable: no lone surrogates


@SETTINGS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".json", ".xlsx", ".parquet", ".dat"]))
def test_any_bytes_read_or_refuse(tmp_path: Path, data: bytes, suffix: str) -> None:
    try:
        table = _read(tmp_path / f"f{suffix}", data)
    except InputError:
        return
    assert len(table.frame.columns) == len(table.headers) <= SMALL.columns
    assert len(table.frame) <= SMALL.rows


_CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@SETTINGS
@given(rows=st.lists(st.lists(_CELL, min_size=1, max_size=10), min_size=1, max_size=40),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
def test_any_table_as_csv_reads_or_refuses(tmp_path: Path, rows: list[list[str]], delimiter: str,
                                           encoding: str) -> None:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    try:
        table = _read(tmp_path / "f.csv", buf.getvalue().encode(encoding))
    except InputError as exc:
        assert exc.file == "f.csv"
        return
    assert all(len(c) <= SMALL.field_chars for col in table.frame.columns for c in table.frame[col])
    assert len(set(h.casefold() for h in table.headers)) == len(table.headers)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@SETTINGS
@given(doc=_JSON)
def test_any_json_reads_or_refuses(tmp_path: Path, doc: Any) -> None:
    try:
        _read(tmp_path / "f.json", json.dumps(doc).encode("utf-8"))
    except InputError:
        pass


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_json_text_reads_or_refuses(tmp_path: Path, text: str) -> None:
    try:
        _read(tmp_path / "f.json", text.encode("utf-8", errors="surrogatepass"))
    except InputError:
        pass


_TOML_VALUE = st.recursive(
    st.integers() | st.text(max_size=12) | st.booleans() | st.floats(allow_nan=False) | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=15,
)
_SECTIONS = st.sampled_from(["list", "columns", "values", "dates", "fields", "other"])
_KEYS = st.sampled_from(["name", "sheet", "header_row", "period_start", "period_end", "default_status",
                         "default_cause", "id_scheme", "full_name", "sex", "formats", "on_error", "order", "x"])


@SETTINGS
@given(doc=st.dictionaries(_SECTIONS, st.dictionaries(_KEYS, _TOML_VALUE, max_size=4) | _TOML_VALUE, max_size=4))
def test_any_spec_document_is_accepted_or_refused(doc: dict[str, Any]) -> None:
    try:
        spec_from_dict(doc)
    except ConfigError:
        pass


@SETTINGS
@given(text=st.text(max_size=400))
def test_any_spec_text_is_accepted_or_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        load_spec(path)
    except ConfigError:
        pass


@SETTINGS
@given(cells=st.lists(st.text(max_size=12), max_size=30))
def test_headers_are_made_unique(cells: list[str]) -> None:
    headers = _unique_headers(cells)
    assert len(headers) == len(cells)
    assert len({h.casefold() for h in headers}) == len(headers)


@SETTINGS
@given(header=st.text(min_size=1, max_size=30))
def test_a_column_is_named_by_its_header_only_when_known(header: str) -> None:
    label = column_label([header], 0, score_headers)
    assert label == header if score_headers([header]) > 0 else label == "number 1"


@SETTINGS
@given(doc=_JSON)
def test_depth_scan_agrees_with_the_parsed_document(doc: Any) -> None:
    data = json.dumps(doc).encode("utf-8")
    depth = nesting_depth(doc)
    for limit in (0, 1, 2, 3):
        assert (json_too_deep(data, limit) is None) == (depth <= limit)


@pytest.mark.parametrize("limit, rows", [(10, 10), (10, 11)])
def test_row_limit(tmp_path: Path, limit: int, rows: int) -> None:
    data = ("name,age\n" + "".join(f"a{i},{i}\n" for i in range(rows))).encode()
    limits = ReadLimits(rows=limit)
    if rows > limit:
        with pytest.raises(InputError, match="more than 10 rows"):
            _read(tmp_path / "f.csv", data, limits)
    else:
        assert len(_read(tmp_path / "f.csv", data, limits).frame) == rows


def test_cell_limit_names_row_and_column_not_the_cell(tmp_path: Path) -> None:
    data = b"name,age\nSami Odeh,3\nxx,4\n"
    with pytest.raises(InputError) as caught:
        _read(tmp_path / "f.csv", data, ReadLimits(cells=3))
    assert "more than 3 cells" in str(caught.value)
    with pytest.raises(InputError) as caught:
        _read(tmp_path / "f.csv", b"name,notes\nSami Odeh Nasser Long,3\n", ReadLimits(field_chars=10))
    message = str(caught.value)
    assert "file f.csv, row 1, column 'name': a cell holds 21 characters, more than the 10" in message
    assert "Sami" not in message
