"""The public API: the stage verbs and their result types at the top level, and nothing else.

``undercount.__all__`` is the promise: every name in it exists, every public name the package
hands on is in it, and importing the package loads neither pandas nor DuckDB (the names are
imported on first use).
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import undercount

VERBS = {
    "import": "import_list",
    "audit": "audit_case",
    "link": "link_case",
    "review": "review_queue",
    "decide": "decide",
    "recluster": "recluster_case",
    "estimate": "estimate_case",
    "report": "write_report",
    "export": "export",
    "status": "case_status",
}
RESULTS = {
    "import_list": "ImportResult", "audit_case": "AuditResult", "link_case": "LinkResult",
    "review_queue": "ReviewQueue", "decide": "Decision", "recluster_case": "ReclusterSummary",
    "estimate_case": "StratifiedResult", "write_report": "ReportResult", "export": "ExportResult",
    "case_status": "CaseStatus", "evaluate_links": "EvaluationResult",
    "run_demo": "DemoResult", "estimate_table": "EstimateResult",
}


def test_all_is_sorted_and_every_name_exists() -> None:
    assert len(set(undercount.__all__)) == len(undercount.__all__)
    for name in undercount.__all__:
        assert getattr(undercount, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        undercount.nothing_here  # noqa: B018 - the lookup itself is what is tested


def test_all_names_what_the_package_hands_on() -> None:
    handed_on = set(undercount._HOMES) | {n for n in vars(undercount) if not n.startswith("_")
                                         and not inspect.ismodule(getattr(undercount, n))
                                         and n not in {"import_module", "TYPE_CHECKING"}}
    assert handed_on | {"__version__"} == set(undercount.__all__)
    assert set(dir(undercount)) >= set(undercount.__all__)


@pytest.mark.parametrize(("stage", "verb"), sorted(VERBS.items()))
def test_every_stage_verb_is_at_the_top_level(stage: str, verb: str) -> None:
    func = getattr(undercount, verb)
    assert callable(func) and verb in undercount.__all__
    # Each verb returns its result type, which is exported beside it.
    result = RESULTS[verb]
    assert result in undercount.__all__
    assert inspect.signature(func).return_annotation in (result, getattr(undercount, result))


def test_results_are_the_verbs_own_types() -> None:
    for verb, result in RESULTS.items():
        annotation = inspect.signature(getattr(undercount, verb)).return_annotation
        assert annotation in (result, getattr(undercount, result)), (verb, annotation)


def test_importing_the_package_loads_no_pandas_or_duckdb() -> None:
    code = "import sys, undercount; print(sorted(m for m in ('pandas', 'duckdb', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("package", ["undercount.names", "undercount.store", "undercount.ingest", "undercount.link",
                                     "undercount.review", "undercount.estimate", "undercount.report"])
def test_every_package_keeps_its_all(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
