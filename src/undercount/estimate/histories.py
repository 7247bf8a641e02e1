"""Capture tables: read and validate them, and build them from a linked case.

A capture table is a DataFrame with one 0/1 int column per list (the list's name as header) and an
int ``count`` column: persons per capture pattern, no all-zero row. A person's pattern has bit k set
when some record of list k belongs to the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from undercount.errors import InputError, InputProblem

__all__ = [
    "read_table",
    "table_layout",
    "validate_table",
    "table_counts",
    "CountedTable",
    "count_table",
    "validated_counts",
    "table_from_counts",
    "capture_matrix",
    "capture_table",
]


def _problem_error(problems: list[InputProblem], file: str | None) -> InputError:
    first = problems[0]
    return InputError(first.message, file=file, row=first.row, column=first.column, problems=problems)


def validate_table(table: pd.DataFrame, *, file: str | Path | None = None) -> pd.DataFrame:
    """Check a capture table and return it clean (int columns, no zero rows, sorted patterns).

    Every problem is collected and reported together; the first is in the message.

    Args:
        table: one column per list plus ``count``; values may be strings (as read from a CSV).
        file: the file's name, for messages.

    Returns:
        A table with int8 list columns and an int64 ``count``, rows with count 0 dropped.

    Raises:
        InputError: missing ``count`` column, a column name twice, fewer than two lists, a value other than 0/1 in a
            list column, a negative or non-integer count, a repeated pattern, a non-zero count on
            the all-zero pattern, a list that holds no person, or no person at all.

    Example:
        >>> int(validate_table(pd.DataFrame({"A": [1, 0], "B": [0, 1], "count": [3, 4]}))["count"].sum())
        7
    """
    already = _already_clean(table)
    if already is not None:
        return already
    name = None if file is None else str(file)
    table = table.rename(columns=lambda c: str(c).strip())
    twice = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
    if twice:  # 'A' and ' A' once stripped: each column must be one list (or the count) alone
        raise InputError(f"column {twice[0]!r} appears more than once (names are compared without surrounding "
                         "spaces): give each list one column", file=name, column=twice[0])
    if "count" not in table.columns:
        raise InputError("no 'count' column: a capture table has one 0/1 column per list plus 'count' "
                         "(or 'freq', 'Freq', 'frequency')", file=name, column="count")
    lists = [c for c in table.columns if c != "count"]
    if len(lists) < 2:
        raise InputError(
            f"{len(lists)} list column(s): capture-recapture needs at least two lists", file=name
        )
    problems: list[InputProblem] = []
    values: dict[str, np.ndarray] = {}
    for col in lists:
        raw = pd.to_numeric(table[col], errors="coerce")
        bad = ~raw.isin([0, 1])
        for i in np.flatnonzero(bad.to_numpy()).tolist():
            problems.append(InputProblem(f"value {table[col].iloc[i]!r} is not 0 or 1", i + 1, col))
        values[col] = raw.fillna(0).to_numpy()
    counts = pd.to_numeric(table["count"], errors="coerce")
    for i, (orig, val) in enumerate(zip(table["count"], counts)):
        if pd.isna(val) or float(val) != round(float(val)):
            problems.append(InputProblem(f"count {orig!r} is not a whole number", i + 1, "count"))
        elif val < 0:
            problems.append(InputProblem(f"count {orig!r} is negative", i + 1, "count"))
    clean = pd.DataFrame({c: values[c].astype(np.int8) for c in lists})
    clean["count"] = counts.fillna(0).clip(lower=0).round().astype(np.int64).to_numpy()
    if not problems:
        repeated = clean.duplicated(subset=lists, keep="first").to_numpy()
        if repeated.any():
            # Groups are numbered in order of first appearance, so np.unique's first index of each
            # group number is the row where that pattern first occurs.
            group = clean.groupby(lists, sort=False).ngroup().to_numpy()
            first_row = np.unique(group, return_index=True)[1]
            for i in np.flatnonzero(repeated).tolist():
                problems.append(InputProblem(f"pattern repeats row {int(first_row[group[i]]) + 1}", i + 1, None))
        zero = (clean[lists].sum(axis=1) == 0) & (clean["count"] > 0)
        for i in np.flatnonzero(zero.to_numpy()).tolist():
            problems.append(
                InputProblem("the all-zero pattern must be absent or 0: it is what is estimated", i + 1, "count")
            )
    if not problems and clean["count"].sum() == 0:
        problems.append(InputProblem("all counts are zero: no person is on any list", None, "count"))
    elif not problems:
        for col in lists:
            if int(clean.loc[clean[col] == 1, "count"].sum()) == 0:
                problems.append(InputProblem("this list holds no person: drop the column", None, col))
    if problems:
        raise _problem_error(problems, name)
    clean = clean[(clean["count"] > 0) & (clean[lists].sum(axis=1) > 0)]
    return clean.sort_values(lists[::-1]).reset_index(drop=True)


COUNT_NAMES = ("count", "freq", "frequency", "frequencies", "n")
HISTORY_NAMES = ("ch", "history", "capture_history", "pattern")


def _rcapture_patterns(k: int) -> np.ndarray:
    """Rcapture's ``histpos.t(k)``: the 2^k - 1 observable histories, 11...1 first, 00...1 last."""
    codes = np.arange(2**k - 1, 0, -1)
    return ((codes[:, None] >> np.arange(k - 1, -1, -1)[None, :]) & 1).astype(np.int8)


def table_layout(raw: pd.DataFrame, *, file: str | None = None) -> pd.DataFrame:
    """A capture table in the canonical layout (0/1 list columns and ``count``) from the accepted ones.

    Accepted layouts:

    * one 0/1 column per list and a count column called ``count``, ``freq``, ``Freq``,
      ``frequency`` or ``n`` (any case; Rcapture's ``dfreq=TRUE`` form);
    * Rcapture's frequencies of the 2^K - 1 capture histories (``histfreq.t``): a single column
      of 2^K - 1 counts in the order of ``histpos.t`` (11...1 first, 00...1 last), lists named
      c1..cK;
    * a column of capture histories written as text (``ch``, ``history``: "0110") and a count
      column.

    Raises:
        InputError: two count columns, a single column whose length is not 2^K - 1, histories of
            unequal length or other than 0/1.
    """
    table = raw.rename(columns=lambda c: str(c).strip())
    counts = [c for c in table.columns if c.lower() in COUNT_NAMES]
    if len(counts) > 1:
        raise InputError(f"{len(counts)} count columns ({', '.join(counts)}): keep one", file=file,
                         column=counts[1])
    if len(table.columns) == 1:
        return _from_frequencies(table, file)
    if counts and counts[0] != "count":
        table = table.rename(columns={counts[0]: "count"})
    history = [c for c in table.columns if c.lower() in HISTORY_NAMES]
    if history and len(table.columns) == 2 and "count" in table.columns:
        return _from_histories(table, history[0], file)
    return table


def _from_frequencies(table: pd.DataFrame, file: str | None) -> pd.DataFrame:
    """Rcapture's ``histfreq.t`` vector: 2^K - 1 frequencies in ``histpos.t`` order."""
    rows = len(table)
    k = int(round(np.log2(rows + 1))) if rows > 0 else 0
    if k < 2 or 2**k - 1 != rows:
        raise InputError(
            f"a single column of {rows} values: Rcapture's frequencies of capture histories hold 2^K - 1 "
            "values (3 for 2 lists, 7 for 3, 15 for 4 ...); otherwise give one 0/1 column per list and 'count'",
            file=file, column=str(table.columns[0]))
    out = pd.DataFrame(_rcapture_patterns(k), columns=[f"c{j + 1}" for j in range(k)])
    out["count"] = table.iloc[:, 0].to_numpy()
    return out


def _from_histories(table: pd.DataFrame, column: str, file: str | None) -> pd.DataFrame:
    """Capture histories written as text ("0110") beside a count column."""
    texts = table[column].astype(str).str.strip()
    lengths = texts.str.len()
    problems = [InputProblem(f"history {t!r} is not a string of 0s and 1s", i + 1, column)
                for i, t in enumerate(texts) if not t or set(t) - {"0", "1"}]
    problems += [InputProblem(f"history {t!r} has {len(t)} lists, the first has {lengths.iloc[0]}", i + 1, column)
                 for i, t in enumerate(texts) if not problems and len(t) != lengths.iloc[0]]
    if problems:
        raise _problem_error(problems, file)
    k = int(lengths.iloc[0])
    out = pd.DataFrame([[int(ch) for ch in t] for t in texts], columns=[f"c{j + 1}" for j in range(k)])
    out["count"] = table["count"].to_numpy()
    return out


def _already_clean(table: pd.DataFrame) -> pd.DataFrame | None:
    """A copy of ``table`` when it is already what :func:`validate_table` returns, else None.

    Estimators validate the table they are given, and the case-level estimate gives them tables
    that :func:`capture_table` built clean: checking that with one array costs a few microseconds,
    where the full check (which names every problem) costs milliseconds on a 7-row table and was
    a tenth of the time of a case estimate. Clean means: string list names, stripped, then
    ``count``; int8 lists of 0/1 and an int64 count above 0; every row on some list and every list
    holding someone; patterns distinct and in :func:`validate_table`'s order; a 0..n-1 index.
    """
    names = table.columns.tolist()
    lists = names[:-1]
    if len(lists) < 2 or len(lists) > 62 or names[-1] != "count" or len(set(names)) != len(names):
        return None
    if not all(type(c) is str and c == c.strip() and c != "count" for c in lists):
        return None
    index = table.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1) or len(table) == 0:
        return None
    dtypes = table.dtypes.tolist()
    if dtypes[-1] != np.int64 or any(d != np.int8 for d in dtypes[:-1]):
        return None
    values = table.to_numpy(dtype=np.int64)
    marks, counts = values[:, :-1], values[:, -1]
    if not ((marks >= 0) & (marks <= 1)).all() or not (counts > 0).all() or not marks.any(axis=0).all():
        return None
    codes = (marks << np.arange(len(lists), dtype=np.int64)[None, :]).sum(axis=1)
    if codes[0] <= 0 or not (np.diff(codes) > 0).all():  # no all-zero row; distinct, in order
        return None
    return table.copy()


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a capture table from a CSV file and validate it.

    The file may use any layout :func:`table_layout` accepts.

    Raises:
        InputError: the file cannot be read or fails :func:`validate_table`.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise InputError("file not found", file=path) from exc
    except IsADirectoryError as exc:
        raise InputError("is a folder, not a CSV file", file=path) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read as CSV: {exc}", file=path.name) from exc
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=path) from exc
    return validate_table(table_layout(raw, file=path.name), file=path.name)


def table_counts(table: pd.DataFrame) -> tuple[int, np.ndarray, int]:
    """The number of lists, the counts of the 2^K - 1 observed cells (cell c: bit k = list k), and n."""
    counts = count_table(table)
    return counts.k, counts.y, counts.n


@dataclass(frozen=True, eq=False)
class CountedTable:
    """What the fits of a capture table read, made once from the table (issue 21: the fits of one table
    counted it about 11 times, a pandas conversion each).

    Attributes:
        k: the number of lists.
        y: the counts of the 2^K - 1 observed cells (cell c: bit j = list j), float64.
        n: the documented count.
        names: the lists' names (the columns but ``count``, in order, as text).
        valid: :func:`validate_table` accepts the table these are the counts of (checked only when
            :func:`count_table` is asked to; False: not known).
    """

    k: int
    y: np.ndarray
    n: int
    names: tuple[str, ...]
    valid: bool = False


def count_table(table: pd.DataFrame | CountedTable, *, check: bool = False) -> CountedTable:
    """The counts of a capture table (:func:`table_counts`) with its lists' names, in one conversion of the table.

    Args:
        table: one column per list and ``count`` (a :class:`CountedTable` is returned as it is).
        check: also tell whether :func:`validate_table` accepts the table (``valid``), from the same
            array: every list value 0 or 1, every count a whole number of 0 or more, no pattern twice,
            none on the all-zero pattern, someone on every list, the names text without spaces around.
            The counts are then those of the table :func:`validate_table` returns.

    Raises:
        ValueError: no ``count`` column, or values that are not numbers (use :func:`validate_table`
            for the error naming the row and column).
    """
    if isinstance(table, CountedTable):
        return table
    columns = tuple(table.columns)
    at = columns.index("count")
    values = table.to_numpy(dtype=np.float64)  # one array: selecting columns by name costs far more
    cells = values[:, :-1] if at == len(columns) - 1 else np.delete(values, at, axis=1)
    with np.errstate(invalid="ignore"):  # a missing value (an invalid table): its code means nothing
        marks = cells.astype(np.int64)
    k = marks.shape[1]
    idx = (marks << np.arange(k)[None, :]).sum(axis=1)
    weights = values[:, at]
    y = np.bincount(idx, weights=weights, minlength=2**k)[1:]
    names = tuple(str(c) for i, c in enumerate(columns) if i != at)
    valid = check and _counts_valid(columns, at, cells, weights, idx, y)
    return CountedTable(k, y, int(round(y.sum())), names, valid)


def _counts_valid(columns: tuple[object, ...], at: int, cells: np.ndarray, counts: np.ndarray, codes: np.ndarray,
                  y: np.ndarray) -> bool:
    """Whether :func:`validate_table` accepts the table of these arrays (:func:`count_table`'s ``check``)."""
    lists = [c for i, c in enumerate(columns) if i != at]
    if not 2 <= len(lists) <= 62 or len(set(columns)) != len(columns):
        return False
    if not all(type(c) is str and c == c.strip() and c != "count" for c in lists):
        return False
    if not (((cells == 0) | (cells == 1)).all() and np.isfinite(counts).all() and (counts >= 0).all()
            and (counts == np.round(counts)).all()):
        return False
    if not (np.diff(codes) > 0).all() and np.unique(codes).size != codes.size:  # a pattern twice
        return False
    if (counts[codes == 0] > 0).any() or not y.sum() > 0:  # someone on no list; no one at all
        return False
    return bool((cells * counts[:, None]).sum(axis=0).all())  # every list holds someone


def validated_counts(table: pd.DataFrame | CountedTable) -> CountedTable:
    """The counts of a table :func:`validate_table` accepts (``valid`` True); a counted table must be valid.

    Quick when the table is one (:func:`count_table`'s check on its array); otherwise the table is
    validated (raising :func:`validate_table`'s errors, which name the row and column) and the clean
    table counted.

    Raises:
        InputError: the table is not a valid capture table, or counts not known to be of one.
    """
    if isinstance(table, CountedTable):
        if not table.valid:
            raise InputError("these counts are not known to be of a valid capture table: count the table "
                             "with count_table(table, check=True) or validate it first")
        return table
    try:
        counts = count_table(table, check=True)
    except (ValueError, TypeError):
        counts = None
    if counts is not None and counts.valid:
        return counts
    clean = count_table(validate_table(table))
    return CountedTable(clean.k, clean.y, clean.n, clean.names, True)


def nested_lists(table: pd.DataFrame, *, share: float = 0.95) -> list[tuple[str, str, float]]:
    """Pairs of lists where one holds almost everyone on the other (share of the smaller list).

    Such lists are rarely independent systems (often two releases of one source), and an estimate
    that treats them as such is close to the documented count and falsely confident.

    Example:
        >>> t = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 1], "count": [1, 1, 98]})
        >>> [(a, b, round(share, 3)) for a, b, share in nested_lists(t)]
        [('a', 'b', 0.99)]
    """
    lists = [c for c in table.columns if c != "count"]
    counts = table["count"].to_numpy(dtype=float)
    marks = table[lists].to_numpy(dtype=bool)
    sizes = (marks * counts[:, None]).sum(axis=0)
    out = []
    for i in range(len(lists)):
        for j in range(i + 1, len(lists)):
            both = float(counts[marks[:, i] & marks[:, j]].sum())
            smaller = float(min(sizes[i], sizes[j]))
            if smaller > 0 and both / smaller >= share:
                out.append((str(lists[i]), str(lists[j]), both / smaller))
    return out


def table_from_counts(counts: np.ndarray, lists: Sequence[str]) -> pd.DataFrame:
    """Inverse of :func:`table_counts`: a table from the 2^K - 1 cell counts (zero cells dropped)."""
    k = len(lists)
    whole = np.asarray(counts).round().astype(np.int64)
    cells = np.flatnonzero(whole > 0)
    pats = ((cells[:, None] + 1) >> np.arange(k)[None, :]) & 1
    # built whole from the kept rows (a frame filtered and re-indexed cost a few times more, on tables of a few rows)
    table = pd.DataFrame(pats.astype(np.int8), columns=list(lists))
    table["count"] = whole[cells]
    return table


def capture_matrix(clusters: pd.DataFrame, lists: Sequence[str] | None = None) -> pd.DataFrame:
    """Persons x lists 0/1 matrix from record-level clusters (columns person_id, source).

    Args:
        clusters: at least ``person_id`` and ``source`` (as returned by ``case.clusters()``).
        lists: list names in order; default: the sources in order of first appearance.

    Returns:
        DataFrame indexed by person_id, one int8 column per list.
    """
    names = list(lists) if lists is not None else list(dict.fromkeys(clusters["source"]))
    cat = pd.Categorical(clusters["source"], categories=names)
    persons = pd.Index(pd.unique(clusters["person_id"]))
    codes = persons.get_indexer(pd.Index(clusters["person_id"]))
    mat = np.zeros((len(persons), len(names)), dtype=np.int8)
    ok = cat.codes >= 0
    mat[codes[ok], cat.codes[ok]] = 1
    return pd.DataFrame(mat, index=persons.rename("person_id"), columns=names)


def capture_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """Count persons per capture pattern of a persons x lists 0/1 matrix.

    Example:
        >>> m = pd.DataFrame({"A": [1, 1, 0], "B": [0, 1, 1]})
        >>> capture_table(m)["count"].tolist()
        [1, 1, 1]
    """
    lists = list(matrix.columns)
    if matrix.empty:
        return pd.DataFrame(columns=[*lists, "count"]).astype(int)
    bits = (matrix.to_numpy(dtype=np.int64) << np.arange(len(lists))[None, :]).sum(axis=1)
    counts = np.bincount(bits, minlength=2 ** len(lists))
    counts[0] = 0
    return table_from_counts(counts[1:], lists)
