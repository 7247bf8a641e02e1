"""A list published again and again: a series of releases with known changes, and their truth.

A ministry-like list (Arabic names, 9-digit IDs with a check digit, age, sex, date of birth, status)
is drawn from a simulated population and released several times. Between two releases the
publisher, as the real ones did, corrects spellings (alef/hamza, taa marbuta: spelling only) and
other fields (a typing error in a name, an age, a date of birth, a woman's family name), moves missing people to killed,
removes records, adds people, drops an ID and lists the same person under a new one, reassigns an
ID to a different person, resolves duplicate copies and adds new ones. Every record carries one
known class per transition (the classes of :mod:`undercount.releases.match`), so a diff can be
scored class by class (bench/release_diff.py).

Each change touches a record once per transition (the classes are exclusive). Rows are shuffled
in every release, as republished lists are re-sorted.

Example:
    >>> series = simulate_releases("out", people=600, releases=2, seed=1)  # doctest: +SKIP
    >>> series.truth.groupby("release")["class_from_previous"].value_counts()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError
from undercount.simulate.config import PopulationConfig
from undercount.simulate.noise import spelling_variant, typo
from undercount.simulate.population import luhn_check_digit, make_population

__all__ = ["ReleaseChanges", "ReleaseSeries", "simulate_releases"]

_ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_COLUMNS = ["id", "name", "sex", "age", "dob", "status"]


@dataclass(frozen=True)
class ReleaseChanges:
    """How much changes between two releases (shares of the earlier release's records, unless said).

    Attributes:
        first_share: share of the population in the first release.
        missing_share: share of the first release's people listed as missing (they are killed).
        duplicate_share: share of the first release's people listed twice (a second copy, spelt a
            little differently, same ID).
        added: people added, as a share of the earlier release.
        removed: records removed.
        spelling: records whose name is respelt (spelling only).
        corrected: records with another field corrected (a name typo, the age, the date of birth,
            or a woman's family name: her maiden and married names).
        status_moved: share of the missing moved to killed.
        new_id: records listed again under a new ID number.
        id_reassigned: records removed whose ID number goes to a person added.
        duplicate_resolved: share of the duplicate copies removed.
        duplicate_added: records that gain a second copy.
    """

    first_share: float = 0.7
    missing_share: float = 0.05
    duplicate_share: float = 0.03
    added: float = 0.08
    removed: float = 0.02
    spelling: float = 0.06
    corrected: float = 0.03
    status_moved: float = 0.5
    new_id: float = 0.005
    id_reassigned: float = 0.004
    duplicate_resolved: float = 0.5
    duplicate_added: float = 0.01

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"release change '{name}' must be a share between 0 and 1 (got {value})")
        total = self.removed + self.spelling + self.corrected + self.new_id + self.id_reassigned + self.duplicate_added
        if total > 0.9:
            raise ConfigError(f"the per-record changes add up to {total:.2f}: keep them under 0.9")


@dataclass(frozen=True)
class ReleaseSeries:
    """What :func:`simulate_releases` wrote.

    Attributes:
        out_dir: the folder.
        files: release name -> (file, date of release), oldest first.
        truth: one row per record of every release: release, row (1 = first data row), record,
            person_id, copy (a duplicate copy), class_from_previous (its class in the diff with
            the release before; '' for the first) and class_to_next ('' for the last).
        changes: the settings used.
    """

    out_dir: Path
    files: dict[str, tuple[Path, date]] = field(default_factory=dict)
    truth: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    changes: ReleaseChanges = field(default_factory=ReleaseChanges)


def _new_ids(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        body = rng.integers(0, 10, size=(n, 8))
        body[:, 0] = rng.choice([4, 8, 9], size=n)
        full = np.concatenate([body, luhn_check_digit(body)[:, None]], axis=1)
        for digits in full:
            text = "".join(map(str, digits))
            if text not in taken and len(out) < n:
                taken.add(text)
                out.append(text)
    return out


def _respell(name: str, rng: np.random.Generator) -> str | None:
    """The name with one part spelt another way (None: no part has a variant)."""
    parts = name.split(" ")
    for i in rng.permutation(len(parts)):
        variant = spelling_variant(parts[i], float(rng.random()))
        if variant and variant != parts[i]:
            parts[i] = variant
            return " ".join(parts)
    return None


def _mistype(name: str, rng: np.random.Generator) -> str:
    parts = name.split(" ")
    i = int(rng.integers(0, len(parts)))
    parts[i] = typo(parts[i], rng.random(3), _ARABIC_LETTERS)
    return " ".join(parts)


def _copy_of(rec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A duplicate copy of a record: the same person and ID, the name spelt a little differently."""
    name = str(rec["name"])
    return {**rec, "name": _respell(name, rng) or _mistype(name, rng)}


def _take(rng: np.random.Generator, pool: list[int], share: float, used: set[int]) -> list[int]:
    free = [k for k in pool if k not in used]
    n = int(round(share * len(pool)))
    picked = [free[i] for i in rng.permutation(len(free))[:n]] if free else []
    used.update(picked)
    return picked


def simulate_releases(out_dir: str | Path, *, people: int = 3000, releases: int = 3, seed: int = 0,
                      changes: ReleaseChanges | None = None, first_date: str = "2024-06-20",
                      every_days: int = 70, name: str = "moh") -> ReleaseSeries:
    """Write ``releases`` CSV releases of one list with known changes, and ``truth_releases.csv``.

    Args:
        out_dir: the folder (created).
        people: the population the list is drawn from.
        releases: how many releases (at least 2).
        seed: the random seed (the same seed writes the same files).
        changes: how much changes between releases.
        first_date: the first release's date; the next ones follow every ``every_days`` days.
        name: the list's name (files are ``NAME_YYYY-MM-DD.csv``).

    Returns:
        A :class:`ReleaseSeries`.

    Raises:
        ConfigError: fewer than two releases, or a population too small for the changes.
    """
    cfg = changes or ReleaseChanges()
    if releases < 2:
        raise ConfigError(f"a series needs at least two releases (got {releases})")
    if people < 50:
        raise ConfigError(f"a population of {people} is too small for a series of releases: use 50 or more")
    rng = np.random.default_rng(seed)
    pop = make_population(PopulationConfig(people=people, status_shares={"killed": 1.0}), rng)
    pop["dob"] = pd.to_datetime(pop["date_of_birth"]).dt.strftime("%Y-%m-%d")
    families = pop["family"].astype(str).unique()
    taken = set(pop["id_number"].astype(str))
    order = rng.permutation(len(pop))
    n_first = int(round(cfg.first_share * len(pop)))
    waiting = [int(i) for i in order[n_first:]]  # people not listed yet, in the order they are added

    records: dict[int, dict[str, Any]] = {}  # record key -> fields
    person_of: dict[int, str] = {}
    copy_of: dict[int, int] = {}  # a duplicate copy -> the record it copies
    next_key = 0

    def add(person: int, values: dict[str, Any] | None = None) -> int:
        nonlocal next_key
        row = pop.iloc[person]
        rec = values or {"id": str(row["id_number"]), "name": str(row["full_name"]), "sex": str(row["sex"]),
                         "age": int(row["age"]), "dob": str(row["dob"]), "status": "killed"}
        next_key += 1
        records[next_key] = dict(rec)
        person_of[next_key] = str(row["person_id"])
        return next_key

    live: list[int] = []
    for person in order[:n_first]:
        key = add(int(person))
        if rng.random() < cfg.missing_share:
            records[key]["status"] = "missing"
        live.append(key)
    for key in [k for k in live if rng.random() < cfg.duplicate_share]:
        copy = add(0, _copy_of(records[key], rng))
        person_of[copy] = person_of[key]
        copy_of[copy] = key
        live.append(copy)

    start = date.fromisoformat(first_date)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    snapshots: list[tuple[str, date, dict[int, dict[str, Any]]]] = []
    transitions: list[tuple[dict[int, str], dict[int, str]]] = []  # (class of earlier records, of later records)
    for r in range(releases):
        day = start + timedelta(days=every_days * r)
        snapshots.append((f"{name}_{day.isoformat()}", day, {k: dict(records[k]) for k in live}))
        if r == releases - 1:
            break
        earlier: dict[int, str] = {}
        later: dict[int, str] = {}
        primaries = [k for k in live if k not in copy_of]
        copies = [k for k in live if k in copy_of]
        used: set[int] = set(copy_of.values())  # a record with a copy keeps its fields (the copy stays a copy)
        removed = _take(rng, primaries, cfg.removed, used)
        reassigned = _take(rng, primaries, cfg.id_reassigned, used)
        new_id = _take(rng, primaries, cfg.new_id, used)
        respelt = _take(rng, primaries, cfg.spelling, used)
        corrected = _take(rng, primaries, cfg.corrected, used)
        missing = [k for k in primaries if records[k]["status"] == "missing" and k not in used]
        moved = [missing[i] for i in rng.permutation(len(missing))[:int(round(cfg.status_moved * len(missing)))]]
        used.update(moved)
        resolved = [copies[i] for i in rng.permutation(len(copies))[:int(round(cfg.duplicate_resolved * len(copies)))]]
        doubled = _take(rng, primaries, cfg.duplicate_added, used)
        gone = set(removed) | set(reassigned) | set(resolved)
        for k in live:
            earlier[k] = later[k] = "unchanged"
        for k in removed:
            earlier[k] = "removed"
        for k in resolved:
            earlier[k] = "duplicate_resolved"
        for k in respelt:
            spelt = _respell(str(records[k]["name"]), rng)
            if spelt is None:
                continue
            records[k]["name"] = spelt
            earlier[k] = later[k] = "corrected"
        for k in corrected:
            what = rng.integers(0, 4)
            if what == 3 and records[k]["sex"] == "female" and int(records[k]["age"]) >= 18:
                # a woman's family name written differently (maiden or married name)
                parts = str(records[k]["name"]).split(" ")
                parts[-1] = str(families[int(rng.integers(0, len(families)))])
                records[k]["name"] = " ".join(parts)
            elif what in (0, 3):
                records[k]["name"] = _mistype(str(records[k]["name"]), rng)
            elif what == 1:
                records[k]["age"] = max(0, int(records[k]["age"]) + int(rng.choice([-2, -1, 1, 2])))
            else:
                dob = date.fromisoformat(str(records[k]["dob"]))
                records[k]["dob"] = (dob + timedelta(days=int(rng.choice([-31, -1, 1, 31, 365])))).isoformat()
            earlier[k] = later[k] = "corrected"
        for k in moved:
            records[k]["status"] = "killed"
            earlier[k] = later[k] = "status_moved"
        for k, new in zip(new_id, _new_ids(rng, len(new_id), taken)):
            records[k]["id"] = new
            earlier[k] = later[k] = "reappeared_new_id"
        live = [k for k in live if k not in gone]
        n_added = int(round(cfg.added * len(primaries)))
        for person in waiting[:n_added]:
            key = add(person)
            later[key] = "added"
            live.append(key)
        waiting = waiting[n_added:]
        for k in reassigned:
            if not waiting:
                earlier[k] = "removed"
                continue
            key = add(waiting.pop(0))
            records[key]["id"] = records[k]["id"]
            earlier[k] = later[key] = "id_reassigned"
            live.append(key)
        for k in doubled:
            copy = add(0, _copy_of(records[k], rng))
            person_of[copy] = person_of[k]
            copy_of[copy] = k
            later[copy] = "duplicate_added"
            live.append(copy)
        transitions.append((earlier, later))

    files: dict[str, tuple[Path, date]] = {}
    truth_parts = []
    for r, (release, day, snap) in enumerate(snapshots):
        keys = list(snap)
        keys = [keys[i] for i in rng.permutation(len(keys))]
        table = pd.DataFrame([snap[k] for k in keys], columns=_COLUMNS)
        path = out / f"{release}.csv"
        table.to_csv(path, index=False, encoding="utf-8")
        files[release] = (path, day)
        truth_parts.append(pd.DataFrame({
            "release": release, "row": np.arange(1, len(keys) + 1), "record": keys,
            "person_id": [person_of[k] for k in keys], "copy": [k in copy_of for k in keys],
            "class_from_previous": [transitions[r - 1][1][k] if r else "" for k in keys],
            "class_to_next": [transitions[r][0][k] if r < len(transitions) else "" for k in keys],
        }))
    truth = pd.concat(truth_parts, ignore_index=True)
    truth.to_csv(out / "truth_releases.csv", index=False)
    return ReleaseSeries(out, files, truth, cfg)
