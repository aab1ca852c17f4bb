"""What-if machinery: a scenario describes damage, :func:`run_whatif` evaluates it.

WNTR style: a scenario never mutates the network model. It turns the graph into a
:class:`Damage` (boolean masks of failed nodes and links over the CSR view), and
:func:`run_whatif` recomputes served-ness and single points of failure over masks (the graph is
never copied), returning baseline, scenario and the difference.

Example
-------
>>> import networkx as nx
>>> from resilience.scenarios import ExplicitFailure
>>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")])
>>> G.nodes["C"]["kind"] = "core"
>>> r = run_whatif(G, ExplicitFailure(["A"]), weight=None)
>>> r["lost"], r["scenario"]["served_nodes"]
({'nodes': ['A', 'B'], 'subscribers': 2, 'names': ['', '']}, 1)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from resilience.analysis.blast import BlastArrays, blast_arrays
from resilience.analysis.names import element_names, node_name
from resilience.analysis.traversal import root_indices
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = ["Damage", "Scenario", "run_whatif", "WHATIF_KEYS"]

WHATIF_KEYS = ("baseline", "scenario", "difference", "lost", "new_spofs")


@dataclass
class Damage:
    """Elements a scenario takes out, as masks over ``csr.nodes`` / ``csr.links``.

    ``extras`` carries scenario-specific results merged into the what-if answer (timelines,
    Monte Carlo statistics).
    """

    nodes: np.ndarray
    links: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def none(cls, csr: CSRGraph) -> Damage:
        """No damage at all."""
        return cls(np.zeros(csr.n, bool), np.zeros(csr.m, bool))


class Scenario(ABC):
    """A description of damage. Subclasses implement :meth:`damage` and the dict round trip."""

    type: ClassVar[str] = ""
    name: str = ""

    @abstractmethod
    def damage(self, G: nx.MultiGraph, csr: CSRGraph) -> Damage:
        """The failed elements of ``G`` (``csr = to_csr(G)``), without touching ``G``."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Plain description (the YAML shape, with ``type``)."""

    def evaluate(
        self,
        G: nx.MultiGraph,
        csr: CSRGraph,
        roots: np.ndarray,
        base: BlastArrays,
    ) -> tuple[Damage, BlastArrays]:
        """Damage and the blast arrays after it (overridden by Monte Carlo scenarios)."""
        dmg = self.damage(G, csr)
        after = blast_arrays(
            csr,
            roots=roots,
            node_ok=csr.node_up & ~dmg.nodes,
            link_ok=csr.link_up & ~dmg.links,
        )
        return dmg, after


def _num(csr: CSRGraph, x: float) -> int | float:
    return int(round(x)) if csr.weight_is_int else float(x)


def run_whatif(
    G: nx.MultiGraph,
    scenario: Scenario,
    roots: Iterable[Any] | None = None,
    *,
    weight: str | None = "subscribers",
    csr: CSRGraph | None = None,
) -> dict[str, Any]:
    """Evaluate a scenario against the current state of the network.

    Parameters
    ----------
    G : networkx.MultiGraph
        The network (never modified).
    scenario : Scenario
        Any scenario of :mod:`resilience.scenarios`.
    roots : iterable of node ids, optional
        Default: the ``core`` nodes.
    weight : str or None
        Node attribute summed as subscribers.
    csr : CSRGraph, optional
        ``to_csr(G, weight=weight)`` computed beforehand (skips the conversion).

    Returns
    -------
    dict
        JSON-ready: ``baseline`` and ``scenario`` (``served_nodes``, ``served_subscribers``),
        ``difference`` (the same keys, scenario minus baseline), ``lost`` (``nodes``: ids served
        now and not in the scenario, in graph order; ``subscribers``; ``names``: their names,
        ``""`` where unnamed), ``failed`` (``nodes``,
        ``links``: elements the scenario takes out directly), ``new_spofs`` (ids of elements
        that are single points of failure in the scenario but not now, failed ones excluded),
        ``new_spofs_detail`` (their blast radius rows with ``name``, and for links ``a``, ``b``,
        ``a_name``, ``b_name``: see :func:`resilience.analysis.names.element_names`),
        ``description`` (the scenario's dict)
        plus scenario extras (e.g. ``timeline`` for power outages, ``monte_carlo`` for
        earthquakes).

    Notes
    -----
    Two DFS passes (baseline and damaged, O(n + m) each, over masks) plus the scenario's own
    damage computation.

    Examples
    --------
    >>> from resilience.scenarios import SRLGCut
    >>> G = nx.MultiGraph(); G.add_node("C", kind="core")
    >>> _ = G.add_edge("C", "A", "L1", srlg=("R1",)); _ = G.add_edge("C", "A", "L2", srlg=("R1",))
    >>> run_whatif(G, SRLGCut(["R1"]), weight=None)["lost"]["nodes"]
    ['A']
    """
    csr = csr if csr is not None else to_csr(G, weight=weight)
    r = root_indices(csr, roots)
    base = blast_arrays(csr, roots=r)
    dmg, after = scenario.evaluate(G, csr, r, base)
    w = csr.weight
    b_served = base.dfs.served
    a_served = after.dfs.served
    lost = b_served & ~a_served
    nodes = np.asarray(csr.nodes, dtype=object)
    links = np.asarray(csr.links, dtype=object)
    new_n = after.node_spof & ~base.node_spof & ~dmg.nodes
    new_l = after.link_spof & ~base.link_spof & ~dmg.links
    detail = [
        {
            "element_type": "node",
            "id": nodes[i],
            "nodes_lost": int(after.node_lost[i]),
            "subscribers_lost": _num(csr, after.node_wlost[i]),
        }
        for i in np.nonzero(new_n)[0]
    ] + [
        {
            "element_type": "link",
            "id": links[i],
            "nodes_lost": int(after.link_lost[i]),
            "subscribers_lost": _num(csr, after.link_wlost[i]),
        }
        for i in np.nonzero(new_l)[0]
    ]
    detail.sort(key=lambda x: (-x["subscribers_lost"], -x["nodes_lost"]))
    for d, names in zip(detail, element_names(G, [d["element_type"] for d in detail],
                                              [d["id"] for d in detail]), strict=True):
        d.update(names)
    bs = {"served_nodes": int(b_served.sum()), "served_subscribers": _num(csr, w[b_served].sum())}
    ss = {"served_nodes": int(a_served.sum()), "served_subscribers": _num(csr, w[a_served].sum())}
    out: dict[str, Any] = {
        "description": scenario.to_dict(),
        "baseline": bs,
        "scenario": ss,
        "difference": {k: ss[k] - bs[k] for k in bs},
        "lost": {"nodes": nodes[lost].tolist(), "subscribers": _num(csr, w[lost].sum()),
                 "names": [node_name(G, x) for x in nodes[lost].tolist()]},
        "failed": {
            "nodes": nodes[dmg.nodes].tolist(),
            "links": links[dmg.links].tolist(),
        },
        "new_spofs": [d["id"] for d in detail],
        "new_spofs_detail": detail,
    }
    out.update(dmg.extras)
    return out
