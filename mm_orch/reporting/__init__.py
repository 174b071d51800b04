"""The trace report: ``mm-orch report data/traces -o report.html`` -- one self-contained HTML file of plots.

::

    from mm_orch.reporting import build_report
    build_report("data/traces", "report.html")
"""

from mm_orch.reporting.data import NoTracesError
from mm_orch.reporting.report import ReportSummary, build_report

__all__ = ["NoTracesError", "ReportSummary", "build_report"]
