"""``compile_network`` is its two halves (issue 16): the inventory half (``compile_inventory``:
order, adjacency, labels; what the store keeps on disk) and the status half
(``compile_status``: the state joined onto it). Status rows in any order, with unknown ids or an
element listed twice, give the model that networkx gives; a kept inventory gives the same model
as a fresh one."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from resilience.sample.synthetic import generate_synthetic
from resilience.topology.compiled import (
    CompiledInventory,
    compile_inventory,
    compile_network,
    to_csr,
)
from resilience.topology.graph import build_graph

_ARRAYS = ("eu", "ev", "indptr", "nbr", "eid", "node_up", "link_up", "roots", "weight")


def _assert_same(model, view) -> None:
    assert model.nodes == view.nodes and model.links == view.links
    for f in _ARRAYS:
        np.testing.assert_array_equal(getattr(model, f), getattr(view, f), err_msg=f)
    for key in ("kind", "operator", "state", "power"):
        np.testing.assert_array_equal(model.attrs.label(key), view.attrs.label(key), err_msg=key)
    np.testing.assert_array_equal(model.attrs.observed_us, view.attrs.observed_us)
    np.testing.assert_array_equal(model.attrs.numbers["battery_remaining_min"],
                                  view.attrs.numbers["battery_remaining_min"])
    for key in ("state", "power", "battery_remaining_min", "name"):
        assert model.read_node(key).tolist() == view.read_node(key).tolist(), key


def _down(net) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    ns = net.node_status.copy()
    ns["state"] = rng.choice(["up", "down", "degraded"], len(ns))
    ls = net.link_status.copy()
    ls["state"] = np.where(rng.random(len(ls)) < 0.3, "down", "up")
    return ns, ls


@pytest.mark.parametrize("order", ["inventory", "sorted", "shuffled", "twice_and_unknown", "few"])
def test_status_rows_in_any_order(order):
    net = generate_synthetic(150, seed=2)
    ns, ls = _down(net)
    if order == "sorted":
        ns = ns.sort_values("node_id", kind="stable")
    elif order == "shuffled":
        ns, ls = ns.sample(frac=1, random_state=1), ls.sample(frac=1, random_state=1)
    elif order == "twice_and_unknown":  # an element's last row wins; unknown ids are skipped
        again = ns.head(5).assign(state="down")
        ns = pd.concat([ns, again, pd.DataFrame([{"node_id": "NOPE", "state": "down"}])])
        ls = pd.concat([ls, ls.head(5).assign(state="down"), pd.DataFrame([{"link_id": "NOPE", "state": "down"}])])
    elif order == "few":  # fewer rows than elements: the rows are hashed, not the inventory
        ns, ls = ns.tail(3), ls[ls["state"] == "down"].tail(4)
    frames = (net.nodes, net.links, ns.reset_index(drop=True), ls.reset_index(drop=True), net.power_status)
    _assert_same(compile_network(*frames), to_csr(build_graph(*frames)))


def test_a_kept_inventory_gives_the_fresh_model():
    net = generate_synthetic(150, seed=5)
    ns, ls = _down(net)
    inv = compile_inventory(net.nodes, net.links)
    kept = CompiledInventory.from_arrays(inv.to_arrays())
    fresh = compile_network(net.nodes, net.links, ns, ls, net.power_status)
    _assert_same(compile_network(None, None, ns, ls, net.power_status, inventory=kept), fresh)
    assert fresh.graph == compile_network(None, None, ns, ls, net.power_status, inventory=kept).graph


def test_rows_left_out_still_move_the_time():
    net = generate_synthetic(100, seed=1)
    ns, ls = _down(net)
    late = pd.Timestamp(ls["observed_at"].max()) + pd.Timedelta(hours=1)
    model = compile_network(net.nodes, net.links, ns, ls[ls["state"] == "down"], net.power_status,
                            newest_left_out=late.to_pydatetime())
    assert model.graph["newest_observed"] == late and model.graph["as_of"] == late
    stale = compile_network(net.nodes, net.links, ns, ls, net.power_status, as_of=late.to_pydatetime(),
                            stale_after=timedelta(minutes=30))
    np.testing.assert_array_equal(model.attrs.fresh, stale.attrs.fresh)
    np.testing.assert_array_equal(model.link_up, stale.link_up)


def test_duplicate_inventory_ids_go_through_networkx():
    nodes = [{"node_id": "C", "kind": "core"}, {"node_id": "C", "kind": "core"}, {"node_id": "B"}]
    links = [{"link_id": "L", "a": "C", "b": "B"}]
    assert compile_inventory(nodes, links) is None
    _assert_same(compile_network(nodes, links), to_csr(build_graph(nodes, links)))
    with pytest.raises(ValueError, match="every status row"):
        compile_network(nodes, links, newest_left_out=pd.Timestamp("2024-01-01", tz="UTC"))
