"""The measures catalogue: what each hardening measure costs and what it changes in the model.

A catalogue is a YAML mapping (``config/hardening/measures.yaml``)::

    version: 1
    currency: JPY
    uniform: battery_24h        # the measure of the ``uniform`` baseline
    largest: generator          # the measure of the ``largest`` baseline
    measures:
      - id: battery_24h
        type: battery           # battery | generator | satellite | second_route | leave_group
        hours: 24               # battery: runtime after the upgrade
        kinds: [base_station]   # site kinds it applies to (default: every kind but core)
        cost: 3000000           # a number, or {kind: number}
        source: "where the figure comes from"

What each type changes (the evaluator reads these, never a rebuilt graph):

- ``battery``: the site's battery runtime becomes ``hours`` (if longer);
- ``generator``: runtime ``inf`` (a permanent generator with fuel on site);
- ``satellite``: the site gets a satellite backhaul link over its own group: it is served
  whenever it is alive, whatever the terrestrial backhaul;
- ``second_route``: a new link from the site to the nearest ``targets`` site of the same
  operator that is not already a neighbour (within ``max_km``), with its own shared-risk group;
  cost ``fixed + cost_per_km * detour * distance``;
- ``leave_group``: one link leaves one shared-risk group (re-laid out of the conduit);
  cost ``fixed + cost_per_km * detour * link length``.

Example
-------
>>> cat = catalogue_from_dict({"measures": [{"id": "b24", "type": "battery", "hours": 24,
...     "cost": 3e6}], "uniform": "b24"})
>>> cat.measures[0].cost_for("base_station"), cat.uniform
(3000000.0, 'b24')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MEASURE_TYPES", "Measure", "Catalogue", "catalogue_from_dict", "load_catalogue",
           "POWER_TYPES"]

MEASURE_TYPES = ("battery", "generator", "satellite", "second_route", "leave_group")
POWER_TYPES = ("battery", "generator")
SITE_KINDS = ("aggregation", "base_station", "cable_headend", "optical_node", "relay",
              "satellite_gateway", "core")
_KEYS = {"id", "type", "hours", "kinds", "cost", "cost_per_km", "fixed", "detour", "max_km",
         "targets", "source", "description"}


@dataclass(frozen=True)
class Measure:
    """One measure of the catalogue (see the module docstring for the fields)."""

    id: str
    type: str
    kinds: tuple[str, ...]
    cost: dict[str, float] | float = 0.0
    hours: float = 0.0
    cost_per_km: float = 0.0
    fixed: float = 0.0
    detour: float = 1.3
    max_km: float = 30.0
    targets: tuple[str, ...] = ("aggregation", "cable_headend", "core")
    source: str = ""
    description: str = ""

    def cost_for(self, kind: str, km: float = 0.0) -> float:
        """Cost at a site of ``kind`` (or of a link/route ``km`` long, before the detour factor).

        >>> Measure("g", "generator", ("base_station",), cost={"base_station": 1.5e7}).cost_for("base_station")
        15000000.0
        """
        if self.type in ("second_route", "leave_group"):
            return float(self.fixed + self.cost_per_km * self.detour * km)
        if isinstance(self.cost, dict):
            return float(self.cost.get(kind, math.nan))
        return float(self.cost)

    @property
    def runtime(self) -> float:
        """Battery runtime after the measure (``inf`` for a generator, 0 otherwise)."""
        return math.inf if self.type == "generator" else float(self.hours)


@dataclass
class Catalogue:
    """The validated catalogue: measures in file order, the baselines' measures, the currency."""

    measures: list[Measure] = field(default_factory=list)
    uniform: str = ""
    largest: str = ""
    currency: str = "JPY"

    def get(self, mid: str) -> Measure:
        """The measure named ``mid`` (``KeyError`` if none)."""
        for m in self.measures:
            if m.id == mid:
                return m
        raise KeyError(mid)


def _num(v: Any, where: str, *, low: float = 0.0, allow_inf: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ValueError(f"{where}: must be a number, not {v!r}")
    try:
        x = float(v)
    except ValueError:
        raise ValueError(f"{where}: must be a number, not {v!r}") from None
    if math.isnan(x) or (math.isinf(x) and not allow_inf) or x < low:
        raise ValueError(f"{where}: must be a finite number >= {low:g}, not {v!r}")
    return x


def _kinds(v: Any, where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if v is None:
        return default
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v:
        raise ValueError(f"{where}: must be a list of site kinds")
    bad = [k for k in v if k not in SITE_KINDS]
    if bad:
        raise ValueError(f"{where}: unknown site kind(s) {', '.join(map(str, bad))} "
                         f"(known: {', '.join(SITE_KINDS)})")
    return tuple(str(k) for k in v)


def catalogue_from_dict(d: dict[str, Any]) -> Catalogue:
    """Validate a catalogue mapping; every error names the measure and the field.

    Parameters
    ----------
    d : dict
        The YAML mapping (``measures``, ``uniform``, ``largest``, ``currency``, ``version``).

    Returns
    -------
    Catalogue

    Raises
    ------
    ValueError
        Unknown keys or types, missing or negative costs, duplicate ids, baselines that name no
        measure.

    Examples
    --------
    >>> catalogue_from_dict({"measures": [{"id": "x", "type": "wall", "cost": 1}]})
    Traceback (most recent call last):
    ...
    ValueError: measures[0] (x): type: must be one of battery, generator, satellite, second_route, leave_group
    """
    if not isinstance(d, dict):
        raise ValueError("a measures catalogue must be a mapping with 'measures'")
    unknown = set(d) - {"version", "currency", "uniform", "largest", "measures"}
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    raw = d.get("measures")
    if not isinstance(raw, list) or not raw:
        raise ValueError("measures: must be a non-empty list")
    out: list[Measure] = []
    seen: set[str] = set()
    default_kinds = tuple(k for k in SITE_KINDS if k != "core")
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ValueError(f"measures[{i}]: must be a mapping")
        where = f"measures[{i}] ({m.get('id', '?')})"
        bad = set(m) - _KEYS
        if bad:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, bad)))}")
        mid = str(m.get("id") or "")
        if not mid:
            raise ValueError(f"measures[{i}]: id: required")
        if mid in seen:
            raise ValueError(f"{where}: id: duplicate")
        seen.add(mid)
        typ = m.get("type")
        if typ not in MEASURE_TYPES:
            raise ValueError(f"{where}: type: must be one of {', '.join(MEASURE_TYPES)}")
        kinds = _kinds(m.get("kinds"), f"{where}: kinds", default_kinds)
        kw: dict[str, Any] = {"source": str(m.get("source") or ""),
                              "description": str(m.get("description") or "")}
        if typ in ("second_route", "leave_group"):
            if "cost_per_km" not in m:
                raise ValueError(f"{where}: cost_per_km: required for {typ}")
            kw["cost_per_km"] = _num(m["cost_per_km"], f"{where}: cost_per_km")
            kw["fixed"] = _num(m.get("fixed", 0), f"{where}: fixed")
            kw["detour"] = _num(m.get("detour", 1.3), f"{where}: detour", low=1.0)
            kw["max_km"] = _num(m.get("max_km", 30), f"{where}: max_km")
            if typ == "second_route":
                kw["targets"] = _kinds(m.get("targets"), f"{where}: targets",
                                       ("aggregation", "cable_headend", "core"))
        else:
            if "cost" not in m:
                raise ValueError(f"{where}: cost: required")
            c = m["cost"]
            if isinstance(c, dict):
                _kinds(list(c), f"{where}: cost", ())
                kw["cost"] = {str(k): _num(v, f"{where}: cost.{k}") for k, v in c.items()}
                kinds = tuple(k for k in kinds if k in kw["cost"]) if m.get("kinds") is None else kinds
            else:
                kw["cost"] = _num(c, f"{where}: cost")
        if typ == "battery":
            if "hours" not in m:
                raise ValueError(f"{where}: hours: required for a battery upgrade")
            kw["hours"] = _num(m["hours"], f"{where}: hours", low=0.0)
            if kw["hours"] <= 0:
                raise ValueError(f"{where}: hours: must be more than 0")
        out.append(Measure(id=mid, type=str(typ), kinds=kinds, **kw))
    cat = Catalogue(measures=out, currency=str(d.get("currency") or "JPY"))
    ids = [m.id for m in out]
    for key in ("uniform", "largest"):
        v = d.get(key)
        if v is None:
            v = next((m.id for m in out if m.type == ("battery" if key == "uniform" else "generator")),
                     next((m.id for m in out if m.type in POWER_TYPES), ""))
        if v and v not in ids:
            raise ValueError(f"{key}: names no measure ({v!r}; known: {', '.join(ids)})")
        setattr(cat, key, str(v))
    return cat


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue YAML file (errors are prefixed with the file name).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "m.yaml")
    >>> _ = open(p, "w").write("measures: [{id: g, type: generator, cost: 1.5e7}]")
    >>> load_catalogue(p).largest
    'g'
    """
    from resilience.yamlfile import read_yaml_file

    p = Path(path)
    d = read_yaml_file(p, what="measures")
    try:
        return catalogue_from_dict(d)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
