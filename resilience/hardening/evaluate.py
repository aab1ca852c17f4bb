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
from numba import njit

from resilience.analysis.traversal import bfs_into

__all__ = ["sweep", "sweep_cached", "local_csr"]

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
