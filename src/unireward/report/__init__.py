"""Reports on scored dumps: what ``unireward report`` writes.

:func:`build_report` reads scored rows once (bounded memory) into a :class:`ReportData`;
:meth:`ReportData.summary` gives every number as JSON-ready data; :func:`render_report`
and :func:`render_comparison` draw self-contained HTML pages from such summaries.
"""

from __future__ import annotations

from ._benchmarks import FAMILIES
from ._collect import ReportData, build_report
from ._html import render_comparison, render_report  # noqa: F401

__all__ = ["FAMILIES", "ReportData", "build_report", "render_comparison", "render_report"]
