"""Reading and validating capture tables; building them from persons x lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.errors import InputError
from undercount.estimate.histories import (
    capture_matrix,
    capture_table,
    count_table,
    read_table,
    table_counts,
    validate_table,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text,message",
    [
        ("A,count\n1,5\n", "file t.csv: 1 list column(s): capture-recapture needs at least two lists"),
        ("A,B\n1,0\n", "file t.csv, column 'count': no 'count' column: a capture table has one 0/1 column per list "
                        "plus 'count' (or 'freq', 'Freq', 'frequency')"),
        ("A,B,freq,count\n1,0,3,3\n", "file t.csv, column 'count': 2 count columns (freq, count): keep one"),
        ("freq\n3\n4\n5\n6\n", "file t.csv, column 'freq': a single column of 4 values: Rcapture's frequencies of "
                              "capture histories hold 2^K - 1 values (3 for 2 lists, 7 for 3, 15 for 4 ...); otherwise "
                              "give one 0/1 column per list and 'count'"),
        ("ch,freq\n011,3\n1x0,4\n", "file t.csv, row 2, column 'ch': history '1x0' is not a string of 0s and 1s"),
        ("A,B,count\n1,0,-3\n0,1,4\n", "file t.csv, row 1, column 'count': count '-3' is negative"),
        ("A,B,count\n1,0,2.5\n0,1,4\n", "file t.csv, row 1, column 'count': count '2.5' is not a whole number"),
        ("A,B,count\n1,0,3\n0,2,4\n", "file t.csv, row 2, column 'B': value '2' is not 0 or 1"),
        ("A,B,count\n1,0,3\n1,0,4\n", "file t.csv, row 2: pattern repeats row 1"),
        ("A,B,count\n1,0,0\n0,1,0\n", "file t.csv, column 'count': all counts are zero: no person is on any list"),
        ("A,B,C,count\n1,0,0,3\n0,1,0,4\n1,1,0,2\n", "file t.csv, column 'C': this list holds no person: drop the column"),
        ("A,B,count\n0,0,5\n0,1,4\n",
         "file t.csv, row 1, column 'count': the all-zero pattern must be absent or 0: it is what is estimated"),
    ],
)
def test_bad_tables_name_file_row_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        read_table(_write(tmp_path, text))
    assert str(err.value) == message


def test_every_problem_is_collected(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_table(_write(tmp_path, "A,B,count\n1,0,-3\n0,1,x\n"))
    assert len(err.value.problems) == 2
    assert str(err.value).endswith("(and 1 more problem(s))")


def test_zero_rows_dropped_and_counts_indexed(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "A,B,count\n1,1,2\n1,0,3\n0,1,0\n0,0,0\n"))
    assert table["count"].tolist() == [3, 2]
    k, y, n = table_counts(table)
    assert (k, y.tolist(), n) == (2, [3.0, 0.0, 2.0], 5)


def test_capture_table_from_records() -> None:
    clusters = pd.DataFrame({"person_id": ["p1", "p1", "p2", "p3", "p3"],
                             "source": ["A", "B", "A", "B", "B"]})
    matrix = capture_matrix(clusters, ["A", "B"])
    assert matrix.loc["p1"].tolist() == [1, 1]
    assert matrix.loc["p3"].tolist() == [0, 1]
    table = capture_table(matrix)
    assert dict(zip(zip(table["A"], table["B"]), table["count"])) == {(1, 0): 1, (0, 1): 1, (1, 1): 1}


KOSOVO = Path(__file__).resolve().parents[1] / "reference" / "kosovo_1999.csv"


@pytest.mark.parametrize("header", ["freq", "Freq", "count", "Count", "frequency"])
def test_count_column_may_be_freq(tmp_path: Path, header: str) -> None:
    text = KOSOVO.read_text(encoding="utf-8").replace(",count", f",{header}", 1)
    assert read_table(_write(tmp_path, text)).equals(read_table(KOSOVO))


def test_rcapture_frequencies_of_capture_histories(tmp_path: Path) -> None:
    """Rcapture's histfreq.t vector: the 2^K - 1 frequencies, history 11..1 first and 00..1 last."""
    table = read_table(KOSOVO)
    k, y, _ = table_counts(table)
    order = [int("".join(str(b) for b in reversed(bits)), 2) for bits in
             [[(c >> (k - 1 - j)) & 1 for j in range(k)] for c in range(2**k - 1, 0, -1)]]
    text = "freq\n" + "\n".join(str(int(y[code - 1])) for code in order) + "\n"
    vector = read_table(_write(tmp_path, text))
    assert list(vector.columns) == ["c1", "c2", "c3", "c4", "count"]
    assert table_counts(vector)[1].tolist() == y.tolist()
    three = read_table(_write(tmp_path, "Freq\n1\n2\n3\n4\n5\n6\n7\n"))
    assert three[["c1", "c2", "c3"]].astype(str).agg("".join, axis=1).tolist() == [
        "100", "010", "110", "001", "101", "011", "111"]  # sorted by the later lists; '111' was given first
    assert three["count"].tolist() == [4, 6, 2, 7, 3, 5, 1]


def test_histories_written_as_text(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "ch,count\n110,5\n001,7\n101,2\n"))
    assert list(table.columns) == ["c1", "c2", "c3", "count"]
    assert table_counts(table)[1].tolist() == [0, 0, 5, 7, 2, 0, 0]


@pytest.mark.parametrize("names", [["A", "A", "count"], ["A", " A", "count"], ["A", "B", "count", "count "]])
def test_a_column_named_twice_is_an_input_error_naming_it(names: list[str]) -> None:
    # Before session 16 this raised pandas' TypeError from deep inside validate_table.
    table = pd.DataFrame([[1, 0, 3, 3][: len(names)], [0, 1, 4, 4][: len(names)]], columns=names)
    with pytest.raises(InputError, match="appears more than once") as caught:
        validate_table(table, file="t.csv")
    assert caught.value.column in {"A", "count"}


def test_the_quick_check_accepts_only_tables_validate_table_accepts_with_the_same_counts() -> None:
    # count_table(check=True) re-states validate_table's rules on arrays (the fits' fast path): on
    # random tables, some broken (values other than 0/1, missing, negative or fractional counts,
    # repeated patterns, names with spaces or twice), whatever it calls valid validate_table accepts,
    # and the clean table has the same counts.
    rng = np.random.default_rng(16)
    accepted = 0
    for _ in range(3000):
        k = int(rng.integers(2, 5))
        rows = int(rng.integers(1, 2**k + 2))
        marks = rng.integers(0, 2, size=(rows, k)).astype(float)
        if rng.random() < 0.1:
            marks[rng.integers(rows), rng.integers(k)] = rng.choice([2.0, -1.0, 0.5, np.nan])
        counts = rng.integers(0, 5, size=rows).astype(float)
        if rng.random() < 0.1:
            counts[rng.integers(rows)] = rng.choice([-1.0, 1.5, np.nan])
        names = [f"L{j}" for j in range(k)]
        if rng.random() < 0.05:
            names[0] = " L0"
        if rng.random() < 0.05:
            names[1] = names[0]
        table = pd.DataFrame(marks, columns=names)
        table["count"] = counts
        try:
            fast = count_table(table, check=True)
        except ValueError:  # a missing count: the fits' callers then validate (validated_counts)
            continue
        if not fast.valid:
            continue
        accepted += 1
        clean = count_table(validate_table(table))
        assert (clean.k, clean.n) == (fast.k, fast.n) and np.array_equal(clean.y, fast.y)
    assert accepted > 100
