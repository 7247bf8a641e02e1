"""The report and the exports: what a person reads and what other tools take."""

from undercount.report.export import EXPORT_FORMATS, EXPORT_KINDS, ExportResult, export
from undercount.report.html import ReportResult, render_report, write_report

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_KINDS",
    "ExportResult",
    "ReportResult",
    "export",
    "render_report",
    "write_report",
]
