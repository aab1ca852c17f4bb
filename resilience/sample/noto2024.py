"""Replay feeds of the 2024 Noto Peninsula earthquake (2024-01-01 16:10 JST, Mj 7.6).

On the Noto network of :mod:`resilience.sample.noto`: grid power is lost over the worst-hit
municipalities (Wajima, Suzu, Noto, Anamizu, most of Nanao and Shika), fibre is cut along the
damaged roads (shared-risk groups: coastal Route 249, the mountain passes, the Notojima bridge,
the north of the Noto Satoyama Kaido) at the quake and by later landslides; each site then lives
on its battery (3-6 h, aged and cold, so often less), aggregation sites on 24 h batteries or
generators whose fuel cannot be brought in over the broken roads. Restoration is planned, not
scripted: the carriers' crews, portable generators, portable base stations and satellite kits
(``config/resources/noto-2024.yaml``, released in waves) are dispatched by the restoration
planner (:mod:`resilience.restoration`), re-planned every 6 to 24 h with the state of the
moment, over roads that reopen on the published dates (sites beyond a road that stays closed
wait); grid power comes back area by area (the utility's work).

Status rows report what a station or NMS reports: ``down`` with power ``none`` once the battery
is exhausted, otherwise ``up`` (``battery`` with ``battery_remaining_min`` decreasing, ``grid``
or ``generator``). A station cut off from the core stays ``up`` in its own status: backhaul is
derived by the engine. Shape reproduced (issue 6): stations down keep rising for about two days
and peak between 24 h and 72 h after the quake at several hundred of the ~1,500 stations; power
involved in just under 70 % of them, backhaul in just under 60 %.

Example
-------
>>> import tempfile
>>> out = tempfile.mkdtemp()
>>> manifest = write_noto_2024(out)
>>> shape = replay_shape(out)
>>> 24 <= shape["peak_hours"] <= 72
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.sample._common import JST, iso, write_csv
from resilience.sample.noto import TOWNS, generate_noto
from resilience.topology.model import split_srlg

__all__ = [
    "QUAKE_AT",
    "EPICENTRE",
    "Replay",
    "simulate_noto_2024",
    "write_noto_2024",
    "replay_shape",
    "replay_steps",
]

QUAKE_AT = datetime(2024, 1, 1, 16, 10, tzinfo=JST)
EPICENTRE = (37.50, 137.27)
MAGNITUDE = 7.6

# damage severity by town (0 none .. 1 worst; intensity 7 in Wajima and Shika)
SEVERITY = {
    "K1": 0.0, "K2": 0.0, "K3": 0.0, "HD": 0.15, "HK": 0.3, "NK": 0.35, "SK": 0.7, "TG": 0.85,
    "NN": 0.55, "NJ": 0.8, "AN": 0.95, "WJ": 1.0, "MZ": 1.0, "NO": 0.95, "YN": 0.95,
    "SZ": 1.0, "OT": 1.0,
}  # fmt: skip
# share of power feeds lost at the quake, by town
POWER_LOSS = {
    "K1": 0.05, "K2": 0.0, "K3": 0.05, "HD": 0.1, "HK": 0.15, "NK": 0.15, "SK": 0.4, "TG": 0.4,
    "NN": 0.35, "NJ": 0.4, "AN": 0.7, "WJ": 0.7, "MZ": 0.75, "NO": 0.65, "YN": 0.7,
    "SZ": 0.75, "OT": 0.6,
}  # fmt: skip
# (hours after the quake) range of grid restoration, by town
POWER_RESTORE = {
    "K1": (1, 3), "K2": (1, 3), "K3": (1, 3), "HD": (2, 12), "HK": (3, 20), "NK": (3, 24),
    "SK": (30, 200), "TG": (80, 320), "NN": (30, 160), "NJ": (60, 260), "AN": (100, 420),
    "WJ": (160, 900), "MZ": (150, 700), "NO": (120, 500), "YN": (120, 560), "SZ": (200, 900),
    "OT": (220, 900),
}  # fmt: skip
# shared-risk groups cut: (group, hours after the quake it fails, hours it is repaired)
CUTS: tuple[tuple[str, float, float], ...] = (
    ("R249-Monzen-Coast", 0, 400),
    ("R249-Sosogi-W", 0, 600),
    ("Bridge-Notojima", 0, 240),
    ("R249-Togi-Coast-N", 0, 260),
    ("R249-Sosogi-E", 10, 600),  # landslides after the night's aftershocks
    ("Pass-Yanagida-Wajima", 20, 300),
    ("R249-Monzen-Wajima", 20, 260),
    ("R249-Ushitsu-Suzu", 30, 330),
)
# share of the local fibre routes out of a town (one group per road sector) cut by the quake
# or by later landslides in the first two days, by town
LOCAL_CUT = {
    "K1": 0.0, "K2": 0.0, "K3": 0.0, "HD": 0.1, "HK": 0.3, "NK": 0.4, "SK": 0.45, "TG": 0.3,
    "NN": 0.4, "NJ": 0.3, "AN": 0.15, "WJ": 0.15, "MZ": 0.2, "NO": 0.15, "YN": 0.15, "SZ": 0.2,
    "OT": 0.2,
}  # fmt: skip
LATE_POWER_LOSS = 0.4  # feeds of the damaged towns that fail later (lines, substations)
# Restoration by the planner (resilience.restoration) with the carriers' resources
# (config/resources/noto-2024.yaml), re-planned on a rolling basis with the state of the moment.
PLAN_HORIZON_H = 72.0
# share of each carrier's portable equipment in the area, by hours after the quake (it did not
# all arrive at once: the first units came by road on the second day, ships and aircraft later)
EQUIPMENT_WAVES: tuple[tuple[float, float], ...] = (
    (16.0, 0.02), (40.0, 0.1), (52.0, 0.2), (64.0, 0.3), (88.0, 0.5), (124.0, 0.7), (172.0, 0.85),
    (244.0, 1.0))
# satellite antennas are light (cars, helicopters): they came in faster than power vehicles
SATELLITE_WAVES: tuple[tuple[float, float], ...] = (
    (16.0, 0.35), (40.0, 0.5), (64.0, 0.7), (88.0, 0.85), (124.0, 1.0))
# share of the repair crews at work (the night of the quake: tsunami warning, aftershocks)
CREW_WAVES: tuple[tuple[float, float], ...] = ((16.0, 0.7), (40.0, 1.0))
# crew hours per generator per refuel (a fuel run tops up a town's generators in one round)
REFUEL_CREW_H = 0.5
PLAN_LOOKAHEAD_H = 12.0
# a local road (one sector out of a town) whose cables were cut reopens to restoration vehicles
# after this share of the time the damage model gives for its cables
LOCAL_ROAD_CLEARING = 0.08


def plan_times() -> list[float]:
    """Hours after the quake at which the replay re-plans restoration: every 6 h for three
    days, every 12 h to a week, then daily (each plan sees the state of that moment).

    >>> t = plan_times(); t[:3], t[-1]
    ([16.0, 22.0, 28.0], 698.0)
    """
    return ([float(h) for h in range(16, 76, 6)] + [float(h) for h in range(82, 170, 12)]
            + [float(h) for h in range(170, 720, 24)])


def _share(waves: tuple[tuple[float, float], ...], h: float) -> float:
    return max((s for t, s in waves if t <= h + 1e-9), default=0.0)


def default_resources_path() -> Path:
    """The carriers' resources of the Noto response (``config/resources/noto-2024.yaml``)."""
    from resilience.settings import project_root

    here = Path(__file__).resolve().parents[2] / "config" / "resources" / "noto-2024.yaml"
    return here if here.exists() else project_root() / "config" / "resources" / "noto-2024.yaml"


def replay_steps() -> list[float]:
    """Hours after the quake of each step: baseline, hourly to 72 h, 6-hourly to 7 d, daily.

    >>> s = replay_steps(); s[0] < 0, s[1], s[-1]
    (True, 0.0, 720.0)
    """
    return (
        [-1 / 6]
        + [float(h) for h in range(0, 73)]
        + [float(h) for h in range(78, 169, 6)]
        + [float(h) for h in range(192, 721, 24)]
    )


@dataclass
class Replay:
    """The simulated event: inventory and, per step, the three feeds.

    Attributes
    ----------
    nodes, links : pandas.DataFrame
        Inventory (contract columns), including the satellite links used in restoration.
    steps : list of (datetime, power, link_status, node_status)
        Full snapshots in time order.
    restoration : list of dict
        The restoration actions the planner committed, in the order they were planned
        (``planned_at``, ``at``, ``done_at``, ``resource``, ``action``, ``element``).
    """

    nodes: pd.DataFrame
    links: pd.DataFrame
    steps: list[tuple[datetime, pd.DataFrame, pd.DataFrame, pd.DataFrame]]
    restoration: list[dict[str, Any]] = field(default_factory=list)


def simulate_noto_2024(seed: int = 0, resources: str | Path | None = None) -> Replay:
    """Simulate the earthquake and its restoration on the Noto network (pure, deterministic).

    The damage (power, cuts, batteries) is drawn by town; restoration is planned by
    :func:`resilience.restoration.schedule` with the carriers' crews and equipment (released in
    :data:`EQUIPMENT_WAVES` / :data:`CREW_WAVES`) over the roads as they reopen, re-planned at
    each of :func:`plan_times` with the state of that moment (see :func:`_Restorer`). Grid
    power comes back by area (the utility's work, not the carriers').

    Parameters
    ----------
    seed : int
        Seed of the network and of the damage draws.
    resources : str or Path, optional
        A resources file (default :func:`default_resources_path`).

    Returns
    -------
    Replay
        Inventory plus one (time, power, link status, node status) snapshot per step and the
        committed restoration actions.

    Examples
    --------
    >>> r = simulate_noto_2024()
    >>> r.steps[0][0].isoformat()
    '2024-01-01T16:00:00+09:00'
    >>> bool((r.steps[0][3]["state"] == "up").all())
    True
    >>> sorted({a["action"] for a in r.restoration})
    ['generator', 'portable_bs', 'repair', 'satellite_backhaul']
    """
    net = generate_noto(seed)
    rng = np.random.default_rng(seed + 2024)
    nodes = net.nodes
    meta = net.meta.set_index("node_id").loc[nodes["node_id"]]
    town = meta["town"].to_numpy()
    kind = nodes["kind"].to_numpy()
    n = len(nodes)
    sev = np.array([SEVERITY[t] for t in town])

    # satellite terminals: every mobile base station outside Kanazawa can get one (a link to its
    # operator's gateway, down until the planner installs a kit or a portable base station)
    gw = nodes.loc[nodes["kind"] == "satellite_gateway"].set_index("operator")["node_id"]
    cand = np.flatnonzero((kind == "base_station") & (sev >= 0.85))
    rng.choice(cand, size=round(0.3 * len(cand)), replace=False)  # draws kept: same damage
    ops = nodes["operator"].to_numpy()
    sat_nodes = np.flatnonzero((kind == "base_station") & np.isin(ops, gw.index)
                               & ~np.isin(town, ["K1", "K2", "K3"]))
    sat = pd.DataFrame(
        {
            "link_id": [f"NS{i:04d}" for i in range(len(sat_nodes))],
            "a": gw.loc[ops[sat_nodes]].to_numpy(),
            "b": nodes["node_id"].to_numpy()[sat_nodes],
            "medium": "satellite",
            "capacity_mbps": 200.0,
            "srlg": "",
        }
    )
    links = pd.concat([net.links, sat], ignore_index=True)
    rng.uniform(0, 200, size=round(0.3 * len(cand)))  # draws kept: same damage

    # power feeds: lost at the quake by town share, restored by area
    feeds = np.array(sorted(nodes["power_feed"].unique()))
    feed_town = np.array([f.split("-")[1] for f in feeds])
    lost = rng.random(len(feeds)) < np.array([POWER_LOSS[t] for t in feed_town])
    lo_hi = np.array([POWER_RESTORE[t] for t in feed_town], dtype=float)
    restore = lo_hi[:, 0] + (lo_hi[:, 1] - lo_hi[:, 0]) * rng.random(len(feeds)) ** 1.3
    fsev = np.array([SEVERITY[t] for t in feed_town])
    late = ~lost & (fsev >= 0.6) & (rng.random(len(feeds)) < LATE_POWER_LOSS)
    off_at = np.where(lost, 0.0, np.where(late, rng.uniform(10, 50, len(feeds)), math.inf))
    on_at = np.where(lost | late, off_at + restore, math.inf)
    fidx = pd.Index(feeds).get_indexer(nodes["power_feed"])
    n_off, n_on = off_at[fidx], on_at[fidx]

    # node energy: battery runtime (aged, cold) or generator fuel
    battery = nodes["battery_hours"].to_numpy()
    is_agg = kind == "aggregation"
    runtime = battery * np.where(is_agg, rng.uniform(0.8, 1.0, n), rng.uniform(0.45, 1.0, n))
    no_fuel = (sev >= 0.5) & (rng.random(n) < np.where(is_agg, 0.05, 0.6))
    fuel = np.where(no_fuel, rng.uniform(30, 70, size=n), math.inf)  # fuel runs out: a planner job
    runtime = np.where(np.isinf(battery), fuel, runtime)
    rng.exponential(110.0, size=n)  # draws kept: same damage
    rng.exponential(8, size=n)

    # shared-risk group cuts (the cables stay cut until a crew repairs them)
    cut: dict[str, tuple[float, float]] = {g: (a, b) for g, a, b in CUTS}
    for t in TOWNS:
        key = t[0]
        for s in range(7):
            g = f"Local-{key}-{s}"
            u = rng.random()
            if u < LOCAL_CUT[key] / 2:
                cut[g] = (0.0, 150 + 450 * rng.random())
            elif u < LOCAL_CUT[key]:
                cut[g] = (8 + 48 * rng.random(), 150 + 400 * rng.random())
    groups = [split_srlg(s) for s in links["srlg"]]
    link_cut_at = np.full(len(links), math.inf)
    for i, gs in enumerate(groups):
        for g in gs:
            if g in cut and cut[g][0] < link_cut_at[i]:
                link_cut_at[i] = cut[g][0]
    for i in np.flatnonzero(links["medium"].to_numpy() == "microwave"):  # dishes knocked out
        b = str(links["b"].iat[i])
        tb = meta.loc[b, "town"] if b in meta.index else "K1"
        if rng.random() < 0.06 * SEVERITY[tb]:
            link_cut_at[i] = 0.0
            rng.random()  # draws kept: same damage

    # a local road whose cables were cut is closed to restoration vehicles until it is cleared
    local_roads = {g: max(a + 12.0, LOCAL_ROAD_CLEARING * b) for g, (a, b) in cut.items()
                   if g.startswith("Local-")}
    r = _Restorer(nodes, links, len(net.links), sat_nodes, n_off, n_on, runtime, battery,
                  link_cut_at, resources, local_roads)
    for h in plan_times():
        r.plan(h)
    steps = [(QUAKE_AT + timedelta(hours=h), *r.frames(h)) for h in replay_steps()]
    return Replay(nodes=nodes, links=links, steps=steps, restoration=r.log)


class _Restorer:
    """The replay's restoration: the state of the feeds at any hour given the committed actions,
    and rolling plans (:meth:`plan`) by :func:`resilience.restoration.schedule`.

    At each plan time the planner sees the state of that moment with every action already
    committed taken as done; it plans over :data:`PLAN_HORIZON_H` with the crews that are free
    (each from where its last job was), the equipment that has arrived (:data:`EQUIPMENT_WAVES`)
    and is not in use, minus the crews busy refuelling the generators in use
    (:data:`REFUEL_CREW_H` per generator per ``refuel_interval_h``); the actions that start
    before the next plan time are committed, the rest is planned again. A generator is
    released when grid power returns to its site; portable base stations and satellite kits
    stay for the rest of the replay.
    """

    def __init__(self, nodes: pd.DataFrame, links: pd.DataFrame, n_ground: int,
                 sat_nodes: np.ndarray, n_off: np.ndarray, n_on: np.ndarray, runtime: np.ndarray,
                 battery: np.ndarray, link_cut_at: np.ndarray, resources: str | Path | None,
                 local_roads: dict[str, float] | None = None) -> None:
        from resilience.restoration import load_resources

        self.nodes, self.links = nodes, links
        self.node_ids = nodes["node_id"].to_numpy()
        self.link_ids = links["link_id"].to_numpy()
        self.node_pos = {str(x): i for i, x in enumerate(self.node_ids)}
        self.link_pos = {str(x): i for i, x in enumerate(self.link_ids)}
        self.n_off, self.n_on, self.runtime, self.battery = n_off, n_on, runtime, battery
        self.link_cut_at = link_cut_at
        n, m = len(nodes), len(links)
        self.is_ns = np.zeros(m, bool)
        self.is_ns[n_ground:] = True
        self.ns_of = {int(v): n_ground + k for k, v in enumerate(sat_nodes)}
        self.gen_at = np.full(n, math.inf)
        self.pbs_at = np.full(n, math.inf)
        self.fix_at = np.full(m, math.inf)  # crew repairs and satellite terminals in service
        self.res = load_resources(resources or default_resources_path())
        for g, hours in (local_roads or {}).items():  # local roads cut by landslides
            self.res.roads_at.setdefault(g, QUAKE_AT + timedelta(hours=hours))
        self.used: dict[str, int] = {}
        self.gens: list[tuple[str, int]] = []  # (pool, node) of generators set up
        self.crew_free: dict[str, float] = {}
        self.crew_at: dict[str, tuple[str, float, float]] = {}
        self.log: list[dict[str, Any]] = []

    def frames(self, h: float, done_by: float | None = None) -> tuple[pd.DataFrame, ...]:
        """Power, link status and node status at ``h`` hours after the quake, with the actions
        complete by ``done_by`` (default ``h``; ``inf``: every committed action) in place."""
        d = h if done_by is None else min(done_by, 1e300)  # inf <= inf: never-done stays not done
        at = QUAKE_AT + timedelta(hours=h)
        stamp = iso(at)
        feeds = np.array(sorted(self.nodes["power_feed"].unique()))
        fidx = pd.Index(feeds).get_indexer(self.nodes["power_feed"])
        f_off = np.full(len(feeds), math.inf)
        f_on = np.full(len(feeds), math.inf)
        np.minimum.at(f_off, fidx, self.n_off)
        np.minimum.at(f_on, fidx, self.n_on)
        feed_off = (f_off <= h) & (h < f_on)
        eta = [iso(QUAKE_AT + timedelta(hours=math.ceil(r / 24) * 24)) if off and h >= 24 else None
               for off, r in zip(feed_off, f_on, strict=True)]
        power = pd.DataFrame(
            {"observed_at": stamp, "power_feed": feeds, "state": np.where(feed_off, "off", "on"),
             "expected_restore_at": pd.array(eta, dtype="str")}  # fmt: skip
        )
        pbs = self.pbs_at <= d
        up_sat = (self.fix_at <= d) & self.is_ns
        for v in np.flatnonzero(pbs):  # a portable base station brings its own satellite dish
            if int(v) in self.ns_of:
                up_sat[self.ns_of[int(v)]] = True
        down = np.where(self.is_ns, ~up_sat, (self.link_cut_at <= h) & ~(self.fix_at <= d))
        link_status = pd.DataFrame(
            {"observed_at": stamp, "link_id": self.link_ids, "state": np.where(down, "down", "up")}
        )
        grid_off = (self.n_off <= h) & (h < self.n_on)
        elapsed = h - self.n_off
        has_unit = (self.gen_at <= d) | pbs
        alive = elapsed < self.runtime
        on_gen = np.isinf(self.battery)
        pw = np.where(
            ~grid_off, "grid",
            np.where(has_unit, "generator",
                     np.where(alive, np.where(on_gen, "generator", "battery"), "none")),
        )  # fmt: skip
        rem = np.where(pw == "battery", np.floor((self.runtime - elapsed) * 60), np.nan)
        rem = np.where(pw == "none", 0.0, rem)
        status = pd.DataFrame(
            {"observed_at": stamp, "node_id": self.node_ids,
             "state": np.where(pw == "none", "down", "up"), "power": pw,
             "battery_remaining_min": rem}  # fmt: skip
        )
        return power, link_status, status

    def _resources(self, h: float) -> Any:
        from dataclasses import replace

        from resilience.restoration.resources import CrewPool, Depot

        res = self.res
        in_use: dict[str, int] = {}
        for pool, v in self.gens:
            if self.n_on[v] > h:
                in_use[pool] = in_use.get(pool, 0) + 1
        equipment = []
        refuel: dict[str | None, float] = {}
        for e in res.equipment:
            waves = SATELLITE_WAVES if e.type == "satellite_backhaul" else EQUIPMENT_WAVES
            arrived = math.floor(e.count * _share(waves, h))
            used = in_use.get(e.id, 0) if e.type == "generator" else self.used.get(e.id, 0)
            if e.type == "generator" and e.refuel_interval_h:
                refuel[e.operator] = refuel.get(e.operator, 0.0) + used * REFUEL_CREW_H / e.refuel_interval_h
            if arrived - used > 0:  # satellite kits: on base stations (their NS link)
                kinds = ("base_station",) if e.type == "satellite_backhaul" else e.kinds
                equipment.append(replace(e, count=arrived - used, kinds=kinds))
        depots = [d for d in res.depots]
        crews = []
        for c in res.crews:
            busy_refuel = math.ceil(refuel.get(c.operator, 0.0) - 1e-9)
            for k in range(math.floor(c.count * _share(CREW_WAVES, h))):
                unit = f"{c.id}#{k + 1}"
                if k < busy_refuel or self.crew_free.get(unit, 0.0) > h:
                    continue
                where = self.crew_at.get(unit)
                depot = c.depot
                if where is not None:
                    depot = f"at-{unit}"
                    depots.append(Depot(depot, where[1], where[2], where[0]))
                crews.append(CrewPool(unit, depot, 1, c.repairs, c.operator))
        # the planner reads batteries up to the plan after next (it re-plans every 6-24 h)
        return replace(res, depots=depots, crews=crews, equipment=equipment,
                       lookahead_h=max(res.lookahead_h, PLAN_LOOKAHEAD_H))

    def plan(self, h: float) -> None:
        """Plan at ``h`` hours after the quake and commit what starts before the next plan."""
        from resilience.restoration import build_problem, schedule
        from resilience.restoration.problem import (
            GENERATOR,  # fmt: skip
            PORTABLE_BS,
            REPAIR_LINK,
            SATELLITE,
        )
        from resilience.topology import build_graph

        times = plan_times()
        k = times.index(h) if h in times else -1
        until = (times[k + 1] if 0 <= k < len(times) - 1 else h + 24.0) - h
        at = QUAKE_AT + timedelta(hours=h)
        power, ls, st = self.frames(h, math.inf)
        G = build_graph(self.nodes, self.links, st, ls, power, as_of=at)
        res = self._resources(h)
        if not res.crews and not res.equipment:
            return
        p = build_problem(G, res, horizon_h=PLAN_HORIZON_H)
        for a in schedule(p, "planned"):
            if a["start"] >= until:
                continue
            c, done = a["candidate"], h + a["done"]
            typ, elem = int(p.ctype[c]), p.target_id(c)
            pool = p.pool_names[int(p.r_pool[a["unit"]])]
            if typ == REPAIR_LINK:
                self.fix_at[self.link_pos[elem]] = min(self.fix_at[self.link_pos[elem]], done)
                self.crew_free[pool] = done
                v = int(p.c_acc[c, 0])
                self.crew_at[pool] = (str(p.full_node_ids[v]), float(p.c_lat[c]), float(p.c_lon[c]))
            elif typ == GENERATOR:
                v = self.node_pos[elem]
                self.gen_at[v] = min(self.gen_at[v], done)
                self.gens.append((pool, v))
            elif typ == PORTABLE_BS:
                v = self.node_pos[elem]
                self.pbs_at[v] = min(self.pbs_at[v], done)
                self.used[pool] = self.used.get(pool, 0) + 1
            elif typ == SATELLITE:
                v = self.node_pos[elem]
                if v not in self.ns_of:
                    continue
                self.fix_at[self.ns_of[v]] = min(self.fix_at[self.ns_of[v]], done)
                self.used[pool] = self.used.get(pool, 0) + 1
            else:  # node repairs: the replay breaks no equipment (sites go down for power)
                continue
            self.log.append({"planned_at": iso(at), "at": iso(at + timedelta(hours=a["start"])),
                             "done_at": iso(at + timedelta(hours=a["done"])), "resource": pool,
                             "action": p.action_name(c), "element": elem})


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H%M%z")


def write_noto_2024(out_dir: str | Path, seed: int = 0) -> dict[str, Any]:
    """Write the replay: inventory, then power, link status and status per step, in time order.

    Files: ``0000_inventory_nodes.csv``, ``0001_inventory_links.csv``, then for step k at time
    T ``{100+3k:04d}_{T}_power.csv``, ``{101+3k:04d}_{T}_link_status.csv``,
    ``{102+3k:04d}_{T}_status.csv`` (T like ``2024-01-01T1610+0900``), plus ``manifest.json``
    and ``README.md``. Sorting the names sorts them in time order.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    seed : int
        Seed of the network and the damage.

    Returns
    -------
    dict
        The manifest (also written as ``manifest.json``).

    Examples
    --------
    >>> import tempfile
    >>> m = write_noto_2024(tempfile.mkdtemp())
    >>> m["files"][0]["path"], m["files"][2]["kind"]
    ('0000_inventory_nodes.csv', 'power')
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = simulate_noto_2024(seed)
    files: list[dict[str, Any]] = []

    def put(seq: int, name: str, kind: str, df: pd.DataFrame, at: datetime | None) -> None:
        path = f"{seq:04d}_{name}.csv"
        write_csv(df, out / path)
        files.append({"seq": seq, "path": path, "kind": kind, "at": iso(at) if at else None,
                      "rows": len(df)})  # fmt: skip

    put(0, "inventory_nodes", "inventory_nodes", r.nodes, None)
    put(1, "inventory_links", "inventory_links", r.links, None)
    for k, (at, power, link_status, status) in enumerate(r.steps):
        s = _stamp(at)
        put(100 + 3 * k, f"{s}_power", "power", power, at)
        put(101 + 3 * k, f"{s}_link_status", "link_status", link_status, at)
        put(102 + 3 * k, f"{s}_status", "status", status, at)
    manifest = {
        "event": {
            "name": "2024 Noto Peninsula earthquake (令和6年能登半島地震)",
            "at": iso(QUAKE_AT),
            "epicentre": {"lat": EPICENTRE[0], "lon": EPICENTRE[1]},
            "magnitude_jma": MAGNITUDE,
        },
        "seed": seed,
        "steps": [iso(s[0]) for s in r.steps],
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    (out / "README.md").write_text(_README.format(n_steps=len(r.steps), quake=iso(QUAKE_AT)))
    (out / "restoration.json").write_text(json.dumps(r.restoration, ensure_ascii=False, indent=0) + "\n")
    return manifest


_README = """# Replay: 2024 Noto Peninsula earthquake (synthetic, shape of the real event)

Quake: {quake}, epicentre 37.50 N 137.27 E, Mj 7.6 (intensity 7 in Wajima and Shika).

Files sort in time order: the inventory (`0000_inventory_nodes.csv`, `0001_inventory_links.csv`)
then, for each of the {n_steps} steps (baseline 16:00, hourly to 72 h, 6-hourly to 7 days,
daily to 30 days), the power feed, the link status feed and the node status feed, each a full
snapshot. `manifest.json` lists every file with its kind and time.

Status rows are what stations report: `down`/`none` once the battery is exhausted, else `up`
on `grid`, `battery` (with minutes remaining) or `generator`. Stations cut off from the core
stay `up`: backhaul loss is for the analysis to derive. Satellite links (`NS....`) are in the
inventory from the start and `down` until their terminal is installed.

Restoration follows the restoration planner (`resilience.restoration`) with the carriers'
resources (`config/resources/noto-2024.yaml`), re-planned every 6-24 h; the actions it
committed are in `restoration.json` (not a feed).

Generated by `resilience.sample.noto2024.write_noto_2024` (deterministic by seed). Synthetic:
the network and damage are invented; only the shape of the outage follows the public reports.
"""


def replay_shape(out_dir: str | Path) -> dict[str, Any]:
    """Outage shape of a written replay, computed without the database (networkx directly).

    A base station is out when it is ``down`` or has no path to a core over up nodes and
    links. Its cause counts ``power`` when its own power is ``none`` (battery exhausted) and
    ``backhaul`` when it would have no path to a core even if it were up (both may hold).

    Parameters
    ----------
    out_dir : str or Path
        A directory written by :func:`write_noto_2024`.

    Returns
    -------
    dict
        ``series`` (list of ``{"at", "hours", "sites_down", "power", "backhaul", "both"}``),
        ``peak_at``, ``peak_hours``, ``peak_count``, ``power_share`` and ``backhaul_share``
        (among the stations out at the peak; a station with both counts in both).

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp(); _ = write_noto_2024(out)
    >>> s = replay_shape(out)
    >>> 0.5 <= s["backhaul_share"] <= 0.7
    True
    """
    out = Path(out_dir)
    manifest = json.loads((out / "manifest.json").read_text())
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in manifest["files"]:
        by_kind.setdefault(f["kind"], []).append(f)
    nodes = pd.read_csv(out / by_kind["inventory_nodes"][0]["path"], keep_default_na=False)
    links = pd.read_csv(out / by_kind["inventory_links"][0]["path"], keep_default_na=False)
    cores = nodes.loc[nodes["kind"] == "core", "node_id"].tolist()
    is_bs = nodes.set_index("node_id")["kind"].eq("base_station")
    bs = is_bs[is_bs].index
    ends = list(zip(links["a"], links["b"], strict=True))
    quake = datetime.fromisoformat(manifest["event"]["at"])
    series = []
    for ls, st in zip(by_kind["link_status"], by_kind["status"], strict=True):
        lstate = pd.read_csv(out / ls["path"])["state"].to_numpy()
        status = pd.read_csv(out / st["path"]).set_index("node_id")
        down = status["state"].eq("down")
        G = nx.Graph()
        G.add_nodes_from(nodes["node_id"])
        G.add_edges_from(e for e, s in zip(ends, lstate, strict=True) if s == "up")
        up = G.subgraph(down[~down].index)
        served: set[str] = set()
        for c in cores:
            if c in up and c not in served:
                served |= nx.node_connected_component(up, c)
        s_down = down.loc[bs]
        no_power = status["power"].loc[bs].eq("none") & s_down
        backhaul = pd.Series(
            [
                (b not in served)
                if not d
                else not any(v in served for v in G.neighbors(b))
                for b, d in zip(bs, s_down, strict=True)
            ],
            index=bs,
        )
        out_ = s_down | backhaul
        at = datetime.fromisoformat(st["at"])
        series.append(
            {
                "at": st["at"],
                "hours": (at - quake).total_seconds() / 3600,
                "sites_down": int(out_.sum()),
                "power": int(no_power.sum()),
                "backhaul": int((backhaul & out_).sum()),
                "both": int((no_power & backhaul).sum()),
            }
        )
    peak = max(series, key=lambda r: r["sites_down"])
    total = max(peak["sites_down"], 1)
    return {
        "series": series,
        "peak_at": peak["at"],
        "peak_hours": peak["hours"],
        "peak_count": peak["sites_down"],
        "power_share": peak["power"] / total,
        "backhaul_share": peak["backhaul"] / total,
    }
