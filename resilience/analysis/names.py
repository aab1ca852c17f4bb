"""Names next to ids: what an operator reads in a table (``Wajima agg``, not ``A1``).

A node's name is its ``name`` attribute; a link has none of its own, so it is shown by its two
ends (``a``, ``b`` and their names). JSON outputs keep the ids and add these fields.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C1", "A1", "L1")]); G.nodes["A1"]["name"] = "Wajima agg"
>>> element_names(G, ["node", "link"], ["A1", "L1"])
[{'name': 'Wajima agg'}, {'name': 'C1 – Wajima agg', 'a': 'C1', 'b': 'A1', 'a_name': '', 'b_name': 'Wajima agg'}]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["element_names", "node_name"]


def node_name(G: nx.MultiGraph, node_id: Any) -> str:
    """The node's ``name`` attribute (``""`` when it has none or is unknown).

    >>> import networkx as nx
    >>> G = nx.MultiGraph(); G.add_node("B1", name="Wajima 1")
    >>> node_name(G, "B1"), node_name(G, "X")
    ('Wajima 1', '')
    """
    d = G.nodes[node_id] if node_id in G else {}
    v = d.get("name")
    return "" if v is None or v != v else str(v)  # None or NaN: no name


def element_names(G: nx.MultiGraph, types: Iterable[str], ids: Iterable[Any]) -> list[dict[str, str]]:
    """For each ``(type, id)``: ``{"name"}`` for a node; ``{"name", "a", "b", "a_name",
    "b_name"}`` for a link, whose name is its ends' names (their ids where unnamed).

    Parameters
    ----------
    G : networkx.MultiGraph
    types : iterable of {"node", "link"}
    ids : iterable
        Element ids, in the same order.

    Returns
    -------
    list of dict

    Notes
    -----
    One pass over the links to find their ends: O(n + m).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiGraph([("a", "b", "L")])
    >>> element_names(G, ["link"], ["L"])[0]["name"]
    'a – b'
    """
    types, ids = list(types), list(ids)
    wanted = {i for t, i in zip(types, ids, strict=True) if t == "link"}
    ends = {k: (u, v) for u, v, k in G.edges(keys=True) if k in wanted} if wanted else {}
    out: list[dict[str, str]] = []
    for t, i in zip(types, ids, strict=True):
        if t != "link":
            out.append({"name": node_name(G, i)})
            continue
        a, b = ends.get(i, ("", ""))
        an, bn = node_name(G, a), node_name(G, b)
        out.append({"name": f"{an or a} – {bn or b}", "a": str(a), "b": str(b),
                    "a_name": an, "b_name": bn})
    return out
