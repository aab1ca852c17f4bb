"""GraphML inventory import (Internet Topology Zoo style), parsed with defusedxml.

Every GraphML import gets a *namespace*: the ``namespace`` argument (``resilience ingest
--namespace``), by default the network's name from the graph's ``Network`` data, else the file's
stem (characters other than letters, digits, ``_``, ``.`` and ``-`` become ``_``). Node ids
become ``<namespace>:<GraphML id>``, so two Topology Zoo files whose ids are both ``0..n``, or
a GraphML node ``C1`` beside a CSV node ``C1``, stay distinct elements.

Each edge becomes a link. Its id is ``<namespace>:<edge id>`` when the edge has an ``id``,
else ``<namespace>:<source>-<target>`` with ``%``, ``-`` and ``#`` in the node ids written as
``%25``, ``%2D`` and ``%23`` (so ``1-2``/``3`` and ``1``/``2-3`` give different ids) and
``#k`` appended for the k-th parallel edge between the same two nodes.

``Latitude``/``Longitude`` become ``lat``/``lon``, ``label`` becomes ``name``; a node's kind is
its ``kind`` data, else ``core`` when chosen with ``cores=`` (its GraphML id, or
``<namespace>:<id>``), else ``aggregation`` (marked as a default: a re-delivery does not undo a
role set with ``resilience inventory set-kind``). Every row carries the import's ``source``,
``graphml:<namespace>/<network name or file stem>``. A node without an id is quarantined (rule
``graphml_node_has_id``). Lines are the elements' lines in the file. Entity declarations (the
"billion laughs" bomb) and external entities are refused.

Example
-------
>>> xml = b'''<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">
... <key attr.name="label" for="node" id="d0"/><graph edgedefault="undirected">
... <node id="0"><data key="d0">Tokyo</data></node><node id="1"><data key="d0">Osaka</data></node>
... <edge source="0" target="1"/></graph></graphml>'''
>>> raw = read_graphml(xml, "x.graphml", "0" * 64, "utf-8", cores=("0",))
>>> list(raw.frame["node_id"]), list(raw.frame["kind"]), list(raw.graph_links["link_id"])
(['x:0', 'x:1'], ['core', 'aggregation'], ['x:0-1'])
>>> raw.frame["source"][0], int(raw.lines[0])
('graphml:x/x', 3)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from resilience.errors import BadInput
from resilience.feeds.records import RawFeed, Reject
from resilience.topology.model import LINK_COLUMNS, NODE_COLUMNS

__all__ = ["read_graphml", "check_namespace", "link_id_for", "NODE_EXTRA", "LINK_EXTRA"]

_NS = "{http://graphml.graphdrawing.org/xmlns}"
#: Columns a GraphML import adds to the nodes / links rows (read by :mod:`resilience.feeds.ingest`).
NODE_EXTRA = ("source", "kind_given")
LINK_EXTRA = ("source",)
_NAMESPACE_RE = re.compile(r"[\w.-]{1,64}")


def check_namespace(namespace: str, path: str = "--namespace") -> str:
    """A namespace given by the operator: 1 to 64 letters, digits, ``_``, ``.`` or ``-``.

    >>> check_namespace("wide")
    'wide'
    >>> check_namespace("a:b")
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: --namespace: field namespace: 'a:b' is not a namespace (1 to 64 letters, digits, '_', '.' or '-')
    """
    if not _NAMESPACE_RE.fullmatch(namespace or ""):
        raise BadInput(path, f"'{namespace}' is not a namespace (1 to 64 letters, digits, '_', '.' or '-')",
                       field="namespace")
    return namespace


def _default_namespace(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text.strip()).strip("_")[:64]


def _esc(node_id: str) -> str:
    return node_id.replace("%", "%25").replace("-", "%2D").replace("#", "%23")


def link_id_for(namespace: str, source: str, target: str, k: int = 0) -> str:
    """The id of the ``k``-th edge (0-based) without an ``id`` between two GraphML nodes.

    >>> link_id_for("n", "1-2", "3"), link_id_for("n", "1", "2-3"), link_id_for("n", "1", "2", 1)
    ('n:1%2D2-3', 'n:1-2%2D3', 'n:1-2#1')
    """
    return f"{namespace}:{_esc(source)}-{_esc(target)}" + (f"#{k}" if k else "")


class _LineTreeBuilder(ET.TreeBuilder):
    """A tree builder that notes the line where each element starts."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: DefusedXMLParser | None = None
        self.lines: dict[int, int] = {}

    def start(self, tag, attrs):
        elem = super().start(tag, attrs)
        expat = getattr(self.parser, "parser", None)
        if expat is not None:
            self.lines[id(elem)] = expat.CurrentLineNumber
        return elem


def _parse(raw: bytes, path: str) -> tuple[ET.Element, dict[int, int]]:
    builder = _LineTreeBuilder()
    try:
        parser = DefusedXMLParser(target=builder, forbid_dtd=False, forbid_entities=True,
                                  forbid_external=True)
        builder.parser = parser
        parser.feed(raw)
        root = parser.close()
    except DefusedXmlException as exc:
        raise BadInput(path, f"refused: GraphML with entity declarations ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - ParseError carries a position
        pos = getattr(exc, "position", None)
        raise BadInput(path, f"not well-formed GraphML: {exc}", line=pos[0] if pos else None) from None
    return root, builder.lines


def _core_ids(cores: tuple[str, ...], ids: set[str], namespace: str, path: str) -> set[str]:
    """The GraphML ids of ``cores`` (given as GraphML ids or ``<namespace>:<id>``) in this file;
    ids qualified with another namespace belong to another file and are skipped."""
    out = set()
    for c in cores:
        if c in ids:
            out.add(c)
        elif c.startswith(namespace + ":") and c[len(namespace) + 1:] in ids:
            out.add(c[len(namespace) + 1:])
        elif ":" not in c:
            raise BadInput(path, f"core node '{c}' is not in the GraphML file (namespace {namespace}; "
                                 "qualify it as <namespace>:<id> when ingesting several GraphML files)",
                           field="cores")
    return out


def read_graphml(
    raw: bytes, path: str, digest: str, encoding: str, *, cores: tuple[str, ...] = (),
    namespace: str | None = None,
) -> RawFeed:
    """Parse GraphML bytes into node rows (``frame``) and link rows (``graph_links``).

    Parameters
    ----------
    raw : bytes
        The file's bytes.
    path, digest, encoding : str
        The file's name (for messages), sha256 and detected encoding.
    cores : tuple of str
        The core nodes, as GraphML ids or ``<namespace>:<id>``.
    namespace : str, optional
        The namespace of the ids (default: the network's name, else the file stem).

    Raises
    ------
    BadInput
        Not well-formed, entity declarations, no ``<graph>``, a bad namespace, or a core
        that is not in the file.
    """
    root, where = _parse(raw, path)
    ns = _NS if root.tag.startswith(_NS) else ""
    keys = {
        k.get("id"): (k.get("attr.name") or k.get("id"), k.get("for"))
        for k in root.iter(f"{ns}key")
    }
    graph = root.find(f"{ns}graph")
    if graph is None:
        raise BadInput(path, "GraphML file has no <graph> element")

    def data_of(elem: ET.Element, nested: bool = True) -> dict[str, str]:
        items = elem.iter(f"{ns}data") if nested else elem.findall(f"{ns}data")
        return {keys.get(d.get("key"), (d.get("key"), None))[0]: (d.text or "") for d in items}

    network = data_of(graph, nested=False).get("Network", "").strip()
    stem = Path(path).stem
    if namespace is None:
        namespace = _default_namespace(network) or _default_namespace(stem) or "graphml"
    else:
        check_namespace(namespace)
    source = f"graphml:{namespace}/{network or stem}"[:200]

    node_rows, node_lines, rejects = [], [], []
    elements = list(graph.iter(f"{ns}node"))
    raw_ids = {str(n.get("id")).strip() for n in elements if (n.get("id") or "").strip()}
    core_ids = _core_ids(tuple(cores), raw_ids, namespace, path)
    for n in elements:
        line = where.get(id(n), 0)
        rid = (n.get("id") or "").strip()
        if not rid:
            rejects.append(Reject(line, "node_id", None, "graphml_node_has_id",
                                  "GraphML node without an id (no id attribute)"))
            continue
        data = data_of(n)
        kind = data.get("kind", "").strip()
        given = "1"
        if rid in core_ids:
            kind = "core"
        elif not kind:
            kind, given = "aggregation", "0"
        node_rows.append(
            {
                "node_id": f"{namespace}:{rid}",
                "kind": kind,
                "operator": data.get("operator", "") or network or "graphml",
                "name": data.get("label", rid),
                "lat": data.get("Latitude", ""),
                "lon": data.get("Longitude", ""),
                "prefecture": data.get("prefecture", data.get("Country", "")),
                "municipality": data.get("municipality", data.get("label", "")),
                "subscribers": data.get("subscribers", "0") or "0",
                "battery_hours": data.get("battery_hours", "0") or "0",
                "power_feed": data.get("power_feed", ""),
                "source": source,
                "kind_given": given,
            }
        )
        node_lines.append(line)
    link_rows, link_lines = [], []
    seen: dict[tuple[str, str], int] = {}
    for e in graph.iter(f"{ns}edge"):
        s, t = (e.get("source") or "").strip(), (e.get("target") or "").strip()
        k = seen.get((s, t), 0)
        seen[(s, t)] = k + 1
        eid = (e.get("id") or "").strip()
        link_rows.append(
            {
                "link_id": f"{namespace}:{eid}" if eid else link_id_for(namespace, s, t, k),
                "a": f"{namespace}:{s}" if s else "",
                "b": f"{namespace}:{t}" if t else "",
                "medium": "fiber",
                "capacity_mbps": "",
                "srlg": "",
                "source": source,
            }
        )
        link_lines.append(where.get(id(e), 0))
    nodes = pd.DataFrame(node_rows, columns=[*NODE_COLUMNS, *NODE_EXTRA], dtype=str)
    links = pd.DataFrame(link_rows, columns=[*LINK_COLUMNS, *LINK_EXTRA], dtype=str)
    return RawFeed(
        path, digest, "graphml", "graphml", encoding, nodes,
        np.asarray(node_lines, dtype=np.int64), rejects,
        graph_links=links, graph_link_lines=np.asarray(link_lines, dtype=np.int64),
    )
