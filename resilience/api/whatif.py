"""What-if: a request (:class:`~resilience.api.request.WhatIfRequest`) to a scenario, its names
checked against the store, run against the current state, the answer as a
:class:`WhatIfResult`, written as JSON and as the planners' page.

``resilience whatif``, the what-if DAG and the plugin's ``POST /resilience/whatif`` all go
through these functions. The stored model is never changed.

Example
-------
>>> import tempfile
>>> from resilience.api.state import init
>>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
>>> sc = scenario_from_params({"region_lat": 37.4, "region_lon": 136.9, "region_km": 1})
>>> whatif(sc, db_url=url, detail=True).lost["subscribers"]
0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resilience.api.request import FORM, Naming, WhatIfRequest
from resilience.api.state import engine, ensure_schema, load_graph, store_guard, warn_graph_coverage
from resilience.errors import BadInput
from resilience.settings import load_settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WhatIfResult", "check_scenario", "run_whatif", "scenario_from_params", "whatif", "whatif_page"]

_MAIN = ("description", "baseline", "scenario", "difference", "lost", "failed", "new_spofs", "new_spofs_detail")


@dataclass
class WhatIfResult:
    """The answer of a what-if: baseline, scenario and the difference (WNTR style).

    Attributes
    ----------
    description : dict
        The scenario's dict.
    baseline, scenario, difference : dict
        ``served_nodes`` and ``served_subscribers`` now, in the scenario, and scenario minus now.
    lost : dict
        ``nodes`` (ids served now and not in the scenario), ``subscribers``, ``names``.
    failed : dict
        ``nodes`` and ``links`` the scenario takes out directly.
    new_spofs, new_spofs_detail : list
        Elements that become single points of failure (ids; their blast radius rows with names).
    extras : dict
        The scenario's extras (``timeline`` of a power outage, ``monte_carlo`` of an
        earthquake) and, with ``detail``, ``newly_single_homed`` and ``already_out``.
    sites : pandas.DataFrame or None
        With ``detail``: the inventory the page shows
        (:data:`resilience.reports.whatif.SITE_COLUMNS`); never serialised.

    Example
    -------
    >>> r = WhatIfResult.from_dict({"baseline": {"served_nodes": 2, "served_subscribers": 5},
    ...     "scenario": {"served_nodes": 1, "served_subscribers": 0}, "lost": {"nodes": ["A"],
    ...     "subscribers": 5}, "timeline": []})
    >>> r.lost["subscribers"], list(r.to_dict())[-1], r.monte_carlo is None
    (5, 'timeline', True)
    """

    description: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    scenario: dict[str, Any] = field(default_factory=dict)
    difference: dict[str, Any] = field(default_factory=dict)
    lost: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, Any] = field(default_factory=dict)
    new_spofs: list[Any] = field(default_factory=list)
    new_spofs_detail: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    sites: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, answer: Mapping[str, Any]) -> WhatIfResult:
        """The result of :func:`resilience.scenarios.run_whatif`'s dict (extra keys to ``extras``)."""
        return cls(**{k: answer[k] for k in _MAIN if k in answer},
                   extras={k: v for k, v in answer.items() if k not in _MAIN})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the keys of :func:`resilience.scenarios.run_whatif` then the extras."""
        return {**{k: getattr(self, k) for k in _MAIN}, **self.extras}

    @property
    def monte_carlo(self) -> dict[str, Any] | None:
        """The Monte Carlo statistics of an earthquake (``None`` for other scenarios)."""
        mc = self.extras.get("monte_carlo")
        return mc if isinstance(mc, dict) else None


def scenario_from_params(
    params: Mapping[str, Any], *, scenarios_dir: str | Path | None = None, naming: Naming = FORM
) -> dict[str, Any]:
    """The what-if scenario of planner Params or an API body
    (:meth:`WhatIfRequest.from_params` then :meth:`WhatIfRequest.to_scenario`).

    ``scenarios_dir``: the only folder scenario files are read from (default: settings
    ``scenarios_dir``).

    Raises
    ------
    BadInput
        Nothing to simulate, several kinds of damage, a half-filled region or outage, a value out
        of range, or a scenario file that is missing or outside ``scenarios_dir``.

    Example
    -------
    >>> import tempfile
    >>> scenario_from_params({"failures": ["A1", " "], "region_km": None}, scenarios_dir=tempfile.mkdtemp())
    {'type': 'explicit', 'fail': ['A1']}
    """
    if scenarios_dir is None:
        s = load_settings()
        scenarios_dir = s.path(s.scenarios_dir)
    return WhatIfRequest.from_params(params, naming=naming).to_scenario(scenarios_dir=scenarios_dir)


def _unknown(names: list[str], known: set[str], what: str) -> str | None:
    """``"unknown <what>: X (did you mean Y?)"`` for the names not in ``known``; ``None`` if all are."""
    import difflib

    missing = [n for n in dict.fromkeys(names) if n not in known]
    if not missing:
        return None
    parts = []
    for n in missing[:10]:
        close = difflib.get_close_matches(n, known, n=2, cutoff=0.5) if len(known) <= 200_000 else []
        parts.append(f"{n} (did you mean {' or '.join(close)}?)" if close else n)
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return f"unknown {what}: {', '.join(parts)}{more}"


def check_scenario(scenario: Mapping[str, Any], *, db_url: str | None = None) -> dict[str, Any]:
    """Check every name a scenario refers to against the stored inventory; return the scenario.

    Node and link ids (``explicit``), shared-risk groups (``srlg``), power feeds and
    municipalities (``power_outage``) must exist, so that bad input fails at once (the
    ``validate`` task of the what-if DAG, the plugin's 422) instead of in the simulation.

    Raises
    ------
    BadInput
        Naming each unknown name, with the closest known names as a hint; or an empty network.

    Notes
    -----
    One indexed look-up per id; the groups, feeds and municipalities are read as distinct
    values (O(links) for the groups) (:mod:`resilience.store.names`).

    Example
    -------
    >>> import tempfile
    >>> from resilience.api.state import init
    >>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    >>> check_scenario({"type": "srlg", "groups": ["R1"]}, db_url=url)
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: scenario: the network is empty: ingest an inventory first
    """
    from resilience.store import names as stored

    ensure_schema(db_url)
    kind = str(scenario.get("type", ""))
    problems: list[str | None] = []
    with engine(db_url).connect() as conn:
        if not stored.has_inventory(conn):
            raise BadInput("scenario", "the network is empty: ingest an inventory first")
        if kind == "explicit":
            ids = [str(x) for x in scenario.get("fail") or []]
            if set(ids) - stored.known_element_ids(conn, ids):
                problems.append(_unknown(ids, stored.element_ids(conn), "node or link id(s)"))
        elif kind == "srlg":
            problems.append(_unknown([str(g) for g in scenario.get("groups") or []], stored.srlg_groups(conn),
                                     "shared-risk group(s)"))
        elif kind == "power_outage":
            feeds, munis = stored.power_feeds(conn), stored.municipalities(conn)
            problems.append(_unknown([str(a) for a in scenario.get("areas") or []], feeds | munis,
                                     "power feed or municipality"))
            problems.append(_unknown([str(a) for a in scenario.get("feeds") or []], feeds, "power feed(s)"))
            problems.append(_unknown([str(a) for a in scenario.get("municipalities") or []], munis,
                                     "municipality"))
    found = [p for p in problems if p]
    if found:
        raise BadInput("scenario", "; ".join(found))
    return dict(scenario)


def _per_run_losses(G, csr, sc, roots, base) -> dict[str, list[float]] | None:
    """The loss of every Monte Carlo run of an earthquake (same seed: the same runs as the
    answer's statistics, which are checked against them; ``None`` when they differ)."""
    import numpy as np

    from resilience.scenarios import earthquake as eq

    try:
        p = sc.probability(G, csr)
        cand = np.nonzero((p > 0) & csr.node_up)[0].astype(np.int64)
        rng = np.random.default_rng(sc.seed)
        lost_n = np.zeros(sc.runs, np.int64)
        lost_w = np.zeros(sc.runs, np.float64)
        batch = max(1, min(sc.runs, int(2e7 // max(len(cand), 1))))
        for start in range(0, sc.runs, batch):
            k = min(batch, sc.runs - start)
            fails = rng.random((k, len(cand))) < p[cand]
            ln, lw, _ = eq._mc_kernel(csr.indptr, csr.nbr, csr.eid, csr.node_up, csr.link_up, roots,
                                      base.dfs.served, csr.weight, cand, fails)
            lost_n[start:start + k], lost_w[start:start + k] = ln, lw
    except Exception:  # the distribution is a view of the answer; the answer stands without it
        return None
    return {"nodes_lost": lost_n.tolist(), "subscribers_lost": lost_w.tolist()}


def _add_detail(result: WhatIfResult, G, csr, sc) -> None:
    """What the result page shows besides the answer: ``already_out``, ``newly_single_homed``
    and for earthquakes ``monte_carlo.per_run`` (one DFS before and one after the damage)."""
    import numpy as np

    from resilience.analysis.blast import blast_arrays, spof_depths
    from resilience.analysis.names import element_names
    from resilience.analysis.traversal import root_indices
    from resilience.reports.whatif import sites_frame

    roots = root_indices(csr, None)

    def single(node_ok, link_ok):
        return spof_depths(csr, roots, node_ok, link_ok)

    node_index = {n: i for i, n in enumerate(csr.nodes)}
    link_index = csr.link_index
    dead_n = np.zeros(csr.n, bool)
    dead_n[[node_index[x] for x in result.failed["nodes"] if x in node_index]] = True
    dead_l = np.zeros(csr.m, bool)
    dead_l[[link_index[x] for x in result.failed["links"] if x in link_index]] = True
    served0, depth0, _, _ = single(csr.node_up, csr.link_up)
    served1, depth1, near_t, near_i = single(csr.node_up & ~dead_n, csr.link_up & ~dead_l)
    new = np.nonzero(served1 & (depth1 > 0) & ~(served0 & (depth0 > 0)) & served0)[0]
    nodes = np.asarray(csr.nodes, dtype=object)
    links = np.asarray(csr.links, dtype=object)
    near = [(("node", nodes[near_i[i]]) if near_t[i] == 1 else ("link", links[near_i[i]])) for i in new]
    near_names = element_names(G, [t for t, _ in near], [x for _, x in near]) if near else []
    result.extras["newly_single_homed"] = [
        {"node_id": nodes[i], "spof_depth": int(depth1[i]), "nearest_spof": x, "nearest_spof_type": t,
         "nearest_spof_name": (f"link {nm['a_name'] or nm['a']} – {nm['b_name'] or nm['b']}" if t == "link"
                               else nm.get("name") or str(x))}
        for i, (t, x), nm in zip(new, near, near_names, strict=True)
    ]
    result.extras["already_out"] = nodes[~served0].tolist()
    mc = result.monte_carlo
    if mc is not None:
        per_run = _per_run_losses(G, csr, sc, roots, blast_arrays(csr, roots=roots))
        if per_run and abs(float(np.mean(per_run["subscribers_lost"]))
                           - float(mc["subscribers_lost"]["mean"])) <= 1e-6 * max(1.0, mc["subscribers_lost"]["mean"]):
            mc["per_run"] = per_run
    result.sites = sites_frame(G)


@store_guard
def whatif(
    scenario: Mapping[str, Any] | str | Path, *, db_url: str | None = None, detail: bool = False
) -> WhatIfResult:
    """Run a what-if scenario (a dict, or a YAML file path) against the current state.

    Returns the :class:`WhatIfResult` (:func:`resilience.scenarios.run_whatif`'s answer). With
    ``detail`` it also holds what the result page shows: ``already_out`` (sites not served even
    now), ``newly_single_homed`` (sites served in the scenario that hang on one element there
    but not now: ``node_id``, ``spof_depth``, ``nearest_spof``, ``nearest_spof_name``), for
    earthquakes ``monte_carlo.per_run`` (sites and subscribers lost in every run), and the
    inventory as ``sites``. The stored model is never changed.

    Notes
    -----
    One load of the network; the detail adds one DFS before and one after the damage
    (O(n + m) each).

    Example
    -------
    >>> import tempfile
    >>> from resilience.api.state import init
    >>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # an empty network: CoverageWarning
    ...     whatif({"type": "region", "center": {"lat": 37.4, "lon": 136.9}, "radius_km": 1}, db_url=url).baseline
    {'served_nodes': 0, 'served_subscribers': 0}
    """
    from resilience.scenarios import load_scenario, run_whatif, scenario_from_dict
    from resilience.topology.compiled import to_csr

    sc = scenario_from_dict(dict(scenario)) if isinstance(scenario, Mapping) else load_scenario(scenario)
    G = load_graph(db_url=db_url)
    warn_graph_coverage(G)
    csr = to_csr(G)
    result = WhatIfResult.from_dict(run_whatif(G, sc, csr=csr))
    if detail:
        _add_detail(result, G, csr, sc)
    return result


def whatif_page(scenario: Mapping[str, Any], result: WhatIfResult, *, run_id: str = "") -> str:
    """The what-if result page (:func:`resilience.reports.whatif.build_whatif_page`) in the
    display time zone of the settings (``display_timezone``). Every value is HTML-escaped.

    Example
    -------
    >>> r = WhatIfResult(baseline={"served_nodes": 1, "served_subscribers": 5}, scenario={
    ...     "served_nodes": 1, "served_subscribers": 5}, lost={"nodes": [], "subscribers": 0},
    ...     failed={"nodes": [], "links": []})
    >>> "<!DOCTYPE html>" in whatif_page({"type": "srlg", "groups": ["R1"]}, r)
    True
    """
    from resilience.api.reports import display_timezone
    from resilience.reports.whatif import build_whatif_page

    return build_whatif_page(scenario, result.to_dict(), sites=result.sites, run_id=run_id,
                             tz=display_timezone())


def run_whatif(
    scenario: Mapping[str, Any], out_dir: str | Path, *, run_id: str = "", db_url: str | None = None
) -> dict[str, str]:
    """Run a what-if and write ``result.json`` and ``result.html`` into ``out_dir``.

    Returns the two paths. Running it again overwrites the same two files (atomically).

    Example
    -------
    >>> import tempfile, warnings
    >>> from resilience.api.state import init
    >>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sorted(run_whatif({"type": "region", "center": {"lat": 37.4, "lon": 136.9}, "radius_km": 1},
    ...                       tempfile.mkdtemp(), db_url=url))
    ['html', 'json']
    """
    from resilience.files import write_text_atomic

    result = whatif(scenario, db_url=db_url, detail=True)
    out = Path(out_dir)
    doc = {"run_id": run_id, "scenario": dict(scenario), "result": result.to_dict()}
    js = write_text_atomic(out / "result.json", json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    html = write_text_atomic(out / "result.html", whatif_page(scenario, result, run_id=run_id))
    return {"json": str(js), "html": str(html)}
