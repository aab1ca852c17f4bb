"""The scenario ensemble: weighted samples of damage, power loss and repair over time.

An ensemble file (YAML) lists scenarios of :mod:`resilience.scenarios`, each with a weight
(likelihood) and how long its damage lasts::

    horizon_hours: 168
    scenarios:
      - weight: 0.4
        file: ../scenarios/wajima-earthquake.yaml     # or `scenario: {type: ..., ...}` inline
        repair_hours: 120          # damaged sites and cut links are back after this
        power_hours: [24, 72, 168] # grid off for one of these (drawn in turn), sites in the
        power_radius_km: 30        #   damaged area (earthquake: within this of the epicentre)

``runs`` samples in all are shared out by weight (at least one per scenario): an earthquake
draws its damage anew in each sample (seeded fragility Monte Carlo), a power outage or a cut
takes the next ``power_hours`` value. A sample's weight is its scenario's weight over the
samples drawn for it; weights are normalised to sum to 1 (the objective is an expectation).

A :class:`Sample` holds, sparsely, per node the time grid power goes off and comes back and the
time a damaged node is repaired, per link the time it is cut and repaired, per shared-risk
group the same (links take their groups' intervals: earliest cut, latest repair), and portable
generators arriving (the replay of a real event). Pure: nothing here reads files but
:func:`load_ensemble`.

Example
-------
>>> import networkx as nx
>>> from resilience.analysis import to_csr
>>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
>>> G.nodes["A"].update(power_feed="F1", battery_hours=3, subscribers=10)
>>> ens = build_ensemble(G, to_csr(G), [{"scenario": {"type": "power_outage", "feeds": ["F1"],
...     "hours": 24}, "power_hours": [6, 24]}], runs=2)
>>> [(s.name, float(s.on_at[0])) for s in ens.samples]
[('power_outage', 6.0), ('power_outage', 24.0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from resilience.topology.compiled import CSRGraph

__all__ = ["Sample", "Ensemble", "build_ensemble", "load_ensemble", "read_ensemble",
           "replay_sample", "ENTRY_KEYS"]

ENTRY_KEYS = {"weight", "file", "scenario", "repair_hours", "power_hours", "power_radius_km", "name"}
_E = np.empty(0, np.int64)
_F = np.empty(0, np.float64)


@dataclass
class Sample:
    """One weighted draw of a scenario (times in hours from the event; ``inf``: never).

    ``power_nodes`` lose grid at ``off_at`` until ``on_at``; ``broken_nodes`` are down until
    ``broken_until``; ``cut_links`` are down from ``link_cut`` to ``link_fix``; ``cut_groups``
    (group indices of ``csr.srlg_groups``) from ``group_cut`` to ``group_fix``;
    ``gen_nodes`` get a portable generator at ``gen_at``.
    """

    name: str
    weight: float
    power_nodes: np.ndarray = field(default_factory=lambda: _E)
    off_at: np.ndarray = field(default_factory=lambda: _F)
    on_at: np.ndarray = field(default_factory=lambda: _F)
    broken_nodes: np.ndarray = field(default_factory=lambda: _E)
    broken_until: np.ndarray = field(default_factory=lambda: _F)
    cut_links: np.ndarray = field(default_factory=lambda: _E)
    link_cut: np.ndarray = field(default_factory=lambda: _F)
    link_fix: np.ndarray = field(default_factory=lambda: _F)
    cut_groups: np.ndarray = field(default_factory=lambda: _E)
    group_cut: np.ndarray = field(default_factory=lambda: _F)
    group_fix: np.ndarray = field(default_factory=lambda: _F)
    gen_nodes: np.ndarray = field(default_factory=lambda: _E)
    gen_at: np.ndarray = field(default_factory=lambda: _F)


@dataclass
class Ensemble:
    """Samples (weights summing to 1), the horizon in hours, and the scenario names in order."""

    samples: list[Sample]
    horizon_h: float = 168.0
    names: list[str] = field(default_factory=list)

    def without(self, name: str) -> tuple[Ensemble, Ensemble]:
        """``(the rest, the held-out scenario)``, each re-normalised."""
        keep = [s for s in self.samples if s.name != name]
        out = [s for s in self.samples if s.name == name]
        if not out or not keep:
            raise ValueError(f"cannot hold out {name!r}: scenarios are {', '.join(self.names)}")
        return (_normalised(keep, self.horizon_h, [n for n in self.names if n != name]),
                _normalised(out, self.horizon_h, [name]))


def _normalised(samples: list[Sample], horizon: float, names: list[str]) -> Ensemble:
    tot = sum(s.weight for s in samples)
    for s in samples:
        s.weight = s.weight / tot if tot > 0 else 1.0 / len(samples)
    return Ensemble(samples, horizon, names)


def _hours_list(v: Any, where: str) -> list[float]:
    vals = v if isinstance(v, list) else [v]
    out = []
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, int | float) or not (0 <= float(x) < math.inf):
            raise ValueError(f"{where}: hours must be finite numbers >= 0, not {x!r}")
        out.append(float(x))
    if not out:
        raise ValueError(f"{where}: at least one value")
    return out


def build_ensemble(
    G: nx.MultiGraph,
    csr: CSRGraph,
    entries: list[dict[str, Any]],
    *,
    runs: int = 200,
    horizon_h: float = 168.0,
    seed: int = 0,
) -> Ensemble:
    """Draw the samples of an ensemble over the network.

    Parameters
    ----------
    G : networkx.MultiGraph
    csr : CSRGraph
        ``to_csr(G)``.
    entries : list of dict
        ``{scenario: {...} (a scenario mapping, as in ``config/scenarios``), weight,
        repair_hours, power_hours, power_radius_km, name}``.
    runs : int
        Samples in all, shared out by weight (at least one per scenario).
    horizon_h : float
        Hours counted by the objective.
    seed : int
        Seed of the earthquake draws.

    Returns
    -------
    Ensemble

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> _ = G.add_edge("C", "A", "L2", srlg=("R",))
    >>> from resilience.analysis import to_csr
    >>> e = build_ensemble(G, to_csr(G), [{"scenario": {"type": "srlg", "groups": ["R"]},
    ...                                    "repair_hours": 48}], runs=1)
    >>> e.samples[0].group_fix.tolist(), e.names
    ([48.0], ['srlg'])
    """
    from resilience.scenarios import scenario_from_dict
    from resilience.scenarios.earthquake import Earthquake
    from resilience.scenarios.geo import haversine_km, node_coords
    from resilience.scenarios.power import PowerOutage
    from resilience.scenarios.srlg import SRLGCut

    if not entries:
        raise ValueError("the ensemble has no scenarios")
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    parsed = []
    for i, e in enumerate(entries):
        where = f"scenarios[{i}]"
        if not isinstance(e, dict):
            raise ValueError(f"{where}: must be a mapping")
        bad = set(e) - ENTRY_KEYS
        if bad:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, bad)))}")
        sd = e.get("scenario")
        if not isinstance(sd, dict):
            raise ValueError(f"{where}: needs 'scenario' (a mapping) or 'file'")
        try:
            sc = scenario_from_dict(sd)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        w = e.get("weight", 1.0)
        if isinstance(w, bool) or not isinstance(w, int | float) or not (0 < float(w) < math.inf):
            raise ValueError(f"{where}: weight must be a positive number, not {w!r}")
        rep = _hours_list(e.get("repair_hours", horizon_h), f"{where}: repair_hours")[0]
        ph = e.get("power_hours")
        if ph is None and isinstance(sc, PowerOutage):
            ph = sc.hours
        powh = _hours_list(ph, f"{where}: power_hours") if ph is not None else []
        rad = e.get("power_radius_km")
        name = str(e.get("name") or sc.name or sc.type)
        parsed.append((name, sc, float(w), rep, powh, rad))
    names = [p[0] for p in parsed]
    dup = {n for n in names if names.count(n) > 1}
    if dup:  # distinct names: held-out scenarios are named
        k = 0
        for j, p in enumerate(parsed):
            if p[0] in dup:
                k += 1
                parsed[j] = (f"{p[0]} #{k}", *p[1:])
        names = [p[0] for p in parsed]
    W = sum(p[2] for p in parsed)
    counts = [max(1, round(runs * p[2] / W)) for p in parsed]
    rng = np.random.default_rng(seed)
    lat, lon = node_coords(G, csr)
    samples: list[Sample] = []
    ginfo = {g: i for i, g in enumerate(csr.srlg_groups[0])}
    for (name, sc, w, rep, powh, rad), k in zip(parsed, counts, strict=True):
        base = Sample(name, w / k)
        if isinstance(sc, SRLGCut):
            dmg = sc.damage(G, csr)  # validates the groups
            gi = np.array([ginfo[g] for g in sc.groups], np.int64)
            base.cut_groups, base.group_cut = gi, np.zeros(len(gi))
            base.group_fix = np.full(len(gi), rep)
        elif isinstance(sc, PowerOutage):
            pn = np.flatnonzero(sc.affected(G, csr))
            base.power_nodes = pn
        elif not isinstance(sc, Earthquake):
            dmg = sc.damage(G, csr)
            bn = np.flatnonzero(dmg.nodes)
            bl = np.flatnonzero(dmg.links)
            base.broken_nodes, base.broken_until = bn, np.full(len(bn), rep)
            base.cut_links, base.link_cut, base.link_fix = bl, np.zeros(len(bl)), np.full(len(bl), rep)
        p = cand = None
        if isinstance(sc, Earthquake):
            p = sc.probability(G, csr)
            cand = np.flatnonzero(p > 0)
            qrng = np.random.default_rng([sc.seed, seed])
        area = None
        if rad is not None and not isinstance(sc, PowerOutage):
            r = float(rad)
            if isinstance(sc, Earthquake):
                d = haversine_km(sc.lat, sc.lon, lat, lon)
            else:
                c = getattr(sc, "center", None) or getattr(sc, "centre", None)
                if c is None:
                    raise ValueError(f"{name}: power_radius_km needs an earthquake or a disc region")
                d = haversine_km(c[0] if not isinstance(c, dict) else c["lat"],
                                 c[1] if not isinstance(c, dict) else c["lon"], lat, lon)
            area = np.flatnonzero(np.nan_to_num(d, nan=np.inf) <= r)
        for j in range(k):
            s = Sample(name, base.weight, base.power_nodes, base.off_at, base.on_at,
                       base.broken_nodes, base.broken_until, base.cut_links, base.link_cut,
                       base.link_fix, base.cut_groups, base.group_cut, base.group_fix)
            if p is not None:
                bn = cand[qrng.random(len(cand)) < p[cand]]
                s.broken_nodes, s.broken_until = bn, np.full(len(bn), rep)
            if area is not None:
                s.power_nodes = area
            if powh:
                h = powh[j % len(powh)]
                s.off_at = np.zeros(len(s.power_nodes))
                s.on_at = np.full(len(s.power_nodes), h)
            elif len(s.power_nodes):
                s.off_at = np.zeros(len(s.power_nodes))
                s.on_at = np.full(len(s.power_nodes), math.inf)
            samples.append(s)
    _ = rng
    return _normalised(samples, float(horizon_h), names)


def read_ensemble(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Read an ensemble YAML (``scenarios`` entries, ``file`` paths relative to it) or a single
    scenario YAML (one entry of weight 1, plus ``weight``/``repair_hours``/``power_hours`` keys
    if present). Returns ``(entries, options)`` with ``horizon_hours`` / ``runs`` if given.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "e.yaml")
    >>> _ = open(p, "w").write("type: srlg\\ngroups: [R1]\\nweight: 2\\n")
    >>> read_ensemble(p)[0][0]["weight"]
    2
    """
    from resilience.yamlfile import read_yaml_file

    p = Path(path)
    d = read_yaml_file(p, what="scenario ensemble")
    if not isinstance(d, dict):
        raise ValueError(f"{p}: must be a mapping (a scenario, or an ensemble with 'scenarios')")
    if "scenarios" not in d:
        extra = {k: d.pop(k) for k in ("weight", "repair_hours", "power_hours", "power_radius_km")
                 if k in d}
        return [{"scenario": d, **extra}], {}
    bad = set(d) - {"scenarios", "horizon_hours", "runs", "description"}
    if bad:
        raise ValueError(f"{p}: unknown key(s) {', '.join(sorted(map(str, bad)))}")
    entries = []
    for i, e in enumerate(d.get("scenarios") or []):
        if isinstance(e, dict) and "file" in e:
            e = dict(e)
            f = p.parent / str(e.pop("file"))
            sub, _ = read_ensemble(f)
            if len(sub) != 1:
                raise ValueError(f"{p}: scenarios[{i}]: file {f} must hold one scenario")
            sd = sub[0]["scenario"]
            e = {**{k: v for k, v in sub[0].items() if k != "scenario"}, **e, "scenario": sd}
        entries.append(e)
    if not entries:
        raise ValueError(f"{p}: scenarios: must be a non-empty list")
    opts = {k: d[k] for k in ("horizon_hours", "runs") if k in d}
    return entries, opts


def load_ensemble(paths: list[str | Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Entries of several files in order (the options of the last file that gives them).

    >>> load_ensemble([])
    ([], {})
    """
    entries: list[dict[str, Any]] = []
    opts: dict[str, Any] = {}
    for path in paths:
        e, o = read_ensemble(path)
        entries += e
        opts.update(o)
    return entries, opts


def replay_sample(csr: CSRGraph, replay: Any, name: str = "noto-2024") -> Sample:
    """A recorded event (:func:`resilience.sample.noto2024.simulate_noto_2024`) as one sample on
    ``csr`` (the replay's inventory, satellite restoration links included).

    Times come from the replay's steps (hourly for three days, then 6-hourly and daily): grid
    off/on per power feed, each link's first down and next up, each node's first step on a
    portable generator. Battery runtimes are the inventory's (the replay ages them: the
    evaluator takes the inventory figure for everyone, hardened or not).

    >>> from resilience.sample.noto2024 import simulate_noto_2024  # doctest: +SKIP
    """
    steps = replay.steps
    t0 = steps[0][0]
    hours = np.array([(s[0] - t0).total_seconds() / 3600 for s in steps]) - 1 / 6
    feeds = steps[0][1]["power_feed"].to_numpy()
    off_state = np.stack([s[1]["state"].to_numpy() == "off" for s in steps])  # steps x feeds
    link_down = np.stack([s[2]["state"].to_numpy() == "down" for s in steps])
    gen = np.stack([s[3]["power"].to_numpy() == "generator" for s in steps])

    def first_last(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        anyk = mask.any(axis=0)
        first = np.where(anyk, hours[np.argmax(mask, axis=0)], np.inf)
        # back at the first step after the first down step that is not down
        after = np.cumsum(mask, axis=0) > 0
        back = after & ~mask
        anyb = back.any(axis=0)
        last = np.where(anyb, hours[np.argmax(back, axis=0)], np.inf)
        return np.maximum(first, 0.0), np.where(anyk, last, np.inf)

    f_off, f_on = first_last(off_state)
    l_cut, l_fix = first_last(link_down)
    nid = replay.steps[0][3]["node_id"].to_numpy()
    nidx = np.array([csr.node_index[x] for x in nid])
    feed_of = {f: i for i, f in enumerate(feeds)}
    pf = np.array([feed_of.get(str(d.get("power_feed")), -1) for d in csr.node_data])
    pn = np.flatnonzero((pf >= 0) & np.isfinite(np.where(pf >= 0, f_off[np.maximum(pf, 0)], np.inf)))
    lid = replay.steps[0][2]["link_id"].to_numpy()
    lidx = np.array([csr.link_index[x] for x in lid])
    lc = np.full(csr.m, np.inf)
    lf = np.full(csr.m, np.inf)
    lc[lidx], lf[lidx] = l_cut, l_fix
    # shared-risk groups: cut when most of their links are (earliest cut, latest repair)
    gnames, gptr, glinks = csr.srlg_groups
    cg, gc, gf = [], [], []
    explained = np.zeros(csr.m, bool)
    for g in range(len(gnames)):
        ls = glinks[gptr[g]:gptr[g + 1]]
        cut = np.isfinite(lc[ls])
        if cut.mean() >= 0.8:
            cg.append(g)
            gc.append(float(lc[ls][cut].min()))
            gf.append(float(lf[ls][cut].max()))
            explained[ls] = True
    cl = np.flatnonzero(np.isfinite(lc) & ~explained)
    batt = np.array([float(d.get("battery_hours", 0) or 0) for d in csr.node_data])
    # portable generators: on generator while the inventory has a finite battery
    g_first = np.where(gen.any(axis=0), hours[np.argmax(gen, axis=0)], np.inf)
    gn_rep = np.flatnonzero(np.isfinite(g_first))
    gnodes = nidx[gn_rep]
    keep = np.isfinite(batt[gnodes])
    return Sample(
        name, 1.0,
        power_nodes=pn, off_at=f_off[pf[pn]], on_at=f_on[pf[pn]],
        cut_links=cl, link_cut=lc[cl], link_fix=lf[cl],
        cut_groups=np.array(cg, np.int64), group_cut=np.array(gc), group_fix=np.array(gf),
        gen_nodes=gnodes[keep], gen_at=g_first[gn_rep][keep],
    )
