"""Displacement files: columns, HXL hashtags, cells, and reading the stored counts back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from undercount.errors import InputProblem
from undercount.incidents.files import (
    EntityKind,
    EntitySpec,
    FileImportResult,
    ParsedRows,
    import_entity_file,
    load_entity_spec,
    table_exists,
)
from undercount.incidents.places import resolve_place
from undercount.incidents.reports import cells_of, read_dates
from undercount.ingest.columns import fold, to_ascii_digits

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["DISPLACEMENT", "DISPLACEMENT_FIELDS", "DisplacementTable", "import_displacement", "load_displacement_spec",
           "read_displacement", "POPULATIONS"]

DISPLACEMENT_FIELDS = ("date", "date_end", "date_precision", "origin", "origin_adm1", "arrival", "arrival_adm1",
                       "displaced", "households", "population", "source")
COLUMNS = ("date_start", "date_end", "date_precision", "origin", "origin_adm1", "arrival", "arrival_adm1", "displaced",
           "households", "population", "source_name")
POPULATIONS = ("idps", "returnees")


def _aliases(**groups: list[str]) -> dict[str, str]:
    return {fold(a): fld for fld, names in groups.items() for a in (fld, *names)}


_ALIASES = _aliases(
    date=["week", "week starting", "week start", "reporting date", "report date", "period", "as of", "round date",
          "التاريخ", "الأسبوع", "الاسبوع", "الفترة", "تاريخ التقرير"],
    date_end=["end date", "period end", "week ending", "to date", "تاريخ الانتهاء"],
    date_precision=["date precision", "precision", "دقة التاريخ"],
    origin=["place of origin", "governorate of origin", "area of origin", "origin governorate", "from",
            "displaced from", "location of origin", "المنطقة الأصلية", "محافظة الأصل", "مكان الأصل", "من", "نزحوا من"],
    origin_adm1=["origin adm1", "adm1 of origin", "origin region"],
    arrival=["place of arrival", "governorate of arrival", "arrival governorate", "destination", "location",
             "current location", "displaced to", "hosting area", "area of displacement", "governorate", "place",
             "محافظة الوصول", "مكان الإيواء", "الموقع الحالي", "إلى", "الى", "المحافظة", "مكان النزوح"],
    arrival_adm1=["arrival adm1", "adm1 of arrival", "arrival region"],
    displaced=["idps", "idp individuals", "idps individuals", "idps (individuals)", "individuals", "displaced people",
               "people displaced", "number displaced", "persons", "people", "النازحون", "النازحين", "عدد النازحين",
               "الأفراد", "عدد الأفراد"],
    households=["idp households", "families", "hh", "الأسر", "عدد الأسر", "العائلات"],
    population=["population type", "population group", "category", "نوع الفئة"],
    source=["source name", "reported by", "organisation", "organization", "المصدر"],
)


def _tag_field(tag: str, attrs: frozenset[str]) -> str | None:
    if tag == "#date":
        return "date_end" if "end" in attrs else "date"
    if tag in ("#adm1", "#adm2", "#adm3", "#loc", "#region"):
        if "code" in attrs or "pcode" in attrs:
            return None
        return "origin" if "origin" in attrs else "arrival"
    if tag == "#affected":
        if attrs & {"hh", "households"}:
            return "households"
        if attrs & {"idps", "displaced", "returnees"} or not attrs - {"ind", "total"}:
            return "displaced"
        return None
    if tag == "#meta" and "source" in attrs or tag == "#org":
        return "source"
    if tag == "#population" or (tag == "#group" and "population" in attrs):
        return "population"
    return None


_POPULATION_WORDS = {fold(k): v for k, v in {
    "idps": "idps", "idp": "idps", "displaced": "idps", "internally displaced": "idps", "نازحون": "idps",
    "returnees": "returnees", "returnee": "returnees", "returned": "returnees", "عائدون": "returnees"}.items()}


def _counts(cells: pd.Series, header: str | None, what: str) -> tuple[list[int | None], list[InputProblem]]:
    values: list[int | None] = []
    problems = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, str):
            values.append(None)
            continue
        text = to_ascii_digits(cell).replace(",", "").replace(" ", "").replace("\u00a0", "")
        if text.endswith(".0"):
            text = text[:-2]
        if not text.isdigit():
            problems.append(InputProblem(f"{what} must be a whole number of 0 or more", row=i, column=header))
            values.append(None)
        else:
            values.append(int(text))
    return values, problems


def _places(cells: pd.DataFrame, columns: dict[str, str], which: str, out: pd.DataFrame) -> None:
    place = cells_of(cells, columns, which)
    adm1 = cells_of(cells, columns, f"{which}_adm1")
    resolved = [resolve_place(p if isinstance(p, str) else None, a if isinstance(a, str) else None)
                for p, a in zip(place, adm1)]
    out[which] = [r.place for r in resolved]
    out[f"{which}_adm1"] = [r.adm1 for r in resolved]


def parse_counts(cells: pd.DataFrame, columns: dict[str, str], spec: EntitySpec, source: str) -> ParsedRows:
    """The rows of a displacement file, or every problem (0-based positions as rows)."""
    problems: list[InputProblem] = []
    out = pd.DataFrame(index=cells.index)
    for need in ("date", "displaced"):
        if need not in columns:
            problems.append(InputProblem(f"a displacement file needs a {need} column (map it with a spec's [columns])"))
    if "origin" not in columns and "arrival" not in columns:
        problems.append(InputProblem("a displacement file needs a place of origin or of arrival column"))
    dates, found = read_dates(cells_of(cells, columns, "date"), cells_of(cells, columns, "date_precision"),
                              spec.date_formats, str(columns.get("date")), columns.get("date_precision"))
    problems.extend(found)
    if "date_end" in columns:
        ends, found = read_dates(cells_of(cells, columns, "date_end"), pd.Series(pd.NA, index=cells.index),
                                 spec.date_formats, str(columns.get("date_end")), None)
        problems.extend(found)
        given = ends["date_end"].notna()
        dates.loc[given, "date_end"] = ends.loc[given, "date_end"]
    for col in ("date_start", "date_end", "date_precision"):
        out[col] = dates[col].to_numpy()
    if "date" in columns:
        missing = cells_of(cells, columns, "date").isna().to_numpy()
        problems.extend(InputProblem("a count needs a date", row=int(i), column=columns["date"])
                        for i in np.flatnonzero(missing))
    _places(cells, columns, "origin", out)
    _places(cells, columns, "arrival", out)
    if "origin" in columns or "arrival" in columns:
        nowhere = [pd.isna(o) and pd.isna(a) for o, a in zip(out["origin"], out["arrival"])]
        problems.extend(InputProblem("a count needs a place of origin or of arrival", row=i,
                                     column=columns.get("arrival") or columns.get("origin"))
                        for i, bad in enumerate(nowhere) if bad)
    displaced, found = _counts(cells_of(cells, columns, "displaced"), columns.get("displaced"), "the number displaced")
    problems.extend(found)
    if "displaced" in columns:
        problems.extend(InputProblem("a row needs the number displaced", row=i, column=columns["displaced"])
                        for i, (v, c) in enumerate(zip(displaced, cells_of(cells, columns, "displaced")))
                        if v is None and not isinstance(c, str))
    households, found = _counts(cells_of(cells, columns, "households"), columns.get("households"),
                                "the number of households")
    problems.extend(found)
    out["displaced"] = pd.array(displaced, dtype="Int64")
    out["households"] = pd.array(households, dtype="Int64")
    population = cells_of(cells, columns, "population")
    mapped = []
    for i, cell in enumerate(population):
        value = _POPULATION_WORDS.get(fold(cell)) if isinstance(cell, str) else "idps"
        if value is None:
            problems.append(InputProblem("population must be idps or returnees", row=i, column=columns.get("population")))
        mapped.append(value)
    out["population"] = mapped
    out["source_name"] = cells_of(cells, columns, "source").fillna(source).astype(object).to_numpy()
    return ParsedRows(out[list(COLUMNS)].reset_index(drop=True),
                      sorted(problems, key=lambda p: (p.row if p.row is not None else -1, str(p.column))))


DISPLACEMENT = EntityKind(
    kind="displacement", table="uc_displacement", id_column="count_id", fields=DISPLACEMENT_FIELDS,
    value_fields={"population": POPULATIONS}, aliases=_ALIASES, tag_field=_tag_field, parse=parse_counts,
    columns=COLUMNS, required=("displaced",),
)


def load_displacement_spec(path: str | Path) -> EntitySpec:
    """Read the TOML spec of a displacement file ([list], [columns], [values.population], [dates]).

    Raises:
        ConfigError: the spec cannot be read or holds unknown sections, keys, fields or values.
    """
    return load_entity_spec(path, DISPLACEMENT)


def import_displacement(case: Case, file: str | Path, *, name: str | None = None,
                        spec: EntitySpec | str | Path | None = None) -> FileImportResult:
    """Import a file of displacement counts (atomic, idempotent; every bad cell named by row and column).

    Args:
        case: an open case.
        file: CSV, XLSX, JSON or Parquet, with headers, a spec, or HXL hashtags.
        name: the file's name in the case (default: the spec's [list] name, else the file's stem).
        spec: an :class:`EntitySpec` or the path of a TOML spec.

    Returns:
        A :class:`FileImportResult`.

    Raises:
        InputError: the file cannot be read or has bad cells. ConfigError: a wrong spec or a used name.
        StoreError: the case cannot be written.
    """
    return import_entity_file(case, file, DISPLACEMENT, name=name, spec=spec)


@dataclass(frozen=True)
class DisplacementTable:
    """The displacement counts of a case.

    Attributes:
        counts: one row per imported row (file, row, dates, origin, arrival, displaced, households,
            population, source_name, file_hash).
        files: one row per file (name, file_name, file_hash, rows, hxl, imported_at).
    """

    counts: pd.DataFrame
    files: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"files": [...], "counts": [...]}."""
        def clean(frame: pd.DataFrame) -> list[dict[str, Any]]:
            rows = []
            for row in frame.to_dict(orient="records"):
                rows.append({str(k): (v.date().isoformat() if isinstance(v, pd.Timestamp) else
                                      v.isoformat() if hasattr(v, "isoformat") else
                                      None if v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v)
                             for k, v in row.items()})
            return rows

        return {"files": clean(self.files), "counts": clean(self.counts), "notes": self.notes}


def read_displacement(case: Case) -> DisplacementTable:
    """Every displacement count of the case, with its file (empty when none was imported)."""
    if not table_exists(case, "uc_displacement"):
        empty = pd.DataFrame(columns=["file", "row", *COLUMNS])
        return DisplacementTable(empty, pd.DataFrame(), ["no displacement file imported yet"])
    counts = case.query("SELECT file, \"row\", file_hash, " + ", ".join(COLUMNS) +
                        " FROM uc_displacement ORDER BY date_start, file, \"row\"")
    files = case.query("SELECT name, file_name, file_hash, row_count AS rows, hxl, imported_at FROM uc_entity_files "
                       "WHERE kind = 'displacement' ORDER BY imported_at")
    for col in ("date_start", "date_end"):
        counts[col] = pd.to_datetime(counts[col])
    return DisplacementTable(counts, files, [] if len(counts) else ["no displacement file imported yet"])
