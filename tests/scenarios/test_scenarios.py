"""Each scenario type on hand-checked networks; run_whatif never mutates the graph."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from resilience.analysis import to_csr
from resilience.scenarios import (
    Earthquake,
    ExplicitFailure,
    Fragility,
    PowerOutage,
    RegionFailure,
    SRLGCut,
    load_scenario,
    run_whatif,
    scenario_from_dict,
)

ROOT = Path(__file__).resolve().parents[2]


def known_network() -> nx.MultiGraph:
    """../shared/checks/contracts.sh network: C1 - A1 - {B1, B2}; B2 - C1 (L4); B3 off B1."""
    G = nx.MultiGraph()
    rows = [
        ("C1", "core", 0, 36.56, 136.65, "Kanazawa", "F0", float("inf")),
        ("A1", "aggregation", 0, 37.39, 136.90, "Wajima", "F1", 24.0),
        ("B1", "base_station", 100, 37.40, 136.91, "Wajima", "F1", 6.0),
        ("B2", "base_station", 200, 37.41, 136.92, "Wajima", "F1", 3.0),
        ("B3", "base_station", 400, 37.42, 136.93, "Wajima", "F2", 3.0),
    ]
    for nid, kind, subs, lat, lon, muni, feed, bh in rows:
        G.add_node(nid, kind=kind, subscribers=subs, lat=lat, lon=lon, municipality=muni,
                   power_feed=feed, battery_hours=bh, state=None, power=None,
                   battery_remaining_min=None)
    for lid, a, b, srlg in [("L1", "C1", "A1", ("R1",)), ("L2", "A1", "B1", ()),
                            ("L3", "A1", "B2", ()), ("L4", "C1", "B2", ("R1",)),
                            ("L5", "B1", "B3", ())]:
        G.add_edge(a, b, key=lid, srlg=srlg, state="up")
    G.graph["power_feeds"] = {}
    return G


def check_shape(w: dict) -> None:
    for k in ("baseline", "scenario", "lost", "new_spofs", "difference"):
        assert k in w
    for k in ("served_nodes", "served_subscribers"):
        assert isinstance(w["baseline"][k], int) and isinstance(w["scenario"][k], int)
    assert isinstance(w["lost"]["subscribers"], int) and isinstance(w["lost"]["nodes"], list)
    json.dumps(w)  # JSON-ready


def test_explicit_fail_a1_contract():
    G = known_network()
    before = copy.deepcopy(nx.node_link_data(G, edges="links"))
    w = run_whatif(G, ExplicitFailure(["A1"]))
    check_shape(w)
    assert w["baseline"]["served_subscribers"] == 700 and w["scenario"]["served_subscribers"] == 200
    assert sorted(w["lost"]["nodes"]) == ["A1", "B1", "B3"] and w["lost"]["subscribers"] == 500
    assert w["difference"] == {"served_nodes": -3, "served_subscribers": -500}
    # B2 now hangs on L4 alone; C1 already was a SPOF; A1 failed itself
    assert w["new_spofs"] == ["L4"]
    assert nx.node_link_data(G, edges="links") == before  # never mutated


def test_explicit_links_and_unknown():
    w = run_whatif(known_network(), ExplicitFailure(["L2"]))
    assert sorted(w["lost"]["nodes"]) == ["B1", "B3"] and w["failed"]["links"] == ["L2"]
    with pytest.raises(ValueError, match="nope"):
        run_whatif(known_network(), ExplicitFailure(["nope"]))


def test_srlg_r1_hidden_spof_contract():
    w = run_whatif(known_network(), SRLGCut(["R1"]))
    check_shape(w)
    assert w["lost"]["subscribers"] == 700 and sorted(w["lost"]["nodes"]) == ["A1", "B1", "B2", "B3"]
    with pytest.raises(ValueError):
        run_whatif(known_network(), SRLGCut(["R9"]))


def test_region_disc_and_polygon():
    G = known_network()
    w = run_whatif(G, RegionFailure(lat=37.42, lon=136.93, radius_km=1.0))
    assert w["failed"]["nodes"] == ["B3"] and w["lost"]["subscribers"] == 400
    # B3 to B1 is 2.84 km, to A1 4.26 km: a 3 km disc takes B1, B2 and B3
    w = run_whatif(G, RegionFailure(lat=37.42, lon=136.93, radius_km=3.0))
    assert sorted(w["failed"]["nodes"]) == ["B1", "B2", "B3"]
    poly = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[136.85, 37.35], [136.95, 37.35], [136.95, 37.45], [136.85, 37.45], [136.85, 37.35]],
        [[136.915, 37.405], [136.925, 37.405], [136.925, 37.415], [136.915, 37.415],
         [136.915, 37.405]],  # a hole around B2
    ]}}
    w = run_whatif(G, RegionFailure(polygon=poly))
    assert sorted(w["failed"]["nodes"]) == ["A1", "B1", "B3"]
    assert w["lost"]["nodes"] == ["A1", "B1", "B3"]
    with pytest.raises(ValueError):
        RegionFailure(lat=1.0, lon=2.0)


def test_power_outage_played_forward():
    G = known_network()
    # F1 off: B2 dies at 3 h, B1 at 6 h (taking B3), A1 at 24 h
    w = run_whatif(G, PowerOutage(["F1"], hours=5))
    assert w["lost"]["nodes"] == ["B2"] and w["lost"]["subscribers"] == 200
    w = run_whatif(G, PowerOutage(["F1"], hours=6))
    assert sorted(w["lost"]["nodes"]) == ["B1", "B2", "B3"] and w["lost"]["subscribers"] == 700
    tl = {p["hours"]: p for p in w["timeline"]}
    assert tl[2.0]["nodes_out"] == 0 and tl[3.0]["subscribers_out"] == 200
    assert tl[6.0]["nodes_out"] == 3 and tl[6.0]["batteries_exhausted"] == 2
    # municipality works too; a reported remaining battery wins over the rating
    G.nodes["B3"].update(power="battery", battery_remaining_min=600)
    w = run_whatif(G, PowerOutage(["Wajima"], hours=3))
    assert w["lost"]["nodes"] == ["B2"]
    w = run_whatif(G, PowerOutage(municipalities=["Wajima"], hours=30))
    assert sorted(w["lost"]["nodes"]) == ["A1", "B1", "B2", "B3"]
    with pytest.raises(ValueError):
        run_whatif(G, PowerOutage(["Atlantis"], hours=1))


def test_earthquake_monte_carlo_seeded():
    G = known_network()
    frag = Fragility(x=[0, 5, 10], p=[0.5, 0.5, 0.0])  # the Wajima nodes: p = 0.5 each
    q = Earthquake(lat=37.40, lon=136.91, fragility=frag, runs=4000, seed=7)
    w1 = run_whatif(G, q)
    w2 = run_whatif(G, q)
    assert w1 == w2  # seeded
    mc = w1["monte_carlo"]
    check_shape(w1)
    # exact expectation: A1 fails w.p. .5 -> B1,B3 cut; else B1 .5 -> B3 cut; B3 .5; B2 .5
    # E[lost] = .5*(100+400) + .5*(.5*500 + .5*.5*400) + .5*200 = 250 + 175 + 100 = 525
    assert mc["subscribers_lost"]["mean"] == pytest.approx(525, rel=0.05)
    assert mc["subscribers_lost"]["p95"] >= mc["subscribers_lost"]["p50"]
    assert mc["node_out_probability"]["B3"] == pytest.approx(0.875, abs=0.03)
    assert sorted(w1["lost"]["nodes"]) == ["A1", "B1", "B2", "B3"]  # likely damage: p >= 0.5


def test_earthquake_intensity_lognormal():
    G = known_network()
    frag = Fragility(median=6.0, beta=0.1, measure="intensity")
    q = Earthquake(lat=37.4, lon=136.9, fragility=frag, intensity={"B3": 7.0, "B2": 4.0},
                   runs=200, seed=1)
    p = dict(zip(G, q.probability(G), strict=True))
    assert p["B3"] > 0.9 and p["B2"] < 0.01 and p["A1"] == 0.0
    w = run_whatif(G, q)
    assert w["monte_carlo"]["subscribers_lost"]["p50"] == 400
    q2 = Earthquake(lat=37.4, lon=136.9, fragility=frag, runs=10,
                    intensity_by_distance={"distance_km": [0, 200], "intensity": [7.0, 3.0]})
    assert q2.probability(G)[1] > 0.9  # A1 is near


def test_yaml_files_load(tmp_path):
    for path in sorted((ROOT / "config" / "scenarios").glob("*.yaml")):
        s = load_scenario(path)
        assert scenario_from_dict(s.to_dict()) == s
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: volcano\n")
    with pytest.raises(ValueError, match="bad.yaml"):
        load_scenario(bad)


def test_whatif_with_precomputed_csr_and_down_elements():
    G = known_network()
    G.nodes["B2"]["state"] = "down"
    csr = to_csr(G)
    w = run_whatif(G, ExplicitFailure(["L1"]), csr=csr)
    assert w["baseline"]["served_nodes"] == 4 and sorted(w["lost"]["nodes"]) == ["A1", "B1", "B3"]
    assert np.all(csr.node_up == to_csr(G).node_up)
