"""Say it loudly when an analysis cannot mean anything: no core, or nothing served.

Without a core node nothing is served, so every blast radius is 0 and ``spof`` lists nothing: an
empty answer that looks like good news. Every analysis (snapshot, ``spof``, ``whatif``,
``forecast``) checks the network with :func:`coverage_warnings` and issues a
:class:`CoverageWarning` (:func:`warn_coverage`); the CLI prints it on stderr (exit code
unchanged), the report prints it, and the snapshot stores the ``cores`` aggregate and the served
node count for the metrics.

Example
-------
>>> coverage_warnings(total_nodes=5, cores=0, served_nodes=0)[0][:13]
'no core node:'
>>> coverage_warnings(total_nodes=5, cores=1, served_nodes=5)
[]
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["CoverageWarning", "coverage_warnings", "graph_coverage", "warn_coverage"]


class CoverageWarning(UserWarning):
    """The analysis ran on a network with no core or no served node: its zeros mean nothing."""


def coverage_warnings(*, total_nodes: int, cores: int, served_nodes: int) -> list[str]:
    """One-line warnings for a network whose analysis cannot mean anything.

    Parameters
    ----------
    total_nodes : int
        Nodes in the inventory.
    cores : int
        Roots of the analysis (nodes of kind ``core`` unless given otherwise).
    served_nodes : int
        Nodes with a path to a core over elements that are up.

    Returns
    -------
    list of str
        Empty when the network has cores and serves something.

    Examples
    --------
    >>> coverage_warnings(total_nodes=3, cores=2, served_nodes=0)
    ['0 of 3 nodes are served: no node has a path to a core over elements that are up']
    >>> coverage_warnings(total_nodes=0, cores=0, served_nodes=0)
    ['the inventory is empty: ingest nodes and links first']
    """
    if total_nodes == 0:
        return ["the inventory is empty: ingest nodes and links first"]
    if cores == 0:
        return [
            "no core node: nothing is served and every blast radius is 0; mark the cores "
            "(`resilience inventory set-kind ID core`, or `ingest --core` for GraphML)"
        ]
    if served_nodes == 0:
        return [f"0 of {total_nodes:,} nodes are served: no node has a path to a core over "
                "elements that are up"]
    return []


def graph_coverage(G: nx.MultiGraph) -> dict[str, int]:
    """``total_nodes``, ``cores`` (nodes of kind ``core``) and ``served_nodes`` of a graph.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> graph_coverage(G)
    {'total_nodes': 2, 'cores': 1, 'served_nodes': 2}
    """
    from resilience.analysis.traversal import served_mask
    from resilience.topology.compiled import to_csr

    csr = to_csr(G, weight=None)
    return {
        "total_nodes": int(csr.n),
        "cores": int(len(csr.roots)),
        "served_nodes": int(served_mask(csr, roots=csr.roots).sum()),
    }


def warn_coverage(messages: list[str]) -> None:
    """Issue each message as a :class:`CoverageWarning` (the CLI prints them on stderr).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn_coverage(["no core node: ..."])
    >>> [str(w.message) for w in seen]
    ['no core node: ...']
    """
    for m in messages:
        warnings.warn(m, CoverageWarning, stacklevel=2)
