"""Domain model and the one converter to networkx: :func:`build_graph`.

The names below are loaded on first use (PEP 562): importing a submodule such as
:mod:`resilience.topology.snapshot` (the store's tables do) does not load networkx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resilience.topology.graph import (
        build_graph,
        link_carries_traffic,
        node_carries_traffic,
        roots_of,
    )

__all__ = ["build_graph", "link_carries_traffic", "node_carries_traffic", "roots_of"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from resilience.topology import graph

        return getattr(graph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
