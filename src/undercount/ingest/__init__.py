"""Ingest: read casualty lists, recognise columns, normalise names, validate, store.

Example:
    >>> from undercount import Case
    >>> from undercount.ingest import import_list, audit_case
    >>> case = Case.init("my-case")                        # doctest: +SKIP
    >>> import_list(case, "moh.csv").rows                  # doctest: +SKIP
    34344
    >>> audit_case(case).to_dict()["lists"]["moh"]["rows"]  # doctest: +SKIP
    34344
"""

from undercount.ingest.audit import AuditResult, audit_case
from undercount.ingest.columns import recognise_header
from undercount.ingest.importer import ImportResult, import_list
from undercount.ingest.spec import ImportSpec, load_spec
from undercount.ingest.validate import luhn_valid

__all__ = [
    "AuditResult",
    "ImportResult",
    "ImportSpec",
    "audit_case",
    "import_list",
    "load_spec",
    "luhn_valid",
    "recognise_header",
]
