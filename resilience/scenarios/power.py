"""Power outage: feeders or municipalities lose grid power for a duration, played forward.

Every node in the outage area runs on battery from now: it dies when its battery runs out
(``battery_remaining_min`` if reported, else ``battery_hours``; ``inf`` or a ``generator`` never).
The scenario state is the network at the end of the outage (the worst moment: deaths only
accumulate); nodes outside the area keep their current state. The what-if answer also holds a
``timeline``: nodes and subscribers out, hour by hour, including sites cut off because an
upstream site's battery ran out.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")])
>>> G.nodes["C"]["kind"] = "core"
>>> G.nodes["A"].update(power_feed="F1", battery_hours=3)
>>> G.nodes["B"].update(power_feed="F2", battery_hours=2)
>>> from resilience.scenarios import run_whatif
>>> run_whatif(G, PowerOutage(["F1"], hours=6), weight=None)["lost"]["nodes"]
['A', 'B']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from resilience.analysis.forecast import battery_hours_left
from resilience.analysis.traversal import widest_out_times
from resilience.scenarios.base import Damage, Scenario
from resilience.scenarios.geo import number
from resilience.topology.compiled import CSRGraph, to_csr

#: At most this many timeline rows (hourly up to it; evenly spaced beyond, ends included).
TIMELINE_STEPS = 1000

__all__ = ["PowerOutage"]


@dataclass
class PowerOutage(Scenario):
    """Grid power off in some areas for ``hours``.

    Parameters
    ----------
    areas : iterable of str
        Each names a power feed id or a municipality (whichever matches; no match raises
        ``ValueError``). Use ``feeds`` / ``municipalities`` to be explicit.
    hours : float
        Outage duration: finite and >= 0. NaN and infinity raise ``ValueError`` (an outage that
        is never restored is the battery forecast, ``resilience forecast``: pick its horizons).
    feeds, municipalities : iterable of str, optional
    name : str

    Notes
    -----
    O(n) to find the area and death times, one widest-path pass for the timeline,
    O((n + m) log n).

    Examples
    --------
    >>> PowerOutage(["F1"], hours=6).to_dict()
    {'type': 'power_outage', 'name': '', 'hours': 6.0, 'areas': ['F1'], 'feeds': [], 'municipalities': []}
    """

    areas: Iterable[str] = ()
    hours: float = 0.0
    feeds: Iterable[str] = ()
    municipalities: Iterable[str] = ()
    name: str = ""
    type: ClassVar[str] = "power_outage"

    def __post_init__(self) -> None:
        self.areas = [str(a) for a in self.areas]
        self.feeds = [str(a) for a in self.feeds]
        self.municipalities = [str(a) for a in self.municipalities]
        self.hours = number(self.hours, "power outage hours", low=0)
        if not (self.areas or self.feeds or self.municipalities):
            raise ValueError("power outage needs feeds or municipalities")

    def affected(self, G: nx.MultiGraph, csr: CSRGraph | None = None) -> np.ndarray:
        """Nodes (graph order) whose grid power is cut."""
        a = (csr if csr is not None else to_csr(G)).attrs
        feeds = set(self.feeds)
        munis = set(self.municipalities)
        missing = []
        for area in self.areas:
            in_f = bool(area) and area in a.categories["power_feed"]
            in_m = bool(area) and area in a.categories["municipality"]
            if in_f:
                feeds.add(area)
            if in_m:
                munis.add(area)
            if not (in_f or in_m):
                missing.append(area)
        if missing:
            raise ValueError(f"no power feed or municipality named: {', '.join(missing)}")
        return a.is_in("power_feed", feeds) | a.is_in("municipality", munis)

    def death(self, G: nx.MultiGraph, csr: CSRGraph | None = None) -> np.ndarray:
        """Hours until each node dies under the outage (``inf``: not in the area or never)."""
        csr = csr if csr is not None else to_csr(G)
        hit = self.affected(G, csr) & ~csr.attrs.is_("power", "generator")
        return np.where(hit, battery_hours_left(csr), np.inf)

    def damage(self, G: nx.MultiGraph, csr: CSRGraph) -> Damage:
        death = self.death(G, csr)
        failed = (death <= self.hours) & csr.node_up
        ok_death = np.where(csr.node_up, death, 0.0)
        out_t = widest_out_times(csr, ok_death)
        steps = _timeline_steps(self.hours)
        w = csr.weight
        timeline = []
        for h in steps:
            out = out_t <= h
            s = w[out].sum()
            timeline.append(
                {
                    "hours": float(h),
                    "nodes_out": int(out.sum()),
                    "subscribers_out": int(round(s)) if csr.weight_is_int else float(s),
                    "batteries_exhausted": int((failed & (death <= h)).sum()),
                }
            )
        return Damage(failed, np.zeros(csr.m, bool), extras={"timeline": timeline})

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "hours": self.hours,
            "areas": list(self.areas),
            "feeds": list(self.feeds),
            "municipalities": list(self.municipalities),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PowerOutage:
        """From ``{hours, feeds: [...], municipalities: [...], areas: [...]}``."""
        if d.get("hours") is None:
            raise ValueError("power outage scenario needs 'hours'")

        def lst(k: str) -> list[str]:
            v = d.get(k) or []
            return [v] if isinstance(v, str) else list(v)

        return cls(
            lst("areas"),
            hours=d["hours"],
            feeds=lst("feeds"),
            municipalities=lst("municipalities"),
            name=str(d.get("name") or ""),
        )


def _timeline_steps(hours: float) -> np.ndarray:
    """Times of the timeline rows: every hour from 0, and ``hours`` itself; beyond
    :data:`TIMELINE_STEPS` hours, that many evenly spaced whole hours (a year-long outage is not
    8,760 rows).

    >>> _timeline_steps(2.5).tolist()
    [0.0, 1.0, 2.0, 2.5]
    >>> len(_timeline_steps(1e9)) <= TIMELINE_STEPS + 1
    True
    """
    if hours < TIMELINE_STEPS:
        return np.unique(np.r_[np.arange(0.0, np.floor(hours) + 1), hours])
    return np.unique(np.r_[np.floor(np.linspace(0.0, hours, TIMELINE_STEPS)), hours])
