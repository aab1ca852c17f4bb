"""One-shot commands on a small network do not load numba (issue 16: under 1 s): below
``SMALL_GRAPH`` the searches run the kernels' Python form and the kernels load numba lazily."""

from __future__ import annotations

import os
import subprocess
import sys

#: What ``spof``, ``forecast`` and ``whatif --fail`` run on the network (``compute_snapshot`` and
#: ``srlg_blast_radius`` still call some compiled kernels directly, whatever the size).
ONE_SHOT = """
import io, sys
import pandas as pd
from resilience.analysis import battery_forecast, blast_radius, causes, single_points_of_failure
from resilience.analysis.names import element_names
from resilience.hardening import evaluate
from resilience.restoration import planner, problem
from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV
from resilience.scenarios import Earthquake, ExplicitFailure, run_whatif
from resilience.topology.graph import build_graph

G = build_graph(pd.read_csv(io.StringIO(KNOWN_NODES_CSV)), pd.read_csv(io.StringIO(KNOWN_LINKS_CSV)))
spofs = single_points_of_failure(G)
element_names(G, spofs["element_type"], spofs["id"])
blast_radius(G); battery_forecast(G); causes(G)
node = next(iter(G.nodes)); link = next(iter(G.edges(keys=True)))[2]
run_whatif(G, ExplicitFailure([node, link]))
assert len(spofs) > 0
print(sorted(m for m in ("numba", "llvmlite") if m in sys.modules))
"""


def test_a_one_shot_analysis_on_a_small_graph_does_not_load_numba():
    out = subprocess.run([sys.executable, "-c", ONE_SHOT], capture_output=True, text=True,
                         env=os.environ, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_importing_the_cli_and_the_facade_loads_no_heavy_library():
    code = ("import sys, resilience.cli, resilience.api\n"
            "heavy = ('numba', 'llvmlite', 'pandas', 'networkx', 'scipy', 'pyarrow', 'sqlalchemy')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout


def test_the_store_and_the_snapshot_contract_load_no_networkx():
    # `resilience status` and the exporter read the store only: the topology package's
    # networkx converter is loaded on first use, not by importing resilience.topology.*
    code = ("import sys, resilience.store.tables, resilience.topology.snapshot, resilience.topology\n"
            "print('networkx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False", out.stdout


def test_the_report_loads_no_networkx():
    # `resilience report` reads a stored snapshot: it needs analysis.coverage, and the analysis
    # package loads its names on first use, so blast/traversal (networkx, numba) stay unloaded
    code = ("import sys, resilience.reports.report, resilience.api.reports\n"
            "print(sorted(m for m in ('networkx', 'numba', 'scipy') if m in sys.modules))\n"
            "import resilience.analysis.outage_causes\n"
            "from resilience.analysis import causes\n"
            "print(causes.__module__, causes.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=os.environ, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    # the function, not the module of the same name, even once that module is imported
    assert out.stdout.split("\n")[:2] == ["[]", "resilience.analysis.outage_causes causes"], out.stdout
