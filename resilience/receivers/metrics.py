"""The receiver's own Prometheus metrics (``resilience_receiver_*``), on a registry it is given.

Nothing is registered at import; the receiver makes a fresh ``CollectorRegistry``.

Example
-------
>>> from prometheus_client import CollectorRegistry, generate_latest
>>> m = ReceiverMetrics(CollectorRegistry())
>>> m.accepted("ves", 3)
>>> b'resilience_receiver_events_total{outcome="accepted",source_type="ves"} 3.0' in generate_latest(m.registry)
True
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ReceiverMetrics", "OUTCOMES", "SOURCE_TYPES"]

SOURCE_TYPES = ("alertmanager", "ves", "snmp", "invalid")
OUTCOMES = ("accepted", "invalid", "rate_limited", "coalesced", "mapped", "duplicate", "ignored", "rejected")
_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400)


class ReceiverMetrics:
    """Counters, gauges and histograms of one receiver process.

    ``resilience_receiver_events_total{source_type, outcome}``: accepted (spooled and
    acknowledged), invalid (refused, kept for the quarantine), rate_limited (answered 429, not
    acknowledged), coalesced (accepted from an element over its rate: only its latest state per
    round is stored), mapped / duplicate / ignored / rejected (what the rules made of it: rejected
    events are in the quarantine table with their reason).
    ``resilience_receiver_rows_total{kind, outcome}``: the status rows the mapped events made,
    ``stored`` or ``quarantined`` by the ingest (e.g. an element not in the inventory yet).
    """

    def __init__(self, registry: CollectorRegistry, spool=None, worker=None):
        self.registry = registry
        self.events = Counter("resilience_receiver_events_total", "Events by source type and outcome",
                              ["source_type", "outcome"], registry=registry)
        self.rows = Counter("resilience_receiver_rows_total", "Status rows made from events, by ingest outcome",
                            ["kind", "outcome"], registry=registry)
        self.requests = Counter("resilience_receiver_http_requests_total", "HTTP requests by endpoint and code",
                                ["endpoint", "code"], registry=registry)
        self.lag = Histogram("resilience_receiver_store_lag_seconds",
                             "From an event's arrival at the receiver to its state being stored",
                             buckets=_LAG_BUCKETS, registry=registry)
        self.event_lag = Histogram("resilience_receiver_event_lag_seconds",
                                   "From an event's own time (startsAt, lastEpochMicrosec) to its state being stored",
                                   buckets=_LAG_BUCKETS, registry=registry)
        self.failures = Counter("resilience_receiver_ingest_failures_total",
                                "Worker rounds that failed (database down): retried, nothing dropped",
                                registry=registry)
        self.last_success = Gauge("resilience_receiver_last_success_timestamp_seconds",
                                  "When a worker round last stored its batch", registry=registry)
        self.spool_depth = Gauge("resilience_receiver_spool_events", "Events in the spool, not yet stored",
                                 registry=registry)
        self.spool_segments = Gauge("resilience_receiver_spool_segments", "Closed spool segments waiting",
                                    registry=registry)
        self.active_alarms = Gauge("resilience_receiver_active_alarms", "Alarms active in the receiver's view",
                                   registry=registry)
        self.up = Gauge("resilience_receiver_up", "1 while the receiver runs", registry=registry)
        self.up.set(1)
        for s in SOURCE_TYPES:  # every series exists from the start (rate() needs a zero)
            for o in OUTCOMES:
                self.events.labels(s, o)
        for k in ("node_status", "link_status"):
            for o in ("stored", "quarantined"):
                self.rows.labels(k, o)
        if spool is not None:
            self.spool_depth.set_function(spool.depth)
            self.spool_segments.set_function(lambda: len(spool.closed()))
        if worker is not None:
            self.active_alarms.set_function(lambda: sum(len(v) for v in worker.state.active.values()))

    def accepted(self, source_type: str, n: int = 1) -> None:
        """``n`` events spooled and acknowledged."""
        self.events.labels(source_type, "accepted").inc(n)

    def outcome(self, source_type: str, outcome: str, n: int = 1) -> None:
        """Count ``n`` events of one outcome."""
        self.events.labels(source_type if source_type in SOURCE_TYPES else "invalid", outcome).inc(n)

    def round_done(self, records: list[dict], counts: dict, *, rows: dict | None = None,
                   now: float | None = None, direct: bool = True) -> None:
        """A worker round committed: per-outcome counts (``counts``: (source type, outcome) ->
        n), status rows stored / quarantined by the ingest (``rows``: kind -> (stored,
        quarantined)) and the lags of its events."""
        from resilience.receivers.events import normalize

        now = time.time() if now is None else now
        for (st, outcome), n in counts.items():
            self.outcome(st, outcome, n)
        for kind, (ok, bad) in (rows or {}).items():
            if ok:
                self.rows.labels(kind, "stored").inc(ok)
            if bad:
                self.rows.labels(kind, "quarantined").inc(bad)
        if direct:
            for r in records:
                rx = float(r.get("rx") or 0.0)
                if rx > 0:
                    self.lag.observe(max(0.0, now - rx))
            for r in records[:: max(1, len(records) // 200)]:  # a sample: normalising is not free
                try:
                    t = normalize(r).time.timestamp()
                except Exception:  # noqa: BLE001 - metrics never break a round
                    continue
                self.event_lag.observe(max(0.0, now - t))
        self.last_success.set(now)

    def round_failed(self) -> None:
        """A worker round failed (retried)."""
        self.failures.inc()
