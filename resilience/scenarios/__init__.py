"""What-if scenarios: each describes damage and never mutates the network model (WNTR style).

One module per type: :mod:`~resilience.scenarios.explicit` (named nodes and links),
:mod:`~resilience.scenarios.region` (disc or GeoJSON polygon),
:mod:`~resilience.scenarios.power` (feeders or municipalities without grid power for some hours),
:mod:`~resilience.scenarios.srlg` (shared-risk group cut),
:mod:`~resilience.scenarios.earthquake` (fragility curve, seeded Monte Carlo).
:func:`run_whatif` evaluates any of them: baseline, scenario, difference, lost, new SPOFs.

Example
-------
>>> import networkx as nx
>>> from resilience.scenarios import ExplicitFailure, run_whatif
>>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
>>> run_whatif(G, ExplicitFailure(["L1"]), weight=None)["lost"]["nodes"]
['B']
"""

from resilience.scenarios.base import Damage, Scenario, run_whatif
from resilience.scenarios.earthquake import Earthquake, Fragility
from resilience.scenarios.explicit import ExplicitFailure
from resilience.scenarios.loader import (
    SCENARIO_TYPES,
    load_scenario,
    read_scenario_file,
    scenario_from_dict,
)
from resilience.scenarios.power import PowerOutage
from resilience.scenarios.region import RegionFailure
from resilience.scenarios.srlg import SRLGCut

__all__ = [
    "Damage",
    "Scenario",
    "run_whatif",
    "ExplicitFailure",
    "RegionFailure",
    "PowerOutage",
    "SRLGCut",
    "Earthquake",
    "Fragility",
    "SCENARIO_TYPES",
    "load_scenario",
    "read_scenario_file",
    "scenario_from_dict",
]
