"""Blast radius of every shared-risk group (all its links fail together) and its hidden part.

Definitions (docs/definitions.md): a shared-risk group's blast radius is the set of nodes served now and
not served once every link of the group has failed. Its *hidden part* is the nodes in it that no
single element between them and the core cuts off (not single-homed; the roots do not count),
and the group is a *hidden single point of failure* when that part is not empty: a duct carrying
both uplinks of a dual-homed site. Single elements are :mod:`resilience.analysis.blast`; the
search both start from is :func:`resilience.analysis.traversal.dfs_lowpoint`.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph(); G.add_node("C", kind="core", subscribers=0)
>>> G.add_nodes_from([("A", {"subscribers": 5}), ("B", {"subscribers": 7})])
>>> G.add_edges_from([("C", "A", "L1", {"srlg": ("duct-1",)}), ("C", "A", "L2", {"srlg": ("duct-1",)}),
...                   ("A", "B", "L3", {"srlg": ()})])
['L1', 'L2', 'L3']
>>> srlg_blast_radius(G)[["srlg", "nodes_lost", "subscribers_lost", "hidden"]].values.tolist()
[['duct-1', 2, 12, True]]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.analysis.blast import _depth_kernel, _subs
from resilience.analysis.traversal import DFSResult, dfs_lowpoint, root_indices, whole_counts
from resilience.jit import njit
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = ["srlg_blast_radius"]

SRLG_BLAST_COLUMNS = ["srlg", "links", "nodes_lost", "subscribers_lost", "hidden_nodes",
                      "hidden_subscribers", "hidden"]


@njit(cache=True)
def _group_lost_kernel(indptr, nbr, eid, node_ok, link_up, base_served, w, disc, size, order,
                       is_root, glinks, lo, hi, tree_child, cut, in_cut, seen, region,
                       queue):  # pragma: no cover - compiled
    # Nodes lost when all links ``glinks[lo:hi]`` of one group fail. Only the DFS subtrees below
    # the group's tree links (the region R) can lose service: every served node outside R keeps
    # its tree path. So the search is local: seed the roots in R and the nodes of R that still
    # touch a served node outside R over a surviving link, spread inside R, count the served
    # nodes of R unreached. ``w`` holds one weight column per sum. The scratch arrays are all
    # False on entry and on return.
    for j in range(lo, hi):
        cut[glinks[j]] = True
    nr = 0
    for j in range(lo, hi):
        c = tree_child[glinks[j]]
        if c < 0:
            continue
        first = disc[c]
        for k in range(first, first + size[c]):
            v = order[k - 1]
            if not in_cut[v]:
                in_cut[v] = True
                region[nr] = v
                nr += 1
    head = 0
    tail = 0
    for i in range(nr):
        v = region[i]
        if not node_ok[v]:
            continue
        if is_root[v]:
            seen[v] = True
            queue[tail] = v
            tail += 1
            continue
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            e = eid[k]
            if not in_cut[u] and base_served[u] and node_ok[u] and link_up[e] and not cut[e]:
                seen[v] = True
                queue[tail] = v
                tail += 1
                break
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            e = eid[k]
            if seen[u] or not in_cut[u] or not node_ok[u] or not link_up[e] or cut[e]:
                continue
            seen[u] = True
            queue[tail] = u
            tail += 1
    lost = 0
    wl = np.zeros(w.shape[1], np.float64)
    for i in range(nr):
        v = region[i]
        if base_served[v] and not seen[v]:
            lost += 1
            for j in range(w.shape[1]):
                wl[j] += w[v, j]
        in_cut[v] = False
        seen[v] = False
    for j in range(lo, hi):
        cut[glinks[j]] = False
    return lost, wl


# Nested groups: count by pieces when a subtree count costs less than this many nodes searched
# (tests set 0 to count every nested group).
_QUERY_COST = 16


@njit(cache=True)
def _back_link(e, eu, ev, link_up, tree_child, disc):  # pragma: no cover - compiled
    # (lower, upper) ends of link e if it is a usable non-tree link between served nodes (then
    # the upper end is a DFS ancestor of the lower one), else (-1, -1).
    u = eu[e]
    v = ev[e]
    if tree_child[e] >= 0 or not link_up[e] or u == v or disc[u] < 0 or disc[v] < 0:
        return -1, -1
    if disc[u] > disc[v]:
        return u, v
    return v, u


@njit(cache=True)
def _back_links(eu, ev, link_up, tree_child, disc, roots):  # pragma: no cover - compiled
    # Discovery times (lower, upper) of the ends of every usable non-tree link between served
    # nodes, plus a virtual link (root, virtual root at time 0) for every root reached.
    m = eu.shape[0]
    lower = np.empty(m + roots.shape[0], np.int64)
    upper = np.empty(m + roots.shape[0], np.int64)
    nb = 0
    for e in range(m):
        x, y = _back_link(e, eu, ev, link_up, tree_child, disc)
        if x >= 0:
            lower[nb] = disc[x]
            upper[nb] = disc[y]
            nb += 1
    for r in roots:
        if disc[r] >= 0:
            lower[nb] = disc[r]
            upper[nb] = 0
            nb += 1
    return lower[:nb], upper[:nb]


@njit(cache=True)
def _group_kids(glinks, lo, hi, tree_child, kids):  # pragma: no cover - compiled
    # kids[:k]: the nodes below the group's DFS tree links, in the group's link order.
    k = 0
    for j in range(lo, hi):
        c = tree_child[glinks[j]]
        if c >= 0:
            kids[k] = c
            k += 1
    return k


@njit(cache=True)
def _nest_kids(kids, k, disc, size, pp, depth):  # pragma: no cover - compiled
    # DFS subtrees are nested or disjoint. pp[a]: the kid whose subtree holds kids[a] most
    # tightly (-1: none), depth[a]: how many kid subtrees hold it. True when any are nested.
    if k == 1:
        pp[0] = -1
        depth[0] = 0
        return False
    first = np.empty(k, np.int64)
    for a in range(k):
        first[a] = disc[kids[a]]
    stack = np.empty(k, np.int64)
    sp = 0
    nested = False
    for a in np.argsort(first):  # discovery order: holders come first
        while sp > 0 and first[a] >= first[stack[sp - 1]] + size[kids[stack[sp - 1]]]:
            sp -= 1
        if sp > 0:
            pp[a] = stack[sp - 1]
            depth[a] = depth[pp[a]] + 1
            nested = True
        else:
            pp[a] = -1
            depth[a] = 0
        stack[sp] = a
        sp += 1
    return nested


@njit(cache=True)
def _subtree_counts(qc, qt, lower, upper, disc, size, count):  # pragma: no cover - compiled
    # For each query q: the back links (``_back_links``) with the lower end in the DFS subtree
    # of qc[q] and the upper end discovered before time qt[q]. Offline: links by upper time,
    # queries by time, a Fenwick tree over lower times (1..count).
    start = np.zeros(count + 2, np.int64)
    for b in range(upper.shape[0]):
        start[upper[b] + 1] += 1
    for t in range(count + 1):
        start[t + 1] += start[t]
    by_upper = np.empty(upper.shape[0], np.int64)  # lower times, by upper time
    fill = start[:-1].copy()
    for b in range(upper.shape[0]):
        by_upper[fill[upper[b]]] = lower[b]
        fill[upper[b]] += 1
    fenwick = np.zeros(count + 1, np.int64)
    out = np.empty(qc.shape[0], np.int64)
    t = 0  # the links with upper time < t are in the tree
    for q in np.argsort(qt):
        while t < qt[q]:
            for b in range(start[t], start[t + 1]):
                i = by_upper[b]
                while i <= count:
                    fenwick[i] += 1
                    i += i & -i
            t += 1
        s = 0
        i = disc[qc[q]] + size[qc[q]] - 1
        while i > 0:
            s += fenwick[i]
            i -= i & -i
        i = disc[qc[q]] - 1
        while i > 0:
            s -= fenwick[i]
            i -= i & -i
        out[q] = s
    return out


@njit(cache=True)
def _find(root, a):  # pragma: no cover - compiled
    while root[a] != a:
        root[a] = root[root[a]]
        a = root[a]
    return a


@njit(cache=True)
def _nested_lost(glinks, lo, hi, eu, ev, link_up, tree_child, disc, size, wsum, cum, kids, k,
                 pp, depth, ans, qbase):  # pragma: no cover - compiled
    # Nested kid subtrees: each piece (a kid's subtree less the kid subtrees inside it) stays
    # connected by its tree links, piece k (all outside the kids' subtrees) stays served. Count
    # the links from each piece to each piece holding it, from subtree counts: F(a, j) = links
    # from kids[a]'s subtree above its j-th holder (``ans[qbase + sum(depth[:a]) + j]``,
    # innermost holder first; F(a, -1) = all links leaving it upward, F(a, depth[a]) = 0),
    # less the group's own links; join the pieces they connect (union-find). Returns the nodes
    # and weight of the pieces cut off.
    qoff = np.empty(k, np.int64)
    soff = np.empty(k, np.int64)
    q = qbase
    s = 0
    for a in range(k):
        qoff[a] = q
        q += depth[a]
        soff[a] = s
        s += depth[a] + 1
    # slot[soff[a] + j]: links from piece a to the stretch of its ancestors in its j-th holder
    # (j = depth[a]: piece k): F(a, j - 1) - F(a, j), less the same for the kids it holds
    slot = np.zeros(s, np.int64)
    for a in range(k):
        c = kids[a]
        for j in range(depth[a] + 1):
            above = cum[disc[c] + size[c]] - cum[disc[c]] if j == 0 else ans[qoff[a] + j - 1]
            below = 0 if j == depth[a] else ans[qoff[a] + j]
            slot[soff[a] + j] += above - below
        p = pp[a]
        if p >= 0:  # p's j-th holder is a's (j + 1)-th
            for j in range(depth[p] + 1):
                above = ans[qoff[a] + j]
                below = 0 if j + 1 == depth[a] else ans[qoff[a] + j + 1]
                slot[soff[p] + j] -= above - below
    for j in range(lo, hi):  # the group's non-tree links fail too
        x, y = _back_link(glinks[j], eu, ev, link_up, tree_child, disc)
        if x < 0:
            continue
        ox = -1
        oy = -1
        for a in range(k):
            first = disc[kids[a]]
            last = first + size[kids[a]]
            if first <= disc[x] < last and (ox < 0 or first > disc[kids[ox]]):
                ox = a
            if first <= disc[y] < last and (oy < 0 or first > disc[kids[oy]]):
                oy = a
        if ox < 0 or ox == oy:
            continue
        level = 0
        b = pp[ox]
        while b != oy:
            b = pp[b]
            level += 1
        slot[soff[ox] + level] -= 1
    root = np.arange(k + 1)
    for a in range(k):
        b = pp[a]
        for j in range(depth[a] + 1):
            if slot[soff[a] + j] > 0:
                root[_find(root, a)] = _find(root, k if b < 0 else b)
            if b >= 0:
                b = pp[b]
    served = _find(root, k)
    nl = 0
    wl = np.zeros(wsum.shape[1], np.float64)  # whole-number weights (see the caller): exact sums
    for a in range(k):
        if _find(root, a) != served:
            nl += size[kids[a]]
            for j in range(wsum.shape[1]):
                wl[j] += wsum[kids[a], j]
        p = pp[a]
        if p >= 0 and _find(root, p) != served:  # a's subtree was counted with its holder's
            nl -= size[kids[a]]
            for j in range(wsum.shape[1]):
                wl[j] -= wsum[kids[a], j]
    return nl, wl


@njit(cache=True)
def _srlg_lost_kernel(indptr, nbr, eid, eu, ev, node_ok, link_up, base_served, w, disc, size,
                      wsum, order, count, is_root, lower, upper, ptr, glinks, tree_child, whole,
                      query_cost):  # pragma: no cover - compiled
    # Nodes and weight lost by every group (links ``glinks[ptr[i]:ptr[i+1]]``), in one call.
    # Only the DFS subtrees below the group's tree links can lose service; their own tree links
    # stay up. Without a tree link nothing is lost. Disjoint subtrees: each is cut off exactly
    # when all the links leaving it upward are in the group, no search (cum[t]: back links with
    # lower time < t less those with upper time < t, so a subtree's difference counts the links
    # leaving it). Nested ones: pieces joined by counted links (``_nested_lost``; ``whole``:
    # weights are whole numbers with exact float sums), or the search (``_group_lost_kernel``)
    # when that is cheaper (``query_cost`` nodes searched per subtree count) or the weights are
    # fractional (the search's summation order is the reference). ``w`` and ``wsum`` (node
    # weights and their DFS subtree sums) have one column per sum; ``wlost`` too.
    n = indptr.shape[0] - 1
    g = ptr.shape[0] - 1
    cum = np.zeros(count + 2, np.int64)
    for b in range(lower.shape[0]):
        cum[lower[b] + 1] += 1
        cum[upper[b] + 1] -= 1
    for t in range(count + 1):
        cum[t + 1] += cum[t]
    lost = np.zeros(g, np.int64)
    nw = w.shape[1]
    wlost = np.zeros((g, nw), np.float64)
    cut = np.zeros(tree_child.shape[0], np.bool_)
    in_cut = np.zeros(n, np.bool_)
    seen = np.zeros(n, np.bool_)
    region = np.empty(n, np.int64)
    queue = np.empty(n, np.int64)
    kmax = 1
    for i in range(g):
        kmax = max(kmax, ptr[i + 1] - ptr[i])
    kids = np.empty(kmax, np.int64)
    pp = np.empty(kmax, np.int64)
    depth = np.empty(kmax, np.int64)
    qptr = np.zeros(g + 1, np.int64)  # subtree count queries of the groups counted by pieces
    counted = np.zeros(g, np.bool_)
    for i in range(g):
        lo = ptr[i]
        hi = ptr[i + 1]
        k = _group_kids(glinks, lo, hi, tree_child, kids)
        if k == 0:
            continue
        if not _nest_kids(kids, k, disc, size, pp, depth):
            nl = 0
            wl = np.zeros(nw, np.float64)
            for a in range(k):
                first = disc[kids[a]]
                last = first + size[kids[a]]
                left = cum[last] - cum[first]
                for j in range(lo, hi):
                    x, y = _back_link(glinks[j], eu, ev, link_up, tree_child, disc)
                    if x >= 0 and first <= disc[x] < last and disc[y] < first:
                        left -= 1
                if left == 0:  # in the search's order: the same float sum
                    for t in range(first, last):
                        nl += 1
                        for c in range(nw):
                            wl[c] += w[order[t - 1], c]
            lost[i] = nl
            wlost[i, :] = wl
            continue
        nq = 0
        reach = 0
        for a in range(k):
            nq += depth[a]
            if pp[a] < 0:
                reach += size[kids[a]]
        if whole and query_cost * nq < reach:
            counted[i] = True
            qptr[i + 1] = nq
        else:
            lost[i], wlost[i, :] = _group_lost_kernel(
                indptr, nbr, eid, node_ok, link_up, base_served, w, disc, size, order, is_root,
                glinks, lo, hi, tree_child, cut, in_cut, seen, region, queue,
            )
    for i in range(g):
        qptr[i + 1] += qptr[i]
    if qptr[g] == 0:
        return lost, wlost
    qc = np.empty(qptr[g], np.int64)
    qt = np.empty(qptr[g], np.int64)
    for i in range(g):
        if not counted[i]:
            continue
        k = _group_kids(glinks, ptr[i], ptr[i + 1], tree_child, kids)
        _nest_kids(kids, k, disc, size, pp, depth)
        q = qptr[i]
        for a in range(k):
            b = pp[a]
            while b >= 0:
                qc[q] = kids[a]
                qt[q] = disc[kids[b]]
                q += 1
                b = pp[b]
    ans = _subtree_counts(qc, qt, lower, upper, disc, size, count)
    for i in range(g):
        if not counted[i]:
            continue
        k = _group_kids(glinks, ptr[i], ptr[i + 1], tree_child, kids)
        _nest_kids(kids, k, disc, size, pp, depth)
        lost[i], wlost[i, :] = _nested_lost(glinks, ptr[i], ptr[i + 1], eu, ev, link_up,
                                         tree_child, disc, size, wsum, cum, kids, k, pp, depth,
                                         ans, qptr[i])  # fmt: skip
    return lost, wlost


def _subtree_sums(d: DFSResult, x: np.ndarray) -> np.ndarray:
    """Sum of ``x`` over every node's DFS subtree (0 for nodes not reached).

    A subtree is a run of discovery times (``disc[v] .. disc[v] + size[v] - 1``): prefix sums
    in discovery order give every subtree's sum in O(n).
    """
    cs = np.concatenate(([0.0], np.cumsum(x[d.order[: d.count]])))
    reached = d.disc >= 0
    out = np.zeros(len(x), np.float64)
    first = d.disc[reached]
    out[reached] = cs[first + d.size[reached] - 1] - cs[first - 1]
    return out


def srlg_blast_radius(
    G: nx.MultiGraph,
    roots: Iterable[Any] | None = None,
    weight: str | None = "subscribers",
    *,
    csr: CSRGraph | None = None,
    dfs: DFSResult | None = None,
    depth: np.ndarray | None = None,
) -> pd.DataFrame:
    """Blast radius of every shared-risk group (all its links fail together) and its hidden part.

    Parameters
    ----------
    G, roots, weight, csr
        As in :func:`resilience.analysis.blast.blast_radius`.
    dfs : DFSResult, optional
        ``dfs_lowpoint(csr, roots=...)`` over the current states, when the caller has it.
    depth : int array, optional
        SPOF depth of every node from that search
        (:func:`resilience.analysis.blast.single_homed`), when the caller has it.

    Returns
    -------
    pandas.DataFrame
        Columns ``srlg``, ``links`` (number of links in the group), ``nodes_lost``,
        ``subscribers_lost``, ``hidden_nodes`` and ``hidden_subscribers`` (the group's *hidden
        part*: the nodes it cuts that no single element between them and the core cuts off,
        i.e. that are not single-homed; the roots do not count), ``hidden`` (the hidden part is
        not empty: a hidden single point of failure), ordered by ``subscribers_lost`` descending.

    Notes
    -----
    One DFS from the roots (its bridges are the single-link cuts), then one compiled pass over
    all groups (:attr:`CSRGraph.srlg_groups <resilience.topology.compiled.CSRGraph.srlg_groups>`).
    Only the DFS subtrees below a group's tree links can lose service (served nodes elsewhere
    keep their tree path); a group without a tree link loses nothing. Every other usable link
    joins a node to one of its DFS ancestors, so a subtree is cut off exactly when all the links
    leaving it upward are in the group: counted, not searched (prefix sums over discovery times
    give any subtree's count). Nested subtrees split into pieces joined by such links, counted
    offline with a Fenwick tree, or searched when the subtrees are small. O(n + m) once, plus
    per group its size squared and the nodes it cuts off; a nested group adds O(log n) per
    subtree count, or its subtrees' nodes and links when searched. The hidden part is summed in
    the same pass, with the not-single-homed nodes (SPOF depth 0) as a second and third weight.

    Examples
    --------
    >>> G = nx.MultiGraph(); G.add_node("c", kind="core")
    >>> _ = G.add_edge("c", "a", "L1", srlg=("R1",)); _ = G.add_edge("c", "a", "L2", srlg=("R1",))
    >>> _ = G.add_edge("a", "b", "L3", srlg=("R1",))
    >>> srlg_blast_radius(G, weight=None).values.tolist()
    [['R1', 3, 2, 2, 1, 1, True]]
    """
    csr = csr if csr is not None else to_csr(G, weight=weight)
    r = root_indices(csr, roots)
    d = dfs if dfs is not None else dfs_lowpoint(csr, roots=r)
    child = np.nonzero(d.pedge >= 0)[0]
    tree_child = np.full(csr.m, -1, np.int64)  # the node below each DFS tree link, else -1
    tree_child[d.pedge[child]] = child
    is_root = np.zeros(csr.n, np.bool_)
    is_root[r] = True
    lower, upper = _back_links(csr.eu, csr.ev, csr.link_up, tree_child, d.disc, r)
    names, ptr, glinks = csr.srlg_groups
    whole = csr.weight_is_int and float(np.abs(csr.weight).sum()) < 2.0**53
    if depth is None:
        depth = _depth_kernel(d.order, d.count, d.parent, d.pedge, d.disc, d.low, is_root)[0]
    hidden = (d.served & (depth == 0) & ~is_root).astype(np.float64)  # not single-homed
    w = np.column_stack([csr.weight, hidden, hidden * csr.weight])
    wsum = np.column_stack([d.wsum, _subtree_sums(d, hidden), _subtree_sums(d, w[:, 2])])
    lost, wlost = _srlg_lost_kernel(
        csr.indptr, csr.nbr, csr.eid, csr.eu, csr.ev, csr.node_up, csr.link_up, d.served,
        w, d.disc, d.size, wsum, d.order, d.count, is_root, lower, upper, ptr, glinks,
        tree_child, whole, _QUERY_COST,
    )
    hidden_nodes = whole_counts(wlost[:, 1])
    df = pd.DataFrame(
        {
            "srlg": names if names else pd.Series([], dtype=object),
            "links": np.diff(ptr),
            "nodes_lost": lost,
            "subscribers_lost": _subs(csr, wlost[:, 0]),
            "hidden_nodes": hidden_nodes,
            "hidden_subscribers": _subs(csr, wlost[:, 2]),
            "hidden": hidden_nodes > 0,
        },
        columns=SRLG_BLAST_COLUMNS,
    )
    return df.sort_values(
        ["subscribers_lost", "nodes_lost", "srlg"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
