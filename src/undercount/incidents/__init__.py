"""Incidents: what happened beyond the person, and who it happened to.

An *incident* is a moment in time and space where sources report harm: a strike on a home, a
school, a hospital, a water well, an aid convoy. Files of incident reports are imported with the
same rules as victim lists (:func:`import_incidents`), reports of one incident by several
sources are deduplicated (:func:`dedupe_incidents`), each incident is graded by a stated rule
(:mod:`undercount.incidents.grading`), and named victims are linked to the incident that killed
them (:func:`assign_victims`).

Example:
    >>> from undercount import Case
    >>> from undercount.incidents import import_incidents
    >>> import_incidents(Case.open("my-case"), "airwars.csv").rows  # doctest: +SKIP
    412
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from undercount.incidents.assign import AssignOptions, AssignResult, assign_victims, person_incidents
from undercount.incidents.dedupe import DedupeOptions, DedupeResult, dedupe_incidents
from undercount.incidents.files import EntitySpec, FileImportResult, import_entity_file, load_entity_spec
from undercount.incidents.grading import Grade, grade_incident
from undercount.incidents.listing import IncidentList, list_incidents
from undercount.incidents.reports import INCIDENTS
from undercount.incidents.vocab import GRADES, OBJECT_LABELS, OBJECT_TYPES, SOURCE_KINDS

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = [
    "GRADES", "OBJECT_LABELS", "OBJECT_TYPES", "SOURCE_KINDS", "AssignOptions", "AssignResult", "DedupeOptions",
    "DedupeResult", "EntitySpec", "FileImportResult", "Grade", "IncidentList", "assign_victims", "dedupe_incidents",
    "grade_incident", "import_incidents", "list_incidents", "load_incident_spec", "person_incidents",
]


def load_incident_spec(path: str | Path) -> EntitySpec:
    """Read the TOML spec of an incidents file ([list], [columns], [values.FIELD], [dates]).

    Raises:
        ConfigError: the spec cannot be read or holds unknown sections, keys, fields or values.
    """
    return load_entity_spec(path, INCIDENTS)


def import_incidents(case: Case, file: str | Path, *, name: str | None = None,
                     spec: EntitySpec | str | Path | None = None) -> FileImportResult:
    """Import a file of incident reports (CSV, XLSX, JSON, Parquet; headers or HXL hashtags).

    Atomic and idempotent like :func:`undercount.ingest.import_list`: a file with any bad cell
    stores nothing and the error names file, row and column of every problem.

    Args:
        case: an open case.
        file: the file.
        name: its name in the case (default: the spec's [list] name, else the file's stem).
        spec: an :class:`EntitySpec` or the path of a TOML spec.

    Returns:
        A :class:`FileImportResult`.

    Raises:
        InputError: the file cannot be read, lacks a date column, or has bad cells.
        ConfigError: the spec is wrong, or the name is used by another file.
        StoreError: the case cannot be written.

    Example:
        >>> import_incidents(case, "who_ssa.xlsx", spec="who.toml").rows  # doctest: +SKIP
        57
    """
    return import_entity_file(case, file, INCIDENTS, name=name, spec=spec)
