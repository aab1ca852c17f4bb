"""The plans the DAGs write, read for Prometheus: the newest plan file and the collector base.

The ``resilience_restore`` and ``resilience_harden`` DAGs write their plans as JSON files
(``var/restoration``, ``var/hardening``). :class:`PlanFiles` reads the newest one on each scrape
(parsed again only when it changes); :class:`PlanCollector` turns a plan into metric families
and never lets a missing, corrupt or odd-shaped plan break the scrape. Each plan type names its
file prefix and its families: :class:`resilience.exporter.source.RestorationPlanFiles` with
:class:`resilience.exporter.collectors.RestorationCollector`,
:class:`resilience.exporter.hardening.HardeningPlanFiles` with
:class:`resilience.exporter.hardening.HardeningCollector`.

Example
-------
>>> from prometheus_client import CollectorRegistry
>>> from prometheus_client.core import GaugeMetricFamily
>>> class Budget(PlanCollector):
...     what = "test"
...     def _families(self, plan):
...         g = GaugeMetricFamily("test_budget", "Budget.")
...         if plan:
...             g.add_metric([], float(plan["budget"]))
...         yield g
>>> reg = CollectorRegistry()
>>> _ = Budget(lambda: {"budget": 5}, registry=reg)
>>> reg.get_sample_value("test_budget")
5.0
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

__all__ = ["PlanFiles", "PlanCollector"]

log = logging.getLogger(__name__)


class PlanFiles:
    """The newest plan file in a directory (``<prefix>-*.json`` by modification time): a
    ``() -> dict | None`` callable for a plan collector.

    Called on each scrape; the file is parsed again only when the newest file changes (name,
    modification time or size). No directory or no file: ``None``. A file that cannot be read
    or is not a JSON object: ``None`` and one warning in the log per file version (the scrape
    goes on without the plan's metrics). The plan dict gets ``_file_mtime`` (Unix seconds).
    Subclasses name the prefix: :class:`RestorationPlanFiles`,
    :class:`~resilience.exporter.hardening.HardeningPlanFiles`.

    Parameters
    ----------
    directory : str or Path
        Where the DAG writes its plans (a settings path under the project home).

    Example
    -------
    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> class Plans(PlanFiles):
    ...     prefix = "restoration"
    >>> Plans(d)() is None
    True
    >>> _ = (d / "restoration-3.json").write_text(json.dumps({"snapshot_id": 3}))
    >>> Plans(d)()["snapshot_id"]
    3
    """

    prefix = "plan"
    MTIME = "_file_mtime"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._cached: tuple[tuple[str, int, int], dict | None] | None = None

    def __call__(self) -> dict | None:
        try:
            files = [(p.stat().st_mtime_ns, p.name, p) for p in self.directory.glob(f"{self.prefix}-*.json")]
        except OSError:
            return None
        if not files:
            return None
        mtime, _, path = max(files)
        try:
            key = (path.name, mtime, path.stat().st_size)
        except OSError:  # removed between the listing and now
            return None
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        plan: dict | None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            plan = {**raw, self.MTIME: mtime / 1e9}
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
            log.warning("%s plan %s unreadable, not exported: %s", self.prefix, path, str(exc)[:200])
            plan = None
        self._cached = (key, plan)
        return plan


class PlanCollector(Collector):
    """Base of the plan collectors: a ``() -> dict | None`` source injected, no query written.

    No plan: no samples. A failing source or a plan of unexpected shape: no samples and a
    warning in the log (the scrape goes on). Subclasses set ``what`` and write ``_families``
    (called with ``None`` to describe the families).

    Parameters
    ----------
    source : callable
        Returns the plan dict or ``None`` (e.g. a :class:`PlanFiles`).
    registry : CollectorRegistry, optional
        Registered with it when given.
    """

    what = "plan"

    def __init__(self, source: Callable[[], dict | None], registry: CollectorRegistry | None = None) -> None:
        self.source = source
        if registry is not None:
            registry.register(self)

    def describe(self) -> Iterable[Metric]:
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        try:
            plan = self.source()
        except Exception:  # noqa: BLE001 - a broken plan file never breaks the scrape
            log.warning("%s plan source failed", self.what, exc_info=True)
            plan = None
        if not isinstance(plan, dict) or not plan:
            return []
        try:
            return list(self._families(plan))
        except Exception:  # noqa: BLE001 - a plan of unexpected shape: no metrics of it
            log.warning("%s plan of unexpected shape, not exported", self.what, exc_info=True)
            return []

    def _families(self, plan: dict | None) -> Iterator[Metric]:  # pragma: no cover - abstract
        raise NotImplementedError
