"""What-if input is checked by the scenario classes themselves (CLI, API and DAG all get it):
a NaN radius, latitude 200 or infinite hours raise ``ValueError``; they never answer "nothing
lost" or die in numpy."""

from __future__ import annotations

import math

import pytest
import yaml
from test_scenarios import known_network

from resilience.scenarios import (
    Earthquake,
    Fragility,
    PowerOutage,
    RegionFailure,
    load_scenario,
    read_scenario_file,
    run_whatif,
    scenario_from_dict,
)
from resilience.scenarios.power import TIMELINE_STEPS

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lat": 37.4, "lon": 136.9, "radius_km": NAN}, "radius_km must be a finite number"),
        ({"lat": 37.4, "lon": 136.9, "radius_km": INF}, "radius_km must be a finite number"),
        ({"lat": 37.4, "lon": 136.9, "radius_km": 0}, "radius_km must be > 0"),
        ({"lat": 37.4, "lon": 136.9, "radius_km": -5}, "radius_km must be > 0"),
        ({"lat": 200, "lon": 136.9, "radius_km": 5}, "latitude must be within -90..90"),
        ({"lat": -91, "lon": 136.9, "radius_km": 5}, "latitude must be within -90..90"),
        ({"lat": NAN, "lon": 136.9, "radius_km": 5}, "latitude must be a finite number"),
        ({"lat": 37.4, "lon": 181, "radius_km": 5}, "longitude must be within -180..180"),
        ({"lat": "north", "lon": 136.9, "radius_km": 5}, "latitude must be a number"),
    ],
)
def test_region_rejects_values_that_would_answer_nothing_lost(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegionFailure(**kwargs)


def test_region_at_the_bounds_is_accepted_and_a_nan_radius_in_yaml_is_refused():
    assert RegionFailure(lat=-90, lon=180, radius_km=1).lat == -90.0
    with pytest.raises(ValueError, match="radius_km must be a finite number"):
        scenario_from_dict(yaml.safe_load("type: region\ncenter: {lat: 37.4, lon: 136.9}\n"
                                          "radius_km: .nan\n"))
    w = run_whatif(known_network(), RegionFailure(lat=37.4, lon=136.91, radius_km=5))
    assert w["lost"]["subscribers"] == 700  # the real disc still loses what it covers


@pytest.mark.parametrize("hours", [INF, -INF, NAN, -1, "soon", None])
def test_power_outage_hours_must_be_finite_and_not_negative(hours):
    with pytest.raises(ValueError, match="power outage hours must be"):
        PowerOutage(["F1"], hours=hours)
    with pytest.raises(ValueError):
        scenario_from_dict({"type": "power_outage", "feeds": ["F1"], "hours": hours})


def test_power_outage_a_year_long_keeps_the_timeline_bounded():
    w = run_whatif(known_network(), PowerOutage(["F1", "F2"], hours=24 * 365))
    tl = w["timeline"]
    assert len(tl) <= TIMELINE_STEPS + 1
    assert tl[0]["hours"] == 0.0 and tl[-1]["hours"] == 24 * 365
    assert [r["hours"] for r in tl] == sorted(r["hours"] for r in tl)
    # every battery in F1/F2 is finite: at the end everything but the core is out
    assert tl[-1]["nodes_out"] == 4 and w["lost"]["subscribers"] == 700


def test_power_outage_short_timeline_is_hourly():
    w = run_whatif(known_network(), PowerOutage(["F1"], hours=4.5))
    assert [r["hours"] for r in w["timeline"]] == [0.0, 1.0, 2.0, 3.0, 4.0, 4.5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lat": 95.0}, "epicentre latitude"),
        ({"lon": NAN}, "epicentre longitude"),
        ({"depth_km": -1}, "depth_km"),
        ({"depth_km": INF}, "depth_km"),
        ({"runs": 0}, "runs"),
        ({"runs": 10**9}, "runs"),
        ({"runs": 2.5}, "whole numbers"),
        ({"seed": -1}, "seed"),
    ],
)
def test_earthquake_rejects_bad_parameters(kwargs, message):
    args = {"lat": 37.5, "lon": 137.3, "fragility": Fragility(x=[0, 30], p=[0.5, 0.0])} | kwargs
    with pytest.raises(ValueError, match=message):
        Earthquake(**args)


@pytest.mark.parametrize(
    "fragility",
    [{"x": [0, NAN], "p": [0.5, 0.0]}, {"median": NAN, "beta": 0.5}, {"median": 1, "beta": INF}],
)
def test_fragility_rejects_non_finite_curves(fragility):
    with pytest.raises(ValueError, match="fragility"):
        Fragility(**fragility)


def test_wrongly_shaped_fields_are_value_errors():
    with pytest.raises(ValueError, match="earthquake"):
        scenario_from_dict({"type": "earthquake", "epicentre": {"lat": 1, "lon": 2},
                            "fragility": [1, 2]})
    with pytest.raises(ValueError, match="earthquake"):
        scenario_from_dict({"type": "earthquake", "epicentre": {"lat": 1, "lon": 2},
                            "fragility": {"x": [0], "p": [0], "colour": "red"}})


SECRET = "root:x:0:0:hunter2:/root:/bin/bash"


@pytest.mark.parametrize(
    "content",
    [f"{SECRET}\n", f"{SECRET}\n  key: [unclosed\n", f"a: 1\n{SECRET}: x: y\n", "\xff\xfe" + SECRET],
    ids=["plain-text", "yaml-error", "mapping-error", "not-utf8"],
)
def test_a_file_that_is_not_a_scenario_is_named_never_echoed(tmp_path, content):
    p = tmp_path / "passwd"
    p.write_bytes(content.encode("latin-1"))
    for read in (read_scenario_file, load_scenario):
        with pytest.raises(ValueError) as err:
            read(p)
        msg = str(err.value)
        assert str(p) in msg and "\n" not in msg
        assert "hunter2" not in msg and "root:x" not in msg


def test_an_oversized_or_unreadable_file_is_refused(tmp_path, monkeypatch):
    import resilience.scenarios.loader as loader

    monkeypatch.setattr(loader, "MAX_SCENARIO_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("type: explicit\nfail: [" + ", ".join(["A1"] * 100) + "]\n")
    with pytest.raises(ValueError, match="larger than"):
        read_scenario_file(big)
    with pytest.raises(ValueError, match="cannot read"):
        read_scenario_file(tmp_path)  # a directory


def test_whatif_names_lost_nodes_and_new_spofs():
    G = known_network()
    for n, name in [("A1", "Wajima agg"), ("B1", "Wajima 1"), ("B2", "Wajima 2"),
                    ("B3", "Wajima 3"), ("C1", "Kanazawa core")]:
        G.nodes[n]["name"] = name
    from resilience.scenarios import ExplicitFailure

    w = run_whatif(G, ExplicitFailure(["A1"]))
    assert w["lost"]["nodes"] == ["A1", "B1", "B3"]
    assert w["lost"]["names"] == ["Wajima agg", "Wajima 1", "Wajima 3"]
    (d,) = w["new_spofs_detail"]
    assert (d["id"], d["a"], d["b"]) == ("L4", "C1", "B2")
    assert d["name"] == "Kanazawa core – Wajima 2"
    assert not math.isnan(d["subscribers_lost"])
