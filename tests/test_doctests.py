"""Run the doctest examples of every module of the package (one runner for all of them).

Every module is found by walking the package, so a new module is covered without being listed;
each must have at least one example, except the few named in ``NO_EXAMPLES`` with the reason.
The examples run with ``RESILIENCE_HOME`` in a temporary folder, so heartbeats, results and
databases they create stay out of the repository's ``var/``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import types

import pytest

import resilience

#: Modules with no example of their own, and why.
NO_EXAMPLES = {
    "resilience": "the package's version only",
    "resilience.cli": "the command line: tests/ and ../shared/checks/contracts.sh run the commands",
    "resilience.feeds": "re-exports of its modules",
    "resilience.store": "re-exports of its modules",
    "resilience.topology": "re-exports of its modules",
}
MODULES = ["resilience"] + sorted(
    m.name for m in pkgutil.walk_packages(resilience.__path__, "resilience.") if ".migrations" not in m.name
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, tmp_path, monkeypatch):
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples of {name} failed (see the output)"
    if name in NO_EXAMPLES:
        assert res.attempted == 0, f"{name} has examples now: take it out of NO_EXAMPLES"
    else:
        assert res.attempted > 0, f"{name} has no doctest example (every module needs one)"


def test_a_module_without_examples_is_caught():
    """The count the test relies on: a module with no example attempts none."""
    assert doctest.testmod(types.ModuleType("empty", "No example here.")).attempted == 0


def test_the_walk_finds_the_package():
    assert {"resilience.api.state", "resilience.analysis.blast", "resilience.dashboards"} <= set(MODULES)
