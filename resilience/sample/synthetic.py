"""Synthetic operator networks at scale (1 thousand to 1 million sites), deterministic by seed.

The shape follows a real national operator: core sites in a ring with chords in the big cities,
aggregation rings (each closed over two cores) with trees of aggregation sites hanging off them,
base stations single- or dual-homed to aggregation sites, microwave spurs (chains of base
stations), shared-risk groups (conduits; some "hidden": two redundant links in one group) and,
for the cable operator, headends, optical nodes and coax amplifier cascades. Sites are placed in
Japan by prefecture (population-weighted); municipalities and power feeds are geographic cells.

Everything is vectorised numpy: there is no Python loop per site, so a million sites take
seconds.

Example
-------
>>> net = generate_synthetic(1000, seed=1)
>>> len(net.nodes), net.nodes["node_id"].is_unique
(1000, True)
>>> sorted(net.node_status["state"].unique())[:1]
['degraded']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.sample._common import JST, SyntheticNetwork, iso, iso_array, write_csv
from resilience.topology.model import (
    LINK_COLUMNS,
    LINK_STATUS_COLUMNS,
    NODE_COLUMNS,
    NODE_STATUS_COLUMNS,
    POWER_STATUS_COLUMNS,
)

__all__ = [
    "SyntheticNetwork",
    "generate_synthetic",
    "write_synthetic",
    "write_status_update",
    "MOBILE_OPERATORS",
    "CABLE_OPERATORS",
    "DEFAULT_START",
    "PREFECTURES",
]

MOBILE_OPERATORS: tuple[str, ...] = ("docomo", "KDDI", "SoftBank", "Rakuten")
CABLE_OPERATORS: tuple[str, ...] = ("J:COM",)
DEFAULT_START = datetime(2024, 6, 1, 9, 0, tzinfo=JST)

# name, lat, lon (prefectural capital), population (thousands, 2020), spread (degrees)
PREFECTURES: tuple[tuple[str, float, float, int, float], ...] = (
    ("Hokkaido", 43.064, 141.347, 5225, 1.10),
    ("Aomori", 40.824, 140.740, 1238, 0.35),
    ("Iwate", 39.704, 141.153, 1211, 0.40),
    ("Miyagi", 38.269, 140.872, 2302, 0.30),
    ("Akita", 39.719, 140.102, 960, 0.35),
    ("Yamagata", 38.240, 140.363, 1068, 0.30),
    ("Fukushima", 37.750, 140.468, 1833, 0.40),
    ("Ibaraki", 36.342, 140.447, 2867, 0.30),
    ("Tochigi", 36.566, 139.884, 1933, 0.25),
    ("Gunma", 36.391, 139.061, 1939, 0.25),
    ("Saitama", 35.857, 139.649, 7344, 0.20),
    ("Chiba", 35.605, 140.123, 6284, 0.25),
    ("Tokyo", 35.690, 139.692, 14047, 0.15),
    ("Kanagawa", 35.448, 139.642, 9237, 0.15),
    ("Niigata", 37.902, 139.023, 2201, 0.45),
    ("Toyama", 36.695, 137.211, 1034, 0.20),
    ("Ishikawa", 36.595, 136.626, 1132, 0.30),
    ("Fukui", 36.065, 136.222, 766, 0.25),
    ("Yamanashi", 35.664, 138.568, 809, 0.20),
    ("Nagano", 36.651, 138.181, 2048, 0.40),
    ("Gifu", 35.391, 136.722, 1978, 0.35),
    ("Shizuoka", 34.977, 138.383, 3633, 0.30),
    ("Aichi", 35.180, 136.907, 7542, 0.20),
    ("Mie", 34.730, 136.509, 1770, 0.30),
    ("Shiga", 35.004, 135.868, 1413, 0.20),
    ("Kyoto", 35.021, 135.756, 2578, 0.25),
    ("Osaka", 34.686, 135.520, 8837, 0.12),
    ("Hyogo", 34.691, 135.183, 5465, 0.30),
    ("Nara", 34.685, 135.833, 1324, 0.20),
    ("Wakayama", 34.226, 135.168, 922, 0.25),
    ("Tottori", 35.504, 134.238, 553, 0.25),
    ("Shimane", 35.472, 133.051, 671, 0.35),
    ("Okayama", 34.662, 133.935, 1888, 0.25),
    ("Hiroshima", 34.397, 132.460, 2799, 0.30),
    ("Yamaguchi", 34.186, 131.471, 1342, 0.30),
    ("Tokushima", 34.066, 134.559, 719, 0.20),
    ("Kagawa", 34.340, 134.043, 950, 0.15),
    ("Ehime", 33.842, 132.766, 1334, 0.30),
    ("Kochi", 33.560, 133.531, 691, 0.35),
    ("Fukuoka", 33.607, 130.418, 5135, 0.25),
    ("Saga", 33.249, 130.299, 811, 0.15),
    ("Nagasaki", 32.745, 129.874, 1312, 0.25),
    ("Kumamoto", 32.790, 130.742, 1738, 0.30),
    ("Oita", 33.238, 131.613, 1123, 0.30),
    ("Miyazaki", 31.911, 131.424, 1069, 0.30),
    ("Kagoshima", 31.560, 130.558, 1588, 0.35),
    ("Okinawa", 26.212, 127.681, 1467, 0.25),
)
_PREF_NAME = np.array([p[0] for p in PREFECTURES])
_PREF_LAT = np.array([p[1] for p in PREFECTURES])
_PREF_LON = np.array([p[2] for p in PREFECTURES])
_PREF_W = np.array([p[3] for p in PREFECTURES], dtype=float)
_PREF_W /= _PREF_W.sum()
_PREF_SPREAD = np.array([p[4] for p in PREFECTURES])
_PREF_INDEX = {p[0]: i for i, p in enumerate(PREFECTURES)}

# Core cities in ring order: down the Pacific side, up the Sea of Japan side.
_CORE_CITIES: tuple[tuple[str, str, float, float], ...] = (
    ("Hokkaido", "Sapporo", 43.062, 141.354),
    ("Miyagi", "Sendai", 38.268, 140.870),
    ("Tokyo", "Otemachi", 35.686, 139.766),
    ("Kanagawa", "Yokohama", 35.444, 139.638),
    ("Aichi", "Nagoya", 35.170, 136.882),
    ("Osaka", "Dojima", 34.696, 135.495),
    ("Kagawa", "Takamatsu", 34.343, 134.047),
    ("Fukuoka", "Hakata", 33.590, 130.420),
    ("Okinawa", "Naha", 26.212, 127.679),
    ("Kagoshima", "Kagoshima", 31.596, 130.557),
    ("Hiroshima", "Hiroshima", 34.385, 132.455),
    ("Kyoto", "Kyoto", 35.011, 135.768),
    ("Ishikawa", "Kanazawa", 36.561, 136.656),
    ("Niigata", "Niigata", 37.916, 139.036),
)

_BS_BATTERY = np.array([3.0, 4.0, 5.0, 6.0, 24.0, np.inf])
_BS_BATTERY_P = np.array([0.20, 0.30, 0.20, 0.18, 0.09, 0.03])
_AGG_BATTERY = np.array([6.0, 24.0, np.inf])
_AGG_BATTERY_P = np.array([0.2, 0.5, 0.3])


def _code(name: str, taken: set[str]) -> str:
    base = "".join(ch for ch in name.upper() if ch.isalnum())[:3] or "OP"
    code, k = base, 2
    while code in taken:
        code, k = f"{base}{k}", k + 1
    taken.add(code)
    return code


def _ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    return np.strings.add(prefix, np.strings.zfill(np.arange(n).astype("U"), width))


class _Builder:
    """Accumulates node and link arrays of all operators (global integer node indices)."""

    def __init__(self) -> None:
        self.n = 0
        self.nodes: list[dict[str, np.ndarray]] = []
        self.links: list[dict[str, np.ndarray]] = []

    def add_nodes(
        self,
        node_id: np.ndarray,
        kind: str,
        operator: str,
        name: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        pref: np.ndarray,
        subscribers: np.ndarray,
        battery: np.ndarray,
    ) -> np.ndarray:
        n = len(node_id)
        self.nodes.append(
            {
                "node_id": node_id,
                "kind": np.full(n, kind),
                "operator": np.full(n, operator),
                "name": name,
                "lat": lat,
                "lon": lon,
                "pref": pref.astype(np.int64),
                "subscribers": subscribers.astype(np.int64),
                "battery_hours": battery.astype(float),
            }
        )
        idx = np.arange(self.n, self.n + n)
        self.n += n
        return idx

    def add_links(
        self,
        a: np.ndarray,
        b: np.ndarray,
        medium: np.ndarray | str,
        capacity: np.ndarray | float,
        srlg: np.ndarray | str = "",
    ) -> None:
        n = len(a)
        if n == 0:
            return
        self.links.append(
            {
                "a": np.asarray(a, dtype=np.int64),
                "b": np.asarray(b, dtype=np.int64),
                "medium": np.broadcast_to(np.asarray(medium, dtype="U9"), (n,)),
                "capacity_mbps": np.broadcast_to(np.asarray(capacity, dtype=float), (n,)),
                "srlg": np.broadcast_to(np.asarray(srlg, dtype="U"), (n,)),
            }
        )


def _chains(rng: np.random.Generator, n: int, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n`` items into chains of 1..max_len: returns (chain id, position in chain)."""
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = rng.integers(1, max_len + 1, size=n)  # at most n chains are needed
    ends = np.cumsum(lengths)
    k = int(np.searchsorted(ends, n)) + 1
    lengths = lengths[:k]
    lengths[-1] -= int(ends[k - 1] - n)
    chain = np.repeat(np.arange(k), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return chain, np.arange(n) - starts[chain]


def _core_sites(n_core: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    m = len(_CORE_CITIES)
    pick = (np.arange(n_core) * m) // n_core if n_core <= m else np.arange(n_core) % m
    lap = np.arange(n_core) // m
    lat = np.array([_CORE_CITIES[i][2] for i in pick]) + lap * 0.02 * rng.standard_normal(n_core)
    lon = np.array([_CORE_CITIES[i][3] for i in pick]) + lap * 0.02 * rng.standard_normal(n_core)
    pref = np.array([_PREF_INDEX[_CORE_CITIES[i][0]] for i in pick])
    city = np.array([_CORE_CITIES[i][1] for i in pick])
    if n_core > m:  # second lap keeps ring order geographic: sort by the city position
        order = np.argsort(pick, kind="stable")
        lat, lon, pref, city = lat[order], lon[order], pref[order], city[order]
    return lat, lon, pref, city


def _mobile(
    B: _Builder,
    op: str,
    code: str,
    n: int,
    rng: np.random.Generator,
    dual_homed_share: float,
    spur_share: float,
    hidden_share: float,
) -> None:
    n_core = int(np.clip(round(n / 20000), 3, 28))
    n_agg = max(2, round(n / 30))
    n_bs = n - n_core - n_agg - 1  # one satellite gateway
    if n_bs < 1:
        raise ValueError(f"operator {op}: {n} sites are too few (need at least {n_core + 4})")

    # -- core ring with chords
    clat, clon, cpref, city = _core_sites(n_core, rng)
    core = B.add_nodes(
        _ids(f"{code}-C", n_core, 3), "core", op,
        np.strings.add(f"{op} core ", city), clat, clon, cpref,
        np.zeros(n_core), np.full(n_core, np.inf),
    )  # fmt: skip
    i = np.arange(n_core)
    B.add_links(core[i], core[(i + 1) % n_core], "fiber", 400000.0,
                np.strings.add(f"{code}-K", i.astype("U")))  # fmt: skip
    if n_core >= 6:
        ci = np.arange(0, n_core // 2, 2)
        shared = ci % 4 == 0  # some chords leave the building in the ring link's conduit
        B.add_links(core[ci], core[ci + n_core // 2], "fiber", 400000.0,
                    np.where(shared, np.strings.add(f"{code}-K", ci.astype("U")),
                             np.strings.add(f"{code}-KC", ci.astype("U"))))  # fmt: skip

    # -- satellite gateway next to the first core
    gw = B.add_nodes(np.array([f"{code}-G000"]), "satellite_gateway", op,
                     np.array([f"{op} satellite gateway"]), clat[:1] + 0.01, clon[:1] + 0.01,
                     cpref[:1], np.zeros(1), np.full(1, np.inf))  # fmt: skip
    B.add_links(gw, core[:1], "fiber", 100000.0, f"{code}-GW")

    # -- aggregation: rings of 8 closed over two neighbouring cores, plus two levels of trees
    ring_size = 8
    n_ring_agg = max(1, round(n_agg * 0.8))
    n_tree = n_agg - n_ring_agg
    ring_of = np.arange(n_ring_agg) // ring_size
    pos = np.arange(n_ring_agg) % ring_size
    n_rings = int(ring_of[-1]) + 1
    ring_len = np.bincount(ring_of)
    rpref = rng.choice(len(PREFECTURES), size=n_rings, p=_PREF_W)
    rlat = _PREF_LAT[rpref] + _PREF_SPREAD[rpref] * rng.standard_normal(n_rings) * 0.7
    rlon = _PREF_LON[rpref] + _PREF_SPREAD[rpref] * rng.standard_normal(n_rings) * 0.7
    d2 = (rlat[:, None] - clat[None, :]) ** 2 + (rlon[:, None] - clon[None, :]) ** 2
    home = np.argmin(d2, axis=1)
    prev, nxt = (home - 1) % n_core, (home + 1) % n_core
    rr = np.arange(n_rings)
    second = np.where(d2[rr, prev] < d2[rr, nxt], prev, nxt)

    tree_parent = np.zeros(n_tree, np.int64)  # local agg index
    half = (n_tree + 1) // 2
    tree_parent[:half] = rng.integers(0, n_ring_agg, size=half)
    if n_tree > half:
        tree_parent[half:] = n_ring_agg + rng.integers(0, half, size=n_tree - half)
    alat = np.empty(n_agg)
    alon = np.empty(n_agg)
    apref = np.empty(n_agg, np.int64)
    sp = _PREF_SPREAD[rpref[ring_of]]
    alat[:n_ring_agg] = rlat[ring_of] + 0.35 * sp * rng.standard_normal(n_ring_agg)
    alon[:n_ring_agg] = rlon[ring_of] + 0.35 * sp * rng.standard_normal(n_ring_agg)
    apref[:n_ring_agg] = rpref[ring_of]
    for lo, hi in ((0, half), (half, n_tree)):  # two tree levels, each one vectorised step
        t = n_ring_agg + np.arange(lo, hi)
        p = tree_parent[lo:hi]
        alat[t] = alat[p] + 0.08 * rng.standard_normal(hi - lo)
        alon[t] = alon[p] + 0.08 * rng.standard_normal(hi - lo)
        apref[t] = apref[p]
    agg_battery = rng.choice(_AGG_BATTERY, size=n_agg, p=_AGG_BATTERY_P)
    agg = B.add_nodes(
        _ids(f"{code}-A", n_agg, 6), "aggregation", op,
        np.strings.add(f"{op} aggregation ", np.arange(n_agg).astype("U")),
        alat, alon, apref, np.zeros(n_agg), agg_battery,
    )  # fmt: skip
    j = np.arange(n_ring_agg)
    inner = pos > 0
    hidden_ring = rng.random(n_rings) < hidden_share
    B.add_links(agg[j[inner] - 1], agg[j[inner]], "fiber", 100000.0,
                np.strings.add(f"{code}-D", j[inner].astype("U")))  # fmt: skip
    first = np.flatnonzero(pos == 0)
    last = np.flatnonzero(pos == ring_len[ring_of] - 1)
    ru = rr.astype("U")
    B.add_links(agg[first], core[home], "fiber", 100000.0,
                np.where(hidden_ring, np.strings.add(f"{code}-U", ru),
                         np.strings.add(np.strings.add(f"{code}-U", ru), "a")))  # fmt: skip
    B.add_links(agg[last], core[second], "fiber", 100000.0,
                np.where(hidden_ring, np.strings.add(f"{code}-U", ru),
                         np.strings.add(np.strings.add(f"{code}-U", ru), "b")))  # fmt: skip
    tree_mw = rng.random(n_tree) < 0.2
    B.add_links(agg[tree_parent], agg[n_ring_agg + np.arange(n_tree)],
                np.where(tree_mw, "microwave", "fiber"), np.where(tree_mw, 2000.0, 10000.0))  # fmt: skip
    # the agg a base station dual-homes to: ring neighbour, or the tree parent
    neighbour = np.empty(n_agg, np.int64)
    neighbour[:n_ring_agg] = np.where(pos < ring_len[ring_of] - 1, j + 1, j - 1)
    neighbour[:n_ring_agg][ring_len[ring_of] == 1] = -1
    neighbour[n_ring_agg:] = tree_parent

    # -- base stations: homed ones on aggregation, spurs in microwave chains behind them
    spur = rng.random(n_bs) < spur_share
    spur[0] = False
    homed = np.flatnonzero(~spur)
    spurs = np.flatnonzero(spur)
    blat = np.empty(n_bs)
    blon = np.empty(n_bs)
    bpref = np.empty(n_bs, np.int64)
    prim = rng.integers(0, n_agg, size=len(homed))
    blat[homed] = alat[prim] + 0.05 * rng.standard_normal(len(homed))
    blon[homed] = alon[prim] + 0.05 * rng.standard_normal(len(homed))
    bpref[homed] = apref[prim]
    chain, cpos = _chains(rng, len(spurs), 4)
    n_chains = int(chain[-1]) + 1 if len(spurs) else 0
    hub = homed[rng.integers(0, len(homed), size=n_chains)]
    angle = rng.uniform(0, 2 * math.pi, size=n_chains)
    step = 0.03 * (cpos + 1)
    blat[spurs] = blat[hub[chain]] + step * np.sin(angle[chain])
    blon[spurs] = blon[hub[chain]] + step * np.cos(angle[chain])
    bpref[spurs] = bpref[hub[chain]]
    battery = rng.choice(_BS_BATTERY, size=n_bs, p=_BS_BATTERY_P)
    subs = np.minimum(rng.lognormal(6.6, 0.8, size=n_bs), 20000).astype(np.int64)
    bs = B.add_nodes(
        _ids(f"{code}-B", n_bs), "base_station", op,
        np.strings.add(f"{op} BS ", np.arange(n_bs).astype("U")),
        blat, blon, bpref, subs, battery,
    )  # fmt: skip
    fib = rng.random(len(homed)) < 0.8
    dual = (rng.random(len(homed)) < dual_homed_share) & (neighbour[prim] >= 0)
    pole = dual & (rng.random(len(homed)) < hidden_share)
    pole_id = np.where(pole, np.strings.add(f"{code}-P", homed.astype("U")), "")
    B.add_links(agg[prim], bs[homed], np.where(fib, "fiber", "microwave"),
                np.where(fib, 10000.0, 1000.0), pole_id)  # fmt: skip
    d = np.flatnonzero(dual)
    fib2 = rng.random(len(d)) < 0.5
    B.add_links(agg[neighbour[prim[d]]], bs[homed[d]], np.where(fib2, "fiber", "microwave"),
                np.where(fib2, 10000.0, 1000.0), pole_id[d])  # fmt: skip
    parent = np.where(cpos == 0, hub[chain], np.r_[0, spurs[:-1]] if len(spurs) else 0)
    B.add_links(bs[parent], bs[spurs], "microwave", 1000.0)
    # satellite backup on some chain tails
    if len(spurs):
        tail = np.r_[cpos[1:] == 0, True]
        sat = tail & (rng.random(len(spurs)) < 0.1)
        B.add_links(np.full(int(sat.sum()), gw[0]), bs[spurs[sat]], "satellite", 200.0)


def _cable(
    B: _Builder, op: str, code: str, n: int, rng: np.random.Generator, hidden_share: float
) -> None:
    n_he = max(2, n // 1500)
    n_on = max(1, round(0.3 * (n - 2 - n_he)))
    n_rel = n - 2 - n_he - n_on
    if n_rel < 0:
        raise ValueError(f"cable operator {op}: {n} sites are too few")
    tokyo, osaka = _CORE_CITIES[2], _CORE_CITIES[5]
    core = B.add_nodes(
        np.array([f"{code}-C000", f"{code}-C001"]), "core", op,
        np.array([f"{op} core {tokyo[1]}", f"{op} core {osaka[1]}"]),
        np.array([tokyo[2], osaka[2]]) + 0.01, np.array([tokyo[3], osaka[3]]) + 0.01,
        np.array([_PREF_INDEX[tokyo[0]], _PREF_INDEX[osaka[0]]]), np.zeros(2), np.full(2, np.inf),
    )  # fmt: skip
    B.add_links(core[:1], core[1:], "fiber", 400000.0, f"{code}-K0")
    B.add_links(core[:1], core[1:], "fiber", 400000.0, f"{code}-K1")
    hpref = rng.choice(len(PREFECTURES), size=n_he, p=_PREF_W)
    hlat = _PREF_LAT[hpref] + 0.5 * _PREF_SPREAD[hpref] * rng.standard_normal(n_he)
    hlon = _PREF_LON[hpref] + 0.5 * _PREF_SPREAD[hpref] * rng.standard_normal(n_he)
    he = B.add_nodes(
        _ids(f"{code}-H", n_he, 4), "cable_headend", op,
        np.strings.add(f"{op} headend ", np.arange(n_he).astype("U")),
        hlat, hlon, hpref, np.zeros(n_he), np.full(n_he, np.inf),
    )  # fmt: skip
    hidden = rng.random(n_he) < hidden_share
    hu = np.arange(n_he).astype("U")
    B.add_links(core[0] + np.zeros(n_he, np.int64), he, "fiber", 100000.0,
                np.where(hidden, np.strings.add(f"{code}-U", hu),
                         np.strings.add(np.strings.add(f"{code}-U", hu), "a")))  # fmt: skip
    B.add_links(core[1] + np.zeros(n_he, np.int64), he, "fiber", 100000.0,
                np.where(hidden, np.strings.add(f"{code}-U", hu),
                         np.strings.add(np.strings.add(f"{code}-U", hu), "b")))  # fmt: skip
    ph = rng.integers(0, n_he, size=n_on)
    olat = hlat[ph] + 0.06 * rng.standard_normal(n_on)
    olon = hlon[ph] + 0.06 * rng.standard_normal(n_on)
    on = B.add_nodes(
        _ids(f"{code}-O", n_on), "optical_node", op,
        np.strings.add(f"{op} optical node ", np.arange(n_on).astype("U")),
        olat, olon, hpref[ph], rng.integers(50, 200, size=n_on), np.full(n_on, 4.0),
    )  # fmt: skip
    trunk = np.strings.add(np.strings.add(f"{code}-T", ph.astype("U")),
                           np.strings.add("-", (np.arange(n_on) // 8).astype("U")))  # fmt: skip
    B.add_links(he[ph], on, "fiber", 10000.0, trunk)
    dual = np.flatnonzero(rng.random(n_on) < 0.25)
    other = (ph[dual] + 1 + rng.integers(0, n_he - 1, size=len(dual))) % n_he
    B.add_links(he[other], on[dual], "fiber", 10000.0,
                np.strings.add(f"{code}-T", other.astype("U")))  # fmt: skip
    chain, cpos = _chains(rng, n_rel, 4)
    n_chains = int(chain[-1]) + 1 if n_rel else 0
    hub = rng.integers(0, n_on, size=n_chains)
    rlat = olat[hub[chain]] + 0.004 * (cpos + 1) * rng.standard_normal(n_rel)
    rlon = olon[hub[chain]] + 0.004 * (cpos + 1) * rng.standard_normal(n_rel)
    rel = B.add_nodes(
        _ids(f"{code}-R", n_rel), "relay", op,
        np.strings.add(f"{op} coax amplifier ", np.arange(n_rel).astype("U")),
        rlat, rlon, hpref[ph[hub[chain]]], rng.integers(100, 400, size=n_rel),
        np.full(n_rel, 2.0),
    )  # fmt: skip
    parent = np.where(cpos == 0, on[hub[chain]], np.r_[0, rel[:-1]] if n_rel else 0)
    B.add_links(parent, rel, "coax", 1000.0)


def _cells(pref: np.ndarray, lat: np.ndarray, lon: np.ndarray, size: float) -> np.ndarray:
    return (
        pref.astype(np.int64) * 10**8
        + np.floor(lat / size).astype(np.int64) * 10**4
        + np.floor(lon / size).astype(np.int64)
    )


def _cell_names(keys: np.ndarray, fmt: str) -> np.ndarray:
    uniq, inv = np.unique(keys, return_inverse=True)
    names = np.array(
        [
            fmt.format(pref=_PREF_NAME[k // 10**8], p=k // 10**8 + 1, y=(k // 10**4) % 10**4,
                       x=k % 10**4)  # fmt: skip
            for k in uniq.tolist()
        ]
    )
    return names[inv]


def _status(
    nodes: pd.DataFrame,
    links: pd.DataFrame,
    start: datetime,
    rng: np.random.Generator,
    feeder_off_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n = len(nodes)
    feeds, feed_idx = np.unique(nodes["power_feed"].to_numpy(dtype="U"), return_inverse=True)
    n_off = max(1, round(feeder_off_share * len(feeds)))
    off = np.zeros(len(feeds), bool)
    off[rng.choice(len(feeds), size=min(n_off, len(feeds)), replace=False)] = True
    restore = iso_array(start, rng.integers(2, 9, size=len(feeds)) * 3600)
    power = pd.DataFrame(
        {
            "observed_at": iso_array(start, np.zeros(len(feeds), np.int64)),
            "power_feed": feeds,
            "state": np.where(off, "off", "on"),
            "expected_restore_at": pd.array(np.where(off, restore, None), dtype="str"),
        }
    )

    battery = nodes["battery_hours"].to_numpy()
    u = rng.random(n)
    on_battery = off[feed_idx] | (u < 0.005)
    generator = np.isinf(battery)
    remaining = np.round(battery * 60 * rng.uniform(0.2, 1.0, size=n))
    exhausted = on_battery & ~generator & (battery == 0)
    pw = np.where(on_battery, np.where(generator, "generator", "battery"), "grid")
    pw = np.where(exhausted, "none", pw)
    state = np.where(exhausted, "down", "up")
    equip_down = (u >= 0.005) & (u < 0.008)
    degraded = (u >= 0.008) & (u < 0.013)
    state = np.where(equip_down, "down", np.where(degraded & (state == "up"), "degraded", state))
    rem = np.where((pw == "battery"), remaining, np.nan)
    rem = np.where(pw == "none", 0.0, rem)
    node_status = pd.DataFrame(
        {
            "observed_at": iso_array(start, rng.integers(0, 300, size=n)),
            "node_id": nodes["node_id"].to_numpy(),
            "state": state,
            "power": pw,
            "battery_remaining_min": rem,
        }
    )

    m = len(links)
    srlg = links["srlg"].to_numpy(dtype="U")
    groups = np.unique(srlg[srlg != ""])
    down = rng.random(m) < 0.002
    if len(groups):
        cut = rng.choice(groups, size=min(2, len(groups)), replace=False)
        down |= np.isin(srlg, cut)
    link_status = pd.DataFrame(
        {
            "observed_at": iso_array(start, rng.integers(0, 300, size=m)),
            "link_id": links["link_id"].to_numpy(),
            "state": np.where(down, "down", "up"),
        }
    )
    return node_status, link_status, power


def generate_synthetic(
    sites: int,
    seed: int = 0,
    operators: Sequence[str] = MOBILE_OPERATORS,
    start: datetime = DEFAULT_START,
    *,
    cable_operators: Sequence[str] = CABLE_OPERATORS,
    cable_share: float = 0.1,
    dual_homed_share: float = 0.5,
    spur_share: float = 0.15,
    hidden_share: float = 0.05,
    feeder_off_share: float = 0.005,
) -> SyntheticNetwork:
    """Generate a national operator network with ``sites`` nodes and one status snapshot.

    Parameters
    ----------
    sites : int
        Total number of nodes (all kinds, all operators), at least 100.
    seed : int
        Seed of the random generator: the same arguments give the same frames (and bytes).
    operators : sequence of str
        Mobile operators; sites are split between them 40/30/20/10-like (weights 4, 3, 2, 1...).
    start : datetime
        Aware time of the status snapshot (status rows are jittered up to 5 minutes after it).
    cable_operators : sequence of str
        Cable-TV operators (headend, optical nodes, coax amplifiers); may be empty.
    cable_share : float
        Share of sites belonging to the cable operators.
    dual_homed_share : float
        Share of (non-spur) base stations with a second uplink to another aggregation site.
    spur_share : float
        Share of base stations on microwave spurs (chains behind another base station).
    hidden_share : float
        Share of redundant pairs (ring uplinks, dual-homed base stations, headend uplinks) whose
        two links share one shared-risk group: hidden single points of failure.
    feeder_off_share : float
        Share of power feeds reported off in the snapshot (at least one).

    Returns
    -------
    SyntheticNetwork
        ``nodes``, ``links``, ``node_status``, ``link_status``, ``power_status`` DataFrames with
        the contract columns.

    Notes
    -----
    Vectorised: O(sites) numpy work, no Python loop per site; 1,000,000 sites in a few seconds.

    Examples
    --------
    >>> net = generate_synthetic(2000, seed=3, operators=("docomo",), cable_operators=())
    >>> net.nodes["operator"].unique().tolist()
    ['docomo']
    >>> set(net.links["a"]).union(net.links["b"]) <= set(net.nodes["node_id"])
    True
    """
    if sites < 100:
        raise ValueError("sites must be at least 100")
    if start.utcoffset() is None:
        raise ValueError("start must be an aware datetime (ISO 8601 with an offset)")
    rng = np.random.default_rng(seed)
    ops = list(operators)
    cables = list(cable_operators)
    if not ops and not cables:
        raise ValueError("at least one operator is needed")
    n_cable = round(sites * cable_share) if cables else 0
    if not ops:
        n_cable = sites
    n_mobile = sites - n_cable
    taken: set[str] = set()
    B = _Builder()
    if ops:
        w = np.array([max(1, len(ops) - k) for k in range(len(ops))], dtype=float)
        share = np.floor(n_mobile * w / w.sum()).astype(int)
        share[0] += n_mobile - share.sum()
        for op, n in zip(ops, share, strict=True):
            _mobile(B, op, _code(op, taken), int(n), rng, dual_homed_share, spur_share,
                    hidden_share)  # fmt: skip
    if cables:
        cshare = np.full(len(cables), n_cable // len(cables))
        cshare[0] += n_cable - cshare.sum()
        for op, n in zip(cables, cshare, strict=True):
            _cable(B, op, _code(op, taken), int(n), rng, hidden_share)

    cat = {k: np.concatenate([p[k] for p in B.nodes]) for k in B.nodes[0]}
    lat = np.clip(cat["lat"], 24.0, 45.6)
    lon = np.clip(cat["lon"], 122.9, 145.9)
    pref = cat["pref"]
    nodes = pd.DataFrame(
        {
            "node_id": cat["node_id"],
            "kind": cat["kind"],
            "operator": cat["operator"],
            "name": cat["name"],
            "lat": np.round(lat, 5),
            "lon": np.round(lon, 5),
            "prefecture": _PREF_NAME[pref],
            "municipality": _cell_names(_cells(pref, lat, lon, 0.1), "{pref}-{y:03d}{x:04d}"),
            "subscribers": cat["subscribers"],
            "battery_hours": cat["battery_hours"],
            "power_feed": _cell_names(_cells(pref, lat, lon, 0.05), "F{p:02d}-{y:03d}{x:04d}"),
        },
        columns=list(NODE_COLUMNS),
    )
    lk = {k: np.concatenate([p[k] for p in B.links]) for k in B.links[0]}
    ids = cat["node_id"]
    links = pd.DataFrame(
        {
            "link_id": _ids("L", len(lk["a"]), 8),
            "a": ids[lk["a"]],
            "b": ids[lk["b"]],
            "medium": lk["medium"],
            "capacity_mbps": lk["capacity_mbps"],
            "srlg": lk["srlg"],
        },
        columns=list(LINK_COLUMNS),
    )
    node_status, link_status, power = _status(nodes, links, start, rng, feeder_off_share)
    return SyntheticNetwork(
        nodes=nodes,
        links=links,
        node_status=node_status[list(NODE_STATUS_COLUMNS)],
        link_status=link_status[list(LINK_STATUS_COLUMNS)],
        power_status=power[list(POWER_STATUS_COLUMNS)],
        observed_at=start,
    )


def write_synthetic(net: SyntheticNetwork, out_dir: str | Path) -> dict[str, Path]:
    """Write ``nodes.csv``, ``links.csv``, ``status.csv``, ``link_status.csv``, ``power.csv``.

    Parameters
    ----------
    net : SyntheticNetwork
        From :func:`generate_synthetic` (or any frames with the contract columns).
    out_dir : str or Path
        Created if missing; existing files of the same names are replaced.

    Returns
    -------
    dict
        Feed name (``nodes``, ``links``, ``status``, ``link_status``, ``power``) to path.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_synthetic(generate_synthetic(500, seed=1), tempfile.mkdtemp())
    >>> sorted(p.name for p in paths.values())
    ['link_status.csv', 'links.csv', 'nodes.csv', 'power.csv', 'status.csv']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "nodes": net.nodes,
        "links": net.links,
        "status": net.node_status,
        "link_status": net.link_status,
        "power": net.power_status,
    }
    return {k: write_csv(df, out / f"{k}.csv") for k, df in frames.items()}


def write_status_update(
    net: SyntheticNetwork,
    out_dir: str | Path,
    fraction: float = 0.01,
    at: datetime | None = None,
    seed: int = 1,
) -> Path:
    """Write a status feed that changes ``fraction`` of the sites (incremental re-analysis).

    The chosen sites get a new state: back to grid, on battery, down with power gone, or
    degraded. Rows are stamped ``at`` (default: five minutes after the snapshot).

    Parameters
    ----------
    net : SyntheticNetwork
        The network whose snapshot is updated.
    out_dir : str or Path
        Directory of the new file ``status_update_<YYYYmmddTHHMMSS>.csv``.
    fraction : float
        Share of nodes with a row in the update (0 < fraction <= 1).
    at : datetime, optional
        Aware time of the update.
    seed : int
        Seed choosing the sites and their new states.

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> net = generate_synthetic(1000, seed=1)
    >>> p = write_status_update(net, tempfile.mkdtemp(), fraction=0.05)
    >>> len(pd.read_csv(p))
    50
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    at = at or net.observed_at + timedelta(minutes=5)
    if at.utcoffset() is None:
        raise ValueError("at must be an aware datetime")
    rng = np.random.default_rng(seed)
    n = len(net.nodes)
    k = max(1, round(fraction * n))
    pick = np.sort(rng.choice(n, size=k, replace=False))
    battery = net.nodes["battery_hours"].to_numpy()[pick]
    r = rng.random(k)
    state = np.where(r < 0.15, "down", np.where(r < 0.30, "degraded", "up"))
    power = np.where(r < 0.15, "none", np.where(r < 0.60, "battery", "grid"))
    power = np.where((power == "battery") & np.isinf(battery), "generator", power)
    rem = np.where(power == "battery", np.round(battery * 60 * rng.uniform(0.1, 1, k)), np.nan)
    rem = np.where(power == "none", 0.0, rem)
    df = pd.DataFrame(
        {
            "observed_at": np.full(k, iso(at)),
            "node_id": net.nodes["node_id"].to_numpy()[pick],
            "state": state,
            "power": power,
            "battery_remaining_min": rem,
        }
    )
    out = Path(out_dir)
    return write_csv(df, out / f"status_update_{at.strftime('%Y%m%dT%H%M%S')}.csv")
