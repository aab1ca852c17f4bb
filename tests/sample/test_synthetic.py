"""The synthetic generator: determinism, contract, graph sanity, scale (its speed is measured by
benchmarks/synthetic.py, not asserted here)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from resilience.sample import generate_synthetic, write_status_update, write_synthetic
from resilience.topology.model import (
    FEED_POWER_STATES,
    LINK_COLUMNS,
    LINK_STATES,
    LINK_STATUS_COLUMNS,
    MEDIA,
    NODE_COLUMNS,
    NODE_KINDS,
    NODE_STATES,
    NODE_STATUS_COLUMNS,
    POWER_STATES,
    POWER_STATUS_COLUMNS,
)


def _digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def check_network(nodes: pd.DataFrame, links: pd.DataFrame) -> nx.MultiGraph:
    """Contract and graph checks shared by the synthetic and Noto tests."""
    assert tuple(nodes.columns[: len(NODE_COLUMNS)]) == NODE_COLUMNS
    assert tuple(links.columns) == LINK_COLUMNS
    assert nodes["node_id"].is_unique and links["link_id"].is_unique
    assert set(nodes["kind"]) <= set(NODE_KINDS)
    assert set(links["medium"]) <= set(MEDIA)
    assert nodes["lat"].between(24, 46).all() and nodes["lon"].between(122, 146).all()
    assert (nodes["subscribers"] >= 0).all() and (nodes["battery_hours"] >= 0).all()
    assert nodes["power_feed"].astype(str).str.len().gt(0).all()
    ids = set(nodes["node_id"])
    assert set(links["a"]) <= ids and set(links["b"]) <= ids
    assert not (links["a"] == links["b"]).any()
    G = nx.MultiGraph()
    G.add_nodes_from(nodes["node_id"])
    G.add_edges_from(zip(links["a"], links["b"], links["link_id"], strict=True))
    cores = nodes.loc[nodes["kind"] == "core", "node_id"]
    reached = set().union(*(nx.node_connected_component(G, c) for c in cores))
    assert reached == ids, f"{len(ids - reached)} nodes unreachable from any core"
    return G


def check_status(node_status, link_status, power_status, nodes, links) -> None:
    assert tuple(node_status.columns) == NODE_STATUS_COLUMNS
    assert tuple(link_status.columns) == LINK_STATUS_COLUMNS
    assert tuple(power_status.columns) == POWER_STATUS_COLUMNS
    assert set(node_status["state"]) <= set(NODE_STATES)
    assert set(node_status["power"]) <= set(POWER_STATES)
    assert set(link_status["state"]) <= set(LINK_STATES)
    assert set(power_status["state"]) <= set(FEED_POWER_STATES)
    assert set(node_status["node_id"]) <= set(nodes["node_id"])
    assert set(link_status["link_id"]) <= set(links["link_id"])
    assert set(power_status["power_feed"]) <= set(nodes["power_feed"])
    for ts in (node_status["observed_at"], link_status["observed_at"]):
        assert ts.astype(str).str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$").all()
    down = node_status["state"] == "down"
    assert (node_status.loc[node_status["power"] == "none", "state"] == "down").all()
    assert down.mean() < 0.05


def test_deterministic_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_synthetic(generate_synthetic(3000, seed=7), a)
    write_synthetic(generate_synthetic(3000, seed=7), b)
    write_synthetic(generate_synthetic(3000, seed=8), c)
    assert _digest(a) == _digest(b)
    assert _digest(a)["nodes.csv"] != _digest(c)["nodes.csv"]


def test_contract_and_graph(tmp_path: Path) -> None:
    net = generate_synthetic(5000, seed=1)
    assert len(net.nodes) == 5000
    G = check_network(net.nodes, net.links)
    check_status(net.node_status, net.link_status, net.power_status, net.nodes, net.links)
    kinds = set(net.nodes["kind"])
    assert {"core", "aggregation", "base_station", "cable_headend", "optical_node"} <= kinds
    assert {"fiber", "microwave", "coax", "satellite"} <= set(net.links["medium"])
    assert (net.power_status["state"] == "off").any()
    # core ring: every operator's cores are connected among themselves over core links only
    for _, cores in net.nodes[net.nodes["kind"] == "core"].groupby("operator")["node_id"]:
        assert nx.is_connected(G.subgraph(cores))
    # shared-risk groups: some shared by several links, including hidden redundant pairs
    srlg = net.links.loc[net.links["srlg"] != "", "srlg"].value_counts()
    assert (srlg >= 2).any()
    bs = net.nodes.loc[net.nodes["kind"] == "base_station", "node_id"]
    deg = pd.Series(dict(G.degree(bs)))
    assert 0.2 < (deg >= 2).mean() < 0.9  # single- and dual-homed
    bat = net.nodes.loc[net.nodes["kind"] == "base_station", "battery_hours"]
    assert bat.between(3, 6).mean() > 0.7 and np.isinf(bat).any() and (bat == 24).any()
    # round trip through the written files keeps the contract
    paths = write_synthetic(net, tmp_path)
    nodes = pd.read_csv(paths["nodes"], keep_default_na=False)
    assert tuple(nodes.columns) == NODE_COLUMNS
    assert math.isinf(float(nodes["battery_hours"].max()))


def test_operators_and_start_options() -> None:
    from datetime import datetime, timedelta, timezone

    start = datetime(2025, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=9)))
    net = generate_synthetic(1000, seed=2, operators=("docomo", "KDDI"), start=start,
                             cable_operators=())  # fmt: skip
    assert set(net.nodes["operator"]) == {"docomo", "KDDI"}
    assert net.node_status["observed_at"].str.startswith("2025-03-01T00:0").all()
    with pytest.raises(ValueError):
        generate_synthetic(1000, start=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        generate_synthetic(10)


def test_status_update(tmp_path: Path) -> None:
    net = generate_synthetic(2000, seed=3)
    p = write_status_update(net, tmp_path, fraction=0.02, seed=5)
    upd = pd.read_csv(p)
    assert tuple(upd.columns) == NODE_STATUS_COLUMNS and len(upd) == 40
    assert upd["node_id"].is_unique and set(upd["node_id"]) <= set(net.nodes["node_id"])
    assert (upd["observed_at"] > net.node_status["observed_at"].max()).all()
    assert p.read_bytes() == write_status_update(net, tmp_path / "x", 0.02, seed=5).read_bytes()


def test_20k_sites_keep_the_contract_and_are_written_whole(tmp_path: Path) -> None:
    net = generate_synthetic(20_000, seed=0)
    paths = write_synthetic(net, tmp_path)
    assert len(net.nodes) == 20_000 and net.nodes["node_id"].is_unique
    check_network(net.nodes, net.links)
    check_status(net.node_status, net.link_status, net.power_status, net.nodes, net.links)
    written = pd.read_csv(paths["nodes"], keep_default_na=False)
    assert len(written) == 20_000 and list(written["node_id"]) == list(net.nodes["node_id"])
