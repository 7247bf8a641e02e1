"""Corrections to Splink's independence assumption for Arabic family names and scripts.

Splink's model treats its comparisons as independent given the match status. Arabic names
break that among non-matches: siblings share the father's, the grandfather's and the family name
together, so agreement on all three is far more common among different people than the product
of the three frequencies says; and within one family the given name and the age discriminate
differently than among strangers (siblings never share a given name, their ages are close).
Cross-script levels have a second problem: EM trains their m as P(level | match), which includes
the chance that a match is written in two scripts at all.

After the engine has scored the pairs (so DuckDB and Spark give the same result), this module:

1. divides the m of every cross-script level by P(two scripts | match), measured on near-certain
   matches (all four name keys and the age equal), so the level weighs what it weighs among
   cross-script pairs (its u is already measured among them);
2. for a pair whose father, grandfather and family names agree on two or three of them (exact,
   same name or same sound across scripts), replaces the sum of those parts' weights with the
   weight of their joint agreement, ``sum(log2 m) - log2(c / N)``, where ``c`` counts the records
   of the case that share those name keys (a term-frequency u of the combination); never more
   than the sum it replaces;
3. for such a pair, weighs the given name and the age against members of one family instead of
   strangers: their u is measured on pairs of records that share all three lineage keys and are
   surely different people (ages more than five years apart for the given name; different given
   names for the age);
4. counts an agreeing age once when the date of birth agrees too (it implies the age);
5. counts one name found in another slot once, when it fires two parts' slot levels
   (:mod:`undercount.link.slots`).

The joint agreement's weight in (2) takes ``c / N`` as the chance that another record shares the
names; but ``c`` counts the pair's own person's records too (a person on three lists is three of
them), so the weight is too low where it matters (on a case built from the real lists, two to
four bits too low for three shared names: pairs scored 0.7 were 97% true). The last EM on the
candidates (:mod:`undercount.link.refit`) therefore fits one offset per agreement pattern
(:func:`lineage_offsets`): the pattern's Fellegi-Sunter weight ``log2(m / u)``, ``m`` the
posterior share of matches in the pattern and ``u`` the share of the record pairs sharing
those name keys (counted on the whole table, candidates or not) that are not matches, less the
mean corrected weight of its pairs. The offsets are stored with the model
(``uc_lineage_offsets``) and added to the ``lineage`` entry, which stays never positive.

Each pair's evidence shows the parts' corrected weights and a ``lineage`` entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.comparisons import (
    LevelRole,
    default_comparisons,
    level_gammas,
    level_ids,
    level_labels,
    level_sql,
)
from undercount.link.lookups import TableLookups, in_levels
from undercount.link.refit import by_gamma as _by_gamma
from undercount.link.refit import list_pair_codes
from undercount.link.slots import compound_corrections, short_name_corrections, slot_corrections

__all__ = [
    "LINEAGE_PARTS", "LineageRates", "m_lookup", "measure_rates", "corrections", "apply_corrections", "lineage_offsets",
    "OFFSETS_KEY", "LIST_OFFSETS_KEY", "lineage_offsets_by_lists", "refit_lineage",
]

LINEAGE_PARTS: tuple[str, ...] = ("father", "grandfather", "family")
NAME_PARTS = ("given", *LINEAGE_PARTS)
_MIN_PAIRS = 20
_SMALLEST_RATE = 0.002
# Where the fitted offsets of the joint agreement live in the model (see lineage_offsets).
OFFSETS_KEY = "uc_lineage_offsets"
# ... and per pair of lists: {"a x b": {pattern: offset}} (see lineage_offsets_by_lists)
LIST_OFFSETS_KEY = "uc_lineage_offsets_by_lists"
_MAX_OFFSET = 8.0


@dataclass(frozen=True)
class LineageRates:
    """What the corrections measure on the case (stored with the run).

    Args:
        cross_share: P(two scripts | match), None when too few near-certain matches.
        given_rate: P(given level | same lineage, different people) by level label.
        age_rate: P(age level | same lineage, different people) by level label.
        pairs: lineage pairs measured (ages apart, given names apart).
    """

    cross_share: float | None = None
    given_rate: dict[str, float] = field(default_factory=dict)
    age_rate: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)


def m_lookup(settings: dict[str, Any]) -> dict[str, dict[int, float]]:
    """Trained m probability of each comparison level, by Splink's gamma value.

    Args:
        settings: a trained Splink model (``linker.misc.save_model_to_json()``).

    Returns:
        comparison name -> gamma -> m probability (null levels left out).
    """
    out: dict[str, dict[int, float]] = {}
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[comparison["output_column_name"]] = {
            len(levels) - 1 - i: float(lv.get("m_probability") or 1.0) for i, lv in enumerate(levels)
        }
    return out


def _scalar(con: Any, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    return tuple(row) if row else ()


def measure_rates(prepared: pd.DataFrame) -> LineageRates:
    """Measure P(two scripts | match) and the within-family rates on the linkage table.

    Args:
        prepared: the linkage table (see :func:`undercount.link.prepare.prepare_records`).

    Returns:
        The measured rates; a rate measured on fewer than 20 pairs is left out (no correction).
    """
    from undercount.link.scratch import scratch_connection
    from undercount.names import pivot_columns

    keys = [f"{p}_key" for p in NAME_PARTS]
    cols = ["unique_id", "script", "age", "given", *pivot_columns("given"), *keys]
    with scratch_connection() as con:
        con.register("t", prepared[cols])
        on = " AND ".join(f"l.{c} = r.{c}" for c in ("age", *keys))
        total, cross = _scalar(con, (
            f"SELECT count(*), count(*) FILTER (WHERE l.script <> r.script) FROM t l JOIN t r ON {on} "
            "AND l.unique_id < r.unique_id"
        ))
        family = " AND ".join(f"l.{p}_key = r.{p}_key" for p in LINEAGE_PARTS)
        # Streaming aggregates over the family pairs (never materialised: on a million records
        # with common names they are many). The given name's levels are the model's own SQL.
        spec = next(c for c in default_comparisons() if c.name == "given")
        cases = " ".join(
            f"WHEN {level_sql(lv, 'duckdb')} THEN '{lv.label}'" for lv in spec.levels if lv.kind not in ("null", "else")
        )
        sides = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in ("given", "given_key", *pivot_columns("given"), "script"))
        given_rows = con.execute(
            f"SELECT CASE WHEN given_l IS NULL OR given_r IS NULL THEN 'missing' {cases} ELSE 'different' END, "
            f"script_l = script_r, count(*) FROM (SELECT {sides} FROM t l JOIN t r ON {family} "
            "AND l.unique_id < r.unique_id AND abs(l.age - r.age) > 5) GROUP BY ALL"
        ).fetchall()
        siblings = "l.age IS NOT NULL AND r.age IS NOT NULL AND l.given_key <> r.given_key"
        gap = "abs(l.age - r.age)"
        a = _scalar(con, (
            f"SELECT count(*) FILTER (WHERE {siblings}), count(*) FILTER (WHERE {siblings} AND {gap} = 0), "
            f"count(*) FILTER (WHERE {siblings} AND {gap} BETWEEN 1 AND 2), "
            f"count(*) FILTER (WHERE {siblings} AND {gap} BETWEEN 3 AND 5) "
            f"FROM t l JOIN t r ON {family} AND l.unique_id < r.unique_id"
        ))
    given = _given_rates(given_rows)
    age: dict[str, float] = {}
    if a[0] >= _MIN_PAIRS:
        # stored with the run keyed by the levels' labels (same age, within 2 and 5 years, different)
        age = dict(zip(_age_labels(), (a[1] / a[0], a[2] / a[0], a[3] / a[0], 1 - (a[1] + a[2] + a[3]) / a[0])))
    apart = sum(int(n) for label, _, n in given_rows if label != "missing")
    return LineageRates(
        cross_share=float(cross) / float(total) if total >= _MIN_PAIRS else None,
        given_rate={k: max(v, _SMALLEST_RATE) for k, v in given.items()},
        age_rate={k: max(v, _SMALLEST_RATE) for k, v in age.items()},
        pairs={"near_certain": int(total), "ages_apart": apart, "given_apart": int(a[0])},
    )


def _age_labels() -> list[str]:
    """Labels of the age levels 'same', 'within_2', 'within_5', 'different', in that order."""
    ids = {v: k for k, v in level_ids()["age"].items()}
    labels = level_labels()["age"]
    return [labels[ids[i]] for i in ("same", "within_2", "within_5", "different")]


def _given_rates(rows: list[tuple[Any, ...]]) -> dict[str, float]:
    """P(given level | same lineage, different people) from (label, same script, count) rows.

    Levels that fire only within one script (exact) or only across scripts are rated among
    pairs of that script pairing, the others among all pairs with both given names.
    """
    counts: dict[tuple[str, bool], int] = {}
    for label, same, n in rows:
        if label != "missing":
            counts[(str(label), bool(same))] = counts.get((str(label), bool(same)), 0) + int(n)
    within = sum(n for (_, same), n in counts.items() if same)
    across = sum(n for (_, same), n in counts.items() if not same)
    given = next(spec for spec in default_comparisons() if spec.name == "given")
    out: dict[str, float] = {}
    for level in given.levels:
        if level.id not in ("exact", "spelled", "sound", "respelled", "close", "similar", "near_spelling", "unknown_spelling"):
            continue
        pool = within if level.id in ("exact", "respelled") else across if LevelRole.CROSS_SCRIPT in level.roles else within + across
        if pool >= _MIN_PAIRS:
            out[level.label] = sum(n for (lab, _), n in counts.items() if lab == level.label) / pool
    return out


def _weight(scored: pd.DataFrame, part: str, rows: np.ndarray) -> np.ndarray:
    weight: np.ndarray = scored[f"mw_{part}"].to_numpy(dtype=float)[rows]
    if f"mw_tf_adj_{part}" in scored:
        weight = weight + np.nan_to_num(scored[f"mw_tf_adj_{part}"].to_numpy(dtype=float)[rows])
    return weight


def corrections(
    prepared: pd.DataFrame, scored: pd.DataFrame, settings: dict[str, Any], rates: LineageRates, *,
    lookups: TableLookups | None = None,
) -> dict[str, np.ndarray]:
    """Bits to add to each scored pair, by what they correct.

    Args:
        prepared: the linkage table (``unique_id`` and ``<part>_key`` columns).
        scored: Splink's predictions with ``unique_id_l``, ``gamma_<c>``, ``mw_<c>`` and, where
            the comparison has one, ``mw_tf_adj_<c>``.
        settings: the trained model, for the m probabilities.
        rates: see :func:`measure_rates`.
        lookups: look-ups in ``prepared`` made for an earlier scoring of it (made here when not given).

    Returns:
        Arrays aligned with ``scored``: one per name part (cross-script m), ``lineage`` (never
        positive), ``given`` and ``age`` within a family (added to the part's array for given).
    """
    n_pairs = len(scored)
    out = {p: np.zeros(n_pairs) for p in (*NAME_PARTS, "lineage", "age")}
    if scored.empty:
        return out
    share = min(max(rates.cross_share or 1.0, 0.01), 1.0)
    m = m_lookup(settings)
    labels = level_labels()
    cross = {p: set(level_gammas(p, role=LevelRole.CROSS_SCRIPT)) for p in NAME_PARTS}
    for p in NAME_PARTS:
        out[p] += np.where(in_levels(scored[f"gamma_{p}"], list(cross[p])), -np.log2(share), 0.0)

    same = max(1.0 - share, 0.01) if rates.cross_share is not None else 1.0
    exact = {p: set(level_gammas(p, ids=("exact",))) for p in NAME_PARTS}

    # m among pairs of the same script pairing (two scripts, or one), by gamma
    conditional_m = {
        p: {g: min(v / (share if g in cross[p] else same if g in exact[p] else 1.0), 1.0) for g, v in m[p].items()}
        for p in NAME_PARTS
    }

    # One name spelled two ways within a script is, for the joint weight, the same name as an
    # exact agreement: EM meets too few such pairs in its blocks to train the level's own m (it
    # sits at its floor, and the joint weight would sink the pair by the floor's bits).
    for p in NAME_PARTS:
        same_name = next(iter(exact[p]), None)
        for g in level_gammas(p, ids=("respelled",)):
            if same_name is not None and same_name in conditional_m[p]:
                conditional_m[p][g] = conditional_m[p][same_name]

    def m_star(part: str, gamma: np.ndarray) -> np.ndarray:
        return _by_gamma(gamma, conditional_m[part], 1.0)

    agree = {p: in_levels(scored[f"gamma_{p}"], level_gammas(p, role=LevelRole.AGREES)) for p in LINEAGE_PARTS}
    look = lookups or TableLookups(prepared)
    ids_l = scored["unique_id_l"].to_numpy()
    pattern = sum((agree[p].astype(int) << i) for i, p in enumerate(LINEAGE_PARTS))
    n = float(len(prepared))
    offsets = settings.get(OFFSETS_KEY) or {}
    by_lists = settings.get(LIST_OFFSETS_KEY) or {}
    if by_lists:  # each pair's lists as an integer code (no name per pair)
        list_codes, list_names, _ = list_pair_codes(prepared.set_index("unique_id")["source"], ids_l, scored["unique_id_r"].to_numpy())
    for size in (3, 2):
        for parts in combinations(LINEAGE_PARTS, size):
            rows = np.flatnonzero(pattern == sum(1 << LINEAGE_PARTS.index(p) for p in parts))
            if len(rows) == 0:
                continue
            # records of the case sharing the first record's keys (2 at least: the pair itself)
            counts = look.key_counts(tuple(f"{p}_key" for p in parts))  # its last 0: a record not in the table
            c = np.maximum(counts[look.positions(ids_l[rows])], 2).astype(float)
            naive = np.zeros(len(rows))
            joint = np.log2(n / c)
            for p in parts:
                gamma = scored[f"gamma_{p}"].to_numpy()[rows]
                naive += _weight(scored, p, rows) + out[p][rows]
                joint += np.log2(m_star(p, gamma))
            name = _pattern_name(parts)
            offset = np.full(len(rows), float(offsets.get(name, 0.0)))
            if by_lists:
                own = np.array([float(by_lists.get(g, {}).get(name, np.nan)) for g in list_names])[list_codes[rows]]
                offset = np.where(np.isnan(own), offset, own)
            out["lineage"][rows] = np.minimum(joint - naive + offset, 0.0)
    family = np.flatnonzero(pattern == 0b111)
    if len(family):
        gamma = scored["gamma_given"].to_numpy()[family]
        label = _by_gamma(gamma, labels["given"], "")
        for level, rate in rates.given_rate.items():
            rows = np.flatnonzero(label == level)
            conditional = np.log2(m_star("given", gamma[rows]) / rate)
            current = _weight(scored, "given", family[rows]) + out["given"][family[rows]]
            out["given"][family[rows]] += conditional - current
        gamma = scored["gamma_age"].to_numpy()[family]
        label = _by_gamma(gamma, labels["age"], "")
        for level, rate in rates.age_rate.items():
            rows = np.flatnonzero(label == level)
            conditional = np.log2(_by_gamma(gamma[rows], m["age"], 1.0) / rate)
            out["age"][family[rows]] += conditional - _weight(scored, "age", family[rows])
    if "gamma_date_of_birth" in scored:
        # An agreeing date of birth implies the agreeing age: count it once (twins otherwise
        # gain the same evidence twice).
        dob = in_levels(scored["gamma_date_of_birth"], level_gammas("date_of_birth", ids=("same", "year")))
        age = in_levels(scored["gamma_age"], level_gammas("age", ids=("same", "within_2")))
        rows = np.flatnonzero(dob & age)
        out["age"][rows] = -_weight(scored, "age", rows)
    # One shared name that fires two parts' slot levels counts once (undercount.link.slots).
    for part, bits in slot_corrections(prepared, scored, settings, out, lookups=look).items():
        out[part] += bits
    # A given name written in two English tokens moves the later parts one slot on.
    for part, bits in compound_corrections(prepared, scored, settings, out, lookups=look).items():
        out[part] += bits
    # A two-part name is the given name and the father's.
    for part, bits in short_name_corrections(prepared, scored, settings, out, lookups=look).items():
        out[part] += bits
    return out


def apply_corrections(
    prepared: pd.DataFrame, scored: pd.DataFrame, settings: dict[str, Any], rates: LineageRates | None = None, *,
    lookups: TableLookups | None = None,
) -> pd.DataFrame:
    """Scored pairs with the corrections added to their weights and probability.

    Args:
        prepared: the linkage table.
        scored: Splink's predictions (see :func:`corrections`).
        settings: the trained model.
        rates: measured rates (default: :func:`measure_rates` on ``prepared``).
        lookups: look-ups in ``prepared`` kept from an earlier scoring of it (a link run corrects
            its pairs five or six times: each made once).

    Returns:
        A copy of ``scored`` with corrected ``mw_<part>``, ``mw_age``, a ``mw_lineage`` column and
        corrected ``match_weight`` and ``match_probability``.
    """
    rates = rates or measure_rates(prepared)
    out = scored.copy(deep=False)  # columns are replaced, never changed in place (copy-on-write)
    bits = corrections(prepared, scored, settings, rates, lookups=lookups)
    added = np.zeros(len(out))
    for name, values in bits.items():
        added += values
        if name == "lineage":
            out["mw_lineage"] = values
        else:
            out[f"mw_{name}"] = out[f"mw_{name}"].astype(float) + values
    out["match_weight"] = out["match_weight"].astype(float) + added
    out["match_probability"] = 1.0 / (1.0 + np.exp2(-out["match_weight"].to_numpy(dtype=float)))
    return out


def _pattern_name(parts: tuple[str, ...]) -> str:
    return "+".join(parts)


def lineage_patterns(scored: pd.DataFrame) -> np.ndarray:
    """Each pair's lineage agreement pattern (bit i: ``LINEAGE_PARTS[i]`` agrees)."""
    agree = {p: in_levels(scored[f"gamma_{p}"], level_gammas(p, role=LevelRole.AGREES)) for p in LINEAGE_PARTS}
    out = np.zeros(len(scored), dtype=np.int64)
    for i, p in enumerate(LINEAGE_PARTS):
        out |= agree[p].astype(np.int64) << i
    return out


def lineage_offsets(prepared: pd.DataFrame, scored: pd.DataFrame) -> dict[str, float]:
    """Fit the offset of each lineage agreement pattern's joint weight (its u, by EM).

    The joint weight of names ``S`` shared by a pair takes ``c / N`` as the chance that a record
    of another person shares them, ``c`` the records holding those name keys. Over the whole
    table this implies ``sum(c^2) / 2`` pairs of different people sharing them, where there are
    ``sum(c (c - 1)) / 2`` pairs sharing them less the expected matches among those (the
    posterior sum over the candidate pairs that share them). The offset is the log2 ratio: never
    negative, it removes the count of the pair's own person's records from ``c``.

    Args:
        prepared: the linkage table (``<part>_key`` columns of the lineage parts).
        scored: the posterior candidate pairs: ``gamma_<part>`` and ``match_probability``.

    Returns:
        Pattern name ("father+grandfather+family", "father+family", ...) -> bits to add to the
        pattern's lineage entry; a pattern whose pairs are too few to measure is left out.
    """
    out: dict[str, float] = {}
    if scored.empty:
        return out
    p = scored["match_probability"].to_numpy(dtype=float)
    keys = prepared[[f"{q}_key" for q in LINEAGE_PARTS]]
    pattern = lineage_patterns(scored)
    for size in (3, 2):
        for parts in combinations(LINEAGE_PARTS, size):
            sizes = keys.groupby([f"{q}_key" for q in parts], dropna=True).size().to_numpy(dtype=float)
            sizes = sizes[sizes >= 2]  # names held by one record are in no pair
            bit = sum(1 << LINEAGE_PARTS.index(q) for q in parts)
            # matches sharing these keys: pairs agreeing on them (and maybe on the third one too)
            matches = float(p[(pattern & bit) == bit].sum())
            implied = float((sizes**2).sum()) / 2.0
            actual = float((sizes * (sizes - 1)).sum()) / 2.0 - matches
            if (pattern == bit).sum() < _MIN_PAIRS or actual < _MIN_PAIRS:
                continue
            out[_pattern_name(parts)] = round(float(min(math.log2(implied / actual), _MAX_OFFSET)), 4)
    return out


def lineage_offsets_by_lists(prepared: pd.DataFrame, scored: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The offsets of :func:`lineage_offsets`, fitted for each pair of lists on its own pairs.

    Lists overlap at different rates and hold different shares of a family, so the joint
    weight's ``c / N`` is off by a different amount for each pair of lists ``a x b``. Over the
    record pairs of ``a x b``, ``c / N`` implies ``(n_b / N) sum(c_a c) / 2 + (n_a / N) sum(c_b c) / 2``
    pairs of different people sharing the names (``c_a``, ``c_b`` the records of each list holding
    them, ``n_a``, ``n_b`` the lists' sizes; within one list ``(n_a / N) sum(c_a c) / 2``), where
    there are ``sum(c_a c_b)`` (``sum(c_a (c_a - 1)) / 2`` within a list) less the expected
    matches of ``a x b`` among them. A pair of lists or pattern with too few pairs is left out (the
    pooled offset holds there).

    Args:
        prepared: the linkage table (``unique_id``, ``source`` and the lineage ``<part>_key``).
        scored: the posterior candidate pairs (``unique_id_l``, ``unique_id_r``, ``gamma_<part>``,
            ``match_probability``).

    Returns:
        "a x b" -> pattern name -> bits (as :func:`lineage_offsets`).
    """
    out: dict[str, dict[str, float]] = {}
    if scored.empty:
        return out
    p = scored["match_probability"].to_numpy(dtype=float)
    pattern = lineage_patterns(scored)
    codes, names, _ = list_pair_codes(prepared.set_index("unique_id")["source"], scored["unique_id_l"].to_numpy(),
                                      scored["unique_id_r"].to_numpy())
    present = sorted(names[c] for c in np.unique(codes))  # pairs of lists in name order
    n = float(len(prepared))
    sizes = prepared["source"].astype(str).value_counts()
    for size in (3, 2):
        for parts in combinations(LINEAGE_PARTS, size):
            cols = [f"{q}_key" for q in parts]
            keyed = prepared[[*cols, "source"]].dropna(subset=cols)  # not a copy of every column of the table per pattern
            counts = keyed.groupby([*cols, keyed["source"].astype(str)]).size().unstack(fill_value=0)
            total = counts.sum(axis=1).to_numpy(dtype=float)
            bit = sum(1 << LINEAGE_PARTS.index(q) for q in parts)
            for group in present:
                first, second = str(group).split(" x ", 1)
                if first not in counts or second not in counts:
                    continue
                rows = codes == names.index(group)
                if ((pattern == bit) & rows).sum() < _MIN_PAIRS:
                    continue
                c_a, c_b = counts[first].to_numpy(dtype=float), counts[second].to_numpy(dtype=float)
                n_a, n_b = float(sizes[first]), float(sizes[second])
                matches = float(p[rows & ((pattern & bit) == bit)].sum())
                if first == second:
                    implied = n_a / n * float((c_a * total).sum()) / 2.0
                    actual = float((c_a * (c_a - 1)).sum()) / 2.0 - matches
                else:
                    implied = (n_b * float((c_a * total).sum()) + n_a * float((c_b * total).sum())) / (2.0 * n)
                    actual = float((c_a * c_b).sum()) - matches
                if actual < _MIN_PAIRS or implied <= 0:
                    continue
                out.setdefault(str(group), {})[_pattern_name(parts)] = round(float(min(math.log2(implied / actual), _MAX_OFFSET)), 4)
    return out


def refit_lineage(prepared: pd.DataFrame, scored: pd.DataFrame, model: dict[str, Any]) -> None:
    """The EM step of the lineage parameters: fit them on the posterior pairs into ``model``."""
    model[OFFSETS_KEY] = lineage_offsets(prepared, scored)
    model[LIST_OFFSETS_KEY] = lineage_offsets_by_lists(prepared, scored)
