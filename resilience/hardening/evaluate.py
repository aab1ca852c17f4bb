"""The evaluator: subscriber-hours lost in one sample, over flat arrays, with a compiled sweep.

A node is *alive* at ``t`` when it is not broken (``t >= broken_until``) and has power: grid
(``t < off`` or ``t >= on``), its battery (``t < off + runtime``; a generator is ``inf``) or a
portable generator (``t >= gen_at``). A link carries traffic unless ``cut <= t < fix``. A node is
*served* when a path of alive nodes and carrying links joins it to a root, or to a site whose
satellite kit or second route (the extra edges ``xa``-``xb``; ``xb = -1``: to a site that is
never out) is alive. The state only changes at the event times (the finite values of those
arrays), so one BFS per event time gives the exact integral: the subscriber-hours lost
(``wp``: priority-weighted subscribers, as the restoration planner counts them).

Example
-------
>>> import numpy as np
>>> indptr = np.array([0, 1, 2]); nbr = np.array([1, 0]); eid = np.array([0, 0])
>>> inf = np.inf
>>> loss, _ = sweep(10.0, indptr, nbr, eid, np.array([0]), np.array([0.0, 5.0]),
...     np.array([inf, 0.0]), np.array([inf, 8.0]), np.array([inf, 3.0]), np.zeros(2),
...     np.full(2, inf), np.array([inf]), np.array([inf]))
>>> loss          # out from 3 h (battery) to 8 h (grid back): 5 subscribers x 5 h
25.0
"""

from __future__ import annotations

import numpy as np

from resilience.analysis.traversal import bfs_into
from resilience.jit import njit

__all__ = ["sweep", "sweep_cached", "local_csr", "gains", "Scratch", "extra_mask", "OP_POWER", "OP_KIT", "OP_EDGE", "OP_LINK"]

_NO_EXTRA = np.empty(0, np.int64)


@njit(cache=True)
def _sweep(horizon, indptr, nbr, eid, roots, wp, off, on, runtime, broken_until, gen_at,
           cut_at, fix_at, xa, xb, want_out, record, cur_times, cur_lost, cur_seen, lo, hi,
           wa, wb, new_t):  # pragma: no cover - compiled
    # With a cache (cur_times non-empty): the event times are the cached ones plus new_t (the
    # change's own), and the state at t is recomputed only when lo <= t < hi and (wa < 0, or
    # site wa / wb is not served in the cached state at t); elsewhere the cached loss is taken
    # (the change cannot matter there).
    n = wp.shape[0]
    m = cut_at.shape[0]
    cached = cur_times.shape[0] > 0
    if cached:
        buf = np.empty(cur_times.shape[0] + new_t.shape[0], np.float64)
        k = cur_times.shape[0]
        buf[:k] = cur_times
        for x in new_t:
            if 0.0 < x < horizon:
                buf[k] = x
                k += 1
    else:
        buf = np.empty(1 + 5 * n + 2 * m, np.float64)
        k = 0
        buf[k] = 0.0
        k += 1
        for v in range(n):
            for x in (off[v], on[v], off[v] + runtime[v], broken_until[v], gen_at[v]):
                if 0.0 < x < horizon:
                    buf[k] = x
                    k += 1
        for e in range(m):
            for x in (cut_at[e], fix_at[e]):
                if 0.0 < x < horizon:
                    buf[k] = x
                    k += 1
    times = np.unique(buf[:k])
    nt = times.shape[0]
    alive = np.empty(n, np.bool_)
    lok = np.empty(m, np.bool_)
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    seeds = np.empty(xa.shape[0], np.int64)
    ever = np.zeros(n if want_out else 0, np.bool_)
    lost = np.zeros(nt, np.float64)
    smat = np.zeros((nt if record else 0, n), np.bool_)
    total = 0.0
    for i in range(nt):
        t = times[i]
        t_next = times[i + 1] if i + 1 < nt else horizon
        if cached:
            j = np.searchsorted(cur_times, t, side="right") - 1
            need = lo <= t < hi
            if need and wa >= 0:
                need = not cur_seen[j, wa] or (wb >= 0 and not cur_seen[j, wb])
            if not need:
                if record:
                    smat[i, :] = cur_seen[j, :]
                lost[i] = cur_lost[j]
                total += cur_lost[j] * (t_next - t)
                continue
        for v in range(n):
            alive[v] = broken_until[v] <= t and (
                t < off[v] or t >= on[v] or t < off[v] + runtime[v] or t >= gen_at[v])
        for e in range(m):
            lok[e] = not (cut_at[e] <= t < fix_at[e])
        seen[:] = False
        bfs_into(indptr, nbr, eid, alive, lok, roots, seen, queue)
        changed = xa.shape[0] > 0
        while changed:
            changed = False
            ns = 0
            for j2 in range(xa.shape[0]):
                a = xa[j2]
                b = xb[j2]
                if b < 0:
                    if alive[a] and not seen[a]:
                        seeds[ns] = a
                        ns += 1
                elif seen[a] and alive[b] and not seen[b]:
                    seeds[ns] = b
                    ns += 1
                elif seen[b] and alive[a] and not seen[a]:
                    seeds[ns] = a
                    ns += 1
            if ns:
                bfs_into(indptr, nbr, eid, alive, lok, seeds[:ns], seen, queue)
                changed = True
        lw = 0.0
        for v in range(n):
            if not seen[v]:
                lw += wp[v]
                if want_out:
                    ever[v] = True
        if record:
            smat[i, :] = seen
        lost[i] = lw
        total += lw * (t_next - t)
    return total, ever, times, lost, smat


_EF = np.empty(0, np.float64)
_EB = np.zeros((0, 0), np.bool_)


def sweep(
    horizon: float,
    indptr: np.ndarray,
    nbr: np.ndarray,
    eid: np.ndarray,
    roots: np.ndarray,
    wp: np.ndarray,
    off: np.ndarray,
    on: np.ndarray,
    runtime: np.ndarray,
    broken_until: np.ndarray,
    gen_at: np.ndarray,
    cut_at: np.ndarray,
    fix_at: np.ndarray,
    xa: np.ndarray | None = None,
    xb: np.ndarray | None = None,
    want_out: bool = False,
) -> tuple[float, np.ndarray]:
    """Subscriber-hours lost over ``[0, horizon)`` and (``want_out``) the nodes out at some time.

    Parameters are flat arrays over the nodes (``wp`` ... ``gen_at``) and links (``cut_at``,
    ``fix_at``) of a CSR graph; ``xa``/``xb`` the extra edges (see the module docstring).

    Notes
    -----
    One BFS per distinct event time: O(T (n + m)), T the number of event times (a handful for
    the generic scenarios: battery sizes, power back, repairs). :func:`sweep_cached` recomputes
    only the times a change can matter.

    Examples
    --------
    >>> i = np.array([0, 0]); z = np.empty(0, np.int64)
    >>> sweep(4.0, i, z, z, z, np.array([2.0]), np.array([np.inf]), np.array([np.inf]),
    ...       np.array([0.0]), np.zeros(1), np.array([np.inf]), np.empty(0), np.empty(0))[0]
    8.0
    """
    r = _sweep(float(horizon), indptr, nbr, eid, roots, wp, off, on, runtime, broken_until,
               gen_at, cut_at, fix_at, _NO_EXTRA if xa is None else xa,
               _NO_EXTRA if xb is None else xb, want_out, False, _EF, _EF, _EB, 0.0, 0.0, -1, -1, _EF)
    return float(r[0]), r[1]


def sweep_cached(horizon: float, arrays: tuple, cache: tuple | None, window: tuple[float, float],
                 watch: tuple[int, int] = (-1, -1), record: bool = False,
                 new_times: np.ndarray = _EF) -> tuple:
    """:func:`sweep` over ``arrays`` (its positional arrays, ``indptr`` to ``xb``) reusing
    ``cache = (times, lost, seen)`` of the current state outside ``window = (lo, hi)`` and at
    times the watched sites are served; ``new_times``: the event times the change adds (the
    others are the cache's). Returns ``(loss, times, lost, seen)`` (``seen`` only with
    ``record``).

    >>> i = np.array([0, 0]); z = np.empty(0, np.int64); inf = np.array([np.inf])
    >>> arr = (i, z, z, z, np.array([2.0]), inf, inf, np.array([0.0]), np.zeros(1), inf,
    ...        np.empty(0), np.empty(0), z, z)
    >>> sweep_cached(4.0, arr, None, (0.0, 4.0))[0]
    8.0
    """
    ct, cl, cs = cache if cache is not None else (_EF, _EF, _EB)
    r = _sweep(float(horizon), *arrays, False, record, ct, cl, cs, float(window[0]),
               float(window[1]), int(watch[0]), int(watch[1]), np.asarray(new_times, np.float64))
    return float(r[0]), r[2], r[3], r[4]


def local_csr(n: int, lu: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR adjacency ``(indptr, nbr, eid)`` of ``n`` nodes and links ``lu[i]``-``lv[i]``.

    >>> [a.tolist() for a in local_csr(3, np.array([0, 1]), np.array([1, 2]))]
    [[0, 1, 3, 4], [1, 2, 0, 1], [0, 1, 0, 1]]
    """
    k = len(lu)
    src = np.concatenate([lu, lv]).astype(np.int64)
    dst = np.concatenate([lv, lu]).astype(np.int64)
    e = np.concatenate([np.arange(k), np.arange(k)]).astype(np.int64)
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order], e[order]


# --- incremental gains ---------------------------------------------------------------------

OP_POWER, OP_KIT, OP_EDGE, OP_LINK = 0, 1, 2, 3
"""Kinds of change :func:`gains` evaluates: a longer power runtime at site ``a`` (``r``: the new
runtime), a satellite kit at ``a``, a new edge ``a``-``b`` (a second route; ``b = -1``: to a
site never out, i.e. a kit at ``a``), link ``a``-``b`` carrying again over ``[lo1, hi1)`` and
``[lo2, hi2)`` (leaving a shared-risk group)."""


@njit(cache=True, inline="always")
def _alive(v, t, off, on, runtime, broken, gen):  # pragma: no cover - compiled
    return broken[v] <= t and (t < off[v] or t >= on[v] or t < off[v] + runtime[v] or t >= gen[v])


@njit(cache=True)
def _grow(i, t, s, indptr, nbr, eid, wp, off, on, runtime, broken, gen, cut, fix, xa, xb,
          has_x, seen, stamp, mark, queue):  # pragma: no cover - compiled
    # The weight that becomes served at cached interval i (time t) when site s (alive, not served,
    # now joined to a served site) is: s and every alive site not served in the cache that
    # reaches s over carrying links and the extra edges (routes) already bought.
    stamp[s] = mark
    queue[0] = s
    head, tail = 0, 1
    w = 0.0
    while head < tail:
        v = queue[head]
        head += 1
        w += wp[v]
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if stamp[u] == mark or seen[i, u]:
                continue
            e = eid[k]
            if cut[e] <= t < fix[e]:
                continue
            if not _alive(u, t, off, on, runtime, broken, gen):
                continue
            stamp[u] = mark
            queue[tail] = u
            tail += 1
        if has_x[v]:
            for j in range(xa.shape[0]):
                u = -1
                if xa[j] == v:
                    u = xb[j]
                elif xb[j] == v:
                    u = xa[j]
                if u < 0 or stamp[u] == mark or seen[i, u]:
                    continue
                if not _alive(u, t, off, on, runtime, broken, gen):
                    continue
                stamp[u] = mark
                queue[tail] = u
                tail += 1
    return w


@njit(cache=True)
def _joined(i, t, a, indptr, nbr, eid, is_root, cut, fix, xa, xb, has_x, seen):  # pragma: no cover
    # Would site a, alive at t, be served: a root, a neighbour served over a carrying link, a
    # satellite kit, or a route to a served site (or to one never out)?
    if is_root[a]:
        return True
    for k in range(indptr[a], indptr[a + 1]):
        if seen[i, nbr[k]]:
            e = eid[k]
            if not (cut[e] <= t < fix[e]):
                return True
    if has_x[a]:
        for j in range(xa.shape[0]):
            if xa[j] == a and (xb[j] < 0 or seen[i, xb[j]]):
                return True
            if xb[j] == a and seen[i, xa[j]]:
                return True
    return False


@njit(cache=True)
def _gains(horizon, indptr, nbr, eid, is_root, wp, off, on, runtime, broken, gen, cut, fix, xa,
           xb, has_x, times, seen, kind, opa, opb, opr, lo1, hi1, lo2, hi2, stamp, queue,
           mark):  # pragma: no cover - compiled
    # stamp/queue: scratch of at least n entries; stamp values <= mark are free (mark returned)
    nt = times.shape[0]
    out = np.zeros(kind.shape[0], np.float64)
    for q in range(kind.shape[0]):
        a = opa[q]
        b = opb[q]
        kd = kind[q]
        if kd == 0:  # power: a is newly alive over [lo, hi)
            if a < 0:
                continue
            rt = max(runtime[a], opr[q])
            la = max(off[a] + runtime[a], broken[a])
            ha = min(min(on[a], off[a] + rt), min(gen[a], horizon))
            lb = hb = 0.0
        elif kd == 3:
            la, ha, lb, hb = lo1[q], hi1[q], lo2[q], hi2[q]
        else:
            la, ha, lb, hb = 0.0, horizon, 0.0, 0.0
        if not (la < ha or lb < hb):
            continue
        total = 0.0
        for i in range(nt):
            t = times[i]
            tn = times[i + 1] if i + 1 < nt else horizon
            ov = max(0.0, min(ha, tn) - max(la, t)) + max(0.0, min(hb, tn) - max(lb, t))
            if ov <= 0.0:
                continue
            s = -1
            if kd == 0:
                if _joined(i, t, a, indptr, nbr, eid, is_root, cut, fix, xa, xb, has_x, seen):
                    s = a
            elif kd == 1 or (kd == 2 and b < 0):
                if a >= 0 and not seen[i, a] and _alive(a, t, off, on, runtime, broken, gen):
                    s = a
            else:  # a new edge (route) or a link carrying again: one end served, the other not
                if a < 0 or b < 0:
                    continue
                if seen[i, a] and not seen[i, b] and _alive(b, t, off, on, runtime, broken, gen):
                    s = b
                elif seen[i, b] and not seen[i, a] and _alive(a, t, off, on, runtime, broken, gen):
                    s = a
            if s < 0:
                continue
            mark += 1
            total += ov * _grow(i, t, s, indptr, nbr, eid, wp, off, on, runtime, broken, gen, cut,
                                fix, xa, xb, has_x, seen, stamp, mark, queue)
        out[q] = total
    return out, mark


class Scratch:
    """Scratch arrays of :func:`gains` kept between calls (``stamp``, ``queue``, ``mark``): no
    allocation of the sample's size per call."""

    def __init__(self, n: int = 0) -> None:
        self.stamp = np.zeros(n, np.int64)
        self.queue = np.empty(n, np.int64)
        self.mark = 0

    def fit(self, n: int) -> Scratch:
        """Grow to ``n`` entries if smaller; returns itself."""
        if self.stamp.shape[0] < n:
            self.__init__(max(n, 2 * self.stamp.shape[0]))
        return self


def extra_mask(n: int, xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Sites at an end of an extra edge (a kit or a route).

    >>> extra_mask(3, np.array([0]), np.array([-1])).tolist()
    [True, False, False]
    """
    m = np.zeros(n, bool)
    m[xa] = True
    m[xb[xb >= 0]] = True
    return m


def gains(horizon: float, arrays: tuple, is_root: np.ndarray, cache: tuple, kind: np.ndarray,
          a: np.ndarray, b: np.ndarray, r: np.ndarray | None = None,
          windows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
          has_x: np.ndarray | None = None, scratch: Scratch | None = None) -> np.ndarray:
    """Subscriber-hours saved by each of several changes (one at a time) in one sample.

    Exact and incremental: from the cached state ``cache = (times, lost, seen)`` of
    :func:`sweep_cached` (``record=True``), over each cached interval the change can matter in,
    only the sites it newly joins to a root are visited (a BFS from the changed site over alive
    sites not served in the cache), instead of a sweep of the whole sample. ``arrays``: the
    positional arrays of :func:`sweep` (``indptr`` to ``xb``, the extra edges bought);
    ``is_root``: the roots as a mask; ``kind``: ``OP_*`` per change, ``a``/``b`` its local sites,
    ``r`` (power) the new runtime, ``windows`` (``OP_LINK``) ``(lo1, hi1, lo2, hi2)``: when the
    link newly carries; ``has_x``: :func:`extra_mask` of the extra edges and ``scratch`` a
    :class:`Scratch` (both made here when not given).

    Examples
    --------
    >>> indptr = np.array([0, 1, 2]); nbr = np.array([1, 0]); eid = np.array([0, 0])
    >>> inf = np.inf; z = np.empty(0, np.int64)
    >>> arr = (indptr, nbr, eid, np.array([0]), np.array([0.0, 5.0]), np.array([inf, 0.0]),
    ...        np.array([inf, 8.0]), np.array([inf, 3.0]), np.zeros(2), np.full(2, inf),
    ...        np.array([inf]), np.array([inf]), z, z)
    >>> loss, *cache = sweep_cached(10.0, arr, None, (0.0, 10.0), record=True)
    >>> gains(10.0, arr, np.array([True, False]), tuple(cache), np.array([OP_POWER, OP_KIT]),
    ...       np.array([1, 1]), np.array([-1, -1]), np.array([5.0, 0.0])).tolist()
    [10.0, 0.0]
    """
    (indptr, nbr, eid, _roots, wp, off, on, runtime, broken, gen, cut, fix, xa, xb) = arrays
    times, _lost, seen = cache
    q = len(kind)
    r = np.zeros(q) if r is None else np.asarray(r, np.float64)
    if windows is None:
        zq = np.zeros(q)
        windows = (zq, zq, zq, zq)
    n = wp.shape[0]
    has_x = extra_mask(n, xa, xb) if has_x is None else has_x
    sc = (scratch or Scratch()).fit(n)
    out, sc.mark = _gains(float(horizon), indptr, nbr, eid, is_root, wp, off, on, runtime, broken, gen,
                          cut, fix, xa, xb, has_x, times, seen, np.asarray(kind, np.int64),
                          np.asarray(a, np.int64), np.asarray(b, np.int64), r,
                          *(np.asarray(w, np.float64) for w in windows), sc.stamp, sc.queue, sc.mark)
    return out
