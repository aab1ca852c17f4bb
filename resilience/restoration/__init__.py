"""Restoration planning: which repair, generator, portable base station or satellite kit first.

Pure functions over the graph and its state (WNTR style, like :mod:`resilience.scenarios`): a
resources file (:mod:`~resilience.restoration.resources`) describes crews, equipment, depots and
road closures; :func:`build_problem` turns the damaged part of the network into flat arrays
(:mod:`~resilience.restoration.problem`); :func:`plan_restoration` dispatches the resources and
evaluates the plan and the baselines the same way (:mod:`~resilience.restoration.planner`).

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
>>> G.nodes["A"].update(state="down", power="none", subscribers=10, kind="base_station")
>>> res = resources_from_dict({"depots": [{"id": "D", "lat": 0, "lon": 0}],
...     "equipment": [{"id": "g", "type": "generator", "depot": "D", "count": 1, "setup_h": 1}]})
>>> plan = plan_restoration(G, res, horizon_h=10)
>>> plan["actions"][0]["action"], plan["subscriber_hours_lost"], plan["baselines"]["none"]
('generator', 10, 100)
"""

from resilience.restoration.planner import (
    BASELINES,
    STRATEGIES,
    optimal_plan,
    plan_restoration,
    plan_summary,
    schedule,
)
from resilience.restoration.problem import CANDIDATE_TYPES, RestorationProblem, build_problem
from resilience.restoration.resources import (
    ACTIONS,
    EQUIPMENT_TYPES,
    Resources,
    load_resources,
    resources_from_dict,
)

__all__ = [
    "ACTIONS",
    "BASELINES",
    "CANDIDATE_TYPES",
    "EQUIPMENT_TYPES",
    "STRATEGIES",
    "Resources",
    "RestorationProblem",
    "build_problem",
    "load_resources",
    "optimal_plan",
    "plan_restoration",
    "plan_summary",
    "resources_from_dict",
    "schedule",
]
