"""The compiled (numba) kernels of the graph searches, over the flat arrays of a
:class:`resilience.topology.compiled.CSRGraph`.

Private: call them through :mod:`resilience.analysis.traversal`, whose wrappers take a CSRGraph,
choose the compiled or the plain-Python form (``SMALL_GRAPH``) and name the results. Every kernel
is iterative (no recursion) and cached on disk by numba (``cache=True``). :func:`bfs_into` is
also called from other packages' kernels; they import it from the public module.

Example
-------
>>> import numpy as np
>>> indptr, nbr, eid = np.array([0, 1, 2]), np.array([1, 0]), np.array([0, 0])
>>> ok = np.ones(2, np.bool_)
>>> bfs_kernel.py_func(indptr, nbr, eid, ok, ok[:1], np.array([0])).tolist()
[True, True]
"""

from __future__ import annotations

import numpy as np

from resilience.jit import njit

__all__ = ["dfs_kernel", "bfs_into", "bfs_kernel", "widest_kernel", "upstream_kernel"]


@njit(cache=True)
def dfs_kernel(indptr, nbr, eid, node_ok, link_ok, roots, w):  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    disc = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    pedge = np.full(n, -1, np.int64)
    size = np.zeros(n, np.int64)
    wsum = np.zeros(n, np.float64)
    order = np.empty(n, np.int64)
    it = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    is_root = np.zeros(n, np.bool_)
    for r in roots:
        is_root[r] = True
    t = 1  # the virtual root has discovery time 0
    cnt = 0
    for r in roots:
        if not node_ok[r] or disc[r] != -1:
            continue
        disc[r] = t
        low[r] = t
        t += 1
        parent[r] = -2
        order[cnt] = r
        cnt += 1
        it[r] = indptr[r]
        sp = 0
        stack[0] = r
        while sp >= 0:
            v = stack[sp]
            if it[v] < indptr[v + 1]:
                k = it[v]
                it[v] += 1
                e = eid[k]
                if e == pedge[v] or not link_ok[e]:
                    continue
                u = nbr[k]
                if not node_ok[u]:
                    continue
                if disc[u] == -1:
                    parent[u] = v
                    pedge[u] = e
                    disc[u] = t
                    # a root found below another root keeps its virtual link to the root: back edge
                    low[u] = 0 if is_root[u] else t
                    t += 1
                    order[cnt] = u
                    cnt += 1
                    it[u] = indptr[u]
                    sp += 1
                    stack[sp] = u
                elif disc[u] < low[v]:
                    low[v] = disc[u]
            else:
                sp -= 1
                size[v] += 1
                wsum[v] += w[v]
                if sp >= 0:
                    p = stack[sp]
                    size[p] += size[v]
                    wsum[p] += wsum[v]
                    if low[v] < low[p]:
                        low[p] = low[v]
    return disc, low, parent, pedge, size, wsum, order, cnt


@njit(cache=True)
def bfs_into(indptr, nbr, eid, node_ok, link_ok, roots, seen, queue):  # pragma: no cover
    """Mark in ``seen`` (all False on entry) every node reached from ``roots`` over usable nodes
    and links; ``queue`` is scratch space of length n. Compiled; callable from other kernels."""
    head = 0
    tail = 0
    for r in roots:
        if node_ok[r] and not seen[r]:
            seen[r] = True
            queue[tail] = r
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if seen[u] or not node_ok[u] or not link_ok[eid[k]]:
                continue
            seen[u] = True
            queue[tail] = u
            tail += 1


@njit(cache=True)
def bfs_kernel(indptr, nbr, eid, node_ok, link_ok, roots):  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    seen = np.zeros(n, np.bool_)
    bfs_into(indptr, nbr, eid, node_ok, link_ok, roots, seen, np.empty(n, np.int64))
    return seen


@njit(cache=True)
def widest_kernel(indptr, nbr, eid, death, link_ok, roots):  # pragma: no cover - compiled
    # out[v] = max over root paths of min(death of nodes on the path): the time v goes out.
    n = indptr.shape[0] - 1
    out = np.zeros(n, np.float64)
    done = np.zeros(n, np.bool_)
    cap = n + indptr[n] + 1
    hk = np.empty(cap, np.float64)  # max-heap keys
    hv = np.empty(cap, np.int64)
    size = 0
    for r in roots:
        if death[r] > out[r]:
            out[r] = death[r]
            # push
            i = size
            size += 1
            hk[i] = death[r]
            hv[i] = r
            while i > 0:
                p = (i - 1) // 2
                if hk[p] >= hk[i]:
                    break
                hk[p], hk[i] = hk[i], hk[p]
                hv[p], hv[i] = hv[i], hv[p]
                i = p
    while size > 0:
        key = hk[0]
        v = hv[0]
        size -= 1
        hk[0] = hk[size]
        hv[0] = hv[size]
        i = 0
        while True:
            lft = 2 * i + 1
            if lft >= size:
                break
            c = lft
            if lft + 1 < size and hk[lft + 1] > hk[lft]:
                c = lft + 1
            if hk[i] >= hk[c]:
                break
            hk[c], hk[i] = hk[i], hk[c]
            hv[c], hv[i] = hv[i], hv[c]
            i = c
        if done[v] or key < out[v]:
            continue
        done[v] = True
        for k in range(indptr[v], indptr[v + 1]):
            if not link_ok[eid[k]]:
                continue
            u = nbr[k]
            if done[u]:
                continue
            cand = key if key < death[u] else death[u]
            if cand > out[u]:
                out[u] = cand
                i = size
                size += 1
                hk[i] = cand
                hv[i] = u
                while i > 0:
                    p = (i - 1) // 2
                    if hk[p] >= hk[i]:
                        break
                    hk[p], hk[i] = hk[i], hk[p]
                    hv[p], hv[i] = hv[i], hv[p]
                    i = p
    return out


@njit(cache=True)
def upstream_kernel(indptr, nbr, eid, served, node_down, link_down, sources):  # pragma: no cover
    # BFS over the physical graph (all elements) from the served nodes and the roots; each
    # unserved node learns the last down element on its BFS path before it.
    n = indptr.shape[0] - 1
    up_type = np.zeros(n, np.int8)  # 0 none, 1 node, 2 link
    up_idx = np.full(n, -1, np.int64)
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    head = 0
    tail = 0
    for v in sources:
        if not seen[v]:
            seen[v] = True
            queue[tail] = v
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if seen[u]:
                continue
            seen[u] = True
            e = eid[k]
            if link_down[e]:
                up_type[u] = 2
                up_idx[u] = e
            elif node_down[v] and not served[v]:
                up_type[u] = 1
                up_idx[u] = v
            else:
                up_type[u] = up_type[v]
                up_idx[u] = up_idx[v]
            queue[tail] = u
            tail += 1
    return up_type, up_idx
