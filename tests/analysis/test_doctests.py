"""Run the doctest examples of the analysis, scenario, topology, live-model and snapshot-store
modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "resilience.analysis",
    "resilience.analysis._csr",
    "resilience.analysis.blast",
    "resilience.analysis.causes",
    "resilience.analysis.forecast",
    "resilience.analysis.snapshot",
    "resilience.scenarios",
    "resilience.scenarios._geo",
    "resilience.scenarios.base",
    "resilience.scenarios.explicit",
    "resilience.scenarios.region",
    "resilience.scenarios.power",
    "resilience.scenarios.srlg",
    "resilience.scenarios.earthquake",
    "resilience.scenarios.loader",
    "resilience.store.snapshots",
    "resilience.topology.graph",
    "resilience.topology.index",
    "resilience.topology.model",
    "resilience.live",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
