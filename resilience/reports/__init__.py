"""HTML reports for managers (templates in ``templates/``, inline SVG charts) and escaping.

The report functions are imported lazily so that ``resilience.reports.escape`` stays cheap.

Example
-------
>>> from resilience.reports import build_report, write_report
>>> callable(build_report) and callable(write_report)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resilience.reports.report import (
        NoSnapshot,
        SnapshotView,
        build_report,
        load_report_inputs,
        write_report,
    )

__all__ = ["build_report", "write_report", "load_report_inputs", "SnapshotView", "NoSnapshot"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from resilience.reports import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
