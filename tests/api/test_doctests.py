"""Run the doctest examples of the front hall (``resilience.api``) and the store modules its
pipeline steps query through."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "resilience.api",
    "resilience.api.analysis",
    "resilience.api.feeds",
    "resilience.api.live",
    "resilience.api.planning",
    "resilience.api.reports",
    "resilience.api.request",
    "resilience.api.snapshots",
    "resilience.api.state",
    "resilience.api.whatif",
    "resilience.store.exports",
    "resilience.store.marks",
    "resilience.store.names",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, tmp_path, monkeypatch):
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))  # heartbeats and results stay out of var/
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0, f"{name} has no doctest example (a module listed here must have some)"
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples of {name} failed (see the output)"
