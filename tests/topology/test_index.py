"""The compiled index is reused, never stale: states are read live; structural edits rebuild it."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from resilience.analysis import blast_radius
from resilience.topology import build_graph
from resilience.topology.compiled import adjacency_structure
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


def test_update_state_equals_a_fresh_build():
    """A graph brought up to date in place equals one built from scratch with the new state."""
    from resilience.sample.synthetic import generate_synthetic
    from resilience.topology.graph import update_state

    net = generate_synthetic(3000, seed=3)
    G = build_graph(net.nodes, net.links, net.node_status, net.link_status, net.power_status)
    ns = net.node_status.copy()
    flip = ns.sample(frac=0.05, random_state=1).index
    ns.loc[flip, "state"] = "down"
    ns.loc[flip, "power"] = "none"
    ns.loc[flip, "observed_at"] = "2024-06-01T09:30:00+09:00"
    ls = net.link_status.copy()
    ls.loc[ls.sample(frac=0.05, random_state=2).index, "state"] = "down"
    changed = update_state(G, ns, ls, net.power_status)
    H = build_graph(net.nodes, net.links, ns, ls, net.power_status)
    assert len(changed.nodes) > 0 and len(changed.links) > 0
    assert dict(G.nodes(data=True)) == dict(H.nodes(data=True))
    assert {k: d for _, _, k, d in G.edges(keys=True, data=True)} == {
        k: d for _, _, k, d in H.edges(keys=True, data=True)}
    assert G.graph["as_of"] == H.graph["as_of"] and G.graph["power_feeds"] == H.graph["power_feeds"]
    assert blast_radius(G).equals(blast_radius(H))


def test_update_with_changed_rows_only_equals_a_fresh_build():
    """Applying just the changed rows (the live model's path) gives the graph a full build gives,
    including freshness that lapsed because ``as_of`` moved on."""
    from datetime import timedelta

    import pandas as pd

    from resilience.sample.synthetic import generate_synthetic
    from resilience.topology.graph import update_state

    net = generate_synthetic(3000, seed=4)
    G = build_graph(net.nodes, net.links, net.node_status, net.link_status, net.power_status)
    ns = net.node_status.copy()
    flip = ns.sample(frac=0.05, random_state=1).index
    ns.loc[flip, ["state", "power", "battery_remaining_min"]] = ["down", "none", 0.0]
    # 40 minutes on: every node not in this update is stale now
    ns.loc[flip, "observed_at"] = "2024-06-01T09:45:00+09:00"
    ls = net.link_status.copy()
    lflip = ls.sample(frac=0.05, random_state=2).index
    ls.loc[lflip, ["state", "observed_at"]] = ["down", "2024-06-01T09:45:00+09:00"]
    ps = net.power_status.copy()
    pflip = ps.sample(frac=0.1, random_state=3).index
    ps.loc[pflip, ["state", "observed_at"]] = ["off", "2024-06-01T09:45:00+09:00"]
    change = update_state(G, ns.loc[flip], ls.loc[lflip], ps.loc[pflip],
                          stale_after=timedelta(minutes=30), changes_only=True)
    H = build_graph(net.nodes, net.links, ns, ls, ps, stale_after=timedelta(minutes=30))
    assert dict(G.nodes(data=True)) == dict(H.nodes(data=True))
    assert {k: d for _, _, k, d in G.edges(keys=True, data=True)} == {
        k: d for _, _, k, d in H.edges(keys=True, data=True)}
    assert G.graph["as_of"] == H.graph["as_of"] and G.graph["power_feeds"] == H.graph["power_feeds"]
    stale = [i for i, (_, d) in enumerate(H.nodes(data=True)) if d["observed_at"] is not None]
    assert len(change.nodes) == len(stale) > len(flip)  # every node with a status changed
    assert sorted(change.links.tolist()) == sorted(
        {k: i for i, k in enumerate(adjacency_structure(G)["links"])}[lid]
        for lid in ls.loc[lflip, "link_id"] if net.link_status.set_index("link_id").loc[lid, "state"] != "down")
    assert pd.Series(dict(G.nodes(data="fresh"))).sum() == len(flip)  # only the updated ones


def _reference(G):
    """The structure by the definition: links in ``G.edges(keys=True)`` order, each node's row
    in its adjacency dict's order (self-loops left out)."""
    nodes = list(G)
    idx = {v: i for i, v in enumerate(nodes)}
    links = [k for _, _, k in G.edges(keys=True)]
    eid = {}
    for i, (u, v, k) in enumerate(G.edges(keys=True)):
        eid[(u, v, k)] = eid[(v, u, k)] = i
    nbr, eids, indptr = [], [], [0]
    for u in nodes:
        for v, kd in G._adj[u].items():
            if v == u:
                continue
            for k in kd:
                nbr.append(idx[v])
                eids.append(eid[(u, v, k)])
        indptr.append(len(nbr))
    return links, indptr, nbr, eids


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30), st.booleans())
def test_structure_matches_the_definition_shared_or_not(pairs, copy_dicts):
    """Key dicts shared per pair (networkx's way: paired by identity) or copied per direction
    (a hand-made adjacency: the lookup path) give the structure of the definition."""
    G = nx.MultiGraph()
    G.add_nodes_from(range(8))
    for i, (u, v) in enumerate(pairs):
        G.add_edge(u, v, key=f"e{i}")
    if copy_dicts:  # each direction its own key dict: not networkx's sharing
        for u in G._adj:
            for v in list(G._adj[u]):
                if v != u:
                    G._adj[u][v] = dict(G._adj[u][v])
    s = adjacency_structure(G)
    links, indptr, nbr, eid = _reference(G)
    assert s["links"] == links
    assert s["indptr"].tolist() == indptr
    assert s["nbr"].tolist() == nbr
    assert s["eid"].tolist() == eid
