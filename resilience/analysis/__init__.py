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
)
from resilience.analysis.causes import causes
from resilience.analysis.forecast import (
    DEFAULT_HORIZONS,
    battery_forecast,
    death_hours,
    node_out_times,
)
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
