"""Name parts found in another slot: each coincidence of two names counted once.

The shifted-slot levels of a name part ("found in the next slot", "found in another name slot",
"grandfather written as family name") fire when the part's key is one the other record holds in
another slot. A single coincidence fires two of them: when one record's family name is the other
record's grandfather's name, the family part finds its key in the other's grandfather slot and
the grandfather part finds the other's key in its own record's family slot. Splink then adds two
slot weights for one shared name. On a case built from the real lists (bench/end_to_end.py,
12,000 people), cross-list pairs with two parts at slot levels and one such coincidence were one
person 4-7% of the time, but scored 0.16 on average and 0.5 or more 22-29 times per seed (most of
them false links); pairs where two coincidences explain two shifted parts (a true swap of two
names) were one person 63-78% of the time.

:func:`slot_support` counts, for each pair with two or more parts at slot levels, the equalities
``l.X = r.Y`` (``X`` and ``Y`` different parts, the token not one that an agreeing part already
uses) that can support them, and how many parts they cannot: by Hall's theorem the largest
number of slot parts each given its own equality is ``k - max_T (|T| - N(T))`` over the sets ``T``
of slot parts, ``N(T)`` the equalities touching ``T``. The parts left without one are weighed as
their "different" level (both women: "different, both women"), the grandfather first (the middle
slot is the one two neighbours share), then the father, then the family name.

A pair with a single slot part is corrected too when its only coincidences reuse a token an
agreeing part already counts (one record's grandfather is its own given name, the other's given
name agrees) and the lineage's anchor disagrees as well (the family name; for the family part,
the grandfather): between relatives such pairs scored 0.5 or more and were rarely one person.

A family name found in the other record's grandfather slot ("found in the next slot"), both
records holding a grandfather, is weighed as different: a list that drops or shifts a part leaves
one of the two slots empty, so between two four-part names the coincidence is one between
relatives (a cousin's family name is the other's grandfather's name). On the real-list case of
bench/end_to_end.py (12,000 people, seeds 1-3) one such stored pair in 145 was one person, yet the
level weighed +2.3 bits. The name it shares is left to the grandfather part's own slot level.

A father or grandfather found in another slot because it is the other record's given or family
name (and not the other's own name of that part) is weighed as different: a father and his son,
a man and his grandfather, an uncle and his nephew. On the real-list cases such father levels
were one person 7 times in 331 stored pairs where the model expected 49.9 (docs/linkage.md,
session 14).

A father and grandfather written in each other's slot (two coincidences: ``l.father = r.grandfather``
and ``l.grandfather = r.father``) while the given and family names agree and the ages do not differ
is one set of four names in another order: both parts weigh as their agreeing level (the next-slot
level's own weight, trained mostly on uncles and nephews, put such pairs below nothing).

A record holding two names only (``Ahmad Khalil``, the given name and the father's: the usual
short form of an Arabic name) is split as given + family; :func:`short_name_corrections` reads
its second name as the father's when it is the other record's father and the given names agree.

A given name an English list wrote in two tokens (the two tokens' keys together are the Arabic
given key, each of two letters or more) moves every later part one slot on: the English father
slot holds the second piece and the English grandfather slot the Arabic father.
:func:`compound_corrections` weighs such a pair as re-aligned when the English grandfather is
the Arabic father: the given and father parts as their "same sound across scripts" level, the
grandfather (which the English record no longer holds) as missing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.comparisons import LevelRole, level_gammas
from undercount.link.lookups import TableLookups, in_levels

__all__ = ["SLOT_PARTS", "slot_support", "slot_corrections", "compound_corrections", "short_name_corrections"]

_PARTS: tuple[str, ...] = ("given", "father", "grandfather", "family")
# Parts that have slot levels, in the order their weight is withdrawn when unsupported.
SLOT_PARTS: tuple[str, ...] = ("grandfather", "father", "family")


def slot_support(left: np.ndarray, right: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Which slot-level parts no coincidence of names of their own supports.

    Args:
        left, right: the two records' name keys, one row per pair and one column per part in
            the order given, father, grandfather, family (None where missing).
        slot: booleans, one row per pair and one column per part of ``SLOT_PARTS``: the part is
            at a slot level.

    Returns:
        Booleans shaped like ``slot``: the part's slot weight is withdrawn.

    Example:
        >>> l = np.array([["a", "b", "x", "c"]], dtype=object)
        >>> r = np.array([["a", "b", "c", "d"]], dtype=object)
        >>> slot_support(l, r, np.array([[True, False, True]])).tolist()  # one shared name, two slot parts
        [[True, False, False]]
    """
    n = len(slot)
    out = np.zeros(slot.shape, dtype=bool)
    if n == 0:
        return out
    index = {p: i for i, p in enumerate(_PARTS)}
    cols = [index[p] for p in SLOT_PARTS]

    same = [_equal(left[:, i], right[:, i]) for i in range(len(_PARTS))]
    # every equality l.X = r.Y of two different parts (X, Y, flags)
    eqs: list[tuple[int, int, np.ndarray]] = []
    for x in range(len(_PARTS)):
        for y in range(len(_PARTS)):
            if x != y:
                # a token an agreeing part already counts is no new coincidence
                eqs.append((x, y, _equal(left[:, x], right[:, y]) & ~same[x] & ~same[y]))
    best = np.zeros(n)
    best_set = np.zeros(n, dtype=np.int64)
    for mask in range(1, 1 << len(SLOT_PARTS)):
        members = [k for k in range(len(SLOT_PARTS)) if mask >> k & 1]
        inside = np.all(slot[:, members], axis=1)
        touched = np.zeros(n)
        for x, y, flag in eqs:
            if any(cols[k] in (x, y) for k in members):
                touched += flag
        deficit = np.where(inside, len(members) - touched, 0.0)
        better = deficit > best
        best = np.where(better, deficit, best)
        best_set = np.where(better, mask, best_set)
    # the first int(best) members of each pair's best set, in the order of SLOT_PARTS
    take = np.where(best > 0, best, 0.0).astype(np.int64)
    for k in range(len(SLOT_PARTS)):
        before = sum((best_set >> j) & 1 for j in range(k))  # members of the set ahead of part k
        out[:, k] = ((best_set >> k) & 1).astype(bool) & (before < take)
    return out


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality of two key columns; a missing key equals nothing.

    Integer columns are key codes (:func:`undercount.link.lookups.name_key_codes`, -1 where missing); others hold the keys."""
    if a.dtype.kind == "i" and b.dtype.kind == "i":
        codes: np.ndarray = (a >= 0) & (a == b)
        return codes
    ok = np.asarray(pd.notna(a) & pd.notna(b), dtype=bool)
    flags: np.ndarray = ok & (np.where(ok, a, "") == np.where(ok, b, ""))
    return flags


def _bits_now(scored: pd.DataFrame, current: dict[str, np.ndarray], part: str, at: np.ndarray) -> np.ndarray:
    """A part's weight at the pairs ``at`` so far: Splink's level weight, its term-frequency
    adjustment and the corrections already made (``current``)."""
    now: np.ndarray = scored[f"mw_{part}"].to_numpy(dtype=float)[at] + current[part][at]
    if f"mw_tf_adj_{part}" in scored:
        now = now + np.nan_to_num(scored[f"mw_tf_adj_{part}"].to_numpy(dtype=float)[at])
    return now


def _level_weights(settings: dict[str, Any], part: str) -> dict[int, float]:
    """log2(m / u) of each trained level of a part, by gamma (levels without a u left out)."""
    comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == part)
    levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    out: dict[int, float] = {}
    for i, lv in enumerate(levels):
        m, u = lv.get("m_probability"), lv.get("u_probability")
        if isinstance(m, (int, float)) and isinstance(u, (int, float)) and m > 0 and u > 0:
            out[len(levels) - 1 - i] = math.log2(float(m) / float(u))
    return out


def slot_corrections(
    prepared: pd.DataFrame, scored: pd.DataFrame, settings: dict[str, Any], current: dict[str, np.ndarray], *,
    lookups: TableLookups | None = None,
) -> dict[str, np.ndarray]:
    """Bits to add to each name part so that one coincidence of names is counted once.

    Args:
        prepared: the linkage table (``unique_id``, ``<part>_key``, ``sex``).
        scored: Splink's predictions (``unique_id_l``, ``unique_id_r``, ``gamma_<part>``,
            ``mw_<part>``).
        settings: the trained model (the "different" levels' weights).
        current: each part's corrections so far (added to its Splink weight).
        lookups: look-ups in ``prepared`` made by an earlier call (made here when not given).

    Returns:
        Part -> bits aligned with ``scored`` (zero where nothing is withdrawn).
    """
    out = {p: np.zeros(len(scored)) for p in SLOT_PARTS}
    if scored.empty or not all(f"gamma_{p}" in scored for p in SLOT_PARTS):
        return out
    slot = np.column_stack([
        in_levels(scored[f"gamma_{p}"], level_gammas(p, role=LevelRole.SLOT)) for p in SLOT_PARTS
    ])
    rows = np.flatnonzero(slot.sum(axis=1) >= 1)
    if len(rows) == 0:
        return out
    # A family name found in the other record's grandfather slot, both records holding a
    # grandfather, is no evidence of one person: it is weighed as different, and the name it
    # shares is left to the grandfather part's own slot level.
    family_next = in_levels(scored["gamma_family"], level_gammas("family", ids=("next_slot",)))[rows]
    slot[rows, SLOT_PARTS.index("family")] &= ~family_next
    count = slot.sum(axis=1)
    # positions of the pairs' records in the table (no copy of the table: it can be large)
    look = lookups or TableLookups(prepared)
    at_l = look.positions(scored["unique_id_l"].to_numpy()[rows])
    at_r = look.positions(scored["unique_id_r"].to_numpy()[rows])
    # a last row of -1: a record not in the table (position -1) has no keys
    keys = look.key_codes()
    left, right = keys[at_l], keys[at_r]
    drop = slot_support(left, right, slot[rows])
    # A single slot part whose name only a token an agreeing part already holds explains (a person
    # named after the grandfather): withdrawn only when the lineage's anchor disagrees too (the
    # family name, or the grandfather for the family part), as it does between relatives.
    agrees = {p: in_levels(scored[f"gamma_{p}"], level_gammas(p, role=LevelRole.AGREES))[rows]
              for p in ("grandfather", "family")}
    anchored = np.column_stack([agrees["grandfather" if p == "family" else "family"] for p in SLOT_PARTS])
    drop &= ~((count[rows] == 1)[:, None] & anchored)
    drop[:, SLOT_PARTS.index("family")] |= family_next
    for part in ("father", "grandfather"):
        drop[:, SLOT_PARTS.index(part)] |= _named_elsewhere(part, scored[f"gamma_{part}"].to_numpy()[rows], left, right)
    _weigh_swaps(look, scored, settings, current, out, rows=rows, at=(at_l, at_r), keys=(left, right), slot=slot[rows])
    women = np.zeros(len(rows), dtype=bool)
    if "sex" in prepared:
        sex = look.objects("sex")
        women = (sex[at_l] == "female") & (sex[at_r] == "female")
    for k, part in enumerate(SLOT_PARTS):
        where = np.flatnonzero(drop[:, k])
        if len(where) == 0:
            continue
        weights = _level_weights(settings, part)
        different = weights.get(next(iter(level_gammas(part, ids=("different",))), -1))
        if different is None:
            continue
        target = np.full(len(where), different)
        women_gamma = level_gammas(part, ids=("women",))
        if women_gamma and women_gamma[0] in weights:
            target = np.where(women[where], weights[women_gamma[0]], target)
        at = rows[where]
        out[part][at] = target - _bits_now(scored, current, part, at)
    return out


def _named_elsewhere(part: str, gamma: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pairs whose ``part`` (father or grandfather) is at "found in another name slot" because one
    record's name of that part is the other's given or family name (and neither the other's own
    name of that part nor the record's own name of that slot): a father and his son, a man and his
    grandfather, an uncle and his nephew, or a family named after an ancestor; such a part weighs
    as different.

    On the real-list cases of bench/end_to_end.py (12,000 people seeds 1-3, 34,344 people seed 1;
    docs/linkage.md, session 14) the father level's stored pairs scored 0.02-0.98 were one person 7
    times against 49.9 expected, the grandfather's 28 against 55.6.

    Args:
        part: "father" or "grandfather".
        gamma: the pairs' levels of that part.
        left, right: the two records' key codes (given, father, grandfather, family; -1 missing).

    Example:
        >>> g = level_gammas("father", ids=("elsewhere",))[0]
        >>> _named_elsewhere("father", np.array([g, g]), np.array([[1, 2, -1, 3], [1, 2, -1, 3]]),
        ...                  np.array([[2, 4, -1, 5], [1, 2, -1, 5]])).tolist()
        [True, False]
    """
    elsewhere = np.isin(gamma, level_gammas(part, ids=("elsewhere",)))
    given, own, family = (_PARTS.index(p) for p in ("given", part, "family"))

    def named(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        key = a[:, own]  # not a name the record holds in that slot as well (a grandson named after his grandfather)
        hit: np.ndarray = (key >= 0) & (key != b[:, own]) & (((key == b[:, given]) & (key != a[:, given]))
                                                             | ((key == b[:, family]) & (key != a[:, family])))
        return hit

    out: np.ndarray = elsewhere & (named(left, right) | named(right, left))
    return out


def _weigh_swaps(
    look: TableLookups, scored: pd.DataFrame, settings: dict[str, Any], current: dict[str, np.ndarray],
    out: dict[str, np.ndarray], *, rows: np.ndarray, at: tuple[np.ndarray, np.ndarray],
    keys: tuple[np.ndarray, np.ndarray], slot: np.ndarray,
) -> None:
    """Father and grandfather in each other's slot, given and family name agreeing: weighed as agreeing.

    The four names are the same set and only the order of the two middle ones differs, a
    recording error (siblings and cousins share those names in the same slots, not swapped); not
    when the ages differ (more than 5 years): a grandfather and the grandson named after him.
    The next-slot level's weight is trained mostly on single coincidences (an uncle's father is
    a nephew's grandfather) and weighs such a pair below nothing. Each part then weighs as its
    agreeing level: "exact" within one script, "same name across scripts" across two. Changes
    ``out`` in place (bits for the father and grandfather parts).
    """
    index = {p: i for i, p in enumerate(_PARTS)}
    left, right = keys
    f, g = index["father"], index["grandfather"]

    agrees = [in_levels(scored[f"gamma_{p}"], level_gammas(p, role=LevelRole.AGREES))[rows] for p in ("given", "family")]
    # a grandfather and the grandson named after him write the same names swapped, decades apart
    ages_differ = (in_levels(scored["gamma_age"], level_gammas("age", ids=("different",)))[rows] if "gamma_age" in scored
                   else np.zeros(len(rows), dtype=bool))
    swapped = (_equal(left[:, f], right[:, g]) & _equal(left[:, g], right[:, f]) & ~_equal(left[:, f], right[:, f])
               & slot[:, SLOT_PARTS.index("father")] & slot[:, SLOT_PARTS.index("grandfather")] & agrees[0] & agrees[1]
               & ~ages_differ)
    where = np.flatnonzero(swapped)
    if len(where) == 0 or "script" not in look.prepared:
        return
    script = look.objects("script")
    one_script = script[at[0][where]] == script[at[1][where]]
    for part in ("father", "grandfather"):
        weights = _level_weights(settings, part)
        exact = weights.get(next(iter(level_gammas(part, ids=("exact",))), -1))
        across = weights.get(next(iter(level_gammas(part, ids=("spelled",))), -1))
        if exact is None or across is None:
            continue
        target = np.where(one_script, exact, across)
        pos = rows[where]
        out[part][pos] = target - _bits_now(scored, current, part, pos)  # ends at the target


def compound_corrections(
    prepared: pd.DataFrame, scored: pd.DataFrame, settings: dict[str, Any], current: dict[str, np.ndarray], *,
    lookups: TableLookups | None = None,
) -> dict[str, np.ndarray]:
    """Bits that re-align a pair whose English record wrote the given name in two tokens.

    Args:
        prepared: the linkage table (``unique_id``, ``script``, ``<part>_key``).
        scored: Splink's predictions (``unique_id_l``, ``unique_id_r``, ``mw_<part>``, and
            ``mw_tf_adj_<part>`` where there is one).
        settings: the trained model (the "same sound across scripts" levels' weights).
        current: each part's corrections so far (the re-aligned parts end at their target).
        lookups: look-ups in ``prepared`` made by an earlier call (made here when not given).

    Returns:
        Part -> bits aligned with ``scored`` (given, father, grandfather; zero elsewhere).
    """
    parts = ("given", "father", "grandfather")
    out = {p: np.zeros(len(scored)) for p in parts}
    if (scored.empty or "script" not in prepared or not all(f"mw_{p}" in scored for p in parts)
            or not all(f"gamma_{p}" in scored for p in ("given", "grandfather"))):
        return out
    # Only pairs whose grandfather finds its name in the other record's father slot (a slot level)
    # and whose given names do not agree can be such a pair: a small share of a large run's pairs.
    candidates = np.flatnonzero(
        in_levels(scored["gamma_grandfather"], level_gammas("grandfather", role=LevelRole.SLOT))
        & ~in_levels(scored["gamma_given"], level_gammas("given", role=LevelRole.AGREES)))
    if len(candidates) == 0:
        return out
    look = lookups or TableLookups(prepared)
    at_l = look.positions(scored["unique_id_l"].to_numpy()[candidates])
    at_r = look.positions(scored["unique_id_r"].to_numpy()[candidates])
    script = look.objects("script")
    keys = {p: look.objects(f"{p}_key") for p in parts}
    found = np.zeros(len(candidates), dtype=bool)
    for latin, other in ((at_l, at_r), (at_r, at_l)):
        rows = np.flatnonzero((script[latin] == "latin") & (script[other] != "latin") & pd.notna(script[other]))
        first = pd.Series(keys["given"][latin[rows]], dtype=object)
        second = pd.Series(keys["father"][latin[rows]], dtype=object)
        pieces = (first.str.len() >= 2) & (second.str.len() >= 2)
        joined = (first + second).where(pieces)
        given = pd.Series(keys["given"][other[rows]], dtype=object)
        shifted = pd.Series(keys["grandfather"][latin[rows]], dtype=object) == pd.Series(keys["father"][other[rows]], dtype=object)
        hit = (joined == given) & shifted & given.notna()
        found[rows[hit.to_numpy(dtype=bool)]] = True
    where = candidates[found]
    if len(where) == 0:
        return out
    for part in parts:
        target = 0.0  # the grandfather: the English record holds it no more
        if part != "grandfather":
            sound = _level_weights(settings, part).get(next(iter(level_gammas(part, ids=("sound",))), -1))
            if sound is None:
                continue
            target = sound
        out[part][where] = target - _bits_now(scored, current, part, where)
    return out


def short_name_corrections(
    prepared: pd.DataFrame, scored: pd.DataFrame, settings: dict[str, Any], current: dict[str, np.ndarray], *,
    lookups: TableLookups | None = None,
) -> dict[str, np.ndarray]:
    """Bits that read a two-part name as the given name and the father's name.

    A record holding only two names (``Ahmad Khalil``: the given name and the father's, the usual
    short form of an Arabic name) is split as given + family, so its second name finds the other
    record's father only at a slot level ("found in another name slot", weighing about one bit).
    When that second name is the other record's father and the given names agree, the pair is
    re-aligned: the father part weighs as its agreeing level ("exact" within one script, "same
    name across scripts" across two) and the family part, which the short record does not hold,
    as missing. Only between two lists: one list writes its own records alike.

    Args:
        prepared: the linkage table (``unique_id``, ``script``, ``<part>_key``).
        scored: Splink's predictions (``gamma_given``, ``gamma_family``, ``mw_father``, ``mw_family``).
        settings: the trained model (the father's agreeing levels' weights).
        current: each part's corrections so far (the re-aligned parts end at their target).
        lookups: look-ups in ``prepared`` made by an earlier call (made here when not given).

    Returns:
        {"father": bits, "family": bits} aligned with ``scored`` (zero elsewhere).
    """
    parts = ("father", "family")
    out = {p: np.zeros(len(scored)) for p in parts}
    if (scored.empty or "script" not in prepared or "source" not in prepared or not all(f"mw_{p}" in scored for p in parts)
            or not all(f"gamma_{p}" in scored for p in ("given", "family"))):
        return out
    candidates = np.flatnonzero(
        in_levels(scored["gamma_family"], level_gammas("family", role=LevelRole.SLOT))
        & in_levels(scored["gamma_given"], level_gammas("given", role=LevelRole.AGREES)))
    if len(candidates) == 0:
        return out
    look = lookups or TableLookups(prepared)
    at_l = look.positions(scored["unique_id_l"].to_numpy()[candidates])
    at_r = look.positions(scored["unique_id_r"].to_numpy()[candidates])
    keys = look.key_codes()  # -1 where missing: a missing key equals nothing
    father, grandfather, family = (_PARTS.index(p) for p in ("father", "grandfather", "family"))
    source = look.objects("source")
    # across lists only: one list writes its own records alike (within one list such pairs were
    # one person 3 times in 7 on the kept cases, and the re-alignment linked 2 false pairs there)
    found = ~_equal(source[at_l], source[at_r])
    short_form = np.zeros(len(candidates), dtype=bool)
    for short, other in ((at_l, at_r), (at_r, at_l)):
        two = (keys[short, father] < 0) & (keys[short, grandfather] < 0) & (keys[short, family] >= 0)
        short_form |= two & _equal(keys[short, family], keys[other, father])
    found &= short_form
    where = candidates[found]
    if len(where) == 0:
        return out
    script = look.objects("script")
    one_script = (script[at_l[found]] == script[at_r[found]])
    weights = _level_weights(settings, "father")
    exact = weights.get(next(iter(level_gammas("father", ids=("exact",))), -1))
    across = weights.get(next(iter(level_gammas("father", ids=("spelled",))), -1))
    if exact is None or across is None:
        return out
    out["father"][where] = np.where(one_script, exact, across) - _bits_now(scored, current, "father", where)
    out["family"][where] = -_bits_now(scored, current, "family", where)  # the short record holds no family name
    return out
