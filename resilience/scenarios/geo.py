"""Vectorised geography: great-circle distance and point-in-polygon for GeoJSON.

Example
-------
>>> round(float(haversine_km(37.39, 136.90, 36.56, 136.65)), 1)
94.9
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from resilience.topology.compiled import CSRGraph, NodeAttributes

__all__ = [
    "EARTH_RADIUS_KM",
    "haversine_km",
    "node_coords",
    "points_in_geojson",
    "number",
    "lat_lon",
]

EARTH_RADIUS_KM = 6371.0088


def number(value: Any, what: str, *, low: float | None = None, high: float | None = None,
           above: float | None = None) -> float:
    """A finite float within bounds, or ``ValueError`` naming ``what`` (scenario input checks:
    NaN, infinity, text and out-of-range values never reach the arithmetic).

    Parameters
    ----------
    value : Any
    what : str
        The field, for the message.
    low, high : float, optional
        Inclusive bounds.
    above : float, optional
        Exclusive lower bound.

    Examples
    --------
    >>> number("5", "radius_km", above=0)
    5.0
    >>> number(float("nan"), "radius_km", above=0)
    Traceback (most recent call last):
    ...
    ValueError: radius_km must be a finite number, not nan
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    if low is not None and high is not None and not low <= x <= high:
        raise ValueError(f"{what} must be within {low:g}..{high:g}, not {x:g}")
    if low is not None and x < low:
        raise ValueError(f"{what} must be >= {low:g}, not {x:g}")
    if high is not None and x > high:
        raise ValueError(f"{what} must be <= {high:g}, not {x:g}")
    if above is not None and not x > above:
        raise ValueError(f"{what} must be > {above:g}, not {x:g}")
    return x


def lat_lon(lat: Any, lon: Any, what: str = "centre") -> tuple[float, float]:
    """A checked ``(lat, lon)``: latitude within -90..90, longitude within -180..180.

    >>> lat_lon(37.4, 136.9)
    (37.4, 136.9)
    >>> lat_lon(200, 0)
    Traceback (most recent call last):
    ...
    ValueError: centre latitude must be within -90..90, not 200
    """
    return (number(lat, f"{what} latitude", low=-90, high=90),
            number(lon, f"{what} longitude", low=-180, high=180))


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km (arrays broadcast; NaN in, NaN out).

    >>> haversine_km(0.0, 0.0, 0.0, 1.0).round(2)
    np.float64(111.2)
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def node_coords(G: nx.MultiGraph, csr: CSRGraph | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(lat, lon)`` arrays in graph order, NaN where a node has no coordinates (read once per
    view when ``csr``, a ``to_csr(G)``, is given).

    >>> G = nx.MultiGraph(); G.add_node("a", lat=1.0, lon=2.0); G.add_node("b")
    >>> [x.tolist() for x in node_coords(G)]
    [[1.0, nan], [2.0, nan]]
    """
    a = csr.attrs if csr is not None else NodeAttributes(list(G._node.values()))
    return a.numbers["lat"], a.numbers["lon"]


def _polygons(geo: dict[str, Any]) -> list[list[list[list[float]]]]:
    t = geo.get("type")
    if t == "FeatureCollection":
        return [p for f in geo["features"] for p in _polygons(f)]
    if t == "Feature":
        return _polygons(geo["geometry"])
    if t == "Polygon":
        return [geo["coordinates"]]
    if t == "MultiPolygon":
        return list(geo["coordinates"])
    raise ValueError(f"GeoJSON type {t!r} is not a Polygon, MultiPolygon, Feature(Collection)")


def _in_ring(x: np.ndarray, y: np.ndarray, ring: np.ndarray) -> np.ndarray:
    inside = np.zeros(x.shape, bool)
    xs, ys = ring[:, 0], ring[:, 1]
    xj, yj = np.roll(xs, 1), np.roll(ys, 1)
    for xi_, yi_, xj_, yj_ in zip(xs, ys, xj, yj, strict=True):
        crosses = (yi_ > y) != (yj_ > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = (xj_ - xi_) * (y - yi_) / (yj_ - yi_) + xi_
        inside ^= crosses & (x < xint)
    return inside


def points_in_geojson(lon: np.ndarray, lat: np.ndarray, geo: dict[str, Any]) -> np.ndarray:
    """Points inside a GeoJSON (Multi)Polygon, Feature or FeatureCollection (holes respected).

    Coordinates are GeoJSON order ``[lon, lat]``; even-odd ray casting, vectorised over points.

    Notes
    -----
    O(points x vertices).

    >>> sq = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    >>> points_in_geojson(np.array([1.0, 3.0]), np.array([1.0, 1.0]), sq).tolist()
    [True, False]
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    out = np.zeros(x.shape, bool)
    for poly in _polygons(geo):
        inside = np.zeros(x.shape, bool)
        for ring in poly:  # exterior then holes: even-odd toggling handles both
            inside ^= _in_ring(x, y, np.asarray(ring, dtype=float)[:, :2])
        out |= inside
    return out & ~np.isnan(x) & ~np.isnan(y)
