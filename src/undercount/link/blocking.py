"""Blocking rules: which pairs of records are compared at all, described as plain data.

A rule is a tuple of columns of the prepared linkage table that must be equal (never raw
names: transliteration keys, so an Arabic and an English spelling fall in the same block).
Every rule combines enough parts that no block is a giant (a plain first + father name block on
a million Arabic names holds sixty million pairs), and together they forgive one damaged or
missing name part, a shifted part (family name written in the grandfather slot), and a name
written in another script. See docs/linkage.md for the recall they reach on simulated lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BlockingRuleSpec",
    "default_blocking_rules",
    "training_blocking_rules",
    "deterministic_rules",
    "blocking_sql",
    "splink_blocking_rules",
    "candidate_pairs_sql",
    "shared_part_keys",
    "capped_block_keys",
    "capped_columns",
    "BLOCK_CAP",
]

# Largest blocks kept by the rules on three name parts or two and the age: a million records hold
# thousands sharing محمد أحمد محمد, millions of pairs of mostly different people, whose true
# matches other rules find (measured on the large preset, docs/linkage.md).
BLOCK = 200
BIG_BLOCK = 1000

# Largest block the "two name parts in any slots" rules keep: larger ones (two very common names
# with the same age) are left to the other rules, so these rules add at most a bounded number of
# pairs per record and the pairs compared stay linear in the number of records.
BLOCK_CAP = 60


@dataclass(frozen=True)
class BlockingRuleSpec:
    """Records are compared when every column in ``equal`` is equal (and not null).

    Args:
        name: short description for logs and documentation.
        equal: columns of the prepared table that must be equal.
        explode: list columns among ``equal``: records are compared when any element is equal.
        cap: largest block kept: records whose block is larger are left to the other rules
            (their values are joined into one key column, :attr:`column`).
    """

    name: str
    equal: tuple[str, ...]
    explode: tuple[str, ...] = ()
    cap: int | None = None

    @property
    def column(self) -> str:
        """The key column of a capped rule (its columns joined)."""
        return "block_" + "_".join(c.removesuffix("_key") for c in self.equal)


def default_blocking_rules() -> tuple[BlockingRuleSpec, ...]:
    """The rules that generate candidate pairs for prediction.

    Returns:
        Rule descriptions, most specific first.

    Example:
        >>> default_blocking_rules()[0].equal
        ('id_number',)
    """
    return (
        BlockingRuleSpec("same ID number", ("id_number",)),
        BlockingRuleSpec("first three name keys", ("key3",), cap=BIG_BLOCK),
        BlockingRuleSpec("given, father, family", ("given_key", "father_key", "family_key"), cap=BIG_BLOCK),
        BlockingRuleSpec("given, grandfather, family", ("given_key", "grandfather_key", "family_key"), cap=BLOCK),
        BlockingRuleSpec("father, grandfather, family", ("father_key", "grandfather_key", "family_key"), cap=BLOCK),
        BlockingRuleSpec("given, father, age", ("given_key", "father_key", "age"), cap=BLOCK),
        BlockingRuleSpec("given, family, age", ("given_key", "family_key", "age"), cap=BLOCK),
        BlockingRuleSpec("father, family, age", ("father_key", "family_key", "age"), cap=BLOCK),
        BlockingRuleSpec("given, date of birth", ("given_key", "date_of_birth")),
        BlockingRuleSpec("sorted name keys", ("key_sorted",)),
        BlockingRuleSpec("two name parts in any slots, age, sex", ("parts_age_sex",), explode=("parts_age_sex",)),
        BlockingRuleSpec("two name parts in any slots, event date", ("parts_date",), explode=("parts_date",)),
    )


def training_blocking_rules() -> tuple[BlockingRuleSpec, ...]:
    """Rules whose pairs EM trains on: each holds many matches and few siblings.

    The first three leave some name parts free (trained): the given name, the family name, the
    father and grandfather names; they require sex and age too, so no rule groups a family's
    children together and EM does not learn siblings as matches. The last requires all four
    names and trains age, sex, ID and date of birth.
    """
    return (
        BlockingRuleSpec("father, grandfather, family, sex, age", ("father_key", "grandfather_key", "family_key", "sex", "age")),
        BlockingRuleSpec("given, father, grandfather, age", ("given_key", "father_key", "grandfather_key", "age")),
        BlockingRuleSpec("given, family, sex, age", ("given_key", "family_key", "sex", "age")),
        BlockingRuleSpec("given, father, grandfather, family", ("given_key", "father_key", "grandfather_key", "family_key")),
    )


def deterministic_rules() -> tuple[str, ...]:
    """Near-certain match rules used to estimate the prior match probability (lambda)."""
    return (
        "l.id_number = r.id_number AND l.id_valid AND r.id_valid AND l.given_key = r.given_key",
        "l.given_key = r.given_key AND l.father_key = r.father_key AND "
        "l.grandfather_key = r.grandfather_key AND l.family_key = r.family_key AND l.age = r.age",
    )


def blocking_sql(rule: BlockingRuleSpec) -> str:
    """The rule as a SQL condition on ``l`` and ``r`` (valid in DuckDB and Spark)."""
    if rule.cap is not None:
        return f"l.{rule.column} = r.{rule.column}"
    return " AND ".join(f"l.{c} = r.{c}" for c in rule.equal)


def capped_columns() -> tuple[str, ...]:
    """Key columns of the capped default rules."""
    return tuple(r.column for r in default_blocking_rules() if r.cap is not None)


def capped_block_keys(prepared: pd.DataFrame) -> dict[str, list[object]]:
    """The key column of each capped default rule: its columns joined, None where a column is
    missing or the block holds more than the rule's cap.

    Args:
        prepared: the linkage table.

    Returns:
        Column name -> one key per row of ``prepared`` (in its order).
    """
    import duckdb

    out: dict[str, list[object]] = {}
    con = duckdb.connect()
    try:
        for rule in default_blocking_rules():
            if rule.cap is None:
                continue
            cols = list(rule.equal)
            frame = prepared[cols].copy()
            frame["uc_row"] = np.arange(len(frame))
            con.register("t", frame)
            key = f"CASE WHEN {' AND '.join(f'{c} IS NOT NULL' for c in cols)} THEN concat_ws('|', {', '.join(cols)}) END"
            found = con.execute(
                f"SELECT CASE WHEN count(*) OVER (PARTITION BY k) <= {int(rule.cap)} THEN k END FROM "
                f"(SELECT uc_row, {key} AS k FROM t) ORDER BY uc_row"
            ).fetchall()
            out[rule.column] = [row[0] for row in found]
            con.unregister("t")
    finally:
        con.close()
    return out


def splink_blocking_rules(rules: tuple[BlockingRuleSpec, ...] | None = None) -> list[dict[str, Any]]:
    """Splink blocking-rule dictionaries for ``blocking_rules_to_generate_predictions``."""
    out: list[dict[str, Any]] = []
    for rule in rules or default_blocking_rules():
        item: dict[str, Any] = {"blocking_rule": blocking_sql(rule)}
        if rule.explode:
            item["arrays_to_explode"] = list(rule.explode)
        out.append(item)
    return out


def candidate_pairs_sql(rule: BlockingRuleSpec, table: str) -> str:
    """DuckDB SQL of the record pairs (``a < b``) a rule compares in ``table`` (for measuring)."""
    cols = ", ".join(f"unnest({c}) AS {c}" if c in rule.explode else c for c in rule.equal)
    source = f"(SELECT unique_id, {cols} FROM {table})" if rule.explode else table
    return (
        f"SELECT DISTINCT l.unique_id AS a, r.unique_id AS b FROM {source} l JOIN {source} r "
        f"ON {blocking_sql(rule)} AND l.unique_id < r.unique_id"
    )


def shared_part_keys(prepared: pd.DataFrame, cap: int = BLOCK_CAP) -> dict[str, list[list[str]]]:
    """Blocking keys for records that share two name parts in any slots.

    Every unordered pair of a record's part keys is combined with its age and sex
    (``parts_age_sex``) and with its event date (``parts_date``); a key is kept only when between
    2 and ``cap`` records hold it.

    Args:
        prepared: the linkage table with ``unique_id``, ``<part>_key``, ``age``, ``sex`` and
            ``event_date``.
        cap: largest block kept.

    Returns:
        Column name -> one list of keys per row of ``prepared`` (in its order).
    """
    import duckdb

    parts = ("given", "father", "grandfather", "family")
    pairs = " UNION ALL ".join(
        f"SELECT unique_id, least({a}_key, {b}_key) || ' ' || greatest({a}_key, {b}_key) AS kp, age, sex, "
        f"event_date FROM t WHERE {a}_key IS NOT NULL AND {b}_key IS NOT NULL AND {a}_key <> {b}_key"
        for a, b in combinations(parts, 2)
    )
    keys = {
        "parts_age_sex": "kp || '|' || age || '|' || sex AS key FROM e WHERE age IS NOT NULL AND sex IS NOT NULL",
        "parts_date": "kp || '|' || event_date AS key FROM e WHERE event_date IS NOT NULL",
    }
    con = duckdb.connect()
    out: dict[str, list[list[str]]] = {}
    try:
        con.register("t", prepared[["unique_id", *(f"{p}_key" for p in parts), "age", "sex", "event_date"]])
        con.execute(f"CREATE TEMP TABLE e AS SELECT DISTINCT * FROM ({pairs})")
        order = pd.Index(prepared["unique_id"].to_numpy())
        for column, select in keys.items():
            found = con.execute(
                f"WITH ks AS (SELECT DISTINCT unique_id, {select}), "
                f"kept AS (SELECT ks.* FROM ks JOIN (SELECT key FROM ks GROUP BY key HAVING count(*) BETWEEN 2 AND "
                f"{int(cap)}) USING (key)) SELECT unique_id, list(key ORDER BY key) AS keys FROM kept GROUP BY unique_id"
            ).df()
            lists = pd.Series(found["keys"].to_numpy(), index=found["unique_id"].to_numpy()).reindex(order)
            out[column] = [[] if not isinstance(v, (list, tuple, np.ndarray)) else list(v) for v in lists]
    finally:
        con.close()
    return out
