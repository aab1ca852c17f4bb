"""Status changes applied to the compiled model's arrays (``apply_state_changes``) give the model
that compiling the merged state gives, and change what ``update_state`` changes on networkx."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from resilience.analysis.snapshot import compute_snapshot
from resilience.sample.synthetic import generate_synthetic
from resilience.topology.compiled import compile_network, to_csr
from resilience.topology.graph import build_graph, update_state
from resilience.topology.state_update import apply_state_changes

STALE = timedelta(minutes=30)


def _merge(old: pd.DataFrame, new: pd.DataFrame, key: str) -> pd.DataFrame:
    return pd.concat([old, new], ignore_index=True).drop_duplicates(key, keep="last").reset_index(drop=True)


def _rounds(net, rng: np.random.Generator):
    """Rounds of changed rows: nodes down/up/battery (some unknown ids, a new power value),
    links down/up, feeds off with a restore time and back on; time moves 5-50 minutes on."""
    t0 = pd.Timestamp(net.observed_at)
    for i, minutes in enumerate((5, 20, 45, 50)):
        at = (t0 + pd.Timedelta(minutes=minutes)).isoformat()
        ns = net.node_status.sample(frac=0.05, random_state=i).assign(observed_at=at)
        ns["state"] = rng.choice(["up", "down", "degraded"], len(ns))
        ns["power"] = rng.choice(["grid", "battery", "none", "generator", "solar"], len(ns))
        ns["battery_remaining_min"] = np.where(ns["power"] == "battery", rng.integers(0, 300, len(ns)), np.nan)
        ns = pd.concat([ns, pd.DataFrame([{"observed_at": at, "node_id": "NOPE", "state": "down"}])])
        ls = net.link_status.sample(frac=0.03, random_state=i).assign(
            observed_at=at, state=lambda f: np.where(rng.random(len(f)) < 0.6, "down", "up"))
        ps = net.power_status.sample(frac=0.2, random_state=i).assign(observed_at=at)
        ps["state"] = rng.choice(["on", "off"], len(ps))
        ps["expected_restore_at"] = np.where(ps["state"] == "off",
                                             (t0 + pd.Timedelta(hours=6)).isoformat(), None)
        yield ns, ls, ps


@pytest.mark.parametrize("seed", [1, 2])
def test_changes_in_the_arrays_equal_a_compile_of_the_merged_state(seed):
    net = generate_synthetic(400, seed=seed)
    state = [net.node_status, net.link_status, net.power_status]
    model = compile_network(net.nodes, net.links, *state, stale_after=STALE)
    G = build_graph(net.nodes, net.links, *state, stale_after=STALE)
    view = to_csr(G)
    for ns, ls, ps in _rounds(net, np.random.default_rng(seed)):
        got = apply_state_changes(model, ns, ls, ps, stale_after=STALE)
        want = update_state(G, ns, ls, ps, stale_after=STALE, changes_only=True)
        view.reread(nodes=want.nodes, links=want.links)
        np.testing.assert_array_equal(got.nodes, want.nodes)
        np.testing.assert_array_equal(got.links, want.links)
        state = [_merge(state[0], ns, "node_id"), _merge(state[1], ls, "link_id"),
                 _merge(state[2], ps, "power_feed")]
        again = compile_network(net.nodes, net.links, *state, stale_after=STALE)
        np.testing.assert_array_equal(model.node_up, again.node_up)
        np.testing.assert_array_equal(model.link_up, again.link_up)
        for key in ("state", "power"):
            np.testing.assert_array_equal(model.attrs.label(key), again.attrs.label(key), err_msg=key)
            np.testing.assert_array_equal(model.attrs.label(key), view.attrs.label(key), err_msg=key)
        for key in ("battery_remaining_min", "observed_at", "fresh", "state", "power", "kind"):
            assert model.read_node(key).tolist() == again.read_node(key).tolist(), key
        np.testing.assert_array_equal(model.attrs.numbers["battery_remaining_min"],
                                      again.attrs.numbers["battery_remaining_min"])
        np.testing.assert_array_equal(model.attrs.observed_us, again.attrs.observed_us)
        np.testing.assert_array_equal(model.attrs.fresh, again.attrs.fresh)
        np.testing.assert_array_equal(model.attrs.fresh, view.attrs.fresh)
        assert model.graph == again.graph
        assert model.graph == {k: G.graph[k] for k in model.graph}
        a, b = compute_snapshot(model, stale_after=STALE), compute_snapshot(G, stale_after=STALE, csr=view)
        for f in ("elements", "srlgs", "nodes_out", "aggregates"):
            pd.testing.assert_frame_equal(getattr(a, f), getattr(b, f), obj=f)
        assert a.summary == b.summary


def test_no_rows_change_nothing_but_the_time():
    net = generate_synthetic(200, seed=4)
    model = compile_network(net.nodes, net.links, net.node_status, net.link_status, net.power_status)
    before = (model.node_up.copy(), model.link_up.copy(), dict(model.graph))
    u = apply_state_changes(model)
    assert len(u.nodes) == len(u.links) == 0
    np.testing.assert_array_equal(model.node_up, before[0])
    np.testing.assert_array_equal(model.link_up, before[1])
    assert model.graph == before[2]


