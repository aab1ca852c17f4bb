"""Hardening investment planning: which battery, generator, satellite kit, second route or
conduit exit to buy within a budget to keep the most people connected over a scenario ensemble.

Pure (like :mod:`resilience.restoration`, whose objective it uses: priority-weighted
subscriber-hours lost): :mod:`~resilience.hardening.measures` (the catalogue),
:mod:`~resilience.hardening.ensemble` (weighted scenario samples),
:mod:`~resilience.hardening.evaluate` (the compiled sweep),
:mod:`~resilience.hardening.planner` (lazy greedy, frontier, baselines, exact optimum).

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
>>> G.nodes["A"].update(subscribers=5, battery_hours=0, power_feed="F", kind="base_station")
>>> cat = catalogue_from_dict({"measures": [{"id": "b", "type": "battery", "hours": 4, "cost": 2}]})
>>> plan_hardening(G, cat, [{"scenario": {"type": "power_outage", "feeds": ["F"], "hours": 2}}],
...                budget=2)["plan"][0]["measure"]
'b'
"""

from resilience.hardening.ensemble import (
    Ensemble,
    Sample,
    build_ensemble,
    load_ensemble,
    read_ensemble,
    replay_sample,
)
from resilience.hardening.measures import (
    MEASURE_TYPES,
    Catalogue,
    Measure,
    catalogue_from_dict,
    load_catalogue,
)
from resilience.hardening.planner import (
    BASELINES,
    Candidate,
    HardeningProblem,
    build_hardening_problem,
    exact_plan,
    plan_hardening,
    score_on,
)

__all__ = [
    "BASELINES",
    "MEASURE_TYPES",
    "Candidate",
    "Catalogue",
    "Ensemble",
    "HardeningProblem",
    "Measure",
    "Sample",
    "build_ensemble",
    "build_hardening_problem",
    "catalogue_from_dict",
    "exact_plan",
    "load_catalogue",
    "load_ensemble",
    "plan_hardening",
    "read_ensemble",
    "replay_sample",
    "score_on",
]
