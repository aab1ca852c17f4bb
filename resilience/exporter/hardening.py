"""The newest hardening plan as Prometheus metrics (issue 17: the plan's expected benefit).

The ``resilience_harden`` DAG (and ``resilience harden`` with an output directory) writes the
plan to ``var/hardening/hardening-<budget>.json`` (:func:`resilience.api.harden`).
:class:`HardeningPlanFiles` reads the newest of those files (a ``() -> dict | None`` callable,
like :class:`~resilience.exporter.source.RestorationPlanFiles`) and
:class:`HardeningCollector` turns it into gauges; the collector takes the source injected and
never reads the store.

Metrics (names, labels and bounds: ``docs/metrics.md``):

- ``resilience_hardening_expected_subscriber_hours_lost{plan}``: expected priority-weighted
  subscriber-hours lost over the ensemble with the plan (``planned``) and with each baseline at
  the same budget (``none``, ``uniform``, ``largest``);
- ``resilience_hardening_expected_subscriber_hours_saved{plan}``: ``none`` minus the above for
  ``planned``, ``uniform`` and ``largest`` (what the money buys);
- ``resilience_hardening_budget_yen``, ``resilience_hardening_plan_cost_yen``: the budget and
  what the plan spends (in the catalogue's currency, yen by default);
- ``resilience_hardening_measures{measure}``: measures bought, by catalogue id (at most
  :data:`MAX_MEASURE_LABELS` ids, the rest summed under ``other``);
- ``resilience_hardening_plan_timestamp_seconds`` (when the file was written) and
  ``resilience_hardening_plan_age_seconds`` (now minus that, per scrape);
- ``resilience_hardening_horizon_seconds`` and ``resilience_hardening_samples``: what the
  expectation is over.

Example
-------
>>> import json, tempfile
>>> from pathlib import Path
>>> from prometheus_client import CollectorRegistry
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "hardening-100.json").write_text(json.dumps({"budget": 100,
...     "expected_subscriber_hours_lost": 40, "baseline_loss": {"none": 90, "uniform": 70},
...     "plan": [{"measure": "generator", "cost": 60}]}))
>>> reg = CollectorRegistry()
>>> _ = HardeningCollector(HardeningPlanFiles(d), registry=reg)
>>> reg.get_sample_value("resilience_hardening_expected_subscriber_hours_saved", {"plan": "planned"})
50.0
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from resilience.exporter.plans import PlanCollector, PlanFiles

__all__ = ["HardeningPlanFiles", "HardeningCollector", "PLANS", "MAX_MEASURE_LABELS"]

log = logging.getLogger(__name__)

PLANS = ("planned", "none", "uniform", "largest")
"""Values of the ``plan`` label (the plan and the baselines of :mod:`resilience.hardening`)."""

MAX_MEASURE_LABELS = 20
"""At most this many catalogue ids as ``measure`` label values; the rest count as ``other``."""

_MTIME = PlanFiles.MTIME


class HardeningPlanFiles(PlanFiles):
    """The newest hardening plan in ``directory`` (``hardening-*.json``, written by the
    ``resilience_harden`` DAG and ``resilience harden``); see :class:`PlanFiles`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> HardeningPlanFiles(d)() is None
    True
    >>> _ = (d / "hardening-5.json").write_text('{"budget": 5}')
    >>> HardeningPlanFiles(d)()["budget"]
    5
    """

    prefix = "hardening"


def _num(x: object) -> float | None:
    """``x`` as a finite float, else ``None``."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class HardeningCollector(PlanCollector):
    """The newest hardening plan, from an injected source (a ``() -> dict | None`` callable,
    e.g. :class:`HardeningPlanFiles`; no plan: no samples; a source that raises or a plan with
    bad fields never breaks the scrape: the bad fields are left out).

    Parameters
    ----------
    source : callable
        Returns the plan dict (the JSON of :func:`resilience.api.harden`) or ``None``.
    registry : CollectorRegistry, optional
        Registered with it when given.
    clock : callable, optional
        Unix time now (for the age), default :func:`time.time`.

    Examples
    --------
    >>> plan = {"budget": 2e9, "expected_subscriber_hours_lost": 3.8e6, "spent": 1.9e9,
    ...         "baseline_loss": {"none": 4.6e6, "uniform": 4.45e6, "largest": 4.5e6},
    ...         "plan": [{"measure": "battery_24h", "cost": 3e6}], "_file_mtime": 100.0}
    >>> reg = CollectorRegistry()
    >>> _ = HardeningCollector(lambda: plan, registry=reg, clock=lambda: 160.0)
    >>> reg.get_sample_value("resilience_hardening_expected_subscriber_hours_lost", {"plan": "uniform"})
    4450000.0
    >>> reg.get_sample_value("resilience_hardening_measures", {"measure": "battery_24h"})
    1.0
    >>> reg.get_sample_value("resilience_hardening_plan_age_seconds")
    60.0
    """

    what = "hardening"

    def __init__(self, source: Callable[[], dict | None], registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # before registering: the registry describes the families at once
        super().__init__(source, registry)

    def _families(self, plan: dict | None) -> Iterator[Metric]:
        lost = GaugeMetricFamily(
            "resilience_hardening_expected_subscriber_hours_lost",
            "Expected priority-weighted subscriber-hours lost over the scenario ensemble with the "
            "newest hardening plan (planned) and with each baseline at the same budget.",
            labels=["plan"])
        saved = GaugeMetricFamily(
            "resilience_hardening_expected_subscriber_hours_saved",
            "Expected subscriber-hours the plan (or baseline) saves against buying nothing.",
            labels=["plan"])
        budget = GaugeMetricFamily("resilience_hardening_budget_yen",
                                   "Budget of the newest hardening plan, in yen (the catalogue's currency).")
        cost = GaugeMetricFamily("resilience_hardening_plan_cost_yen",
                                 "What the newest hardening plan spends, in yen (the catalogue's currency).")
        measures = GaugeMetricFamily("resilience_hardening_measures",
                                     "Measures the newest hardening plan buys, by catalogue id.",
                                     labels=["measure"])
        ts = GaugeMetricFamily("resilience_hardening_plan_timestamp_seconds",
                               "Unix time the newest hardening plan was written.")
        age = GaugeMetricFamily("resilience_hardening_plan_age_seconds",
                                "Now minus the time the newest hardening plan was written.")
        horizon = GaugeMetricFamily("resilience_hardening_horizon_seconds",
                                    "Time span the plan's expected loss counts, per scenario sample.")
        samples = GaugeMetricFamily("resilience_hardening_samples",
                                    "Scenario samples the plan's expectation is over.")
        if plan:
            values = {"planned": _num(plan.get("expected_subscriber_hours_lost"))}
            base = plan.get("baseline_loss")
            if isinstance(base, dict):
                values.update({k: _num(base.get(k)) for k in PLANS[1:]})
            for k in PLANS:
                if values.get(k) is not None:
                    lost.add_metric([k], values[k])
            none = values.get("none")
            if none is not None:
                for k in ("planned", "uniform", "largest"):
                    if values.get(k) is not None:
                        saved.add_metric([k], none - values[k])
            rows = [r for r in plan.get("plan") or [] if isinstance(r, dict)]
            if (b := _num(plan.get("budget"))) is not None:
                budget.add_metric([], b)
            spent = _num(plan.get("spent"))
            if spent is None and rows:
                spent = sum(_num(r.get("cost")) or 0.0 for r in rows)
            if spent is not None or "plan" in plan:
                cost.add_metric([], spent or 0.0)
            counts: dict[str, int] = {}
            for r in rows:
                m = str(r.get("measure") or "other")
                counts[m] = counts.get(m, 0) + 1
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            other = sum(v for _, v in ranked[MAX_MEASURE_LABELS:])
            for m, v in sorted(ranked[:MAX_MEASURE_LABELS]):
                measures.add_metric([m], float(v))
            if other:
                measures.add_metric(["other"], float(other))
            if (t := _num(plan.get(_MTIME))) is not None:
                ts.add_metric([], t)
                age.add_metric([], max(0.0, self.clock() - t))
            if (h := _num(plan.get("horizon_h"))) is not None:
                horizon.add_metric([], h * 3600.0)
            if (n := _num(plan.get("samples"))) is not None:
                samples.add_metric([], n)
        yield from (lost, saved, budget, cost, measures, ts, age, horizon, samples)
