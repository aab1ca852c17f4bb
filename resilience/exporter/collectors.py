"""Prometheus collectors, one per metric group, over an injected snapshot source.

client_python custom-collector style: each collector takes the source (a
:class:`~resilience.exporter.source.CachedSource` or anything with a ``state()`` method returning
a :class:`~resilience.exporter.source.SourceState`) and an optional ``registry=`` to register
with. Nothing is registered at import. Domain collectors build their metric families once per
snapshot (keyed by the snapshot object the source hands out) and replay them on later scrapes.

Groups:

- :class:`ExporterCollector`  exporter health: source up, last success, fetch/scrape duration;
- :class:`SnapshotCollector`  snapshot id, timestamp, age, analysis duration;
- :class:`NetworkCollector`   nodes by state/kind/operator/prefecture, served subscribers/ratio;
- :class:`OutageCollector`    nodes/subscribers out by cause, root cause and area; out sites
  (capped) with their root outage; root outages (sites and cut links) with their dependents;
- :class:`SpofCollector`      articulation points, bridges, hidden SPOF groups, single-homed,
  top N elements and shared-risk groups by blast radius;
- :class:`ForecastCollector`  battery forecast by horizon;
- :class:`IngestCollector`    files, rows accepted and quarantined by feed kind and rule;
- :class:`RestorationCollector` the newest restoration plan (``resilience_restore`` DAG):
  subscribers expected back within 6/24/72 h, subscriber-hours lost by strategy, actions.

Metric names, labels and cardinality bounds: ``docs/metrics.md``.

Example
-------
>>> from datetime import UTC, datetime
>>> from prometheus_client import CollectorRegistry, generate_latest
>>> from resilience.exporter.model import ExporterSnapshot
>>> from resilience.exporter.source import CachedSource
>>> snap = ExporterSnapshot(id=3, as_of=datetime.now(UTC), created_at=datetime.now(UTC),
...                         total_subscribers=10, served_subscribers=9)
>>> registry = CollectorRegistry()
>>> _ = register_collectors(CachedSource(lambda: snap), registry=registry)
>>> registry.get_sample_value("resilience_served_ratio")
0.9
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from resilience.exporter.hardening import HardeningCollector
from resilience.exporter.model import BOUNDED_LABELS, Aggregate, ExporterSnapshot, horizon_label
from resilience.exporter.plans import PlanCollector

__all__ = [
    "ScrapeStats",
    "ExporterCollector",
    "SnapshotCollector",
    "NetworkCollector",
    "OutageCollector",
    "SpofCollector",
    "ForecastCollector",
    "IngestCollector",
    "RestorationCollector",
    "RESTORATION_HORIZONS_H",
    "DOMAIN_COLLECTORS",
    "register_collectors",
    "AGGREGATE_FAMILIES",
    "AGGREGATES_DERIVED",
]

#: How rows of ``snapshot_aggregates`` become metric families:
#: aggregate metric -> (collector group, Prometheus name, help, label columns). ``horizon_hours``
#: becomes the ``horizon`` label ("3h"). Aggregate metrics not listed here are not exported.
AGGREGATE_FAMILIES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "nodes": ("network", "resilience_nodes",
              "Nodes by latest status state (up|down|degraded|unknown), kind, operator, prefecture.",
              ("operator", "prefecture", "kind", "state")),
    "subscribers": ("network", "resilience_subscribers",
                    "Subscribers of the nodes by operator, prefecture and kind.",
                    ("operator", "prefecture", "kind")),
    "served_nodes": ("network", "resilience_served_nodes",
                     "Nodes with a path to a core over up elements, by operator and prefecture.",
                     ("operator", "prefecture")),
    "served_subscribers": ("network", "resilience_served_subscribers",
                           "Subscribers of served nodes, by operator and prefecture.",
                           ("operator", "prefecture")),
    "articulation_points": ("spof", "resilience_articulation_points",
                            "Nodes whose failure cuts other served nodes off the core.",
                            ("operator", "prefecture", "kind")),
    "bridges": ("spof", "resilience_bridges",
                "Links whose failure cuts served nodes off the core (kind = medium).",
                ("operator", "prefecture", "kind")),
    "hidden_srlgs": ("spof", "resilience_hidden_spof_groups",
                     "Shared-risk link groups with a hidden part: they cut nodes that no single "
                     "element cuts off.", ()),
    "spofs_cutting_others": ("spof", "resilience_spofs_cutting_other_sites",
                             "Single points of failure that cut sites other than their own (every "
                             "node SPOF, and links cutting more than one node).",
                             ("operator", "prefecture")),
    "single_homed_sites": ("spof", "resilience_single_homed_sites",
                           "Sites that hang on their own access link alone (a link SPOF cutting "
                           "only that site).", ("operator", "prefecture")),
    "srlgs_cutting": ("spof", "resilience_srlgs_cutting",
                      "Shared-risk link groups whose failure cuts at least one served node.", ()),
    "single_homed_nodes": ("spof", "resilience_single_homed_nodes",
                           "Served nodes with at least one single point of failure towards the core.",
                           ("operator", "prefecture", "municipality")),
    "single_homed_subscribers": ("spof", "resilience_single_homed_subscribers",
                                 "Subscribers of single-homed nodes.",
                                 ("operator", "prefecture", "municipality")),
    "forecast_nodes_out": ("forecast", "resilience_forecast_nodes_out",
                           "Nodes out at the horizon if grid power is not restored (incl. out now).",
                           ("operator", "prefecture", "horizon")),
    "forecast_subscribers_out": ("forecast", "resilience_forecast_subscribers_out",
                                 "Subscribers out at the horizon if grid power is not restored.",
                                 ("operator", "prefecture", "horizon")),
}
#: Aggregate metrics deliberately not exported from ``snapshot_aggregates`` as they are: the
#: exporter derives the outage counts from ``snapshot_nodes_out`` with the extra ``root_cause``
#: label (resilience_nodes_out, resilience_subscribers_out), and ``cores`` becomes
#: resilience_network_core_nodes (also for snapshots written before ``cores`` existed).
AGGREGATES_DERIVED = ("nodes_out", "subscribers_out", "root_cause_nodes_out", "cores")


def _b(v: bool) -> str:
    return "true" if v else "false"


def _agg_label(a: Aggregate, col: str) -> str:
    if col == "horizon":
        return horizon_label(a.horizon_hours)
    return getattr(a, col)


def _aggregate_families(snap: ExporterSnapshot, group: str) -> list[Metric]:
    fams: dict[str, GaugeMetricFamily] = {}
    for metric, (g, name, doc, labels) in AGGREGATE_FAMILIES.items():
        if g == group:
            fams[metric] = GaugeMetricFamily(name, doc, labels=list(labels))
    for a in snap.aggregates:
        fam = fams.get(a.metric)
        if fam is not None:
            fam.add_metric([_agg_label(a, c) for c in fam._labelnames], a.value)  # noqa: SLF001
    return list(fams.values())


@dataclass
class ScrapeStats:
    """Counters the HTTP app updates and :class:`ExporterCollector` reports."""

    scrapes: int = 0
    last_scrape_seconds: float = 0.0
    started: float = field(default_factory=time.time)


class _SourceCollector(Collector):
    """Base: a collector over ``source.state()``, optionally registered with ``registry``."""

    group = ""

    def __init__(self, source, registry: CollectorRegistry | None = None) -> None:
        self.source = source
        if registry is not None:
            registry.register(self)

    def describe(self) -> Iterable[Metric]:
        return list(self._describe())

    def _describe(self) -> Iterator[Metric]:  # pragma: no cover - overridden
        return iter(())


class _SnapshotFamilies(_SourceCollector):
    """Base of the domain collectors: families built once per snapshot object and replayed."""

    def __init__(self, source, registry: CollectorRegistry | None = None) -> None:
        self._for: ExporterSnapshot | None = None
        self._families: tuple[Metric, ...] = ()
        super().__init__(source, registry)

    def collect(self) -> Iterable[Metric]:
        snap = self.source.state().snapshot
        if snap is None:
            return ()
        cached = self._families_for(snap)
        return cached

    def _families_for(self, snap: ExporterSnapshot) -> tuple[Metric, ...]:
        pair = getattr(self, "_pair", None)
        if pair is not None and pair[0] is snap:
            return pair[1]
        fams = tuple(self.build(snap))
        self._pair = (snap, fams)  # one atomic assignment: safe with concurrent scrapes
        return fams

    def build(self, snap: ExporterSnapshot) -> Iterable[Metric]:  # pragma: no cover
        raise NotImplementedError

    def _describe(self) -> Iterator[Metric]:
        from datetime import UTC, datetime

        empty = ExporterSnapshot(id=0, as_of=datetime.now(UTC), created_at=datetime.now(UTC))
        for fam in self.build(empty):
            fam.samples = []
            yield fam


class ExporterCollector(_SourceCollector):
    """Exporter health: is the snapshot source reachable, when did it last work, how fast.

    Parameters
    ----------
    source
        The snapshot source (``state()``).
    stats
        Scrape statistics kept by the HTTP app (optional).
    registry
        Registry to register with (optional).
    """

    def __init__(self, source, stats: ScrapeStats | None = None,
                 registry: CollectorRegistry | None = None) -> None:
        self.stats = stats or ScrapeStats()
        super().__init__(source, registry)

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.source.state()))

    def _describe(self) -> Iterator[Metric]:
        from resilience.exporter.source import SourceState

        for fam in self._families(SourceState(None, False, 0.0, "", 0.0, 0)):
            fam.samples = []
            yield fam

    def _families(self, st) -> Iterator[Metric]:
        from resilience import __version__

        info = GaugeMetricFamily("resilience_exporter_build_info", "Exporter version.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily(
            "resilience_exporter_snapshot_source_up",
            "1 if the last read of the snapshot store succeeded, 0 if it failed (the last good "
            "snapshot is still served).", value=1.0 if st.up else 0.0)
        yield GaugeMetricFamily(
            "resilience_exporter_last_success_timestamp_seconds",
            "Unix time of the last successful read of the snapshot store (0: never).",
            value=st.last_success)
        yield GaugeMetricFamily(
            "resilience_exporter_snapshot_loaded",
            "1 if a snapshot is being served, 0 if none was ever read.",
            value=0.0 if st.snapshot is None else 1.0)
        yield GaugeMetricFamily(
            "resilience_exporter_source_fetch_duration_seconds",
            "Duration of the last read of the snapshot store.", value=st.fetch_seconds)
        yield CounterMetricFamily(
            "resilience_exporter_source_errors", "Failed reads of the snapshot store.", value=st.errors)
        yield GaugeMetricFamily(
            "resilience_exporter_scrape_duration_seconds",
            "Time the previous /metrics request took to render.", value=self.stats.last_scrape_seconds)
        yield CounterMetricFamily("resilience_exporter_scrapes", "/metrics requests served.",
                                  value=self.stats.scrapes)
        folded = GaugeMetricFamily(
            "resilience_exporter_folded_label_values",
            "Distinct values of a label folded into 'other' because the label reached its limit "
            "(exporter_label_limits); 0: every value is exported.", labels=["label"])
        if st.snapshot is not None:
            for label in BOUNDED_LABELS:
                folded.add_metric([label], st.snapshot.folded.get(label, 0))
        yield folded


class SnapshotCollector(_SourceCollector):
    """The served snapshot: id, state time, creation time, age (computed at scrape time).

    Parameters
    ----------
    source
        The snapshot source (``state()``).
    registry
        Registry to register with (optional).
    clock
        Unix-time clock the age is measured with (injectable for tests).
    """

    def __init__(self, source, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        super().__init__(source, registry)

    def collect(self) -> Iterable[Metric]:
        snap = self.source.state().snapshot
        if snap is None:
            return []
        return list(self._families(snap, self.clock()))

    def _describe(self) -> Iterator[Metric]:
        from datetime import UTC, datetime

        for fam in self._families(ExporterSnapshot(0, datetime.now(UTC), datetime.now(UTC)), 0.0):
            fam.samples = []
            yield fam

    def _families(self, snap: ExporterSnapshot, now: float) -> Iterator[Metric]:
        as_of = snap.as_of.timestamp()
        yield GaugeMetricFamily("resilience_snapshot_id", "Id of the snapshot being served.", value=snap.id)
        yield GaugeMetricFamily("resilience_snapshot_timestamp_seconds",
                                "Unix time of the network state the snapshot describes.", value=as_of)
        yield GaugeMetricFamily("resilience_snapshot_created_timestamp_seconds",
                                "Unix time the snapshot was written.", value=snap.created_at.timestamp())
        yield GaugeMetricFamily("resilience_snapshot_age_seconds",
                                "Seconds since the state time of the snapshot being served.",
                                value=max(0.0, now - as_of))
        yield GaugeMetricFamily("resilience_snapshot_analysis_duration_seconds",
                                "How long the analysis of this snapshot took.",
                                value=float(snap.duration_seconds or 0.0))


class NetworkCollector(_SnapshotFamilies):
    """Nodes by state/kind/operator/prefecture; totals; served subscribers and ratio."""

    def build(self, snap: ExporterSnapshot) -> Iterable[Metric]:
        yield GaugeMetricFamily("resilience_network_nodes", "Nodes in the inventory.", value=snap.total_nodes)
        yield GaugeMetricFamily("resilience_network_subscribers", "Subscribers of all nodes.",
                                value=snap.total_subscribers)
        yield GaugeMetricFamily("resilience_network_served_nodes",
                                "Nodes with a path to a core over up elements (whole network).",
                                value=snap.served_nodes)
        yield GaugeMetricFamily("resilience_network_served_subscribers",
                                "Subscribers of served nodes (whole network).", value=snap.served_subscribers)
        yield GaugeMetricFamily("resilience_served_ratio",
                                "Served subscribers over all subscribers (whole network).",
                                value=snap.served_ratio)
        cores = GaugeMetricFamily(
            "resilience_network_core_nodes",
            "Nodes of kind core (the roots every path is measured to). 0: no core, so nothing is "
            "served and every blast radius is 0 (alert ResilienceNoCore).", labels=[])
        if snap.core_nodes is not None:
            cores.add_metric([], snap.core_nodes)
        yield cores
        yield from _aggregate_families(snap, "network")


class OutageCollector(_SnapshotFamilies):
    """Nodes and subscribers out by cause, root cause and area; out sites; root outages.

    Per-site series (``resilience_site_out_*``) and root outages are capped by the source
    (``max_sites_out``); ``resilience_sites_out_not_exported`` says how many were left out.
    """

    AREA = ["cause", "root_cause", "operator", "prefecture", "municipality"]
    SITE = ["node_id", "kind", "operator", "prefecture", "municipality", "cause", "root_cause", "root"]

    def build(self, snap: ExporterSnapshot) -> Iterable[Metric]:
        nodes = GaugeMetricFamily(
            "resilience_nodes_out",
            "Nodes out (down or not served) by cause, whether they are a root cause, operator and area.",
            labels=self.AREA)
        subs = GaugeMetricFamily("resilience_subscribers_out",
                                 "Subscribers of out nodes by cause, root cause, operator and area.",
                                 labels=self.AREA)
        for g in snap.outages:
            lv = [g.cause, _b(g.root_cause), g.operator, g.prefecture, g.municipality]
            nodes.add_metric(lv, g.nodes)
            subs.add_metric(lv, g.subscribers)
        yield nodes
        yield subs
        site = GaugeMetricFamily(
            "resilience_site_out_subscribers",
            "Subscribers of an out site (capped list: root causes first, then by subscribers); "
            "root is the root-cause element it depends on (itself if root_cause=\"true\").",
            labels=self.SITE)
        info = GaugeMetricFamily("resilience_site_out_info", "Out site with its coordinates (for maps).",
                                 labels=[*self.SITE, "lat", "lon"])
        for s in snap.sites_out:
            lv = [s.node_id, s.kind, s.operator, s.prefecture, s.municipality, s.cause,
                  _b(s.root_cause), s.root or s.node_id]
            site.add_metric(lv, s.subscribers)
            if s.lat is not None and s.lon is not None and s.lat == s.lat and s.lon == s.lon:
                info.add_metric([*lv, f"{s.lat:.5f}", f"{s.lon:.5f}"], 1)
        yield site
        yield info
        yield GaugeMetricFamily("resilience_sites_out_not_exported",
                                "Out sites left out of the per-site series by the cap.",
                                value=max(0, snap.sites_out_total - len(snap.sites_out)))
        rn = GaugeMetricFamily(
            "resilience_root_outage_nodes",
            "Out nodes explained by one root outage (an out site that is a root cause, or a cut link), "
            "the root included if it is a node.", labels=["root", "root_type"])
        rs = GaugeMetricFamily("resilience_root_outage_subscribers",
                               "Subscribers of the out nodes explained by one root outage.",
                               labels=["root", "root_type"])
        for r in snap.roots:
            rn.add_metric([r.root, r.root_type], r.nodes)
            rs.add_metric([r.root, r.root_type], r.subscribers)
        yield rn
        yield rs


class SpofCollector(_SnapshotFamilies):
    """Single points of failure: counts, single-homed nodes, top N elements and groups."""

    ELEMENT = ["element", "element_type", "kind", "operator", "prefecture", "municipality"]

    def build(self, snap: ExporterSnapshot) -> Iterable[Metric]:
        total = sum(a.value for a in snap.aggregates
                    if a.metric in ("articulation_points", "bridges", "hidden_srlgs"))
        yield GaugeMetricFamily("resilience_spof_elements",
                                "Single points of failure: articulation points + bridges + hidden SPOF groups.",
                                value=total)
        yield from _aggregate_families(snap, "spof")
        nl = GaugeMetricFamily("resilience_element_nodes_lost",
                               "Blast radius of a top-N element: served nodes lost if it alone fails.",
                               labels=self.ELEMENT)
        sl = GaugeMetricFamily("resilience_element_subscribers_lost",
                               "Blast radius of a top-N element: subscribers lost if it alone fails.",
                               labels=self.ELEMENT)
        for e in snap.elements:
            lv = [e.element_id, e.element_type, e.kind, e.operator, e.prefecture, e.municipality]
            nl.add_metric(lv, e.nodes_lost)
            sl.add_metric(lv, e.subscribers_lost)
        yield nl
        yield sl
        gn = GaugeMetricFamily("resilience_srlg_nodes_lost",
                               "Nodes lost if a top-N shared-risk link group fails.", labels=["srlg", "hidden"])
        gs = GaugeMetricFamily("resilience_srlg_subscribers_lost",
                               "Subscribers lost if a top-N shared-risk link group fails.",
                               labels=["srlg", "hidden"])
        hn = GaugeMetricFamily(
            "resilience_srlg_hidden_nodes",
            "Hidden part of a top-N shared-risk link group: nodes it cuts that no single element "
            "cuts off (hidden=\"true\" when above 0).", labels=["srlg", "hidden"])
        hs = GaugeMetricFamily("resilience_srlg_hidden_subscribers",
                               "Subscribers of the hidden part of a top-N shared-risk link group.",
                               labels=["srlg", "hidden"])
        for g in snap.srlgs:
            lv = [g.srlg, _b(g.hidden)]
            gn.add_metric(lv, g.nodes_lost)
            gs.add_metric(lv, g.subscribers_lost)
            hn.add_metric(lv, g.hidden_nodes)
            hs.add_metric(lv, g.hidden_subscribers)
        yield gn
        yield gs
        yield hn
        yield hs


class ForecastCollector(_SnapshotFamilies):
    """Battery forecast: nodes and subscribers out at each horizon without grid power."""

    def build(self, snap: ExporterSnapshot) -> Iterable[Metric]:
        yield from _aggregate_families(snap, "forecast")


class IngestCollector(_SnapshotFamilies):
    """Cumulative ingest counters: files, rows accepted, rows quarantined by kind and rule."""

    def build(self, snap: ExporterSnapshot) -> Iterable[Metric]:
        ing = snap.ingest
        files = CounterMetricFamily("resilience_ingest_files", "Feed files ingested, by feed kind.",
                                    labels=["kind"])
        acc = CounterMetricFamily("resilience_ingest_rows_accepted", "Feed rows stored, by feed kind.",
                                  labels=["kind"])
        for kind in sorted(ing.files):
            files.add_metric([kind], ing.files[kind])
            acc.add_metric([kind], ing.rows_accepted.get(kind, 0))
        q = CounterMetricFamily(
            "resilience_ingest_rows_quarantined",
            "Feed rows quarantined, by feed kind and rule broken (rule:field).", labels=["kind", "rule"])
        by_kind: dict[str, int] = defaultdict(int)
        for (kind, rule), n in sorted(ing.rows_quarantined.items()):
            q.add_metric([kind, rule], n)
            by_kind[kind] += n
        yield files
        yield acc
        yield q
        yield GaugeMetricFamily("resilience_ingest_last_file_timestamp_seconds",
                                "Unix time the last feed file was ingested (0: never).",
                                value=ing.last_ingest_timestamp or 0.0)


#: Hours after the plan's start at which the subscribers it brings back are exported.
RESTORATION_HORIZONS_H: tuple[int, ...] = (6, 24, 72)


class RestorationCollector(PlanCollector):
    """The newest restoration plan, from an injected source (a ``() -> dict | None`` callable,
    e.g. :class:`~resilience.exporter.source.RestorationPlanFiles`; no plan: no samples).

    ``resilience_restoration_subscribers_restored{horizon}``: subscribers the plan brings back
    within 6, 24 and 72 h of its start (served at that hour minus served at the start; a horizon
    beyond the plan's own is not exported); ``resilience_restoration_subscriber_hours_lost
    {strategy}``: the plan's objective for ``planned`` and each baseline (``nearest``,
    ``largest``, ``fifo``, ``none``); ``resilience_restoration_actions{action}``: planned actions
    by kind; ``resilience_restoration_plan_timestamp_seconds`` and
    ``resilience_restoration_plan_snapshot_id``.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> plan = {"start": "2024-01-03T00:00:00+09:00", "snapshot_id": 4, "horizon_h": 72,
    ...         "subscriber_hours_lost": 50, "baselines": {"none": 90, "nearest": 70},
    ...         "actions": [{"action": "generator"}, {"action": "repair"}],
    ...         "curve": [{"hours": 0, "served_subscribers": 100}, {"hours": 6, "served_subscribers": 130},
    ...                   {"hours": 24, "served_subscribers": 150}, {"hours": 72, "served_subscribers": 150}]}
    >>> reg = CollectorRegistry()
    >>> _ = RestorationCollector(lambda: plan, registry=reg)
    >>> reg.get_sample_value("resilience_restoration_subscribers_restored", {"horizon": "6h"})
    30.0
    >>> reg.get_sample_value("resilience_restoration_subscriber_hours_lost", {"strategy": "nearest"})
    70.0
    >>> reg.get_sample_value("resilience_restoration_actions", {"action": "repair"})
    1
    """

    ACTIONS = ("repair", "generator", "portable_bs", "satellite_backhaul")
    what = "restoration"

    def _families(self, plan: dict | None) -> Iterator[Metric]:
        restored = GaugeMetricFamily(
            "resilience_restoration_subscribers_restored",
            "Subscribers the newest restoration plan brings back within the horizon of its start.",
            labels=["horizon"])
        lost = GaugeMetricFamily(
            "resilience_restoration_subscriber_hours_lost",
            "Priority-weighted subscriber-hours lost over the plan's horizon, by strategy "
            "(planned and the baselines).", labels=["strategy"])
        actions = GaugeMetricFamily("resilience_restoration_actions",
                                    "Actions of the newest restoration plan, by kind.",
                                    labels=["action"])
        ts = GaugeMetricFamily("resilience_restoration_plan_timestamp_seconds",
                               "Unix time the newest restoration plan starts at.")
        sid = GaugeMetricFamily("resilience_restoration_plan_snapshot_id",
                                "Analysis snapshot the newest restoration plan was made for.")
        if plan:
            curve = sorted(((float(c["hours"]), float(c["served_subscribers"]))
                            for c in plan.get("curve") or []), key=lambda hc: hc[0])
            if curve:
                base = curve[0][1]
                last = curve[-1][0]
                for h in RESTORATION_HORIZONS_H:
                    if h <= last + 1e-9:
                        at = [v for hh, v in curve if hh <= h + 1e-9][-1]
                        restored.add_metric([f"{h}h"], max(0.0, at - base))
            lost.add_metric(["planned"], float(plan.get("subscriber_hours_lost") or 0))
            for name, value in sorted((plan.get("baselines") or {}).items()):
                lost.add_metric([str(name)], float(value))
            counts = dict.fromkeys(self.ACTIONS, 0)
            for a in plan.get("actions") or []:
                if a.get("action") in counts:
                    counts[a["action"]] += 1
            for name, k in counts.items():
                actions.add_metric([name], k)
            if plan.get("start"):
                from datetime import datetime

                ts.add_metric([], datetime.fromisoformat(str(plan["start"])).timestamp())
            if plan.get("snapshot_id") is not None:
                sid.add_metric([], float(plan["snapshot_id"]))
        yield restored
        yield lost
        yield actions
        yield ts
        yield sid


#: The collectors whose output depends only on the snapshot (rendered once per snapshot).
DOMAIN_COLLECTORS: Sequence[type[_SnapshotFamilies]] = (
    NetworkCollector, OutageCollector, SpofCollector, ForecastCollector, IngestCollector,
)


def register_collectors(source, registry: CollectorRegistry, stats: ScrapeStats | None = None,
                        *, domain: bool = True, live: bool = True,
                        clock: Callable[[], float] = time.time,
                        restoration: Callable[[], dict | None] | None = None,
                        hardening: Callable[[], dict | None] | None = None) -> list[Collector]:
    """Create every collector over ``source`` and register it with ``registry``.

    Parameters
    ----------
    source
        Snapshot source with a ``state()`` method (e.g. :class:`CachedSource`).
    registry
        The registry (tests pass a fresh ``CollectorRegistry()``).
    stats
        Scrape statistics shared with the HTTP app.
    domain, live
        Register the domain collectors (output changes only with the snapshot) and/or the live
        ones (exporter health, snapshot age).
    clock
        Unix-time clock of the snapshot age (injectable for tests).
    restoration
        Source of the newest restoration plan (:class:`RestorationCollector`), registered with
        the live collectors (a plan is written after its snapshot's analysis).
    hardening
        Source of the newest hardening plan
        (:class:`~resilience.exporter.hardening.HardeningCollector`), registered with the live
        collectors (plans are written by the ``resilience_harden`` DAG, not by the analysis).

    Returns
    -------
    list
        The collectors, in registration order.

    Example
    -------
    >>> from prometheus_client import CollectorRegistry
    >>> from resilience.exporter.source import CachedSource
    >>> len(register_collectors(CachedSource(lambda: None), registry=CollectorRegistry()))
    7
    """
    out: list[Collector] = []
    if live:
        out.append(ExporterCollector(source, stats, registry=registry))
        out.append(SnapshotCollector(source, registry=registry, clock=clock))
        if restoration is not None:
            out.append(RestorationCollector(restoration, registry=registry))
        if hardening is not None:
            out.append(HardeningCollector(hardening, registry=registry))
    if domain:
        out.extend(cls(source, registry=registry) for cls in DOMAIN_COLLECTORS)
    return out
