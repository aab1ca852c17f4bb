"""The hardening planner: which measures to buy within a budget, and what each yen buys.

:class:`HardeningProblem` holds, per ensemble sample, only the part of the network that is out
at some time in that sample (measures only ever help, so a site never out stays served and acts
as a root), as compiled-kernel arrays (:mod:`~resilience.hardening.evaluate`). Candidates are
the catalogue's measures at the sites (and links) out in some sample; a candidate's benefit is
the drop in expected subscriber-hours lost, evaluated only over the samples it touches.

:func:`plan_hardening` buys by benefit per yen with lazy re-evaluation (CELF: a stale benefit
is recomputed only when it reaches the top of the queue), compares with the best single
affordable measure (the classic fix of ratio greedy for budgets), and computes the frontier
(budget to expected loss along the purchases) and the baselines ``none``, ``uniform`` (the
same battery upgrade everywhere, in inventory order, until the money runs out) and
``largest`` (sites by subscribers they carry, largest first, each the catalogue's ``largest``
measure) the same way. :func:`exact_plan` enumerates every affordable set on small cases.

Example
-------
>>> import io, pandas as pd
>>> from resilience.sample.known import KNOWN_NODES_CSV, KNOWN_LINKS_CSV
>>> from resilience.topology import build_graph
>>> from resilience.hardening.measures import catalogue_from_dict
>>> G = build_graph(pd.read_csv(io.StringIO(KNOWN_NODES_CSV)), pd.read_csv(io.StringIO(KNOWN_LINKS_CSV)))
>>> cat = catalogue_from_dict({"measures": [{"id": "b24", "type": "battery", "hours": 24, "cost": 3}]})
>>> out = plan_hardening(G, cat, [{"scenario": {"type": "power_outage", "feeds": ["F2"],
...     "hours": 12}}], budget=3, runs=1)
>>> [(p["site"], p["expected_subscriber_hours_saved"]) for p in out["plan"]]
[('B3', 3600.0)]
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from resilience.hardening.ensemble import Ensemble, Sample, build_ensemble
from resilience.hardening.evaluate import (
    OP_EDGE,
    OP_KIT,
    OP_LINK,
    OP_POWER,
    Scratch,
    extra_mask,
    gains,
    local_csr,
    sweep,
    sweep_cached,
)
from resilience.hardening.measures import POWER_TYPES, Catalogue, Measure
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = ["HardeningProblem", "Candidate", "plan_hardening", "exact_plan", "BASELINES",
           "build_hardening_problem", "baseline_candidates", "score_on"]

BASELINES = ("none", "uniform", "largest")
_E = np.empty(0, np.int64)
_NT = np.empty(0, np.float64)


@dataclass
class Candidate:
    """One purchasable measure: at ``node`` (a site) or on ``link`` leaving ``group``;
    ``target``: the far end of a second route; ``km``: its length (or the link's)."""

    measure: Measure
    node: int = -1
    link: int = -1
    group: int = -1
    target: int = -1
    km: float = 0.0
    cost: float = 0.0
    samples: np.ndarray = field(default_factory=lambda: _E)
    lidx: np.ndarray | None = None  # the site's local index in each of ``samples`` (site measures)


@dataclass
class _Local:
    sample: Sample
    nodes: np.ndarray  # global ids, sorted
    out: np.ndarray  # local mask: out at some time (others are roots)
    links: np.ndarray  # global link ids
    indptr: np.ndarray
    nbr: np.ndarray
    eid: np.ndarray
    roots: np.ndarray
    wp: np.ndarray
    off: np.ndarray
    on: np.ndarray
    runtime: np.ndarray
    broken: np.ndarray
    gen: np.ndarray
    cut: np.ndarray
    fix: np.ndarray
    xa: np.ndarray = field(default_factory=lambda: _E)
    xb: np.ndarray = field(default_factory=lambda: _E)
    is_root: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    lu: np.ndarray = field(default_factory=lambda: _E)  # local ends of the local links
    lv: np.ndarray = field(default_factory=lambda: _E)
    loss: float = 0.0
    cache: tuple | None = None
    cache0: tuple | None = None
    _hx: tuple | None = None  # (xa it was made for, extra_mask)

    def has_x(self) -> np.ndarray:
        """:func:`~resilience.hardening.evaluate.extra_mask` of the extra edges now (cached)."""
        if self._hx is None or self._hx[0] is not self.xa:
            self._hx = (self.xa, extra_mask(len(self.nodes), self.xa, self.xb))
        return self._hx[1]

    def indices(self, g: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`index`: local indices of global nodes ``g`` (-1: not out here)."""
        i = np.searchsorted(self.nodes, g)
        ok = i < len(self.nodes)
        i = np.where(ok, i, 0)
        ok &= (self.nodes[i] == g) & self.out[i]
        return np.where(ok, i, -1)

    def index(self, g: int) -> int:
        """Local index of global node ``g`` if it is out at some time in this sample, else -1."""
        i = int(np.searchsorted(self.nodes, g))
        return i if i < len(self.nodes) and self.nodes[i] == g and self.out[i] else -1

    def arrays(self, runtime=None, xa=None, xb=None, cut=None, fix=None) -> tuple:
        return (self.indptr, self.nbr, self.eid, self.roots, self.wp, self.off, self.on,
                self.runtime if runtime is None else runtime, self.broken, self.gen,
                self.cut if cut is None else cut, self.fix if fix is None else fix,
                self.xa if xa is None else xa, self.xb if xb is None else xb)

    def evaluate(self, horizon: float, runtime: np.ndarray | None = None,
                 xa: np.ndarray | None = None, xb: np.ndarray | None = None,
                 cut: np.ndarray | None = None, fix: np.ndarray | None = None,
                 window: tuple[float, float] = (0.0, np.inf), watch: tuple[int, int] = (-1, -1),
                 new_times: np.ndarray | None = None) -> float:
        """Loss with the given arrays changed, recomputing only in ``window`` (and, with
        ``watch``, only where those sites are out now); ``new_times``: event times the change
        adds."""
        return sweep_cached(horizon, self.arrays(runtime, xa, xb, cut, fix), self.cache,
                            window, watch, new_times=_NT if new_times is None else new_times)[0]

    def refresh(self, horizon: float, window: tuple[float, float] | None = None,
                watch: tuple[int, int] = (-1, -1), new_times: np.ndarray | None = None) -> None:
        """Recompute the loss and the cache of the current state; with ``window`` (and
        ``watch``, ``new_times``: see :meth:`evaluate`) only where the last change can matter,
        the rest taken from the cache."""
        cache = None if window is None else self.cache
        loss, t, lost, seen = sweep_cached(horizon, self.arrays(), cache, window or (0.0, np.inf),
                                           watch, record=True,
                                           new_times=_NT if new_times is None else new_times)
        self.loss, self.cache = loss, (t, lost, seen)


def _link_interval(groups: list[int], explicit: tuple[float, float] | None,
                   gcut: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """Earliest cut and latest repair over the link's own damage and its cut groups."""
    ivs = ([explicit] if explicit is not None else []) + [gcut[g] for g in groups if g in gcut]
    if not ivs:
        return np.inf, np.inf
    return min(c for c, _ in ivs), max(f for _, f in ivs)


class HardeningProblem:
    """The ensemble over the network as per-sample local arrays, and the plan state.

    Parameters
    ----------
    csr : CSRGraph
    ensemble : Ensemble
    wp : numpy.ndarray
        Priority-weighted subscribers per node.
    runtime : numpy.ndarray
        Battery runtime per node in hours (``inf``: a generator).
    """

    def __init__(self, csr: CSRGraph, ensemble: Ensemble, wp: np.ndarray, runtime: np.ndarray,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.csr = csr
        self.ens = ensemble
        self.H = ensemble.horizon_h
        self.wp = wp
        self.runtime0 = runtime.astype(float)
        gnames, gptr, glinks = csr.srlg_groups
        self.gnames = gnames
        self.gptr, self.glinks = gptr, glinks
        self.ginfo = {g: i for i, g in enumerate(gnames)}
        self.locals: list[_Local] = []
        self.none_loss: list[float] = []
        self.scratch = Scratch()
        for k, s in enumerate(ensemble.samples):
            self.locals.append(self._build_local(s))
            if progress:
                progress(k + 1, len(ensemble.samples))
        self.reset()

    # -- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to no measures bought."""
        self.runtime = self.runtime0.copy()
        self.sat: set[int] = set()
        self.routes: list[tuple[int, int]] = []
        self.left: dict[int, set[int]] = {}
        for loc in self.locals:
            loc.runtime = self.runtime[loc.nodes]
            loc.runtime[~loc.out] = np.inf
            loc.xa = loc.xb = _E
            loc.cut, loc.fix = self._intervals(loc)
        for loc, base in zip(self.locals, self.none_loss, strict=True):
            loc.loss, loc.cache = base, loc.cache0

    def expected_loss(self) -> float:
        """Expected subscriber-hours lost over the ensemble in the current state."""
        return float(sum(loc.sample.weight * loc.loss for loc in self.locals))

    def link_groups(self, e: int) -> list[int]:
        """Group indices link ``e`` belongs to now (after any leave_group bought)."""
        raw = self.csr.link_data[e].get("srlg") or ()
        left = self.left.get(e, set())
        return [self.ginfo[g] for g in raw if g in self.ginfo and self.ginfo[g] not in left]

    def _intervals(self, loc: _Local, override: tuple[int, int] | None = None):
        s = loc.sample
        gcut = {int(g): (float(c), float(f)) for g, c, f in zip(s.cut_groups, s.group_cut, s.group_fix,
                                                                strict=True)}
        expl = {int(e): (float(c), float(f)) for e, c, f in zip(s.cut_links, s.link_cut, s.link_fix,
                                                                strict=True)}
        cut = np.full(len(loc.links), np.inf)
        fix = np.full(len(loc.links), np.inf)
        pos = {int(e): i for i, e in enumerate(loc.links)}
        touched: set[int] = set(e for e in expl if e in pos)
        for g in gcut:
            for e in self.glinks[self.gptr[g]:self.gptr[g + 1]].tolist():
                if e in pos:
                    touched.add(e)
        for e in touched:
            gs = self.link_groups(e)
            if override is not None and override[0] == e:
                gs = [g for g in gs if g != override[1]]
            cut[pos[e]], fix[pos[e]] = _link_interval(gs, expl.get(e), gcut)
        return cut, fix

    def _full_arrays(self, s: Sample) -> tuple[np.ndarray, ...]:
        n, m = self.csr.n, self.csr.m
        off = np.full(n, np.inf)
        on = np.full(n, np.inf)
        off[s.power_nodes], on[s.power_nodes] = s.off_at, s.on_at
        broken = np.zeros(n)
        broken[s.broken_nodes] = s.broken_until
        broken[~self.csr.node_up] = np.inf
        gen = np.full(n, np.inf)
        gen[s.gen_nodes] = s.gen_at
        cut = np.full(m, np.inf)
        fix = np.full(m, np.inf)
        for g, c, f in zip(s.cut_groups, s.group_cut, s.group_fix, strict=True):
            ls = self.glinks[self.gptr[g]:self.gptr[g + 1]]
            fix[ls] = np.where(np.isfinite(cut[ls]), np.maximum(fix[ls], f), f)
            cut[ls] = np.minimum(cut[ls], c)
        for e, c, f in zip(s.cut_links, s.link_cut, s.link_fix, strict=True):
            fix[e] = max(fix[e], f) if np.isfinite(cut[e]) else f
            cut[e] = min(cut[e], c)
        down = ~self.csr.link_up
        cut[down], fix[down] = 0.0, np.inf
        return off, on, broken, gen, cut, fix

    def _build_local(self, s: Sample) -> _Local:
        c = self.csr
        off, on, broken, gen, cut, fix = self._full_arrays(s)
        loss, ever = sweep(self.H, c.indptr, c.nbr, c.eid, c.roots, self.wp, off, on,
                           self.runtime0, broken, gen, cut, fix, want_out=True)
        self.none_loss.append(loss)
        out_g = np.flatnonzero(ever)
        inE = ever
        lk = np.flatnonzero(inE[c.eu] | inE[c.ev])
        inL = inE.copy()
        inL[c.eu[lk]] = True
        inL[c.ev[lk]] = True
        nodes = np.flatnonzero(inL)
        pos = np.full(c.n, -1, np.int64)
        pos[nodes] = np.arange(len(nodes))
        lu, lv = pos[c.eu[lk]], pos[c.ev[lk]]
        indptr, nbr, eid = local_csr(len(nodes), lu, lv)
        out = inE[nodes]
        core = np.zeros(c.n, bool)
        core[c.roots] = True
        roots = np.flatnonzero(~out | core[nodes]).astype(np.int64)
        loc = _Local(s, nodes, out, lk, indptr, nbr, eid, roots, self.wp[nodes],
                     np.where(out, off[nodes], np.inf), np.where(out, on[nodes], np.inf),
                     np.where(out, self.runtime0[nodes], np.inf), np.where(out, broken[nodes], 0.0),
                     np.where(out, gen[nodes], np.inf), cut[lk], fix[lk], loss=loss, lu=lu, lv=lv)
        loc.is_root = np.zeros(len(nodes), bool)
        loc.is_root[roots] = True
        _ = out_g
        loc.refresh(self.H)
        loc.cache0 = loc.cache
        return loc

    # -- candidates -------------------------------------------------------------------------

    def _extra(self, loc: _Local, a: int, b: int) -> tuple[int, int] | None:
        la, lb = loc.index(a), (loc.index(b) if b >= 0 else -1)
        if la < 0 and lb < 0:
            return None
        if la < 0:
            return lb, -1
        return la, lb

    def gain(self, cand: Candidate) -> float:
        """Drop in expected subscriber-hours lost if ``cand`` were bought now."""
        mt = cand.measure.type
        if mt == "leave_group":
            return float(self.gains_of([cand])[0])
        total = 0.0
        one = np.zeros(1)
        if mt in POWER_TYPES:
            kd, r = np.array([OP_POWER]), np.array([cand.measure.runtime])
        else:
            kd, r = np.array([OP_KIT if mt == "satellite" else OP_EDGE]), one
        lidx = cand.lidx.tolist() if cand.lidx is not None else [None] * len(cand.samples)
        for k, li in zip(cand.samples.tolist(), lidx, strict=True):
            loc = self.locals[k]
            if mt in POWER_TYPES or (mt == "satellite" and li is not None):
                a, b = (loc.index(cand.node) if li is None else li), -1
            else:
                x = self._extra(loc, cand.node, cand.target if mt == "second_route" else -1)
                if x is None:
                    continue
                a, b = x
            if a < 0:
                continue
            g = gains(self.H, loc.arrays(), loc.is_root, loc.cache, kd, np.array([a]), np.array([b]),
                      r, (one, one, one, one), loc.has_x(), self.scratch)
            total += loc.sample.weight * g[0]
        return total

    def gains_of(self, cands: list[Candidate],
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """:meth:`gain` of each of ``cands`` (each alone, from the current state), in one pass per
        sample: the changes touching a sample go to the compiled incremental kernel
        (:func:`~resilience.hardening.evaluate.gains`) together."""
        nk = len(self.locals)
        ci_site: list[np.ndarray] = []
        k_site: list[np.ndarray] = []
        li_site: list[np.ndarray] = []
        kd_site: list[np.ndarray] = []
        r_site: list[np.ndarray] = []
        route: list[tuple[int, Candidate]] = []
        links: list[tuple[int, Candidate]] = []
        for i, c in enumerate(cands):
            mt = c.measure.type
            ks = c.samples
            if not len(ks):
                continue
            if mt in POWER_TYPES or (mt == "satellite" and c.lidx is not None):
                li = c.lidx if c.lidx is not None else np.array(
                    [self.locals[k].index(c.node) for k in ks.tolist()], np.int64)
                ci_site.append(np.full(len(ks), i, np.int64))
                k_site.append(ks)
                li_site.append(li)
                kd_site.append(np.full(len(ks), OP_POWER if mt in POWER_TYPES else OP_KIT, np.int64))
                r_site.append(np.full(len(ks), c.measure.runtime if mt in POWER_TYPES else 0.0))
            elif mt in ("satellite", "second_route"):
                route.append((i, c))
            else:
                links.append((i, c))
        out = np.zeros(len(cands))
        ops: list[list[np.ndarray]] = [[] for _ in range(nk)]  # per sample: ci, kind, a, b, r, w4
        if ci_site:
            ci, kk, li, kd, rr = (np.concatenate(x) for x in (ci_site, k_site, li_site, kd_site, r_site))
            order = np.argsort(kk, kind="stable")
            ci, kk, li, kd, rr = ci[order], kk[order], li[order], kd[order], rr[order]
            cuts = np.searchsorted(kk, np.arange(nk + 1))
            for k in range(nk):
                sl = slice(cuts[k], cuts[k + 1])
                if sl.start < sl.stop:
                    ops[k].append((ci[sl], kd[sl], li[sl], np.full(sl.stop - sl.start, -1, np.int64),
                                   rr[sl], None))
        if route:
            ci = np.concatenate([np.full(len(c.samples), i, np.int64) for i, c in route])
            kk = np.concatenate([c.samples for _, c in route])
            ga = np.concatenate([np.full(len(c.samples), c.node, np.int64) for _, c in route])
            gb = np.concatenate([np.full(len(c.samples), c.target if c.measure.type == "second_route"
                                         else -1, np.int64) for _, c in route])
            for k in np.unique(kk).tolist():
                sel = kk == k
                loc = self.locals[k]
                la = loc.indices(ga[sel])
                lb = np.where(gb[sel] >= 0, loc.indices(gb[sel]), -1)
                a = np.where(la >= 0, la, lb)
                b = np.where(la >= 0, lb, -1)
                ops[k].append((ci[sel], np.full(len(a), OP_EDGE, np.int64), a, b, np.zeros(len(a)), None))
        for i, c in links:
            for k in c.samples.tolist():
                loc = self.locals[k]
                j = int(np.searchsorted(loc.links, c.link))
                if j >= len(loc.links) or loc.links[j] != c.link or not np.isfinite(loc.cut[j]):
                    continue
                c0, f0 = loc.cut[j], loc.fix[j]
                c1, f1 = self._link_after(loc, c.link, c.group)
                w = ((c0, f0, 0.0, 0.0) if not np.isfinite(c1) else (c0, min(c1, f0), max(f1, c0), f0))
                ops[k].append((np.array([i]), np.array([OP_LINK]), np.array([loc.lu[j]]),
                               np.array([loc.lv[j]]), np.zeros(1), np.array([w], float)))
        done = 0
        for k, lst in enumerate(ops):
            if not lst:
                continue
            loc = self.locals[k]
            ci = np.concatenate([o[0] for o in lst])
            kd = np.concatenate([o[1] for o in lst])
            a = np.concatenate([o[2] for o in lst])
            b = np.concatenate([o[3] for o in lst])
            r = np.concatenate([o[4] for o in lst])
            w = np.concatenate([o[5] if o[5] is not None else np.zeros((len(o[0]), 4)) for o in lst])
            g = gains(self.H, loc.arrays(), loc.is_root, loc.cache, kd, a, b, r,
                      (w[:, 0], w[:, 1], w[:, 2], w[:, 3]), loc.has_x(), self.scratch)
            np.add.at(out, ci, loc.sample.weight * g)
            done += 1
            if progress:
                progress(done, nk)
        return out

    def _link_after(self, loc: _Local, e: int, g: int) -> tuple[float, float]:
        """Cut and repair times of link ``e`` in ``loc``'s sample once it leaves group ``g``."""
        s = loc.sample
        gcut = {int(x): (float(c), float(f)) for x, c, f in zip(s.cut_groups, s.group_cut, s.group_fix,
                                                                strict=True)}
        hit = np.flatnonzero(s.cut_links == e)
        expl = (float(s.link_cut[hit[-1]]), float(s.link_fix[hit[-1]])) if len(hit) else None
        return _link_interval([x for x in self.link_groups(e) if x != g], expl, gcut)

    def gain_by_sweep(self, cand: Candidate) -> float:
        """:meth:`gain` by re-sweeping each touched sample (the reference the incremental
        kernel is tested against)."""
        total = 0.0
        mt = cand.measure.type
        H = self.H
        lidx = cand.lidx.tolist() if cand.lidx is not None else [None] * len(cand.samples)
        for k, li in zip(cand.samples.tolist(), lidx, strict=True):
            loc = self.locals[k]
            if mt in POWER_TYPES:
                li = loc.index(cand.node) if li is None else li
                if li < 0:
                    continue
                old, new_rt = loc.runtime[li], cand.measure.runtime
                lo = max(loc.off[li] + old, loc.broken[li])
                hi = min(loc.on[li], loc.off[li] + new_rt, loc.gen[li], H)
                if not lo < hi:
                    continue
                rt = loc.runtime.copy()
                rt[li] = max(old, new_rt)
                new = loc.evaluate(H, runtime=rt, window=(lo, hi),
                                   new_times=np.array([loc.off[li] + rt[li]]))
            elif mt in ("satellite", "second_route"):
                if mt == "satellite" and li is not None:
                    x = (li, -1)
                else:
                    x = self._extra(loc, cand.node, cand.target if mt == "second_route" else -1)
                if x is None:
                    continue
                seen = loc.cache[2] if loc.cache is not None else None
                if seen is not None and seen[:, x[0]].all() and (x[1] < 0 or seen[:, x[1]].all()):
                    continue  # both ends served throughout: nothing to gain
                if seen is not None and x[1] < 0:  # a kit helps only while its site is alive
                    a = x[0]
                    t = loc.cache[0][~seen[:, a]]
                    alive = (loc.broken[a] <= t) & ((t < loc.off[a]) | (t >= loc.on[a])
                                                    | (t < loc.off[a] + loc.runtime[a]) | (t >= loc.gen[a]))
                    if not alive.any():
                        continue
                new = loc.evaluate(H, xa=np.append(loc.xa, x[0]), xb=np.append(loc.xb, x[1]),
                                   window=(0.0, H), watch=x)
            else:
                j = int(np.searchsorted(loc.links, cand.link))
                if j >= len(loc.links) or loc.links[j] != cand.link or not np.isfinite(loc.cut[j]):
                    continue
                cut, fix = self._intervals(loc, override=(cand.link, cand.group))
                new = loc.evaluate(H, cut=cut, fix=fix, window=(loc.cut[j], loc.fix[j]),
                                   new_times=np.array([cut[j], fix[j]]))
            total += loc.sample.weight * (loc.loss - new)
        return total

    def apply(self, cand: Candidate) -> None:
        """Buy ``cand``: update the state and every touched sample's loss."""
        mt = cand.measure.type
        if mt in POWER_TYPES:
            self.runtime[cand.node] = max(self.runtime[cand.node], cand.measure.runtime)
        elif mt == "satellite":
            self.sat.add(cand.node)
        elif mt == "second_route":
            self.routes.append((cand.node, cand.target))
        else:
            self.left.setdefault(cand.link, set()).add(cand.group)
        H = self.H
        for k in cand.samples.tolist():  # each sample re-swept only where the change can matter
            loc = self.locals[k]
            if mt in POWER_TYPES:
                li = loc.index(cand.node)
                if li < 0:
                    continue
                old, new = loc.runtime[li], self.runtime[cand.node]
                if not new > old:
                    continue
                loc.runtime[li] = new
                lo = max(loc.off[li] + old, loc.broken[li])
                hi = min(loc.on[li], loc.off[li] + new, loc.gen[li], H)
                if lo < hi:
                    loc.refresh(H, (lo, hi), new_times=np.array([loc.off[li] + new]))
            elif mt in ("satellite", "second_route"):
                x = self._extra(loc, cand.node, cand.target if mt == "second_route" else -1)
                if x is None:
                    continue
                loc.xa = np.append(loc.xa, x[0])
                loc.xb = np.append(loc.xb, x[1])
                loc.refresh(H, (0.0, H), watch=x)
            else:
                j = int(np.searchsorted(loc.links, cand.link))
                inside = j < len(loc.links) and loc.links[j] == cand.link
                c0, f0 = (loc.cut[j], loc.fix[j]) if inside else (np.inf, np.inf)
                loc.cut, loc.fix = self._intervals(loc)
                if inside and np.isfinite(c0):
                    loc.refresh(H, (c0, f0), new_times=np.array([loc.cut[j], loc.fix[j]]))

    def candidates(self, cat: Catalogue) -> list[Candidate]:
        """Every catalogue measure that can matter: at sites out in some sample (routes also at
        their far end), on links of a group cut in some sample."""
        c = self.csr
        kind = c.attrs.label("kind")
        n_in: dict[int, list[int]] = {}
        n_li: dict[int, list[int]] = {}
        for k, loc in enumerate(self.locals):
            li = np.flatnonzero(loc.out)
            for g, i in zip(loc.nodes[li].tolist(), li.tolist(), strict=True):
                n_in.setdefault(g, []).append(k)
                n_li.setdefault(g, []).append(i)
        sites = np.array(sorted(n_in), np.int64)
        out: list[Candidate] = []
        lat, lon = _coords(c)
        for m in cat.measures:
            if m.type in ("battery", "generator", "satellite"):
                for v in sites.tolist():
                    if kind[v] not in m.kinds:
                        continue
                    if m.type in POWER_TYPES and self.runtime0[v] >= m.runtime:
                        continue
                    cost = m.cost_for(kind[v])
                    if math.isnan(cost):
                        continue
                    out.append(Candidate(m, node=v, cost=cost, samples=np.array(n_in[v], np.int64),
                                         lidx=np.array(n_li[v], np.int64)))
            elif m.type == "second_route":
                out += self._route_candidates(m, sites, n_in, kind, lat, lon)
            else:
                g_in: dict[tuple[int, int], list[int]] = {}
                for k, loc in enumerate(self.locals):
                    lk = set(loc.links.tolist())
                    for g in loc.sample.cut_groups.tolist():
                        for e in self.glinks[self.gptr[g]:self.gptr[g + 1]].tolist():
                            if e in lk:
                                g_in.setdefault((e, g), []).append(k)
                for (e, g), ks in sorted(g_in.items()):
                    a, b = c.eu[e], c.ev[e]
                    km = float(_km(lat[a], lon[a], lat[b], lon[b]))
                    if not np.isfinite(km) or km > m.max_km:
                        continue
                    out.append(Candidate(m, link=e, group=g, km=km, cost=m.cost_for("", km),
                                         samples=np.array(ks, np.int64)))
        return out

    def _route_candidates(self, m: Measure, sites: np.ndarray, n_in: dict[int, list[int]],
                          kind: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> list[Candidate]:
        from scipy.spatial import cKDTree

        c = self.csr
        op = c.attrs.label("operator")
        tmask = np.isin(kind, list(m.targets)) & np.isfinite(lat) & np.isfinite(lon)
        out: list[Candidate] = []
        xy = np.c_[lat * 111.0, lon * 111.0 * np.cos(np.radians(np.nan_to_num(lat)))]
        for o in np.unique(op[sites]).tolist():
            tidx = np.flatnonzero(tmask & (op == o))
            if not len(tidx):
                continue
            tree = cKDTree(xy[tidx])
            mine = sites[(op[sites] == o) & np.isin(kind[sites], list(m.kinds))
                         & np.isfinite(lat[sites])]
            if not len(mine):
                continue
            kq = min(6, len(tidx))
            _, nn = tree.query(xy[mine], k=kq)
            nn = np.asarray(nn).reshape(len(mine), kq)
            for v, row in zip(mine.tolist(), nn, strict=True):
                nbrs = set(c.nbr[c.indptr[v]:c.indptr[v + 1]].tolist())
                for j in row.tolist():
                    u = int(tidx[j])
                    if u == v or u in nbrs:
                        continue
                    km = float(_km(lat[v], lon[v], lat[u], lon[u]))
                    if km <= m.max_km:
                        ks = sorted(set(n_in.get(v, [])) | set(n_in.get(u, [])))
                        out.append(Candidate(m, node=v, target=u, km=km, cost=m.cost_for("", km),
                                             samples=np.array(ks, np.int64)))
                    break
        return out


def _km(la1, lo1, la2, lo2):
    from resilience.scenarios.geo import haversine_km

    return haversine_km(la1, lo1, la2, lo2)


def _coords(csr: CSRGraph) -> tuple[np.ndarray, np.ndarray]:
    def col(k: str) -> np.ndarray:
        raw = csr.read_node(k, np.nan)
        try:
            return np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            return np.array([float(x) if x not in (None, "") else np.nan for x in raw])

    return col("lat"), col("lon")


def _runtime(csr: CSRGraph) -> np.ndarray:
    raw = csr.read_node("battery_hours", 0.0)
    try:
        rt = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        rt = np.array([float(x) if x not in (None, "") else 0.0 for x in raw])
    rt = np.nan_to_num(rt, nan=0.0, posinf=np.inf)
    rt[csr.attrs.is_("power", "generator")] = np.inf
    return rt


def _weights(csr: CSRGraph, priority: dict[str, Any] | None) -> np.ndarray:
    if not priority:
        return csr.weight.copy()
    from resilience.restoration.problem import site_priorities
    from resilience.restoration.resources import resources_from_dict

    return csr.weight * site_priorities(csr, resources_from_dict({"priorities": priority}), None)


def build_hardening_problem(
    G: nx.MultiGraph,
    ensemble: Ensemble,
    *,
    csr: CSRGraph | None = None,
    priority: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HardeningProblem:
    """The problem of ``G`` under ``ensemble`` (``priority``: ``{nodes, municipalities}`` weights
    as in the restoration resources file).

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(subscribers=5, battery_hours=0, power_feed="F")
    >>> c = to_csr(G)
    >>> e = build_ensemble(G, c, [{"scenario": {"type": "power_outage", "feeds": ["F"], "hours": 2}}], runs=1)
    >>> build_hardening_problem(G, e, csr=c).expected_loss()
    10.0
    """
    csr = csr if csr is not None else to_csr(G)
    return HardeningProblem(csr, ensemble, _weights(csr, priority), _runtime(csr), progress)


# --- planning ------------------------------------------------------------------------------


def _greedy(P: HardeningProblem, cands: list[Candidate], budget: float,
            first: list[int] | None = None,
            progress: Callable[[int, int], None] | None = None,
            gains0: list[float] | None = None,
            near_hops: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, float]], list[float]]:
    P.reset()
    spent = 0.0
    plan: list[dict[str, Any]] = []
    power_spent: dict[int, tuple[float, int]] = {}
    frontier = [{"budget": 0.0, "expected_subscriber_hours_lost": round(P.expected_loss(), 6)}]
    taken = [False] * len(cands)

    def eff_cost(i: int) -> float:
        c = cands[i]
        if c.measure.type in POWER_TYPES and c.node in power_spent:
            return max(c.cost - power_spent[c.node][0], 0.0)
        return c.cost

    def buy(i: int, g: float) -> None:
        nonlocal spent
        c = cands[i]
        cost = eff_cost(i)
        P.apply(c)
        taken[i] = True
        spent += cost
        if c.measure.type in POWER_TYPES:
            if c.node in power_spent:  # an upgrade replaces the earlier power measure
                j = power_spent[c.node][1]
                plan[j]["superseded"] = True
                g += plan[j]["expected_subscriber_hours_saved"]
            power_spent[c.node] = (c.cost, len(plan))
        plan.append({"i": i, "cost": c.cost, "expected_subscriber_hours_saved": g, "paid": cost})
        frontier.append({"budget": spent, "expected_subscriber_hours_lost": round(P.expected_loss(), 6)})

    for i in first or []:
        buy(i, cands[i].samples.size and P.gain(cands[i]))
    gains = gains0 if gains0 is not None and not first else None
    if gains is None:
        open_ = [k for k in range(len(cands)) if not taken[k]]
        g_open = P.gains_of([cands[k] for k in open_], progress=progress)
        gains = [0.0] * len(cands)
        for k, g in zip(open_, g_open.tolist(), strict=True):
            gains[k] = g
    power_at: dict[int, list[int]] = {}
    at_site: dict[int, list[int]] = {}
    for j, cj in enumerate(cands):
        if cj.measure.type in POWER_TYPES:
            power_at.setdefault(cj.node, []).append(j)
        if near_hops > 0:
            for v in _sites_of(P, cj):
                at_site.setdefault(v, []).append(j)
    heap = [(-g / max(cands[i].cost, 1e-9), i, 0) for i, g in enumerate(gains) if g > 0 and not taken[i]]
    heapq.heapify(heap)
    step = 0
    while heap:
        neg, i, ver = heapq.heappop(heap)
        c = cands[i]
        if taken[i]:
            continue
        cost = eff_cost(i)
        if spent + cost > budget + 1e-6:
            continue
        if c.measure.type in POWER_TYPES and P.runtime[c.node] >= c.measure.runtime:
            continue
        if ver != step:
            g = P.gain(c)
            if g > 1e-9:
                heapq.heappush(heap, (-g / max(cost, 1e-9), i, step))
            continue
        buy(i, -neg * max(cost, 1e-9))
        step += 1
        if c.measure.type in POWER_TYPES:  # its other power measures now cost less: re-rank
            for j in power_at.get(c.node, ()):
                if not taken[j]:
                    heapq.heappush(heap, (-math.inf, j, -1))
        # measures near a purchase can be worth more after it (the objective is not submodular:
        # a site kept alive behind another one serves only once that one is): with near_hops,
        # evaluate them again now, including those that saved nothing before
        near = [j for v in _near_sites(P.csr, _sites_of(P, c), near_hops) for j in at_site.get(v, ())
                if not taken[j]] if near_hops > 0 else []
        if near:
            for j, g in zip(near, P.gains_of([cands[j] for j in near]).tolist(), strict=True):
                if g > 1e-9:
                    heapq.heappush(heap, (-g / max(eff_cost(j), 1e-9), j, step))
    return plan, frontier, gains


NEAR_CAP = 256
"""With ``near_hops``, after a purchase the candidates at sites within that many links of it (at
most ``NEAR_CAP`` sites, nearest first) are evaluated again (see :func:`plan_hardening`)."""


def _sites_of(P: HardeningProblem, c: Candidate) -> list[int]:
    if c.link >= 0:
        return [int(P.csr.eu[c.link]), int(P.csr.ev[c.link])]
    return [c.node] + ([c.target] if c.target >= 0 else [])


def _near_sites(csr: CSRGraph, start: list[int], hops: int, cap: int = NEAR_CAP) -> list[int]:
    """Sites within ``hops`` links of ``start`` (breadth first, at most ``cap``)."""
    seen = dict.fromkeys(start)
    frontier = list(seen)
    for _ in range(hops):
        nxt = []
        for v in frontier:
            for u in csr.nbr[csr.indptr[v]:csr.indptr[v + 1]].tolist():
                if u not in seen:
                    if len(seen) >= cap:
                        return list(seen)
                    seen[u] = None
                    nxt.append(u)
        frontier = nxt
    return list(seen)


def _rows(P: HardeningProblem, cands: list[Candidate], plan: list[dict[str, Any]], cat: Catalogue) -> list[dict[str, Any]]:
    c = P.csr
    a = c.attrs
    lat, lon = _coords(c)
    kind, muni, op = a.label("kind"), a.label("municipality"), a.label("operator")
    out = []
    for p in plan:
        if p.get("superseded"):
            continue
        cd = cands[p["i"]]
        v = cd.node if cd.node >= 0 else int(c.eu[cd.link])
        row = {
            "measure": cd.measure.id,
            "type": cd.measure.type,
            "site": str(c.nodes[v]),
            "name": str(c.node_data[v].get("name") or ""),
            "kind": str(kind[v]),
            "operator": str(op[v]),
            "municipality": str(muni[v]),
            "target": (str(c.nodes[cd.target]) if cd.target >= 0 else
                       (f"{c.links[cd.link]} out of {P.gnames[cd.group]}" if cd.link >= 0 else "")),
            "km": round(cd.km, 2),
            "cost": float(cd.cost),
            "expected_subscriber_hours_saved": round(float(p["expected_subscriber_hours_saved"]), 3),
            "lat": float(lat[v]) if np.isfinite(lat[v]) else None,
            "lon": float(lon[v]) if np.isfinite(lon[v]) else None,
        }
        out.append(row)
    return out


def baseline_candidates(P: HardeningProblem, cat: Catalogue, which: str, budget: float) -> list[Candidate]:
    """The purchases of a baseline at ``budget``: ``uniform`` (the catalogue's ``uniform``
    measure at every eligible site in inventory order until the money runs out) or ``largest``
    (the ``largest`` measure at sites by subscribers they carry, largest first); ``none``: [].

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(subscribers=5, battery_hours=0, power_feed="F", kind="base_station")
    >>> from resilience.hardening.measures import catalogue_from_dict
    >>> cat = catalogue_from_dict({"measures": [{"id": "g", "type": "generator", "cost": 1}]})
    >>> c = to_csr(G)
    >>> e = build_ensemble(G, c, [{"scenario": {"type": "power_outage", "feeds": ["F"], "hours": 2}}], runs=1)
    >>> [P_c.node for P_c in baseline_candidates(build_hardening_problem(G, e, csr=c), cat, "largest", 1)]
    [1]
    """
    if which == "none" or not getattr(cat, which, ""):
        return []
    m = cat.get(getattr(cat, which))
    c = P.csr
    kind = c.attrs.label("kind")
    elig = np.flatnonzero(np.isin(kind, list(m.kinds)))
    if m.type in POWER_TYPES:
        elig = elig[P.runtime0[elig] < m.runtime]
    if which == "largest":
        from resilience.analysis.blast import blast_arrays

        carried = blast_arrays(c).node_wlost
        elig = elig[np.argsort(-carried[elig], kind="stable")]
    all_k = np.arange(len(P.locals), dtype=np.int64)
    spent = 0.0
    out = []
    for v in elig.tolist():
        cost = m.cost_for(kind[v])
        if math.isnan(cost) or m.type not in (*POWER_TYPES, "satellite"):
            continue
        if spent + cost > budget + 1e-6:
            break
        spent += cost
        out.append(Candidate(m, node=v, cost=cost, samples=all_k))
    return out


def _baseline(P: HardeningProblem, cat: Catalogue, which: str, budget: float) -> tuple[float, list[Candidate]]:
    P.reset()
    bought = baseline_candidates(P, cat, which, budget)
    if not bought:
        return P.expected_loss(), []
    m = bought[0].measure
    touched: set[int] = set()
    for cd in bought:
        v = cd.node
        if m.type in POWER_TYPES:
            P.runtime[v] = max(P.runtime[v], m.runtime)
        else:
            P.sat.add(v)
    for k, loc in enumerate(P.locals):
        if m.type in POWER_TYPES:
            rt = np.where(loc.out, P.runtime[loc.nodes], np.inf)
            if np.any(rt != loc.runtime):
                loc.runtime = rt
                touched.add(k)
        else:
            for cd in bought:
                li = loc.index(cd.node)
                if li >= 0:
                    loc.xa, loc.xb = np.append(loc.xa, li), np.append(loc.xb, -1)
                    touched.add(k)
    for k in touched:
        P.locals[k].refresh(P.H)
    return P.expected_loss(), bought


def plan_hardening(
    G: nx.MultiGraph,
    catalogue: Catalogue,
    entries: list[dict[str, Any]] | Ensemble,
    *,
    budget: float,
    runs: int = 200,
    horizon_h: float = 168.0,
    seed: int = 0,
    priority: dict[str, Any] | None = None,
    holdout: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    internals: dict[str, Any] | None = None,
    near_hops: int = 0,
) -> dict[str, Any]:
    """Plan the hardening measures to buy within ``budget``.

    Parameters
    ----------
    G : networkx.MultiGraph
        The network (never modified).
    catalogue : Catalogue
    entries : list of dict or Ensemble
        Ensemble entries (see :func:`~resilience.hardening.ensemble.build_ensemble`) or an
        ensemble already drawn.
    budget : float
        Money available, in the catalogue's currency.
    runs, horizon_h, seed : optional
        Ensemble samples in all, hours counted, seed of the draws.
    priority : dict, optional
        ``{nodes: {id: w}, municipalities: {name: w}}`` as in the restoration planner.
    holdout : str, optional
        A scenario name left out of planning; the plan is then scored on it alone.
    progress : callable, optional
        ``progress(stage, done, total)``.
    near_hops : int, optional
        After each purchase, evaluate again the candidates at sites within this many links of
        it (0, the default: plain lazy greedy). The objective is not submodular (a battery
        behind a site that dies is worth more once that site is hardened), so stale values
        under-rate such measures; 2 halves the optimality gap on the small cases (docs/hardening.md).
    internals : dict, optional
        Filled with ``chosen`` (the candidates bought), ``baselines`` (name to candidates),
        ``csr``, ``problem`` and ``candidates`` (to score the plan elsewhere: :func:`score_on`).

    Returns
    -------
    dict
        ``budget``, ``expected_subscriber_hours_lost``, ``baseline_loss`` (``none``, ``uniform``,
        ``largest``), ``plan`` (rows: measure, type, site, name, kind, operator, municipality,
        target, km, cost, expected_subscriber_hours_saved, lat, lon), ``frontier`` (budget and
        expected loss after each purchase), plus ``spent``, ``horizon_h``, ``samples``,
        ``scenarios``, ``candidates``, ``currency`` and, with ``holdout``, ``holdout``
        (``scenario``, ``expected_subscriber_hours_lost``, ``baseline_loss``).

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(subscribers=5, battery_hours=0, power_feed="F", kind="base_station")
    >>> from resilience.hardening.measures import catalogue_from_dict
    >>> cat = catalogue_from_dict({"measures": [{"id": "g", "type": "generator", "cost": 1}]})
    >>> r = plan_hardening(G, cat, [{"scenario": {"type": "power_outage", "feeds": ["F"], "hours": 2}}], budget=1)
    >>> r["expected_subscriber_hours_lost"], r["baseline_loss"]["none"]
    (0.0, 10.0)
    """
    if not (budget >= 0 and math.isfinite(budget)):
        raise ValueError(f"budget must be a finite amount >= 0, not {budget}")
    csr = to_csr(G)
    ens = entries if isinstance(entries, Ensemble) else build_ensemble(
        G, csr, entries, runs=runs, horizon_h=horizon_h, seed=seed)
    held = None
    if holdout:
        ens, held = ens.without(holdout)

    def prog(stage: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda d, t: progress(stage, d, t))

    P = build_hardening_problem(G, ens, csr=csr, priority=priority, progress=prog("scenarios"))
    cands = P.candidates(catalogue)
    plan, frontier, gains = _greedy(P, cands, budget, progress=prog("candidates"), near_hops=near_hops)
    best = max(((g, i) for i, g in enumerate(gains) if cands[i].cost <= budget), default=(0.0, -1))
    saved = frontier[0]["expected_subscriber_hours_lost"] - frontier[-1]["expected_subscriber_hours_lost"]
    if best[1] >= 0 and best[0] > saved + 1e-9:  # the best single measure beats the ratio greedy
        plan, frontier, _ = _greedy(P, cands, budget, first=[best[1]], near_hops=near_hops)
    rows = _rows(P, cands, plan, catalogue)
    loss = frontier[-1]["expected_subscriber_hours_lost"]
    chosen = [cands[p["i"]] for p in plan if not p.get("superseded")]
    base = {}
    bought: dict[str, list[Candidate]] = {}
    for b in BASELINES:
        base[b], bought[b] = _baseline(P, catalogue, b, budget)
    out: dict[str, Any] = {
        "budget": float(budget),
        "expected_subscriber_hours_lost": round(float(loss), 6),
        "baseline_loss": {k: round(float(v), 6) for k, v in base.items()},
        "plan": rows,
        "frontier": frontier,
        "spent": float(sum(c.cost for c in chosen)),
        "currency": catalogue.currency,
        "horizon_h": P.H,
        "samples": len(ens.samples),
        "scenarios": ens.names,
        "candidates": len(cands),
    }
    if internals is not None:
        internals.update(chosen=chosen, baselines=bought, csr=csr, problem=P, candidates=cands)
    if held is not None:
        out["holdout"] = score_on(G, catalogue, held, chosen, budget, csr=csr, priority=priority)
    return out


def score_on(G: nx.MultiGraph, catalogue: Catalogue, ensemble: Ensemble, chosen: list[Candidate],
             budget: float, *, csr: CSRGraph | None = None,
             priority: dict[str, Any] | None = None,
             source: CSRGraph | None = None) -> dict[str, Any]:
    """Expected loss of the measures ``chosen`` (from another problem over the same network) on
    ``ensemble``, with the baselines at ``budget`` on the same ensemble. ``source``: the network
    the candidates index (default ``G``'s); they are matched to ``G`` by node, link and group id.

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(subscribers=5, battery_hours=0, power_feed="F", kind="base_station")
    >>> from resilience.hardening.measures import catalogue_from_dict
    >>> cat = catalogue_from_dict({"measures": [{"id": "g", "type": "generator", "cost": 1}]})
    >>> e = build_ensemble(G, to_csr(G), [{"scenario": {"type": "power_outage", "feeds": ["F"], "hours": 2}}], runs=1)
    >>> score_on(G, cat, e, [], 1)["baseline_loss"]["largest"]
    0.0
    """
    csr = csr if csr is not None else to_csr(G)
    Q = build_hardening_problem(G, ensemble, csr=csr, priority=priority)
    base = {b: _baseline(Q, catalogue, b, budget)[0] for b in BASELINES}
    Q.reset()
    src = source if source is not None else csr
    ks = np.arange(len(Q.locals), dtype=np.int64)
    for c in chosen:  # by ids: ``source`` (the planning network) may differ from ``G``
        node = csr.node_index[src.nodes[c.node]] if c.node >= 0 else -1
        target = csr.node_index[src.nodes[c.target]] if c.target >= 0 else -1
        link = csr.link_index[src.links[c.link]] if c.link >= 0 else -1
        group = Q.ginfo[src.srlg_groups[0][c.group]] if c.group >= 0 else -1
        Q.apply(Candidate(c.measure, node, link, group, target, c.km, c.cost, ks))
    return {"scenario": ", ".join(ensemble.names), "expected_subscriber_hours_lost": Q.expected_loss(),
            "baseline_loss": base}


def exact_plan(P: HardeningProblem, cands: list[Candidate], budget: float,
               max_sets: int = 200_000) -> tuple[float, list[int]]:
    """The exact optimum by enumeration: every maximal affordable set (at most one power measure
    per site; supersets only help, so only maximal sets are evaluated).

    Returns ``(expected loss, candidate indices)``; raises ``ValueError`` past ``max_sets``.

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(subscribers=5, battery_hours=0, power_feed="F", kind="base_station")
    >>> from resilience.hardening.measures import catalogue_from_dict
    >>> cat = catalogue_from_dict({"measures": [{"id": "g", "type": "generator", "cost": 1}]})
    >>> c = to_csr(G)
    >>> e = build_ensemble(G, c, [{"scenario": {"type": "power_outage", "feeds": ["F"], "hours": 2}}], runs=1)
    >>> P = build_hardening_problem(G, e, csr=c)
    >>> exact_plan(P, P.candidates(cat), 1)
    (0.0, [0])
    """
    n = len(cands)
    best = [math.inf, []]
    count = [0]

    def conflicts(i: int, chosen: list[int]) -> bool:
        ci = cands[i]
        return ci.measure.type in POWER_TYPES and any(
            cands[j].node == ci.node and cands[j].measure.type in POWER_TYPES for j in chosen)

    def rec(start: int, chosen: list[int], spent: float) -> None:
        extended = False
        for i in range(start, n):
            if spent + cands[i].cost <= budget + 1e-9 and not conflicts(i, chosen):
                extended = True
                rec(i + 1, chosen + [i], spent + cands[i].cost)
        # maximal: nothing (before or after) can still be added
        if not extended and not any(spent + cands[i].cost <= budget + 1e-9 and i not in chosen
                                    and not conflicts(i, chosen) for i in range(start)):
            count[0] += 1
            if count[0] > max_sets:
                raise ValueError(f"more than {max_sets} affordable sets: too large to enumerate")
            P.reset()
            for i in chosen:
                P.apply(cands[i])
            loss = P.expected_loss()
            if loss < best[0] - 1e-9:
                best[0], best[1] = loss, list(chosen)

    rec(0, [], 0.0)
    P.reset()
    return float(best[0]), best[1]
