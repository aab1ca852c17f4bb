"""The resources file: depots, repair crews, portable equipment, road closures and priorities.

A resources file (YAML, documented in ``docs/restoration.md``) describes what an incident
commander has at hand. It is read once and validated with messages that name the field
(``crews[2].repairs.fiber: must be a finite number of hours > 0``); nothing in it is echoed back
beyond the field path.

Example
-------
>>> r = resources_from_dict({
...     "depots": [{"id": "KNZ", "lat": 36.56, "lon": 136.65}],
...     "crews": [{"id": "fibre", "depot": "KNZ", "count": 2, "repairs": {"fiber": 6}}],
...     "equipment": [{"id": "gen", "type": "generator", "depot": "KNZ", "count": 3}],
...     "roads": {"closed": [{"group": "R249-Sosogi-W", "reopen_after_h": 48}]},
... })
>>> r.crews[0].count, r.equipment[0].type, r.roads["R249-Sosogi-W"]
(2, 'generator', 48.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from resilience.topology.model import MEDIA, NODE_KINDS
from resilience.yamlfile import read_yaml_file

__all__ = [
    "ACTIONS",
    "EQUIPMENT_TYPES",
    "Depot",
    "CrewPool",
    "EquipmentPool",
    "Resources",
    "resources_from_dict",
    "load_resources",
    "MAX_RESOURCES_BYTES",
]

#: Action names of a plan, in the order of the issue.
ACTIONS: tuple[str, ...] = ("repair", "generator", "portable_bs", "satellite_backhaul")
#: Portable equipment: one unit serves one site for the rest of the horizon.
EQUIPMENT_TYPES: tuple[str, ...] = ("generator", "portable_bs", "satellite_backhaul")
_DEFAULT_KINDS = {
    "generator": ("aggregation", "base_station", "cable_headend", "optical_node", "relay",
                  "satellite_gateway"),
    "portable_bs": ("base_station",),
    "satellite_backhaul": ("aggregation", "base_station", "cable_headend", "optical_node"),
}
_DEFAULT_SETUP_H = {"generator": 0.5, "portable_bs": 2.0, "satellite_backhaul": 1.5}
MAX_RESOURCES_BYTES = 4 * 2**20
_MAX_UNITS = 1_000_000


@dataclass(frozen=True)
class Depot:
    """Where crews and equipment start: a position, optionally pinned to a node of the network
    (``node``; default: the node nearest the position)."""

    id: str
    lat: float
    lon: float
    node: str | None = None


@dataclass(frozen=True)
class CrewPool:
    """``count`` repair crews at a depot; ``repairs`` maps each node kind or link medium they fix
    to the hours the work takes on site; ``operator`` (``None``: any) limits them to one
    operator's elements."""

    id: str
    depot: str
    count: int
    repairs: dict[str, float]
    operator: str | None = None


@dataclass(frozen=True)
class EquipmentPool:
    """``count`` units of portable equipment at a depot, each moved by its own team.

    ``generator`` powers a site whose own power is gone (it helps only if the backhaul is
    intact); ``portable_bs`` (portable / vehicle base station with its own power and satellite
    backhaul) brings a site's subscribers back whatever its power and backhaul;
    ``satellite_backhaul`` gives a powered site a path to the core (and what hangs below it).
    A unit stays where it is set up for the rest of the horizon. ``setup_h``: hours on site;
    ``kinds``: node kinds it can serve; generators run ``fuel_h`` per fill and are refuelled
    every ``refuel_interval_h`` (which must not exceed ``fuel_h``).
    """

    id: str
    type: str
    depot: str
    count: int
    setup_h: float
    kinds: tuple[str, ...]
    operator: str | None = None
    fuel_h: float | None = None
    refuel_interval_h: float | None = None


@dataclass
class Resources:
    """A validated resources file.

    Attributes
    ----------
    depots : list of Depot
    crews : list of CrewPool
    equipment : list of EquipmentPool
    speed_kmh : float
        Travel speed on open roads.
    detour : float
        Road distance over straight-line distance.
    roads : dict
        Closed road (shared-risk group id) to hours after the plan's start when it reopens
        (``inf``: unknown, closed for the horizon). ``reopen_at`` times are kept in
        ``roads_at`` until the plan's start is known (:meth:`road_hours`).
    priorities : dict
        ``{"nodes": {id: weight}, "municipalities": {name: weight}}`` (default weight 1).
    lookahead_h : float
        How far ahead the planner looks at batteries running out when it values an action.
    """

    depots: list[Depot] = field(default_factory=list)
    crews: list[CrewPool] = field(default_factory=list)
    equipment: list[EquipmentPool] = field(default_factory=list)
    speed_kmh: float = 30.0
    detour: float = 1.4
    roads: dict[str, float] = field(default_factory=dict)
    roads_at: dict[str, datetime] = field(default_factory=dict)
    priorities: dict[str, dict[str, float]] = field(default_factory=lambda: {"nodes": {}, "municipalities": {}})
    lookahead_h: float = 6.0

    def road_hours(self, start: datetime | None) -> dict[str, float]:
        """Closed roads with their reopening in hours after ``start`` (aware datetime).

        >>> from datetime import UTC
        >>> r = Resources(roads={"A": 5.0}, roads_at={"B": datetime(2024, 1, 2, tzinfo=UTC)})
        >>> r.road_hours(datetime(2024, 1, 1, tzinfo=UTC))
        {'A': 5.0, 'B': 24.0}
        """
        out = dict(self.roads)
        for g, at in self.roads_at.items():
            out[g] = max(0.0, (at - start).total_seconds() / 3600) if start is not None else math.inf
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain summary (JSON-ready) of the pools and closures."""
        return {
            "depots": [d.__dict__ for d in self.depots],
            "crews": [{**c.__dict__} for c in self.crews],
            "equipment": [{**e.__dict__, "kinds": list(e.kinds)} for e in self.equipment],
            "travel": {"speed_kmh": self.speed_kmh, "detour": self.detour},
            "roads_closed": sorted(set(self.roads) | set(self.roads_at)),
        }


class _Check:
    """Field-path aware validation helpers (messages: ``path: what is wrong``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, msg: str) -> None:
        prefix = f"{self.source}: " if self.source else ""
        raise ValueError(f"{prefix}{where}: {msg}")

    def mapping(self, v: Any, where: str) -> dict:
        if not isinstance(v, dict):
            self.fail(where, "must be a mapping")
        return v

    def seq(self, v: Any, where: str) -> list:
        if v is None:
            return []
        if not isinstance(v, list):
            self.fail(where, "must be a list")
        return v

    def text(self, v: Any, where: str, *, optional: bool = False) -> str | None:
        if v is None and optional:
            return None
        if not isinstance(v, str | int) or isinstance(v, bool) or not str(v).strip() or len(str(v)) > 200:
            self.fail(where, "must be a non-empty name (at most 200 characters)")
        return str(v).strip()

    def num(self, v: Any, where: str, *, low: float = 0.0, strict: bool = True,
            high: float = math.inf, allow_inf: bool = False) -> float:
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        x = float(v) if ok else math.nan
        if not ok or math.isnan(x) or (math.isinf(x) and not allow_inf) or x < low or (strict and x == low) or x > high:
            rel = ">" if strict else ">="
            self.fail(where, f"must be a finite number {rel} {low:g}" + (f" and <= {high:g}" if high < math.inf else ""))
        return x

    def count(self, v: Any, where: str) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= _MAX_UNITS:
            self.fail(where, f"must be a whole number from 0 to {_MAX_UNITS:,}")
        return int(v)

    def keys(self, d: dict, allowed: set[str], where: str) -> None:
        extra = sorted(str(k) for k in d if k not in allowed)
        if extra:
            self.fail(where, f"unknown key {extra[0][:40]!r}; expected {', '.join(sorted(allowed))}")


def _time(chk: _Check, v: Any, where: str) -> datetime:
    if isinstance(v, datetime):
        t = v
    else:
        try:
            t = datetime.fromisoformat(str(v))
        except ValueError:
            chk.fail(where, "must be an ISO 8601 time with an offset (2024-01-05T12:00+09:00)")
    if t.tzinfo is None:
        chk.fail(where, "a time without an offset is ambiguous: add one (+09:00)")
    return t


def resources_from_dict(d: dict[str, Any], *, source: str = "") -> Resources:
    """Validate a resources mapping (the YAML shape) into :class:`Resources`.

    Parameters
    ----------
    d : dict
        Keys ``depots``, ``crews``, ``equipment``, ``travel`` (``speed_kmh``, ``detour``),
        ``roads`` (``closed``: list of ``{group, reopen_after_h | reopen_at}``; neither = unknown,
        closed for the horizon), ``priorities`` (``nodes``, ``municipalities``: name to
        weight), ``lookahead_h``; all optional but at least one crew or unit is expected.
    source : str
        File name for the messages.

    Returns
    -------
    Resources

    Raises
    ------
    ValueError
        Naming the field at fault (``equipment[0].type: ...``).

    Examples
    --------
    >>> resources_from_dict({"crews": [{"id": "c", "depot": "X", "count": 1, "repairs": {"fiber": 4}}]})
    Traceback (most recent call last):
    ...
    ValueError: crews[0].depot: unknown depot 'X' (define it under depots)
    """
    chk = _Check(source)
    chk.mapping(d, "resources")
    chk.keys(d, {"version", "depots", "crews", "equipment", "travel", "roads", "priorities",
                 "lookahead_h", "description"}, "resources")
    out = Resources()
    seen: set[str] = set()
    for i, raw in enumerate(chk.seq(d.get("depots"), "depots")):
        w = f"depots[{i}]"
        raw = chk.mapping(raw, w)
        chk.keys(raw, {"id", "lat", "lon", "node", "name"}, w)
        did = chk.text(raw.get("id"), f"{w}.id")
        if did in seen:
            chk.fail(f"{w}.id", f"depot {did!r} defined twice")
        seen.add(did)
        lat = chk.num(raw.get("lat"), f"{w}.lat", low=-90, strict=False, high=90)
        lon = chk.num(raw.get("lon"), f"{w}.lon", low=-180, strict=False, high=180)
        out.depots.append(Depot(did, lat, lon, chk.text(raw.get("node"), f"{w}.node", optional=True)))
    depots = {dp.id for dp in out.depots}
    repairable = set(NODE_KINDS) | set(MEDIA)
    pool_ids: set[str] = set()

    def pool_id(raw: dict, w: str) -> str:
        pid = chk.text(raw.get("id"), f"{w}.id")
        if pid in pool_ids:
            chk.fail(f"{w}.id", f"pool {pid!r} defined twice")
        pool_ids.add(pid)
        return pid

    def depot_of(raw: dict, w: str) -> str:
        dep = chk.text(raw.get("depot"), f"{w}.depot")
        if dep not in depots:
            chk.fail(f"{w}.depot", f"unknown depot {dep[:40]!r} (define it under depots)")
        return dep

    for i, raw in enumerate(chk.seq(d.get("crews"), "crews")):
        w = f"crews[{i}]"
        raw = chk.mapping(raw, w)
        chk.keys(raw, {"id", "depot", "count", "repairs", "operator"}, w)
        pid = pool_id(raw, w)
        rep = chk.mapping(raw.get("repairs"), f"{w}.repairs")
        if not rep:
            chk.fail(f"{w}.repairs", "give the hours for at least one node kind or link medium")
        hours = {}
        for k, v in rep.items():
            if k not in repairable:
                chk.fail(f"{w}.repairs", f"unknown kind or medium {str(k)[:40]!r}; expected one of "
                         f"{', '.join(NODE_KINDS + MEDIA)}")
            hours[str(k)] = chk.num(v, f"{w}.repairs.{k}", high=24 * 365)
        out.crews.append(CrewPool(pid, depot_of(raw, w), chk.count(raw.get("count", 1), f"{w}.count"),
                                  hours, chk.text(raw.get("operator"), f"{w}.operator", optional=True)))
    for i, raw in enumerate(chk.seq(d.get("equipment"), "equipment")):
        w = f"equipment[{i}]"
        raw = chk.mapping(raw, w)
        chk.keys(raw, {"id", "type", "depot", "count", "setup_h", "kinds", "operator", "fuel_h",
                       "refuel_interval_h"}, w)
        pid = pool_id(raw, w)
        typ = raw.get("type")
        if typ not in EQUIPMENT_TYPES:
            chk.fail(f"{w}.type", f"must be one of {', '.join(EQUIPMENT_TYPES)}")
        kinds = raw.get("kinds", list(_DEFAULT_KINDS[typ]))
        kinds = chk.seq(kinds, f"{w}.kinds")
        for k in kinds:
            if k not in NODE_KINDS:
                chk.fail(f"{w}.kinds", f"unknown node kind {str(k)[:40]!r}; expected {', '.join(NODE_KINDS)}")
        fuel = refuel = None
        if typ == "generator":
            fuel = chk.num(raw.get("fuel_h", 24.0), f"{w}.fuel_h", high=24 * 365)
            refuel = chk.num(raw.get("refuel_interval_h", fuel), f"{w}.refuel_interval_h", high=24 * 365)
            if refuel > fuel:
                chk.fail(f"{w}.refuel_interval_h", f"{refuel:g} h is longer than fuel_h ({fuel:g} h): "
                         "the site would go dark between refuels")
        elif "fuel_h" in raw or "refuel_interval_h" in raw:
            chk.fail(w, "fuel_h and refuel_interval_h are for generators only")
        out.equipment.append(EquipmentPool(
            pid, typ, depot_of(raw, w), chk.count(raw.get("count", 1), f"{w}.count"),
            chk.num(raw.get("setup_h", _DEFAULT_SETUP_H[typ]), f"{w}.setup_h", strict=False, high=24 * 30),
            tuple(dict.fromkeys(kinds)), chk.text(raw.get("operator"), f"{w}.operator", optional=True),
            fuel, refuel,
        ))
    travel = chk.mapping(d.get("travel") or {}, "travel")
    chk.keys(travel, {"speed_kmh", "detour"}, "travel")
    out.speed_kmh = chk.num(travel.get("speed_kmh", 30.0), "travel.speed_kmh", high=1000)
    out.detour = chk.num(travel.get("detour", 1.4), "travel.detour", low=1.0, strict=False, high=10)
    roads = chk.mapping(d.get("roads") or {}, "roads")
    chk.keys(roads, {"closed"}, "roads")
    for i, raw in enumerate(chk.seq(roads.get("closed"), "roads.closed")):
        w = f"roads.closed[{i}]"
        if isinstance(raw, str):
            raw = {"group": raw}
        raw = chk.mapping(raw, w)
        chk.keys(raw, {"group", "reopen_after_h", "reopen_at", "note"}, w)
        g = chk.text(raw.get("group"), f"{w}.group")
        if "reopen_after_h" in raw and "reopen_at" in raw:
            chk.fail(w, "give reopen_after_h or reopen_at, not both")
        if raw.get("reopen_at") is not None:
            out.roads_at[g] = _time(chk, raw["reopen_at"], f"{w}.reopen_at")
        elif raw.get("reopen_after_h") is not None:
            out.roads[g] = chk.num(raw["reopen_after_h"], f"{w}.reopen_after_h", strict=False, allow_inf=True)
        else:
            out.roads[g] = math.inf  # unknown: closed for the horizon
    pr = chk.mapping(d.get("priorities") or {}, "priorities")
    chk.keys(pr, {"nodes", "municipalities"}, "priorities")
    for key in ("nodes", "municipalities"):
        m = chk.mapping(pr.get(key) or {}, f"priorities.{key}")
        out.priorities[key] = {str(k): chk.num(v, f"priorities.{key}.{k}", strict=False, high=1e6)
                               for k, v in m.items()}
    out.lookahead_h = chk.num(d.get("lookahead_h", 6.0), "lookahead_h", strict=False, high=24 * 30)
    return out


def load_resources(path: str | Path) -> Resources:
    """Read and validate a resources YAML file.

    Raises ``ValueError`` naming the file (and the field or YAML line), never quoting its
    content.

    >>> load_resources("/nonexistent.yaml")
    Traceback (most recent call last):
    ...
    resilience.yamlfile.ConfigFileError: /nonexistent.yaml: cannot read the resources file (No such file or directory)
    """
    p = Path(path)
    data = read_yaml_file(p, what="resources", max_bytes=MAX_RESOURCES_BYTES)
    if not isinstance(data, dict):
        raise ValueError(f"{p}: not a resources file: a YAML mapping (depots, crews, equipment) is expected")
    return resources_from_dict(data, source=str(p))
