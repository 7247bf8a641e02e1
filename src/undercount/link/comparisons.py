"""The comparisons of undercount's linkage model, described as plain data.

Each :class:`ComparisonSpec` says what it compares and lists its levels from the most to the
least specific. A level is a :class:`LevelSpec`: a ``kind`` (exact, key, close, within, ...), the
columns it reads and a parameter. Only :func:`splink_comparisons` turns the descriptions into
engine SQL (DuckDB or Spark), so the model can be read, stored and compared without SQL.

The columns compared are those of the prepared linkage table (see ``undercount.link.prepare``):
normalised name parts (``given``, ``father``, ``grandfather``, ``family``), their
transliteration keys (``given_key`` ...), ``name_tokens`` (every key token of the full name),
the pivot columns ``<part>_<script>`` of every script with spellings in the names registry
(``<part>_ar``: the Arabic name a Latin spelling writes, by the shipped dictionary; see
:mod:`undercount.names.scripts`: a script registered there is compared here with no change),
``script`` (the record's script: transliteration keys are compared only across scripts,
because within one script they are too lenient: بشير and بشرى share a consonant key),
``id_number``/``id_valid``, ``sex``, ``age``, ``date_of_birth``, ``event_date`` and ``place``.
Status is deliberately not compared: a person reported missing and later killed is one person.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LevelRole",
    "LevelSpec",
    "find_level",
    "level_gammas",
    "level_ids",
    "ComparisonSpec",
    "NAME_PARTS",
    "NEIGHBOURS",
    "default_comparisons",
    "field_comparison",
    "splink_comparisons",
    "level_labels",
]

NAME_PARTS: tuple[str, ...] = ("given", "father", "grandfather", "family")
CROSS_SCRIPT_LABEL = "same name across scripts"
SOUND_LABEL = "same sound across scripts"
RESPELLED_LABEL = "same name, another spelling"
SHIFT_LABEL = "found in another name slot"
NEXT_SLOT_LABEL = "found in the next slot"
MOVED_UP_LABEL = "grandfather written as family name"
WOMEN_LABEL = "different, both women"
INITIAL_LABEL = "initial of the other"
NEAR_LABEL = "near spelling across scripts"
UNKNOWN_LABEL = "unknown spelling across scripts"
# Slots next to each part; ``<part>_next`` holds their keys (a copy, so that EM sessions
# blocking on the neighbours still train this comparison).
NEIGHBOURS = {"father": ("grandfather",), "grandfather": ("father", "family"), "family": ("grandfather",)}


class LevelRole(enum.Flag):
    """What a level means to the model's logic (the code asks for roles, never for labels)."""

    NONE = 0
    CROSS_SCRIPT = enum.auto()  # fires only between records written in different scripts
    AGREES = enum.auto()  # the name is the same: exactly, or the same name across scripts
    SLOT = enum.auto()  # the part is found in another slot of the other record
    DIFFERENT = enum.auto()  # the names differ (the last level, or 'different, both women')


@dataclass(frozen=True)
class LevelSpec:
    """One comparison level.

    Args:
        label: short label shown to reviewers ("exact", "key", "close", ...); free to change.
        kind: null | exact | spelled | key | respelled | moved_up | close | similar | pivot_near | initial | next | elsewhere | women |
            pivot_unknown | id_valid | id_exact |
            within | near | days | year | text_close | text_similar | else.
        column: the column compared (for name kinds the normalised part).
        value: the kind's parameter (a distance, a number of days, a similarity).
        tf: column whose term frequencies adjust this level's weight, or None.
        m: starting m probability (EM refines it).
        u: u probability when the level is ``fixed``.
        fixed: keep m and u as given (not trained): for evidence that random pairs measure
            badly, such as the event date and place that members of one family share.
        id: stable identifier within its comparison (default: the kind; 'missing' for the null
            level, 'different' for the last); code and stored results may key on it.
        roles: what the level means to the model (:class:`LevelRole`).
    """

    label: str
    kind: str
    column: str | None = None
    value: float | None = None
    tf: str | None = None
    m: float | None = None
    u: float | None = None
    fixed: bool = False
    id: str = ""
    roles: LevelRole = LevelRole.NONE

    def __post_init__(self) -> None:
        if not self.id:
            default = {"null": "missing", "else": "different"}.get(self.kind, self.kind)
            object.__setattr__(self, "id", default)


@dataclass(frozen=True)
class ComparisonSpec:
    """A comparison: its output name, a description and its levels (null level first)."""

    name: str
    description: str
    levels: tuple[LevelSpec, ...] = field(default_factory=tuple)


def _pivots(part: str) -> tuple[str, ...]:
    """The part's pivot columns, one per script with spellings ('given' -> ('given_ar',))."""
    from undercount.names import pivot_columns

    return pivot_columns(part)


def _pivot_tf(part: str) -> str | None:
    """The term-frequency column of "same name across scripts": the first script's pivot column
    (a pair that agrees only in another script's pivot gets no adjustment: its frequency is null)."""
    return next(iter(_pivots(part)), None)


def _name_part(part: str, *, tf: bool, shifted: bool) -> ComparisonSpec:
    key = f"{part}_key"
    across = LevelRole.CROSS_SCRIPT | LevelRole.AGREES
    levels = [
        LevelSpec("missing", "null", part),
        LevelSpec("exact", "exact", part, tf=part if tf else None, m=0.45, roles=LevelRole.AGREES),
        LevelSpec(CROSS_SCRIPT_LABEL, "spelled", part, tf=_pivot_tf(part) if tf else None, m=0.35, roles=across),
        LevelSpec(SOUND_LABEL, "key", part, tf=key if tf else None, m=0.05, id="sound", roles=across),
        # Within one script, two spellings of one name (Mohammed, Muhammad; an English list that
        # holds a person twice, romanised twice): the Arabic name each Latin spelling writes is the
        # same (the pivot), the letters are not. Without it such a pair fell to 'close spelling'
        # or below and a list's duplicates were lost. It agrees (siblings' father written two
        # ways must still count once, undercount.link.lineage, which weighs it as 'exact').
        LevelSpec(RESPELLED_LABEL, "respelled", part, tf=_pivot_tf(part) if tf else None, m=0.05, id="respelled",
                  roles=LevelRole.AGREES),
        LevelSpec("close spelling", "close", part, 0.92, m=0.05),
        LevelSpec("similar spelling", "similar", part, 0.85, m=0.03),
        # Across scripts, the Arabic forms (of four letters or more) two letters apart, or one
        # inside the other (a compound written in part): on the real-list case most such pairs
        # that blocking proposed were one person.
        LevelSpec(NEAR_LABEL, "pivot_near", part, 2, m=0.03, id="near_spelling", roles=LevelRole.CROSS_SCRIPT),
    ]
    if part != "family":
        # A middle name written as an initial in one list (John P. Smith, John Paul Smith).
        levels.append(LevelSpec(INITIAL_LABEL, "initial", part, m=0.02))
    if part == "family":
        levels.append(LevelSpec(MOVED_UP_LABEL, "moved_up", part, m=0.03, roles=LevelRole.SLOT))
    if shifted:
        levels.append(LevelSpec(NEXT_SLOT_LABEL, "next", part, m=0.03, id="next_slot", roles=LevelRole.SLOT))
        levels.append(LevelSpec(SHIFT_LABEL, "elsewhere", part, m=0.03, roles=LevelRole.SLOT))
    if part == "family":
        levels.append(LevelSpec(WOMEN_LABEL, "women", part, m=0.03, roles=LevelRole.DIFFERENT))
    # A Latin spelling no dictionary or learnt mapping reads as an Arabic name: the names may
    # still be one (a spelling never seen), so it is not weighed as a known different name.
    levels.append(LevelSpec(UNKNOWN_LABEL, "pivot_unknown", part, m=0.02, id="unknown_spelling", roles=LevelRole.CROSS_SCRIPT))
    levels.append(LevelSpec("different", "else", m=0.04 if shifted else 0.07, roles=LevelRole.DIFFERENT))
    desc = f"{part} name: exact, transliteration key, Jaro-Winkler/Levenshtein, else"
    return ComparisonSpec(part, desc, tuple(levels))


def default_comparisons() -> tuple[ComparisonSpec, ...]:
    """The comparisons undercount uses, in order.

    Returns:
        Comparison descriptions: four name parts (term-frequency adjusted on given and family;
        father, grandfather and family also match a part found in another slot), ID, sex, age,
        date of birth, event date and place.

    Example:
        >>> [c.name for c in default_comparisons()][:4]
        ['given', 'father', 'grandfather', 'family']
    """
    names = tuple(
        _name_part(p, tf=p in ("given", "family"), shifted=p != "given") for p in NAME_PARTS
    )
    other = (
        ("id_number", "ID number: equal with a valid check digit, equal but invalid, different",
         (("same valid ID", "id_valid", None, 0.85), ("same ID, invalid check digit", "id_exact", None, 0.05))),
        ("sex", "sex: same or different (a difference weighs strongly against)",
         (("same", "exact", None, 0.99),)),
        ("age", "age in years: equal, within 2, within 5, else",
         (("same age", "exact", None, 0.70), ("within 2 years", "within", 2, 0.20), ("within 5 years", "within", 5, 0.06))),
        ("date_of_birth", "date of birth: equal, same year, else",
         (("same date", "exact", None, 0.85), ("same year", "year", None, 0.10))),
    )
    # Family members are often killed together: the same day and place are weak evidence,
    # so these levels are fixed at modest weights (about +1 for agreement, -1.6 against a date
    # more than two weeks apart). Places are written many ways: a different place costs nothing.
    fixed = (
        ComparisonSpec(
            "event_date",
            "date of death, injury, disappearance or detention: same day, within 3, within 14",
            (
                LevelSpec("missing", "null", "event_date"),
                LevelSpec("same day", "days", "event_date", 0, m=0.60, u=0.30, fixed=True, id="same_day"),
                LevelSpec("within 3 days", "days", "event_date", 3, m=0.20, u=0.20, fixed=True, id="within_3"),
                LevelSpec("within 14 days", "days", "event_date", 14, m=0.10, u=0.20, fixed=True, id="within_14"),
                LevelSpec("different", "else", m=0.10, u=0.30, fixed=True),
            ),
        ),
        ComparisonSpec(
            "place",
            "place: equal or not",
            (
                LevelSpec("missing", "null", "place"),
                LevelSpec("same place", "exact", "place", m=0.80, u=0.40, fixed=True, id="same"),
                LevelSpec("different", "else", m=0.20, u=0.20, fixed=True),
            ),
        ),
    )
    return names + tuple(_simple(*spec) for spec in other) + fixed


def field_comparison(name: str, column: str, compare: str, within: tuple[float, ...] = ()) -> ComparisonSpec:
    """The comparison of an extra field declared in an import spec (see ``undercount.ingest.fields``).

    Args:
        name: the field's name (the comparison's name in the evidence).
        column: its column in the linkage table.
        compare: exact | string | numeric | date.
        within: thresholds of the numeric (units) or date (days) levels.

    Returns:
        A comparison with a missing level, the kind's levels and 'different'; exact agreement is
        adjusted by the value's frequency (a common postcode weighs less than a rare one).

    Example:
        >>> [lv.label for lv in field_comparison("postcode", "f_postcode", "string").levels]
        ['missing', 'same', 'close', 'similar', 'different']
    """
    levels = [LevelSpec("missing", "null", column)]
    if compare in ("exact", "string"):
        levels.append(LevelSpec("same", "exact", column, tf=column, m=0.8))
        if compare == "string":
            levels.append(LevelSpec("close", "text_close", column, 0.92, m=0.1))
            levels.append(LevelSpec("similar", "text_similar", column, 0.8, m=0.04))
    elif compare == "numeric":
        levels.append(LevelSpec("equal", "exact", column, m=0.8))
        levels += [LevelSpec(f"within {w:g}", "near", column, w, m=0.1 / len(within), id=f"within_{w:g}") for w in within]
    elif compare == "date":
        levels.append(LevelSpec("same day", "days", column, 0, m=0.8, id="same_day"))
        levels += [LevelSpec(f"within {w:g} days", "days", column, w, m=0.1 / len(within), id=f"within_{w:g}")
                   for w in within]
    else:
        raise ValueError(f"unknown comparison kind {compare!r}")
    levels.append(LevelSpec("different", "else", m=0.05))
    return ComparisonSpec(name, f"{name} ({compare}), declared in the import spec", tuple(levels))


def _simple(name: str, description: str, levels: tuple[tuple[str, str, float | None, float], ...]) -> ComparisonSpec:
    """A comparison on one column: null level, the given levels, then 'different'."""
    m_else = round(max(1.0 - sum(m for *_, m in levels), 0.01), 4)
    return ComparisonSpec(
        name,
        description,
        (
            LevelSpec("missing", "null", name),
            *(LevelSpec(label, kind, name, value, m=m, id=_simple_id(kind, value)) for label, kind, value, m in levels),
            LevelSpec("different IDs" if name == "id_number" else "different", "else", m=m_else),
        ),
    )


def _simple_id(kind: str, value: float | None) -> str:
    """'same' for an equality, 'within_2' for a distance, else the kind ('year', 'id_valid' ...)."""
    if kind in ("exact", "id_valid", "id_exact"):
        return {"exact": "same", "id_valid": "same_valid", "id_exact": "same_invalid"}[kind]
    return f"{kind}_{value:g}" if value is not None else kind


_SIDES = re.compile(r"\b([lr])\.(\w+)")

# -- SQL ---------------------------------------------------------------------------------------
_FUNCTIONS = {
    "duckdb": {"jw": "jaro_winkler_similarity", "contains": "list_contains"},
    "spark": {"jw": "jaro_winkler", "contains": "array_contains"},
}


def _days(dialect: str, col: str) -> str:
    if dialect == "spark":
        return f"abs(datediff(l.{col}, r.{col}))"
    return f"abs(date_diff('day', l.{col}, r.{col}))"


def level_sql(level: LevelSpec, dialect: str) -> str:
    """The SQL condition of one level in a dialect ('duckdb' or 'spark').

    Splink names the two records' columns ``<column>_l`` and ``<column>_r``.
    """
    return _SIDES.sub(r"\2_\1", _level_sql(level, dialect))


def _level_sql(level: LevelSpec, dialect: str) -> str:
    f = _FUNCTIONS[dialect]
    c = level.column
    if level.kind == "null":
        return f"l.{c} IS NULL OR r.{c} IS NULL"
    if level.kind == "exact":
        return f"l.{c} = r.{c}"
    if level.kind in ("spelled", "respelled"):  # the Arabic pivots agree: across scripts, or within one
        pivots = _pivots(c or "")
        if not pivots:
            return "FALSE"
        agree = " OR ".join(f"l.{p} = r.{p}" for p in pivots)
        scripts = "<>" if level.kind == "spelled" else "="
        return f"{agree if len(pivots) == 1 else f'({agree})'} AND l.script {scripts} r.script"
    if level.kind == "key":
        return f"l.{c}_key = r.{c}_key AND l.script <> r.script"
    same, cross = "l.script = r.script", "l.script <> r.script"
    if level.kind == "close":
        near = "".join(f" OR (levenshtein(l.{p}, r.{p}) <= 1 AND length(l.{p}) >= 3)" for p in _pivots(c or ""))
        return (
            f"({same} AND ({f['jw']}(l.{c}, r.{c}) >= {level.value} OR (levenshtein(l.{c}, r.{c}) <= 1 "
            f"AND length(l.{c}) >= 4))) OR ({cross} AND ({f['jw']}(l.{c}_key, r.{c}_key) >= {level.value}{near}))"
        )
    if level.kind == "similar":
        return (
            f"({same} AND {f['jw']}(l.{c}, r.{c}) >= {level.value}) OR "
            f"({cross} AND {f['jw']}(l.{c}_key, r.{c}_key) >= {level.value})"
        )
    if level.kind == "next":
        return f"{f['contains']}(r.{c}_next, l.{c}_key) OR {f['contains']}(l.{c}_next, r.{c}_key)"
    if level.kind == "pivot_near":
        pivots = _pivots(c or "")
        shortest = [f"least(length(l.{p}), length(r.{p}))" for p in pivots]
        near = " OR ".join(
            f"(levenshtein(l.{p}, r.{p}) <= {int(level.value or 0)} AND {n} >= 4) OR "
            f"({n} >= 2 AND (instr(l.{p}, r.{p}) > 0 OR instr(r.{p}, l.{p}) > 0))"
            for p, n in zip(pivots, shortest)
        )
        return f"{cross} AND ({near})" if pivots else "FALSE"
    if level.kind == "pivot_unknown":
        pivots = _pivots(c or "")
        if not pivots:
            return "FALSE"
        unknown = " OR ".join("(" + " AND ".join(f"{side}.{p} IS NULL" for p in pivots) + ")" for side in ("l", "r"))
        return f"{cross} AND ({unknown})"
    if level.kind == "moved_up":
        # A three-part name that lost its family name: its last part is the grandfather's.
        return (
            "(l.grandfather IS NULL AND r.grandfather IS NOT NULL AND l.family_key = r.grandfather_key) OR "
            "(r.grandfather IS NULL AND l.grandfather IS NOT NULL AND r.family_key = l.grandfather_key)"
        )
    if level.kind == "initial":
        return (f"{same} AND (length(l.{c}) = 1 OR length(r.{c}) = 1) AND "
                f"substr(l.{c}, 1, 1) = substr(r.{c}, 1, 1)")
    if level.kind == "women":
        return "l.sex = 'female' AND r.sex = 'female'"
    if level.kind == "elsewhere":
        return (
            f"{f['contains']}(r.name_tokens, l.{c}_key) OR {f['contains']}(l.name_tokens, r.{c}_key)"
        )
    if level.kind == "id_valid":
        return f"l.{c} = r.{c} AND l.id_valid AND r.id_valid"
    if level.kind == "id_exact":
        return f"l.{c} = r.{c}"
    if level.kind == "within":
        return f"abs(l.{c} - r.{c}) <= {int(level.value or 0)}"
    if level.kind == "near":
        return f"abs(l.{c} - r.{c}) <= {float(level.value or 0)!r}"
    if level.kind == "text_close":
        return (f"{f['jw']}(l.{c}, r.{c}) >= {level.value} OR (levenshtein(l.{c}, r.{c}) <= 1 "
                f"AND length(l.{c}) >= 4)")
    if level.kind == "text_similar":
        return f"{f['jw']}(l.{c}, r.{c}) >= {level.value}"
    if level.kind == "days":
        return f"{_days(dialect, c or '')} <= {int(level.value or 0)}"
    if level.kind == "year":
        return f"year(l.{c}) = year(r.{c})"
    if level.kind == "else":
        return "ELSE"
    raise ValueError(f"unknown level kind {level.kind!r}")


def _level_dict(level: LevelSpec, dialect: str) -> dict[str, Any]:
    out: dict[str, Any] = {"sql_condition": level_sql(level, dialect), "label_for_charts": level.label}
    if level.kind == "null":
        out["is_null_level"] = True
    if level.tf:
        out["tf_adjustment_column"] = level.tf
        out["tf_adjustment_weight"] = 1.0
        out["tf_minimum_u_value"] = 0.001 if level.kind != "exact" else 0.0
        if level.kind != "exact":
            out["disable_tf_exact_match_detection"] = True
    if level.m is not None:
        out["m_probability"] = level.m
    if level.fixed:
        out.update(u_probability=level.u, fix_m_probability=True, fix_u_probability=True)
    return out


def splink_comparisons(
    specs: tuple[ComparisonSpec, ...] | None = None, *, dialect: str = "duckdb"
) -> list[dict[str, Any]]:
    """Splink comparison dictionaries built from the descriptions.

    Args:
        specs: comparison descriptions (default: :func:`default_comparisons`).
        dialect: 'duckdb' or 'spark'.

    Returns:
        A list of Splink comparison dicts (``output_column_name``, ``comparison_levels``).
    """
    return [
        {
            "output_column_name": spec.name,
            "comparison_description": spec.description,
            "comparison_levels": [_level_dict(lv, dialect) for lv in spec.levels],
        }
        for spec in (specs or default_comparisons())
    ]


def level_labels(specs: tuple[ComparisonSpec, ...] | None = None) -> dict[str, dict[int, str]]:
    """Map comparison name -> gamma value -> level label (null level is gamma -1).

    Splink numbers the non-null levels from the most specific down to 0 (the else level).
    """
    out: dict[str, dict[int, str]] = {}
    for spec in specs or default_comparisons():
        non_null = [lv for lv in spec.levels if lv.kind != "null"]
        labels = {len(non_null) - 1 - i: lv.label for i, lv in enumerate(non_null)}
        labels[-1] = "missing"
        out[spec.name] = labels
    return out


def level_ids(specs: tuple[ComparisonSpec, ...] | None = None) -> dict[str, dict[int, str]]:
    """Map comparison name -> gamma value -> the level's stable id (null level is gamma -1).

    Example:
        >>> level_ids()["age"]
        {3: 'same', 2: 'within_2', 1: 'within_5', 0: 'different', -1: 'missing'}
    """
    out: dict[str, dict[int, str]] = {}
    for spec in specs or default_comparisons():
        non_null = [lv for lv in spec.levels if lv.kind != "null"]
        ids = {len(non_null) - 1 - i: lv.id for i, lv in enumerate(non_null)}
        ids[-1] = "missing"
        out[spec.name] = ids
    return out


def level_gammas(
    comparison: str, *, role: LevelRole = LevelRole.NONE, ids: tuple[str, ...] = (),
    specs: tuple[ComparisonSpec, ...] | None = None,
) -> list[int]:
    """Gamma values of a comparison's levels that have ``role`` or one of ``ids``.

    Example:
        >>> level_gammas("given", role=LevelRole.CROSS_SCRIPT)
        [5, 4]
    """
    spec = next((s for s in specs or default_comparisons() if s.name == comparison), None)
    if spec is None:
        return []
    non_null = [lv for lv in spec.levels if lv.kind != "null"]
    return [
        len(non_null) - 1 - i for i, lv in enumerate(non_null)
        if (role and role in lv.roles) or lv.id in ids
    ]


@functools.cache
def _default_levels() -> dict[tuple[str, str], LevelSpec]:
    return {(spec.name, lv.label): lv for spec in default_comparisons() for lv in spec.levels}


def find_level(comparison: str, label: str | None) -> LevelSpec | None:
    """The default comparisons' level that a trained model (which keeps labels only) calls ``label``.

    Extra fields' comparisons are not found (they carry no role).
    """
    return _default_levels().get((comparison, str(label)))
