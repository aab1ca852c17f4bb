"""Run the doctest examples of the analysis, scenario, topology, live-model and snapshot-store
modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "resilience.analysis",
    "resilience.analysis._kernels",
    "resilience.analysis.blast",
    "resilience.analysis.causes",
    "resilience.analysis.forecast",
    "resilience.analysis.outages",
    "resilience.analysis.traversal",
    "resilience.analysis.snapshot",
    "resilience.analysis.srlg",
    "resilience.scenarios",
    "resilience.scenarios.geo",
    "resilience.scenarios.base",
    "resilience.scenarios.explicit",
    "resilience.scenarios.region",
    "resilience.scenarios.power",
    "resilience.scenarios.srlg",
    "resilience.scenarios.earthquake",
    "resilience.scenarios.loader",
    "resilience.yamlfile",
    "resilience.files",
    "resilience.timestamps",
    "resilience.store.snapshots",
    "resilience.topology.graph",
    "resilience.topology._adjacency",
    "resilience.topology.compiled",
    "resilience.topology.model",
    "resilience.topology.snapshot",
    "resilience.restoration",
    "resilience.restoration.planner",
    "resilience.restoration.problem",
    "resilience.restoration.resources",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0, f"{name} has no doctest example (a module listed here must have some)"
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples of {name} failed (see the output)"


def test_a_module_without_examples_is_caught():
    """The count the test relies on: a module with no example attempts none."""
    import types

    assert doctest.testmod(types.ModuleType("empty", "No example here.")).attempted == 0
