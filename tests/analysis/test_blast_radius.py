"""Blast radius, SPOFs, shared-risk groups and single homing against brute force and known answers."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import networkx as nx
import numpy as np
import pytest
from brute_force import brute_blast, served
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resilience.analysis.srlg as shared_risk
from resilience.analysis import (
    blast_radius,
    single_homed,
    single_points_of_failure,
    srlg_blast_radius,
)
from resilience.sample.synthetic import generate_synthetic
from resilience.sample.zoo import zoo_multigraph
from resilience.topology.compiled import to_csr
from resilience.topology.graph import build_graph

ROOT = Path(__file__).resolve().parents[2]
ZOO_LOCAL = ROOT / "tests" / "data" / "topologyzoo"


def known_network() -> nx.MultiGraph:
    """The network of ../shared/checks/contracts.sh: C1 - A1 - {B1, B2}; B2 - C1; B3 off B1."""
    G = nx.MultiGraph()
    for nid, kind, subs in [
        ("C1", "core", 0),
        ("A1", "aggregation", 0),
        ("B1", "base_station", 100),
        ("B2", "base_station", 200),
        ("B3", "base_station", 400),
    ]:
        G.add_node(nid, kind=kind, subscribers=subs, state=None)
    for lid, a, b, srlg in [
        ("L1", "C1", "A1", ("R1",)),
        ("L2", "A1", "B1", ()),
        ("L3", "A1", "B2", ()),
        ("L4", "C1", "B2", ("R1",)),
        ("L5", "B1", "B3", ()),
    ]:
        G.add_edge(a, b, key=lid, srlg=srlg, state="up")
    return G


def as_dict(df) -> dict:
    return {
        (t, i): (int(n), int(s))
        for t, i, n, s in df[["element_type", "id", "nodes_lost", "subscribers_lost"]].itertuples(
            index=False
        )
    }


def test_known_network_answers():
    got = as_dict(blast_radius(known_network()))
    want = {
        ("node", "C1"): (5, 700),
        ("node", "A1"): (3, 500),
        ("node", "B1"): (2, 500),
        ("node", "B3"): (1, 400),
        ("node", "B2"): (1, 200),
        ("link", "L1"): (0, 0),
        ("link", "L2"): (2, 500),
        ("link", "L5"): (1, 400),
        ("link", "L3"): (0, 0),
        ("link", "L4"): (0, 0),
    }
    assert got == want


def test_frame_shape_and_dtypes():
    df = blast_radius(known_network())
    assert list(df.columns) == ["element_type", "id", "nodes_lost", "subscribers_lost"]
    assert len(df) == 5 + 5
    assert df["nodes_lost"].dtype == np.int64 and df["subscribers_lost"].dtype == np.int64


def test_spofs_known_network():
    spofs = single_points_of_failure(known_network())
    assert spofs["id"].tolist() == ["C1", "A1", "B1", "L2", "L5"]
    assert spofs["subscribers_lost"].is_monotonic_decreasing


def test_srlg_hidden_spof():
    df = srlg_blast_radius(known_network())
    row = df.set_index("srlg").loc["R1"]
    assert (row["links"], row["nodes_lost"], row["subscribers_lost"]) == (2, 4, 700)
    assert bool(row["hidden"]) is True


def test_srlg_not_hidden_when_a_single_link_cuts():
    G = known_network()
    G.edges["A1", "B1", "L2"]["srlg"] = ("R2",)
    G.edges["B1", "B3", "L5"]["srlg"] = ("R2",)
    row = srlg_blast_radius(G).set_index("srlg").loc["R2"]
    assert (row["nodes_lost"], row["subscribers_lost"], bool(row["hidden"])) == (2, 500, False)


def test_single_homed_depth():
    sh = single_homed(known_network()).set_index("node_id")
    # B3: L5, B1, L2, A1 ; B1: L2, A1 ; B2 and A1: redundant (C1 is the destination)
    assert sh["spof_depth"].to_dict() == {"B3": 4, "B1": 2}
    assert sh.loc["B3", "nearest_spof"] == "L5" and sh.loc["B1", "nearest_spof"] == "L2"


def test_parallel_links_are_redundancy():
    G = nx.MultiGraph()
    G.add_node("c", kind="core")
    G.add_edge("c", "a", key="x")
    G.add_edge("c", "a", key="y")
    G.add_edge("a", "a", key="loop")
    got = as_dict(blast_radius(G, weight=None))
    assert got[("link", "x")] == got[("link", "y")] == got[("link", "loop")] == (0, 0)
    assert got[("node", "a")] == (1, 1) and got[("node", "c")] == (2, 2)


def test_down_elements_and_unserved():
    G = known_network()
    G.nodes["A1"]["state"] = "down"
    got = as_dict(blast_radius(G))
    assert got[("node", "A1")] == (0, 0)  # down: not served, loses nothing
    assert got[("node", "B1")] == (0, 0) and got[("node", "B3")] == (0, 0)  # unserved
    assert got[("link", "L2")] == (0, 0)  # touches a down node
    assert got[("node", "B2")] == (1, 200) and got[("link", "L4")] == (1, 200)
    assert got[("node", "C1")] == (2, 200)
    G2 = known_network()
    G2.edges["C1", "B2", "L4"]["state"] = "down"
    got2 = as_dict(blast_radius(G2))
    assert got2[("link", "L4")] == (0, 0) and got2[("link", "L1")] == (4, 700)


def test_multiple_cores_and_isolated():
    G = nx.MultiGraph()
    G.add_nodes_from(["c1", "c2"], kind="core")
    G.add_node("iso", kind="core")
    G.add_node("lonely")
    G.add_edges_from([("c1", "a", "1"), ("c2", "a", "2"), ("a", "b", "3")])
    got = as_dict(blast_radius(G, weight=None))
    assert got[("node", "c1")] == (1, 1) and got[("node", "a")] == (2, 2)
    assert got[("node", "iso")] == (1, 1) and got[("node", "lonely")] == (0, 0)
    assert as_dict(blast_radius(G, roots=["c1"], weight=None))[("link", "1")] == (3, 3)


def test_empty_graph():
    df = blast_radius(nx.MultiGraph())
    assert len(df) == 0 and list(df.columns)[0] == "element_type"


def check_against_brute(G: nx.MultiGraph, roots, weight="subscribers") -> None:
    fast = as_dict(blast_radius(G, roots=roots, weight=weight))
    slow = brute_blast(G, roots, weight)
    assert fast == slow
    # SPOF depth: brute force on the served nodes (elements whose removal cuts v, roots excluded)
    sh = single_homed(G, roots=roots, weight=weight, all_served=True).set_index("node_id")
    base = served(G, roots)
    assert set(sh.index) == base
    assert sh["spof_depth"].to_dict() == brute_spof_depth(G, roots)


def brute_spof_depth(G: nx.MultiGraph, roots) -> dict:
    """{served node: how many elements cut it off}: every node (not a root, not itself) and every
    link removed in turn, the served set recounted."""
    base, roots = served(G, roots), set(roots)
    depth = dict.fromkeys(base, 0)
    for x in G:
        if x not in roots:
            for v in base - served(G, roots, drop_node=x) - {x}:
                depth[v] += 1
    for _, _, k in G.edges(keys=True):
        for v in base - served(G, roots, drop_link=k):
            depth[v] += 1
    return depth


def test_brute_spof_depth_counts_on_the_known_network():
    """The oracle itself against the hand-checked depths (B3: L5, B1, L2, A1; B1: L2, A1)."""
    assert brute_spof_depth(known_network(), ["C1"]) == {"C1": 0, "A1": 0, "B2": 0, "B1": 2, "B3": 4}



def root_choices(G: nx.MultiGraph) -> list[list[str]]:
    nodes = list(G)
    top = max(nodes, key=lambda n: (G.degree(n), n))
    return [[nodes[0]], nodes[:: max(1, len(nodes) // 3)][:3], [top]]


@pytest.mark.zoo
@pytest.mark.parametrize("path", sorted(ZOO_LOCAL.glob("*.graphml")), ids=lambda p: p.stem)
def test_topologyzoo_local_copies(path):
    G = zoo_multigraph(path)
    for roots in root_choices(G):
        check_against_brute(G, roots)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_topologyzoo_full_sweep(shared_zoo):
    zoo = sorted(shared_zoo.glob("*.graphml"))
    assert len(zoo) == 276
    for path in zoo:
        G = zoo_multigraph(path)
        for roots in root_choices(G):
            fast = as_dict(blast_radius(G, roots=roots))
            assert fast == brute_blast(G, roots), path.name


@st.composite
def networks(draw):
    n = draw(st.integers(1, 14))
    G = nx.MultiGraph()
    for i in range(n):
        G.add_node(
            f"n{i}",
            kind="core" if draw(st.integers(0, 5)) == 0 else "aggregation",
            subscribers=draw(st.integers(0, 50)),
            state=draw(st.sampled_from(["up", "up", "up", "degraded", None, "down"])),
        )
    m = draw(st.integers(0, 2 * n + 2))
    for j in range(m):
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 1))  # self-loops and parallel links on purpose
        G.add_edge(
            f"n{a}", f"n{b}", key=f"l{j}", state=draw(st.sampled_from(["up", "up", "up", "down"]))
        )
    return G


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.data())
def test_property_matches_brute_force(G, data):
    cores = [n for n, k in G.nodes(data="kind") if k == "core"]
    check_against_brute(G, cores)
    roots = data.draw(st.lists(st.sampled_from(list(G)), min_size=1, max_size=3, unique=True))
    check_against_brute(G, roots, weight=None)


@settings(max_examples=150, deadline=None)
@given(networks())
def test_property_spof_depth_matches_brute_force(G):
    roots = [n for n, k in G.nodes(data="kind") if k == "core"]
    base = served(G, roots)
    sh = single_homed(G, roots=roots, all_served=True).set_index("node_id")["spof_depth"]
    for v in base:
        count = sum(1 for x in G if x != v and x not in roots and v not in served(G, roots, drop_node=x))
        count += sum(1 for _, _, k in G.edges(keys=True) if v not in served(G, roots, drop_link=k))
        assert sh[v] == count, v


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_property_srlg_matches_brute_force(G, data):
    links = [k for _, _, k in G.edges(keys=True)]
    if not links:
        return
    group = set(data.draw(st.lists(st.sampled_from(links), min_size=1, unique=True)))
    for u, v, k in G.edges(keys=True):
        G.edges[u, v, k]["srlg"] = ("G",) if k in group else ()
    roots = [n for n, k in G.nodes(data="kind") if k == "core"]
    H = G.copy()
    H.remove_edges_from([(u, v, k) for u, v, k in G.edges(keys=True) if k in group])
    lost = served(G, roots) - served(H, roots)
    row = srlg_blast_radius(G).set_index("srlg").loc["G"]
    assert row["nodes_lost"] == len(lost)
    assert row["subscribers_lost"] == sum(G.nodes[x]["subscribers"] for x in lost)
    # hidden: some node it cuts is not single-homed (single_homed is brute-checked above)
    single_homed_ids = set(single_homed(G, roots=roots)["node_id"])
    assert bool(row["hidden"]) == bool(lost - single_homed_ids - set(roots))


def brute_srlg(G: nx.MultiGraph, roots, weight="subscribers") -> dict:
    """{group: (links, nodes_lost, weight_lost, hidden)}: remove the group's links, recount;
    hidden: a node it cuts is not single-homed (tests/analysis/test_srlg_hidden.py has the
    full brute force of the hidden part)."""
    groups: dict = {}
    for _, _, k, s in G.edges(keys=True, data="srlg"):
        for g in s or ():
            groups.setdefault(g, set()).add(k)
    H = nx.MultiGraph()  # the elements that carry traffic
    H.add_nodes_from(n for n, s in G.nodes(data="state") if s != "down")
    H.add_edges_from(
        (u, v, k)
        for u, v, k, s in G.edges(keys=True, data="state")
        if s != "down" and u in H and v in H
    )
    ends = {k: (u, v) for u, v, k in G.edges(keys=True)}

    def lost_without(keys) -> set:
        gone = [(*ends[k], k) for k in keys if H.has_edge(*ends[k], k)]
        H.remove_edges_from(gone)
        out: set = set()
        for r in roots:
            if r in H and r not in out:
                out |= nx.node_connected_component(H, r)
        H.add_edges_from(gone)
        return base - out

    def w(n):
        return 1 if weight is None else (G.nodes[n].get(weight) or 0)

    base = served(G, roots)
    single_homed_ids = set(single_homed(G, roots=roots, weight=None)["node_id"])
    out = {}
    for g, keys in groups.items():
        lost = lost_without(keys)
        hidden = bool(lost - single_homed_ids - set(roots))
        out[g] = (len(keys), len(lost), sum(w(x) for x in lost), hidden)
    return out


def check_srlg_against_brute(G: nx.MultiGraph, roots, weight="subscribers") -> None:
    cores = [n for n, k in G.nodes(data="kind") if k == "core"]
    df = srlg_blast_radius(G, roots=roots, weight=weight)
    got = {
        g: (int(n), int(nl), s, bool(h))
        for g, n, nl, s, h in df[["srlg", "links", "nodes_lost", "subscribers_lost", "hidden"]]
        .itertuples(index=False)
    }
    want = brute_srlg(G, cores if roots is None else roots, weight)
    assert len(got) == len(df) and got.keys() == want.keys()
    for g, (n, nl, s, h) in want.items():
        assert got[g] == (n, nl, pytest.approx(s, rel=1e-12), h), g
    key = list(zip(-df["subscribers_lost"], -df["nodes_lost"], df["srlg"], strict=True))
    assert key == sorted(key)


def synthetic_with_groups(seed: int) -> nx.MultiGraph:
    """A generated operator network with overlapping groups, parallel links and down elements."""
    net = generate_synthetic(2000, seed=seed)
    G = build_graph(net.nodes, net.links, net.node_status, net.link_status, net.power_status)
    rng = np.random.default_rng(seed)
    edges = list(G.edges(keys=True, data=True))
    pool = [f"X{i}" for i in range(40)] + ["BIG"]
    for j in rng.choice(len(edges), 400, replace=False):  # extra, overlapping group memberships
        d = edges[j][3]
        extra = tuple(rng.choice(pool, rng.integers(1, 4)))  # a name may repeat on a link
        d["srlg"] = tuple(d["srlg"]) + extra
    for j in rng.choice(len(edges), 150, replace=False):  # parallel links, some sharing a group
        u, v, _, d = edges[j]
        same = rng.random() < 0.5
        G.add_edge(u, v, key=f"P{j}", srlg=tuple(d["srlg"]) if same else (str(rng.choice(pool)),),
                   state="up")  # fmt: skip
    for j in rng.choice(len(edges), 60, replace=False):
        u, v, k, _ = edges[j]
        G.edges[u, v, k]["state"] = "down"
    nodes = list(G)
    for j in rng.choice(len(nodes), 40, replace=False):
        G.nodes[nodes[j]]["state"] = "down"
    G.add_edge(nodes[5], nodes[5], key="SELF", srlg=("X0", "LOOP"), state="up")
    return G


@pytest.mark.parametrize("count_all", [False, True], ids=["default", "count_all"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_srlg_synthetic_networks_match_brute_force(seed, count_all):
    G = synthetic_with_groups(seed)
    # count_all: nested groups by subtree counts even where the search would be cheaper
    with mock.patch.object(shared_risk, "_QUERY_COST", 0 if count_all else shared_risk._QUERY_COST):
        check_srlg_against_brute(G, None)
        cores = [n for n, k in G.nodes(data="kind") if k == "core"]
        agg = [n for n, k in G.nodes(data="kind") if k == "aggregation"]
        check_srlg_against_brute(G, cores[:3] + agg[:2], weight=None)
        for _, d in G.nodes(data=True):  # fractional weights: nested groups are searched
            d["load"] = (d.get("subscribers") or 0) / 7
        check_srlg_against_brute(G, None, weight="load")


def test_srlg_groups_array_form():
    G = synthetic_with_groups(4)
    want: dict = {}  # the straightforward grouping: first appearance, links in order, unique
    for i, (_, _, s) in enumerate(G.edges(data="srlg")):
        for g in s or ():
            if i not in want.setdefault(g, []):
                want[g].append(i)
    csr = to_csr(G)
    names, ptr, links = csr.srlg_groups
    assert names == list(want)
    assert ptr.tolist() == np.cumsum([0] + [len(v) for v in want.values()]).tolist()
    assert links.tolist() == [i for v in want.values() for i in v]
    assert list(csr.srlg_links) == names
    assert {g: v.tolist() for g, v in csr.srlg_links.items()} == want
    assert csr.srlg_groups is csr.srlg_groups  # built once


def test_srlg_no_groups():
    G = known_network()
    for _, _, d in G.edges(data=True):
        d["srlg"] = ()
    df = srlg_blast_radius(G)
    assert len(df) == 0
    assert list(df.columns) == ["srlg", "links", "nodes_lost", "subscribers_lost", "hidden_nodes",
                                "hidden_subscribers", "hidden"]


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_property_overlapping_srlgs_match_brute_force(G, data):
    for u, v, k in G.edges(keys=True):
        G.edges[u, v, k]["srlg"] = tuple(
            data.draw(st.lists(st.sampled_from("ABCD"), max_size=3))  # repeats on purpose
        )
    roots = data.draw(st.lists(st.sampled_from(list(G)), min_size=1, max_size=3, unique=True))
    for cost in (shared_risk._QUERY_COST, 0):  # small graphs: nested groups searched, then counted
        with mock.patch.object(shared_risk, "_QUERY_COST", cost):
            check_srlg_against_brute(G, None)
            check_srlg_against_brute(G, roots, weight=None)
