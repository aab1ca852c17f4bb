"""The hidden part of every shared-risk group, against brute force (remove, recount).

Definition (docs/definitions.md): a group's hidden part is the set of nodes of its blast
radius that no single element between them and the core cuts off (the node itself and the roots
do not count), i.e. the nodes it cuts that are not single-homed. A group is a hidden single point
of failure when its hidden part is not empty.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from brute_force import served

from resilience.analysis import srlg_blast_radius
from resilience.sample.zoo import zoo_multigraph

ROOT = Path(__file__).resolve().parents[2]
ZOO_LOCAL = sorted((ROOT / "tests" / "data" / "topologyzoo").glob("*.graphml"))


def served_without(G: nx.MultiGraph, roots, links) -> set:
    """Nodes served once every link in ``links`` has failed (down elements carry nothing)."""
    H = nx.MultiGraph()
    H.add_nodes_from(n for n, s in G.nodes(data="state") if s != "down")
    H.add_edges_from(
        (u, v, k)
        for u, v, k, s in G.edges(keys=True, data="state")
        if s != "down" and k not in links and u in H and v in H
    )
    out: set = set()
    for r in roots:
        if r in H and r not in out:
            out |= nx.node_connected_component(H, r)
    return out


def brute_single_homed(G: nx.MultiGraph, roots) -> set:
    """Served nodes that some single element (not the node itself, not a root) cuts off."""
    base = served(G, roots)
    out: set = set()
    for x in G:
        if x not in roots:
            out |= (base - served(G, roots, drop_node=x)) - {x}
    for _, _, k in G.edges(keys=True):
        out |= base - served(G, roots, drop_link=k)
    return out


def brute_groups(G: nx.MultiGraph, roots, weight: str | None = "subscribers") -> dict:
    """{group: (nodes_lost, weight_lost, hidden_nodes, hidden_weight)} by remove-and-recount."""

    def w(n):
        return 1 if weight is None else (G.nodes[n].get(weight) or 0)

    groups: dict = {}
    for _, _, k, s in G.edges(keys=True, data="srlg"):
        for g in s or ():
            groups.setdefault(g, set()).add(k)
    base = served(G, roots)
    single = brute_single_homed(G, roots)
    out = {}
    for g, keys in groups.items():
        lost = base - served_without(G, roots, keys)
        hidden = lost - single - set(roots)
        out[g] = (len(lost), sum(w(x) for x in lost), len(hidden), sum(w(x) for x in hidden))
    return out


def check(G: nx.MultiGraph, roots, weight: str | None = "subscribers") -> pd.DataFrame:
    df = srlg_blast_radius(G, roots=roots, weight=weight)
    got = {
        r.srlg: (int(r.nodes_lost), r.subscribers_lost, int(r.hidden_nodes), r.hidden_subscribers)
        for r in df.itertuples(index=False)
    }
    want = brute_groups(G, roots, weight)
    assert got.keys() == want.keys()
    for g, (nl, wl, hn, hw) in want.items():
        assert got[g] == (nl, pytest.approx(wl), hn, pytest.approx(hw)), g
    assert (df["hidden"] == (df["hidden_nodes"] > 0)).all()
    assert (df["hidden_nodes"] <= df["nodes_lost"]).all()
    return df



def with_groups(G: nx.MultiGraph, seed: int) -> nx.MultiGraph:
    """Generated shared-risk groups: ducts carrying both uplinks of a node plus some other link
    (the case the old definition missed), random groups of 1-4 links, overlapping memberships."""
    rng = np.random.default_rng(seed)
    links = list(G.edges(keys=True))
    member: dict = {k: [] for _, _, k in links}
    by_node: dict = {}
    for u, v, k in links:
        by_node.setdefault(u, []).append(k)
        by_node.setdefault(v, []).append(k)
    # nodes with exactly two links first: a duct with both cuts the node whatever the roots
    nodes = sorted((n for n, ks in by_node.items() if len(ks) >= 2),
                   key=lambda n: (len(by_node[n]) > 2, rng.random()))
    for i, n in enumerate(nodes[: max(1, len(nodes) // 4)]):
        ks = by_node[n]
        pick = [ks[j] for j in rng.choice(len(ks), 2, replace=False)]
        pick.append(links[rng.integers(len(links))][2])
        for k in pick:
            member[k].append(f"D{i}")
    for i in range(max(1, len(links) // 5)):
        for j in rng.choice(len(links), int(rng.integers(1, 5)), replace=True):
            member[links[j][2]].append(f"G{i}")
    for u, v, k in links:
        G.edges[u, v, k]["srlg"] = tuple(member[k])
    return G


def root_choices(G: nx.MultiGraph) -> list[list[str]]:
    nodes = list(G)
    top = max(nodes, key=lambda n: (G.degree(n), n))
    return [[nodes[0]], nodes[:: max(1, len(nodes) // 3)][:3], [top]]


def test_known_network_group_r1_hidden_part_is_a1_and_b2():
    from test_blast_radius import known_network

    G = known_network()
    row = srlg_blast_radius(G).set_index("srlg").loc["R1"]
    assert (row["nodes_lost"], row["subscribers_lost"]) == (4, 700)
    assert (row["hidden_nodes"], row["hidden_subscribers"]) == (2, 200)  # A1 (0) and B2 (200)
    assert bool(row["hidden"])
    check(G, ["C1"])


def test_duct_with_a_single_homed_link_is_still_a_hidden_spof():
    # X has two uplinks (U1, U2), Y one (U3); all three run in duct D. The old rule ("no single
    # link of the group cuts anything") missed it because U3 alone cuts Y.
    G = nx.MultiGraph()
    G.add_node("C", kind="core", subscribers=0)
    G.add_node("X", kind="base_station", subscribers=300)
    G.add_node("Y", kind="base_station", subscribers=50)
    G.add_edge("C", "X", "U1", srlg=("D",))
    G.add_edge("C", "X", "U2", srlg=("D",))
    G.add_edge("C", "Y", "U3", srlg=("D",))
    row = check(G, ["C"]).set_index("srlg").loc["D"]
    assert (row["nodes_lost"], row["subscribers_lost"]) == (2, 350)
    assert (row["hidden_nodes"], row["hidden_subscribers"], bool(row["hidden"])) == (1, 300, True)


def test_group_cutting_only_single_homed_nodes_has_no_hidden_part():
    from test_blast_radius import known_network

    G = known_network()
    G.edges["A1", "B1", "L2"]["srlg"] = ("R2",)
    G.edges["B1", "B3", "L5"]["srlg"] = ("R2",)
    row = check(G, ["C1"]).set_index("srlg").loc["R2"]
    assert (row["nodes_lost"], row["hidden_nodes"], bool(row["hidden"])) == (2, 0, False)


def test_down_elements_and_fractional_weights_match_brute_force():
    from test_blast_radius import known_network

    G = known_network()
    G.add_node("B4", kind="base_station", subscribers=33, state="down")
    G.add_edge("B2", "B4", "L6", srlg=("R1",), state="up")
    G.add_edge("B1", "B2", "L7", srlg=("R3",), state="down")
    for _, d in G.nodes(data=True):
        d["load"] = (d.get("subscribers") or 0) / 7
    check(G, ["C1"])
    check(G, ["C1"], weight="load")
    check(G, ["C1", "B3"], weight=None)


@pytest.mark.parametrize("path", ZOO_LOCAL, ids=lambda p: p.stem)
def test_topologyzoo_local_copies_match_brute_force(path):
    seed = zlib.crc32(path.stem.encode())
    G = with_groups(zoo_multigraph(path), seed)
    for roots in root_choices(G):
        check(G, roots)


def test_generated_groups_have_hidden_parts_on_the_zoo_graphs():
    """The oracle above is not vacuous: most graphs get groups with a non-empty hidden part."""
    with_hidden = 0
    for path in ZOO_LOCAL:
        G = with_groups(zoo_multigraph(path), zlib.crc32(path.stem.encode()))
        with_hidden += any(
            (srlg_blast_radius(G, roots=roots)["hidden_nodes"] > 0).any() for roots in root_choices(G)
        )
    assert len(ZOO_LOCAL) >= 5 and with_hidden >= len(ZOO_LOCAL) - 1


@pytest.mark.slow
def test_topologyzoo_full_sweep_matches_brute_force(shared_zoo):
    paths = sorted(shared_zoo.glob("*.graphml"))
    assert len(paths) == 276
    for path in paths:
        G = zoo_multigraph(path)
        if G.number_of_nodes() > 250:  # brute single homing is cubic: the big ones take minutes
            continue
        G = with_groups(G, zlib.crc32(path.stem.encode()))
        check(G, root_choices(G)[0])


def test_snapshot_stores_the_hidden_part_and_headline_counts(db_url, contract_files, tmp_path,
                                                             monkeypatch):
    """What the report and the metrics read back (SQLite and PostgreSQL)."""
    from resilience import api
    from resilience.store.snapshots import latest_snapshot

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    api.ingest(list(contract_files), db_url=db_url)
    api.analyze(db_url=db_url)
    snap = latest_snapshot(api.engine(db_url))
    r1 = snap.srlgs.set_index("srlg").loc["R1"]
    assert (r1["nodes_lost"], r1["subscribers_lost"]) == (4, 700)
    assert (r1["hidden_nodes"], r1["hidden_subscribers"], bool(r1["hidden"])) == (2, 200, True)
    assert snap.srlgs["hidden_nodes"].dtype == np.int64
    agg = snap.aggregates.groupby("metric")["value"].sum()
    assert (agg["spofs_cutting_others"], agg["single_homed_sites"], agg["cores"]) == (4, 1, 1)
    assert agg["hidden_srlgs"] == 1
    s = snap.summary
    assert (s["spofs_cutting_others"], s["single_homed_sites"], s["cores"]) == (4, 1, 1)
    assert s["warnings"] == []


def test_snapshot_without_a_core_carries_the_fact(db_url, contract_files, tmp_path, monkeypatch):
    import warnings

    from resilience import api
    from resilience.analysis.coverage import CoverageWarning
    from resilience.store.snapshots import latest_snapshot

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    nodes, links = contract_files
    nodes.write_text(nodes.read_text().replace("C1,core", "C1,aggregation"))
    api.ingest([nodes, links], db_url=db_url)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        api.analyze(db_url=db_url)
    assert any(issubclass(w.category, CoverageWarning) for w in seen)
    snap = latest_snapshot(api.engine(db_url))
    agg = snap.aggregates
    assert agg.loc[agg["metric"] == "cores", "value"].tolist() == [0.0]
    assert snap.served_nodes == 0 and snap.summary["cores"] == 0
    assert "no core node" in snap.summary["warnings"][0]
