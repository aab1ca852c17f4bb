"""Run the doctest examples of the exporter modules and the store modules whose named reads the
exporter, the report and ingest call."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "resilience.exporter.model",
    "resilience.exporter.source",
    "resilience.store.reader",
    "resilience.store.repo",
    "resilience.store.snapshots",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0, f"{name} has no doctest example (a module listed here must have some)"
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples of {name} failed (see the output)"
