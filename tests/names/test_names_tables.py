"""The shipped Arabic-to-English segment table: shape, normalised keys, plain spellings."""

from __future__ import annotations

import csv
import re
from importlib import resources

from undercount.names import normalise_name


def _rows() -> list[dict[str, str]]:
    ref = resources.files("undercount.names") / "data" / "translit_ar_en.csv"
    with ref.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_table_is_aggregated_and_normalised() -> None:
    rows = _rows()
    assert len(rows) > 5000
    assert set(rows[0]) == {"ar", "en", "count"}
    spelling = re.compile(r"^[a-z]+(?:[ '-][a-z]+){0,3}$")
    for row in rows:
        assert normalise_name(row["ar"]) == row["ar"] and " " not in row["ar"]
        assert spelling.match(row["en"])
        assert int(row["count"]) >= 1
    assert len({(r["ar"], r["en"]) for r in rows}) == len(rows)
