"""GraphML inventory import (Internet Topology Zoo style), parsed with defusedxml.

Nodes keep their GraphML ids, ``Latitude``/``Longitude`` become ``lat``/``lon``, ``label``
becomes ``name``; kinds default to ``aggregation`` unless the node carries a ``kind`` data key;
the ``core`` nodes are chosen explicitly (``cores=``). Each edge becomes a link with id
``<source>-<target>`` (``#k`` appended for the k-th parallel edge). Entity declarations (the
"billion laughs" bomb) and external entities are refused.

Example
-------
>>> xml = b'''<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">
... <key attr.name="label" for="node" id="d0"/><graph edgedefault="undirected">
... <node id="0"><data key="d0">Tokyo</data></node><node id="1"><data key="d0">Osaka</data></node>
... <edge source="0" target="1"/></graph></graphml>'''
>>> raw = read_graphml(xml, "x.graphml", "0" * 64, "utf-8", cores=("0",))
>>> list(raw.frame["kind"]), list(raw.graph_links["link_id"])
(['core', 'aggregation'], ['0-1'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from resilience.errors import BadInput
from resilience.feeds.readers import RawFeed
from resilience.topology.model import LINK_COLUMNS, NODE_COLUMNS, NODE_KINDS

__all__ = ["read_graphml"]

_NS = "{http://graphml.graphdrawing.org/xmlns}"


def read_graphml(
    raw: bytes, path: str, digest: str, encoding: str, *, cores: tuple[str, ...] = ()
) -> RawFeed:
    """Parse GraphML bytes into node rows (``frame``) and link rows (``graph_links``)."""
    try:
        root = fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadInput(path, f"refused: GraphML with entity declarations ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - ParseError carries a position
        pos = getattr(exc, "position", None)
        raise BadInput(path, f"not well-formed GraphML: {exc}", line=pos[0] if pos else None) from None
    ns = _NS if root.tag.startswith(_NS) else ""
    keys = {
        k.get("id"): (k.get("attr.name") or k.get("id"), k.get("for"))
        for k in root.iter(f"{ns}key")
    }
    graph = root.find(f"{ns}graph")
    if graph is None:
        raise BadInput(path, "GraphML file has no <graph> element")
    node_rows, link_rows = [], []
    for n in graph.iter(f"{ns}node"):
        data = {keys.get(d.get("key"), (d.get("key"), None))[0]: (d.text or "") for d in n.iter(f"{ns}data")}
        nid = str(n.get("id"))
        kind = data.get("kind", "")
        kind = "core" if nid in cores else (kind if kind in NODE_KINDS else "aggregation")
        node_rows.append(
            {
                "node_id": nid,
                "kind": kind,
                "operator": data.get("operator", data.get("Network", "")) or "graphml",
                "name": data.get("label", nid),
                "lat": data.get("Latitude", ""),
                "lon": data.get("Longitude", ""),
                "prefecture": data.get("prefecture", data.get("Country", "")),
                "municipality": data.get("municipality", data.get("label", "")),
                "subscribers": data.get("subscribers", "0") or "0",
                "battery_hours": data.get("battery_hours", "0") or "0",
                "power_feed": data.get("power_feed", ""),
            }
        )
    seen: dict[tuple[str, str], int] = {}
    for e in graph.iter(f"{ns}edge"):
        s, t = str(e.get("source")), str(e.get("target"))
        pair = (s, t)
        k = seen.get(pair, 0)
        seen[pair] = k + 1
        link_rows.append(
            {
                "link_id": e.get("id") or (f"{s}-{t}" if k == 0 else f"{s}-{t}#{k}"),
                "a": s,
                "b": t,
                "medium": "fiber",
                "capacity_mbps": "",
                "srlg": "",
            }
        )
    unknown = [c for c in cores if c not in {r["node_id"] for r in node_rows}]
    if unknown:
        raise BadInput(path, f"core node '{unknown[0]}' is not in the GraphML file", field="cores")
    nodes = pd.DataFrame(node_rows, columns=list(NODE_COLUMNS), dtype=str)
    links = pd.DataFrame(link_rows, columns=list(LINK_COLUMNS), dtype=str)
    # GraphML has no meaningful line per element: number them in document order.
    return RawFeed(
        path, digest, "graphml", "graphml", encoding, nodes,
        np.arange(1, len(nodes) + 1, dtype=np.int64), [],
        graph_links=links, graph_link_lines=np.arange(len(nodes) + 1, len(nodes) + len(links) + 1),
    )
