"""Strata: persons' covariates, default stratification, imputation of unknown values, sparse merging.

Rules (docs/estimation.md):

* A person's covariate is the most frequent non-null value among their records (ties: the first list
  in import order). Age groups are 0-17, 18-59, 60+; period is the event's year and quarter.
* Default strata: age group (whenever some ages are known), then sex when it changes listability
  (chi-square test of sex against capture pattern, p < 0.01) and is known for half the persons.
* Unknown values are imputed several times by hot deck: each person draws the stratum of a random
  person with the same capture pattern and the same known values (else the same known values, else
  anyone known). Each imputation is estimated and the results pooled, so the interval carries it.
* Places are grouped before they stratify (:func:`place_groups`): each place is read as its
  governorate wherever the gazetteer knows it (a neighbourhood or a spelling in any script joins
  its governorate), the places are ranked by the persons documented there, and a place is its own
  group when at least ``MIN_PLACE_OVERLAP`` of its persons are on two or more lists, at most
  ``MAX_PLACES`` of them; the rest are "other places".
* A stratum is sparse when it holds fewer than ``MIN_PERSONS`` persons or fewer than
  ``MIN_OVERLAP`` persons on two or more lists. The sparsest is merged with a neighbour differing
  in one covariate (an adjacent age group or period first, else the smallest such stratum), until
  none is sparse.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from undercount.errors import ConfigError

__all__ = [
    "COVARIATES",
    "person_covariates",
    "default_strata",
    "impute_strata",
    "merge_sparse",
    "age_group",
    "place_groups",
    "group_places",
    "OTHER_PLACES",
]

COVARIATES = ("age_group", "sex", "place", "period")
AGE_GROUPS = ("0-17", "18-59", "60+")
ORDERED = {"age_group", "period"}
MIN_PERSONS = 30
MIN_OVERLAP = 5
MIN_PLACE_OVERLAP = 50  # persons on two or more lists for a place of its own (a relative error near 1/sqrt(50))
MAX_PLACES = 8
OTHER_PLACES = "other places"


def age_group(age: pd.Series) -> pd.Series:
    """0-17, 18-59, 60+ (None when unknown)."""
    out = pd.cut(pd.to_numeric(age, errors="coerce"), [-1, 17, 59, 200], labels=list(AGE_GROUPS))
    return out.astype(object).where(out.notna(), None)


def _modes_at(values: np.ndarray, position: np.ndarray, size: int) -> np.ndarray:
    """The most frequent non-null value of each of ``size`` persons (None when they have none; ties:
    the value met first), given each value's person as a position (-1: a person not asked for)."""
    out = np.full(size, None, dtype=object)
    known = np.asarray(pd.notna(values), dtype=bool) & (position >= 0)
    if not known.any():
        return out
    v_codes, v_names = pd.factorize(values[known])
    width = max(len(v_names), 1)
    pairs, first, n = np.unique(position[known].astype(np.int64) * width + v_codes, return_index=True,
                                return_counts=True)
    p, v = pairs // width, pairs % width
    order = np.lexsort((first, -n, p))  # per person: most frequent first, then the first met
    best = order[np.r_[True, p[order][1:] != p[order][:-1]]]
    out[p[best]] = np.asarray(v_names, dtype=object)[v[best]]
    return out


def person_covariates(records: pd.DataFrame, persons: pd.Index) -> pd.DataFrame:
    """Per person: age_group, sex, place, period (most frequent non-null value of their records).

    Args:
        records: record rows with person_id and any of age, sex, place, event_date.
        persons: the persons (index of the capture matrix).

    Returns:
        DataFrame indexed like ``persons`` with the four covariates (None when unknown).
    """
    out = pd.DataFrame(index=persons)
    position = persons.get_indexer(pd.Index(records["person_id"]))  # once for the four covariates
    dates = pd.to_datetime(records["event_date"], errors="coerce") if "event_date" in records else None
    fields = {
        "age_group": age_group(records["age"]) if "age" in records else None,
        "sex": records["sex"] if "sex" in records else None,
        "place": records["place"] if "place" in records else None,
        "period": dates.dt.to_period("Q").astype(str).where(dates.notna(), None) if dates is not None else None,
    }
    for name, values in fields.items():
        column = np.full(len(persons), None, dtype=object) if values is None else \
            _modes_at(pd.Series(values).to_numpy(), position, len(persons))
        out[name] = pd.Series(column, index=persons, dtype=object)
    return out


def _pattern(matrix: pd.DataFrame) -> np.ndarray:
    codes: np.ndarray = (matrix.to_numpy(dtype=np.int64) << np.arange(matrix.shape[1])[None, :]).sum(axis=1)
    return codes


def _independence_p(observed: np.ndarray) -> float:
    """Pearson's chi-square test of independence in a two-way table (Yates' correction with one
    degree of freedom), as scipy.stats.chi2_contingency, without importing scipy.stats."""
    observed = observed.astype(float)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / observed.sum()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return float(special.chdtrc(dof, statistic))


def default_strata(matrix: pd.DataFrame, covariates: pd.DataFrame) -> tuple[list[str], str]:
    """The default stratifying covariates and why (see the module's rules)."""
    by: list[str] = []
    notes = []
    known_age = covariates["age_group"].notna().mean() if len(covariates) else 0.0
    if known_age > 0:
        by.append("age_group")
        notes.append(f"age group (known for {known_age:.0%} of persons; children are listed differently)")
    sex = covariates["sex"]
    if len(covariates) and sex.notna().mean() >= 0.5 and sex.dropna().nunique() > 1:
        known = sex.notna().to_numpy()
        tab = pd.crosstab(sex[known].to_numpy(), _pattern(matrix)[known])
        p = _independence_p(tab.to_numpy()) if tab.shape[0] > 1 and tab.shape[1] > 1 else 1.0
        if p < 0.01:
            by.append("sex")
            notes.append(f"sex (changes listability, chi-square p = {p:.2g})")
    return by, "; ".join(notes) if notes else "no covariate recorded: no strata"


def parse_by(text: str | Sequence[str] | None) -> list[str] | None:
    """``None`` (default rule), ``[]`` for 'none', or the named covariates.

    Raises:
        ConfigError: an unknown covariate.
    """
    if text is None:
        return None
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if items in (["none"], []):
        return []
    bad = [t for t in items if t not in COVARIATES]
    if bad:
        raise ConfigError(f"--by {','.join(bad)}: use none or any of {', '.join(COVARIATES)}")
    return list(dict.fromkeys(items))


def impute_strata(
    matrix: pd.DataFrame, covariates: pd.DataFrame, by: list[str], *, m: int, rng: np.random.Generator
) -> list[pd.Series]:
    """``m`` imputed stratum labels per person (one Series per imputation; 1 when nothing is unknown).

    Labels read like ``age_group=0-17|sex=female``; with no ``by`` every label is 'total'.
    """
    if not by:
        return [pd.Series("total", index=matrix.index)]
    values = covariates[by].copy()
    unknown = values.isna().any(axis=1).to_numpy()
    if not unknown.any():
        return [_labels(values, by)]
    pattern = _pattern(matrix)
    donors_all = np.flatnonzero(~unknown)
    if len(donors_all) == 0:
        return [pd.Series("total", index=matrix.index)]
    known_key = _labels(values.astype(object).where(values.notna(), "?"), by).to_numpy()
    groups = []  # the persons of one capture pattern and known values, and their donors: the same in every imputation
    for _, idx in pd.Series(np.arange(len(values))[unknown]).groupby([pattern[unknown], known_key[unknown]]):
        rows = idx.to_numpy()
        groups.append((rows, _donors(values, donors_all, pattern, rows[0], int(pattern[rows[0]]), by)))
    given = values.to_numpy(dtype=object)
    out = []
    for _ in range(max(m, 1)):
        filled = given.copy()
        for rows, pool in groups:
            filled[rows] = given[rng.choice(pool, size=len(rows), replace=True)]
        out.append(_labels(pd.DataFrame({c: filled[:, j] for j, c in enumerate(by)}, index=values.index, dtype=object),
                           by))
    return out


def _donors(values: pd.DataFrame, donors: np.ndarray, pattern: np.ndarray, row: int, pat: int,
            by: list[str]) -> np.ndarray:
    target = values.iloc[row]
    match = np.ones(len(donors), dtype=bool)
    for col in by:
        if target[col] is not None and not pd.isna(target[col]):
            match &= (values[col].to_numpy()[donors] == target[col])
    same = match & (pattern[donors] == pat)
    for mask in (same, match):
        if mask.any():
            return donors[mask]
    return donors


def _labels(values: pd.DataFrame, by: list[str]) -> pd.Series:
    """Each row's stratum label, 'age_group=18-59|sex=male' (each distinct combination written once)."""
    if not by:
        return pd.Series([""] * len(values), index=values.index, dtype=object)
    codes = np.zeros(len(values), dtype=np.int64)
    uniques = []
    for c in by:
        column = values[c].astype(object)
        code, unique = pd.factorize(column)
        texts = [f"{c}={v}" for v in unique]
        missing = code < 0
        if missing.any():  # None, nan and pd.NA are written as they are
            extra, at = np.unique(np.asarray([f"{c}={v}" for v in column.to_numpy()[missing]], dtype=object),
                                  return_inverse=True)
            code = code.copy()
            code[missing] = len(texts) + at.reshape(-1)
            texts += [str(t) for t in extra]
        codes = codes * len(texts) + code
        uniques.append(texts)
    combos, inverse = np.unique(codes, return_inverse=True)
    text = []
    for combo in combos.tolist():
        parts = []
        for written in reversed(uniques):
            combo, at = divmod(combo, len(written))
            parts.append(written[at])
        text.append("|".join(reversed(parts)))
    return pd.Series(np.asarray(text, dtype=object)[inverse.reshape(-1)], index=values.index, dtype=object)


def _neighbour_order(label: str, other: str) -> tuple[int, int]:
    """Rank of a merge candidate: adjacent ordered values first."""
    a = dict(part.split("=", 1) for part in label.split("|"))
    b = dict(part.split("=", 1) for part in other.split("|"))
    diff = [k for k in a if a[k] != b.get(k)]
    if len(diff) != 1:
        return (9, 0)
    key = diff[0]
    if key == "age_group":
        va = [AGE_GROUPS.index(v) for v in a[key].split("+") if v in AGE_GROUPS]
        vb = [AGE_GROUPS.index(v) for v in b[key].split("+") if v in AGE_GROUPS]
        gap = min((abs(x - y) for x in va for y in vb), default=9)
        return (0 if gap == 1 else 1, gap)
    return (1 if key in ORDERED else 2, 0)


def merge_sparse(matrix: pd.DataFrame, labels: pd.Series) -> tuple[dict[str, str], dict[str, str]]:
    """Merge sparse strata into neighbours; return label -> merged label and label -> reason."""
    mapping = {lab: lab for lab in labels.unique()}
    reasons: dict[str, str] = {}
    multi = (matrix.sum(axis=1) >= 2).to_numpy()
    while True:
        current = labels.map(mapping)
        size = current.value_counts()
        overlap = pd.Series(multi, index=current.index).groupby(current.to_numpy()).sum()
        sparse = [s for s in size.index if size[s] < MIN_PERSONS or overlap.get(s, 0) < MIN_OVERLAP]
        if not sparse or len(size) < 2:
            return mapping, reasons
        worst = min(sparse, key=lambda s: (size[s], s))
        others = [s for s in size.index if s != worst]
        target = min(others, key=lambda s: (*_neighbour_order(worst, s), size[s], s))
        merged = _merge_label(worst, target)
        why = f"too sparse ({size[worst]} persons, {int(overlap.get(worst, 0))} on two or more lists); merged into {merged}"
        for lab, cur in mapping.items():
            if cur in (worst, target):
                if cur == worst or lab == worst:
                    reasons[lab] = why
                mapping[lab] = merged


def _merge_label(a: str, b: str) -> str:
    pa = dict(part.split("=", 1) for part in a.split("|"))
    pb = dict(part.split("=", 1) for part in b.split("|"))
    out = []
    for key in pa:
        vals = list(dict.fromkeys(pa[key].split("+") + pb.get(key, pa[key]).split("+")))
        if key == "age_group":
            vals.sort(key=lambda v: AGE_GROUPS.index(v) if v in AGE_GROUPS else 9)
        else:
            vals.sort()
        out.append(f"{key}={'+'.join(vals)}")
    return "|".join(out)


def _place_levels(value: str) -> tuple[str, str]:
    """A place as its governorate (where the gazetteer knows it, else as written) and as its locality."""
    from undercount.incidents.places import resolve_place

    resolved = resolve_place(value)
    place = resolved.place or " ".join(value.split())
    return resolved.adm1 or place, place


def place_groups(places: pd.Series, matrix: pd.DataFrame) -> dict[str, str]:
    """Each recorded place's group for estimation: one of the top places, or "other places".

    Lists write places in several scripts and at several levels (a neighbourhood, a camp, a
    governorate), and most of them hold too few people to estimate. Each place is read as its
    governorate where the gazetteer knows it (:func:`undercount.incidents.places.resolve_place`:
    "مخيم جباليا" and "Jabalia camp" are North Gaza); the governorates are ranked by the persons
    documented there, and one is its own group when at least ``MIN_PLACE_OVERLAP`` of its persons
    are on two or more lists (enough for an estimate with an interval), at most ``MAX_PLACES``; the
    rest become :data:`OTHER_PLACES`. When fewer than two governorates qualify, the places
    themselves (localities) are ranked by the same rule.

    Args:
        places: each person's place (None when unknown), indexed like ``matrix``.
        matrix: persons x lists 0/1.

    Returns:
        place as recorded -> its group.

    Example:
        >>> m = pd.DataFrame({"a": [1] * 120, "b": [1] * 60 + [0] * 60})
        >>> p = pd.Series(["Rafah"] * 60 + ["رفح"] * 10 + ["Beit Lahia"] * 50)
        >>> sorted(set(place_groups(p, m).values()))
        ['Rafah', 'other places']
    """
    multi = pd.Series((matrix.to_numpy().sum(axis=1) >= 2), index=matrix.index)
    known = places.notna()
    values = places[known].astype(str)
    levels = {v: _place_levels(v) for v in values.unique()}
    best: dict[str, str] = {}
    for level in (0, 1):
        group = values.map(lambda v: levels[v][level])  # noqa: B023 - applied at once
        counts = pd.DataFrame({"group": group, "multi": multi[known].to_numpy()}).groupby("group").agg(
            persons=("multi", "size"), overlap=("multi", "sum"))
        counts = counts.sort_values(["persons", "overlap"], ascending=False, kind="stable")
        kept = [str(g) for g in counts.index[counts["overlap"] >= MIN_PLACE_OVERLAP][:MAX_PLACES]]
        best = {v: levels[v][level] if levels[v][level] in kept else OTHER_PLACES for v in levels}
        if len(kept) >= 2:
            break
    return best


def group_places(places: pd.Series, groups: dict[str, str]) -> pd.Series:
    """Each person's place group (:func:`place_groups`); a place the groups do not know is "other places"."""
    return places.map(lambda v: None if v is None or pd.isna(v) else groups.get(str(v), OTHER_PLACES)).astype(object)
