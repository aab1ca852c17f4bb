"""Arrays first and networkx first give the same model and the same snapshot (issue 16).

``compile_network`` builds the compiled CSR model straight from the columns (the pipeline's hot
path); ``to_csr(build_graph(...))`` goes through the networkx graph (the planners' model). Both
must agree element for element, and ``compute_snapshot`` on either must give identical frames.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from resilience.analysis.blast import blast_radius
from resilience.analysis.snapshot import compute_snapshot
from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV
from resilience.sample.noto import generate_noto
from resilience.sample.synthetic import generate_synthetic
from resilience.sample.zoo import zoo_multigraph
from resilience.topology.compiled import compile_network, invalidate_csr, to_csr
from resilience.topology.graph import build_graph

ROOT = Path(__file__).resolve().parents[2]
ZOO = sorted((ROOT / "tests" / "data" / "topologyzoo").glob("*.graphml"))
NOW = pd.Timestamp("2024-01-01T16:10:00+09:00")

_ARRAYS = ("eu", "ev", "indptr", "nbr", "eid", "node_up", "link_up", "roots", "weight")


def assert_same_model(frames: tuple, **kw) -> None:
    """The compiled model from columns equals the view of the networkx graph, and so do the
    snapshots computed on each."""
    model = compile_network(*frames, **kw)
    G = build_graph(*frames, **kw)
    view = to_csr(G)
    assert model.nodes == view.nodes
    assert model.links == view.links
    for f in _ARRAYS:
        np.testing.assert_array_equal(getattr(model, f), getattr(view, f), err_msg=f)
    assert model.weight_is_int == view.weight_is_int
    names, ptr, links = model.srlg_groups
    vnames, vptr, vlinks = view.srlg_groups
    assert names == vnames
    np.testing.assert_array_equal(ptr, vptr)
    np.testing.assert_array_equal(links, vlinks)
    np.testing.assert_array_equal(model.link_medium, view.link_medium)
    for key in ("kind", "operator", "prefecture", "municipality", "power_feed", "state", "power"):
        np.testing.assert_array_equal(model.attrs.label(key), view.attrs.label(key), err_msg=key)
    for key in ("lat", "lon", "battery_hours", "battery_remaining_min"):
        np.testing.assert_array_equal(model.attrs.numbers[key], view.attrs.numbers[key], err_msg=key)
    np.testing.assert_array_equal(model.attrs.observed_us, view.attrs.observed_us)
    np.testing.assert_array_equal(model.attrs.fresh, view.attrs.fresh)
    for key in ("name", "subscribers", "fresh", "kind", "state"):
        assert model.read_node(key).tolist() == view.read_node(key).tolist(), key
    invalidate_csr(G)  # build_graph stored the index from its arrays: read it from the dicts
    again = to_csr(G)
    assert again.links == model.links and list(again.node_index) == model.nodes
    for f in _ARRAYS:
        np.testing.assert_array_equal(getattr(again, f), getattr(model, f), err_msg=f)
    assert model.graph["as_of"] == G.graph["as_of"]
    assert model.graph["power_feeds"] == G.graph["power_feeds"]
    for stale in (None, timedelta(minutes=30)):
        a = compute_snapshot(model, stale_after=stale)
        b = compute_snapshot(G, stale_after=stale)
        for f in ("elements", "srlgs", "nodes_out", "aggregates"):
            pd.testing.assert_frame_equal(getattr(a, f), getattr(b, f), obj=f)
        assert a.summary == b.summary
        assert (a.as_of, a.total_nodes, a.total_subscribers, a.served_nodes, a.served_subscribers) == (
            b.as_of, b.total_nodes, b.total_subscribers, b.served_nodes, b.served_subscribers)


def test_five_site_network_with_states():
    nodes = pd.read_csv(io.StringIO(KNOWN_NODES_CSV))
    links = pd.read_csv(io.StringIO(KNOWN_LINKS_CSV))
    status = pd.DataFrame({
        "node_id": ["B1", "B2", "A1", "C1"],
        "observed_at": ["2024-01-01T16:00:00+09:00", "2024-01-01T15:00:00+09:00",
                        "2024-01-01T16:05:00+09:00", "2024-01-01T16:05:00+09:00"],
        "state": ["down", "up", "up", "up"],
        "power": ["none", "battery", "grid", "grid"],
        "battery_remaining_min": [0, 90, None, None],
    })
    link_status = pd.DataFrame({"link_id": ["L4"], "observed_at": ["2024-01-01T16:00:00+09:00"],
                                "state": ["down"]})
    power = pd.DataFrame({"power_feed": ["F1", "F2"], "observed_at": [NOW, NOW],
                          "state": ["off", "on"], "expected_restore_at": [NOW + pd.Timedelta("6h"), None]})
    assert_same_model((nodes, links), as_of=NOW.to_pydatetime())  # no state: as_of is now
    assert_same_model((nodes, links, status, link_status, power))
    assert_same_model((nodes, links, status, link_status, power), as_of=NOW.to_pydatetime(),
                      stale_after=timedelta(minutes=5))


def test_five_site_network_through_the_store(db_url, tmp_path):
    """The store's columns (the hot path's input) give the same snapshot both ways."""
    from resilience import api

    api.init(db_url)
    d = tmp_path / "in"
    d.mkdir()
    (d / "nodes.csv").write_text(KNOWN_NODES_CSV)
    (d / "links.csv").write_text(KNOWN_LINKS_CSV)
    (d / "status.csv").write_text(
        "observed_at,node_id,state,power,battery_remaining_min\n"
        "2024-01-01T16:00:00+09:00,B1,down,none,0\n2024-01-01T16:00:00+09:00,B3,up,battery,45\n")
    api.ingest([d / f for f in ("nodes.csv", "links.csv", "status.csv")], db_url=db_url)
    state = api.load_state(db_url=db_url)
    frames = tuple(state[k] for k in ("nodes", "links", "node_status", "link_status", "power_status"))
    assert_same_model(frames)
    a = compute_snapshot(api.load_model(db_url=db_url))
    b = compute_snapshot(api.load_graph(db_url=db_url))
    pd.testing.assert_frame_equal(a.elements, b.elements)
    assert a.summary == b.summary


def test_noto_sample():
    net = generate_noto(seed=3)
    assert_same_model((net.nodes, net.links, net.node_status, net.link_status, net.power_status))


def test_synthetic_network():
    net = generate_synthetic(3000, seed=5)
    assert_same_model((net.nodes, net.links, net.node_status, net.link_status, net.power_status))


def _zoo_frames(G: nx.MultiGraph, seed: int) -> tuple:
    """A Topology Zoo graph as inventory and state frames: two cores, shared-risk groups (as
    ``;`` strings), some nodes and links down, parallel links and a self-loop kept."""
    rng = np.random.default_rng(seed)
    ids = list(G)
    nodes = pd.DataFrame({
        "node_id": ids,
        "kind": ["core" if i < 2 else ("base_station" if i % 3 else "") for i in range(len(ids))],
        "subscribers": [d["subscribers"] for _, d in G.nodes(data=True)],
        "operator": [f"op{i % 3}" for i in range(len(ids))],
        "power_feed": [f"F{i % 4}" for i in range(len(ids))],
    })
    edges = list(G.edges(keys=True))
    srlg = [";".join(f"R{g}" for g in rng.choice(6, size=rng.integers(0, 3), replace=False))
            for _ in edges]
    links = pd.DataFrame({"link_id": [k for _, _, k in edges], "a": [u for u, _, _ in edges],
                          "b": [v for _, v, _ in edges], "srlg": srlg})
    rows = rng.random(len(ids)) < 0.6
    status = pd.DataFrame({
        "node_id": [n for n, r in zip(ids, rows, strict=True) if r],
        "observed_at": NOW,
        "state": rng.choice(["up", "down", "degraded"], int(rows.sum()), p=[0.8, 0.1, 0.1]),
        "power": rng.choice(["grid", "battery", "none"], int(rows.sum())),
        "battery_remaining_min": rng.integers(0, 300, int(rows.sum())).astype(float),
    })
    down = rng.random(len(edges)) < 0.1
    link_status = pd.DataFrame({"link_id": links["link_id"][down], "observed_at": NOW,
                                "state": "down"})
    power = pd.DataFrame({"power_feed": ["F1"], "observed_at": [NOW], "state": ["off"]})
    return nodes, links, status, link_status, power


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_topology_zoo(path):
    G = zoo_multigraph(path)
    for seed in range(3):
        nodes, links, status, link_status, power = _zoo_frames(G, seed)
        # a parallel link, a self-loop and an endpoint named by a link only
        extra = pd.DataFrame({"link_id": ["p0", "s0", "x0"], "a": [links["a"][0], links["b"][1], "ghost"],
                              "b": [links["b"][0], links["b"][1], links["a"][2]], "srlg": ["R1", None, ""]})
        links = pd.concat([links, extra], ignore_index=True)
        assert_same_model((nodes, links, status, link_status, power))


def test_tuples_and_duplicates_fall_back_to_the_same_answer():
    nodes = [{"node_id": "C", "kind": "core"}, {"node_id": "A", "subscribers": 5},
             {"node_id": "A", "subscribers": 7}]
    links = [{"link_id": "L1", "a": "C", "b": "A", "srlg": ("R1", "R2")},
             {"link_id": "L2", "a": "A", "b": "C", "srlg": ["R2"]}]
    assert_same_model((nodes, links), as_of=NOW.to_pydatetime())
    assert_same_model((nodes[:2], links), as_of=NOW.to_pydatetime())


def test_every_analysis_still_takes_a_networkx_graph():
    G = build_graph(pd.read_csv(io.StringIO(KNOWN_NODES_CSV)), pd.read_csv(io.StringIO(KNOWN_LINKS_CSV)))
    H = nx.MultiGraph(G)  # a plain copy: no compiled index of ours
    pd.testing.assert_frame_equal(blast_radius(G), blast_radius(H))


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_small_graph_python_kernels_match_the_compiled_ones(path, monkeypatch):
    """Below SMALL_GRAPH the searches run as plain Python (no numba cache load for a one-shot
    command on a few sites): the same answers as the compiled kernels."""
    from resilience.analysis import traversal
    from resilience.analysis.forecast import death_hours
    from resilience.analysis.outage_causes import cause_arrays

    frames = _zoo_frames(zoo_multigraph(path), 1)
    model = compile_network(*frames)

    def run() -> list:
        b = blast_radius(None, csr=model)
        served = traversal.served_mask(model)
        out = traversal.widest_out_times(model, death_hours(model, csr=model))
        causes = cause_arrays(model, model, model.roots, None, served=served)
        return [b, served, out, *causes]

    monkeypatch.setattr(traversal, "SMALL_GRAPH", 0)
    compiled = run()
    monkeypatch.setattr(traversal, "SMALL_GRAPH", 10**9)
    python = run()
    pd.testing.assert_frame_equal(compiled[0], python[0])
    for x, y in zip(compiled[1:], python[1:], strict=True):
        np.testing.assert_array_equal(x, y)
