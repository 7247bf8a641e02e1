"""Simulated incidents: victims die in incidents of known type and place, sources report them.

1. **Incidents from the population.** Every household killed together dies in one strike (a
   residential incident, or a shelter when the family was sheltering); a share of those strikes
   hit two or more households of one governorate on one date (a building). A share of the other
   people killed die in public incidents (shelters, schools, aid distributions, hospitals, wells,
   places of worship) of a few to a few dozen victims. Victims of one incident get its date (their
   dates of birth move with it, so ages stay right) and its locality. A strike harms only those it
   can: a household's detained members, and those who died of starvation or disease, are in no
   strike and get a day of their own (a detainee's date is the arrest's), so the cause of death of
   every person killed in an incident is violence, as the weapon says.
2. **Reports.** Each source reports an incident with a logistic chance rising with its size, and
   writes it with its own errors: a day off, a month only, the governorate only, jittered
   coordinates, a related object type (a school used as a shelter), noisy counts and ranges,
   another suspected actor (competing claims), an update reported twice.
3. **Victim lists** name the locality instead of the governorate in some rows, and some lists
   carry the incident code of one source (casualty recorders publish named victims per incident).
4. **Displacement**: weekly counts of people displaced by governorate of origin and arrival.

The truth is kept: ``truth_incidents.csv`` (one row per incident), ``truth_incident_reports.csv``
(file, row, incident_id) and the population's ``incident_id`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from undercount.incidents.places import LOCALITIES
from undercount.simulate.incident_config import IncidentConfig, IncidentSourceConfig
from undercount.simulate.writers import write_csv, write_json, write_table, write_xlsx

__all__ = ["SimulatedIncidents", "make_incidents", "write_incident_reports", "victim_list_extras",
           "write_displacement", "OBJECT_WORDS_AR", "REF_HEADERS"]

_HARMED = ("killed", "injured", "missing")
_RELATED = {"school": "shelter", "shelter": "school", "residential": "shelter", "health_facility": "shelter",
            "place_of_worship": "shelter", "aid_distribution": "other", "water_sanitation": "other",
            "other": "residential"}
_WEAPONS = {"residential": {"airstrike": 0.8, "shelling": 0.15, "drone": 0.05},
            "aid_distribution": {"gunfire": 0.6, "shelling": 0.3, "drone": 0.1},
            "default": {"airstrike": 0.6, "shelling": 0.3, "drone": 0.1}}
OBJECT_WORDS_EN = {"residential": "home", "shelter": "shelter", "school": "school", "aid_distribution": "aid distribution",
                   "health_facility": "hospital", "place_of_worship": "mosque", "water_sanitation": "water well",
                   "other": "other"}
OBJECT_WORDS_AR = {"residential": "منزل", "shelter": "مركز إيواء", "school": "مدرسة", "aid_distribution": "توزيع مساعدات",
                   "health_facility": "مستشفى", "place_of_worship": "مسجد", "water_sanitation": "بئر مياه",
                   "other": "أخرى"}
WEAPON_WORDS_AR = {"airstrike": "غارة جوية", "shelling": "قصف مدفعي", "gunfire": "إطلاق نار", "drone": "طائرة مسيرة"}
PLACE_AR = {"North Gaza": "شمال غزة", "Gaza": "غزة", "Deir al-Balah": "دير البلح", "Khan Younis": "خان يونس",
            "Rafah": "رفح"}
_HEADERS = {
    "english": {"code": "incident id", "date": "date", "place": "location", "adm1": "governorate", "lat": "latitude",
                "lon": "longitude", "object": "type", "weapon": "weapon", "killed": "killed", "injured": "injured",
                "actor": "suspected actor", "family": "family", "victims": "victim names", "source": "source",
                "kind": "source type",
                "url": "url", "acknowledged": "acknowledged"},
    "arabic": {"code": "رقم الحادثة", "date": "التاريخ", "place": "المكان", "adm1": "المحافظة", "lat": "خط العرض",
               "lon": "خط الطول", "object": "نوع الهدف", "weapon": "السلاح", "killed": "عدد الشهداء",
               "injured": "عدد الجرحى", "actor": "الجهة المنفذة", "family": "العائلة",
               "victims": "أسماء الشهداء", "source": "المصدر",
               "kind": "نوع المصدر", "url": "الرابط", "acknowledged": "اعتراف"},
}
_TAGS = {"code": "#event+id", "date": "#date", "place": "#loc+name", "adm1": "#adm1+name", "lat": "#geo+lat",
         "lon": "#geo+lon", "object": "#loc+type", "weapon": "#event+weapon", "killed": "#affected+killed",
         "injured": "#affected+injured", "actor": "#org+perpetrator", "family": "#group+family",
         "victims": "#x_victims+name",
         "source": "#meta+source", "kind": "#meta+source+type", "url": "#meta+url", "acknowledged": "#meta+acknowledged"}
#: The header of the incident-code column a victim list gets, by the list's header style.
REF_HEADERS = {"arabic": "رقم الحادثة", "english": "incident", "english_title": "Incident ID",
               "unusual": "رمز الحادثة"}
_OUTLETS = ("Outlet One", "Outlet Two", "Outlet Three", "Outlet Four", "Outlet Five", "Outlet Six")


@dataclass(frozen=True)
class SimulatedIncidents:
    """Incidents drawn for a population.

    Attributes:
        population: the population with its incident_id and locality columns (dates moved to incidents).
        incidents: one row per true incident (incident_id, date, adm1, locality, lat, lon, object_type,
            weapon, actor, killed, injured, family, households).
    """

    population: pd.DataFrame
    incidents: pd.DataFrame


def _localities_of(adm1: str) -> list[str]:
    return [name for name, (area, *_rest) in LOCALITIES.items() if area == adm1]


def _pick(rng: np.random.Generator, shares: dict[str, float]) -> str:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    return str(keys[int(rng.choice(len(keys), p=p / p.sum()))])


def _struck(pop: pd.DataFrame) -> np.ndarray:
    """People a strike can harm: killed by violence (not starvation or disease), injured or missing."""
    harmed = pop["status"].isin(_HARMED).to_numpy()
    by_violence = pop["cause"].fillna("direct_violence").eq("direct_violence").to_numpy()
    struck: np.ndarray = harmed & by_violence
    return struck


def _units(pop: pd.DataFrame, cfg: IncidentConfig, rng: np.random.Generator) -> list[list[int]]:
    """Groups of row positions: households killed together, some merged into one strike on a building.

    Every member killed, injured or missing is in the group; :func:`make_incidents` keeps only those
    the strike harmed (:func:`_struck`).
    """
    together = pop["killed_together"].to_numpy(dtype=bool) & pop["status"].isin(_HARMED).to_numpy()
    frame = pop.loc[together, ["household_id", "place", "event_date"]].copy()
    frame["pos"] = np.flatnonzero(together)
    households = frame.groupby("household_id", sort=True).agg(pos=("pos", list), place=("place", "first"),
                                                             date=("event_date", "first"))
    households = households.sample(frac=1.0, random_state=np.random.RandomState(int(rng.integers(2**31))))
    households = households.iloc[: int(round(len(households) * cfg.household_share))]
    households = households.sort_values(["place", "date"], kind="stable")
    units: list[list[int]] = []
    last_place: str | None = None
    last_date: pd.Timestamp | None = None
    for pos, place, date in zip(households["pos"].tolist(), households["place"].tolist(), households["date"].tolist()):
        when = pd.Timestamp(date)
        if (units and place == last_place and last_date is not None and abs((when - last_date).days) <= 3
                and len(units[-1]) < 25 and rng.random() < cfg.merge_share):
            units[-1].extend(int(p) for p in pos)
            continue
        units.append([int(p) for p in pos])
        last_place, last_date = str(place), when
    return units


def _public(pop: pd.DataFrame, cfg: IncidentConfig, rng: np.random.Generator) -> list[list[int]]:
    """Groups of people killed (or hurt) away from their household, in public incidents."""
    eligible = _struck(pop) & ~pop["killed_together"].to_numpy(dtype=bool)
    chosen = np.flatnonzero(eligible & (rng.random(len(pop)) < cfg.public_share))
    frame = pd.DataFrame({"pos": chosen, "place": pop["place"].to_numpy()[chosen],
                          "date": pop["event_date"].to_numpy()[chosen]}).sort_values(["place", "date"], kind="stable")
    groups: list[list[int]] = []
    for _, part in frame.groupby("place", sort=True):
        positions = part["pos"].tolist()
        i = 0
        while i < len(positions):
            size = 1 + int(rng.poisson(cfg.public_size - 1))
            groups.append(positions[i:i + max(2, size)])
            i += max(2, size)
    return groups


def make_incidents(population: pd.DataFrame, cfg: IncidentConfig, rng: np.random.Generator) -> SimulatedIncidents:
    """Draw the incidents of a population and move their victims' dates and places to them.

    Args:
        population: the true population (from :func:`undercount.simulate.population.make_population`).
        cfg: the incident settings.
        rng: the random generator.

    Returns:
        The population with ``incident_id`` and ``locality`` columns, and the incidents.
    """
    pop = population.copy()
    groups = [("household", g) for g in _units(pop, cfg, rng)] + [("public", g) for g in _public(pop, cfg, rng)]
    # Only those a strike harms are in it: a household's detained members, and those who died of starvation or
    # disease, were not killed by the strike on their home (they get a day of their own, _own_dates). They are
    # taken out of the groups drawn, and a group left empty is no incident, but every draw is made as if they
    # were in (the same order, the same draws per group), so each seed's other incidents stay as they were.
    struck = _struck(pop)
    order = sorted(range(len(groups)), key=lambda k: (pop["event_date"].iloc[groups[k][1][0]], groups[k][1][0]))
    incident_col = np.full(len(pop), None, dtype=object)
    dates = pop["event_date"].to_numpy(dtype="datetime64[D]").copy()
    births = pop["date_of_birth"].to_numpy(dtype="datetime64[D]").copy()
    rows = []
    for number, k in enumerate(order, start=1):
        kind, drawn = groups[k]
        members = [p for p in drawn if struck[p]]
        incident_id = f"T{number:05d}"
        first = drawn[0]
        date = dates[first]
        adm1 = str(pop["place"].iloc[first])
        shift = date - dates[members]
        dates[members] = date
        births[members] = births[members] + shift
        incident_col[members] = incident_id
        if kind == "household":
            obj = "shelter" if rng.random() < cfg.shelter_share else "residential"
            families = pd.unique(pop["household_family"].to_numpy()[members])
            family = ";".join(str(f) for f in families)
        else:
            obj, family = _pick(rng, cfg.objects), None
        localities = _localities_of(adm1)
        locality = str(localities[int(rng.integers(len(localities)))]) if localities else None
        lat = lon = None
        if locality is not None:
            _, clat, clon, _ = LOCALITIES[locality]
            lat, lon = clat + float(rng.normal(0, 0.006)), clon + float(rng.normal(0, 0.006))
        status = pop["status"].to_numpy()[members]
        killed = int((status == "killed").sum())
        drawn_killed = int((pop["status"].to_numpy()[drawn] == "killed").sum())  # the draw as made before (see above)
        injured = int((status == "injured").sum()) + int(rng.poisson(cfg.extra_injured * max(drawn_killed, 1)))
        row = {"incident_id": incident_id, "date": pd.Timestamp(date).date(), "adm1": adm1, "locality": locality,
                     "lat": lat, "lon": lon, "object_type": obj,
                     "weapon": _pick(rng, _WEAPONS.get(obj, _WEAPONS["default"])), "actor": _pick(rng, cfg.actors),
                     "killed": killed, "injured": injured, "victims": len(members), "family": family,
                     "killed_ids": ";".join(str(pid) for pid, st in zip(pop["person_id"].to_numpy()[members], status)
                                            if st == "killed"),
                     "households": int(pop["household_id"].iloc[members].nunique())}
        if members:
            rows.append(row)
    pop["event_date"] = dates
    pop["date_of_birth"] = births
    pop["incident_id"] = incident_col
    incident_table = pd.DataFrame(rows)
    by_id = incident_table.set_index("incident_id")["locality"] if len(incident_table) else pd.Series(dtype=object)
    own = pd.Series(incident_col).map(by_id).to_numpy(dtype=object)
    others = np.array([_random_locality(str(p), rng) for p in pop["place"]], dtype=object)
    pop["locality"] = np.where(pd.isna(own), others, own)
    _own_dates(pop, rng)
    return SimulatedIncidents(pop, incident_table)


def _own_dates(pop: pd.DataFrame, rng: np.random.Generator) -> None:
    """Give a household's members whom its strike did not harm a date of their own (in place).

    The population draws one day for a household killed together, whatever each member's status
    or cause. A detainee's date on a real list is the day of the arrest, and a death by starvation
    or disease has its own day; neither is the day of the strike on the home. Their day is drawn from
    the days of the people not killed together (the population's own-day distribution), and the
    date of birth moves with it, so ages stay right. Drawn after everything else, so the incidents
    and reports of a seed are those the other draws make.
    """
    together = pop["killed_together"].to_numpy(dtype=bool)
    apart = together & pop["incident_id"].isna().to_numpy() & ~_struck(pop)
    pool = pop["event_date"].to_numpy(dtype="datetime64[D]")[~together]
    if not apart.any() or not len(pool):
        return
    dates = pop["event_date"].to_numpy(dtype="datetime64[D]").copy()
    births = pop["date_of_birth"].to_numpy(dtype="datetime64[D]").copy()
    new = pool[rng.integers(len(pool), size=int(apart.sum()))]
    births[apart] = births[apart] + (new - dates[apart])
    dates[apart] = new
    pop["event_date"] = dates
    pop["date_of_birth"] = births


def _random_locality(adm1: str, rng: np.random.Generator) -> str | None:
    options = _localities_of(adm1)
    return str(options[int(rng.integers(len(options)))]) if options else None


# -- reports ------------------------------------------------------------------------------------
def _reported(incidents: pd.DataFrame, src: IncidentSourceConfig, rng: np.random.Generator) -> np.ndarray:
    eligible = incidents["object_type"].isin(src.objects).to_numpy() if src.objects else np.ones(len(incidents), bool)
    size = np.log1p(incidents["killed"].to_numpy(dtype=float))
    centre = float(np.median(size)) if len(size) else 0.0
    chance = np.asarray(expit(logit(np.clip(src.capture, 1e-6, 1 - 1e-6)) + src.size_effect * (size - centre)))
    reported: np.ndarray = eligible & (rng.random(len(incidents)) < chance)
    return reported


def _count_text(true: int, src: IncidentSourceConfig, rng: np.random.Generator, *, arabic: bool) -> str:
    if rng.random() < src.count_missing:
        return "غير معروف" if arabic else "unknown"
    value = max(0, int(round(true * float(np.exp(rng.normal(0.0, src.count_noise))))))
    if rng.random() < src.count_range and value > 2:
        low, high = int(round(value * 0.85)), int(round(value * 1.2)) + 1
        return f"{low}-{high}"
    return str(value)


def _place_text(incident: pd.Series, src: IncidentSourceConfig, rng: np.random.Generator) -> tuple[str, str]:
    arabic = src.language == "arabic"
    adm1 = str(incident["adm1"])
    area = PLACE_AR.get(adm1, adm1) if arabic else adm1
    locality = incident["locality"]
    if not isinstance(locality, str) or rng.random() < src.adm1_only:
        return area, area
    name = LOCALITIES[locality][3][0] if arabic else locality
    return name, area


def _names(incident: pd.Series, src: IncidentSourceConfig, names: pd.Series, rng: np.random.Generator) -> str | None:
    """Some of the killed, by name (Arabic as recorded, or transliterated), when the source names them."""
    ids = [i for i in str(incident["killed_ids"] or "").split(";") if i]
    if not ids or rng.random() >= src.victims_named or src.max_named < 1:
        return None
    chosen = rng.choice(ids, size=min(len(ids), src.max_named), replace=False)
    written = []
    for pid in chosen:
        name = str(names[pid])
        if src.language != "arabic":
            from undercount.names import transliterate

            name = " ".join(transliterate(t, rng) for t in name.split())
        written.append(name)
    return "; ".join(written) if src.language != "arabic" else "، ".join(written)


def _weapon(incident: pd.Series, src: IncidentSourceConfig, side: np.random.Generator) -> str | None:
    """The weapon a report names: the one used, another of those used on such objects, or none.

    Drawn from ``side``, a stream of its own, so that every other draw of a seed is what it was
    before reports disagreed on weapons.
    """
    used = str(incident["weapon"])
    draw = float(side.random())
    if draw < src.weapon_missing:
        return None
    others = [w for w in _WEAPONS.get(str(incident["object_type"]), _WEAPONS["default"]) if w != used]
    if draw < src.weapon_missing + src.weapon_other and others:
        return str(others[int(side.integers(len(others)))])
    return used


def _report_row(incident: pd.Series, src: IncidentSourceConfig, code: str | None, rng: np.random.Generator,
                actors: list[str], names: pd.Series, side: np.random.Generator) -> dict[str, str | None]:
    arabic = src.language == "arabic"
    date = pd.Timestamp(incident["date"])
    if rng.random() < src.date_shift:
        date += pd.Timedelta(days=int(rng.choice([-1, 1])))
    date_text = date.strftime("%Y-%m") if rng.random() < src.month_only else date.strftime("%Y-%m-%d")
    place, area = _place_text(incident, src, rng)
    obj = str(incident["object_type"])
    if rng.random() < src.object_confusion:
        obj = _RELATED[obj]
    lat = lon = None
    if incident["lat"] is not None and not pd.isna(incident["lat"]) and rng.random() < src.coords:
        jitter = src.coord_jitter_m / 111_000
        lat = f"{float(incident['lat']) + float(rng.normal(0, jitter)):.5f}"
        lon = f"{float(incident['lon']) + float(rng.normal(0, jitter)):.5f}"
    actor = None
    if rng.random() < src.actor_named:
        actor = str(incident["actor"])
        if rng.random() < src.actor_other and len(actors) > 1:
            actor = str(rng.choice([a for a in actors if a != actor]))
    family = None
    if isinstance(incident["family"], str) and obj in ("residential", "shelter") and rng.random() < src.family_named:
        named = str(incident["family"]).split(";")
        named = [named[i] for i in sorted(rng.choice(len(named), size=min(len(named), 3), replace=False))]
        if arabic:
            family = "، ".join(f"عائلة {f}" for f in named)
        else:
            from undercount.names import transliterate

            family = "; ".join(" ".join(transliterate(t, rng) for t in f.split()) + " family" for f in named)
    weapon = _weapon(incident, src, side)
    outlet = str(rng.choice(_OUTLETS)) if src.kind == "press" else src.name
    return {
        "code": code, "date": date_text, "place": place, "adm1": area, "lat": lat, "lon": lon,
        "object": OBJECT_WORDS_AR[obj] if arabic else OBJECT_WORDS_EN[obj],
        "weapon": WEAPON_WORDS_AR.get(weapon, weapon) if arabic and weapon is not None else weapon,
        "killed": _count_text(int(incident["killed"]), src, rng, arabic=arabic),
        "injured": _count_text(int(incident["injured"]), src, rng, arabic=arabic),
        "actor": actor, "family": family, "victims": _names(incident, src, names, rng), "source": outlet,
        "kind": src.kind,
        "url": f"https://example.org/{src.name}/{int(rng.integers(16**8)):08x}",
        "acknowledged": "yes" if src.acknowledged else None,
    }


def write_incident_reports(incidents: pd.DataFrame, cfg: IncidentConfig, out: Path, rng: np.random.Generator,
                           population: pd.DataFrame) -> tuple[dict[str, Path], pd.DataFrame, pd.DataFrame]:
    """Write one file of reports per source.

    Returns:
        (source -> file written, truth rows file,row,incident_id, codes incident_id,source,code).
    """
    files: dict[str, Path] = {}
    truth: list[dict[str, object]] = []
    codes: list[dict[str, object]] = []
    actors = list(cfg.actors)
    names = population.set_index("person_id")["full_name"]
    side = rng.spawn(1)[0]  # weapons named: a stream of their own (spawning draws nothing from rng)
    for src in cfg.sources:
        reported = incidents[_reported(incidents, src, rng)]
        rows, ids = [], []
        for number, (_, incident) in enumerate(reported.iterrows(), start=1):
            code = f"{src.code_prefix}{number:05d}" if src.code_prefix else None
            if code is not None:
                codes.append({"incident_id": incident["incident_id"], "source": src.name, "code": code})
            row = _report_row(incident, src, code, rng, actors, names, side)
            rows.append(row)
            ids.append(incident["incident_id"])
            if rng.random() < src.duplicate:  # an update: the same code, a new count
                again = _report_row(incident, src, code, rng, actors, names, side)
                again["date"] = row["date"]
                rows.append(again)
                ids.append(incident["incident_id"])
        keys = [k for k in _HEADERS["english"] if any(r[k] is not None for r in rows)] or ["date", "place"]
        headers = _HEADERS[src.language]
        table = pd.DataFrame([{headers[k]: r[k] for k in keys} for r in rows], columns=[headers[k] for k in keys])
        files[src.name] = _write_reports(table, [_TAGS[k] for k in keys], src, out)
        truth.extend({"file": f"incidents_{src.name}", "row": i, "incident_id": t} for i, t in enumerate(ids, start=1))
    return files, pd.DataFrame(truth, columns=["file", "row", "incident_id"]), \
        pd.DataFrame(codes, columns=["incident_id", "source", "code"])


def _write_reports(table: pd.DataFrame, tags: list[str], src: IncidentSourceConfig, out: Path) -> Path:
    stem = out / f"incidents_{src.name}"
    if src.file_format == "xlsx":
        write_xlsx(table, stem.with_suffix(".xlsx"))
        return stem.with_suffix(".xlsx")
    if src.file_format == "json":
        records = [{k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and np.isnan(v))}
                   for row in table.to_dict(orient="records")]
        write_json(records, stem.with_suffix(".json"))
        return stem.with_suffix(".json")
    if src.file_format == "hxl":
        table = pd.concat([pd.DataFrame([tags], columns=table.columns), table], ignore_index=True)
    write_csv(table.astype(object).where(table.notna(), None), stem.with_suffix(".csv"))
    return stem.with_suffix(".csv")


# -- victim lists ---------------------------------------------------------------------------------
def victim_list_extras(table: pd.DataFrame, person_ids: pd.Series, population: pd.DataFrame, codes: pd.DataFrame,
                       *, place_header: str | None, arabic: bool, ref_header: str | None, locality_share: float,
                       ref_share: float, ref_source: str, rng: np.random.Generator) -> pd.DataFrame:
    """A victim list's cells with localities in some place cells and incident codes in a new column.

    Args:
        table: the list's cells (rows in file order); person_ids: the true person of each row.
        population: the population with incident_id and locality.
        codes: incident_id, source, code of the reports written.
        place_header: the list's place column (None when it has none); arabic: write Arabic names.
        ref_header: the header of the incident-code column (None: no column).
        locality_share, ref_share: shares of rows that get a locality, a code.
        ref_source: the source whose codes are written.
        rng: the random generator.

    Returns:
        The new cells.
    """
    out = table.copy()
    people = population.set_index("person_id")
    locality = person_ids.map(people["locality"]).to_numpy(dtype=object)
    if place_header is not None and place_header in out and locality_share > 0:
        pick = (rng.random(len(out)) < locality_share) & pd.notna(locality) & out[place_header].notna().to_numpy()
        names = [LOCALITIES[v][3][0] if arabic else v for v in locality[pick]]
        column = out[place_header].astype(object).to_numpy().copy()
        column[pick] = names
        out[place_header] = column
    if ref_header is not None and ref_share > 0:
        mine = codes[codes["source"] == ref_source].drop_duplicates("incident_id").set_index("incident_id")["code"]
        incident = person_ids.map(people["incident_id"])
        code = incident.map(mine).to_numpy(dtype=object)
        pick = (rng.random(len(out)) < ref_share) & pd.notna(code)
        code[~pick] = None
        out[ref_header] = code
    return out


# -- displacement ---------------------------------------------------------------------------------
_WAVES = (
    ("2023-10-13", 7, "North Gaza", {"Deir al-Balah": 0.4, "Khan Younis": 0.35, "Rafah": 0.25}, 240_000),
    ("2023-10-13", 7, "Gaza", {"Deir al-Balah": 0.45, "Khan Younis": 0.3, "Rafah": 0.25}, 380_000),
    ("2023-12-03", 8, "Khan Younis", {"Rafah": 0.8, "Deir al-Balah": 0.2}, 300_000),
    ("2024-05-06", 6, "Rafah", {"Khan Younis": 0.55, "Deir al-Balah": 0.45}, 700_000),
)


def write_displacement(out: Path, rng: np.random.Generator, start: str, end: str) -> tuple[list[Path], pd.DataFrame]:
    """Weekly counts of people displaced by governorate of origin and of arrival.

    Writes ``displacement.csv`` (English headers with an HXL hashtag row, as IOM DTM tables on HDX)
    and ``displacement_ocha.json`` (arrivals only, Arabic keys). Returns the files and the truth
    (week, origin, arrival, displaced).
    """
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    rows = []
    for first, weeks, origin, arrivals, total in _WAVES:
        begin = pd.Timestamp(first)
        weights = np.exp(-np.arange(weeks) / 2.0)
        per_week = rng.multinomial(total, weights / weights.sum())
        for w, people in enumerate(per_week):
            week = begin + pd.Timedelta(weeks=w)
            if not lo <= week <= hi:
                continue
            split = rng.multinomial(int(people), list(arrivals.values()))
            for arrival, n in zip(arrivals, split):
                rows.append({"week": week.date(), "origin": origin, "arrival": arrival, "displaced": int(n)})
    truth = pd.DataFrame(rows, columns=["week", "origin", "arrival", "displaced"])
    table = pd.DataFrame({
        "Week starting": [str(d) for d in truth["week"]], "Governorate of origin": truth["origin"],
        "Governorate of arrival": truth["arrival"], "IDPs (individuals)": truth["displaced"].astype(str),
        "IDP households": (truth["displaced"] / 5.5).round().astype(int).astype(str)})
    tags = ["#date", "#adm1+name+origin", "#adm1+name", "#affected+idps+ind", "#affected+idps+hh"]
    hxl = pd.concat([pd.DataFrame([tags], columns=table.columns), table], ignore_index=True)
    first_path = out / "displacement.csv"
    write_csv(hxl, first_path)
    totals = truth.groupby(["week", "arrival"], sort=True)["displaced"].sum().reset_index()
    records = [{"الأسبوع": str(w), "محافظة الوصول": PLACE_AR[str(a)], "عدد النازحين": int(n)}
               for w, a, n in zip(totals["week"].tolist(), totals["arrival"].tolist(), totals["displaced"].tolist())]
    second_path = out / "displacement_ocha.json"
    write_json(records, second_path)
    write_table(truth, out / "truth_displacement.csv")
    return [first_path, second_path], truth
