"""Incident reports: the columns of an incidents file and how each cell is read.

One row of an incidents file is one *report*: what one source said about one incident. Reports
are deduplicated into incidents by :mod:`undercount.incidents.dedupe`. Every cell is checked;
every problem is reported with its row and column, never with the cell's text.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import InputProblem
from undercount.incidents import vocab
from undercount.incidents.files import EntityKind, EntitySpec, ParsedRows
from undercount.incidents.places import resolve_place
from undercount.ingest.columns import fold, to_ascii_digits
from undercount.ingest.validate import parse_dates

__all__ = ["INCIDENT_FIELDS", "INCIDENTS", "REPORT_COLUMNS", "read_dates", "family_keys", "victim_keys", "cells_of",
           "compact_key", "given_family_keys", "name_list"]

INCIDENT_FIELDS = (
    "code", "date", "date_end", "date_precision", "place", "adm1", "admin_level", "lat", "lon", "geo_precision",
    "object_type", "object_name", "weapon", "killed", "killed_min", "killed_max", "injured", "injured_min",
    "injured_max", "actor", "acknowledged", "source", "source_kind", "reference", "archive_hash",
    "reported_date", "credible", "assessment", "family", "victims", "description",
)
REPORT_COLUMNS = (
    "code", "date_start", "date_end", "date_precision", "place", "place_written", "locality", "adm1", "admin_level",
    "lat", "lon", "geo_precision_m", "object_type", "object_name", "weapon", "weapon_class", "killed_min",
    "killed_max", "injured_min", "injured_max", "actor", "acknowledged", "source_name", "source_kind", "reference",
    "archive_hash", "reported_date", "credible", "assessment", "family", "family_keys", "victims", "victim_keys",
    "description",
)


def _aliases(**groups: list[str]) -> dict[str, str]:
    return {fold(a): fld for fld, names in groups.items() for a in (fld, *names)}


_ALIASES = _aliases(
    code=["incident id", "incident code", "incident ref", "incident reference", "incident no", "incident number",
          "event id", "event code", "id", "code", "رقم الحادثة", "رمز الحادثة", "معرف الحادثة", "الرقم"],
    date=["incident date", "date of incident", "date of attack", "attack date", "event date", "occurred", "day",
          "التاريخ", "تاريخ الحادثة", "تاريخ الهجوم", "تاريخ الحدث", "اليوم"],
    date_end=["end date", "date to", "to date", "until", "تاريخ الانتهاء"],
    date_precision=["date precision", "precision", "date accuracy", "دقة التاريخ"],
    place=["location", "locality", "town", "city", "village", "area", "neighbourhood", "neighborhood", "site",
           "camp", "place name", "المكان", "الموقع", "المنطقة", "البلدة", "الحي", "المدينة", "القرية"],
    adm1=["governorate", "province", "region", "admin1", "adm1 name", "المحافظة", "المنطقة الإدارية"],
    admin_level=["admin level", "adm level", "location level", "place level", "المستوى الإداري"],
    lat=["latitude", "y", "خط العرض"],
    lon=["longitude", "lng", "long", "x", "خط الطول"],
    geo_precision=["geo precision", "location precision", "coordinate precision", "coordinates precision",
                   "دقة الموقع"],
    object_type=["object type", "target type", "facility type", "type of object", "type of facility", "object",
                 "target", "type", "category", "نوع الهدف", "نوع المنشأة", "الهدف", "نوع المكان"],
    object_name=["facility", "facility name", "object name", "target name", "building", "اسم المنشأة", "المنشأة"],
    weapon=["weapon", "cause", "means", "attack type", "type of attack", "weapon type", "weapon used", "السلاح",
            "نوع الهجوم", "الوسيلة", "نوع السلاح"],
    killed=["deaths", "dead", "fatalities", "number killed", "civilians killed", "killed total",
            "الشهداء", "عدد الشهداء", "القتلى", "عدد القتلى"],
    killed_min=["killed min", "min killed", "minimum killed", "deaths min", "fatalities min", "civilians killed min"],
    killed_max=["killed max", "max killed", "maximum killed", "deaths max", "fatalities max", "civilians killed max"],
    injured=["wounded", "injuries", "number injured", "الجرحى", "المصابين", "المصابون", "عدد الجرحى", "عدد المصابين"],
    injured_min=["injured min", "min injured", "wounded min"],
    injured_max=["injured max", "max injured", "wounded max"],
    actor=["suspected actor", "alleged actor", "perpetrator", "alleged perpetrator", "suspected perpetrator",
           "party", "belligerent", "attributed to", "الجهة", "الجهة المنفذة", "الفاعل", "الجهة المسؤولة"],
    acknowledged=["responsibility accepted", "responsibility", "claimed", "admitted", "acknowledgement",
                  "اعتراف", "تبني", "تبنى المسؤولية"],
    source=["source name", "publisher", "outlet", "reported by", "organisation", "organization", "المصدر",
            "الجهة الناشرة"],
    source_kind=["source type", "source kind", "type of source", "نوع المصدر"],
    reference=["url", "link", "source url", "source link", "document", "الرابط", "المرجع"],
    archive_hash=["archive hash", "archive sha256", "archive", "archived copy", "sha256", "بصمة الأرشيف"],
    reported_date=["report date", "date reported", "published", "publication date", "تاريخ النشر", "تاريخ التبليغ"],
    credible=["reliable", "source credible", "موثوق"],
    assessment=["grade", "confidence", "certainty", "certainty level", "verification", "التقييم", "درجة الثقة",
                "درجة التأكد"],
    family=["family name", "family targeted", "home of family", "العائلة", "اسم العائلة", "عائلة"],
    victims=["victim names", "names of victims", "named victims", "names", "victims named", "أسماء الضحايا",
             "اسماء الضحايا", "أسماء الشهداء", "اسماء الشهداء"],
    description=["summary", "details", "notes", "narrative", "الوصف", "التفاصيل", "ملاحظات"],
)


def _tag_field(tag: str, attrs: frozenset[str]) -> str | None:
    """The field an HXL hashtag holds (core HXL 1.1 where one fits, ``#x_`` otherwise)."""
    if tag == "#event":
        return "weapon" if attrs & {"weapon", "means"} else "code"
    if tag == "#date":
        if "reported" in attrs or "published" in attrs:
            return "reported_date"
        return "date_end" if "end" in attrs else "date"
    if tag in ("#loc", "#adm2", "#adm3", "#adm4"):
        return "object_type" if "type" in attrs else "object_name" if "facility" in attrs else "place"
    if tag == "#adm1":
        return None if "code" in attrs else "adm1"
    if tag == "#geo":
        return "lat" if "lat" in attrs else "lon" if "lon" in attrs else "geo_precision" if "precision" in attrs else None
    if tag == "#affected":
        kind = "killed" if attrs & {"killed", "dead", "deaths"} else "injured" if attrs & {"injured", "wounded"} else None
        if kind is None or "named" in attrs:
            return None
        return f"{kind}_min" if "min" in attrs else f"{kind}_max" if "max" in attrs else kind
    if tag in ("#actor", "#x_actor") or (tag in ("#org", "#group") and attrs & {"perpetrator", "actor"}):
        return "actor"
    if tag in ("#meta", "#org"):
        for attr, fld in (("grade", "assessment"), ("certainty", "assessment"), ("url", "reference"),
                          ("link", "reference"), ("archive", "archive_hash"), ("hash", "archive_hash"),
                          ("credible", "credible"), ("acknowledged", "acknowledged")):
            if attr in attrs:
                return fld
        if "source" in attrs:
            return "source_kind" if "type" in attrs or "kind" in attrs else "source"
        if "id" in attrs and tag == "#meta":
            return "code"
        return None
    if tag == "#x_object":
        return "object_type"
    if tag in ("#x_family", "#group") and (tag == "#x_family" or "family" in attrs):
        return "family"
    if tag == "#x_victims" or (tag == "#affected" and "named" in attrs and "name" in attrs):
        return "victims"
    if tag == "#description":
        return "description"
    return None


def cells_of(cells: pd.DataFrame, columns: dict[str, str], fld: str) -> pd.Series:
    """The stripped cells of a field's column; null where empty or where the file lacks it."""
    header = columns.get(fld)
    if header is None:
        return pd.Series(pd.NA, index=cells.index, dtype="str")
    col = cells[header].astype("str").str.strip()
    return col.mask(col == "")


_MONTHS = {name.casefold(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS.update({m: i + 1 for i, m in enumerate(("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو",
                                                 "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"))})
_MONTHS.update({m: i + 1 for i, m in enumerate(("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز",
                                                 "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"))})
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
_NAMED_MONTH = re.compile(r"^(.+?)\s+(\d{4})$")
_PRECISIONS = {fold(k): v for k, v in {
    "day": "day", "exact": "day", "date": "day", "يوم": "day", "week": "week", "أسبوع": "week", "اسبوع": "week",
    "month": "month", "شهر": "month", "year": "year", "سنة": "year", "عام": "year"}.items()}


def _coarse_date(text: str) -> tuple[date, str] | None:
    """A month or a year: '2023-10', '10/2023', 'October 2023', 'تشرين الأول 2023', '2023'."""
    text = to_ascii_digits(text).strip()
    for pattern, year_first in ((_YEAR_MONTH, True), (_MONTH_YEAR, False)):
        match = pattern.match(text)
        if match:
            year, month = (int(match[1]), int(match[2])) if year_first else (int(match[2]), int(match[1]))
            return (date(year, month, 1), "month") if 1 <= month <= 12 and 1880 <= year <= 2100 else None
    match = _NAMED_MONTH.match(text)
    if match and match[1].casefold().strip(" ,") in _MONTHS:
        year = int(match[2])
        return (date(year, _MONTHS[match[1].casefold().strip(" ,")], 1), "month") if 1880 <= year <= 2100 else None
    if text.isdigit() and len(text) == 4 and 1880 <= int(text) <= 2100:
        return date(int(text), 1, 1), "year"
    return None


def _end_of(start: date, precision: str) -> date:
    if precision == "week":
        return start + timedelta(days=6)
    if precision == "month":
        return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
    if precision == "year":
        return date(start.year, 12, 31)
    return start


def read_dates(cells: pd.Series, precision_cells: pd.Series, formats: tuple[str, ...] | None, header: str,
               precision_header: str | None) -> tuple[pd.DataFrame, list[InputProblem]]:
    """Dates with their precision: a day (any accepted format), a month or a year.

    Args:
        cells: the date cells (null when empty); precision_cells: an optional precision column.
        formats: the spec's strptime formats of days (None: every form the victim importer reads).
        header, precision_header: the columns' headers, for problems.

    Returns:
        (frame of date_start, date_end, date_precision; problems with 0-based positions as rows).
    """
    days, unreadable, out_of_range = parse_dates(cells, formats)
    starts: list[date | None] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in days]
    precision: list[str | None] = ["day" if s is not None else None for s in starts]
    problems: list[InputProblem] = []
    for i in (int(k) for k in np.flatnonzero(unreadable.to_numpy() | out_of_range.to_numpy())):
        coarse = _coarse_date(str(cells.iloc[i]))
        if coarse is None:
            day = f"one of the spec's formats ({', '.join(formats)})" if formats else \
                "such as 2023-10-17, 17/10/2023 or 17 October 2023"
            problems.append(InputProblem(f"not a date (a day {day}; a month such as 2023-10 or October 2023; "
                                         "a year such as 2023)", row=i, column=header))
        else:
            starts[i], precision[i] = coarse
    for i, cell in enumerate(precision_cells):
        if pd.isna(cell):
            continue
        given = _PRECISIONS.get(fold(str(cell)))
        if given is None:
            problems.append(InputProblem("date precision must be day, week, month or year", row=i,
                                         column=precision_header))
        elif starts[i] is not None:
            start = starts[i]
            assert start is not None
            starts[i] = date(start.year, 1, 1) if given == "year" else date(start.year, start.month, 1) \
                if given == "month" else start
            precision[i] = given
    ends = [None if s is None or p is None else _end_of(s, p) for s, p in zip(starts, precision)]
    return pd.DataFrame({"date_start": starts, "date_end": ends, "date_precision": precision},
                        index=cells.index), problems


_FAMILY_WORDS = re.compile(r"\b(families|family|homes|home|houses|house|of|the|residence)\b|عائلتي|عائلات|عائلة|عائله|"
                           r"منازل|منزل|بيت|آل\s", re.IGNORECASE)


_NAME_SPLIT = re.compile(r"\s*[;،؛\n|]\s*|\s*,\s*")


def victim_keys(text: Any) -> list[str] | None:
    """'given|family' transliteration keys of the victims a report names ('A B C; D E', 'أ ب، ج د').

    Names of one word are left out: a given name alone identifies nobody. A name of three words or
    more also gives the key with its last two words joined (:func:`given_family_keys`).

    Example:
        >>> victim_keys("Mohammed Ahmad Najjar; فاطمة النجار") == victim_keys("محمد احمد النجار، Fatima al-Najjar")
        True
    """
    from undercount.names import name_key

    if not isinstance(text, str) or not text.strip():
        return None
    keys: list[str] = []
    for name in name_list(text):
        keys.extend(k for k in given_family_keys(name_key(name)) if k not in keys)
    return keys or None


def name_list(text: Any) -> list[str]:
    """The names a cell lists, separated by ';', '،', '؛', ',', '|' or new lines.

    Example:
        >>> name_list("Mohammed Ahmad Najjar; فاطمة النجار")
        ['Mohammed Ahmad Najjar', 'فاطمة النجار']
    """
    if not isinstance(text, str) or not text.strip():
        return []
    return [name for name in _NAME_SPLIT.split(text.strip()) if name]


def compact_key(key: str) -> str:
    """A family key without its spaces: compound family names are written joined or apart.

    'عبد ربه' and 'عبدربه', 'Abu Shamala' and 'Abushamala', 'Al Farra' and 'Alfarra' name one family.

    Example:
        >>> compact_key("bd rb")
        'bdrb'
    """
    return key.replace(" ", "")


def given_family_keys(key: Any) -> list[str]:
    """'given|family' keys of a name's transliteration key: the last token is the family, and with
    three tokens or more also the last two joined (a compound family name written apart: 'Abd Rabbo').

    Example:
        >>> given_family_keys("mhmd hsn bd rb")
        ['mhmd|rb', 'mhmd|bdrb']
        >>> given_family_keys("mhmd")
        []
    """
    tokens = key.split() if isinstance(key, str) else []
    if len(tokens) < 2:
        return []
    keys = [f"{tokens[0]}|{tokens[-1]}"]
    if len(tokens) >= 3:
        keys.append(f"{tokens[0]}|{tokens[-2]}{tokens[-1]}")
    return keys


_FAMILY_SPLIT = re.compile(r"\s*[;،؛,\n|]\s*|\s+and\s+|\s+&\s+", re.IGNORECASE)


def family_keys(text: Any) -> list[str] | None:
    """Transliteration keys of the families a report names ('al-Najjar family', 'منزل عائلة النجار',
    'the Abu Shamala and Najjar families', 'عائلة النجار، عائلة أبو شمالة').

    Example:
        >>> family_keys("al-Najjar family") == family_keys("منزل عائلة النجار")
        True
        >>> len(family_keys("the Abu Shamala and al-Najjar families"))
        2
    """
    from undercount.names import name_key

    if not isinstance(text, str) or not text.strip():
        return None
    keys = []
    for part in _FAMILY_SPLIT.split(text.strip()):
        key = compact_key(name_key(_FAMILY_WORDS.sub(" ", part)))
        if key and key not in keys:
            keys.append(key)
    return keys or None


_LEVELS = {fold(k): v for k, v in {
    "1": 1, "adm1": 1, "governorate": 1, "province": 1, "محافظة": 1, "2": 2, "adm2": 2, "district": 2, "قضاء": 2,
    "3": 3, "adm3": 3, "locality": 3, "town": 3, "city": 3, "village": 3, "camp": 3, "neighbourhood": 3,
    "neighborhood": 3, "مدينة": 3, "بلدة": 3, "حي": 3, "مخيم": 3, "4": 4, "adm4": 4, "site": 4, "building": 4,
    "موقع": 4}.items()}
_GEO_WORDS = {fold(k): v for k, v in {
    "exact": 50.0, "precise": 50.0, "approximate": 1000.0, "approx": 1000.0, "nearby": 1000.0,
    "locality": 3000.0, "town": 3000.0, "neighbourhood": 1500.0, "district": 10000.0, "governorate": 25000.0,
    "adm1": 25000.0}.items()}
_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$", re.IGNORECASE)


class _Problems:
    """Collects problems of one file: (message, 0-based position, header)."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns
        self.items: list[InputProblem] = []

    def add(self, mask: np.ndarray, fld: str, message: str) -> None:
        header = self.columns.get(fld)
        self.items.extend(InputProblem(message, row=int(i), column=header) for i in np.flatnonzero(mask))


def _controlled(series: pd.Series, table: dict[str, str], extra: dict[str, str] | None) -> tuple[pd.Series, np.ndarray]:
    codes, uniques = pd.factorize(series)
    mapped = [vocab.lookup(str(u), table, extra) for u in uniques]
    values = np.array(mapped + [None], dtype=object)[codes]
    bad = np.array([m is None for m in mapped] + [False])[codes]
    return pd.Series(values, index=series.index, dtype=object), bad


def _numbers(series: pd.Series, low: float, high: float) -> tuple[pd.Series, np.ndarray]:
    text = series.map(lambda v: to_ascii_digits(str(v)).replace(",", ".") if isinstance(v, str) else v)
    values = pd.to_numeric(text, errors="coerce")
    bad = (series.notna() & (values.isna() | (values < low) | (values > high))).to_numpy(dtype=bool)
    return values.where(~bad), bad


def _counts(cells: pd.DataFrame, columns: dict[str, str], kind: str, out: pd.DataFrame, problems: _Problems) -> None:
    """killed/injured: one range column, or min and max columns (which then win)."""
    def read(fld: str) -> tuple[list[int | None], list[int | None]]:
        lows: list[int | None] = []
        highs: list[int | None] = []
        bad = np.zeros(len(cells), dtype=bool)
        for i, cell in enumerate(cells_of(cells, columns, fld)):
            parsed = (None, None) if pd.isna(cell) else vocab.parse_range(str(cell))
            if parsed is None:
                bad[i] = True
                parsed = (None, None)
            lows.append(parsed[0])
            highs.append(parsed[1])
        problems.add(bad, fld, f"not a number of people {kind} (write 12, 15-20, at least 12, or unknown)")
        return lows, highs

    low, high = read(kind)
    if f"{kind}_min" in columns:
        low = read(f"{kind}_min")[0]
    if f"{kind}_max" in columns:
        high = read(f"{kind}_max")[1] if f"{kind}_min" in columns else read(f"{kind}_max")[0]
    swapped = np.array([lo is not None and hi is not None and lo > hi for lo, hi in zip(low, high)], dtype=bool)
    problems.add(swapped, f"{kind}_max" if f"{kind}_max" in columns else kind,
                 f"the maximum number {kind} is smaller than the minimum")
    out[f"{kind}_min"] = pd.array(low, dtype="Int64")
    out[f"{kind}_max"] = pd.array(high, dtype="Int64")


def _places(cells: pd.DataFrame, columns: dict[str, str], out: pd.DataFrame, problems: _Problems) -> None:
    place = cells_of(cells, columns, "place")
    adm1 = cells_of(cells, columns, "adm1")
    resolved = [resolve_place(None if pd.isna(p) else str(p), None if pd.isna(a) else str(a))
                for p, a in zip(place, adm1)]
    out["place"] = [r.place for r in resolved]
    out["place_written"] = place.astype(object).where(place.notna(), None).to_numpy()
    out["locality"] = [r.locality for r in resolved]
    out["adm1"] = [r.adm1 for r in resolved]
    levels = [r.admin_level for r in resolved]
    given = cells_of(cells, columns, "admin_level")
    bad = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(given):
        if pd.isna(cell):
            continue
        level = _LEVELS.get(fold(str(cell)))
        if level is None:
            bad[i] = True
        else:
            levels[i] = level
    problems.add(bad, "admin_level", "admin level must be 1 to 4 (governorate, district, locality, site)")
    out["admin_level"] = pd.array(levels, dtype="Int64")
    lat, bad_lat = _numbers(cells_of(cells, columns, "lat"), -90, 90)
    lon, bad_lon = _numbers(cells_of(cells, columns, "lon"), -180, 180)
    problems.add(bad_lat, "lat", "latitude must be a number from -90 to 90")
    problems.add(bad_lon, "lon", "longitude must be a number from -180 to 180")
    half = (lat.isna() != lon.isna()).to_numpy() & ~bad_lat & ~bad_lon
    problems.add(half, "lat" if "lat" in columns else "lon", "a latitude needs a longitude and the reverse")
    out["lat"], out["lon"] = lat.astype("Float64"), lon.astype("Float64")
    precision = cells_of(cells, columns, "geo_precision")
    metres: list[float | None] = []
    bad = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(precision):
        if pd.isna(cell):
            metres.append(None)
            continue
        text = to_ascii_digits(str(cell)).casefold().replace("metres", "").replace("meters", "").replace("m", "").strip()
        try:
            value: float | None = float(text.replace("k", "")) * (1000.0 if text.endswith("k") else 1.0)
        except ValueError:
            value = _GEO_WORDS.get(fold(str(cell)))
        if value is None or value < 0:
            bad[i] = True
        metres.append(value)
    problems.add(bad, "geo_precision", "coordinate precision must be metres (e.g. 500) or exact, approximate, "
                                       "locality, district or governorate")
    default = np.where(out["lat"].notna().to_numpy(dtype=bool), 100.0, np.nan)
    out["geo_precision_m"] = pd.array([m if m is not None else (None if np.isnan(d) else d)
                                       for m, d in zip(metres, default)], dtype="Float64")


def _source(cells: pd.DataFrame, columns: dict[str, str], spec: EntitySpec, source: str, out: pd.DataFrame,
            problems: _Problems) -> None:
    names = cells_of(cells, columns, "source")
    out["source_name"] = names.fillna(source).astype(object).to_numpy()
    kinds = cells_of(cells, columns, "source_kind")
    mapped, bad = _controlled(kinds, vocab.SOURCE_KIND_VALUES, spec.values.get("source_kind"))
    problems.add(bad, "source_kind", f"source kind must be one of {', '.join(vocab.SOURCE_KINDS)} "
                                     "(map others with a spec's [values.source_kind])")
    out["source_kind"] = mapped.where(mapped.notna(), spec.source_kind).to_numpy()
    out["reference"] = cells_of(cells, columns, "reference").astype(object).to_numpy()
    hashes = cells_of(cells, columns, "archive_hash")
    parsed = [_SHA256.match(h.strip()) if isinstance(h, str) else None for h in hashes]
    problems.add(np.array([isinstance(h, str) and p is None for h, p in zip(hashes, parsed)], dtype=bool),
                 "archive_hash", "archive hash must be a SHA-256 (64 hexadecimal characters)")
    out["archive_hash"] = [p[1].lower() if p else None for p in parsed]
    for fld, target in (("credible", "credible"), ("acknowledged", "acknowledged")):
        values = cells_of(cells, columns, fld)
        read = [vocab.parse_yes_no(v) if isinstance(v, str) else None for v in values]
        problems.add(np.array([isinstance(v, str) and r is None for v, r in zip(values, read)], dtype=bool),
                     fld, f"{fld} must be yes or no")
        out[target] = pd.array(read, dtype="boolean")
    assessment, bad = _controlled(cells_of(cells, columns, "assessment"), vocab.ASSESSMENT_VALUES,
                                  spec.values.get("assessment"))
    problems.add(bad, "assessment", f"the source's grade must be one of {', '.join(vocab.GRADES)}")
    out["assessment"] = assessment.to_numpy()


def parse_reports(cells: pd.DataFrame, columns: dict[str, str], spec: EntitySpec, source: str) -> ParsedRows:
    """The rows of an incidents file as report columns (:data:`REPORT_COLUMNS`), or every problem.

    Args:
        cells: the file's cells as text.
        columns: field -> header.
        spec: the file's spec.
        source: the source of rows that name none (the spec's, else the file's name).

    Returns:
        The parsed rows, with problems (0-based positions as rows) when any cell is wrong.
    """
    problems = _Problems(columns)
    out = pd.DataFrame(index=cells.index)
    out["code"] = cells_of(cells, columns, "code").astype(object).to_numpy()
    dates, found = read_dates(cells_of(cells, columns, "date"), cells_of(cells, columns, "date_precision"),
                              spec.date_formats, str(columns.get("date")), columns.get("date_precision"))
    problems.items.extend(found)
    if "date_end" in columns:
        ends, found = read_dates(cells_of(cells, columns, "date_end"), pd.Series(pd.NA, index=cells.index),
                                 spec.date_formats, str(columns.get("date_end")), None)
        problems.items.extend(found)
        given = ends["date_end"].notna()
        dates.loc[given, "date_end"] = ends.loc[given, "date_end"]
        before = [e is not None and s is not None and e < s for s, e in zip(dates["date_start"], dates["date_end"])]
        problems.add(np.array(before, dtype=bool), "date_end", "the end date is before the date")
    if "date" not in columns:
        problems.items.append(InputProblem("an incidents file needs a date column", column=None))
    else:
        problems.add(dates["date_start"].isna().to_numpy() & cells_of(cells, columns, "date").isna().to_numpy(),
                     "date", "an incident report needs a date (a day, a month or a year)")
    for col in ("date_start", "date_end", "date_precision"):
        out[col] = dates[col].to_numpy()
    _places(cells, columns, out, problems)
    objects, bad = _controlled(cells_of(cells, columns, "object_type"), vocab.OBJECT_VALUES,
                               spec.values.get("object_type"))
    problems.add(bad, "object_type", f"object type must be one of {', '.join(vocab.OBJECT_TYPES)} "
                                     "(map others with a spec's [values.object_type])")
    out["object_type"] = objects.to_numpy()
    out["object_name"] = cells_of(cells, columns, "object_name").astype(object).to_numpy()
    weapon = cells_of(cells, columns, "weapon")
    out["weapon"] = weapon.astype(object).to_numpy()
    out["weapon_class"] = [None if pd.isna(w) else vocab.lookup(str(w), vocab.WEAPON_VALUES, spec.values.get("weapon"))
                           for w in weapon]
    _counts(cells, columns, "killed", out, problems)
    _counts(cells, columns, "injured", out, problems)
    actor = cells_of(cells, columns, "actor")
    unknown = actor.map(lambda a: isinstance(a, str) and vocab.is_unknown(a)).fillna(False).astype(bool)
    out["actor"] = actor.mask(unknown).astype(object).to_numpy()
    _source(cells, columns, spec, source, out, problems)
    reported, unreadable, out_of_range = parse_dates(cells_of(cells, columns, "reported_date"), spec.date_formats)
    problems.add((unreadable | out_of_range).to_numpy(dtype=bool), "reported_date",
                 "the report date is not a date in an accepted format")
    out["reported_date"] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in reported]
    family = cells_of(cells, columns, "family")
    out["family"] = family.astype(object).to_numpy()
    out["family_keys"] = pd.Series([family_keys(f) if isinstance(f, str) else None for f in family],
                                   index=out.index, dtype=object)
    victims = cells_of(cells, columns, "victims")
    out["victims"] = victims.astype(object).to_numpy()
    out["victim_keys"] = pd.Series([victim_keys(v) if isinstance(v, str) else None for v in victims],
                                   index=out.index, dtype=object)
    out["description"] = cells_of(cells, columns, "description").astype(object).to_numpy()
    return ParsedRows(out[list(REPORT_COLUMNS)].reset_index(drop=True), sorted(
        problems.items, key=lambda p: (p.row if p.row is not None else -1, str(p.column))))


def _value_fields() -> dict[str, tuple[str, ...]]:
    return {"object_type": vocab.OBJECT_TYPES, "source_kind": vocab.SOURCE_KINDS, "assessment": vocab.GRADES,
            "weapon": vocab.WEAPON_CLASSES}


_TAG: Callable[[str, frozenset[str]], str | None] = _tag_field

INCIDENTS = EntityKind(
    kind="incidents", table="uc_incident_reports", id_column="report_id", fields=INCIDENT_FIELDS,
    value_fields=_value_fields(), aliases=_ALIASES, tag_field=_TAG, parse=parse_reports, columns=REPORT_COLUMNS,
    required=("date",),
)
