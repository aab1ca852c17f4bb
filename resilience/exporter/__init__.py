"""Prometheus exporter over the latest stored analysis snapshot.

client_python custom-collector style: one collector per metric group
(:mod:`resilience.exporter.collectors`), the data source injected (:mod:`~.source`), a
``registry=`` argument everywhere, nothing registered at import. :mod:`~.server` serves
``/metrics`` and ``/healthz``; :mod:`~.dashboards` generates the Grafana dashboards.
Metric names, labels and cardinality bounds: ``docs/metrics.md``.

Example
-------
>>> from datetime import UTC, datetime
>>> from prometheus_client import CollectorRegistry
>>> from resilience.exporter import CachedSource, ExporterSnapshot, register_collectors
>>> snap = ExporterSnapshot(id=1, as_of=datetime.now(UTC), created_at=datetime.now(UTC))
>>> registry = CollectorRegistry()
>>> _ = register_collectors(CachedSource(lambda: snap), registry=registry)
>>> registry.get_sample_value("resilience_exporter_snapshot_source_up")
1.0
"""

from resilience.exporter.collectors import (
    AGGREGATE_FAMILIES,
    ExporterCollector,
    ForecastCollector,
    IngestCollector,
    NetworkCollector,
    OutageCollector,
    ScrapeStats,
    SnapshotCollector,
    SpofCollector,
    register_collectors,
)
from resilience.exporter.model import ExporterSnapshot
from resilience.exporter.server import ExporterApp, make_exporter, serve, start_server
from resilience.exporter.source import CachedSource, DatabaseSource, SourceState

__all__ = [
    "AGGREGATE_FAMILIES",
    "CachedSource",
    "DatabaseSource",
    "ExporterApp",
    "ExporterCollector",
    "ExporterSnapshot",
    "ForecastCollector",
    "IngestCollector",
    "NetworkCollector",
    "OutageCollector",
    "ScrapeStats",
    "SnapshotCollector",
    "SourceState",
    "SpofCollector",
    "make_exporter",
    "register_collectors",
    "serve",
    "start_server",
]
