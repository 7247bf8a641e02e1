"""Blocking rules: which pairs of records are compared at all, described as plain data.

Two kinds of rule:

* **Equality rules** (:class:`BlockingRuleSpec`): columns of the prepared linkage table that must
  be equal (never raw names: transliteration keys, so an Arabic and an English spelling fall in
  the same block). Each combines enough parts that no block is a giant (a plain first + father
  name block on a million Arabic names holds sixty million pairs).
* **Rare shared keys** (:class:`KeyFamily`): each record gets keys of several families (two of
  its name tokens in any order, the same with the sex or with the start of a third token or, across
  scripts, a third token within one letter, or as the given and father names in their places; across
  scripts, a name token and another within one letter; three
  name parts in any order, two parts with age and sex or with the event date, a name token with
  the date of birth, the date of birth, extra fields declared in the import specs); two records
  are compared when they share a key that at most the family's ``cap`` records hold.
  These need no age and no slot order, so they keep cross-script
  pairs without an age and shifted or swapped names. A key held by more records than the cap is
  dropped, and counted (:class:`BlockingReport`): the number of such blocks, the records in
  them and the pairs they held are stored with the run and printed by ``undercount link``. A
  family capped on purpose (:attr:`KeyFamily.on_purpose`: one name with another a letter off,
  compared only where few records hold the two) has its commoner keys counted apart.

Rules and families whose columns no record holds are left out: the rules follow the fields the
linked lists actually have. See docs/linkage.md for the recall they reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "BlockingRuleSpec",
    "KeyFamily",
    "BlockingReport",
    "default_blocking_rules",
    "key_families",
    "training_blocking_rules",
    "deterministic_rules",
    "general_training_rules",
    "blocking_sql",
    "splink_blocking_rules",
    "candidate_pairs_sql",
    "rare_keys",
    "capped_block_keys",
    "capped_columns",
    "KEYS_COLUMN",
    "BLOCK_CAP",
]

# Largest blocks kept by the rules on three name parts or two and the age: a million records hold
# thousands sharing محمد أحمد محمد, millions of pairs of mostly different people, whose true
# matches other rules find (measured on the large preset, docs/linkage.md).
BLOCK = 200
BIG_BLOCK = 1000

# Largest block a rare shared key keeps: larger ones (two very common names with the same age)
# are left to the other rules, so each family adds a bounded number of pairs per record and the
# pairs compared stay linear in the number of records.
BLOCK_CAP = 60
NAME_CAP = 20
# Two common tokens held by more than NAME_CAP records of both sexes may be held by NAME_CAP or
# fewer of one sex: the same two tokens with the sex keep those pairs (a man's and a woman's
# records are rarely one person). A larger cap here cost a third more pairs on gaza-like.
SEX_NAME_CAP = NAME_CAP
DOB_CAP = 20
# The pairs the name families and rules without an age compare (two name tokens, with or without the
# sex; three name parts; two parts with the event date; the first three names; given, father or
# grandfather with the family name): an age missing on either side, or ages at most 5 years apart
# (age heaping, off-by-one errors, ages counted at different dates: gaza-like holds true pairs 4
# years apart); pairs of common names with both ages known and far apart are different people, and
# pairs at the same age the rules with the age find already. At 198,475 records (the large preset)
# they proposed 3.5 million pairs no other rule proposed with both ages known and more than 5 years
# apart, none of them true (33.6 -> 16.2 pairs per record).
AGE_APART = "a.age IS NULL OR b.age IS NULL OR abs(a.age - b.age) <= 5"
# Pairs across two scripts (an Arabic and an English record) an age does not tell apart.
ACROSS_SCRIPTS = f"({AGE_APART}) AND a.script <> b.script"
# Pairs across scripts whose sexes, where both are known, agree (a man's and a woman's records are rarely one person).
ACROSS_SCRIPTS_SEX = f"{ACROSS_SCRIPTS} AND (a.sex IS NULL OR b.sex IS NULL OR a.sex = b.sex)"
# Largest block of "a name token and another within one letter": the pair of names (one exact, one a letter off)
# is rare only when at most this many records hold it; at 20 it proposed twelve times the pairs for the same true ones
# (12,000-person real-list cases, session 15).
FUZZY_PAIR_CAP = 3
# The same condition in a blocking rule (rows l and r).
AGE_CLOSE = "l.age IS NULL OR r.age IS NULL OR abs(l.age - r.age) <= 5"

# The list column holding every record's rare keys (one exploding rule compares records sharing one).
KEYS_COLUMN = "block_keys"
RARE_KEYS_RULE = "a rare shared key"


@dataclass(frozen=True)
class BlockingRuleSpec:
    """Records are compared when every column in ``equal`` is equal (and not null).

    Args:
        name: short description for logs and documentation.
        equal: columns of the prepared table that must be equal.
        explode: list columns among ``equal``: records are compared when any element is equal.
        cap: largest block kept: records whose block is larger are left to the other rules
            (their values are joined into one key column, :attr:`column`).
        when: SQL condition on the pair's rows ``l`` and ``r``: only the pairs of a block that
            meet it are compared; with a cap, the others are counted in
            :attr:`BlockingReport.held_back`.
    """

    name: str
    equal: tuple[str, ...]
    explode: tuple[str, ...] = ()
    cap: int | None = None
    when: str | None = None

    @property
    def column(self) -> str:
        """The key column of a capped rule (its columns joined)."""
        return "block_" + "_".join(c.removesuffix("_key") for c in self.equal)


@dataclass(frozen=True)
class KeyFamily:
    """A family of rare shared keys.

    Args:
        name: what the keys hold, for reports and ``LinkOptions.skip_blocking``.
        tag: short prefix of its keys (keeps families apart).
        select: DuckDB SQL giving ``unique_id, key`` rows from the tables ``t`` (the linkage
            table), ``parts`` (unique_id, slot, key: the part keys), ``tokens`` (unique_id,
            token: every name token key), ``token_ids`` (unique_id, id: the tokens as numbers) and
            ``variants`` (id, variant: each distinct token's key whole and with each letter dropped,
            keys of 3 letters or more, as numbers); with ``splits``, ``unique_id, key, base`` rows,
            where ``base`` is the record's key in the family split. A key may be of any type.
        needs: columns that must hold a value in some record for the family to apply.
        cap: largest block kept.
        splits: tag of a family whose blocks this one splits (its key plus a field): only blocks
            of that family over its cap are split (a block it kept already compares every pair
            of the split ones).
        pairs_when: SQL condition on a pair's rows ``a`` and ``b`` (of ``t``): only the pairs of a
            kept block that meet it are compared (each gets a key of its own); the others are
            counted in :attr:`BlockingReport.held_back`.
        on_purpose: the cap is the family's design, not a limit on its size: the family reaches a
            class of pairs only where its key is rare (a name with another a letter off), and most
            records hold some commoner key of it, whose pairs it never meant to compare. Its blocks
            over the cap are counted apart (:attr:`BlockingReport.capped`), not with the blocks a
            cap drops from a family that would compare them (:attr:`BlockingReport.dropped`).
    """

    name: str
    tag: str
    select: str
    needs: tuple[str, ...] = ()
    cap: int = BLOCK_CAP
    splits: str | None = None
    pairs_when: str | None = None
    on_purpose: bool = False


@dataclass(frozen=True)
class BlockingReport:
    """What the caps left out, per rule or family (blocks over the cap are never silent).

    Attributes:
        dropped: name -> {"blocks": blocks over the cap, "records": records in them, "pairs":
            the pairs they held (other rules may still compare some; the rest are never compared)}.
        skipped: rules and families left out because no record has their fields, or asked.
        held_back: family name -> pairs of its kept blocks that its ``pairs_when`` condition
            left to the other rules.
        capped: the same counts as ``dropped`` (and "cap") for the families capped on purpose
            (:attr:`KeyFamily.on_purpose`): their commoner keys are left to the other rules by design.
    """

    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    held_back: dict[str, int] = field(default_factory=dict)
    capped: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-ready dict."""
        return {"dropped": self.dropped, "skipped": list(self.skipped), "held_back": self.held_back, "capped": self.capped}


def default_blocking_rules() -> tuple[BlockingRuleSpec, ...]:
    """The equality rules that generate candidate pairs for prediction, and the rare-key rule.

    Returns:
        Rule descriptions, most specific first; the last compares records sharing a rare key
        (:func:`key_families`).

    Example:
        >>> default_blocking_rules()[0].equal
        ('id_number',)
    """
    return (
        BlockingRuleSpec("same ID number", ("id_number",)),
        BlockingRuleSpec("first three name keys", ("key3",), cap=BIG_BLOCK, when=AGE_CLOSE),
        BlockingRuleSpec("given, father, family", ("given_key", "father_key", "family_key"), cap=BIG_BLOCK, when=AGE_CLOSE),
        BlockingRuleSpec("given, grandfather, family", ("given_key", "grandfather_key", "family_key"), cap=BLOCK, when=AGE_CLOSE),
        BlockingRuleSpec("father, grandfather, family", ("father_key", "grandfather_key", "family_key"), cap=BLOCK,
                         when=AGE_CLOSE),
        BlockingRuleSpec("given, father, age", ("given_key", "father_key", "age"), cap=BLOCK),
        BlockingRuleSpec("given, family, age", ("given_key", "family_key", "age"), cap=BLOCK),
        BlockingRuleSpec("father, family, age", ("father_key", "family_key", "age"), cap=BLOCK),
        BlockingRuleSpec("given, date of birth", ("given_key", "date_of_birth")),
        BlockingRuleSpec("sorted name keys", ("key_sorted",)),
        BlockingRuleSpec(RARE_KEYS_RULE, (KEYS_COLUMN,), explode=(KEYS_COLUMN,)),
    )


_PAIR = "least(a.key, b.key) || ' ' || greatest(a.key, b.key)"
# Each name token's key whole and with one letter dropped (keys of 3 letters or more): two keys one edit apart
# (a letter changed, added, dropped or two swapped) share one of them.
_ONE_LETTER = ("(SELECT unique_id, token, token AS v FROM tokens UNION SELECT unique_id, token, left(token, i - 1) || substr(token, i + 1) "
               "FROM (SELECT unique_id, token, unnest(generate_series(1, length(token))) AS i FROM tokens WHERE length(token) >= 3))")


# Each distinct token's key whole and with one letter dropped (keys of 3 letters or more), from ``token_dict`` (token, id).
_VARIANTS = ("SELECT id, token AS v FROM token_dict UNION SELECT id, left(token, i - 1) || substr(token, i + 1) "
             "FROM (SELECT id, token, unnest(generate_series(1, length(token))) AS i FROM token_dict WHERE length(token) >= 3)")


def key_families(fields: tuple[tuple[str, str], ...] = ()) -> tuple[KeyFamily, ...]:
    """The families of rare shared keys.

    Args:
        fields: (column, comparison kind) of the extra fields declared in the import specs;
            exact and string fields give keys of their own (two fields together, a field with a
            name token).

    Returns:
        The families, names-only first.
    """
    two_parts = "SELECT a.unique_id, {pair} AS kp FROM parts a JOIN parts b ON a.unique_id = b.unique_id AND a.key < b.key"
    two_tokens = ("SELECT a.unique_id, least(a.token, b.token) || ' ' || greatest(a.token, b.token) FROM tokens a "
                  "JOIN tokens b ON a.unique_id = b.unique_id AND a.token < b.token")
    families = [
        KeyFamily("two name tokens in any order", "n2", two_tokens, cap=NAME_CAP, pairs_when=AGE_APART),
        KeyFamily("two name tokens in any order, sex", "n2s",
                  f"SELECT p.unique_id, p.k || '|' || t.sex, p.k FROM ({two_tokens}) AS p(unique_id, k) JOIN t USING (unique_id) "
                  "WHERE t.sex IS NOT NULL", needs=("sex",), cap=SEX_NAME_CAP, splits="n2", pairs_when=AGE_APART),
        # Two common tokens held by more than NAME_CAP records (both sexes or one) and the first two letters of a
        # third token's key: an English list drops, respells or reorders the third name (a family name two or
        # more letters off, no age), so neither the plain pair nor three exact parts meets the other record.
        KeyFamily("two name tokens in any order, start of a third", "n2t",
                  "SELECT a.unique_id, a.token || ' ' || b.token || '|' || left(c.token, 2), a.token || ' ' || b.token "
                  "FROM tokens a JOIN tokens b ON a.unique_id = b.unique_id AND a.token < b.token "
                  "JOIN tokens c ON c.unique_id = a.unique_id AND c.token <> a.token AND c.token <> b.token",
                  cap=NAME_CAP, splits="n2", pairs_when=AGE_APART),
        # The same across scripts with a third token one letter off anywhere (its key with each letter of 3 or more
        # dropped, and whole): an English third name damaged at its start or end, which the start-of-a-third keys miss.
        KeyFamily("two name tokens in any order, a third within one letter, across scripts", "n2d",
                  "SELECT a.unique_id, a.token || ' ' || b.token || '|' || c.v, a.token || ' ' || b.token "
                  f"FROM tokens a JOIN tokens b ON a.unique_id = b.unique_id AND a.token < b.token JOIN {_ONE_LETTER} c "
                  "ON c.unique_id = a.unique_id AND c.token <> a.token AND c.token <> b.token",
                  needs=("script",), cap=NAME_CAP, splits="n2", pairs_when=ACROSS_SCRIPTS),
        # Two common tokens held by more than NAME_CAP records, as the given and the father name in their places, across
        # scripts: an English record whose other names are far from the Arabic one's (or missing), without an age, shares
        # only the two; held in these two places by far fewer records than anywhere in the name (session 16).
        KeyFamily("given and father names in their places, across scripts", "gf",
                  "SELECT unique_id, given_key || '|' || father_key, "
                  "least(given_key, father_key) || ' ' || greatest(given_key, father_key) FROM t "
                  "WHERE given_key IS NOT NULL AND father_key IS NOT NULL AND given_key <> father_key",
                  needs=("script", "given_key", "father_key"), cap=BLOCK_CAP, splits="n2", pairs_when=ACROSS_SCRIPTS_SEX),
        # One token exact and another within one letter, held by at most FUZZY_PAIR_CAP records, across scripts: an
        # English record sharing one name exactly and a second one letter off (no age, or two common tokens not shared
        # exactly) meets no two-token key; the pair of the two is rare enough to compare the few records holding it.
        # Its keys are numbers, the token's and the variant's (``token_ids``, ``variants``: one number for each
        # "token|variant"), so that the largest family (tokens x other tokens x letters, for every record) is grouped as
        # integers, and the variants are made once for each distinct token, not for each record.
        KeyFamily("a name token and another within one letter, across scripts", "n1d",
                  "SELECT a.unique_id, a.id * 4294967296 + v.variant FROM token_ids a JOIN token_ids c "
                  "ON c.unique_id = a.unique_id AND c.id <> a.id JOIN variants v ON v.id = c.id",
                  needs=("script",), cap=FUZZY_PAIR_CAP, pairs_when=ACROSS_SCRIPTS_SEX, on_purpose=True),
        KeyFamily("three name parts in any order", "n3",
                  "SELECT a.unique_id, a.key || ' ' || b.key || ' ' || c.key FROM parts a JOIN parts b "
                  "ON a.unique_id = b.unique_id AND a.key < b.key JOIN parts c ON b.unique_id = c.unique_id "
                  "AND b.key < c.key", cap=BLOCK_CAP, pairs_when=AGE_APART),
        KeyFamily("two name parts in any slots, age, sex", "pas",
                  f"SELECT p.unique_id, p.kp || '|' || t.age || '|' || t.sex FROM ({two_parts.format(pair=_PAIR)}) p "
                  "JOIN t USING (unique_id) WHERE t.age IS NOT NULL AND t.sex IS NOT NULL", needs=("age", "sex")),
        KeyFamily("two name parts in any slots, event date", "pd",
                  f"SELECT p.unique_id, p.kp || '|' || t.event_date FROM ({two_parts.format(pair=_PAIR)}) p "
                  "JOIN t USING (unique_id) WHERE t.event_date IS NOT NULL", needs=("event_date",), pairs_when=AGE_APART),
        KeyFamily("a name token, date of birth", "nd",
                  "SELECT k.unique_id, k.token || '|' || t.date_of_birth FROM tokens k JOIN t USING (unique_id) "
                  "WHERE t.date_of_birth IS NOT NULL", needs=("date_of_birth",), cap=DOB_CAP),
        KeyFamily("date of birth", "d", "SELECT unique_id, CAST(date_of_birth AS VARCHAR) FROM t "
                  "WHERE date_of_birth IS NOT NULL", needs=("date_of_birth",), cap=DOB_CAP),
    ]
    texts = [c for c, kind in fields if kind in ("exact", "string")]
    for column in texts:
        name = column.removeprefix("f_")
        families.append(KeyFamily(f"{name}, a name token", f"{name}+n",
                                  f"SELECT k.unique_id, t.{column} || '|' || k.token FROM tokens k JOIN t USING (unique_id) "
                                  f"WHERE t.{column} IS NOT NULL", needs=(column,), cap=NAME_CAP))
    for left, right in combinations(texts, 2):
        a, b = left.removeprefix("f_"), right.removeprefix("f_")
        families.append(KeyFamily(f"{a}, {b}", f"{a}+{b}",
                                  f"SELECT unique_id, {left} || '|' || {right} FROM t WHERE {left} IS NOT NULL "
                                  f"AND {right} IS NOT NULL", needs=(left, right), cap=NAME_CAP))
    return tuple(families)


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


def general_training_rules(prepared: pd.DataFrame, fields: tuple[str, ...] = ()) -> tuple[BlockingRuleSpec, ...]:
    """Further EM blocks for lists outside the Arabic four-part convention, from the fields they hold.

    Used only for comparisons the four-part blocks left untrained (two-part Latin names have no
    father or grandfather, so those blocks hold no pairs): given + family name trains the date of
    birth, age, sex and extra fields; the date of birth trains the names; each exact or string
    extra field (an address, a postcode) trains the names and the date of birth.

    Args:
        prepared: the linkage table.
        fields: the exact and string extra fields' columns.
    """
    candidates = [
        BlockingRuleSpec("given, family", ("given_key", "family_key")),
        BlockingRuleSpec("date of birth", ("date_of_birth",)),
        *(BlockingRuleSpec(c.removeprefix("f_"), (c,)) for c in fields),
    ]
    return tuple(r for r in candidates if all(_has_values(prepared, c) for c in r.equal))


def deterministic_rules(prepared: pd.DataFrame | None = None) -> tuple[str, ...]:
    """Near-certain match rules used to estimate the prior match probability (lambda).

    The same valid ID and given name; the four name keys and the age. When no record has a
    father's or grandfather's name (two-part names), the given and family names with the date
    of birth instead.
    """
    rules = [
        "l.id_number = r.id_number AND l.id_valid AND r.id_valid AND l.given_key = r.given_key",
        "l.given_key = r.given_key AND l.father_key = r.father_key AND "
        "l.grandfather_key = r.grandfather_key AND l.family_key = r.family_key AND l.age = r.age",
    ]
    if prepared is not None and not _has_values(prepared, "father_key") and _has_values(prepared, "date_of_birth"):
        rules.append("l.given_key = r.given_key AND l.family_key = r.family_key AND l.date_of_birth = r.date_of_birth")
    return tuple(rules)


def blocking_sql(rule: BlockingRuleSpec) -> str:
    """The rule as a SQL condition on ``l`` and ``r`` (valid in DuckDB and Spark)."""
    if rule.cap is not None:
        equal = f"l.{rule.column} = r.{rule.column}"
    else:
        equal = " AND ".join(f"l.{c} = r.{c}" for c in rule.equal)
    return f"{equal} AND ({rule.when})" if rule.when else equal


def capped_columns() -> tuple[str, ...]:
    """Key columns of the capped default rules."""
    return tuple(r.column for r in default_blocking_rules() if r.cap is not None)


def capped_block_keys(
    prepared: pd.DataFrame, *, skip: tuple[str, ...] = ()
) -> tuple[dict[str, list[object]], dict[str, dict[str, int]], dict[str, int]]:
    """The key column of each capped default rule: its columns joined, None where a column is
    missing or the block holds more than the rule's cap or a single record.

    Args:
        prepared: the linkage table.
        skip: names of rules left out (their column is all None).

    Returns:
        (column name -> one key per row of ``prepared``, in its order; rule name ->
        {"blocks", "records", "pairs"} over the cap; rule name -> pairs of its kept blocks that
        its ``when`` condition leaves to the other rules).
    """
    from undercount.link.scratch import scratch_connection

    out: dict[str, list[object]] = {}
    dropped: dict[str, dict[str, int]] = {}
    held_back: dict[str, int] = {}
    with scratch_connection() as con:
        for rule in default_blocking_rules():
            if rule.cap is None:
                continue
            cols = list(rule.equal)
            if rule.name in skip or not all(_has_values(prepared, c) for c in cols):
                out[rule.column] = [None] * len(prepared)
                continue
            frame = prepared[[*cols, *(["age"] if rule.when and "age" not in cols else [])]].copy()
            frame["uc_row"] = np.arange(len(frame))
            con.register("t", frame)
            key = f"CASE WHEN {' AND '.join(f'{c} IS NOT NULL' for c in cols)} THEN concat_ws('|', {', '.join(cols)}) END"
            con.execute(f"CREATE OR REPLACE TEMP TABLE k AS SELECT uc_row, {key} AS k, count(*) OVER (PARTITION BY {key}) AS n"
                        f"{', age' if rule.when else ''} FROM t")
            if rule.when:  # pairs of kept blocks the rule's condition leaves to the other rules
                held = con.execute(
                    f"SELECT count(*) FROM k l JOIN k r ON l.k = r.k AND l.uc_row < r.uc_row AND l.n <= {int(rule.cap)} "
                    f"WHERE NOT coalesce(({rule.when}), false)").fetchall()[0][0]
                if held:
                    held_back[rule.name] = int(held)
            # a key no other record holds pairs nothing: None (a million records hold millions of them)
            found = con.execute(f"SELECT CASE WHEN n BETWEEN 2 AND {int(rule.cap)} THEN k END FROM k ORDER BY uc_row").fetchall()
            shared: dict[str, str] = {}
            out[rule.column] = [None if row[0] is None else shared.setdefault(row[0], row[0]) for row in found]
            blocks, records, pairs = con.execute(
                f"SELECT count(DISTINCT k), count(*), coalesce(sum(n - 1), 0) // 2 FROM k WHERE k IS NOT NULL AND n > {int(rule.cap)}"
            ).fetchall()[0]
            if blocks:
                dropped[rule.name] = {"blocks": int(blocks), "records": int(records), "pairs": int(pairs)}
            con.unregister("t")
    return out, dropped, held_back


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


def _has_values(prepared: pd.DataFrame, column: str) -> bool:
    return column in prepared and bool(prepared[column].notna().any())


def rare_keys(
    prepared: pd.DataFrame, families: tuple[KeyFamily, ...], *, skip: tuple[str, ...] = ()
) -> tuple[pd.Series, BlockingReport]:
    """Each record's rare shared keys, and what the caps dropped.

    A key is kept when between 2 and its family's cap records hold it; larger blocks are
    dropped and counted.

    Args:
        prepared: the linkage table (``unique_id``, ``<part>_key``, ``name_tokens`` and the
            columns the families read).
        families: from :func:`key_families`.
        skip: names of families to leave out.

    Returns:
        (one list of keys per row of ``prepared``, in its order and on its index, as an Arrow
        list column: a million records hold tens of millions of keys, which as Python strings
        took minutes and gigabytes to fetch and again to hand to the engine; the report).
    """
    from undercount.link.scratch import scratch_connection

    active = [f for f in families if f.name not in skip and all(_has_values(prepared, c) for c in f.needs)]
    skipped = tuple(f.name for f in families if f not in active)
    if not active:
        return _key_lists(pa.array([[]] * len(prepared), type=pa.list_(pa.string())), prepared.index), BlockingReport(skipped=skipped)
    parts = ("given", "father", "grandfather", "family")
    columns = sorted({"unique_id", "age", "sex", "event_date", "date_of_birth", "name_tokens", "alt_keys",
                      *(f"{p}_key" for p in parts), *(c for f in active for c in f.needs)} & set(prepared.columns))
    with scratch_connection() as con:
        con.register("t_in", prepared[columns])
        con.execute("CREATE TEMP TABLE t AS SELECT * FROM t_in")
        con.execute(
            "CREATE TEMP TABLE parts AS SELECT DISTINCT unique_id, key FROM (" + " UNION ALL ".join(
                f"SELECT unique_id, {p}_key AS key FROM t WHERE {p}_key IS NOT NULL" for p in parts) + ")"
        )
        # name tokens, and the keys of guessed spellings a Latin part did not keep (prepare.alt_keys)
        alternatives = " UNION ALL SELECT unique_id, unnest(alt_keys) AS token FROM t" if "alt_keys" in columns else ""
        con.execute("CREATE TEMP TABLE tokens AS SELECT DISTINCT unique_id, token FROM "
                    f"(SELECT unique_id, unnest(name_tokens) AS token FROM t{alternatives}) "
                    "WHERE token IS NOT NULL AND token <> ''")
        # the tokens as numbers, and each distinct token's one-letter variants (numbered across all of them)
        con.execute("CREATE TEMP TABLE token_dict AS SELECT token, row_number() OVER (ORDER BY token) AS id "
                    "FROM (SELECT DISTINCT token FROM tokens)")
        con.execute("CREATE TEMP TABLE token_ids AS SELECT unique_id, id FROM tokens JOIN token_dict USING (token)")
        con.execute(f"CREATE TEMP TABLE token_variants AS {_VARIANTS}")
        con.execute("CREATE TEMP TABLE variants AS SELECT tv.id, d.variant FROM token_variants tv "
                    "JOIN (SELECT v, row_number() OVER (ORDER BY v) AS variant FROM (SELECT DISTINCT v FROM token_variants)) d USING (v)")
        tags = {f.tag: i for i, f in enumerate(active)}
        splitting = [i for i, f in enumerate(active) if f.splits is not None and f.splits in tags]
        split = {tags[str(active[i].splits)] for i in splitting}
        con.execute("CREATE TEMP TABLE kept (fam INTEGER, unique_id BIGINT, key VARCHAR)")
        counts: dict[int, dict[str, int]] = {}
        held_back: dict[str, int] = {}
        # one family at a time (its keys, the blocks they make, what it keeps), so that only one family's keys are held
        for i in [i for i in range(len(active)) if i not in splitting] + splitting:
            f = active[i]
            if i in splitting:  # only the blocks the split family dropped: the ones it kept hold every pair of these
                con.execute(f"CREATE OR REPLACE TEMP TABLE fam_keys AS SELECT DISTINCT unique_id, k AS key FROM ({f.select}) "
                            f"AS s(unique_id, k, base) WHERE k IS NOT NULL AND base IN (SELECT key FROM over_{tags[str(f.splits)]})")
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE fam_keys AS SELECT DISTINCT unique_id, k AS key FROM ({f.select}) "
                            "AS s(unique_id, k) WHERE k IS NOT NULL")
            con.execute("CREATE OR REPLACE TEMP TABLE fam_sizes AS SELECT key, count(*) AS n FROM fam_keys GROUP BY key HAVING n > 1")
            if i in split:
                con.execute(f"CREATE TEMP TABLE over_{i} AS SELECT key FROM fam_sizes WHERE n > {int(f.cap)}")
            over = f"FROM fam_sizes WHERE n > {int(f.cap)}"
            blocks, pairs = con.execute(f"SELECT count(*), coalesce(sum(n * (n - 1) // 2), 0) {over}").fetchall()[0]
            if blocks:
                records = con.execute(f"SELECT count(DISTINCT unique_id) FROM fam_keys WHERE key IN (SELECT key {over})").fetchall()[0][0]
                counts[i] = {"blocks": int(blocks), "records": int(records), "pairs": int(pairs)}
            small = f"(SELECT unique_id, key FROM fam_keys JOIN fam_sizes USING (key) WHERE n <= {int(f.cap)})"
            if f.pairs_when is None:
                con.execute(f"INSERT INTO kept SELECT {i}, unique_id, '{f.tag}:' || key FROM {small}")
                continue
            # each pair of the family's blocks that meets its condition gets a key held by those two records only
            con.execute(f"CREATE OR REPLACE TEMP TABLE pairs AS SELECT DISTINCT x.unique_id AS a, y.unique_id AS b FROM {small} x "
                        f"JOIN {small} y ON x.key = y.key AND x.unique_id < y.unique_id")
            held = con.execute(
                f"SELECT count(*) FILTER (WHERE NOT coalesce(({f.pairs_when}), false)) "
                "FROM pairs p JOIN t a ON a.unique_id = p.a JOIN t b ON b.unique_id = p.b").fetchall()[0][0]
            con.execute(
                f"INSERT INTO kept SELECT {i}, unnest([p.a, p.b]), '{f.tag}:' || p.a || ':' || p.b FROM pairs p "
                f"JOIN t a ON a.unique_id = p.a JOIN t b ON b.unique_id = p.b WHERE ({f.pairs_when})")
            if held:
                held_back[f.name] = int(held)
        # one list per row of ``prepared``, in its order (empty where a record holds no key), fetched as Arrow
        con.register("uc_order", pd.DataFrame({"uc_row": np.arange(len(prepared), dtype=np.int64),
                                               "unique_id": prepared["unique_id"].to_numpy()}))
        found = con.sql(
            "SELECT coalesce(list(k.key ORDER BY k.key) FILTER (WHERE k.key IS NOT NULL), []::VARCHAR[]) AS keys "
            "FROM uc_order o LEFT JOIN kept k USING (unique_id) GROUP BY o.uc_row ORDER BY o.uc_row").to_arrow_table()
        lists = _key_lists(found.column("keys").combine_chunks(), prepared.index)
    report = BlockingReport(
        dropped={active[i].name: c for i, c in counts.items() if not active[i].on_purpose},
        skipped=skipped, held_back=held_back,
        capped={active[i].name: {**c, "cap": int(active[i].cap)} for i, c in counts.items() if active[i].on_purpose},
    )
    return lists, report


def _key_lists(values: pa.Array, index: pd.Index) -> pd.Series:
    """A column of key lists held as Arrow (``list<string>``): iterating it gives Python lists."""
    return pd.Series(pd.arrays.ArrowExtensionArray(values.cast(pa.list_(pa.string()))), index=index)
