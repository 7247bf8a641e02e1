"""One incident, many reports: deduplicate incident reports across sources.

Reports are compared pair by pair as persons are (Fellegi and Sunter 1969, the model Splink
implements): each comparison gives a level, each level a weight log2(m/u), where m is the chance
of the level for two reports of one incident and u for two reports of different incidents.

* Candidate pairs: dates within ``window`` days of each other (a month-precise report overlaps
  every day of its month) in the same first-level area (or an unknown one), plus every pair of
  rows of one source with the same incident code.
* Comparisons: date (same day, overlapping coarse dates, 1 day, 2-3 days apart, further), place
  (same point: coordinates within 300 m; same spot: coordinates within 1 km, a point inside the
  other's locality (1 km of its centre), or the same locality; near: within 3 km; two different
  localities named; same area only; far within the area; another area),
  object type (same, related such as a school used as a shelter, different), reported killed
  (the same number, ranges overlap, close: within 2 or a factor 1.5, far), reported injured (the same
  levels), the families whose homes were hit (one named by both, none),
  the victims the reports name (one shared, none shared: given and family name compared by
  transliteration key), and the source's own incident code (same source and code, same source and another code).
* u is estimated from random pairs of the case's reports (as Splink's
  ``estimate_u_using_random_sampling``); m and the share of matching pairs by expectation
  maximisation over the candidate pairs, starting from documented priors.
* Pairs at or above ``threshold`` are joined strongest first, except pairs that agree on nothing
  more specific than a date, a governorate and an object type (:func:`area_only`: they wait for
  a reviewer); a join is refused when it would
  put two codes of one source, dates further apart than the window, reports naming families
  with none in common, or two reports that contradict each other (unrelated object types, or places
  more than 3 km apart, with no victim, code or family in common: :func:`contradicts`) into one
  incident, or cross a reviewer's "different" decision; "same" decisions are applied first and always hold.

Each run stores its pairs (with their evidence), the clusters and the incidents with their
merged values and grades (:mod:`undercount.incidents.grading`), tagged with the run id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, StoreError
from undercount.incidents.files import ensure_schema, table_exists
from undercount.incidents.grading import actor_claims, grade_incident, independent_sources
from undercount.incidents.places import LOCALITIES, LOCALITY_RADIUS_KM
from undercount.incidents.reports import compact_key
from undercount.incidents.vocab import related_objects
from undercount.ingest.columns import fold

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["DedupeOptions", "DedupeResult", "dedupe_incidents", "compare_reports", "COMPARISONS", "read_reports",
           "current_dedupe_run", "cluster_reports", "merge_incident", "area_only", "SPECIFIC",
           "contradicts"]

#: Comparison -> levels (in order) and the prior m of each level.
COMPARISONS: dict[str, dict[str, float]] = {
    "date": {"same_day": 0.78, "overlap": 0.08, "one_day": 0.10, "two_three_days": 0.03, "further": 0.01},
    "place": {"same_point": 0.3, "same_spot": 0.35, "near": 0.1, "other_locality": 0.02, "same_area": 0.2,
              "far": 0.02, "other_area": 0.01},
    "object": {"same": 0.85, "related": 0.1, "different": 0.05},
    "killed": {"exact": 0.4, "overlap": 0.35, "close": 0.2, "far": 0.05},
    "injured": {"exact": 0.3, "overlap": 0.35, "close": 0.25, "far": 0.1},
    "family": {"same": 0.95, "different": 0.05},
    "victims": {"shared": 0.9, "none_shared": 0.1},
    "code": {"same_code": 0.98, "other_code": 0.02},
}
_FIXED = {"code"}  # levels with their meaning built in: not re-estimated
MIN_EM_PAIRS = 200  # fewer candidate pairs: the priors are used, with the u below for tiny cases
PRIOR_SHARE = 0.2   # share of matches among candidate pairs assumed without estimation
POINT_KM = 0.3      # two coordinates this close are one spot (geolocated strikes are placed to about 100 m)


@dataclass(frozen=True)
class DedupeOptions:
    """Settings of a deduplication run.

    Attributes:
        threshold: match probability at or above which two reports are one incident.
        window: days two reports' dates may differ and still describe one incident.
        em_iterations: rounds of expectation maximisation for m and the share of matches (0: priors).
        u_sample: random pairs drawn to estimate u.
        seed: seed of the random pairs.
    """

    threshold: float = 0.5
    window: int = 3
    em_iterations: int = 25
    u_sample: int = 20_000
    seed: int = 0

    def check(self) -> DedupeOptions:
        """Return self, or raise ConfigError for impossible values."""
        if not 0 < self.threshold < 1:
            raise ConfigError("the threshold must be strictly between 0 and 1")
        if self.window < 0 or self.window > 60:
            raise ConfigError("the date window must be 0 to 60 days")
        if self.em_iterations < 0 or self.u_sample < 100 or self.seed < 0:
            raise ConfigError("em_iterations must be 0 or more, u_sample 100 or more and the seed 0 or more")
        return self


@dataclass(frozen=True)
class DedupeResult:
    """What a deduplication run did.

    Attributes:
        run_id: the run; reports, incidents, pairs: counts; merged: reports folded into another.
        grades: incidents per grade; m, u: the weights used per comparison level; share: estimated
        share of matching pairs among candidates; waiting: undecided pairs inside the review band.
    """

    run_id: str
    reports: int
    incidents: int
    pairs: int
    merged: int
    grades: dict[str, int]
    waiting: int
    share: float
    m: dict[str, dict[str, float]] = field(default_factory=dict)
    u: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


# -- reading ------------------------------------------------------------------------------------
def read_reports(case: Case) -> pd.DataFrame:
    """Every incident report of the case (empty when none was imported)."""
    if not table_exists(case, "uc_incident_reports"):
        return pd.DataFrame()
    frame = case.query("SELECT * EXCLUDE (raw) FROM uc_incident_reports ORDER BY report_id")
    for col in ("date_start", "date_end", "reported_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def current_dedupe_run(case: Case) -> str | None:
    """The newest complete deduplication run, or None."""
    return case.current_run("incident-dedupe")


# -- comparisons --------------------------------------------------------------------------------
def _text_codes(values: pd.Series, fold_text: bool = True) -> np.ndarray:
    """Integer codes of text values (folded), -1 for missing."""
    texts = values.map(lambda v: (fold(v) if fold_text else v) if isinstance(v, str) and v.strip() else None)
    codes, _ = pd.factorize(texts, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


@dataclass(frozen=True)
class _Arrays:
    """The report columns the comparisons need, as numpy arrays."""

    start: np.ndarray
    end: np.ndarray
    day: np.ndarray
    adm: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    radius: np.ndarray
    locality: np.ndarray
    place_fine: np.ndarray
    finer: np.ndarray
    obj: np.ndarray
    obj_names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    hurt_low: np.ndarray
    hurt_high: np.ndarray
    family: list[frozenset[str]]
    victims: list[frozenset[str]]
    source: np.ndarray
    code: np.ndarray

    @classmethod
    def of(cls, reports: pd.DataFrame) -> _Arrays:
        lat = pd.to_numeric(reports["lat"], errors="coerce").to_numpy(dtype=float).copy()
        lon = pd.to_numeric(reports["lon"], errors="coerce").to_numpy(dtype=float).copy()
        radius = np.where(np.isnan(lat), np.nan, 0.0)
        for i, locality in enumerate(reports["locality"]):
            if np.isnan(lat[i]) and isinstance(locality, str) and locality in LOCALITIES:
                _, lat[i], lon[i], _ = LOCALITIES[locality]
                radius[i] = LOCALITY_RADIUS_KM
        level = pd.to_numeric(reports["admin_level"], errors="coerce").fillna(0).to_numpy()
        fine = reports["place"].where(level >= 3)
        objects, names = pd.factorize(reports["object_type"], use_na_sentinel=True)
        low = pd.to_numeric(reports["killed_min"], errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(reports["killed_max"], errors="coerce").to_numpy(dtype=float)
        known = ~(np.isnan(low) & np.isnan(high))
        hlow = pd.to_numeric(reports["injured_min"], errors="coerce").to_numpy(dtype=float)
        hhigh = pd.to_numeric(reports["injured_max"], errors="coerce").to_numpy(dtype=float)
        hknown = ~(np.isnan(hlow) & np.isnan(hhigh))
        return cls(
            start=reports["date_start"].to_numpy(dtype="datetime64[D]").astype(np.int64),
            end=reports["date_end"].to_numpy(dtype="datetime64[D]").astype(np.int64),
            day=reports["date_precision"].eq("day").to_numpy(dtype=bool),
            adm=_text_codes(reports["adm1"]), lat=lat, lon=lon, radius=radius,
            locality=_text_codes(reports["locality"], fold_text=False), place_fine=_text_codes(fine),
            finer=reports["locality"].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            | ~np.isnan(pd.to_numeric(reports["lat"], errors="coerce").to_numpy(dtype=float)),
            obj=np.asarray(objects, dtype=np.int64), obj_names=tuple(str(n) for n in names),
            low=np.where(known, np.nan_to_num(low, nan=0.0), np.nan), high=np.where(known, np.nan_to_num(high, nan=np.inf), np.nan),
            hurt_low=np.where(hknown, np.nan_to_num(hlow, nan=0.0), np.nan),
            hurt_high=np.where(hknown, np.nan_to_num(hhigh, nan=np.inf), np.nan),
            family=[frozenset(compact_key(k) for k in keys) for keys in _key_sets(reports["family_keys"])],
            victims=_key_sets(reports["victim_keys"]),
            source=_text_codes(reports["source_name"]),
            code=_text_codes(reports["code"]),
        )


def _key_sets(values: pd.Series) -> list[frozenset[str]]:
    return [frozenset(str(k) for k in v) if isinstance(v, (list, tuple, np.ndarray)) else frozenset() for v in values]


def _haversine(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    result: np.ndarray = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def _choose(n: int, conditions: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """The level of each pair: the first condition that holds (None where none does)."""
    out = np.full(n, None, dtype=object)
    done = np.zeros(n, dtype=bool)
    for mask, level in conditions:
        take = mask & ~done
        out[take] = level
        done |= take
    return out


def _compare(x: _Arrays, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """The level of each comparison for report pairs (a[i], b[i]) (positions into ``x``)."""
    n = len(a)
    gap = np.maximum(0, np.maximum(x.start[b] - x.end[a], x.start[a] - x.end[b]))
    days = x.day[a] & x.day[b]
    date = _choose(n, [((gap == 0) & days, "same_day"), (gap == 0, "overlap"), (gap <= 1, "one_day"),
                       (gap <= 3, "two_three_days"), (gap > 3, "further")])
    both_adm = (x.adm[a] >= 0) & (x.adm[b] >= 0)
    located = ~np.isnan(x.lat[a]) & ~np.isnan(x.lat[b])
    # Coordinates against coordinates: their distance; against a locality's centre: the distance
    # beyond the locality's radius; two localities: the same one, or their centres' distance.
    both_points = located & (x.radius[a] == 0) & (x.radius[b] == 0)
    one_point = located & ((x.radius[a] == 0) != (x.radius[b] == 0))
    raw = np.where(located, _haversine(x.lat[a], x.lon[a], x.lat[b], x.lon[b]), np.inf)
    beyond = raw - np.where(one_point, np.nan_to_num(x.radius[a]) + np.nan_to_num(x.radius[b]), 0.0)
    same_locality = (x.locality[a] >= 0) & (x.locality[a] == x.locality[b])
    same_fine = (x.place_fine[a] >= 0) & (x.place_fine[a] == x.place_fine[b])
    place = _choose(n, [(both_adm & (x.adm[a] != x.adm[b]), "other_area"),
                        (both_points & (raw <= POINT_KM), "same_point"),
                        (both_points & (raw <= 1.0) | one_point & (beyond <= 0.0), "same_spot"),
                        (both_points & (raw <= 3.0) | one_point & (beyond <= 2.0), "near"),
                        (both_points | one_point, "far"),
                        (same_locality | same_fine, "same_spot"),
                        ((x.locality[a] >= 0) & (x.locality[b] >= 0), "other_locality"),
                        (located & (raw <= 3.0), "near"), (located, "far"),
                        (both_adm & x.finer[a] & x.finer[b], "far"), (both_adm, "same_area")])
    oa, ob = x.obj[a], x.obj[b]
    known = (oa >= 0) & (ob >= 0)
    k = len(x.obj_names)
    table = np.array([[related_objects(p, q) for q in x.obj_names] for p in x.obj_names], dtype=bool).reshape(k, k)
    related = known & table[np.maximum(oa, 0), np.maximum(ob, 0)] if k else np.zeros(n, dtype=bool)
    obj = _choose(n, [(known & (oa == ob), "same"), (related, "related"), (known, "different")])
    killed = _counts(x.low[a], x.high[a], x.low[b], x.high[b])
    injured = _counts(x.hurt_low[a], x.hurt_high[a], x.hurt_low[b], x.hurt_high[b])
    fam = np.array([bool(x.family[i]) and bool(x.family[j]) for i, j in zip(a, b)], dtype=bool)
    same_family = np.array([bool(x.family[i] & x.family[j]) for i, j in zip(a, b)], dtype=bool)
    family = _choose(n, [(same_family, "same"), (fam, "different")])
    listed = np.array([bool(x.victims[i]) and bool(x.victims[j]) for i, j in zip(a, b)], dtype=bool)
    shared = np.array([bool(x.victims[i] & x.victims[j]) for i, j in zip(a, b)], dtype=bool)
    victims = _choose(n, [(shared, "shared"), (listed, "none_shared")])
    coded = (x.source[a] >= 0) & (x.source[a] == x.source[b]) & (x.code[a] >= 0) & (x.code[b] >= 0)
    code = _choose(n, [(coded & (x.code[a] == x.code[b]), "same_code"), (coded, "other_code")])
    return pd.DataFrame({"date": date, "place": place, "object": obj, "killed": killed, "injured": injured, "family": family,
                         "victims": victims, "code": code})


def _counts(low_a: np.ndarray, high_a: np.ndarray, low_b: np.ndarray, high_b: np.ndarray) -> np.ndarray:
    """The level of two reported counts (ranges low-high): exact, overlap, close (within 2, or a factor 1.5), far."""
    counted = ~np.isnan(low_a) & ~np.isnan(low_b)
    with np.errstate(invalid="ignore"):
        overlap = counted & (low_a <= high_b) & (low_b <= high_a)
        gap_k = np.maximum(low_a, low_b) - np.minimum(high_a, high_b)
        small = np.maximum(1.0, np.minimum(high_a, high_b))
        close = counted & ((gap_k <= 2) | (np.maximum(low_a, low_b) <= 1.5 * small))
    exact = counted & (low_a == high_a) & (low_b == high_b) & (low_a == low_b)
    return _choose(len(low_a), [(exact, "exact"), (overlap, "overlap"), (close, "close"), (counted, "far")])


def compare_reports(reports: pd.DataFrame, first: int, second: int) -> dict[str, str | None]:
    """The level of each comparison of two reports (None: cannot be compared).

    Args:
        reports: rows of :func:`read_reports`.
        first, second: the two reports' report_id.

    Returns:
        Comparison -> level (see :data:`COMPARISONS`).
    """
    ids = reports["report_id"].tolist()
    levels = _compare(_Arrays.of(reports), np.array([ids.index(first)]), np.array([ids.index(second)]))
    return {str(k): (None if v is None else str(v)) for k, v in levels.iloc[0].items()}


def _candidates(reports: pd.DataFrame, window: int) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # it would print into --json output
        con.register("r", reports[["report_id", "date_start", "date_end", "adm1", "source_name", "code"]])
        return con.execute(f"""
            SELECT l.report_id AS report_id_l, r.report_id AS report_id_r FROM r l JOIN r r
              ON l.report_id < r.report_id
             AND ((r.date_start <= l.date_end + INTERVAL {int(window)} DAY
                   AND l.date_start <= r.date_end + INTERVAL {int(window)} DAY
                   AND (l.adm1 IS NULL OR r.adm1 IS NULL OR l.adm1 = r.adm1))
               OR (lower(trim(l.source_name)) = lower(trim(r.source_name)) AND l.code IS NOT NULL
                   AND lower(trim(l.code)) = lower(trim(r.code))))
            ORDER BY 1, 2""").df()
    finally:
        con.close()


#: Levels that place two reports, or tie them, beyond a date, a governorate and an object type.
SPECIFIC = {"place": ("same_point", "same_spot", "near"), "killed": ("exact", "overlap", "close"), "family": ("same",),
            "victims": ("shared",), "code": ("same_code",)}


def area_only(levels: pd.DataFrame) -> np.ndarray:
    """Pairs that agree on nothing more specific than a date, a governorate and an object type.

    On most days several strikes hit each governorate, most of them in no file of the case: a
    report saying only "a home in Khan Younis on 18 October" fits each of them as well as the
    incident another source describes, so such a pair is not joined without a reviewer.
    """
    specific = np.zeros(len(levels), dtype=bool)
    for comp, good in SPECIFIC.items():
        if comp in levels:
            specific |= levels[comp].isin(good).to_numpy()
    return ~specific


def contradicts(levels: pd.DataFrame) -> np.ndarray:
    """Pairs that describe two incidents whatever their probability: the objects hit are of unrelated
    types (a home and a hospital, an aid distribution and a home), or the places are far apart (more
    than 3 km, or another governorate), and no victim, code or family ties the two reports.

    An incident is one object at one place: sources that disagree on it give related types (a school
    used as a shelter, :func:`undercount.incidents.vocab.related_objects`) or places near each other.
    A contradicted pair is never joined, nor are the incidents that hold its two reports (reports
    joined one by one could otherwise chain two strikes of a day and a governorate into one).
    """
    tied = np.zeros(len(levels), dtype=bool)
    for comp, good in (("victims", ("shared",)), ("code", ("same_code",)), ("family", ("same",))):
        if comp in levels:
            tied |= levels[comp].isin(good).to_numpy()
    unrelated = levels["object"].eq("different").to_numpy() if "object" in levels else np.zeros(len(levels), bool)
    apart = levels["place"].isin(("far", "other_area")).to_numpy() if "place" in levels else np.zeros(len(levels), bool)
    out: np.ndarray = (unrelated | apart) & ~tied
    return out


def _levels(reports: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    position = pd.Series(np.arange(len(reports)), index=reports["report_id"].to_numpy())
    a = position.reindex(pairs["report_id_l"].to_numpy()).to_numpy()
    b = position.reindex(pairs["report_id_r"].to_numpy()).to_numpy()
    levels = _compare(_Arrays.of(reports), a, b)
    levels.index = pairs.index
    return levels


def _estimate_u(reports: pd.DataFrame, options: DedupeOptions) -> dict[str, dict[str, float]]:
    """u of each level: its frequency among random pairs of reports, lightly smoothed."""
    n = len(reports)
    rng = np.random.default_rng(options.seed)
    size = min(options.u_sample, n * (n - 1) // 2)
    a = rng.integers(0, n, size=size)
    b = rng.integers(0, n, size=size)
    keep = a != b
    pairs = pd.DataFrame({"report_id_l": reports["report_id"].to_numpy()[a[keep]],
                          "report_id_r": reports["report_id"].to_numpy()[b[keep]]})
    levels = _levels(reports, pairs) if len(pairs) else pd.DataFrame(columns=list(COMPARISONS))
    u: dict[str, dict[str, float]] = {}
    for comp, prior in COMPARISONS.items():
        counts = levels[comp].value_counts() if comp in levels else pd.Series(dtype=float)
        total = float(counts.sum())
        u[comp] = {lvl: (float(counts.get(lvl, 0)) + 0.5) / (total + 0.5 * len(prior)) for lvl in prior}
    return u


def _weights(levels: pd.DataFrame, table: dict[str, dict[str, float]]) -> np.ndarray:
    """Sum over comparisons of log(probability of the pair's level) (0 where not compared)."""
    total = np.zeros(len(levels))
    for comp, probs in table.items():
        values = levels[comp].map(probs)
        total += np.log(values.astype(float).fillna(1.0).to_numpy())
    return total


_BLOCKED = ("date", "place")  # the candidate pairs were chosen on these: their u is re-estimated among candidates


def _share(levels: pd.DataFrame, comp: str, lvl: str, weights: np.ndarray, prior: float) -> float:
    col = levels[comp]
    seen = col.notna().to_numpy()
    mass = float(weights[seen].sum())
    return (float(weights[(col == lvl).to_numpy()].sum()) + 5 * prior) / (mass + 5)


def _em(levels: pd.DataFrame, u: dict[str, dict[str, float]], options: DedupeOptions
        ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], float]:
    """m, u and the share of matches among candidate pairs, by expectation maximisation.

    u of the comparisons the candidates were chosen on (date, place) is estimated among the
    candidates too, since random pairs say nothing about pairs already close in date and place;
    u of the others stays as estimated from random pairs. Levels whose meaning is fixed (incident
    codes) keep their priors.
    """
    m = {c: dict(p) for c, p in COMPARISONS.items()}
    u = {c: dict(p) for c, p in u.items()}
    for comp in _BLOCKED:
        u[comp] = {lvl: _share(levels, comp, lvl, np.ones(len(levels)), 1 / len(m[comp])) for lvl in m[comp]}
    share = 0.2
    for _ in range(options.em_iterations):
        _, p = _probabilities(levels, m, u, share)
        new_share = float(np.clip(p.mean(), 1e-4, 0.95))
        new_m = {c: (dict(prior) if c in _FIXED else {lvl: _share(levels, c, lvl, p, prior[lvl]) for lvl in prior})
                 for c, prior in COMPARISONS.items()}
        for comp in _BLOCKED:
            u[comp] = {lvl: _share(levels, comp, lvl, 1 - p, u[comp][lvl]) for lvl in m[comp]}
        change = abs(new_share - share) + max(abs(new_m[c][k] - m[c][k]) for c in m for k in m[c])
        m, share = new_m, new_share
        if change < 1e-6:
            break
    return m, u, share


def _probabilities(levels: pd.DataFrame, m: dict[str, dict[str, float]], u: dict[str, dict[str, float]],
                   share: float) -> tuple[np.ndarray, np.ndarray]:
    weight = (_weights(levels, m) - _weights(levels, u)) / math.log(2)
    prior = math.log2(share / (1 - share))
    total = np.clip(weight + prior, -60, 60)
    return weight, 2.0 ** total / (1.0 + 2.0 ** total)


# -- clustering ---------------------------------------------------------------------------------
class _Groups:
    """Union-find of reports with what the guard checks: codes per source, date span, cannot-links."""

    def __init__(self, reports: pd.DataFrame, window: int) -> None:
        ids = reports["report_id"].tolist()
        self.index = {rid: i for i, rid in enumerate(ids)}
        n = len(ids)
        self.parent = list(range(n))
        self.members: list[list[int]] = [[i] for i in range(n)]
        self.codes: list[dict[str, set[str]]] = []
        for src, code in zip(reports["source_name"], reports["code"]):
            self.codes.append({fold(str(src)): {fold(code)}} if isinstance(code, str) else {})
        day = reports["date_precision"].eq("day").to_numpy()
        starts = reports["date_start"].to_numpy(dtype="datetime64[D]")
        self.span = [(s, s) if d else None for s, d in zip(starts, day)]
        self.cannot: list[set[int]] = [set() for _ in range(n)]
        self.families: list[set[str]] = [set(compact_key(str(k)) for k in v) if isinstance(v, (list, tuple, np.ndarray)) else set()
                                         for v in (reports["family_keys"] if "family_keys" in reports else [None] * n)]
        self.window = np.timedelta64(window, "D")

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def allowed(self, a: int, b: int) -> bool:
        if self.cannot[a] & set(self.members[b]) or self.cannot[b] & set(self.members[a]):
            return False
        for src, codes in self.codes[a].items():
            if src in self.codes[b] and self.codes[b][src] != codes:
                return False
        sa, sb = self.span[a], self.span[b]
        if sa is not None and sb is not None and max(sa[1], sb[1]) - min(sa[0], sb[0]) > self.window:
            return False
        if self.families[a] and self.families[b] and not self.families[a] & self.families[b]:
            return False  # the reports name different families: different homes
        return True

    def union(self, a: int, b: int) -> None:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a] += self.members[b]
        for src, codes in self.codes[b].items():
            self.codes[a].setdefault(src, set()).update(codes)
        sa, sb = self.span[a], self.span[b]
        self.span[a] = sb if sa is None else sa if sb is None else (min(sa[0], sb[0]), max(sa[1], sb[1]))
        self.cannot[a] |= self.cannot[b]
        self.families[a] |= self.families[b]
        self.members[b], self.codes[b], self.cannot[b], self.families[b] = [], {}, set(), set()


def cluster_reports(reports: pd.DataFrame, pairs: pd.DataFrame, *, threshold: float, window: int,
                    decisions: pd.DataFrame | None = None) -> pd.Series:
    """The incident id of each report: joins pairs at or above the threshold, strongest first.

    Args:
        reports: report_id, source_name, code, date_start, date_precision.
        pairs: report_id_l, report_id_r, probability, and optionally area_only (True: never joined
            without a reviewer's "same", see :func:`area_only`) and contradicts (True: the two reports,
            and the incidents holding them, are never joined without a reviewer's "same", see
            :func:`contradicts`).
        threshold: the match probability that joins two reports.
        window: the widest span, in days, of the day-precise dates of one incident.
        decisions: report_id_l, report_id_r, decision (same | different) of reviewers, or None.

    Returns:
        'I' + zero-padded smallest report_id of each report's incident, indexed by report_id.
    """
    groups = _Groups(reports, window)
    idx = groups.index
    decided = decisions if decisions is not None else pd.DataFrame(columns=["report_id_l", "report_id_r", "decision"])
    decided = decided[decided["report_id_l"].isin(idx) & decided["report_id_r"].isin(idx)]
    apart = [decided.loc[decided["decision"] == "different", c] for c in ("report_id_l", "report_id_r")]
    if "contradicts" in pairs:  # two objects or two places: never one incident (unless a reviewer says "same")
        held = pairs[pairs["contradicts"].astype(bool)]
        apart = [pd.concat([apart[0], held["report_id_l"]]), pd.concat([apart[1], held["report_id_r"]])]
    for a, b in zip(*apart):
        groups.cannot[idx[a]].add(idx[b])
        groups.cannot[idx[b]].add(idx[a])
    for a, b in zip(*(decided.loc[decided["decision"] == "same", c] for c in ("report_id_l", "report_id_r"))):
        ra, rb = groups.find(idx[a]), groups.find(idx[b])
        if ra != rb:
            groups.union(ra, rb)
    joinable = pairs["probability"] >= threshold
    if "area_only" in pairs:
        joinable &= ~pairs["area_only"].astype(bool)
    strong = pairs[joinable].sort_values(
        ["probability", "report_id_l", "report_id_r"], ascending=[False, True, True], kind="stable")
    for a, b in zip(strong["report_id_l"], strong["report_id_r"]):
        ra, rb = groups.find(idx[a]), groups.find(idx[b])
        if ra != rb and groups.allowed(ra, rb):
            groups.union(ra, rb)
    ids = reports["report_id"].to_numpy()
    roots = np.array([groups.find(i) for i in range(len(ids))])
    smallest = pd.Series(ids).groupby(roots).transform("min").to_numpy()
    return pd.Series([f"I{int(s):07d}" for s in smallest], index=ids, name="incident_id")


# -- merging ------------------------------------------------------------------------------------
def _most_frequent(values: Sequence[Any]) -> Any:
    """The most frequent known value; ties to the smallest (as text)."""
    counts: dict[str, int] = {}
    first: dict[str, Any] = {}
    for v in values:
        if _known(v):
            key = str(v)
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, v)
    if not counts:
        return None
    top = max(counts.values())
    return first[min(k for k, n in counts.items() if n == top)]


def _known(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return False
    if isinstance(value, float):
        return not math.isnan(value)
    return not (isinstance(value, str) and not value.strip())


def _range(lows: Sequence[Any], highs: Sequence[Any]) -> tuple[int | None, int | None]:
    """The span of what was reported: lowest minimum, highest maximum (unknown ends stay unknown)."""
    known_lows = [int(v) for v in lows if _known(v)]
    known_highs = [int(v) for v in highs if _known(v)]
    low = min(known_lows) if known_lows else None
    high = max(known_highs) if known_highs else None
    if low is not None and high is not None and high < low:
        high = low
    return low, high


def _union(rows: Sequence[dict[str, Any]], key: str) -> list[str]:
    return sorted({str(k) for r in rows if isinstance(r[key], (list, tuple, np.ndarray)) for k in r[key]})


def merge_incident(rows: Sequence[dict[str, Any]], decision: str | None = None) -> dict[str, Any]:
    """One incident's values from its reports (rows of :func:`read_reports` as dicts), and its grade.

    Dates: the most often reported day (else the narrowest date reported); place: the most
    often reported locality, else area; coordinates: the median of those given; object type
    and weapon: the most often reported; killed and injured: from the lowest reported minimum to
    the highest reported maximum; every suspected actor as written.
    """
    days = [r for r in rows if r["date_precision"] == "day"]
    if days:
        start = pd.Timestamp(_most_frequent([r["date_start"] for r in days]))
        end, precision = start, "day"
    else:
        narrow = min(rows, key=lambda r: (r["date_end"] - r["date_start"], r["report_id"]))
        start, end, precision = narrow["date_start"], narrow["date_end"], narrow["date_precision"]
    locality = _most_frequent([r["locality"] for r in rows])
    adm1 = _most_frequent([r["adm1"] for r in rows])
    fine = [r["place"] for r in rows if _known(r["admin_level"]) and int(r["admin_level"]) >= 3]
    place = locality or _most_frequent(fine) or adm1 or _most_frequent([r["place"] for r in rows])
    coords = [(float(r["lat"]), float(r["lon"])) for r in rows if _known(r["lat"]) and _known(r["lon"])]
    killed = _range([r["killed_min"] for r in rows], [r["killed_max"] for r in rows])
    injured = _range([r["injured_min"] for r in rows], [r["injured_max"] for r in rows])
    grade = grade_incident(rows, decision=decision)
    sources = [{"name": r["source_name"], "kind": r["source_kind"] if _known(r["source_kind"]) else None,
                "reference": r["reference"] if _known(r["reference"]) else None,
                "archive_hash": r["archive_hash"] if _known(r["archive_hash"]) else None,
                "file": r["file"], "row": int(r["row"])} for r in rows]
    return {
        "date_start": start, "date_end": end, "date_precision": precision, "place": place, "locality": locality,
        "adm1": adm1, "lat": float(np.median([c[0] for c in coords])) if coords else None,
        "lon": float(np.median([c[1] for c in coords])) if coords else None,
        "object_type": _most_frequent([r["object_type"] for r in rows]),
        "weapon": _most_frequent([r["weapon_class"] for r in rows]) or _most_frequent([r["weapon"] for r in rows]),
        "killed_min": killed[0], "killed_max": killed[1], "injured_min": injured[0], "injured_max": injured[1],
        "actors": json.dumps(list(actor_claims(rows)), ensure_ascii=False),
        "family_keys": _union(rows, "family_keys"),
        "victim_keys": _union(rows, "victim_keys"),
        "n_reports": len(rows),
        "n_sources": len(independent_sources(rows, credible_only=False)),
        "sources": json.dumps(sources, ensure_ascii=False, default=str), "grade": grade.grade,
        "grade_reason": grade.reason,
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(zip(frame.columns, values)) for values in frame.itertuples(index=False, name=None)]


def _decisions(case: Case) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs = case.query(
        "SELECT report_id_l, report_id_r, decision FROM (SELECT *, row_number() OVER (PARTITION BY report_id_l, "
        "report_id_r ORDER BY decision_id DESC) AS rn FROM uc_incident_decisions) WHERE rn = 1 AND decision <> 'skip'")
    grades = case.query(
        "SELECT report_id, grade, decision_id FROM (SELECT *, row_number() OVER (PARTITION BY report_id "
        "ORDER BY decision_id DESC) AS rn FROM uc_incident_grade_decisions) WHERE rn = 1")
    return pairs, grades


def _grade_decision(members: Sequence[int], grades: pd.DataFrame) -> str | None:
    """The newest reviewer's grade among an incident's reports ('clear' goes back to the rule)."""
    mine = grades[grades["report_id"].isin(members)]
    newest = None if mine.empty else str(mine.sort_values("decision_id")["grade"].iloc[-1])
    return None if newest == "clear" else newest


def dedupe_incidents(case: Case, options: DedupeOptions | None = None, *, username: str | None = None) -> DedupeResult:
    """Deduplicate the case's incident reports into incidents and grade each one.

    Args:
        case: a case holding incident reports.
        options: :class:`DedupeOptions` (defaults: threshold 0.5, window 3 days).
        username: who runs it (the OS user by default).

    Returns:
        A :class:`DedupeResult`.

    Raises:
        StoreError: the case holds no incident report.
        ConfigError: impossible options.

    Example:
        >>> dedupe_incidents(Case.open("my-case")).incidents  # doctest: +SKIP
        148
    """
    opts = (options or DedupeOptions()).check()
    started = datetime.now(UTC).replace(tzinfo=None)
    reports = read_reports(case)
    if reports.empty:
        raise StoreError(f"{case.path} holds no incident report: import some with 'undercount incidents import'")
    pairs = _candidates(reports, opts.window)
    levels = _levels(reports, pairs)
    u = _estimate_u(reports, opts)
    if opts.em_iterations and len(pairs) >= MIN_EM_PAIRS:
        m, u, share = _em(levels, u, opts)
    else:
        m, share = COMPARISONS, PRIOR_SHARE
    weight, probability = _probabilities(levels, m, u, share)
    pairs["match_weight"], pairs["probability"] = weight, probability
    pairs["area_only"] = area_only(levels)
    pairs["contradicts"] = contradicts(levels)
    pair_decisions, grade_decisions = _decisions(case)
    incident_of = cluster_reports(reports, pairs, threshold=opts.threshold, window=opts.window,
                                  decisions=pair_decisions)
    reports["incident_id"] = incident_of.reindex(reports["report_id"]).to_numpy()
    by_incident: dict[str, list[dict[str, Any]]] = {}
    for row in _records(reports):
        row = {k: (None if not _known(v) else v) for k, v in row.items()}
        by_incident.setdefault(str(row["incident_id"]), []).append(row)
    incidents = [{"incident_id": incident_id,
                  **merge_incident(rows, _grade_decision([r["report_id"] for r in rows], grade_decisions))}
                 for incident_id, rows in sorted(by_incident.items())]
    table = pd.DataFrame(incidents)
    evidence = [json.dumps({str(c): {"level": lv, "weight": round(math.log2(m[str(c)][lv] / u[str(c)][lv]), 3)}
                            for c, lv in row.items() if isinstance(lv, str)}) for row in levels.to_dict("records")]
    pairs["evidence"] = evidence
    low, high = opts.threshold / 2, (1 + opts.threshold) / 2
    decided = set(zip(pair_decisions["report_id_l"], pair_decisions["report_id_r"]))
    waiting = int(sum(1 for a, b, p, vague in zip(pairs["report_id_l"], pairs["report_id_r"], pairs["probability"],
                                                  pairs["area_only"])
                      if (low <= p <= high or (vague and p > high)) and (a, b) not in decided))
    grades = {str(g): int(n) for g, n in table["grade"].value_counts().items()}
    run_id = case.new_run_id("incident-dedupe")
    result = DedupeResult(run_id=run_id, reports=len(reports), incidents=len(table), pairs=len(pairs),
                          merged=len(reports) - len(table), grades=grades, waiting=waiting, share=round(share, 6),
                          m={c: {k: round(v, 6) for k, v in p.items()} for c, p in m.items()},
                          u={c: {k: round(v, 6) for k, v in p.items()} for c, p in u.items()})
    _store(case, run_id, pairs, reports, table, opts, result, started, username)
    return result


def _store(case: Case, run_id: str, pairs: pd.DataFrame, reports: pd.DataFrame, table: pd.DataFrame,
           opts: DedupeOptions, result: DedupeResult, started: datetime, username: str | None) -> None:
    kept = pairs[["report_id_l", "report_id_r", "match_weight", "probability", "evidence"]].copy()
    kept.insert(0, "run_id", run_id)
    clusters = pd.DataFrame({"run_id": run_id, "report_id": reports["report_id"], "incident_id": reports["incident_id"]})
    incidents = table.copy()
    incidents.insert(0, "run_id", run_id)
    try:
        with case.transaction() as con:
            ensure_schema(con)
            for name, frame in (("uc_incident_pairs", kept), ("uc_incident_clusters", clusters),
                                ("uc_incidents", incidents)):
                con.register("uc_frame", frame)
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM uc_frame")
                con.unregister("uc_frame")
            case.record_run(con, run_id=run_id, kind="incident-dedupe", started_at=started, username=username,
                            params={"threshold": opts.threshold, "window": opts.window,
                                    "em_iterations": opts.em_iterations, "u_sample": opts.u_sample, "seed": opts.seed},
                            summary={"reports": result.reports, "incidents": result.incidents, "pairs": result.pairs,
                                     "grades": result.grades, "waiting": result.waiting})
    except StoreError:
        raise
    except Exception as exc:  # duckdb errors: the transaction was rolled back
        raise StoreError(f"could not store the deduplication in {case.path}: {type(exc).__name__}") from exc
