"""Region failure: every node inside a disc (lat, lon, radius km) or a GeoJSON polygon fails.

Links fail with their endpoints (a link inside the region but with both ends outside is not
modelled: links carry no geometry). Nodes without coordinates never fail.

Example
-------
>>> import networkx as nx
>>> from resilience.analysis import to_csr
>>> G = nx.MultiGraph(); G.add_node("a", lat=37.39, lon=136.90); G.add_node("b", lat=36.56, lon=136.65)
>>> RegionFailure(lat=37.4, lon=136.9, radius_km=10).damage(G, to_csr(G)).nodes.tolist()
[True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from resilience.scenarios.base import Damage, Scenario
from resilience.scenarios.geo import (
    haversine_km,
    lat_lon,
    node_coords,
    number,
    points_in_geojson,
)
from resilience.topology.compiled import CSRGraph

__all__ = ["RegionFailure"]


@dataclass
class RegionFailure(Scenario):
    """Nodes in a disc or a polygon fail.

    Parameters
    ----------
    lat, lon, radius_km : float, optional
        The disc (great-circle distance, haversine): latitude within -90..90, longitude within
        -180..180, radius finite and > 0 (anything else raises ``ValueError``).
    polygon : dict, optional
        GeoJSON Polygon / MultiPolygon / Feature / FeatureCollection (``[lon, lat]`` order).
        Exactly one of the disc and the polygon is given.
    name : str

    Notes
    -----
    Vectorised: O(n) for a disc, O(n x vertices) for a polygon.

    Examples
    --------
    >>> RegionFailure(lat=37.4, lon=136.9, radius_km=10).to_dict()["center"]
    {'lat': 37.4, 'lon': 136.9}
    """

    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    polygon: dict[str, Any] | None = None
    name: str = ""
    type: ClassVar[str] = "region"

    def __post_init__(self) -> None:
        disc = self.lat is not None and self.lon is not None and self.radius_km is not None
        if disc == (self.polygon is not None):
            raise ValueError("region scenario needs either lat, lon and radius_km, or a polygon")
        if disc:
            self.lat, self.lon = lat_lon(self.lat, self.lon)
            self.radius_km = number(self.radius_km, "radius_km", above=0)
        elif not isinstance(self.polygon, dict):
            raise ValueError("region polygon must be a GeoJSON mapping")

    def damage(self, G: nx.MultiGraph, csr: CSRGraph) -> Damage:
        lat, lon = node_coords(G, csr)
        if self.polygon is not None:
            hit = points_in_geojson(lon, lat, self.polygon)
        else:
            d = haversine_km(self.lat, self.lon, lat, lon)
            hit = np.nan_to_num(d, nan=np.inf) <= float(self.radius_km)  # type: ignore[arg-type]
        return Damage(hit, np.zeros(csr.m, bool))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type, "name": self.name}
        if self.polygon is not None:
            d["polygon"] = self.polygon
        else:
            d["center"] = {"lat": self.lat, "lon": self.lon}
            d["radius_km"] = self.radius_km
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegionFailure:
        """From ``{center: {lat, lon}, radius_km}`` or ``{polygon: GeoJSON}``."""
        name = str(d.get("name") or "")
        if "polygon" in d:
            return cls(polygon=d["polygon"], name=name)
        c = d.get("center") or {}
        lat, lon = c.get("lat", d.get("lat")), c.get("lon", d.get("lon"))
        if lat is None or lon is None or d.get("radius_km") is None:
            raise ValueError("region scenario needs center {lat, lon} and radius_km, or polygon")
        return cls(lat=lat, lon=lon, radius_km=d["radius_km"], name=name)
