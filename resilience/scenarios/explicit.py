"""Explicit failures: named nodes and links fail.

Example
-------
>>> import networkx as nx
>>> from resilience.analysis import to_csr
>>> G = nx.MultiGraph([("C", "A", "L1")])
>>> d = ExplicitFailure(["L1"]).damage(G, to_csr(G))
>>> d.nodes.tolist(), d.links.tolist()
([False, False], [True])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from resilience.scenarios.base import Damage, Scenario
from resilience.topology.compiled import CSRGraph

__all__ = ["ExplicitFailure"]


@dataclass
class ExplicitFailure(Scenario):
    """Fail the given elements: each id names a node or a link (or both when it is both).

    Parameters
    ----------
    elements : iterable of str
        Node ids and/or link ids; an id that is neither raises ``ValueError``.
    name : str

    Notes
    -----
    O(k) lookups for k ids.

    Examples
    --------
    >>> ExplicitFailure(["A1", "L3"]).to_dict()
    {'type': 'explicit', 'name': '', 'fail': ['A1', 'L3']}
    """

    elements: Iterable[str] = ()
    name: str = ""
    type: ClassVar[str] = "explicit"

    def __post_init__(self) -> None:
        self.elements = [str(e) for e in self.elements]

    def damage(self, G: nx.MultiGraph, csr: CSRGraph) -> Damage:
        nodes = np.zeros(csr.n, bool)
        links = np.zeros(csr.m, bool)
        unknown = []
        for e in self.elements:
            hit = False
            if e in csr.node_index:
                nodes[csr.node_index[e]] = True
                hit = True
            if e in csr.link_index:
                links[csr.link_index[e]] = True
                hit = True
            if not hit:
                unknown.append(e)
        if unknown:
            raise ValueError(f"unknown node or link id(s): {', '.join(unknown)}")
        return Damage(nodes, links)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "fail": list(self.elements)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExplicitFailure:
        """From the YAML shape ``{fail: [ids]}``."""
        fail = d.get("fail", d.get("elements"))
        if isinstance(fail, str):
            fail = [s.strip() for s in fail.split(",") if s.strip()]
        if not fail:
            raise ValueError("explicit scenario needs 'fail': a list of node or link ids")
        return cls(fail, name=str(d.get("name") or ""))
