"""Root outages: the outage each out node depends on, found by following ``upstream`` chains.

:func:`resilience.analysis.outage_causes.causes` gives every out node its nearest down element upstream
(``upstream``) and marks the nodes that are out on their own account (``root_cause``).
:func:`root_outages` follows those links to the root outage behind each out node (an out site
that is a root cause, or a cut link) and counts what each root outage explains: the numbers an
operator pages on and the exporter publishes per root outage.

Pure Python over rows (no graph): it runs on a stored snapshot's ``nodes_out`` rows as well as
on a fresh :func:`~resilience.analysis.outage_causes.causes` frame.

Example
-------
>>> root_of, roots = root_outages([("BS-1", None, True, 120), ("BS-2", "BS-1", False, 80)])
>>> root_of, roots[0]
({'BS-1': 'BS-1', 'BS-2': 'BS-1'}, RootOutage(root='BS-1', root_type='node', nodes=2, subscribers=200))
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RootOutage", "root_outages"]


@dataclass(frozen=True, slots=True)
class RootOutage:
    """A root outage (an out site that is a root cause, or a cut link) and what it explains."""

    root: str
    root_type: str  # node | link
    nodes: int
    subscribers: int


def root_outages(
    rows: Iterable[tuple[str, str | None, bool, int | None]], limit: int | None = None,
) -> tuple[dict[str, str], tuple[RootOutage, ...]]:
    """Follow ``upstream`` chains of out nodes to the root outage each one depends on.

    A node that is a root cause (or has no upstream) is its own root. Otherwise its root is found
    by walking ``upstream`` through out nodes until a root-cause node, or an element that is not
    an out node (a cut link). The chain walk is memoised (linear in the number of out nodes).

    Parameters
    ----------
    rows
        ``(node_id, upstream, root_cause, subscribers)`` of every out node.
    limit
        Keep the largest ``limit`` root outages (by subscribers, then nodes).

    Returns
    -------
    (dict, tuple)
        Root of every out node; root outages with the nodes and subscribers they explain.

    Notes
    -----
    O(k) for k out nodes (each chain is walked once), plus sorting the root outages.

    Example
    -------
    >>> root_of, roots = root_outages([("A", None, True, 0), ("B", "A", False, 10),
    ...                                ("C", "B", False, 5), ("D", "L9", False, 7)])
    >>> root_of["C"], root_of["D"]
    ('A', 'L9')
    >>> [(r.root, r.root_type, r.nodes, r.subscribers) for r in roots]
    [('A', 'node', 3, 15), ('L9', 'link', 1, 7)]
    """
    info: dict[str, tuple[str, bool, int]] = {}
    for node_id, upstream, root_cause, subs in rows:
        info[str(node_id)] = (str(upstream) if upstream else "", bool(root_cause), int(subs or 0))
    root_of: dict[str, str] = {}
    for start in info:
        path = []
        cur = start
        while cur in info and cur not in root_of:
            up, is_root, _ = info[cur]
            path.append(cur)
            if is_root or not up or len(path) > len(info):
                root_of[cur] = cur
                path.pop()
                break
            cur = up
        root = root_of.get(cur, cur)
        for p in path:
            root_of[p] = root
    nodes: dict[str, int] = defaultdict(int)
    subs_by: dict[str, int] = defaultdict(int)
    for n, r in root_of.items():
        nodes[r] += 1
        subs_by[r] += info[n][2]
    roots = sorted(
        (RootOutage(r, "node" if r in info else "link", nodes[r], subs_by[r]) for r in nodes),
        key=lambda x: (-x.subscribers, -x.nodes, x.root),
    )
    return root_of, tuple(roots[:limit] if limit is not None else roots)
