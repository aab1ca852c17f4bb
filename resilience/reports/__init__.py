"""HTML reports for managers (templates in ``templates/``, inline SVG charts) and escaping.

:mod:`~resilience.reports.report` builds the scheduled report from data (pure);
:mod:`~resilience.reports.publish` reads that data from the store and files and writes the
report's files.

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
    from resilience.reports.publish import load_report_inputs, write_report
    from resilience.reports.report import NoSnapshot, SnapshotView, build_report

__all__ = ["build_report", "write_report", "load_report_inputs", "SnapshotView", "NoSnapshot"]

#: Where each name lives: the pure building (report) or its I/O (publish).
_HOMES = {"build_report": "report", "SnapshotView": "report", "NoSnapshot": "report",
          "write_report": "publish", "load_report_inputs": "publish"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"resilience.reports.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
