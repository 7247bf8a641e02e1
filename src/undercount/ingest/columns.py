"""Recognise headers, map columns to canonical fields, and map cell values to canonical values.

Headers are compared after folding case, spaces, underscores, hyphens, Arabic diacritics,
tatweel and letter variants (أ إ آ -> ا, ة -> ه, ى -> ي). Value maps work on the distinct values
of a column, so a million rows cost what their few thousand distinct values cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import pandas_dtype

from undercount.errors import ConfigError, InputError
from undercount.ingest.fields import ExtraField
from undercount.ingest.spec import ImportSpec
from undercount.ingest.text import fold, to_ascii_digits

# fold and to_ascii_digits live in undercount.ingest.text (dates and validate read them there).
__all__ = [
    "fold", "recognise_header", "score_headers", "ColumnMap", "map_columns", "HEADER_ALIASES",
    "map_values", "describe_values", "describe_headers", "SEX_VALUES", "STATUS_VALUES", "CAUSE_VALUES", "to_ascii_digits", "map_unique",
    "field_headers", "find_header", "spec_columns",
]



def _aliases(**groups: Iterable[str]) -> dict[str, str]:
    return {fold(alias): fld for fld, names in groups.items() for alias in names}


# Headers recognised without a spec. full_name_en is an English (transliterated) name column:
# it becomes full_name only when the list has no Arabic or generic name column.
HEADER_ALIASES: dict[str, str] = _aliases(
    full_name=["الاسم", "الاسم الرباعي", "الاسم الكامل", "الاسم الثلاثي", "اسم الشهيد", "اسم المتوفى",
               "الاسم بالعربي", "الاسم بالعربية", "name", "full name", "fullname", "name ar", "ar name",
               "arabic name", "name ar raw", "name arabic", "name of deceased", "שם", "שם מלא"],
    full_name_en=["en name", "english name", "name en", "name english", "الاسم بالانجليزي",
                  "الاسم بالإنجليزية", "latin name", "name latin"],
    given=["الاسم الأول", "الاسم الاول", "first name", "firstname", "given name", "given", "first"],
    father=["اسم الأب", "اسم الاب", "father name", "fathers name", "father's name", "father"],
    grandfather=["اسم الجد", "grandfather name", "grandfathers name", "grandfather's name", "grandfather"],
    family=["اسم العائلة", "العائلة", "اسم العائله", "اللقب", "family name", "last name", "lastname",
            "surname", "family"],
    id_number=["رقم الهوية", "الهوية", "رقم الهويه", "رقم هوية", "الرقم الوطني", "id", "id number",
               "id no", "id num", "idnumber", "national id", "identity number", "id card", "id card number",
               "national id number", "ssn", "social security number", "social security no", "passport",
               "passport number", "passport no", "document number", "رقم جواز السفر", "رقم الجواز"],
    age=["العمر", "السن", "age", "age years", "age at death"],
    sex=["الجنس", "النوع", "sex", "gender"],
    date_of_birth=["تاريخ الميلاد", "dob", "date of birth", "birth date", "birthdate", "born"],
    event_date=["تاريخ الوفاة", "تاريخ الاستشهاد", "تاريخ الحدث", "تاريخ الإصابة", "تاريخ الاعتقال",
                "تاريخ الفقدان", "date of death", "death date", "dod", "event date", "date of event",
                "date of incident", "incident date"],
    place=["المكان", "المحافظة", "المدينة", "مكان الوفاة", "مكان الاستشهاد", "العنوان", "place",
           "governorate", "location", "city", "district", "place of death", "address"],
    status=["الحالة", "status", "state"],
    cause=["سبب الوفاة", "سبب الاستشهاد", "السبب", "cause", "cause of death"],
    reported_date=["تاريخ التبليغ", "تاريخ الإبلاغ", "تاريخ النشر", "reported date", "report date",
                   "date reported", "source date", "published", "publication date"],
    incident_ref=["incident", "incident id", "incident code", "incident ref", "incident reference",
                  "incident no", "incident number", "رقم الحادثة", "رمز الحادثة", "معرف الحادثة", "الحادثة"],
)


def recognise_header(header: str) -> str | None:
    """The canonical field a header names, or None.

    Args:
        header: a header as written in a file.
    Returns:
        The canonical field (see ``HEADER_ALIASES``) or None.

    Example:
        >>> recognise_header("رقم الهوية"), recognise_header("Date_Of_Death")
        ('id_number', 'event_date')
    """
    return HEADER_ALIASES.get(fold(header))


def score_headers(cells: Sequence[str], extra: Iterable[str] = (), *,
                  aliases: Mapping[str, str] = HEADER_ALIASES) -> int:
    """How many cells of a candidate header row are recognised (or named by the spec).

    Args:
        cells: the row's cells.
        extra: headers a spec names.
        aliases: folded header -> field (default: the victim lists' headers).
    Returns:
        The number of recognised cells.
    """
    wanted = {fold(h) for h in extra}
    return sum(1 for c in cells if c and (fold(c) in aliases or fold(c) in wanted))


@dataclass(frozen=True)
class ColumnMap:
    """Canonical field -> header in the file (only fields the file has)."""

    fields: dict[str, str]
    name_candidates: tuple[str, ...] = ()

    def get(self, fld: str) -> str | None:
        """The header mapped to a field, or None."""
        return self.fields.get(fld)

    def prefer_arabic_name(self, cells: pd.DataFrame, *, sample: int = 500) -> ColumnMap:
        """With several name columns, make the one whose cells are most often Arabic the full name.

        Headers say which column is Arabic only sometimes (``name`` may hold either script), so
        the cells decide; the other name column is kept as ``full_name_en`` (and in ``raw``).

        Args:
            cells: the file's cells.
            sample: how many non-empty cells of each column to look at.
        Returns:
            A new :class:`ColumnMap` (or this one when there is nothing to choose).
        """
        if len(self.name_candidates) < 2:
            return self

        def arabic_share(header: str) -> float:
            values = cells[header].head(sample * 4)
            values = values[values.str.strip() != ""].head(sample)
            if values.empty:
                return -1.0
            return float(values.str.contains("[\u0600-\u06ff]", regex=True).mean())

        ranked = sorted(self.name_candidates, key=lambda h: -arabic_share(h))  # stable: ties keep order
        fields = dict(self.fields)
        fields["full_name"], fields["full_name_en"] = ranked[0], ranked[1]
        return ColumnMap(fields, self.name_candidates)


def find_header(headers: Sequence[str], wanted: str) -> str | None:
    """The header as written that a spec's header names: the same text, else the same once folded.

    Example:
        >>> find_header(["Date Of Death", "الاسم"], "date_of_death")
        'Date Of Death'
    """
    if wanted in headers:
        return wanted
    by_fold = {fold(h): h for h in headers}
    return by_fold.get(fold(wanted))


def spec_columns(headers: Sequence[str], columns: Mapping[str, str], *, spec: str, file: str,
                 extra: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Field -> header for a spec's ``[columns]``, every header it names found in the file.

    Args:
        headers: the file's headers; columns: the spec's field -> header.
        spec: the spec's name and file: the file's name, for the message.
        extra: another way to find a header the headers lack (an HXL hashtag), or None.
    Raises:
        ConfigError: the spec names columns the file does not have (all listed).
    """
    fields: dict[str, str] = {}
    missing = []
    for fld, header in columns.items():
        found = find_header(headers, header)
        if found is None and extra is not None:
            found = extra(header)
        if found is None:
            missing.append(f"{fld} = {header!r}")
        else:
            fields[fld] = found
    if missing:
        raise ConfigError(
            f"spec {spec}: column(s) not in file {file}: {'; '.join(missing)} "
            f"(headers found: {describe_headers(headers)})"
        )
    return fields


# Words of headers ("date of death", "رقم الهوية", "Nom complet"): a header made of none of them
# (and not recognised) could be a cell of data, a person's name, and is described, not shown.
_HEADER_WORDS = frozenset(fold(w) for w in (
    "of the a date name names no nr num number id ids age sex gender place death birth born full first last "
    "family father grandfather given status cause year years day month governorate city town village source "
    "type list notes note remarks comments hospital serial index idx sn code district region area address location "
    "reported report published event incident killed injured missing detained victim victims person "
    "passport national identity card phone unknown other english arabic latin hebrew en ar "
    "nom complet complete prénom prenom numéro numero âge sexe lieu décès deces naissance statut cause date adresse "
    "الاسم اسم رقم الرقم الهوية هوية العمر عمر السن الجنس جنس النوع تاريخ الوفاة الوفاة الميلاد مكان "
    "المكان المحافظة المدينة العنوان الحالة سبب السبب الأب الاب الجد العائلة اللقب الأول الاول الرباعي "
    "الثلاثي الكامل ملاحظات المستشفى المصدر التسلسل تسلسل م الشهيد المتوفى بالعربي بالانجليزي"
).split())
_GENERIC_HEADER = re.compile(r"^(column|col|unnamed|field|var|x)[\s_:.-]*\d*$|^#$", re.IGNORECASE)


def _header_shown(header: str) -> bool:
    """True when a header can be repeated in a message: it is a known header or made of header words."""
    if not header.strip() or recognise_header(header) or _GENERIC_HEADER.match(header.strip()):
        return True
    tokens = fold(header).split()
    words = [t for t in tokens if not (t.isdigit() and len(t) <= 2)]  # "name 2"
    return bool(words) and all(t in _HEADER_WORDS for t in words)


def _cell_kind(cell: str) -> str:
    """What a cell looks like, for a message that must not repeat it."""
    from undercount.ingest.dates import classify_date

    text = to_ascii_digits(cell).strip()
    if not text:
        return "empty"
    if re.fullmatch(r"[+-]?\d+([.,]\d+)?", text):
        return f"a number of {sum(ch.isdigit() for ch in text)} digits"
    if classify_date(text).kind not in ("bad", "placeholder"):
        return "a date"
    words = text.split()
    script = ("Arabic " if re.search("[\u0600-\u06ff]", text) else "Hebrew " if re.search("[\u0590-\u05ff]", text)
              else "Latin " if re.search("[A-Za-z]", text) else "")
    return f"{script}text of {len(words)} word{'s' if len(words) != 1 else ''}"


def describe_headers(headers: Sequence[str], *, positions: Sequence[int] | None = None) -> str:
    """The headers for a message: known ones as written, the others by position and kind.

    A header that is neither recognised nor made of header words could be a cell of data (a file
    without a header row puts a person's name and ID there), so it is described ("column 2: Latin
    text of 2 words", "column 3: a number of 9 digits"), never repeated.

    Args:
        headers: the headers found.
        positions: their 1-based places in the file (default 1, 2, ...).
    Returns:
        Text for a message.

    Example:
        >>> describe_headers(["name", "date of death"])
        'name, date of death'
        >>> describe_headers(["Sami Odeh Nasser", "Gaza"])
        'column 1: Latin text of 3 words, column 2: Latin text of 1 word (not shown: they could be data, as in a file without a header row)'
    """
    parts, hidden = [], 0
    for i, header in zip(positions or range(1, len(headers) + 1), headers):
        if _header_shown(header):
            parts.append(header)
        else:
            hidden += 1
            parts.append(f"column {i}: {_cell_kind(header)}")
    text = ", ".join(parts)
    if hidden:
        text += " (not shown: they could be data, as in a file without a header row)"
    return text


def map_columns(headers: Sequence[str], spec: ImportSpec | None, file: str) -> ColumnMap:
    """Map a file's headers to canonical fields: the spec first, then recognised headers.

    Args:
        headers: the file's headers (unique).
        spec: the import spec, or None.
        file: the file's name, for messages.
    Returns:
        The :class:`ColumnMap`.
    Raises:
        ConfigError: the spec names a column the file does not have.
        InputError: the file has neither a name nor an ID column.
    """
    fields = spec_columns(headers, spec.columns, spec=spec.label, file=file) if spec is not None else {}
    taken = set(fields.values())
    candidates: list[str] = []
    for header in headers:
        known = recognise_header(header)
        if known in ("full_name", "full_name_en") and header not in taken:
            candidates.append(header)
        if known and known not in fields and header not in taken:
            fields[known] = header
            taken.add(header)
    if "full_name" not in fields and "full_name_en" in fields:
        fields["full_name"] = fields.pop("full_name_en")
    if spec is not None and "full_name" in spec.columns:
        candidates = []  # the spec decides
    has_parts = any(f in fields for f in ("given", "family"))
    if "full_name" not in fields and "id_number" not in fields and not has_parts:
        raise InputError(
            f"no name or ID column among the headers found: {describe_headers(headers)} "
            "(map one with a spec: [columns] full_name = \"...\" or id_number = \"...\")",
            file=file,
        )
    return ColumnMap(fields, tuple(candidates) if len(candidates) > 1 else ())


# -- values -----------------------------------------------------------------------------------
def _value_table(**groups: Iterable[str]) -> dict[str, str]:
    return {fold(v): canon for canon, values in groups.items() for v in values}


SEX_VALUES = _value_table(
    male=["ذكر", "ذ", "m", "male", "man", "boy", "men", "رجل", "ولد", "طفل", "זכר", "ז"],
    female=["أنثى", "انثى", "انثي", "أنثي", "ا", "f", "female", "woman", "girl", "women", "امرأة",
            "امراة", "طفلة", "بنت", "נקבה", "נ"],
)
STATUS_VALUES = _value_table(
    killed=["killed", "dead", "deceased", "died", "martyr", "martyred", "death", "شهيد", "شهيدة",
            "استشهد", "استشهاد", "قتيل", "قتل", "متوفى", "متوفي", "توفي", "وفاة", "הרוג", "נהרג"],
    injured=["injured", "wounded", "injury", "جريح", "جريحة", "مصاب", "مصابة", "إصابة", "اصابة", "פצוע"],
    missing=["missing", "disappeared", "unaccounted", "مفقود", "مفقودة", "فقدان", "נעדר"],
    detained=["detained", "detainee", "arrested", "prisoner", "imprisoned", "abducted", "معتقل",
              "معتقلة", "أسير", "اسير", "أسيرة", "محتجز", "مختطف", "اعتقال", "עצור", "אסיר"],
)
CAUSE_VALUES = _value_table(
    direct_violence=["direct violence", "violence", "airstrike", "air strike", "shelling", "bombing",
                     "bombardment", "gunshot", "shooting", "shot", "sniper", "explosion", "missile",
                     "قصف", "غارة", "غارة جوية", "قصف مدفعي", "إطلاق نار", "اطلاق نار", "رصاص",
                     "قنص", "انفجار", "صاروخ", "قتل مباشر", "عنف مباشر"],
    starvation=["starvation", "malnutrition", "famine", "hunger", "مجاعة", "تجويع", "جوع", "سوء تغذية",
                "سوء التغذية"],
    disease=["disease", "illness", "infection", "sickness", "epidemic", "مرض", "أمراض", "امراض",
             "عدوى", "وباء"],
    other=["other", "أخرى", "اخرى", "غير ذلك", "حادث", "accident"],
    unknown=["unknown", "not known", "غير معروف", "مجهول", "غير محدد"],
)
_BUILTIN = {"sex": SEX_VALUES, "status": STATUS_VALUES, "cause": CAUSE_VALUES}


def map_unique(series: pd.Series, func: Callable[[str], Any], dtype: str = "str") -> pd.Series:
    """Apply ``func`` to each distinct non-null value once and spread the results (nulls stay null).

    Args:
        series: the values.
        func: called once per distinct value.
        dtype: the dtype of the result.
    Returns:
        A Series on the same index.

    Example:
        >>> map_unique(pd.Series(["a", "b", "a", None]), str.upper).tolist()
        ['A', 'B', 'A', nan]
    """
    codes, uniques = pd.factorize(series)
    results = np.array([func(u) for u in uniques] + [None], dtype=object)
    return pd.Series(results[codes], index=series.index).astype(pandas_dtype(dtype))


def map_values(series: pd.Series, fld: str, extra: dict[str, str] | None = None) -> pd.Series:
    """Map cell texts to canonical values (sex, status or cause); unknown texts become null.

    The whole cell is looked up first. For status and cause, a longer cell ("غارة جوية على
    المنزل", "killed in an airstrike") then takes the value of the longest known phrase it
    contains as whole words; a cell with phrases of two different values stays null.

    Args:
        series: the cells, as text.
        fld: a field with a fixed vocabulary ("sex", "status", "cause" ...).
        extra: {cell text: canonical value} from the spec, tried before the built-in table.
    Returns:
        A text Series of canonical values or nulls.
    """
    table = dict(_BUILTIN.get(fld, {}))  # a field the built-in tables do not know: the spec's values only
    table.update({fold(k): v for k, v in (extra or {}).items()})
    phrases = sorted(table, key=len, reverse=True) if fld != "sex" else []

    def lookup(cell: str) -> str | None:
        folded = fold(cell)
        if folded in table:
            return table[folded]
        padded = f" {folded} "
        found = {table[p] for p in phrases if f" {p} " in padded}
        return found.pop() if len(found) == 1 else None

    return map_unique(series, lookup)


def describe_values(series: pd.Series, fld: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """What :func:`map_values` did to a column, for the import summary (no unknown cell is shown).

    Args:
        series: the cells, as text (null when empty).
        fld: "sex", "status" or "cause".
        extra: the spec's {cell text: canonical value}.
    Returns:
        ``{"mapped": {cell: value}, "rows": {cell: rows}, "by_phrase": rows, "not_recognised": rows}``:
        only cells that are words of the built-in tables or the spec are quoted; a cell read by a known
        phrase it contains, or not read at all, is only counted (it could hold anything, a name too).
    """
    table = dict(_BUILTIN[fld])
    spec_keys = {fold(k): v for k, v in (extra or {}).items()}
    table.update(spec_keys)
    counts = series.dropna().value_counts()
    mapped: dict[str, str] = {}
    rows: dict[str, int] = {}
    phrase = unknown = 0
    looked_up = map_values(pd.Series(counts.index, dtype="str"), fld, extra)
    for cell, n, value in zip(counts.index, counts.to_numpy(), looked_up):
        if fold(cell) in table:
            mapped[str(cell)] = table[fold(cell)]
            rows[str(cell)] = int(n)
        elif isinstance(value, str):
            phrase += int(n)
        else:
            unknown += int(n)
    return {"mapped": mapped, "rows": rows, "by_phrase": phrase, "not_recognised": unknown}


def field_headers(fields: dict[str, ExtraField], headers: list[str] | tuple[str, ...], *, spec: str, file: str) -> dict[str, str]:
    """The file's header of each declared field (exact, else after folding case and separators).

    Args:
        fields: the spec's declarations.
        headers: the file's headers.
        spec: the spec's name, for messages.
        file: the file's name, for messages.

    Returns:
        Field name -> header as written in the file.

    Raises:
        ConfigError: a declared column is not in the file (all of them are named).
    """
    by_fold = {fold(h): h for h in headers}
    found: dict[str, str] = {}
    missing: list[str] = []
    for name, decl in fields.items():
        header = decl.column if decl.column in headers else by_fold.get(fold(decl.column))
        if header is None:
            missing.append(f"{name} = {decl.column!r}")
        else:
            found[name] = header
    if missing:
        raise ConfigError(f"spec {spec}: [fields] column(s) not in file {file}: {'; '.join(missing)} "
                          f"(headers found: {describe_headers(headers)})")
    return found
