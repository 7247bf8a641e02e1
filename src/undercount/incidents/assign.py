"""Victims linked to incidents: each person of the register to at most one incident.

A person (the current linkage's cluster of records) is linked to an incident by the strongest
evidence that points to exactly one incident, in this order:

1. **reference**: a record carries an incident code (the record field ``incident_ref``, read from
   a column such as ``incident``, ``incident id`` or ``رقم الحادثة`` of the victim list) that one
   incident's reports use.
2. **named**: a report of the incident names the person (given and family name, compared by
   transliteration key across scripts) and the person's date is within ``named_window`` days (7);
   a person with no date at all is linked only when a single incident names them. A name is one
   person: of several persons who fit it only the nearest in date keeps it (none when tied).
3. **family**: the incident's reports name the family whose home was hit, or a victim already
   linked to it by rules 1 or 2 (or by rule 4 to an incident naming no family) has that family
   name (a grown woman's name does not count: it is her father's family, not the household's), the person's family name has the same key,
   the person's date is within ``window`` days (1) and the places agree (same first-level area, or
   one unknown). Relatives killed in one strike are linked together this way. Three or more
   relatives still unlinked, killed on the day of the one strike on a home or shelter in their
   area that names no family, are its victims (:func:`_family_groups`).
4. **locality**: the person's place is the incident's locality and the dates are at most
   ``locality_days`` apart, and no other incident matches as well; an incident that names
   another family is not this person's, unless the person is a grown woman (a married woman
   keeps her father's family name, so the strike on her husband's home names his family).

Each link carries a confidence grade (:func:`link_confidence`): **high** for a code, a name within a
day (or the one report naming a person with no date), a family the same day, a household no report
names; **medium** for a name 2-7 days apart, a shared locality the same day, a family at the
person's locality with no date; **low** for a family a day apart or at the person's locality days
apart. The grades follow what each rule's links were measured to be worth on simulated cases.

Only harm an incident can cause is linked: a person a record of whom says detained, or gives a
cause other than direct violence (starvation, disease), is not linked to an incident, whatever
names or places agree (the record contradicts a strike).

A governorate and a date alone never link: on most days many incidents share them. Evidence
that points to two incidents equally links to neither. Persons with no such evidence stay
unlinked; nothing is forced. A run stores its links with the link and deduplication runs used.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, StoreError
from undercount.incidents.dedupe import current_dedupe_run
from undercount.incidents.files import ensure_schema, rows_of, table_exists
from undercount.incidents.places import resolve_place
from undercount.incidents.reports import compact_key, given_family_keys, name_list, victim_keys
from undercount.ingest.columns import fold
from undercount.names import name_key

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["AssignOptions", "AssignResult", "assign_victims", "REF_HEADERS", "person_incidents", "METHODS",
           "incident_labels", "CONFIDENCE", "link_confidence"]

METHODS = ("reference", "named", "family", "locality")
#: Grades of a link, strongest first.
CONFIDENCE = ("high", "medium", "low")
#: Victim-list headers that hold an incident code (compared after folding).
REF_HEADERS = frozenset(fold(h) for h in (
    "incident", "incident id", "incident code", "incident ref", "incident reference", "incident no",
    "incident number", "event id", "رقم الحادثة", "رمز الحادثة", "معرف الحادثة", "الحادثة"))
_KEY_SPLIT = re.compile(r"\s+")
#: Causes of death no strike, shelling or shooting is: persons who died of them are not linked to incidents.
_NOT_STRIKES = frozenset({"starvation", "disease"})
#: Below this age a girl carries her father's family name, the name of the household hit.
_MARRIAGE_AGE = 15


@dataclass(frozen=True)
class AssignOptions:
    """Settings of a victim-to-incident run.

    Attributes:
        named_window: days between a person's date and the incident's for the named rule (a name
            is specific: a list's date may be a few days off, as dates of death often are).
        window: days for the family rule (relatives killed in one strike share its day; a wider
            window links relatives killed on other days in other strikes).
        locality_days: days for the locality rule (0: the same day; a locality hosts many incidents, and on
            simulated cases a day apart linked as many persons wrongly as rightly).
    """

    named_window: int = 7
    window: int = 1
    locality_days: int = 0

    def check(self) -> AssignOptions:
        """Return self, or raise ConfigError."""
        if not 0 <= self.locality_days <= self.window <= 60 or not 0 <= self.named_window <= 60:
            raise ConfigError("need 0 <= locality_days <= window <= 60 and 0 <= named_window <= 60 days")
        return self


@dataclass(frozen=True)
class AssignResult:
    """What a run linked (counts only, no names).

    Attributes:
        run_id: the run; persons: persons of the register; linked: persons linked to an incident;
        by_method: linked persons per rule; ambiguous: persons whose evidence pointed to two incidents;
        incidents_with_victims: incidents with at least one named victim; over_reported: incidents with more
        named killed than their sources' highest count; details: the options, ``by_rule`` (links per rule) and
        ``by_confidence`` (links per grade, :data:`CONFIDENCE`).
    """

    run_id: str
    persons: int
    linked: int
    by_method: dict[str, int]
    ambiguous: int
    incidents_with_victims: int
    over_reported: int
    link_run_id: str
    dedupe_run_id: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _records(case: Case, link_run: str) -> pd.DataFrame:
    return case.query(
        "SELECT c.person_id, r.record_id, r.event_date, r.reported_date, r.place, r.status, r.cause, r.sex, r.age, "
        "r.family, r.full_name, r.name_key, r.incident_ref, r.raw "
        "FROM uc_clusters c JOIN uc_records r USING (record_id) WHERE c.run_id = ? ORDER BY c.person_id, r.record_id", [link_run])


def _refs(raw: Any) -> set[str]:
    """Incident codes a record's row holds (folded), from columns whose header names an incident."""
    if not isinstance(raw, str):
        return set()
    try:
        cells = json.loads(raw)
    except json.JSONDecodeError:
        return set()
    return {fold(str(v)) for k, v in cells.items() if fold(k) in REF_HEADERS and str(v).strip()}


@dataclass
class _Person:
    dates: list[np.datetime64] = field(default_factory=list)
    places: set[tuple[str | None, str | None]] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    killed: bool = False
    statuses: set[str] = field(default_factory=set)
    causes: set[str] = field(default_factory=set)
    sexes: set[str] = field(default_factory=set)
    ages: list[int] = field(default_factory=list)
    #: (incident position, name key) a report names but another person of the register fits better.
    not_named: set[tuple[int, str]] = field(default_factory=set)

    @property
    def harmed_by_incident(self) -> bool:
        """False when a record says detained, or gives a cause no strike is (starvation, disease).

        One record is enough: a list that records the person as detained, or dead of hunger or
        disease, contradicts a strike, and a link needs evidence for it, not against it (on 15
        simulated cases every link of a person one of whose records said detained was wrong, 8 of 8).
        """
        return "detained" not in self.statuses and not self.causes & _NOT_STRIKES

    @property
    def grown_woman(self) -> bool:
        """Female and not known to be a girl: she may carry a family name other than her household's."""
        return "female" in self.sexes and "male" not in self.sexes and not (self.ages and max(self.ages) < _MARRIAGE_AGE)


def _persons(records: pd.DataFrame) -> dict[str, _Person]:
    people: dict[str, _Person] = {}
    for row in rows_of(records):
        person = people.setdefault(str(row["person_id"]), _Person())
        when = row["event_date"] if row["event_date"] is not None else row["reported_date"]
        if when is not None:
            person.dates.append(np.datetime64(pd.Timestamp(when).strftime("%Y-%m-%d"), "D"))
        if isinstance(row["place"], str) and row["place"].strip():
            place = resolve_place(row["place"])
            person.places.add((place.locality, place.adm1))
        if isinstance(row["family"], str) and row["family"].strip():
            key = compact_key(name_key(row["family"]))
            if key:
                person.families.add(key)
        person.names.update(given_family_keys(row["name_key"]))
        if isinstance(row["incident_ref"], str) and row["incident_ref"].strip():
            person.refs.add(fold(row["incident_ref"]))
        else:  # lists imported before the incident_ref field: the code is still in the row as read
            person.refs |= _refs(row["raw"])
        person.killed = person.killed or row["status"] == "killed"
        for values, key in ((person.statuses, "status"), (person.causes, "cause"), (person.sexes, "sex")):
            if isinstance(row[key], str) and row[key]:
                values.add(row[key])
        if row["age"] is not None:
            person.ages.append(int(row["age"]))
    return people


@dataclass(frozen=True)
class _Incidents:
    ids: np.ndarray
    start: np.ndarray
    end: np.ndarray
    adm1: np.ndarray
    locality: np.ndarray
    family: list[frozenset[str]]
    codes: dict[str, set[str]]
    names: dict[str, list[int]]
    families: dict[str, list[int]]
    by_locality: dict[str, list[int]]
    killed_max: np.ndarray
    kind: np.ndarray
    doubtful: frozenset[int]
    slots: dict[tuple[int, str], int]


def _keys(values: Any) -> list[str]:
    return [str(k) for k in values] if isinstance(values, (list, tuple, np.ndarray)) else []


def _incidents(case: Case, dedupe_run: str) -> _Incidents:
    table = case.query("SELECT incident_id, date_start, date_end, adm1, locality, family_keys, victim_keys, killed_max, "
                       "object_type "
                       "FROM uc_incidents WHERE run_id = ? ORDER BY incident_id", [dedupe_run])
    codes_table = case.query(
        "SELECT c.incident_id, r.code FROM uc_incident_clusters c JOIN uc_incident_reports r USING (report_id) "
        "WHERE c.run_id = ? AND r.code IS NOT NULL", [dedupe_run])
    codes: dict[str, set[str]] = {}
    for incident_id, code in zip(codes_table["incident_id"], codes_table["code"]):
        codes.setdefault(fold(str(code)), set()).add(str(incident_id))
    named = case.query(  # keys again from the names as written: cases imported before a key rule changed
        "SELECT c.incident_id, r.victims FROM uc_incident_clusters c JOIN uc_incident_reports r USING (report_id) "
        "WHERE c.run_id = ? AND r.victims IS NOT NULL", [dedupe_run])
    victim_keys_of: dict[str, set[str]] = {}
    slots_of: dict[tuple[str, str], int] = {}  # how many victims one report names by a key, at most
    for incident_id, text in zip(named["incident_id"], named["victims"]):
        victim_keys_of.setdefault(str(incident_id), set()).update(victim_keys(text) or [])
        for key, n in Counter(k for name in name_list(text) for k in set(given_family_keys(name_key(name)))).items():
            slots_of[(str(incident_id), key)] = max(n, slots_of.get((str(incident_id), key), 0))
    names: dict[str, list[int]] = {}
    families: dict[str, list[int]] = {}
    by_locality: dict[str, list[int]] = {}
    for i, row in enumerate(rows_of(table)):
        for key in sorted(set(_keys(row["victim_keys"])) | victim_keys_of.get(str(row["incident_id"]), set())):
            names.setdefault(key, []).append(i)
        for key in sorted({compact_key(k) for k in _keys(row["family_keys"])}):
            families.setdefault(key, []).append(i)
        if isinstance(row["locality"], str):
            by_locality.setdefault(row["locality"], []).append(i)
    return _Incidents(
        ids=table["incident_id"].to_numpy(dtype=object),
        start=pd.to_datetime(table["date_start"]).to_numpy(dtype="datetime64[D]"),
        end=pd.to_datetime(table["date_end"]).to_numpy(dtype="datetime64[D]"),
        adm1=table["adm1"].to_numpy(dtype=object), locality=table["locality"].to_numpy(dtype=object),
        family=[frozenset(compact_key(str(k)) for k in v) if isinstance(v, (list, np.ndarray)) else frozenset()
                for v in table["family_keys"]], codes=codes, names=names, families=families,
        by_locality=by_locality, killed_max=pd.to_numeric(table["killed_max"], errors="coerce").to_numpy(dtype=float),
        kind=table["object_type"].to_numpy(dtype=object), doubtful=_doubtful(case, dedupe_run, table["incident_id"]),
        slots={(i, key): n for i, v in enumerate(table["incident_id"].astype(str)) for (j, key), n in slots_of.items()
               if j == v},
    )


def _doubtful(case: Case, dedupe_run: str, ids: pd.Series) -> frozenset[int]:
    """Positions of incidents a report of which matched a report of another incident at or above the
    threshold but was kept apart (it may describe that other incident)."""
    apart = case.query(
        "SELECT DISTINCT unnest([a.incident_id, b.incident_id]) AS incident_id FROM uc_incident_pairs p "
        "JOIN uc_incident_clusters a ON a.run_id = p.run_id AND a.report_id = p.report_id_l "
        "JOIN uc_incident_clusters b ON b.run_id = p.run_id AND b.report_id = p.report_id_r "
        "WHERE p.run_id = ? AND a.incident_id <> b.incident_id AND p.probability >= coalesce(("
        "SELECT TRY_CAST(json_extract_string(params, '$.threshold') AS DOUBLE) FROM uc_runs WHERE run_id = ?), 0.5)",
        [dedupe_run, dedupe_run])
    wanted = set(apart["incident_id"].astype(str))
    return frozenset(i for i, v in enumerate(ids.astype(str)) if v in wanted)


def _gap(person: _Person, inc: _Incidents, i: int) -> float:
    """Days between the person's nearest date and the incident's dates (inf without a date)."""
    if not person.dates:
        return float("inf")
    gaps = [max(0, int((inc.start[i] - d).astype(int)), int((d - inc.end[i]).astype(int))) for d in person.dates]
    return float(min(gaps))


def _places_agree(person: _Person, inc: _Incidents, i: int) -> bool:
    areas = {a for _, a in person.places if a}
    return not areas or not isinstance(inc.adm1[i], str) or inc.adm1[i] in areas


def _same_locality(person: _Person, inc: _Incidents, i: int) -> bool:
    return isinstance(inc.locality[i], str) and any(loc == inc.locality[i] for loc, _ in person.places)


def _best(candidates: Iterable[int], score: dict[int, float]) -> tuple[int | None, bool]:
    """The single best candidate (lowest score); (None, True) when two tie, (None, False) when none."""
    ranked = sorted(set(candidates), key=lambda i: score[i])
    if not ranked:
        return None, False
    if len(ranked) > 1 and score[ranked[0]] == score[ranked[1]]:
        return None, True
    return ranked[0], False


def _link(person: _Person, inc: _Incidents, opts: AssignOptions) -> tuple[int | None, str | None, bool]:
    """(incident position, rule, ambiguous) for one person; the rule's method is its first word (:data:`METHODS`)."""
    if not person.harmed_by_incident:
        return None, None, False
    ambiguous = False
    referenced = {i for ref in person.refs for i in _positions(inc, inc.codes.get(ref, set()))}
    if len(referenced) == 1:
        return referenced.pop(), "reference", False
    ambiguous |= len(referenced) > 1
    for method, pool in (("named", [i for key in person.names for i in inc.names.get(key, [])
                                    if (i, key) not in person.not_named]),
                         ("family", [i for key in person.families for i in inc.families.get(key, [])])):
        score = {i: _gap(person, inc, i) for i in pool}
        limit = opts.named_window if method == "named" else opts.window
        near = [i for i in pool if score[i] <= limit and (method == "named" or _places_agree(person, inc, i))]
        rule = method
        if method == "family" and not near:  # the family named at the person's own locality: a week, or no date
            near = [i for i in pool if _same_locality(person, inc, i) and (not person.dates or score[i] <= opts.named_window)]
            score = {i: (0.0 if np.isinf(v) else v) for i, v in score.items()}
            rule = "family at own locality"
        if method == "named" and not person.dates and len(set(pool)) == 1:  # no date to check: the one report naming them
            near = [i for i in pool if _places_agree(person, inc, i)]
            rule = "named, no date"
        chosen, tie = _best(near, score)
        if chosen is not None:
            return chosen, rule, False
        ambiguous |= tie
    pool = [i for loc, _ in person.places if loc for i in inc.by_locality.get(loc, [])]
    score = {i: _gap(person, inc, i) for i in pool}
    near = [i for i in pool if score[i] <= opts.locality_days
            and not (inc.family[i] and person.families and not inc.family[i] & person.families
                     and not person.grown_woman)]
    chosen, tie = _best(near, score)
    if chosen is not None and sum(1 for i in near if score[i] <= score[chosen] + 1) == 1:
        return chosen, "locality", False
    return None, None, ambiguous or tie or len(near) > 1


def _one_person_per_name(people: dict[str, _Person], inc: _Incidents, opts: AssignOptions) -> None:
    """A name a report gives is one person: when several persons of the register fit it (cousins
    share a given and a family name), only the nearest in date keeps it; equally near, none does."""
    claims: dict[tuple[int, str], list[tuple[float, str]]] = {}
    for pid, person in people.items():
        for key in person.names:
            for i in set(inc.names.get(key, [])):
                gap = _gap(person, inc, i)
                if gap <= opts.named_window or not person.dates:
                    claims.setdefault((i, key), []).append((gap, pid))
    for slot, claimants in claims.items():
        room = inc.slots.get(slot, 1)
        if len(claimants) <= room:
            continue
        claimants.sort()
        cut = claimants[room - 1][0]
        keep = {pid for gap, pid in claimants[:room]} if claimants[room][0] > cut else set()
        for _, pid in claimants:
            if pid not in keep:
                people[pid].not_named.add(slot)


_HOMES = frozenset({"residential", "shelter"})
#: Fewest relatives of one family name, killed on one day, that make a household hit together.
_GROUP = 3


def _family_groups(people: dict[str, _Person], unlinked: set[str], inc: _Incidents, opts: AssignOptions
                   ) -> dict[str, tuple[int | None, str | None, bool]]:
    """Rule 3 for a household no report names: relatives killed together, to the one strike that fits them.

    Persons still unlinked who share a family name, died on the day of an incident on a
    home or shelter whose reports name no family (nor does a victim linked to it) and may describe
    no other incident (no report of it matched another's at the threshold and was kept apart), in its
    governorate (and its locality when both give one), at least three of them (``_GROUP``) and no more
    killed than its sources' highest count, are its victims when no other such incident fits them.
    """
    homeless = [i for i in range(len(inc.ids)) if inc.kind[i] in _HOMES and not inc.family[i] and i not in inc.doubtful
                and not any(i in found for found in inc.families.values()) and not np.isnan(inc.killed_max[i])]
    by_family: dict[str, list[str]] = {}
    for pid in sorted(unlinked):
        person = people[pid]
        if person.harmed_by_incident and person.dates:
            for key in person.families:
                by_family.setdefault(key, []).append(pid)
    groups: dict[int, set[str]] = {}
    for pids in by_family.values():
        for i in homeless:
            members = [pid for pid in pids if _gap(people[pid], inc, i) == 0 and _places_agree(people[pid], inc, i)
                       and (not isinstance(inc.locality[i], str) or _same_locality(people[pid], inc, i)
                            or not any(loc for loc, _ in people[pid].places))]
            if len(members) >= _GROUP:
                groups.setdefault(i, set()).update(members)
    fits: dict[str, set[int]] = {}
    for i, group in groups.items():  # households hit together: no more killed than its sources counted
        if sum(people[pid].killed for pid in group) <= inc.killed_max[i]:
            for pid in group:
                fits.setdefault(pid, set()).add(i)
    out: dict[str, tuple[int | None, str | None, bool]] = {}
    for pid, incidents in fits.items():
        out[pid] = (next(iter(incidents)), "family group", False) if len(incidents) == 1 else (None, None, True)
    return out


def link_confidence(rule: str, days: float) -> str:
    """The confidence grade of a link (:data:`CONFIDENCE`) by its rule and the days between the person's date and
    the incident's (inf: the person has no date).

    On ten simulated cases (docs/incidents.md, Measurements) the links of each grade were right for: high, a code
    (0.99-1.00), a name within a day or with no date (0.99), a family the same day (0.97), a household (1.00);
    medium, a name 2-7 days apart (0.87), a locality the same day (0.93), a family at the person's locality with
    no date (0.95, 40 records); low, a family a day apart (0.71) or at the person's locality days apart (0.76).

    Example:
        >>> link_confidence("family", 1.0)
        'low'
    """
    method = _method(rule)
    if method == "reference" or rule == "family group" or (method == "named" and days <= 1) or rule == "named, no date":
        return "high"
    if rule == "family":
        return "high" if days == 0 else "low"
    if rule == "family at own locality":
        return "medium" if days == float("inf") else "low"
    return "medium"  # a name 2-7 days apart, a locality


def _method(rule: str) -> str:
    """The method (:data:`METHODS`) a rule belongs to ('family at own locality' -> 'family')."""
    return rule.split()[0].rstrip(",")


def _positions(inc: _Incidents, ids: set[str]) -> list[int]:
    index = {str(v): i for i, v in enumerate(inc.ids)} if ids else {}
    return [index[v] for v in ids if v in index]


def _decide(people: dict[str, _Person], inc: _Incidents, opts: AssignOptions
            ) -> dict[str, tuple[int | None, str | None, bool]]:
    """Every person's (incident position, rule, ambiguous) by the rules in order (``inc.families`` gains the
    families of victims linked by code, name or place)."""
    _one_person_per_name(people, inc, opts)
    first = {pid: _link(person, inc, opts) for pid, person in people.items()}
    for pid, (chosen, rule, _) in first.items():  # relatives of victims linked by code, name or place
        if chosen is None or rule is None or people[pid].grown_woman:  # her family name is not her household's
            continue
        method = _method(rule)
        if method in ("reference", "named") or (method == "locality" and not inc.family[chosen]):
            for key in people[pid].families:
                if chosen not in inc.families.setdefault(key, []):
                    inc.families[key].append(chosen)
    found = {pid: first[pid] if first[pid][0] is not None else _link(person, inc, opts) for pid, person in people.items()}
    found.update(_family_groups(people, {pid for pid, (chosen, _, _) in found.items() if chosen is None}, inc, opts))
    return found


def assign_victims(case: Case, options: AssignOptions | None = None, *, username: str | None = None) -> AssignResult:
    """Link the persons of the current linkage to the incidents of the current deduplication.

    Args:
        case: a linked case with deduplicated incidents.
        options: :class:`AssignOptions`.
        username: who runs it (the OS user by default).

    Returns:
        An :class:`AssignResult`.

    Raises:
        StoreError: the case is not linked, or its incidents are not deduplicated.

    Example:
        >>> assign_victims(Case.open("my-case")).linked  # doctest: +SKIP
        1204
    """
    opts = (options or AssignOptions()).check()
    started = datetime.now(UTC).replace(tzinfo=None)
    link_run = case.current_link_run()
    if link_run is None:
        raise StoreError(f"{case.path} has not been linked: run 'undercount link {case.path}' first")
    dedupe_run = current_dedupe_run(case)
    if dedupe_run is None:
        raise StoreError(f"{case.path} has no deduplicated incidents: run 'undercount incidents dedupe' first")
    people = _persons(_records(case, link_run))
    inc = _incidents(case, dedupe_run)
    found = _decide(people, inc, opts)
    rows, methods, ambiguous = [], {m: 0 for m in METHODS}, 0
    rules: dict[str, int] = {}
    grades = dict.fromkeys(CONFIDENCE, 0)
    for person_id, person in people.items():
        chosen, rule, unsure = found[person_id]
        ambiguous += int(unsure and chosen is None)
        if chosen is None or rule is None:
            continue
        method = _method(rule)
        methods[method] += 1
        rules[rule] = rules.get(rule, 0) + 1
        days = float(_gap(person, inc, chosen))
        grade = link_confidence(rule, days)
        grades[grade] += 1
        rows.append({"person_id": person_id, "incident_id": str(inc.ids[chosen]), "method": method,
                     "killed": person.killed, "score": days, "rule": rule, "confidence": grade})
    links = pd.DataFrame(rows, columns=["person_id", "incident_id", "method", "killed", "score", "rule", "confidence"])
    per_incident = links[links["killed"].astype(bool)].groupby("incident_id").size()
    maxima = {str(k): float(v) for k, v in zip(inc.ids, inc.killed_max)}
    over = sum(1 for k, n in per_incident.items() if not np.isnan(maxima.get(str(k), np.nan)) and n > maxima[str(k)])
    run_id = case.new_run_id("incident-assign")
    result = AssignResult(run_id=run_id, persons=len(people), linked=len(links), by_method=methods,
                          ambiguous=ambiguous, incidents_with_victims=int(links["incident_id"].nunique()),
                          over_reported=over, link_run_id=link_run, dedupe_run_id=dedupe_run,
                          details={"named_window": opts.named_window, "window": opts.window,
                                   "locality_days": opts.locality_days, "by_rule": dict(sorted(rules.items())),
                                   "by_confidence": grades})
    stored = links.assign(run_id=run_id, link_run_id=link_run, dedupe_run_id=dedupe_run)
    try:
        with case.transaction() as con:
            ensure_schema(con)
            con.register("uc_frame", stored)
            con.execute("INSERT INTO uc_victim_incidents BY NAME SELECT * FROM uc_frame")
            con.unregister("uc_frame")
            case.record_run(con, run_id=run_id, kind="incident-assign", started_at=started, username=username,
                            params={"named_window": opts.named_window, "window": opts.window,
                                    "locality_days": opts.locality_days,
                                    "link_run_id": link_run, "dedupe_run_id": dedupe_run},
                            summary={"persons": result.persons, "linked": result.linked, "by_method": methods,
                                     "ambiguous": ambiguous, "over_reported": over})
    except StoreError:
        raise
    except Exception as exc:  # duckdb errors: the transaction was rolled back
        raise StoreError(f"could not store the links to incidents in {case.path}: {type(exc).__name__}") from exc
    return result


def person_incidents(case: Case) -> pd.DataFrame:
    """Each linked person's incident, from the newest assignment run on the current link and dedupe runs.

    Returns:
        person_id, incident_id, method, rule, confidence, incident_date, incident_place, object_type (empty when
        none; rule and confidence are null for runs made before links carried them).
    """
    columns = ["person_id", "incident_id", "method", "rule", "confidence", "incident_date", "incident_place", "object_type"]
    link_run, dedupe_run = case.current_link_run(), current_dedupe_run(case)
    if link_run is None or dedupe_run is None or not table_exists(case, "uc_victim_incidents"):
        return pd.DataFrame(columns=columns)
    runs = case.query(
        "SELECT run_id FROM uc_runs WHERE kind = 'incident-assign' AND json_extract_string(params, '$.link_run_id') = ? "
        "AND json_extract_string(params, '$.dedupe_run_id') = ? ORDER BY finished_at DESC, run_id DESC LIMIT 1",
        [link_run, dedupe_run])
    if runs.empty:
        return pd.DataFrame(columns=columns)
    graded = case.query("SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'uc_victim_incidents' "
                        "AND column_name = 'confidence'")
    rule = "v.rule, v.confidence" if int(graded["n"].iloc[0]) else "NULL AS rule, NULL AS confidence"
    return case.query(
        f"SELECT v.person_id, v.incident_id, v.method, {rule}, i.date_start AS incident_date, i.place AS incident_place, "
        "i.object_type FROM uc_victim_incidents v JOIN uc_incidents i ON i.incident_id = v.incident_id "
        "AND i.run_id = v.dedupe_run_id WHERE v.run_id = ? ORDER BY v.person_id", [str(runs["run_id"].iloc[0])])


def incident_labels(case: Case, person_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Person -> a short label of their incident and the link's grade
    ('I0000123: 17 Oct 2023, Jabalia camp, residential; linked by family, low confidence').

    Args:
        case: the case.
        person_ids: the persons wanted (None: every linked person).

    Returns:
        Labels of the linked persons among them (no names).
    """
    from undercount.incidents.vocab import OBJECT_LABELS

    links = person_incidents(case)
    if person_ids is not None:
        wanted = set(person_ids)
        links = links[links["person_id"].isin(wanted)]
    labels = {}
    for row in rows_of(links):
        when = pd.Timestamp(row["incident_date"]).strftime("%d %b %Y") if row["incident_date"] is not None else "?"
        what = OBJECT_LABELS.get(str(row["object_type"]), "unknown object")
        how = f"; linked by {row['rule']}, {row['confidence']} confidence" if isinstance(row["confidence"], str) else ""
        labels[str(row["person_id"])] = f"{row['incident_id']}: {when}, {row['incident_place'] or '?'}, {what}{how}"
    return labels
