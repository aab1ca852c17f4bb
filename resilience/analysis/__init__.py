"""Pure analysis over the network graph: blast radius, single points of failure, causes, forecast.

Every function takes the graph first (the :mod:`resilience.topology.graph` contract), options as
keywords, and touches no file, network or database. Each converts the graph once to flat arrays
(:func:`to_csr`); pass ``csr=`` to reuse a conversion across calls.

Example
-------
>>> import networkx as nx
>>> from resilience.analysis import blast_radius
>>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
>>> blast_radius(G, weight=None)["nodes_lost"].tolist()
[2, 1, 1]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the module that defines it. The names load on first use (PEP 562), so a
# command that needs one light module (the report's ``coverage``) does not import networkx and
# numba's kernels through ``blast``.
_HOME = {
    "blast_radius": "blast",
    "served_nodes": "blast",
    "single_homed": "blast",
    "single_points_of_failure": "blast",
    "causes": "outage_causes",
    "DEFAULT_HORIZONS": "forecast",
    "battery_forecast": "forecast",
    "death_hours": "forecast",
    "node_out_times": "forecast",
    "RootOutage": "outages",
    "root_outages": "outages",
    "AGGREGATE_METRICS": "snapshot",
    "Snapshot": "snapshot",
    "compute_snapshot": "snapshot",
    "srlg_blast_radius": "srlg",
    "dfs_lowpoint": "traversal",
    "root_indices": "traversal",
    "served_mask": "traversal",
    "upstream_bfs": "traversal",
    "whole_counts": "traversal",
    "widest_out_times": "traversal",
    "CSRGraph": "resilience.topology.compiled",
    "to_csr": "resilience.topology.compiled",
}

if TYPE_CHECKING:
    from resilience.analysis.blast import (
        blast_radius,
        served_nodes,
        single_homed,
        single_points_of_failure,
    )
    from resilience.analysis.forecast import (
        DEFAULT_HORIZONS,
        battery_forecast,
        death_hours,
        node_out_times,
    )
    from resilience.analysis.outage_causes import causes
    from resilience.analysis.outages import RootOutage, root_outages
    from resilience.analysis.snapshot import AGGREGATE_METRICS, Snapshot, compute_snapshot
    from resilience.analysis.srlg import srlg_blast_radius
    from resilience.analysis.traversal import (
        dfs_lowpoint,
        root_indices,
        served_mask,
        upstream_bfs,
        whole_counts,
        widest_out_times,
    )
    from resilience.topology.compiled import CSRGraph, to_csr


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home if "." in home else f"{__name__}.{home}")
    value = getattr(module, name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CSRGraph",
    "to_csr",
    "blast_radius",
    "served_nodes",
    "single_points_of_failure",
    "srlg_blast_radius",
    "single_homed",
    "causes",
    "root_outages",
    "RootOutage",
    "battery_forecast",
    "node_out_times",
    "death_hours",
    "DEFAULT_HORIZONS",
    "Snapshot",
    "compute_snapshot",
    "AGGREGATE_METRICS",
    "served_mask",
    "dfs_lowpoint",
    "widest_out_times",
    "upstream_bfs",
    "root_indices",
    "whole_counts",
]
