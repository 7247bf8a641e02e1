"""undercount: deduplicated registers of victims and honest estimates of the uncounted.

The stage verbs, each with its result type, in the order a case goes through them::

    >>> import undercount as uc
    >>> case = uc.Case.init("my-case")                                   # doctest: +SKIP
    >>> uc.import_list(case, "moh.csv")                                  # doctest: +SKIP
    >>> uc.link_case(case)                                               # doctest: +SKIP
    >>> uc.review_queue(case).waiting; uc.decide(case, 12, 40, "same")   # doctest: +SKIP
    >>> uc.recluster_case(case)                                          # doctest: +SKIP
    >>> uc.estimate_case(case).total                                     # doctest: +SKIP
    >>> uc.write_report(case, "report.html")                             # doctest: +SKIP
    >>> uc.export(case, "register", fmt="hxl", path="register.csv")      # doctest: +SKIP
    >>> uc.case_status(case).next_command                                # doctest: +SKIP

Synthetic cases are ``undercount.simulate.simulate`` (the name ``undercount.simulate`` is the
subpackage). Only the errors load with the package; every other name is imported on first use, so that the
command line starts without pandas or DuckDB (tests/cli/test_start.py).
"""

from typing import TYPE_CHECKING

from undercount._lazy import lazy_names as _lazy_names
from undercount._version import __version__
from undercount.errors import (
    AuthError,
    ConfigError,
    ConvergenceWarning,
    InputError,
    LinkError,
    ModelError,
    StoreError,
    UndercountError,
    UndercountWarning,
)

if TYPE_CHECKING:
    from undercount.demo import DemoResult, run_demo
    from undercount.estimate.auto import estimate_table
    from undercount.estimate.case import StratifiedResult, estimate_case
    from undercount.estimate.results import EstimateResult
    from undercount.ingest.audit import AuditResult, audit_case
    from undercount.ingest.importer import ImportResult, import_list
    from undercount.link.evaluate import EvaluationResult, evaluate_links
    from undercount.link.run import LinkResult, link_case
    from undercount.report.export import ExportResult, export
    from undercount.report.html import ReportResult, write_report
    from undercount.review.decisions import Decision, decide
    from undercount.review.queue import ReviewQueue, review_queue
    from undercount.review.recluster import ReclusterSummary, recluster_case
    from undercount.review.status import CaseStatus, case_status
    from undercount.store.case import Case

#: Public name -> the module that defines it (imported on first use).
_HOMES = {
    "Case": "undercount.store.case",
    "import_list": "undercount.ingest.importer",
    "ImportResult": "undercount.ingest.importer",
    "audit_case": "undercount.ingest.audit",
    "AuditResult": "undercount.ingest.audit",
    "link_case": "undercount.link.run",
    "LinkResult": "undercount.link.run",
    "evaluate_links": "undercount.link.evaluate",
    "EvaluationResult": "undercount.link.evaluate",
    "review_queue": "undercount.review.queue",
    "ReviewQueue": "undercount.review.queue",
    "decide": "undercount.review.decisions",
    "Decision": "undercount.review.decisions",
    "recluster_case": "undercount.review.recluster",
    "ReclusterSummary": "undercount.review.recluster",
    "case_status": "undercount.review.status",
    "CaseStatus": "undercount.review.status",
    "estimate_case": "undercount.estimate.case",
    "StratifiedResult": "undercount.estimate.case",
    "estimate_table": "undercount.estimate.auto",
    "EstimateResult": "undercount.estimate.results",
    "write_report": "undercount.report.html",
    "ReportResult": "undercount.report.html",
    "export": "undercount.report.export",
    "ExportResult": "undercount.report.export",
    "run_demo": "undercount.demo",
    "DemoResult": "undercount.demo",
}

__all__ = [
    "AuditResult",
    "AuthError",
    "Case",
    "CaseStatus",
    "ConfigError",
    "ConvergenceWarning",
    "Decision",
    "DemoResult",
    "EstimateResult",
    "EvaluationResult",
    "ExportResult",
    "ImportResult",
    "InputError",
    "LinkError",
    "LinkResult",
    "ModelError",
    "ReclusterSummary",
    "ReportResult",
    "ReviewQueue",
    "StoreError",
    "StratifiedResult",
    "UndercountError",
    "UndercountWarning",
    "__version__",
    "audit_case",
    "case_status",
    "decide",
    "estimate_case",
    "estimate_table",
    "evaluate_links",
    "export",
    "import_list",
    "link_case",
    "recluster_case",
    "review_queue",
    "run_demo",
    "write_report",
]


__getattr__, __dir__ = _lazy_names(__name__, _HOMES, __all__)
