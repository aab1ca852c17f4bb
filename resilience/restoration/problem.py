"""The restoration problem: the damaged part of the network as flat arrays, road access, the
candidate actions, and the compiled kernels that value and evaluate them.

Built once from a graph (:func:`resilience.topology.build_graph` contract) and a
:class:`~resilience.restoration.resources.Resources`; the graph is never modified (WNTR style).

State model (hours from the plan's start ``t = 0``):

- a node is *alive* at ``t`` when it is not broken (down with power present: equipment) or was
  repaired, and has power: its own power lasts ``power_until`` (battery left, 0 if gone, ``inf``
  on grid), grid power comes back at ``grid_back`` (the feed's ``expected_restore_at``; ``inf``
  when unknown), or a generator was set up;
- a link carries traffic when it is up now or was repaired;
- a node is *served* when a path of alive nodes and carrying links joins it to a core or to a
  node with a satellite backhaul kit; a portable base station serves its site's subscribers
  whatever the rest;
- the loss at ``t`` is the priority-weighted subscribers not served; the objective is its
  integral over the horizon (subscriber-hours lost).

Only the part of the network that can be out within the horizon is kept: nodes whose out time
without any action (:func:`resilience.analysis.traversal.widest_out_times`) is beyond the horizon
are served throughout whatever is done, and those next to the damaged part act as roots. At a
million sites with ten thousand out, the problem is tens of thousands of nodes.

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
>>> p = build_problem(G, res, horizon_h=24)
>>> [(p.action_name(c), p.target_id(c)) for c in p.pool_elig[0]]   # what the crew may do
[('repair', 'L2')]
>>> p.evaluate({})["subscriber_hours_lost"]
12000.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

from resilience.analysis.forecast import battery_hours_left
from resilience.analysis.outage_causes import power_gone_mask
from resilience.analysis.traversal import bfs_into, widest_out_times
from resilience.jit import njit
from resilience.restoration.resources import Resources
from resilience.scenarios.geo import EARTH_RADIUS_KM, haversine_km
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = ["RestorationProblem", "build_problem", "CANDIDATE_TYPES", "access_labels", "site_priorities"]

#: Candidate types: 0 repair a link, 1 repair a node, 2 generator, 3 portable base station,
#: 4 satellite backhaul kit.
CANDIDATE_TYPES: tuple[str, ...] = ("repair_link", "repair_node", "generator", "portable_bs",
                                    "satellite_backhaul")
_ACTION_OF = ("repair", "repair", "generator", "portable_bs", "satellite_backhaul")
REPAIR_LINK, REPAIR_NODE, GENERATOR, PORTABLE_BS, SATELLITE = range(5)
_EQUIP_CTYPE = {"generator": GENERATOR, "portable_bs": PORTABLE_BS, "satellite_backhaul": SATELLITE}


# --- compiled kernels ---------------------------------------------------------------------------


@njit(cache=True)
def _find(parent, v):  # pragma: no cover - compiled
    while parent[v] != v:
        parent[v] = parent[parent[v]]
        v = parent[v]
    return v


@njit(cache=True)
def _access_kernel(n, eu, ev, link_ok, gptr, glinks, gopen):  # pragma: no cover - compiled
    parent = np.arange(n)
    for e in range(eu.shape[0]):
        if link_ok[e]:
            a, b = _find(parent, eu[e]), _find(parent, ev[e])
            if a != b:
                parent[a] = b
    for g in range(gptr.shape[0] - 1):  # an open road joins every site along it
        if not gopen[g] or gptr[g + 1] == gptr[g]:
            continue
        first = -1
        for k in range(gptr[g], gptr[g + 1]):
            e = glinks[k]
            if not link_ok[e]:  # a cable also along a closed road: its far end is beyond it
                continue
            if first == -1:
                first = _find(parent, eu[e])
            for v in (eu[e], ev[e]):
                a = _find(parent, v)
                if a != first:
                    parent[a] = first
    lab = np.empty(n, np.int64)
    for v in range(n):
        lab[v] = _find(parent, v)
    return lab


def access_labels(csr: CSRGraph, passable: np.ndarray, group_open: np.ndarray | None = None) -> np.ndarray:
    """Road-access component of every node: nodes joined by a passable link, or along one open
    road (a shared-risk group: every end of its passable links lies on that road, whatever
    operator's cable it is), share a label.

    >>> G = nx.MultiGraph([("a", "b", "1"), ("b", "c", "2")])
    >>> lab = access_labels(to_csr(G), np.array([True, False]))
    >>> bool(lab[0] == lab[1]), bool(lab[1] == lab[2])
    (True, False)
    """
    names, ptr, links = csr.srlg_groups
    gopen = np.ones(len(names), np.bool_) if group_open is None else np.asarray(group_open, np.bool_)
    return _access_kernel(csr.n, csr.eu, csr.ev, np.asarray(passable, dtype=np.bool_),
                          np.asarray(ptr, np.int64), np.asarray(links, np.int64), gopen)


@njit(cache=True)
def _alive(t, broken, fix_node_at, power_until, grid_back, gen_at):  # pragma: no cover
    n = broken.shape[0]
    ok = np.empty(n, np.bool_)
    for v in range(n):
        intact = (not broken[v]) or fix_node_at[v] <= t
        powered = t < power_until[v] or t >= grid_back[v] or gen_at[v] <= t
        ok[v] = intact and powered
    return ok


@njit(cache=True)
def _served(t, indptr, nbr, eid, roots, alive, link_up0, fix_link_at, sat_at, seen, queue):
    # pragma: no cover - compiled
    m = link_up0.shape[0]
    lok = np.empty(m, np.bool_)
    for e in range(m):
        lok[e] = link_up0[e] or fix_link_at[e] <= t
    n = alive.shape[0]
    extra = 0
    for v in range(n):
        if sat_at[v] <= t:
            extra += 1
    rr = np.empty(roots.shape[0] + extra, np.int64)
    rr[: roots.shape[0]] = roots
    j = roots.shape[0]
    for v in range(n):
        if sat_at[v] <= t:
            rr[j] = v
            j += 1
    seen[:] = False
    bfs_into(indptr, nbr, eid, alive, lok, rr, seen, queue)
    return lok


@njit(cache=True)
def _sweep(times, horizon, indptr, nbr, eid, roots, wp, w, broken, power_until, grid_back,
           link_up0, gen_at, pbs_at, sat_at, fix_node_at, fix_link_at):  # pragma: no cover
    n = wp.shape[0]
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    k_n = times.shape[0]
    lost = np.zeros(k_n, np.float64)
    served_w = np.zeros(k_n, np.float64)
    total = 0.0
    for k in range(k_n):
        t = times[k]
        alive = _alive(t, broken, fix_node_at, power_until, grid_back, gen_at)
        _served(t, indptr, nbr, eid, roots, alive, link_up0, fix_link_at, sat_at, seen, queue)
        lw = 0.0
        sw = 0.0
        for v in range(n):
            if seen[v] or pbs_at[v] <= t:
                sw += w[v]
            else:
                lw += wp[v]
        lost[k] = lw
        served_w[k] = sw
        t_next = times[k + 1] if k + 1 < k_n else horizon
        total += lw * (t_next - t)
    return total, lost, served_w


@njit(cache=True)
def _around(x, i, indptr, nbr, eid, lok, comp, cw, wp, covered, stamp):  # pragma: no cover
    # x's own weight (if uncovered) plus the distinct cut-off components next to it
    g = 0.0 if covered[x] else wp[x]
    for k in range(indptr[x], indptr[x + 1]):
        u = nbr[k]
        if lok[eid[k]] and comp[u] >= 0 and stamp[comp[u]] != i:
            stamp[comp[u]] = i
            g += cw[comp[u]]
    return g


@njit(cache=True)
def _state(t, indptr, nbr, eid, roots, wp, broken, power_until, grid_back, link_up0, gen_at,
           pbs_at, sat_at, fix_node_at, fix_link_at):  # pragma: no cover - compiled
    # the state at t with every committed action done: served (seen), alive, carrying links,
    # covered by a portable base station, and the components of the alive, unserved nodes over
    # carrying links with their uncovered weight (comp: -1 for served or dead nodes)
    n = wp.shape[0]
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    alive = _alive(t, broken, fix_node_at, power_until, grid_back, gen_at)
    lok = _served(t, indptr, nbr, eid, roots, alive, link_up0, fix_link_at, sat_at, seen, queue)
    covered = np.empty(n, np.bool_)
    for v in range(n):
        covered[v] = pbs_at[v] <= t
    comp = np.full(n, -1, np.int64)
    cw = np.zeros(n + 1, np.float64)
    c = 0
    dead = 0
    for s in range(n):
        dead += not alive[s]
        if comp[s] != -1 or seen[s] or not alive[s]:
            continue
        comp[s] = c
        head, tail = 0, 1
        queue[0] = s
        while head < tail:
            v = queue[head]
            head += 1
            if not covered[v]:
                cw[c] += wp[v]
            for k in range(indptr[v], indptr[v + 1]):
                u = nbr[k]
                if comp[u] == -1 and lok[eid[k]] and alive[u] and not seen[u]:
                    comp[u] = c
                    queue[tail] = u
                    tail += 1
        c += 1
    # room for a component per dead node: one that comes alive later (_advance) may start one
    return seen, alive, lok, covered, comp, cw[: max(c + dead, 1)]


@njit(cache=True)
def _serve_from(s, indptr, nbr, eid, seen, alive, lok, comp, queue):  # pragma: no cover
    # s (alive, unserved) is joined to a source: it and everything alive it reaches is served
    seen[s] = True
    comp[s] = -1
    head, tail = 0, 1
    queue[0] = s
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if not seen[u] and alive[u] and lok[eid[k]]:
                seen[u] = True
                comp[u] = -1
                queue[tail] = u
                tail += 1


@njit(cache=True)
def _relabel(s, old, new, indptr, nbr, eid, lok, comp, cw, queue):  # pragma: no cover
    # component old (holding s) becomes part of component new
    cw[new] += cw[old]
    cw[old] = 0.0
    comp[s] = new
    head, tail = 0, 1
    queue[0] = s
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if comp[u] == old and lok[eid[k]]:
                comp[u] = new
                queue[tail] = u
                tail += 1


@njit(cache=True)
def _advance(t, ev_type, ev_x, ncomp, indptr, nbr, eid, eu, ev, is_root, wp, broken, power_until,
             grid_back, gen_at, sat_at, fix_node_at, seen, alive, lok, covered, comp, cw):
    # pragma: no cover - compiled
    # the state (_state) moved forward in place by actions completed since it was read, when no
    # battery or grid time lies between (restoration only adds: served-ness spreads, components
    # merge or start); the new number of components
    queue = np.empty(wp.shape[0], np.int64)
    for j in range(ev_type.shape[0]):
        typ = ev_type[j]
        x = ev_x[j]
        if typ == 0:  # a link carries
            if lok[x]:
                continue
            lok[x] = True
            a, b = eu[x], ev[x]
            if not (alive[a] and alive[b]) or (seen[a] and seen[b]):
                continue
            if seen[a]:
                _serve_from(b, indptr, nbr, eid, seen, alive, lok, comp, queue)
            elif seen[b]:
                _serve_from(a, indptr, nbr, eid, seen, alive, lok, comp, queue)
            elif comp[a] != comp[b]:
                _relabel(b, comp[b], comp[a], indptr, nbr, eid, lok, comp, cw, queue)
        elif typ == 3:  # a portable base station covers the site
            if not covered[x]:
                covered[x] = True
                if comp[x] >= 0:
                    cw[comp[x]] -= wp[x]
        elif typ == 4 and alive[x] and not seen[x]:  # a satellite kit joins it to the core
            _serve_from(x, indptr, nbr, eid, seen, alive, lok, comp, queue)
        elif typ == 1 or typ == 2:  # repair / generator: the node may come alive
            if alive[x]:
                continue
            intact = (not broken[x]) or fix_node_at[x] <= t
            powered = t < power_until[x] or t >= grid_back[x] or gen_at[x] <= t
            if not (intact and powered):
                continue
            alive[x] = True
            linked = is_root[x] or sat_at[x] <= t
            for k in range(indptr[x], indptr[x + 1]):
                if lok[eid[k]] and seen[nbr[k]]:
                    linked = True
                    break
            if linked:
                _serve_from(x, indptr, nbr, eid, seen, alive, lok, comp, queue)
                continue
            own = ncomp
            for k in range(indptr[x], indptr[x + 1]):
                u = nbr[k]
                if lok[eid[k]] and comp[u] >= 0:
                    own = comp[u]
                    break
            if own == ncomp:
                ncomp += 1
            comp[x] = own
            if not covered[x]:
                cw[own] += wp[x]
            for k in range(indptr[x], indptr[x + 1]):
                u = nbr[k]
                if lok[eid[k]] and comp[u] >= 0 and comp[u] != own:
                    _relabel(u, comp[u], own, indptr, nbr, eid, lok, comp, cw, queue)
    return ncomp


@njit(cache=True)
def _serve_more(t, ev_type, ev_x, indptr, nbr, eid, eu, ev, is_root, broken, power_until,
                grid_back, gen_at, sat_at, fix_node_at, seen, alive, lok, covered, queue, scratch):
    # pragma: no cover - compiled
    # served-ness (no components: scratch takes _serve_from's labels) moved forward in place by
    # actions completed since it was computed, with no battery or grid time between:
    # restoration only adds what is served
    for j in range(ev_type.shape[0]):
        typ = ev_type[j]
        x = ev_x[j]
        if typ == 0:
            if not lok[x]:
                lok[x] = True
                a, b = eu[x], ev[x]
                if alive[a] and alive[b] and seen[a] != seen[b]:
                    y = b if seen[a] else a
                    _serve_from(y, indptr, nbr, eid, seen, alive, lok, scratch, queue)
        elif typ == 3:
            covered[x] = True
        elif typ == 4:
            if alive[x] and not seen[x]:
                _serve_from(x, indptr, nbr, eid, seen, alive, lok, scratch, queue)
        elif not alive[x]:
            intact = (not broken[x]) or fix_node_at[x] <= t
            powered = t < power_until[x] or t >= grid_back[x] or gen_at[x] <= t
            if intact and powered:
                alive[x] = True
                linked = is_root[x] or sat_at[x] <= t
                for k in range(indptr[x], indptr[x + 1]):
                    if lok[eid[k]] and seen[nbr[k]]:
                        linked = True
                        break
                if linked:
                    _serve_from(x, indptr, nbr, eid, seen, alive, lok, scratch, queue)


@njit(cache=True)
def _sweep_forward(times, natural, horizon, ev_t, ev_type, ev_x, indptr, nbr, eid, eu, ev, roots,
                   is_root, wp, w, broken, power_until, grid_back, link_up0, gen_at, pbs_at, sat_at,
                   fix_node_at, fix_link_at):  # pragma: no cover - compiled
    # _sweep with served-ness computed (one BFS) at the first time and at battery / grid times
    # only, and moved forward (_serve_more) by the actions completing at the other times; the
    # sums are taken over the same served and covered masks in the same order: the same floats
    n = wp.shape[0]
    k_n = times.shape[0]
    lost = np.zeros(k_n, np.float64)
    served_w = np.zeros(k_n, np.float64)
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    covered = np.empty(n, np.bool_)
    alive = np.empty(n, np.bool_)
    lok = np.empty(link_up0.shape[0], np.bool_)
    scratch = np.empty(n, np.int64)
    total = 0.0
    j = 0
    for k in range(k_n):
        t = times[k]
        if k == 0 or natural[k]:
            alive = _alive(t, broken, fix_node_at, power_until, grid_back, gen_at)
            lok = _served(t, indptr, nbr, eid, roots, alive, link_up0, fix_link_at, sat_at, seen,
                          queue)
            for v in range(n):
                covered[v] = pbs_at[v] <= t
            while j < ev_t.shape[0] and ev_t[j] <= t:
                j += 1
        else:
            j0 = j
            while j < ev_t.shape[0] and ev_t[j] <= t:
                j += 1
            _serve_more(t, ev_type[j0:j], ev_x[j0:j], indptr, nbr, eid, eu, ev, is_root, broken,
                        power_until, grid_back, gen_at, sat_at, fix_node_at, seen, alive, lok,
                        covered, queue, scratch)
        lw = 0.0
        sw = 0.0
        for v in range(n):
            if seen[v] or covered[v]:
                sw += w[v]
            else:
                lw += wp[v]
        lost[k] = lw
        served_w[k] = sw
        t_next = times[k + 1] if k + 1 < k_n else horizon
        total += lw * (t_next - t)
    return total, lost, served_w


@njit(cache=True)
def _cand_gains(t, cand, indptr, nbr, eid, eu, ev, wp, broken, power_until, grid_back, gen_at,
                sat_at, fix_node_at, is_root, ctype, ctarget, seen, alive, lok, covered, comp,
                cw, stamp, base):  # pragma: no cover - compiled
    # each candidate's immediate gain in the state, and its potential once one more piece is in;
    # stamp (-1 or marks below base, at least as long as cw) marks the components counted for
    # candidate j with base + j
    nc = cand.shape[0]
    gain = np.zeros(nc, np.float64)
    pot = np.zeros(nc, np.float64)
    for j in range(nc):
        i = cand[j]
        typ = ctype[i]
        x = ctarget[i]
        g = 0.0
        q = 0.0
        if typ == 0:  # repair a link
            if not lok[x]:
                a, b = eu[x], ev[x]
                if seen[a] != seen[b]:
                    y = b if seen[a] else a
                    if alive[y]:
                        g = cw[comp[y]]
                    elif not seen[y]:  # the far end is dead: worth it once it lives
                        q = _around(y, base + j, indptr, nbr, eid, lok, comp, cw, wp, covered, stamp)
        elif typ == 1 or typ == 2:  # the node comes alive (repair / generator)
            if not alive[x]:
                intact = (not broken[x]) or fix_node_at[x] <= t or typ == 1
                powered = t < power_until[x] or t >= grid_back[x] or gen_at[x] <= t or typ == 2
                if intact and powered:
                    linked = is_root[x] or sat_at[x] <= t
                    if not linked:
                        for k in range(indptr[x], indptr[x + 1]):
                            if lok[eid[k]] and seen[nbr[k]]:
                                linked = True
                                break
                    v = _around(x, base + j, indptr, nbr, eid, lok, comp, cw, wp, covered, stamp)
                    if linked:
                        g = v
                    else:
                        q = v
                else:
                    q = _around(x, base + j, indptr, nbr, eid, lok, comp, cw, wp, covered, stamp)
        elif typ == 3:  # portable base station
            if not seen[x] and not covered[x]:
                g = wp[x]
        else:  # satellite backhaul
            if not seen[x]:
                if alive[x]:
                    g = cw[comp[x]]
                elif sat_at[x] > t:
                    q = _around(x, base + j, indptr, nbr, eid, lok, comp, cw, wp, covered, stamp)
        gain[j] = g
        pot[j] = q
    return gain, pot


@njit(cache=True)
def _claim(typ, x, indptr, nbr, eid, eu, ev, seen, alive, lok, covered, comp, cw):
    # pragma: no cover - compiled
    # what a dispatched action takes for itself in the state of the moment: the components it
    # brings back are worth nothing to the next action decided at the same moment
    if typ == 0:
        for y in (eu[x], ev[x]):
            if not seen[y] and comp[y] >= 0:
                cw[comp[y]] = 0.0
    elif typ == 3:
        covered[x] = True
    else:
        if comp[x] >= 0:
            cw[comp[x]] = 0.0
        if typ != 4:
            covered[x] = True
            for k in range(indptr[x], indptr[x + 1]):
                u = nbr[k]
                if lok[eid[k]] and comp[u] >= 0:
                    cw[comp[u]] = 0.0


@njit(cache=True)
def _gains(t, indptr, nbr, eid, eu, ev, roots, wp, broken, power_until, grid_back, link_up0,
           gen_at, pbs_at, sat_at, fix_node_at, fix_link_at, is_root, ctype, ctarget):
    # pragma: no cover - compiled
    # the state at t with every committed action done; then each candidate's immediate gain
    seen, alive, lok, covered, comp, cw = _state(t, indptr, nbr, eid, roots, wp, broken,
                                                 power_until, grid_back, link_up0, gen_at, pbs_at,
                                                 sat_at, fix_node_at, fix_link_at)
    cand = np.arange(ctype.shape[0])
    stamp = np.full(cw.shape[0], -1, np.int64)
    gain, pot = _cand_gains(t, cand, indptr, nbr, eid, eu, ev, wp, broken, power_until,
                            grid_back, gen_at, sat_at, fix_node_at, is_root, ctype, ctarget,
                            seen, alive, lok, covered, comp, cw, stamp, 0)
    n = wp.shape[0]
    # out[v]: what a baseline sees (the element is out): for nodes unserved & uncovered
    out = np.empty(n, np.bool_)
    for v in range(n):
        out[v] = not seen[v] and not covered[v]
    return gain, out, alive, lok, pot


@njit(cache=True)
def _reach_kernel(from_node, cand, c_acc, c_open, epochs, labels):  # pragma: no cover - compiled
    # the first road epoch at which from_node shares an access component with either end
    out = np.empty(cand.shape[0], np.float64)
    for j in range(cand.shape[0]):
        i = cand[j]
        r = np.inf
        for k in range(epochs.shape[0]):
            f = labels[k, from_node]
            if labels[k, c_acc[i, 0]] == f or labels[k, c_acc[i, 1]] == f:
                r = epochs[k]
                break
        out[j] = max(r, c_open[i])
    return out


@njit(cache=True)
def _latitudes(c_lat):  # pragma: no cover - compiled
    # each candidate's latitude in radians and its cosine, read by every travel time
    rad = np.empty(c_lat.shape[0], np.float64)
    cos = np.empty(c_lat.shape[0], np.float64)
    for i in range(c_lat.shape[0]):
        rad[i] = c_lat[i] * (math.pi / 180.0)
        cos[i] = math.cos(rad[i])
    return rad, cos


@njit(cache=True)
def _travel_kernel(lat, lon, cand, c_rad, c_cos, c_lon, detour, speed):  # pragma: no cover
    # haversine_km (resilience.scenarios.geo) x detour / speed, 0 where a position is unknown
    out = np.zeros(cand.shape[0], np.float64)
    if math.isnan(lat) or math.isnan(lon):
        return out
    deg = math.pi / 180.0
    p1 = lat * deg
    c1 = math.cos(p1)
    for j in range(cand.shape[0]):
        i = cand[j]
        p2 = c_rad[i]
        dl = (c_lon[i] - lon) * deg
        a = math.sin((p2 - p1) / 2) ** 2 + c1 * c_cos[i] * math.sin(dl / 2) ** 2
        a = min(max(a, 0.0), 1.0)
        h = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a)) * detour / speed
        if not math.isnan(h):
            out[j] = h
    return out


# --- the problem --------------------------------------------------------------------------------


@dataclass
class RestorationProblem:
    """The damaged part of a network, its candidate actions and the resources (see module doc).

    Node and link indices are those of the reduced problem; ``node_ids`` / ``link_ids`` name
    them. Candidate ``c`` is of type ``ctype[c]`` (:data:`CANDIDATE_TYPES`) on ``ctarget[c]``
    (a link index for link repairs, else a node index).
    """

    horizon: float
    node_ids: np.ndarray
    link_ids: np.ndarray
    indptr: np.ndarray
    nbr: np.ndarray
    eid: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    roots: np.ndarray
    is_root: np.ndarray
    w: np.ndarray
    wp: np.ndarray
    broken: np.ndarray
    power_until: np.ndarray
    grid_back: np.ndarray
    link_up0: np.ndarray
    w_outside: float
    weight_is_int: bool
    ctype: np.ndarray
    ctarget: np.ndarray
    c_lat: np.ndarray
    c_lon: np.ndarray
    c_acc: np.ndarray  # (nc, 2) full-graph node indices giving access
    c_open: np.ndarray  # hours the target's own road reopens (0: open)
    c_fail: np.ndarray  # when it went / goes out (fifo)
    c_subs: np.ndarray  # own subscribers (largest)
    c_op: np.ndarray  # operator of the target
    c_kind: np.ndarray  # node kind or link medium of the target
    # resources, one row per unit
    r_pool: np.ndarray
    r_ctypes: list[tuple[int, ...]]  # per pool: candidate types it can do
    r_depot_node: np.ndarray
    r_lat: np.ndarray
    r_lon: np.ndarray
    r_reusable: np.ndarray  # crews: True; equipment: one unit, one site
    pool_names: list[str]
    pool_elig: list[np.ndarray]  # per pool: candidate indices it may do
    pool_work: list[np.ndarray]  # per pool: on-site hours per eligible candidate
    # road access
    epochs: np.ndarray  # start times of the road states
    labels: np.ndarray  # (len(epochs), n_full) access components
    speed_kmh: float = 30.0
    detour: float = 1.4
    lookahead_h: float = 6.0
    full_node_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, object), repr=False)
    roads_closed: dict[str, float] = field(default_factory=dict)

    @property
    def n_candidates(self) -> int:
        """Number of candidate actions."""
        return len(self.ctype)

    def action_name(self, c: int) -> str:
        """The plan's action name of candidate ``c`` (``repair`` for both repair types)."""
        return _ACTION_OF[int(self.ctype[c])]

    def target_id(self, c: int) -> str:
        """Id of the element candidate ``c`` acts on."""
        t = int(self.ctarget[c])
        return str(self.link_ids[t] if self.ctype[c] == REPAIR_LINK else self.node_ids[t])

    # -- road access and travel --

    def reach_time(self, from_node: int, c: np.ndarray) -> np.ndarray:
        """Earliest time a resource at full-graph node ``from_node`` can reach candidates ``c``
        (road epochs: it waits for the road to reopen; ``inf``: not within the horizon)."""
        return _reach_kernel(int(from_node), np.asarray(c, np.int64), self.c_acc, self.c_open,
                             self.epochs, self.labels)

    def travel_h(self, lat: float, lon: float, c: np.ndarray) -> np.ndarray:
        """Hours on the road from a position to candidates ``c`` (straight line x detour /
        speed; 0 where a position is unknown)."""
        rad, cos = self._latitudes
        return _travel_kernel(float(lat), float(lon), np.asarray(c, np.int64), rad, cos,
                              self.c_lon, float(self.detour), float(self.speed_kmh))

    @cached_property
    def _latitudes(self) -> tuple[np.ndarray, np.ndarray]:
        return _latitudes(np.asarray(self.c_lat, np.float64))

    # -- evaluation --

    def action_arrays(self, done: dict[int, float]) -> tuple[np.ndarray, ...]:
        """Completion time per node / link of each action kind for candidates ``done``
        (candidate -> completion hours)."""
        n, m = len(self.w), len(self.link_up0)
        gen, pbs, sat, fixn = (np.full(n, np.inf) for _ in range(4))
        fixl = np.full(m, np.inf)
        by = {GENERATOR: gen, PORTABLE_BS: pbs, SATELLITE: sat, REPAIR_NODE: fixn, REPAIR_LINK: fixl}
        for c, t in done.items():
            arr = by[int(self.ctype[c])]
            x = int(self.ctarget[c])
            arr[x] = min(arr[x], t)
        return gen, pbs, sat, fixn, fixl

    def event_times(self, extra: np.ndarray) -> np.ndarray:
        """Sorted distinct times in ``[0, horizon)`` at which the state can change."""
        ts = np.concatenate([[0.0], self.power_until, self.grid_back, extra])
        ts = ts[(ts >= 0) & (ts < self.horizon)]
        return np.unique(ts)

    def evaluate(self, done: dict[int, float], *, full: bool = False) -> dict[str, Any]:
        """Subscriber-hours lost and the served curve when candidates ``done`` complete at the
        given hours.

        Returns ``{"subscriber_hours_lost", "times", "lost", "served_subscribers"}`` (the last
        three: the piecewise-constant loss and served subscribers from each event time on).
        The state is read (one BFS) at the start and at each battery or grid time and moved
        forward by the actions completing in between; ``full``: read at every event time (the
        same result, the reference the benchmark times).
        """
        gen, pbs, sat, fixn, fixl = self.action_arrays(done)
        dt = np.fromiter(done.values(), float, len(done))
        times = self.event_times(dt)
        if full:
            total, lost, served = _sweep(times, float(self.horizon), self.indptr, self.nbr,
                                         self.eid, self.roots, self.wp, self.w, self.broken,
                                         self.power_until, self.grid_back, self.link_up0, gen, pbs,
                                         sat, fixn, fixl)
        else:
            cands = np.fromiter(done.keys(), np.int64, len(done))
            order = np.argsort(dt, kind="stable")
            natural = np.isin(times, np.concatenate([self.power_until, self.grid_back]))
            total, lost, served = _sweep_forward(
                times, natural, float(self.horizon), dt[order], self.ctype[cands[order]],
                self.ctarget[cands[order]], self.indptr, self.nbr, self.eid, self.eu, self.ev,
                self.roots, self.is_root, self.wp, self.w, self.broken, self.power_until,
                self.grid_back, self.link_up0, gen, pbs, sat, fixn, fixl)
        return {"subscriber_hours_lost": float(total), "times": times, "lost": lost,
                "served_subscribers": served + self.w_outside}

    def state(self, t: float, arrs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The state at ``t`` with the actions of ``arrs`` (:meth:`action_arrays`) done:
        ``(seen, alive, lok, covered, comp, cw)`` (served nodes, alive nodes, carrying links,
        covered by a portable base station, component of each alive unserved node and the
        uncovered weight of each component). One BFS and one labelling (O(n' + m'))."""
        gen, pbs, sat, fixn, fixl = arrs
        return _state(float(t), self.indptr, self.nbr, self.eid, self.roots, self.wp, self.broken,
                      self.power_until, self.grid_back, self.link_up0, gen, pbs, sat, fixn, fixl)

    def advance(self, t: float, cands: np.ndarray, st: tuple[np.ndarray, ...],
                arrs: tuple[np.ndarray, ...], ncomp: int) -> int:
        """Move the state ``st`` (:meth:`state`, read at an earlier time with no battery or grid
        time since) forward to ``t`` in place by candidates ``cands``, completed since the read
        (already in ``arrs``); the new number of components (``ncomp``: the current one).
        O(what they bring back), no BFS of the whole problem."""
        gen, _pbs, sat, fixn, _fixl = arrs
        seen, alive, lok, covered, comp, cw = st
        cands = np.asarray(cands, np.int64)
        return int(_advance(float(t), self.ctype[cands], self.ctarget[cands], int(ncomp), self.indptr,
                            self.nbr, self.eid, self.eu, self.ev, self.is_root, self.wp, self.broken,
                            self.power_until, self.grid_back, gen, sat, fixn, seen, alive, lok,
                            covered, comp, cw))

    def gains_in(self, t: float, cand: np.ndarray, st: tuple[np.ndarray, ...],
                 arrs: tuple[np.ndarray, ...], stamp: np.ndarray | None = None,
                 base: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Gain and potential gain of candidates ``cand`` in the state ``st`` (:meth:`state`):
        O(len(cand) x degree), no BFS. ``stamp``, scratch reused between calls: at least as
        long as the state's component weights, holding -1 or marks below ``base`` (the next
        call's ``base`` is this one's plus ``len(cand)``)."""
        gen, _pbs, sat, fixn, _fixl = arrs
        seen, alive, lok, covered, comp, cw = st
        if stamp is None:
            stamp, base = np.full(cw.shape[0], -1, np.int64), 0
        return _cand_gains(float(t), np.asarray(cand, np.int64), self.indptr, self.nbr, self.eid,
                           self.eu, self.ev, self.wp, self.broken, self.power_until,
                           self.grid_back, gen, sat, fixn, self.is_root, self.ctype, self.ctarget,
                           seen, alive, lok, covered, comp, cw, stamp, int(base))

    def claim(self, c: int, st: tuple[np.ndarray, ...]) -> None:
        """Mark in the state ``st`` what candidate ``c`` brings back, so that the next decision
        at the same moment does not count it again (in place)."""
        seen, alive, lok, covered, comp, cw = st
        _claim(int(self.ctype[c]), int(self.ctarget[c]), self.indptr, self.nbr, self.eid, self.eu,
               self.ev, seen, alive, lok, covered, comp, cw)

    def gains(self, t: float, done: dict[int, float] | tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Immediate gain of every candidate in the state at ``t`` with the actions ``done``
        (all taken as complete), the out mask, alive nodes, carrying links, and the potential
        gain of candidates that wait for one more piece (a generator on a cut-off site, a
        satellite kit or a repair next to a site without power)."""
        arrs = self.action_arrays(done) if isinstance(done, dict) else done
        gen, pbs, sat, fixn, fixl = arrs
        return _gains(float(t), self.indptr, self.nbr, self.eid, self.eu, self.ev, self.roots,
                      self.wp, self.broken, self.power_until, self.grid_back, self.link_up0,
                      gen, pbs, sat, fixn, fixl, self.is_root, self.ctype, self.ctarget)


def _grid_back_hours(gattrs: dict[str, Any], csr: CSRGraph, off: set[str]) -> np.ndarray:
    """Hours until grid power is back at each node (0: on now; ``inf``: unknown)."""
    import pandas as pd

    feeds = gattrs.get("power_feeds") or {}
    as_of = gattrs.get("as_of")
    back = {}
    for f in off:
        eta = (feeds.get(f) or {}).get("expected_restore_at")
        if eta is not None and as_of is not None:
            back[f] = max(0.0, (pd.Timestamp(eta) - pd.Timestamp(as_of)).total_seconds() / 3600)
        else:
            back[f] = math.inf
    a = csr.attrs
    cats = a.categories["power_feed"]
    per_cat = np.array([back.get(str(f), math.inf) for f in cats], dtype=float)
    return per_cat[a.codes["power_feed"]]


def _nearest(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> int:
    """``np.argmin(haversine_km(lat, lon, lats, lons))`` (no NaN), computed only over a band of
    latitudes wide enough to hold the nearest point (a great-circle distance is at least the
    arc of the latitude difference): the first index among equal distances, as ``argmin``.

    >>> _nearest(0.0, 0.0, np.array([5.0, -1.0, 1.0, 30.0]), np.array([0.0, 0.0, 0.0, 0.0]))
    1
    """
    width = 0.05  # degrees of latitude either side
    while True:
        band = np.flatnonzero(np.abs(lats - lat) <= width)
        if width >= 180.0:
            band = np.arange(len(lats))
        if len(band):
            dist = haversine_km(lat, lon, lats[band], lons[band])
            k = int(np.argmin(dist))
            if width >= 180.0 or dist[k] < EARTH_RADIUS_KM * math.radians(width) * (1 - 1e-9):
                return int(band[k])
        width *= 4


def site_priorities(csr: CSRGraph, resources: Resources, priority: dict[str, float] | None) -> np.ndarray:
    """The incident commander's weight of every node: 1, or its municipality's or its own.

    Parameters
    ----------
    csr : CSRGraph
        The compiled graph.
    resources : Resources
        Its ``priorities`` (``municipalities`` and ``nodes`` maps) are read.
    priority : dict, optional
        Per-node weights that override the resources' (the inventory's ``priority`` column).

    Returns
    -------
    numpy.ndarray
        One weight per node (subscriber-hours are multiplied by it).

    Example
    -------
    >>> import networkx as nx
    >>> from resilience.restoration.resources import resources_from_dict
    >>> from resilience.topology.compiled import to_csr
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> site_priorities(to_csr(G), resources_from_dict({}), {"A": 3.0}).tolist()
    [1.0, 3.0]
    """
    p = np.ones(csr.n)
    pr = resources.priorities
    munis = {**pr.get("municipalities", {})}
    if munis:
        a = csr.attrs
        cats = a.categories["municipality"]
        per = np.array([munis.get(str(m), 1.0) for m in cats], dtype=float)
        p = per[a.codes["municipality"]]
    nodes = {**pr.get("nodes", {}), **(priority or {})}
    for nid, val in nodes.items():
        i = csr.node_index.get(nid)
        if i is not None:
            p[i] = float(val)
    return p


def build_problem(
    G: nx.MultiGraph | None,
    resources: Resources,
    *,
    horizon_h: float = 72.0,
    failed_nodes: np.ndarray | None = None,
    failed_links: np.ndarray | None = None,
    priority: dict[str, float] | None = None,
    csr: CSRGraph | None = None,
) -> RestorationProblem:
    """The restoration problem of the current state of ``G`` (see the module docstring).

    Parameters
    ----------
    G : networkx.MultiGraph or None
        The network with its state (never modified); ``None`` when ``csr`` is the compiled
        model (:func:`resilience.api.load_model`), whose ``graph`` attributes are read instead.
    resources : Resources
        Depots, crews, equipment, road closures, priorities.
    horizon_h : float
        Hours over which subscriber-hours lost are counted.
    failed_nodes, failed_links : bool arrays over ``to_csr(G)``, optional
        Extra damage (a what-if scenario's :class:`~resilience.scenarios.base.Damage`): failed
        nodes are broken (a crew must repair them), failed links are down.
    priority : dict, optional
        Node id to priority weight, on top of the resources file's ``priorities``.
    csr : CSRGraph, optional
        ``to_csr(G)`` computed beforehand, or the compiled model of the store (then ``G`` may
        be ``None``): reading a million-node graph into arrays is most of the build time.

    Returns
    -------
    RestorationProblem

    Notes
    -----
    O(n + m) array work, one widest-path pass (O((n + m) log n)) and one access labelling per
    road reopening within the horizon.

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(state="down", power="none", subscribers=10, kind="base_station")
    >>> res = Resources(equipment=[])
    >>> p = build_problem(G, res, horizon_h=10)
    >>> p.node_ids.tolist(), p.evaluate({})["subscriber_hours_lost"]
    (['C', 'A'], 100.0)
    """
    import pandas as pd

    if not (0 < horizon_h < math.inf):
        raise ValueError(f"horizon must be a finite number of hours > 0, not {horizon_h}")
    if G is None and csr is None:
        raise ValueError("build_problem needs the graph or its compiled CSR")
    csr = csr if csr is not None else to_csr(G)
    gattrs = G.graph if G is not None else csr.graph
    n_full = csr.n
    a = csr.attrs
    node_up = csr.node_up.copy()
    link_up = csr.link_up.copy()
    if failed_links is not None:
        link_up &= ~np.asarray(failed_links, bool)
    gone = power_gone_mask(csr)
    broken = ~node_up & ~gone
    if failed_nodes is not None:
        broken |= np.asarray(failed_nodes, bool)
    feeds = gattrs.get("power_feeds") or {}
    off = {f for f, s in feeds.items() if (s or {}).get("state") == "off"}
    on_battery, generator = a.is_("power", "battery"), a.is_("power", "generator")
    grid_cut = a.is_in("power_feed", off - {""})
    runs_down = on_battery | (grid_cut & ~generator)
    power_until = np.where(runs_down, battery_hours_left(csr), np.inf)
    power_until[gone] = 0.0
    grid_back = np.where(grid_cut | gone | on_battery, _grid_back_hours(gattrs, csr, off), 0.0)
    grid_back[~(grid_cut | gone | on_battery)] = np.inf  # never lost: no return needed
    # a node losing power with no grid feed info: unknown return
    # stable part: served throughout the horizon whatever is done
    death = np.where(broken, 0.0, power_until)
    out_t = widest_out_times(csr, death, link_ok=link_up)
    keep_r = out_t <= horizon_h
    nb_r = np.zeros(n_full, bool)
    if keep_r.any():
        e_touch = keep_r[csr.eu] | keep_r[csr.ev]
        nb_r[csr.eu[e_touch]] = True
        nb_r[csr.ev[e_touch]] = True
    boundary = nb_r & ~keep_r
    keep = keep_r | boundary
    sub = np.flatnonzero(keep)
    pos = np.full(n_full, -1, np.int64)
    pos[sub] = np.arange(len(sub))
    lk = keep[csr.eu] & keep[csr.ev] & ~(boundary[csr.eu] & boundary[csr.ev]) & (csr.eu != csr.ev)
    lidx = np.flatnonzero(lk)
    eu, ev = pos[csr.eu[lidx]], pos[csr.ev[lidx]]
    ns = len(sub)
    src = np.concatenate([eu, ev])
    dst = np.concatenate([ev, eu])
    ee = np.concatenate([np.arange(len(lidx)), np.arange(len(lidx))])
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(ns + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=ns), out=indptr[1:])
    nbr, eid = dst[order].astype(np.int64), ee[order].astype(np.int64)
    is_core = np.zeros(n_full, bool)
    is_core[csr.roots] = True
    root_full = (is_core & keep) | boundary
    is_root = root_full[sub]
    roots = np.flatnonzero(is_root).astype(np.int64)
    w_full = csr.weight
    prio = site_priorities(csr, resources, priority)
    w = w_full[sub].astype(float)
    wp = w * prio[sub]
    b_sub = broken[sub] & ~boundary[sub]
    pu = np.where(boundary[sub], np.inf, power_until[sub])
    gb = np.where(boundary[sub], np.inf, grid_back[sub])
    lu0 = link_up[lidx]
    w_outside = float(w_full[~keep].sum() + w_full[boundary].sum())
    # boundary nodes are always served: their weight is outside the loss, not in w
    w = np.where(boundary[sub], 0.0, w)
    wp = np.where(boundary[sub], 0.0, wp)

    # road access over the whole network: links other than satellite, roads open
    road_h = resources.road_hours(gattrs.get("as_of"))
    medium = csr.link_medium
    not_sat = medium != "satellite"
    closed_at = np.zeros(csr.m)  # hours until each link's roads are all open
    gnames, gptr, glinks = csr.srlg_groups
    g_reopen = np.array([road_h.get(str(g), 0.0) for g in gnames], dtype=float)
    for gi in np.flatnonzero(g_reopen > 0):
        sl = glinks[gptr[gi]:gptr[gi + 1]]
        closed_at[sl] = np.maximum(closed_at[sl], g_reopen[gi])
    epochs = np.unique(np.concatenate([[0.0], closed_at[(closed_at > 0) & (closed_at < horizon_h)]]))
    labels = np.stack([access_labels(csr, not_sat & (closed_at <= t), g_reopen <= t) for t in epochs])

    lat_full = a.numbers["lat"]
    lon_full = a.numbers["lon"]
    kind_full = a.label("kind")
    op_full = a.label("operator")

    # candidates
    ct, tg, acc_a, acc_b, copen, cfail, csub = [], [], [], [], [], [], []
    obs = a.observed_us
    as_of = gattrs.get("as_of")
    now_us = pd.Timestamp(as_of).value // 1000 if as_of is not None else 0
    fail_node = np.where(node_up[sub] & ~broken[sub] & (pu > 0), pu, 0.0)
    seen_h = np.where(obs[sub] > np.iinfo(np.int64).min, (obs[sub] - now_us) / 3.6e9, 0.0)
    fail_node = np.where(fail_node == 0, np.minimum(seen_h, 0.0), fail_node)
    inner = ~boundary[sub]
    down_l = np.flatnonzero(~lu0)
    if len(down_l):
        ct.append(np.full(len(down_l), REPAIR_LINK))
        tg.append(down_l)
        fa, fb = csr.eu[lidx[down_l]], csr.ev[lidx[down_l]]
        acc_a.append(fa)
        acc_b.append(fb)
        copen.append(closed_at[lidx[down_l]])
        cfail.append(np.zeros(len(down_l)))
        csub.append(np.maximum(w_full[fa], w_full[fb]))
    node_sets = (
        (REPAIR_NODE, np.flatnonzero(b_sub & inner)),
        (GENERATOR, np.flatnonzero(inner & (pu < horizon_h) & (gb > pu))),
        (PORTABLE_BS, np.flatnonzero(inner & (w > 0))),
        (SATELLITE, np.flatnonzero(inner & ~is_root)),
    )
    for typ, idx in node_sets:
        if not len(idx):
            continue
        ct.append(np.full(len(idx), typ))
        tg.append(idx)
        acc_a.append(sub[idx])
        acc_b.append(sub[idx])
        copen.append(np.zeros(len(idx)))
        cfail.append(fail_node[idx])
        csub.append(w[idx])
    if ct:
        ctype = np.concatenate(ct).astype(np.int64)
        ctarget = np.concatenate(tg).astype(np.int64)
        c_acc = np.stack([np.concatenate(acc_a), np.concatenate(acc_b)], axis=1).astype(np.int64)
        c_open = np.concatenate(copen)
        c_fail = np.concatenate(cfail)
        c_subs = np.concatenate(csub)
    else:
        ctype = ctarget = np.zeros(0, np.int64)
        c_acc = np.zeros((0, 2), np.int64)
        c_open = c_fail = c_subs = np.zeros(0)
    is_link = ctype == REPAIR_LINK
    c_lat = np.where(is_link, (lat_full[c_acc[:, 0]] + lat_full[c_acc[:, 1]]) / 2, lat_full[c_acc[:, 0]])
    c_lon = np.where(is_link, (lon_full[c_acc[:, 0]] + lon_full[c_acc[:, 1]]) / 2, lon_full[c_acc[:, 0]])
    c_op = op_full[c_acc[:, 0]] if len(ctype) else np.zeros(0, object)
    link_medium_sub = medium[lidx]
    c_kind = np.where(is_link, link_medium_sub[np.where(is_link, ctarget, 0)] if len(lidx) else "",
                      kind_full[c_acc[:, 0]]) if len(ctype) else np.zeros(0, object)
    c_kind = np.asarray(c_kind, dtype=object)
    kind_names, kind_code = np.unique(c_kind.astype(str), return_inverse=True)

    # resources: one row per unit; eligibility per pool
    depot_node: dict[str, int] = {}
    has_xy = ~(np.isnan(lat_full) | np.isnan(lon_full))
    xy_idx = np.flatnonzero(has_xy)
    xy_lat, xy_lon = lat_full[xy_idx], lon_full[xy_idx]
    for d in resources.depots:
        if d.node is not None:
            if d.node not in csr.node_index:
                raise ValueError(f"depot {d.id}: node {d.node[:60]!r} is not in the network")
            depot_node[d.id] = csr.node_index[d.node]
        elif len(xy_idx):
            depot_node[d.id] = int(xy_idx[_nearest(d.lat, d.lon, xy_lat, xy_lon)])
        else:
            depot_node[d.id] = 0
    depots = {d.id: d for d in resources.depots}
    pools: list[Any] = [*resources.crews, *resources.equipment]
    r_pool, r_dn, r_lat, r_lon, r_reuse = [], [], [], [], []
    pool_elig, pool_work, r_ctypes, names = [], [], [], []
    for pi, pool in enumerate(pools):
        is_crew = not hasattr(pool, "type")
        names.append(pool.id)
        if is_crew:
            types = (REPAIR_LINK, REPAIR_NODE)
            skill = np.asarray(list(pool.repairs), dtype=object)
        else:
            types = (_EQUIP_CTYPE[pool.type],)
            skill = np.asarray(pool.kinds, dtype=object)
        ok = np.isin(ctype, types) & np.isin(kind_code, np.flatnonzero(np.isin(kind_names, skill)))
        if pool.operator is not None:
            ok &= c_op == pool.operator
        idx = np.flatnonzero(ok)
        if is_crew:
            work = np.array([pool.repairs[str(k)] for k in c_kind[idx]], dtype=float)
        else:
            work = np.full(len(idx), pool.setup_h)
        pool_elig.append(idx)
        pool_work.append(work)
        r_ctypes.append(types)
        d = depots[pool.depot]
        for _ in range(pool.count):
            r_pool.append(pi)
            r_dn.append(depot_node.get(pool.depot, 0))
            r_lat.append(d.lat)
            r_lon.append(d.lon)
            r_reuse.append(is_crew)
    return RestorationProblem(
        horizon=float(horizon_h), node_ids=csr.node_ids[sub], link_ids=csr.link_ids[lidx],
        indptr=indptr, nbr=nbr, eid=eid, eu=eu.astype(np.int64), ev=ev.astype(np.int64),
        roots=roots, is_root=is_root, w=w, wp=wp, broken=b_sub, power_until=pu.astype(float),
        grid_back=gb.astype(float), link_up0=lu0, w_outside=w_outside,
        weight_is_int=csr.weight_is_int, ctype=ctype, ctarget=ctarget, c_lat=c_lat, c_lon=c_lon,
        c_acc=c_acc, c_open=c_open, c_fail=c_fail, c_subs=c_subs, c_op=c_op, c_kind=c_kind,
        r_pool=np.asarray(r_pool, np.int64), r_ctypes=r_ctypes,
        r_depot_node=np.asarray(r_dn, np.int64), r_lat=np.asarray(r_lat, float),
        r_lon=np.asarray(r_lon, float), r_reusable=np.asarray(r_reuse, bool), pool_names=names,
        pool_elig=pool_elig, pool_work=pool_work, epochs=epochs, labels=labels,
        speed_kmh=resources.speed_kmh, detour=resources.detour,
        lookahead_h=resources.lookahead_h, full_node_ids=csr.node_ids, roads_closed=road_h,
    )
