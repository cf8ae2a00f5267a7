"""PDF reports: a one-page client summary and the practice outcomes report.

    pdf = client_report_pdf(clients, sessions, "C0042")              # bytes of one A4 page
    pdf = practice_report_pdf(clients, sessions, start=date(2026, 1, 1), end=date(2026, 6, 30))

Both build on the analysis (`practice.analysis`) and the charts the pages draw, rendered to
PNG; docs/metrics.md explains every figure.
"""

from practice.reports.client import client_report_pdf, summarise_client
from practice.reports.practice_report import practice_report_pdf

__all__ = ["client_report_pdf", "practice_report_pdf", "summarise_client"]
