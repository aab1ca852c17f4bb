"""The compiled index is reused, never stale: states are read live; structural edits rebuild it."""

from __future__ import annotations

from resilience.analysis import blast_radius
from resilience.topology import build_graph
from resilience.topology.index import adjacency_structure
from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES


def _graph():
    import io

    import pandas as pd

    return build_graph(pd.read_csv(io.StringIO(CONTRACT_NODES)), pd.read_csv(io.StringIO(CONTRACT_LINKS)))


def _lost(G, element_id):
    df = blast_radius(G).set_index("id")
    return int(df.loc[element_id, "nodes_lost"])


def test_build_graph_builds_the_index_and_analyses_reuse_it():
    G = _graph()
    s = adjacency_structure(G)
    assert adjacency_structure(G) is s
    assert _lost(G, "A1") == 3


def test_state_changes_are_read_live():
    G = _graph()
    assert _lost(G, "A1") == 3
    G.edges["C1", "B2", "L4"]["state"] = "down"  # B2 now hangs on A1 too
    assert _lost(G, "A1") == 4
    G.nodes["B1"]["state"] = "down"  # B1 and B3 are out: A1 then cuts only itself and B2
    assert _lost(G, "A1") == 2


def test_structural_edits_rebuild_the_index():
    G = _graph()
    s = adjacency_structure(G)
    G.add_edge("C1", "B1", key="L9")  # a second path for B1 (and B3)
    assert adjacency_structure(G) is not s
    assert _lost(G, "A1") == 1
    H = G.copy()
    assert adjacency_structure(H) is not adjacency_structure(G)  # a copy has its own index
