"""The Noto sample network and the 2024 earthquake replay."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resilience.sample import generate_noto, replay_shape, write_noto, write_noto_2024
from resilience.sample.noto import MUNICIPALITIES
from tests.sample.test_synthetic import check_network, check_status


def test_noto_network(tmp_path: Path) -> None:
    net = generate_noto(seed=0)
    check_network(net.nodes, net.links)
    check_status(net.node_status, net.link_status, net.power_status, net.nodes, net.links)
    n = net.nodes
    bs = n[n["kind"] == "base_station"]
    assert 1300 <= len(bs) <= 1700
    assert set(n["operator"]) == {"docomo", "KDDI", "SoftBank", "Rakuten", "NotoCATV"}
    assert set(n["municipality"]) == {m[0] for m in MUNICIPALITIES}
    assert (n.loc[n["kind"] == "core", "municipality"] == "Kanazawa").all()
    assert {"cable_headend", "optical_node", "relay"} <= set(n["kind"])
    assert "coax" in set(net.links["medium"]) and "microwave" in set(net.links["medium"])
    assert bs["battery_hours"].between(3, 6).mean() > 0.8
    office = net.meta.set_index("node_id")["office"]
    assert (bs.set_index("node_id")["battery_hours"][office.loc[bs["node_id"]]] >= 24).all()
    assert bs["name"].str.contains("基地局").all()
    # fibre routes along roads are shared by the operators
    assert (net.links["srlg"].str.contains("R249").groupby(net.links["srlg"]).sum() >= 4).any()


def test_noto_deterministic(tmp_path: Path) -> None:
    a = write_noto(tmp_path / "a", seed=0)
    b = write_noto(tmp_path / "b", seed=0)
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes()


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("noto2024")
    write_noto_2024(out, seed=0)
    return out


def test_replay_files(replay: Path) -> None:
    manifest = json.loads((replay / "manifest.json").read_text())
    names = [f["path"] for f in manifest["files"]]
    assert names == sorted(names) == sorted(p.name for p in replay.glob("*.csv"))
    assert names[:2] == ["0000_inventory_nodes.csv", "0001_inventory_links.csv"]
    times = [f["at"] for f in manifest["files"][2:]]
    assert times == sorted(times, key=pd.Timestamp)
    assert any(n.startswith("0103_2024-01-01T1610+0900_power") for n in names)
    assert (replay / "README.md").exists()
    nodes = pd.read_csv(replay / names[0], keep_default_na=False)
    links = pd.read_csv(replay / names[1], keep_default_na=False)
    check_network(nodes, links)
    kinds = {f["kind"] for f in manifest["files"]}
    assert kinds == {"inventory_nodes", "inventory_links", "power", "link_status", "status"}
    for f in manifest["files"][2:5]:
        assert len(pd.read_csv(replay / f["path"])) == f["rows"]
    # a station reports down exactly when its battery is exhausted, battery counts down
    status = [f for f in manifest["files"] if f["kind"] == "status"]
    s1 = pd.read_csv(replay / status[2]["path"]).set_index("node_id")
    s2 = pd.read_csv(replay / status[3]["path"]).set_index("node_id")
    assert ((s1["state"] == "down") == (s1["power"] == "none")).all()
    both = (s1["power"] == "battery") & (s2["power"] == "battery")
    assert both.any()
    assert (s2.loc[both, "battery_remaining_min"] < s1.loc[both, "battery_remaining_min"]).all()


def test_replay_deterministic(replay: Path, tmp_path: Path) -> None:
    write_noto_2024(tmp_path, seed=0)
    for name in ("0001_inventory_links.csv", "manifest.json"):
        h = [hashlib.sha256((d / name).read_bytes()).hexdigest() for d in (replay, tmp_path)]
        assert h[0] == h[1]


def test_replay_shape(replay: Path) -> None:
    s = replay_shape(replay)
    counts = np.array([r["sites_down"] for r in s["series"]])
    hours = np.array([r["hours"] for r in s["series"]])
    assert counts[0] == 0  # baseline before the quake
    assert 24 <= s["peak_hours"] <= 72
    assert 400 <= s["peak_count"] <= 1200
    assert 0.60 <= s["power_share"] <= 0.80
    assert 0.50 <= s["backhaul_share"] <= 0.70
    # kept rising: the count at 6 h is below the peak; restoration brings it down by 30 days
    assert counts[hours == 6][0] < s["peak_count"]
    assert counts[-1] < 0.1 * s["peak_count"]
