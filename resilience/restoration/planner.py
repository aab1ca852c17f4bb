"""Restoration plans: which repair, generator, portable base station or satellite kit first.

:func:`plan_restoration` dispatches the resources in time order (list scheduling): each time a
crew or a unit of equipment is free it takes the candidate action that serves it best, reached
by an open road. The strategies differ only in that choice, and every plan is evaluated by the
same simulation (:meth:`~resilience.restoration.problem.RestorationProblem.evaluate`), so the
baselines are computed the same way as the plan:

- ``planned``: the largest priority-weighted subscriber-hours saved, where the gain of an
  action is the set of sites it brings back in the state as it will be (every action already
  dispatched taken as done, batteries run ``lookahead_h`` ahead): fixing a root restores what
  hangs below it if power is there, a generator helps only if the backhaul is intact. Gains
  come from one served-ness BFS and one labelling of the cut-off components over the compiled
  CSR per decision (:func:`resilience.analysis.traversal.bfs_into`), never from a graph rebuilt per
  action. Crews, which can do another job afterwards, rank by saved subscriber-hours per hour of
  their time; a unit of equipment, used once, by the saved subscriber-hours.
- ``nearest``: the closest element that is out; ``largest``: the out element with the most
  subscribers of its own (ignoring dependencies); ``fifo``: in order of failure.

:func:`optimal_plan` finds the exact optimum of small cases (every order of every candidate,
dispatched the same way, branch and bound) to measure the planner's gap.

Example
-------
>>> import io, pandas as pd
>>> from resilience.sample.known import KNOWN_NODES_CSV, KNOWN_LINKS_CSV
>>> from resilience.topology import build_graph
>>> from resilience.restoration.resources import resources_from_dict
>>> G = build_graph(pd.read_csv(io.StringIO(KNOWN_NODES_CSV)), pd.read_csv(io.StringIO(KNOWN_LINKS_CSV)),
...                 link_status=[{"link_id": "L2", "observed_at": "2024-01-01T17:00+09:00", "state": "down"}])
>>> res = resources_from_dict({"depots": [{"id": "D", "lat": 37.39, "lon": 136.9}],
...     "crews": [{"id": "c", "depot": "D", "count": 1, "repairs": {"fiber": 4}}]})
>>> plan = plan_restoration(G, res, horizon_h=24)
>>> [(a["action"], a["element"], a["subscribers_restored"]) for a in plan["actions"]]
[('repair', 'L2', 500)]
>>> plan["subscriber_hours_lost"] < plan["baselines"]["none"]
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np

from resilience.analysis.traversal import bfs_into
from resilience.jit import njit
from resilience.restoration.problem import (
    GENERATOR,
    PORTABLE_BS,
    REPAIR_LINK,
    REPAIR_NODE,
    SATELLITE,
    RestorationProblem,
    _alive,
    _served,
    build_problem,
)
from resilience.restoration.resources import Resources

__all__ = ["STRATEGIES", "BASELINES", "schedule", "best_schedule", "plan_restoration", "optimal_plan", "plan_summary"]

STRATEGIES: tuple[str, ...] = ("planned", "nearest", "largest", "fifo")
BASELINES: tuple[str, ...] = ("nearest", "largest", "fifo")
_EPS = 1e-9
_VARIANTS_UP_TO = 20_000
_WAIT_H = 0.5  # an idle unit looks again at least this much later
_PAIR_DISCOUNT = 0.5  # a half-done pair (generator + satellite kit ...) is worth half at first


def best_schedule(p: RestorationProblem) -> list[dict[str, Any]]:
    """The ``planned`` dispatch with a few settings (lookahead 0 or ``p.lookahead_h``; crews by
    saved subscriber-hours per hour or in total), the one with the least subscriber-hours lost;
    above :data:`_VARIANTS_UP_TO` candidates only the default setting (time).

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> from resilience.restoration.resources import Resources
    >>> best_schedule(build_problem(G, Resources(), horizon_h=5))
    []
    """
    if p.n_candidates > _VARIANTS_UP_TO:  # one setting: nothing to compare, no evaluation
        return schedule(p, "planned")
    best, best_loss = [], math.inf
    for look in dict.fromkeys((p.lookahead_h, 0.0)):
        for per_hour in (True, False):
            acts = schedule(p, "planned", lookahead_h=look, per_hour=per_hour)
            loss = p.evaluate({a["candidate"]: a["done"] for a in acts})["subscriber_hours_lost"]
            if loss < best_loss - 1e-9:
                best, best_loss = acts, loss
    return best


def _next_change(natural: np.ndarray, t0: float, free: np.ndarray, active: np.ndarray) -> float:
    """The next time, at least :data:`_WAIT_H` after ``t0``, when the state (``natural``:
    sorted battery, grid and road times) or another resource changes."""
    t = t0 + _WAIT_H
    others = free[active & (free >= t)]
    k = np.searchsorted(natural, t)
    nat = natural[k] if k < len(natural) else math.inf
    return min(float(others.min()) if len(others) else math.inf, float(nat), max(t, float(
        free[active & (free > t0 + _EPS)].min()) if (active & (free > t0 + _EPS)).any() else math.inf))


class _StateView:
    """The state a dispatch reads (:meth:`RestorationProblem.state`), kept up to date instead of
    read again where it can: a battery running out or grid power coming back since the read
    means a new read (one BFS of the whole problem); actions completed since then only add
    (:meth:`RestorationProblem.advance` moves the state forward by what they bring back); a
    later moment with nothing changed gets the state without the claims made at earlier moments
    (the two claimable arrays are copied after each read or advance), as a new read would.

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> from resilience.restoration.resources import Resources
    >>> p = build_problem(G, Resources(), horizon_h=5)
    >>> v = _StateView(p, np.zeros(0))
    >>> arrs = p.action_arrays({})
    >>> v.at(0.0, arrs) is v.at(2.0, arrs), v.reads   # nothing changes: one read
    (True, 1)
    """

    def __init__(self, p: RestorationProblem, changes: np.ndarray) -> None:
        self.p = p
        self.changes = changes  # sorted finite battery and grid times
        self.st: tuple[np.ndarray, ...] | None = None
        self.t_read = self.moment = self.until = self.natural = 0.0
        self.claimed = self.stale = False
        self.reads = self.advances = 0
        self.ncomp = 0
        n = max(p.n_candidates, 1)
        self._dones, self._cands, self._applied = np.empty(n), np.empty(n, np.int64), np.zeros(n, bool)
        self._nd = 0
        self._cov0 = self._cw0 = np.zeros(0)
        self.stamp = np.zeros(0, np.int64)  # gains_in's scratch, as long as the components
        self._marks = 0

    def marks(self, k: int) -> int:
        """The first of ``k`` new marks for :attr:`stamp` (:meth:`RestorationProblem.gains_in`)."""
        self._marks += k
        return self._marks - k

    def at(self, t: float, arrs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The state at moment ``t`` (moments never go back), with the claims made at ``t``."""
        if self.st is not None and not self.stale and self.t_read <= t < self.until:
            if t != self.moment:
                self.reset()
        elif self.st is not None and t < self.natural:  # only actions completed since: advance
            self.reset()
            nd = self._nd
            new = np.flatnonzero(~self._applied[:nd] & (self._dones[:nd] <= t))
            self.ncomp = self.p.advance(t, self._cands[new], self.st, arrs, self.ncomp)
            self._applied[new] = True
            self.advances += 1
            self._read_at(t)
        else:
            self.st = self.p.state(t, arrs)
            self.reads += 1
            if len(self.stamp) < len(self.st[5]):
                self.stamp = np.full(len(self.st[5]), -1, np.int64)
            comp = self.st[4]
            self.ncomp = int(comp.max()) + 1 if len(comp) else 0
            k = int(np.searchsorted(self.changes, t, side="right"))
            self.natural = float(self.changes[k]) if k < len(self.changes) else math.inf
            self._applied[: self._nd] = self._dones[: self._nd] <= t
            self._read_at(t)
        self.moment = t
        return self.st

    def _read_at(self, t: float) -> None:
        st = self.st
        assert st is not None
        self.t_read, self.claimed, self.stale = t, False, False
        self._cov0, self._cw0 = st[3].copy(), st[5].copy()
        d = self._dones[: self._nd][~self._applied[: self._nd]]
        self.until = min(self.natural, float(d.min()) if len(d) else math.inf)

    def reset(self) -> None:
        """Forget the claims (the state as read or advanced)."""
        if self.claimed and self.st is not None:
            self.st[3][:] = self._cov0
            self.st[5][:] = self._cw0
            self.claimed = False

    def dispatched(self, c: int, done: float, claim: bool) -> None:
        """Candidate ``c`` completes at ``done``: within the moment it changes the state (moved
        forward before the next look), later it ends the state's validity there and, with
        ``claim``, what it brings back is not counted again at this moment."""
        self._dones[self._nd] = done
        self._cands[self._nd] = c
        self._applied[self._nd] = False
        self._nd += 1
        if self.st is None:
            return
        if done <= self.moment + _EPS:  # part of the state looked at: look again
            self.stale = True
            return
        self.until = min(self.until, done)
        if claim:
            self.p.claim(c, self.st)
            self.claimed = True


def _needed(p: RestorationProblem, idx: np.ndarray, st: tuple[np.ndarray, ...], t: float,
            arrs: tuple[np.ndarray, ...]) -> np.ndarray:
    """What a baseline sees: the element of each candidate is out (no dependency reasoning)."""
    gen, pbs, sat, fixn, fixl = arrs
    seen, _alive_, lok, covered, _comp, _cw = st
    typ, x = p.ctype[idx], p.ctarget[idx]
    need = np.zeros(len(idx), bool)
    lk = typ == REPAIR_LINK
    need[lk] = ~lok[x[lk]]
    nd = ~lk
    xn = np.where(nd, x, 0)
    out = ~seen & ~covered
    powered = (t < p.power_until[xn]) | (t >= p.grid_back[xn]) | (gen[xn] <= t)
    need |= (typ == REPAIR_NODE) & p.broken[xn] & (fixn[xn] > t)
    need |= (typ == GENERATOR) & ~powered
    need |= (typ == PORTABLE_BS) & out[xn]
    need |= (typ == SATELLITE) & out[xn] & (sat[xn] > t)
    return need


def schedule(p: RestorationProblem, strategy: str = "planned", *, lookahead_h: float | None = None,
             per_hour: bool = True) -> list[dict[str, Any]]:
    """Dispatch the resources by ``strategy``; the scheduled actions in completion order.

    Parameters
    ----------
    p : RestorationProblem
    strategy : str
        One of :data:`STRATEGIES`.
    lookahead_h : float, optional
        ``planned``: hours ahead the state is read (default ``p.lookahead_h``).
    per_hour : bool
        ``planned``: crews rank by subscriber-hours saved per hour of their time (else by the
        subscriber-hours saved).

    Returns
    -------
    list of dict
        ``{"candidate", "unit", "start", "travel_h", "work_h", "done"}`` (hours).

    Notes
    -----
    One decision per action; each costs one BFS and one component labelling of the reduced
    problem (O(n' + m')) plus O(candidates) array work for the free unit.

    Examples
    --------
    >>> from resilience.restoration.resources import Resources
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(state="down", power="none", subscribers=10, kind="base_station")
    >>> from resilience.restoration.resources import EquipmentPool, Depot
    >>> res = Resources(depots=[Depot("D", 0, 0)], equipment=[EquipmentPool("g", "generator", "D", 1, 1.0, ("base_station",))])
    >>> [(a["candidate"], a["done"]) for a in schedule(build_problem(G, res, horizon_h=10))]
    [(0, 1.0)]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    H = p.horizon
    nu = len(p.r_pool)
    free = np.zeros(nu)
    active = np.ones(nu, bool)
    loc = p.r_depot_node.copy()
    lat, lon = p.r_lat.copy(), p.r_lon.copy()
    taken = np.zeros(p.n_candidates, bool)
    n = len(p.w)
    gen, pbs, sat, fixn = (np.full(n, np.inf) for _ in range(4))
    fixl = np.full(len(p.link_up0), np.inf)
    arrs = (gen, pbs, sat, fixn, fixl)
    by_type = {GENERATOR: gen, PORTABLE_BS: pbs, SATELLITE: sat, REPAIR_NODE: fixn, REPAIR_LINK: fixl}
    natural = np.unique(np.concatenate([p.epochs, p.power_until, p.grid_back]))
    natural = natural[np.isfinite(natural)]
    changes = np.unique(np.concatenate([p.power_until, p.grid_back]))
    view = _StateView(p, changes[np.isfinite(changes)])
    look = (p.lookahead_h if lookahead_h is None else lookahead_h) if strategy == "planned" else 0.0
    out_actions: list[dict[str, Any]] = []
    while True:
        live = active & (free < H)
        if not live.any():
            break
        r = int(np.flatnonzero(live)[np.argmin(free[live])])
        t0 = float(free[r])
        pool = int(p.r_pool[r])
        elig, work = p.pool_elig[pool], p.pool_work[pool]
        keep = ~taken[elig]
        if not keep.any():
            active[r] = False
            continue
        idx, wk = elig[keep], work[keep]
        t_ref = min(t0 + look, H)
        # only what could help is looked at further (travel, roads)
        if strategy == "planned":
            # at most one BFS per moment (none while nothing changes): the actions decided at
            # the same moment claim what they bring back in the state (claim), and the next
            # decision values only its own candidates
            st = view.at(t_ref, arrs)
            gain, pot = p.gains_in(t_ref, idx, st, arrs, view.stamp, view.marks(len(idx)))
            g = gain
            if not (g > 0).any():  # nothing brings sites back alone: prepare the pairs
                g = pot * _PAIR_DISCOUNT
            sel = g > 0
            if not sel.any() and view.claimed:  # claims can hide a pair: look at the true state
                view.reset()
                continue
        else:
            sel = _needed(p, idx, view.at(t_ref, arrs), t_ref, arrs)
        idx, wk = idx[sel], wk[sel]
        reach = p.reach_time(int(loc[r]), idx)
        trav = p.travel_h(float(lat[r]), float(lon[r]), idx)
        t_c = np.maximum(reach, t0) + trav + wk
        feasible = t_c < H
        if strategy == "planned":
            g = g[sel]
            useful = feasible
            value = np.where(feasible, g * (H - np.minimum(t_c, H)), 0.0)
            score = value / (t_c - t0 + 0.25) if p.r_reusable[r] and per_hour else value
        else:
            useful = feasible
            if strategy == "nearest":
                score = -(np.maximum(reach, t0) - t0 + trav)
            elif strategy == "largest":
                score = p.c_subs[idx].astype(float)
            else:
                score = -p.c_fail[idx]
        if not useful.any():
            if strategy == "planned" and view.claimed:
                view.reset()  # claims can hide what a fresh look finds: look again first
                continue
            nxt = _next_change(natural, t0, free, active)
            # identical idle units (the same pool at the same place) wait together
            same = np.flatnonzero(active & (p.r_pool == pool) & (free <= t0) & (loc == loc[r]))
            if nxt >= H:
                active[same] = False
            else:
                free[same] = nxt
            continue
        score = np.where(useful, score, -np.inf)
        j = int(np.argmax(score))
        c = int(idx[j])
        taken[c] = True
        done = float(t_c[j])
        arr = by_type[int(p.ctype[c])]
        x = int(p.ctarget[c])
        arr[x] = min(arr[x], done)
        # done within the moment: read again; later: the next decision at this moment must
        # not count it again (planned)
        view.dispatched(c, done, claim=strategy == "planned")
        start = float(max(reach[j], t0))
        out_actions.append({"candidate": c, "unit": r, "start": start, "travel_h": float(trav[j]),
                            "work_h": float(wk[j]), "done": done, "dispatched": t0})
        if p.r_reusable[r]:
            free[r] = done
            loc[r] = p.c_acc[c, 0]
            if not (math.isnan(p.c_lat[c]) or math.isnan(p.c_lon[c])):
                lat[r], lon[r] = p.c_lat[c], p.c_lon[c]
        else:
            active[r] = False
    out_actions.sort(key=lambda a: (a["done"], a["candidate"]))
    return out_actions


@njit(cache=True)
def _credit(changes, order_t, order_type, order_x, indptr, nbr, eid, roots, w, broken, power_until,
            grid_back, link_up0, n_links):  # pragma: no cover - compiled
    # served before and after each action, in plan order: sites and subscribers it brings back.
    # "before" is the previous action's "after" when nothing changes between the two times (no
    # battery or grid time in changes, no earlier action completing): one BFS instead of two
    n = w.shape[0]
    gen = np.full(n, np.inf)
    pbs = np.full(n, np.inf)
    sat = np.full(n, np.inf)
    fixn = np.full(n, np.inf)
    fixl = np.full(n_links, np.inf)
    seen = np.zeros(n, np.bool_)
    before = np.zeros(n, np.bool_)
    after = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    k_n = order_t.shape[0]
    sites = np.zeros(k_n, np.int64)
    subs = np.zeros(k_n, np.float64)
    for k in range(k_n):
        t = order_t[k]
        same = k > 0 and order_t[k - 1] <= t
        if same:
            t1 = order_t[k - 1]
            i = np.searchsorted(changes, t1, side="right")
            same = not (i < changes.shape[0] and changes[i] <= t)
            for j in range(k - 1):
                if t1 < order_t[j] <= t:
                    same = False
                    break
        if same:
            before[:] = after
        else:
            alive = _alive(t, broken, fixn, power_until, grid_back, gen)
            _served(t, indptr, nbr, eid, roots, alive, link_up0, fixl, sat, seen, queue)
            for v in range(n):
                before[v] = seen[v] or pbs[v] <= t
        typ = order_type[k]
        x = order_x[k]
        if typ == 0:
            fixl[x] = t
        elif typ == 1:
            fixn[x] = t
        elif typ == 2:
            gen[x] = t
        elif typ == 3:
            pbs[x] = t
        else:
            sat[x] = t
        alive = _alive(t, broken, fixn, power_until, grid_back, gen)
        _served(t, indptr, nbr, eid, roots, alive, link_up0, fixl, sat, seen, queue)
        for v in range(n):
            after[v] = seen[v] or pbs[v] <= t
            if after[v] and not before[v]:
                sites[k] += 1
                subs[k] += w[v]
    return sites, subs


def _credits(p: RestorationProblem, acts: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    if not acts:
        return np.zeros(0, np.int64), np.zeros(0)
    c = np.array([a["candidate"] for a in acts], np.int64)
    t = np.array([a["done"] for a in acts], float)
    _ = bfs_into  # the kernels below run the compiled BFS of resilience.analysis.traversal
    changes = np.unique(np.concatenate([p.power_until, p.grid_back]))
    return _credit(changes[np.isfinite(changes)], t, p.ctype[c], p.ctarget[c], p.indptr, p.nbr, p.eid, p.roots, p.w,
                   p.broken, p.power_until, p.grid_back, p.link_up0, len(p.link_up0))


def _curve(p: RestorationProblem, ev: dict[str, Any], step_h: float = 1.0) -> list[tuple[float, float]]:
    hours = np.arange(0.0, p.horizon + _EPS, step_h)
    k = np.searchsorted(ev["times"], hours, side="right") - 1
    k = np.clip(k, 0, len(ev["times"]) - 1)
    return list(zip(hours.tolist(), ev["served_subscribers"][k].tolist(), strict=True))


def _num(p: RestorationProblem, x: float) -> int | float:
    return int(round(x)) if p.weight_is_int else round(float(x), 3)


def plan_summary(p: RestorationProblem, acts: list[dict[str, Any]], *, start: datetime | None = None,
                 unit_names: list[str] | None = None) -> dict[str, Any]:
    """The JSON-ready plan of scheduled actions (see :func:`plan_restoration` for the keys).

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> from resilience.restoration.resources import Resources
    >>> plan_summary(build_problem(G, Resources(), horizon_h=5), [])["subscriber_hours_lost"]
    0
    """
    ev = p.evaluate({a["candidate"]: a["done"] for a in acts})
    sites, subs = _credits(p, acts)
    names = unit_names or _unit_names(p)

    def at(h: float) -> str | float:
        return (start + timedelta(hours=h)).isoformat() if start is not None else round(h, 3)

    actions = [
        {"at": at(a["start"]), "done_at": at(a["done"]), "resource": names[a["unit"]],
         "action": p.action_name(a["candidate"]), "element": p.target_id(a["candidate"]),
         "travel_h": round(a["travel_h"], 3), "work_h": round(a["work_h"], 3),
         "sites_restored": int(s), "subscribers_restored": _num(p, x)}
        for a, s, x in zip(acts, sites, subs, strict=True)
    ]
    curve = [{"at": at(h), "hours": h, "served_subscribers": _num(p, v)} for h, v in _curve(p, ev)]
    return {"subscriber_hours_lost": _num(p, ev["subscriber_hours_lost"]), "actions": actions,
            "curve": curve}


def _unit_names(p: RestorationProblem) -> list[str]:
    seen: dict[int, int] = {}
    out = []
    for pool in p.r_pool.tolist():
        seen[pool] = seen.get(pool, 0) + 1
        out.append(f"{p.pool_names[pool]}#{seen[pool]}")
    return out


def plan_restoration(
    G: nx.MultiGraph | None,
    resources: Resources,
    *,
    horizon_h: float = 72.0,
    strategy: str = "planned",
    baselines: Iterable[str] = BASELINES,
    failed_nodes: np.ndarray | None = None,
    failed_links: np.ndarray | None = None,
    priority: dict[str, float] | None = None,
    problem: RestorationProblem | None = None,
    csr: Any = None,
) -> dict[str, Any]:
    """Plan the restoration of the current state of ``G`` with ``resources``.

    Parameters
    ----------
    G : networkx.MultiGraph or None
        The network with its state (never modified); ``None`` with ``csr``.
    resources : Resources
        Depots, crews, equipment, road closures and priorities
        (:func:`~resilience.restoration.resources.load_resources`).
    horizon_h : float
        Hours over which subscriber-hours lost are counted.
    strategy : str
        ``planned`` (default) or a baseline (``nearest``, ``largest``, ``fifo``).
    baselines : iterable of str
        Baselines evaluated the same way for comparison (``none``, doing nothing, is always
        reported).
    failed_nodes, failed_links : bool arrays, optional
        Extra damage of a what-if scenario (see :func:`build_problem`).
    priority : dict, optional
        Node id to priority weight.
    problem : RestorationProblem, optional
        A problem built beforehand (the other inputs then only name things).
    csr : CSRGraph, optional
        The compiled model (:func:`resilience.api.load_model`) or ``to_csr(G)``: passed to
        :func:`build_problem` instead of reading ``G`` into arrays again.

    Returns
    -------
    dict
        ``strategy``, ``horizon_h``, ``subscriber_hours_lost`` (priority-weighted, lower is
        better), ``baselines`` (name to subscriber-hours lost), ``actions`` (ordered by start:
        ``at``, ``done_at``, ``resource``, ``action`` (repair | generator | portable_bs |
        satellite_backhaul), ``element``, ``travel_h``, ``work_h``, ``sites_restored``,
        ``subscribers_restored``), ``curve`` (``at``, ``hours``, ``served_subscribers`` per
        hour), ``baseline_curves`` (baseline name to the served subscribers at the same
        hours), ``problem`` (sizes: nodes, links and candidates kept, units, roads closed).

    Notes
    -----
    Building the problem is O(n + m) plus one widest-path pass; each strategy then costs one
    BFS of the damaged part per action (see :func:`schedule`).

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> plan_restoration(G, Resources(), horizon_h=5)["actions"]
    []
    """
    p = problem if problem is not None else build_problem(
        G, resources, horizon_h=horizon_h, failed_nodes=failed_nodes, failed_links=failed_links,
        priority=priority, csr=csr)
    start = (G.graph if G is not None else csr.graph if csr is not None else {}).get("as_of")
    acts = best_schedule(p) if strategy == "planned" else schedule(p, strategy)
    out = {"strategy": strategy, "horizon_h": p.horizon, "start": start.isoformat() if start else None}
    summary = plan_summary(p, sorted(acts, key=lambda a: (a["start"], a["done"])), start=start)
    out["subscriber_hours_lost"] = summary["subscriber_hours_lost"]
    ev0 = p.evaluate({})
    base: dict[str, Any] = {"none": _num(p, ev0["subscriber_hours_lost"])}
    curves: dict[str, list] = {"none": [_num(p, v) for _, v in _curve(p, ev0)]}
    for b in baselines:
        if b != strategy:
            sched = schedule(p, b)
            ev = p.evaluate({a["candidate"]: a["done"] for a in sched})
            base[b] = _num(p, ev["subscriber_hours_lost"])
            curves[b] = [_num(p, v) for _, v in _curve(p, ev)]
    out["baselines"] = base
    out["baseline_curves"] = curves  # served subscribers at each hour of "curve"
    out["actions"] = summary["actions"]
    out["curve"] = summary["curve"]
    out["problem"] = {"nodes": int(len(p.w)), "links": int(len(p.link_up0)),
                      "candidates": int(p.n_candidates), "units": int(len(p.r_pool)),
                      "roads_closed": len(p.roads_closed),
                      "subscribers_out_now": _num(p, float(p.w.sum()) + p.w_outside
                                                  - float(ev0["served_subscribers"][0]))}
    return out


# --- the exact optimum of small cases -----------------------------------------------------------


def optimal_plan(p: RestorationProblem, *, max_candidates: int = 10,
                 node_limit: int = 5_000_000) -> dict[str, Any]:
    """The exact optimum over every order of every candidate action, each dispatched to the
    unit that completes it first (branch and bound; small cases only).

    An action added at the end of a sequence never makes the plan worse (restoration only adds
    what is served), so full orders suffice; a partial order is pruned when the loss with every
    remaining action done as early as any free unit could is already no better than the best.

    Returns ``{"subscriber_hours_lost", "order", "schedule", "nodes_explored", "complete"}``
    (``complete`` false when ``node_limit`` stopped the search).

    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> from resilience.restoration.resources import Resources
    >>> optimal_plan(build_problem(G, Resources(), horizon_h=5))["subscriber_hours_lost"]
    0.0
    """
    usable = [c for c in range(p.n_candidates)
              if any(c in set(e.tolist()) for e in p.pool_elig)]
    if len(usable) > max_candidates:
        raise ValueError(f"{len(usable)} candidate actions: the exact search takes at most {max_candidates}")
    H = p.horizon
    nu = len(p.r_pool)
    elig_of = {c: {} for c in usable}
    for pool, (e, wk) in enumerate(zip(p.pool_elig, p.pool_work, strict=True)):
        for c, h in zip(e.tolist(), wk.tolist(), strict=True):
            if c in elig_of:
                elig_of[c][pool] = h
    best = {"loss": math.inf, "sched": []}
    explored = [0]

    def dispatch(state, c):
        free, active, loc, lat, lon = state
        bt, br, bstart, btr, bwk = math.inf, -1, 0.0, 0.0, 0.0
        for r in range(nu):
            pool = int(p.r_pool[r])
            if not active[r] or pool not in elig_of[c]:
                continue
            ci = np.array([c])
            reach = float(p.reach_time(int(loc[r]), ci)[0])
            tr = float(p.travel_h(float(lat[r]), float(lon[r]), ci)[0])
            st = max(reach, float(free[r]))
            t = st + tr + elig_of[c][pool]
            if t < bt - _EPS:
                bt, br, bstart, btr, bwk = t, r, st, tr, elig_of[c][pool]
        return bt, br, bstart, btr, bwk

    def dfs(state, rem, done, sched):
        explored[0] += 1
        if explored[0] > node_limit:
            return
        if not rem:
            loss = p.evaluate(done)["subscriber_hours_lost"]
            if loss < best["loss"] - 1e-9:
                best["loss"], best["sched"] = loss, list(sched)
            return
        opts = []
        lb_done = dict(done)
        for c in rem:
            t, r, st, tr, wk = dispatch(state, c)
            opts.append((c, t, r, st, tr, wk))
            if t < H:
                lb_done[c] = t
        if p.evaluate(lb_done)["subscriber_hours_lost"] >= best["loss"] - 1e-9:
            return
        feasible = [o for o in opts if o[1] < H]
        if not feasible:
            dfs(state, [], done, sched)
            return
        rest = [o[0] for o in feasible]
        for c, t, r, st, tr, wk in feasible:
            free, active, loc, lat, lon = (x.copy() for x in state)
            if p.r_reusable[r]:
                free[r] = t
                loc[r] = p.c_acc[c, 0]
                if not (math.isnan(p.c_lat[c]) or math.isnan(p.c_lon[c])):
                    lat[r], lon[r] = p.c_lat[c], p.c_lon[c]
            else:
                active[r] = False
            dfs((free, active, loc, lat, lon), [x for x in rest if x != c], {**done, c: t},
                sched + [{"candidate": c, "unit": r, "start": st, "travel_h": tr, "work_h": wk, "done": t}])

    state0 = (np.zeros(nu), np.ones(nu, bool), p.r_depot_node.copy(), p.r_lat.copy(), p.r_lon.copy())
    dfs(state0, usable, {}, [])
    if best["loss"] == math.inf:  # nothing feasible at all
        best["loss"] = p.evaluate({})["subscriber_hours_lost"]
    return {"subscriber_hours_lost": float(best["loss"]),
            "order": [p.target_id(s["candidate"]) for s in best["sched"]],
            "schedule": best["sched"], "nodes_explored": explored[0],
            "complete": explored[0] <= node_limit}
