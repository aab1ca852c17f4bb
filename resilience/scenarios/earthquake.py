"""Earthquake: nodes fail at random with a fragility curve, run as a seeded Monte Carlo.

The damage probability of each node comes from a fragility curve over either its distance to
the epicentre (hypocentral when ``depth_km`` is given) or a seismic intensity (a per-node shake
map, or intensity by distance). Curves are piecewise linear (``x``, ``p`` points, clamped at the
ends) or lognormal (``median``, ``beta``: ``p = Phi(ln(x / median) / beta)``, the usual
HAZUS-style form for an intensity measure such as PGA).

Each of ``runs`` runs draws the failed nodes (vectorised, ``numpy.random.default_rng(seed)``) and
recounts served nodes with one compiled BFS over masks; the answer holds mean, p50 and p95 of
subscribers and nodes lost and each node's probability of being cut off. The deterministic part
of the what-if answer (``scenario``, ``lost``, ``new_spofs``) uses the *likely* damage: the nodes
with damage probability >= 0.5; the statistics are under ``monte_carlo``.

Example
-------
>>> import networkx as nx
>>> from resilience.scenarios import run_whatif
>>> G = nx.MultiGraph([("C", "A", "L1")])
>>> G.nodes["C"].update(kind="core", lat=36.0, lon=136.0, subscribers=0)
>>> G.nodes["A"].update(lat=37.0, lon=137.0, subscribers=100)
>>> q = Earthquake(lat=37.0, lon=137.0, fragility=Fragility(x=[0, 50], p=[1.0, 0.0]), runs=10)
>>> run_whatif(G, q)["monte_carlo"]["subscribers_lost"]["mean"]
100.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from resilience.analysis.blast import BlastArrays, blast_arrays
from resilience.analysis.traversal import bfs_into
from resilience.jit import njit
from resilience.scenarios.base import Damage, Scenario
from resilience.scenarios.geo import haversine_km, lat_lon, node_coords, number
from resilience.topology.compiled import CSRGraph

__all__ = ["Earthquake", "Fragility", "MAX_RUNS"]

#: Monte Carlo runs accepted at most (each run is one BFS over the whole network).
MAX_RUNS = 100_000


@dataclass
class Fragility:
    """Damage probability as a function of distance (km) or intensity.

    Parameters
    ----------
    x, p : sequences of float, optional
        Piecewise-linear curve points (``x`` increasing), clamped outside.
    median, beta : float, optional
        Lognormal curve instead: ``p = Phi(ln(x / median) / beta)`` (increasing in x).
    measure : {"distance_km", "intensity"}
        What ``x`` is.

    Examples
    --------
    >>> Fragility(x=[0, 10, 20], p=[0.8, 0.4, 0.0])(np.array([5.0, 30.0])).tolist()
    [0.6000000000000001, 0.0]
    >>> round(float(Fragility(median=0.5, beta=0.6, measure="intensity")(np.array([0.5]))[0]), 2)
    0.5
    """

    x: list[float] | None = None
    p: list[float] | None = None
    median: float | None = None
    beta: float | None = None
    measure: str = "distance_km"

    def __post_init__(self) -> None:
        if self.measure not in ("distance_km", "intensity"):
            raise ValueError("fragility measure must be distance_km or intensity")
        if self.x is not None and self.p is not None:
            x = np.asarray(self.x, dtype=float)
            p = np.asarray(self.p, dtype=float)
            if x.shape != p.shape or x.size == 0 or np.any(np.diff(x) < 0):
                raise ValueError("fragility x and p need the same length, x increasing")
            if not (np.isfinite(x).all() and np.isfinite(p).all()):
                raise ValueError("fragility x and p must be finite numbers")
            if np.any((p < 0) | (p > 1)):
                raise ValueError("fragility probabilities must be within [0, 1]")
        elif self.median is None or self.beta is None:
            raise ValueError("fragility needs x and p, or a positive median and beta")
        else:
            self.median = number(self.median, "fragility median", above=0)
            self.beta = number(self.beta, "fragility beta", above=0)

    def __call__(self, value: np.ndarray) -> np.ndarray:
        v = np.asarray(value, dtype=float)
        if self.x is not None:
            out = np.interp(v, self.x, self.p)  # type: ignore[arg-type]
        else:
            from scipy.special import ndtr

            with np.errstate(divide="ignore"):
                z = np.log(np.maximum(v, 0) / self.median) / self.beta  # type: ignore[operator]
            out = ndtr(z)
        return np.where(np.isnan(v), 0.0, out)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"measure": self.measure}
        if self.x is not None:
            d.update(x=list(map(float, self.x)), p=list(map(float, self.p or [])))
        else:
            d.update(median=self.median, beta=self.beta)
        return d


@njit(cache=True)
def _mc_kernel(indptr, nbr, eid, node_ok, link_ok, roots, base_served, w, cand, fails):
    runs = fails.shape[0]  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    lost_n = np.zeros(runs, np.int64)
    lost_w = np.zeros(runs, np.float64)
    cut_count = np.zeros(n, np.int64)
    ok = node_ok.copy()
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    for r in range(runs):
        for j in range(cand.shape[0]):
            ok[cand[j]] = node_ok[cand[j]] and not fails[r, j]
        seen[:] = False
        bfs_into(indptr, nbr, eid, ok, link_ok, roots, seen, queue)
        for v in range(n):
            if base_served[v] and not seen[v]:
                lost_n[r] += 1
                lost_w[r] += w[v]
                cut_count[v] += 1
    return lost_n, lost_w, cut_count


@dataclass
class Earthquake(Scenario):
    """An earthquake at (lat, lon) damaging nodes by a fragility curve, as a Monte Carlo.

    Parameters
    ----------
    lat, lon : float
        Epicentre (latitude within -90..90, longitude within -180..180).
    fragility : Fragility
    depth_km : float
        Hypocentre depth (finite, >= 0); distances are hypocentral ``sqrt(d^2 + depth^2)``.
    intensity : dict, optional
        Node id -> intensity (a shake map) when ``fragility.measure == 'intensity'``; nodes not
        listed get NaN (no damage).
    intensity_by_distance : dict, optional
        ``{"distance_km": [...], "intensity": [...]}``: piecewise-linear attenuation used for
        nodes without a shake-map value.
    runs : int
        Monte Carlo runs, 1 to :data:`MAX_RUNS`.
    seed : int
        Seed of ``numpy.random.default_rng`` (>= 0): same seed, same answer.
    name : str

    Notes
    -----
    Draws are vectorised per batch of runs; each run is one BFS over masks, O(runs (n + m)).

    Examples
    --------
    >>> Earthquake(lat=37.5, lon=137.3, fragility=Fragility(x=[0, 30], p=[0.5, 0.0])).to_dict()["runs"]
    1000
    """

    lat: float = 0.0
    lon: float = 0.0
    fragility: Fragility = field(default_factory=lambda: Fragility(x=[0.0], p=[0.0]))
    depth_km: float = 0.0
    intensity: dict[str, float] | None = None
    intensity_by_distance: dict[str, list[float]] | None = None
    runs: int = 1000
    seed: int = 0
    name: str = ""
    type: ClassVar[str] = "earthquake"

    def __post_init__(self) -> None:
        self.lat, self.lon = lat_lon(self.lat, self.lon, "epicentre")
        self.depth_km = number(self.depth_km, "depth_km", low=0)
        runs = number(self.runs, "earthquake runs", low=1, high=MAX_RUNS)
        seed = number(self.seed, "earthquake seed", low=0)
        if runs != int(runs) or seed != int(seed):
            raise ValueError("earthquake runs and seed must be whole numbers")
        self.runs, self.seed = int(runs), int(seed)
        if isinstance(self.fragility, dict):
            self.fragility = Fragility(**self.fragility)
        if (
            self.fragility.measure == "intensity"
            and self.intensity is None
            and self.intensity_by_distance is None
        ):
            raise ValueError("an intensity fragility needs 'intensity' or 'intensity_by_distance'")

    def probability(self, G: nx.MultiGraph, csr: CSRGraph | None = None) -> np.ndarray:
        """Damage probability of each node (graph order); ``csr``: a reused ``to_csr(G)``."""
        lat, lon = node_coords(G, csr)
        dist = np.sqrt(haversine_km(self.lat, self.lon, lat, lon) ** 2 + self.depth_km**2)
        if self.fragility.measure == "distance_km":
            return self.fragility(dist)
        val = np.full(len(G), np.nan)
        if self.intensity_by_distance is not None:
            t = self.intensity_by_distance
            val = np.interp(dist, t["distance_km"], t["intensity"])
            val[np.isnan(dist)] = np.nan
        if self.intensity is not None:
            for i, n in enumerate(G):
                if n in self.intensity:
                    val[i] = float(self.intensity[n])
        return self.fragility(val)

    def damage(self, G: nx.MultiGraph, csr: CSRGraph) -> Damage:
        """The likely damage: nodes with damage probability >= 0.5."""
        return Damage(self.probability(G, csr) >= 0.5, np.zeros(csr.m, bool))

    def evaluate(
        self, G: nx.MultiGraph, csr: CSRGraph, roots: np.ndarray, base: BlastArrays
    ) -> tuple[Damage, BlastArrays]:
        p = self.probability(G, csr)
        likely = Damage(p >= 0.5, np.zeros(csr.m, bool))
        after = blast_arrays(
            csr, roots=roots, node_ok=csr.node_up & ~likely.nodes, link_ok=csr.link_up
        )
        cand = np.nonzero((p > 0) & csr.node_up)[0].astype(np.int64)
        rng = np.random.default_rng(self.seed)
        lost_n = np.zeros(self.runs, np.int64)
        lost_w = np.zeros(self.runs, np.float64)
        cut = np.zeros(csr.n, np.int64)
        batch = max(1, min(self.runs, int(2e7 // max(len(cand), 1))))
        base_served = base.dfs.served
        for start in range(0, self.runs, batch):
            k = min(batch, self.runs - start)
            fails = rng.random((k, len(cand))) < p[cand]
            ln, lw, cc = _mc_kernel(
                csr.indptr,
                csr.nbr,
                csr.eid,
                csr.node_up,
                csr.link_up,
                roots,
                base_served,
                csr.weight,
                cand,
                fails,
            )
            lost_n[start : start + k] = ln
            lost_w[start : start + k] = lw
            cut += cc
        prob = cut / self.runs
        order = np.argsort(-prob, kind="stable")
        top = [(csr.nodes[i], float(prob[i])) for i in order[:100] if prob[i] > 0]

        def stats(x: np.ndarray) -> dict[str, float]:
            return {
                "mean": float(np.mean(x)),
                "p50": float(np.percentile(x, 50)),
                "p95": float(np.percentile(x, 95)),
                "max": float(np.max(x)),
            }

        likely.extras = {
            "monte_carlo": {
                "runs": self.runs,
                "seed": self.seed,
                "subscribers_lost": stats(lost_w),
                "nodes_lost": stats(lost_n),
                "node_out_probability": dict(top),
                "expected_damaged_nodes": float(p[csr.node_up].sum()),
            }
        }
        return likely, after

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "epicentre": {"lat": self.lat, "lon": self.lon},
            "depth_km": self.depth_km,
            "fragility": self.fragility.to_dict(),
            "runs": self.runs,
            "seed": self.seed,
        }
        if self.intensity is not None:
            d["intensity"] = dict(self.intensity)
        if self.intensity_by_distance is not None:
            d["intensity_by_distance"] = self.intensity_by_distance
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Earthquake:
        """From ``{epicentre: {lat, lon}, depth_km, fragility: {...}, runs, seed, ...}``."""
        e = d.get("epicentre") or d.get("epicenter") or {}
        lat, lon = e.get("lat", d.get("lat")), e.get("lon", d.get("lon"))
        if lat is None or lon is None or "fragility" not in d:
            raise ValueError("earthquake scenario needs epicentre {lat, lon} and fragility")
        if not isinstance(d["fragility"], dict):
            raise ValueError("earthquake fragility must be a mapping (x and p, or median and beta)")
        return cls(
            lat=lat,
            lon=lon,
            fragility=Fragility(**d["fragility"]),
            depth_km=d.get("depth_km") or 0.0,
            intensity=d.get("intensity"),
            intensity_by_distance=d.get("intensity_by_distance"),
            runs=d.get("runs") or 1000,
            seed=d.get("seed") or 0,
            name=str(d.get("name") or ""),
        )
