"""Scenario files (YAML under ``config/scenarios/``) and plain dicts to :class:`Scenario` objects.

This module is the only one of :mod:`resilience.scenarios` that reads a file
(:func:`load_scenario`); :func:`scenario_from_dict` is pure. The YAML shape is the ``to_dict()``
of each scenario class, keyed by ``type``:

.. code-block:: yaml

    name: Wajima conduit
    type: srlg            # explicit | region | power_outage | srlg | earthquake
    groups: [R1]

Example
-------
>>> scenario_from_dict({"type": "explicit", "fail": ["A1"]})
ExplicitFailure(elements=['A1'], name='')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from resilience.scenarios.base import Scenario
from resilience.scenarios.earthquake import Earthquake
from resilience.scenarios.explicit import ExplicitFailure
from resilience.scenarios.power import PowerOutage
from resilience.scenarios.region import RegionFailure
from resilience.scenarios.srlg import SRLGCut
from resilience.yamlfile import read_yaml_file

__all__ = ["SCENARIO_TYPES", "MAX_SCENARIO_BYTES", "scenario_from_dict", "read_scenario_file",
           "load_scenario"]

#: A scenario file larger than this is refused (scenarios are a few lines; a shake map of a
#: national network stays well below it).
MAX_SCENARIO_BYTES = 16 * 1024 * 1024

SCENARIO_TYPES: dict[str, Any] = {
    "explicit": ExplicitFailure,
    "region": RegionFailure,
    "power_outage": PowerOutage,
    "srlg": SRLGCut,
    "earthquake": Earthquake,
}


def scenario_from_dict(d: dict[str, Any]) -> Scenario:
    """Build a scenario from its dict description (``type`` selects the class).

    Raises ``ValueError`` naming the problem for an unknown type or missing fields.

    >>> scenario_from_dict({"type": "region", "center": {"lat": 37.4, "lon": 136.9}, "radius_km": 5})
    RegionFailure(lat=37.4, lon=136.9, radius_km=5.0, polygon=None, name='')
    """
    if not isinstance(d, dict):
        raise ValueError("a scenario is a mapping with a 'type'")
    t = d.get("type")
    if t not in SCENARIO_TYPES:
        raise ValueError(
            f"unknown scenario type {t!r}; expected one of {', '.join(SCENARIO_TYPES)}"
        )
    try:
        return SCENARIO_TYPES[t].from_dict(d)
    except (TypeError, AttributeError) as e:  # a field of the wrong shape (a list for a mapping)
        raise ValueError(f"{t} scenario: {e}") from None


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML scenario file.

    Raises ``ValueError`` naming the file, and the line for a YAML error, but never quoting
    the file's content (``--scenario /etc/passwd`` must not print the file): unreadable, larger
    than :data:`MAX_SCENARIO_BYTES`, not UTF-8, not YAML, or not a mapping.

    >>> read_scenario_file("/nonexistent.yaml")
    Traceback (most recent call last):
    ...
    resilience.yamlfile.ConfigFileError: /nonexistent.yaml: cannot read the scenario file (No such file or directory)
    """
    p = Path(path)
    data = read_yaml_file(p, what="scenario", max_bytes=MAX_SCENARIO_BYTES)
    if not isinstance(data, dict):
        raise ValueError(f"{p}: not a scenario: a YAML mapping with a 'type' is expected")
    return data


def load_scenario(path: str | Path) -> Scenario:
    """Read a YAML scenario file.

    Raises ``ValueError`` (message naming the file) when the file, the YAML or the scenario is
    invalid (see :func:`read_scenario_file`).
    """
    data = read_scenario_file(path)
    try:
        return scenario_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
