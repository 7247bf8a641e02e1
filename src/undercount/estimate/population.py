"""The population an estimate counts: one status and, for the dead, one kind of death.

Capture-recapture estimates the size of one closed population. The killed, the injured, the
missing and the detained are different populations (a list of the injured does not "miss" the
dead), so undercount never estimates them together: by default each status present is estimated
on its own, killed first. Direct deaths (violence) and indirect deaths (starvation, disease) are
separate series too: lists record them very differently.

A person's status is reconciled across their records: **killed beats every other status** (a
person missing on one list and killed on another is dead); otherwise the latest dated status
wins (event date, else reported date), the gravest on equal or missing dates (missing, then
detained, then injured). The history (each record's status, date and list, oldest first) is
kept, and the estimate reports how many persons changed status. A person's cause is the most
frequent known cause among their records (ties: the earlier list).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError

__all__ = [
    "CAUSE_GROUPS",
    "STATUS_ORDER",
    "Population",
    "parse_population",
    "populations_present",
    "reconcile",
]

STATUS_ORDER = ("killed", "injured", "missing", "detained")
GRAVITY = {"killed": 4, "missing": 3, "detained": 2, "injured": 1}
DIRECT_CAUSES = ("direct_violence",)
INDIRECT_CAUSES = ("starvation", "disease")
KNOWN_CAUSES = ("direct_violence", "starvation", "disease", "other")
# A cause group and the causes it holds; 'direct' also holds deaths whose cause no list records
# (lists of the dead mostly record violent deaths), which the estimate says.
CAUSE_GROUPS: dict[str, tuple[str | None, ...]] = {
    "direct": (*DIRECT_CAUSES, "other", "unknown", None),
    "indirect": INDIRECT_CAUSES,
}


@dataclass(frozen=True)
class Population:
    """Who an estimate counts.

    Attributes:
        status: killed, injured, missing or detained; None when the lists record no status.
        cause: None (every cause), a group ('direct', 'indirect') or one cause ('starvation' ...).
    """

    status: str | None = None
    cause: str | None = None

    @property
    def label(self) -> str:
        """Words for headings and exports: 'killed', 'killed (indirect deaths: starvation, disease)'."""
        base = self.status or "all victims"
        if self.cause is None:
            return base
        if self.cause == "direct":
            return f"{base} (direct deaths: violence, or cause not recorded)"
        if self.cause == "indirect":
            return f"{base} (indirect deaths: {', '.join(INDIRECT_CAUSES)})"
        return f"{base} (cause: {self.cause.replace('_', ' ')})"

    @property
    def key(self) -> str:
        """A short stable key: 'killed', 'killed/indirect', 'all'."""
        return "/".join(p for p in (self.status or "all", self.cause) if p)

    def causes(self) -> tuple[str | None, ...] | None:
        """The causes the population holds (None: any)."""
        if self.cause is None:
            return None
        return CAUSE_GROUPS.get(self.cause, (self.cause,))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: status, cause, key, label."""
        return {"status": self.status, "cause": self.cause, "key": self.key, "label": self.label}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Population:
        """The population stored with a run (``to_dict``); an old run without one counts every victim."""
        data = data or {}
        return cls(status=data.get("status"), cause=data.get("cause"))


def parse_population(status: str | None, cause: str | None) -> Population | None:
    """The population asked for on the command line (None: the default, every status present).

    Raises:
        ConfigError: an unknown status or cause.
    """
    if status is not None and status not in STATUS_ORDER:
        raise ConfigError(f"--status {status!r}: use one of {', '.join(STATUS_ORDER)}")
    allowed = (*CAUSE_GROUPS, *KNOWN_CAUSES, "unknown", "any")
    if cause is not None and cause not in allowed:
        raise ConfigError(f"--cause {cause!r}: use one of {', '.join(allowed)}")
    if status is None and cause is None:
        return None
    if cause is not None and cause != "any" and status not in (None, "killed"):
        raise ConfigError(f"--cause {cause}: causes of death apply to the killed, not to the {status}")
    if cause in (None, "any"):
        return Population(status=status)
    return Population(status=status or "killed", cause=cause)


def _dates(records: pd.DataFrame) -> pd.Series:
    event = pd.to_datetime(records["event_date"], errors="coerce") if "event_date" in records else None
    reported = pd.to_datetime(records["reported_date"], errors="coerce") if "reported_date" in records else None
    if event is None and reported is None:
        return pd.Series(pd.NaT, index=records.index)
    if event is None:
        return reported  # type: ignore[return-value]
    return event if reported is None else event.fillna(reported)


def reconcile(records: pd.DataFrame, lists: list[str] | None = None, *, history: bool = True) -> pd.DataFrame:
    """Each person's status and cause, reconciled across their records, with the history kept.

    Args:
        records: one row per record: person_id, source, status, cause, and optionally event_date
            and reported_date.
        lists: the lists in import order (ties of causes go to the earlier list).
        history: also build ``history`` (False leaves the column out: estimates, which reconcile
            once per linkage draw, never read it).

    Returns:
        Indexed by person_id: ``status`` (None when no record has one), ``cause`` (None when
        unknown), ``history`` (JSON list of {status, date, source}, oldest first) and
        ``changed`` (the person's records carry more than one status).

    Example:
        >>> recs = pd.DataFrame({"person_id": ["p", "p"], "source": ["a", "b"],
        ...     "status": ["missing", "killed"], "cause": [None, None],
        ...     "event_date": ["2024-03-01", "2024-01-01"]})
        >>> reconcile(recs).loc["p", "status"]
        'killed'
    """
    persons = pd.Index(pd.unique(records["person_id"]), name="person_id")
    # on integer codes (a person's code is their position in ``persons``): sorting and grouping strings
    # cost most of an estimate's reconciling, which runs once per linkage draw
    person, _ = pd.factorize(records["person_id"], use_na_sentinel=False)
    lost = np.asarray(persons.isna(), dtype=bool)  # a record without a person: grouped with no one
    ranks = {name: i for i, name in enumerate(lists or dict.fromkeys(records["source"]))}
    rank = _coded(*_codes_of(records, "source"), lambda name: ranks.get(name, len(ranks)), len(ranks)).astype(np.int64)
    status_codes, status_names = _codes_of(records, "status")
    known = _coded(status_codes, status_names, lambda s: s in GRAVITY, False).astype(bool) & ~lost[person]
    gravity = _coded(status_codes, status_names, lambda s: GRAVITY.get(s, 0), 0).astype(np.int64)
    killed = _coded(status_codes, status_names, lambda s: s == "killed", False).astype(np.int64)
    dates = _dates(records).to_numpy()
    date = dates.astype("datetime64[ns]").view(np.int64) if dates.dtype.kind == "M" else np.zeros(len(records), np.int64)
    rows = np.flatnonzero(known)  # the order a stable sort by person, killed, date (unknown first), gravity, list gives
    rows = rows[np.lexsort((rank[rows], gravity[rows], date[rows], killed[rows], person[rows]))]
    last = rows[np.r_[person[rows][1:] != person[rows][:-1], True]] if len(rows) else rows
    status = np.full(len(persons), None, dtype=object)
    status[person[last]] = np.asarray(status_names, dtype=object)[status_codes[last]]
    pairs = np.unique(person[known] * max(len(status_names), 1) + status_codes[known])
    changed = np.bincount(pairs // max(len(status_names), 1), minlength=len(persons)) > 1
    out = pd.DataFrame(index=persons)
    out["status"] = pd.Series(status, index=persons, dtype=object)
    out["cause"] = pd.Series(_best_causes(records, person, lost, rank, len(persons)), index=persons, dtype=object)
    if history:
        frame = pd.DataFrame({
            "person_id": records["person_id"].to_numpy(),
            "source": records["source"].to_numpy(),
            "status": records["status"].to_numpy() if "status" in records else None,
            "date": _dates(records).to_numpy(),
            "rank": rank,
        })
        hist = _histories(frame[known])
        out["history"] = hist.reindex(persons).astype(object).where(hist.reindex(persons).notna(), "[]")
    out["changed"] = changed
    return out


def _codes_of(records: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
    """A column's values as integer codes (-1: missing or no such column) and the values coded."""
    if column not in records:
        return np.full(len(records), -1, dtype=np.int64), pd.Index([], dtype=object)
    codes, names = pd.factorize(records[column])
    return codes.astype(np.int64), names


def _coded(codes: np.ndarray, names: pd.Index, value: Callable[[Any], Any], missing: Any) -> np.ndarray:
    """``value(name)`` of each coded name (``missing`` where the code is -1), computed once per name."""
    table = np.array([value(name) for name in names] + [missing])
    out: np.ndarray = table[codes]
    return out


def _best_causes(records: pd.DataFrame, person: np.ndarray, lost: np.ndarray, rank: np.ndarray, persons: int
                 ) -> np.ndarray:
    """Each person's cause (None when no record gives a known one): the cause most of their records
    give, ties to the one an earlier list gives, then to the one met first."""
    out = np.full(persons, None, dtype=object)
    codes, names = _codes_of(records, "cause")
    ok = _coded(codes, names, lambda c: c in KNOWN_CAUSES, False).astype(bool) & ~lost[person]
    if not ok.any():
        return out
    width = len(names)
    pairs, first, inverse, counts = np.unique(person[ok] * width + codes[ok], return_index=True, return_inverse=True,
                                              return_counts=True)
    earliest = np.full(len(pairs), np.iinfo(np.int64).max)
    np.minimum.at(earliest, inverse.ravel(), rank[ok])
    who = pairs // width
    order = np.lexsort((first, earliest, -counts, who))
    best = order[np.r_[True, who[order][1:] != who[order][:-1]]]
    out[who[best]] = np.asarray(names, dtype=object)[pairs[best] % width]
    return out


def _histories(known: pd.DataFrame) -> pd.Series:
    """Per person, the JSON list of their records' {status, date, source}, oldest first."""
    history = known.sort_values(["person_id", "date", "rank"], na_position="first", kind="stable")
    dates = [None if pd.isna(d) else pd.Timestamp(d).date().isoformat() for d in history["date"]]
    events = pd.Series([json.dumps({"status": s, "date": d, "source": src}, ensure_ascii=False)
                        for s, d, src in zip(history["status"], dates, history["source"])],
                       index=history.index, dtype=object)
    return events.groupby(history["person_id"].to_numpy()).agg(lambda e: "[" + ", ".join(e) + "]")


def populations_present(persons: pd.DataFrame) -> list[Population]:
    """The default populations of a case: each status present (killed first), the killed split by
    kind of death when some records say starvation or disease.

    Args:
        persons: :func:`reconcile`'s output.

    Returns:
        One Population per series; ``[Population()]`` when no record carries a status.
    """
    statuses = [s for s in STATUS_ORDER if bool((persons["status"] == s).any())]
    if not statuses:
        return [Population()]
    out: list[Population] = []
    for status in statuses:
        dead = persons[persons["status"] == status]
        if status == "killed" and bool(dead["cause"].isin(INDIRECT_CAUSES).any()):
            out += [Population("killed", "direct"), Population("killed", "indirect")]
        else:
            out.append(Population(status))
    return out


def select(persons: pd.DataFrame, population: Population) -> np.ndarray:
    """Which persons belong to the population (a boolean mask in the order of ``persons``)."""
    mask = np.ones(len(persons), dtype=bool)
    if population.status is not None:
        mask &= (persons["status"] == population.status).to_numpy()
    causes = population.causes()
    if causes is not None:
        cause = persons["cause"].astype(object)
        inside = cause.isin([c for c in causes if c is not None]).to_numpy()
        if None in causes:
            inside |= cause.isna().to_numpy()
        mask &= inside
    return mask
