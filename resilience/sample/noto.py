"""The Noto peninsula and Kanazawa (Ishikawa prefecture) sample network, deterministic by seed.

Four mobile operators (docomo, KDDI, SoftBank, Rakuten) and one cable-TV operator. Core sites
are in Kanazawa; every operator has an aggregation site in each town (17 towns); fibre between
towns follows the real roads (coastal National Route 249, the mountain passes, the Noto
Satoyama Kaido), and every such route is a shared-risk group common to all operators (one
conduit along one road). About 1,500 base stations are placed by population and area (2020
census, town-hall coordinates): dual-homed in towns, single-homed on local fibre along the roads
or on microwave spurs along the coast. Battery mostly 3-6 h, 24 h or a generator at the sites
serving a municipal office. The cable operator has headends in Kanazawa, Hakui, Nanao, Wajima
and Suzu, optical nodes on the same roads and coax amplifier cascades.

Names are Japanese (``輪島市 基地局 12``); municipalities stay romaji (``Wajima``).

Example
-------
>>> net = generate_noto(seed=0)
>>> n_bs = int((net.nodes["kind"] == "base_station").sum())
>>> 1300 < n_bs < 1700
True
>>> sorted(net.nodes["operator"].unique())
['KDDI', 'NotoCATV', 'Rakuten', 'SoftBank', 'docomo']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.sample._common import JST, SyntheticNetwork, iso
from resilience.topology.model import (
    LINK_COLUMNS,
    LINK_STATUS_COLUMNS,
    NODE_COLUMNS,
    NODE_STATUS_COLUMNS,
    POWER_STATUS_COLUMNS,
)

__all__ = [
    "NotoNetwork",
    "generate_noto",
    "write_noto",
    "MUNICIPALITIES",
    "TOWNS",
    "ROUTES",
    "MOBILE_OPERATORS",
    "CABLE_OPERATOR",
    "NOTO_START",
]

NOTO_START = datetime(2024, 1, 1, 16, 0, tzinfo=JST)

# romaji, Japanese, population (2020), town hall lat, lon, area km2
MUNICIPALITIES: tuple[tuple[str, str, int, float, float, float], ...] = (
    ("Wajima", "輪島市", 24600, 37.390, 136.899, 426.3),
    ("Suzu", "珠洲市", 12900, 37.437, 137.260, 247.2),
    ("Noto", "能登町", 15700, 37.306, 137.150, 273.3),
    ("Anamizu", "穴水町", 7900, 37.231, 136.912, 183.2),
    ("Nanao", "七尾市", 50300, 37.043, 136.967, 318.3),
    ("Shika", "志賀町", 18600, 37.006, 136.778, 246.8),
    ("Nakanoto", "中能登町", 16600, 36.989, 136.899, 89.5),
    ("Hakui", "羽咋市", 20400, 36.894, 136.779, 81.9),
    ("Hodatsushimizu", "宝達志水町", 12400, 36.862, 136.797, 111.5),
    ("Kanazawa", "金沢市", 463000, 36.561, 136.656, 468.8),
)
_MUNI = {m[0]: m for m in MUNICIPALITIES}

# town key, municipality, Japanese name, lat, lon, share of the municipality's sites
TOWNS: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("K1", "Kanazawa", "金沢駅西", 36.578, 136.645, 0.40),
    ("K2", "Kanazawa", "金沢東", 36.556, 136.690, 0.35),
    ("K3", "Kanazawa", "金沢北", 36.615, 136.640, 0.25),
    ("HD", "Hodatsushimizu", "宝達志水", 36.862, 136.797, 1.0),
    ("HK", "Hakui", "羽咋", 36.894, 136.779, 1.0),
    ("NK", "Nakanoto", "中能登", 36.989, 136.899, 1.0),
    ("SK", "Shika", "志賀", 37.006, 136.778, 0.55),
    ("TG", "Shika", "富来", 37.140, 136.730, 0.45),
    ("NN", "Nanao", "七尾", 37.043, 136.967, 0.75),
    ("NJ", "Nanao", "能登島", 37.115, 136.975, 0.25),
    ("AN", "Anamizu", "穴水", 37.231, 136.912, 1.0),
    ("WJ", "Wajima", "輪島", 37.390, 136.899, 0.65),
    ("MZ", "Wajima", "門前", 37.285, 136.770, 0.35),
    ("NO", "Noto", "宇出津", 37.306, 137.150, 0.6),
    ("YN", "Noto", "柳田", 37.350, 137.050, 0.4),
    ("SZ", "Suzu", "飯田", 37.437, 137.260, 0.6),
    ("OT", "Suzu", "大谷", 37.450, 137.140, 0.4),
)
_TOWN = {t[0]: t for t in TOWNS}

# fibre routes between towns: (a, b, shared-risk group ids along the road)
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("K1", "K3", "KNZ-Ring-N"),
    ("K2", "K1", "KNZ-Ring-S"),
    ("K3", "HD", "R159-Tsubata;R249-Uchinada"),
    ("K2", "NK", "R159-Tsubata;R159-Oguchi"),
    ("HD", "HK", "R249-Hodatsu"),
    ("HK", "NK", "R159-Ouchi"),
    ("HK", "SK", "R249-Togi-Coast-S"),
    ("NK", "NN", "R159-Nanao"),
    ("SK", "TG", "R249-Togi-Coast-N"),
    ("SK", "NN", "Pass-Shika-Nanao"),
    ("TG", "MZ", "R249-Monzen-Coast"),
    ("MZ", "WJ", "R249-Monzen-Wajima"),
    ("MZ", "AN", "Pass-Monzen-Anamizu"),
    ("NN", "NJ", "Bridge-Notojima"),
    ("NN", "AN", "R249-Nanao-Anamizu"),
    ("AN", "WJ", "Pass-Anamizu-Wajima"),
    ("AN", "NO", "R249-Anamizu-Ushitsu"),
    ("NO", "YN", "Pass-Ushitsu-Yanagida"),
    ("YN", "WJ", "Pass-Yanagida-Wajima"),
    ("NO", "SZ", "R249-Ushitsu-Suzu"),
    ("SZ", "OT", "R249-Sosogi-E"),
    ("OT", "WJ", "R249-Sosogi-W"),
    ("K1", "AN", "Satoyama-Kaido-S;Satoyama-Kaido-N"),
)

MOBILE_OPERATORS: tuple[tuple[str, str, str, float], ...] = (
    # name, id code, Japanese, market share (2023, rounded)
    ("docomo", "DCM", "ドコモ", 0.35),
    ("KDDI", "KDI", "au", 0.30),
    ("SoftBank", "SBM", "ソフトバンク", 0.24),
    ("Rakuten", "RKT", "楽天モバイル", 0.11),
)
CABLE_OPERATOR = ("NotoCATV", "CTV", "能登ケーブル")

_BS_TOTAL = 1500
_OP_SITE_SHARE = {"docomo": 0.31, "KDDI": 0.29, "SoftBank": 0.25, "Rakuten": 0.15}
_KM_LAT = 111.0
_KM_LON = 111.0 * math.cos(math.radians(37.0))


@dataclass
class NotoNetwork(SyntheticNetwork):
    """A :class:`SyntheticNetwork` plus per-node facts the 2024 replay uses.

    Attributes
    ----------
    meta : pandas.DataFrame
        ``node_id, town, sector, office`` (``town``: the town key of :data:`TOWNS` a site hangs
        off; ``sector``: local road 0-5 out of town, -1 in town; ``office``: serves a municipal
        office). Not part of the inventory files.
    """

    meta: pd.DataFrame = field(default_factory=pd.DataFrame)


class _Acc:
    def __init__(self) -> None:
        self.nodes: list[dict[str, object]] = []
        self.links: list[dict[str, object]] = []
        self.meta: list[dict[str, object]] = []

    def node(self, node_id: str, kind: str, op: str, name: str, lat: float, lon: float,
             muni: str, subs: int, battery: float, feed: str, town: str, sector: int = -1,
             office: bool = False) -> str:  # fmt: skip
        self.nodes.append(
            {"node_id": node_id, "kind": kind, "operator": op, "name": name,
             "lat": round(lat, 5), "lon": round(lon, 5), "prefecture": "Ishikawa",
             "municipality": muni, "subscribers": int(subs), "battery_hours": float(battery),
             "power_feed": feed}  # fmt: skip
        )
        self.meta.append({"node_id": node_id, "town": town, "sector": sector, "office": office})
        return node_id

    def link(self, a: str, b: str, medium: str, cap: float, srlg: str = "") -> None:
        self.links.append({"a": a, "b": b, "medium": medium, "capacity_mbps": cap, "srlg": srlg})


def _sector(dlat_km: float, dlon_km: float) -> int:
    return int(((math.atan2(dlat_km, dlon_km) + math.pi) / (2 * math.pi)) * 6) % 6


def _feed(town: str, sector: int) -> str:
    return f"HR-{town}-{sector + 1}"


def _town_neighbours() -> dict[str, list[str]]:
    nb: dict[str, list[str]] = {t[0]: [] for t in TOWNS}
    for a, b, _ in ROUTES:
        nb[a].append(b)
        nb[b].append(a)
    return nb


def generate_noto(seed: int = 0, start: datetime = NOTO_START) -> NotoNetwork:
    """Generate the Noto + Kanazawa network with an all-normal status snapshot at ``start``.

    Parameters
    ----------
    seed : int
        Seed of the random placement and homing; same seed, same frames (and bytes).
    start : datetime
        Aware time of the snapshot (default 2024-01-01 16:00 JST, ten minutes before the quake).

    Returns
    -------
    NotoNetwork
        Contract frames plus ``meta`` (town, local road sector, municipal-office flag).

    Examples
    --------
    >>> net = generate_noto()
    >>> net.nodes.set_index("node_id").loc["DCM-WJ-B000", "municipality"]
    'Wajima'
    >>> bool((net.node_status["power"] == "grid").all())
    True
    """
    rng = np.random.default_rng(seed)
    acc = _Acc()
    nb = _town_neighbours()
    pop_total = sum(m[2] for m in MUNICIPALITIES)
    area_total = sum(m[5] for m in MUNICIPALITIES)

    for op, code, op_ja, market in MOBILE_OPERATORS:
        # cores: two buildings in Kanazawa
        cores = [
            acc.node(f"{code}-KNZ-C{i}", "core", op, f"{op_ja} 金沢コア局 {'AB'[i]}",
                     36.571 + 0.01 * i, 136.652 + 0.012 * i, "Kanazawa", 0, math.inf,
                     _feed("K1", -1), "K1")  # fmt: skip
            for i in range(2)
        ]
        acc.link(cores[0], cores[1], "fiber", 400000.0, f"{code}-KNZ-Core-1")
        acc.link(cores[0], cores[1], "fiber", 400000.0, f"{code}-KNZ-Core-2")
        gw = acc.node(f"{code}-KNZ-G0", "satellite_gateway", op, f"{op_ja} 衛星ゲートウェイ",
                      36.590, 136.600, "Kanazawa", 0, math.inf, _feed("K3", 3), "K3")  # fmt: skip
        acc.link(gw, cores[1], "fiber", 100000.0)
        agg: dict[str, str] = {}
        for key, muni, ja, lat, lon, _ in TOWNS:
            battery = math.inf if muni == "Kanazawa" or rng.random() < 0.7 else 24.0
            agg[key] = acc.node(
                f"{code}-{key}-A0", "aggregation", op, f"{op_ja} {ja} 集約局",
                lat + 0.002 * rng.standard_normal(), lon + 0.002 * rng.standard_normal(),
                muni, 0, battery, _feed(key, -1), key,
            )  # fmt: skip
        for k in ("K1", "K2", "K3"):
            for c, core in enumerate(cores):
                acc.link(core, agg[k], "fiber", 400000.0, f"{code}-KNZ-{k}-{c}")
        for a, b, srlg in ROUTES:
            if a == "K1" and b == "AN" and op not in ("docomo", "KDDI"):
                continue  # only the two largest lease the express-way fibre
            acc.link(agg[a], agg[b], "fiber", 100000.0, srlg)

        # base stations per municipality (population and area), split over its towns
        share = _OP_SITE_SHARE[op]
        for muni, ja, pop, hlat, hlon, area in MUNICIPALITIES:
            weight = 0.3 * pop / pop_total + 0.7 * area / area_total
            n_muni = max(2, round(_BS_TOTAL * share * weight))
            subs_each = pop * market * 1.1 / n_muni
            towns = [t for t in TOWNS if t[1] == muni]
            radius = math.sqrt(area / math.pi)
            k = 0
            placed: list[tuple[str, float, float]] = []
            for key, _, _town_ja, tlat, tlon, tshare in towns:
                n = max(1, round(n_muni * tshare))
                r_town = radius * math.sqrt(tshare) * 0.95
                rural_hubs: list[str] = []
                for _i in range(n):
                    rr = r_town * math.sqrt(rng.random())
                    th = rng.uniform(0, 2 * math.pi)
                    dy, dx = rr * math.sin(th), rr * math.cos(th)
                    lat, lon = tlat + dy / _KM_LAT, tlon + dx / _KM_LON
                    in_town = rr < 2.5 or muni == "Kanazawa"
                    sector = -1 if in_town else _sector(dy, dx)
                    feed = _feed(key, -1 if rr < 2.5 else _sector(dy, dx))
                    battery = float(rng.choice([3.0, 4.0, 5.0, 6.0], p=[0.25, 0.3, 0.25, 0.2]))
                    if rng.random() < 0.04:
                        battery = 24.0
                    nid = acc.node(
                        f"{code}-{key}-B{k:03d}", "base_station", op, f"{ja} 基地局 {k + 1}",
                        lat, lon, muni, round(subs_each * rng.uniform(0.5, 1.5)), battery,
                        feed, key, sector,
                    )  # fmt: skip
                    placed.append((nid, lat, lon))
                    k += 1
                    if in_town:
                        other = nb[key][0]
                        route = next(s for a, b, s in ROUTES if {a, b} == {key, other})
                        acc.link(agg[key], nid, "fiber", 10000.0, f"Local-{key}-0")
                        if rng.random() < 0.1:  # hidden: both uplinks in the town conduit
                            route = f"{route};Local-{key}-0"
                        acc.link(agg[other], nid, "fiber", 10000.0, route)
                    elif rural_hubs and rng.random() < 0.35:
                        hub = rural_hubs[int(rng.integers(len(rural_hubs)))]
                        acc.link(hub, nid, "microwave", 1000.0)
                    else:
                        acc.link(agg[key], nid, "fiber", 10000.0, f"Local-{key}-{sector + 1}")
                        rural_hubs.append(nid)
            # the stations nearest the town hall serve the municipal office
            d = [((la - hlat) ** 2 + (lo - hlon) ** 2, nid) for nid, la, lo in placed]
            for _, nid in sorted(d)[:2]:
                i = next(j for j, r in enumerate(acc.nodes) if r["node_id"] == nid)
                acc.nodes[i]["battery_hours"] = math.inf if rng.random() < 0.4 else 24.0
                acc.meta[i]["office"] = True

    # cable-TV operator: core in Kanazawa, headends in five towns, optical nodes, coax
    op, code, op_ja = CABLE_OPERATOR
    cores = [
        acc.node(f"{code}-KNZ-C{i}", "core", op, f"{op_ja} 金沢センター {'AB'[i]}",
                 36.565 + 0.008 * i, 136.660, "Kanazawa", 0, math.inf, _feed("K2", -1), "K2")  # fmt: skip
        for i in range(2)
    ]
    acc.link(cores[0], cores[1], "fiber", 100000.0, f"{code}-KNZ-Core")
    he: dict[str, str] = {}
    for key in ("K2", "HK", "NN", "WJ", "SZ"):
        _, muni, ja, lat, lon, _ = _TOWN[key]
        he[key] = acc.node(f"{code}-{key}-H0", "cable_headend", op, f"{op_ja} {ja} ヘッドエンド",
                           lat + 0.003, lon - 0.003, muni, 0, math.inf, _feed(key, -1), key)  # fmt: skip
    acc.link(cores[0], he["K2"], "fiber", 100000.0, "KNZ-Ring-S")
    acc.link(cores[1], he["K2"], "fiber", 100000.0, f"{code}-KNZ-2")
    acc.link(he["K2"], he["HK"], "fiber", 10000.0, "R159-Tsubata;R249-Uchinada;R249-Hodatsu")
    acc.link(he["K2"], he["NN"], "fiber", 10000.0, "R159-Tsubata;R159-Oguchi;R159-Nanao")
    acc.link(he["HK"], he["NN"], "fiber", 10000.0, "R159-Ouchi;R159-Nanao")
    acc.link(he["NN"], he["WJ"], "fiber", 10000.0, "R249-Nanao-Anamizu;Pass-Anamizu-Wajima")
    acc.link(he["NN"], he["SZ"], "fiber", 10000.0,
             "R249-Nanao-Anamizu;R249-Anamizu-Ushitsu;R249-Ushitsu-Suzu")  # fmt: skip
    acc.link(he["WJ"], he["SZ"], "fiber", 10000.0, "R249-Sosogi-W;R249-Sosogi-E")
    cable_towns = {"HK": ["HK", "HD"], "NN": ["NN", "NJ", "NK", "AN", "SK"], "WJ": ["WJ", "MZ"],
                   "SZ": ["SZ", "OT", "NO", "YN"], "K2": ["TG"]}  # fmt: skip
    k = 0
    for head, towns in cable_towns.items():
        for key in towns:
            _, muni, ja, tlat, tlon, tshare = _TOWN[key]
            households = _MUNI[muni][2] * tshare / 2.4 * 0.5  # half the households on cable
            n_on = max(2, round(households / 900))
            for _ in range(n_on):
                rr = 4.0 * math.sqrt(rng.random())
                th = rng.uniform(0, 2 * math.pi)
                dy, dx = rr * math.sin(th), rr * math.cos(th)
                sector = -1 if rr < 2.5 else _sector(dy, dx)
                on = acc.node(
                    f"{code}-{key}-O{k:03d}", "optical_node", op, f"{_MUNI[muni][1]} 光ノード {k + 1}",
                    tlat + dy / _KM_LAT, tlon + dx / _KM_LON, muni, 60, 4.0,
                    _feed(key, sector), key, sector,
                )  # fmt: skip
                route = "" if key == head else next(
                    (s for a, b, s in ROUTES if {a, b} == {key, head}), f"Local-{key}-0")
                srlg = ";".join(x for x in (route, f"Local-{key}-{sector + 1}") if x)
                acc.link(he[head], on, "fiber", 10000.0, srlg)
                prev = on
                for j in range(int(rng.integers(1, 4))):
                    amp = acc.node(
                        f"{code}-{key}-R{k:03d}{j}", "relay", op,
                        f"{_MUNI[muni][1]} 同軸増幅器 {k + 1}-{j + 1}",
                        tlat + (dy + rng.normal(0, 0.4)) / _KM_LAT,
                        tlon + (dx + rng.normal(0, 0.4)) / _KM_LON, muni,
                        round(households / n_on / 3), 2.0, _feed(key, sector), key, sector,
                    )  # fmt: skip
                    acc.link(prev, amp, "coax", 1000.0)
                    prev = amp
                k += 1

    nodes = pd.DataFrame(acc.nodes, columns=list(NODE_COLUMNS))
    links = pd.DataFrame(acc.links)
    links.insert(0, "link_id", [f"NL{i:05d}" for i in range(len(links))])
    links = links[list(LINK_COLUMNS)]
    ts = iso(start)
    node_status = pd.DataFrame(
        {"observed_at": ts, "node_id": nodes["node_id"], "state": "up", "power": "grid",
         "battery_remaining_min": np.nan}  # fmt: skip
    )[list(NODE_STATUS_COLUMNS)]
    link_status = pd.DataFrame({"observed_at": ts, "link_id": links["link_id"], "state": "up"})
    feeds = sorted(nodes["power_feed"].unique())
    power = pd.DataFrame(
        {"observed_at": ts, "power_feed": feeds, "state": "on",
         "expected_restore_at": pd.array([None] * len(feeds), dtype="str")}  # fmt: skip
    )
    return NotoNetwork(
        nodes=nodes,
        links=links,
        node_status=node_status,
        link_status=link_status[list(LINK_STATUS_COLUMNS)],
        power_status=power[list(POWER_STATUS_COLUMNS)],
        observed_at=start,
        meta=pd.DataFrame(acc.meta),
    )


def write_noto(out_dir: str | Path, seed: int = 0) -> dict[str, Path]:
    """Generate the Noto network and write ``nodes.csv``, ``links.csv`` and a normal snapshot.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    seed : int
        Seed of :func:`generate_noto`.

    Returns
    -------
    dict
        Feed name (``nodes``, ``links``, ``status``, ``link_status``, ``power``) to path.

    Examples
    --------
    >>> import tempfile
    >>> sorted(write_noto(tempfile.mkdtemp()))
    ['link_status', 'links', 'nodes', 'power', 'status']
    """
    from resilience.sample.synthetic import write_synthetic

    return write_synthetic(generate_noto(seed), out_dir)
