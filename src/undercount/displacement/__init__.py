"""Displacement: counts of people forced to flee, by place of origin, place of arrival and date.

Counts are imported like victim lists and incident files (:func:`import_displacement`: CSV, XLSX,
JSON, Parquet, with headers in English or Arabic, a spec, or HXL hashtags as IOM DTM tables on
HDX carry them: ``#date``, ``#adm1+name``, ``#adm1+name+origin``, ``#affected+idps``), keep their
provenance (file hash and row), and are stored in their own table: displacement is never added
to, or mixed with, deaths.

Example:
    >>> from undercount import Case
    >>> from undercount.displacement import import_displacement
    >>> import_displacement(Case.open("my-case"), "dtm_gaza.csv").rows  # doctest: +SKIP
    312
"""

from __future__ import annotations

from undercount.displacement.counts import (
    DISPLACEMENT,
    DisplacementTable,
    import_displacement,
    load_displacement_spec,
    read_displacement,
)

__all__ = ["DISPLACEMENT", "DisplacementTable", "import_displacement", "load_displacement_spec", "read_displacement"]
