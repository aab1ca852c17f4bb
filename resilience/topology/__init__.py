"""Domain model and the one converter to networkx: :func:`build_graph`."""

from resilience.topology.graph import (
    build_graph,
    link_carries_traffic,
    node_carries_traffic,
    roots_of,
)

__all__ = ["build_graph", "link_carries_traffic", "node_carries_traffic", "roots_of"]
