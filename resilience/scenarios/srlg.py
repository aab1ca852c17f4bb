"""Shared-risk group cut: every link of the named groups fails at once.

Example
-------
>>> import networkx as nx
>>> from resilience.analysis import to_csr
>>> G = nx.MultiGraph(); _ = G.add_edge("a", "b", "L1", srlg=("R1",))
>>> SRLGCut(["R1"]).damage(G, to_csr(G)).links.tolist()
[True]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from resilience.scenarios.base import Damage, Scenario
from resilience.topology.compiled import CSRGraph

__all__ = ["SRLGCut"]


@dataclass
class SRLGCut(Scenario):
    """Cut shared-risk groups (a conduit, a pole line, a bridge, a landslide slope).

    Parameters
    ----------
    groups : iterable of str
        Group ids; one that no link belongs to raises ``ValueError``.
    name : str

    Notes
    -----
    O(total links of the groups).

    Examples
    --------
    >>> SRLGCut(["R1"]).to_dict()
    {'type': 'srlg', 'name': '', 'groups': ['R1']}
    """

    groups: Iterable[str] = ()
    name: str = ""
    type: ClassVar[str] = "srlg"

    def __post_init__(self) -> None:
        self.groups = [str(g) for g in self.groups]

    def damage(self, G: nx.MultiGraph, csr: CSRGraph) -> Damage:
        links = np.zeros(csr.m, bool)
        unknown = [g for g in self.groups if g not in csr.srlg_links]
        if unknown:
            raise ValueError(f"unknown shared-risk group(s): {', '.join(unknown)}")
        for g in self.groups:
            links[csr.srlg_links[g]] = True
        return Damage(np.zeros(csr.n, bool), links)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "groups": list(self.groups)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SRLGCut:
        """From the YAML shape ``{groups: [ids]}`` (or ``srlg: id``)."""
        g = d.get("groups", d.get("srlg"))
        if isinstance(g, str):
            g = [s.strip() for s in g.split(",") if s.strip()]
        if not g:
            raise ValueError("srlg scenario needs 'groups': a list of shared-risk group ids")
        return cls(g, name=str(d.get("name") or ""))
