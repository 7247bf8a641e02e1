"""What the corrections read of the linkage table, made once for every scoring of one table.

A link run corrects its scored pairs five or six times over (each round of the refit, and both
scorings of the missed-links sample), and every time the corrections looked up the same things in
the linkage table again: the records' positions, their name keys as integer codes, text columns
as arrays, and how many records share each set of name keys. On a million records each of these
is a pass over the table (factorising four million keys, turning columns of Arrow strings into
Python objects). :class:`TableLookups` makes each once, when first asked, and keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.refit import record_lookup

__all__ = ["TableLookups", "key_counts", "name_key_codes", "in_levels", "NAME_KEY_PARTS"]

#: The name parts whose keys :meth:`TableLookups.key_codes` holds, in its columns' order.
NAME_KEY_PARTS: tuple[str, ...] = ("given", "father", "grandfather", "family")


def key_counts(keys: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """For each row of ``keys``: how many rows share its values of ``cols`` (0 where one is missing).

    Example:
        >>> key_counts(pd.DataFrame({"a": ["x", "x", None], "b": ["y", "y", "y"]}), ["a", "b"]).tolist()
        [2, 2, 0]
    """
    codes = [pd.factorize(keys[c])[0].astype(np.int64) for c in cols]
    missing = np.zeros(len(keys), dtype=bool)
    joint = np.zeros(len(keys), dtype=np.int64)
    for c in codes:
        missing |= c < 0
        joint = joint * (int(c.max(initial=0)) + 1) + np.maximum(c, 0)
        joint = pd.factorize(joint)[0].astype(np.int64)  # keeps the joint code small
    counts: np.ndarray = np.bincount(joint[~missing], minlength=int(joint.max(initial=0)) + 1)[joint]
    counts[missing] = 0
    return counts


def name_key_codes(prepared: pd.DataFrame) -> np.ndarray:
    """The name keys of every record as integer codes, one column per part of :data:`NAME_KEY_PARTS`
    (the same key the same code in every part; -1 where missing): comparing codes gives the same
    equalities as comparing the keys, at a fraction of the time on the millions of pairs of a large run."""
    values = np.concatenate([prepared[f"{p}_key"].to_numpy(dtype=object) for p in NAME_KEY_PARTS])
    codes = pd.factorize(values, use_na_sentinel=True)[0].astype(np.int64)
    out: np.ndarray = codes.reshape(len(NAME_KEY_PARTS), len(prepared)).T
    return out


class TableLookups:
    """Look-ups in one linkage table, each made when first asked and kept (the table must not change).

    Arrays indexed by a record's position carry one more entry at the end (None, or -1 for codes),
    read by pairs naming a record the table does not hold (position -1).

    Example:
        >>> t = pd.DataFrame({"unique_id": [10, 3], "given_key": ["a", None], "father_key": ["b", "a"],
        ...                   "grandfather_key": [None, None], "family_key": ["c", "c"]})
        >>> look = TableLookups(t)
        >>> look.positions(np.array([3, 10, 99])).tolist()
        [1, 0, -1]
        >>> look.key_codes()[[0, 1, -1]].tolist()  # the same key the same code in every part
        [[0, 1, -1, 2], [-1, 0, -1, 2], [-1, -1, -1, -1]]
        >>> look.key_counts(("family_key",))[look.positions(np.array([3, 99]))].tolist()
        [2, 0]
    """

    def __init__(self, prepared: pd.DataFrame) -> None:
        self.prepared = prepared
        self._made: dict[Any, Any] = {}

    def _once(self, name: Any, make: Any) -> Any:
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Each record id's row in the table (-1 where the table does not hold it)."""
        index = self._once("index", lambda: pd.Index(self.prepared["unique_id"].to_numpy()))
        rows = self._once("rows", lambda: np.arange(len(self.prepared)))
        return record_lookup(index, rows, ids)

    def key_codes(self) -> np.ndarray:
        """The name keys as integer codes, one column per part of :data:`NAME_KEY_PARTS` (the same key
        the same code in every part; -1 where missing), and a last row of -1."""
        out: np.ndarray = self._once("key_codes", lambda: np.vstack(
            [name_key_codes(self.prepared), np.full((1, len(NAME_KEY_PARTS)), -1, dtype=np.int64)]))
        return out

    def objects(self, column: str) -> np.ndarray:
        """A column as an array of Python objects, and a last None."""
        out: np.ndarray = self._once(("objects", column), lambda: np.concatenate(
            [self.prepared[column].to_numpy(dtype=object), np.array([None], dtype=object)]))
        return out

    def key_counts(self, cols: tuple[str, ...]) -> np.ndarray:
        """:func:`key_counts` of the name-key columns ``cols`` over the table, and a last 0 (a record
        the table does not hold shares no keys)."""
        out: np.ndarray = self._once(("key_counts", cols), lambda: np.append(key_counts(self.prepared, list(cols)), 0))
        return out


def in_levels(values: pd.Series, gammas: Iterable[int]) -> np.ndarray:
    """``values.isin(gammas)`` as an array of booleans; a column of small integers (comparison levels)
    by a table indexed by level, a pass over the column where ``isin`` hashes every value.

    Example:
        >>> in_levels(pd.Series([0, 3, -1, 2], dtype="int8"), [2, 3]).tolist()
        [False, True, False, True]
    """
    wanted = [int(g) for g in gammas]
    array = values.to_numpy()
    if array.dtype.kind in "iu" and len(array):
        low, high = min([int(array.min()), *wanted]), max([int(array.max()), *wanted])
        if high - low <= _LEVEL_SPAN:
            table = np.zeros(high - low + 1, dtype=bool)
            table[np.asarray(wanted, dtype=np.int64) - low] = True
            found: np.ndarray = table[array.astype(np.int64) - low]
            return found
    return np.asarray(values.isin(wanted).to_numpy(), dtype=bool)


_LEVEL_SPAN = 4096
