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

import yaml

from resilience.scenarios.base import Scenario
from resilience.scenarios.earthquake import Earthquake
from resilience.scenarios.explicit import ExplicitFailure
from resilience.scenarios.power import PowerOutage
from resilience.scenarios.region import RegionFailure
from resilience.scenarios.srlg import SRLGCut

__all__ = ["SCENARIO_TYPES", "scenario_from_dict", "load_scenario"]

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
    return SCENARIO_TYPES[t].from_dict(d)


def load_scenario(path: str | Path) -> Scenario:
    """Read a YAML scenario file.

    Raises ``ValueError`` (message naming the file) when the YAML or the scenario is invalid.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        return scenario_from_dict(data)
    except (yaml.YAMLError, ValueError, TypeError) as e:
        raise ValueError(f"{p}: {e}") from e
