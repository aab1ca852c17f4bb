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

from resilience.analysis.blast import (
    blast_radius,
    served_nodes,
    single_homed,
    single_points_of_failure,
    srlg_blast_radius,
)
from resilience.analysis.causes import causes
from resilience.analysis.forecast import (
    DEFAULT_HORIZONS,
    battery_forecast,
    death_hours,
    node_out_times,
)
from resilience.analysis.snapshot import AGGREGATE_METRICS, Snapshot, compute_snapshot
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = [
    "CSRGraph",
    "to_csr",
    "blast_radius",
    "served_nodes",
    "single_points_of_failure",
    "srlg_blast_radius",
    "single_homed",
    "causes",
    "battery_forecast",
    "node_out_times",
    "death_hours",
    "DEFAULT_HORIZONS",
    "Snapshot",
    "compute_snapshot",
    "AGGREGATE_METRICS",
]
