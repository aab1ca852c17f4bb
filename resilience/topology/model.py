"""The domain vocabulary shared by feeds, store, graph and analysis (docs/data-contracts.md).

Example
-------
>>> from resilience.topology.model import NODE_KINDS, CAUSES
>>> "base_station" in NODE_KINDS, CAUSES[0]
(True, 'power')
"""

from __future__ import annotations

__all__ = [
    "NODE_KINDS",
    "MEDIA",
    "NODE_STATES",
    "POWER_STATES",
    "LINK_STATES",
    "FEED_POWER_STATES",
    "CAUSES",
    "NODE_COLUMNS",
    "LINK_COLUMNS",
    "NODE_STATUS_COLUMNS",
    "LINK_STATUS_COLUMNS",
    "POWER_STATUS_COLUMNS",
    "split_srlg",
]

NODE_KINDS = (
    "core",
    "aggregation",
    "base_station",
    "cable_headend",
    "optical_node",
    "relay",
    "satellite_gateway",
)
MEDIA = ("fiber", "microwave", "satellite", "coax", "copper")
NODE_STATES = ("up", "down", "degraded")
POWER_STATES = ("grid", "battery", "generator", "none")
LINK_STATES = ("up", "down")
FEED_POWER_STATES = ("on", "off")
CAUSES = ("power", "backhaul", "power+backhaul", "equipment", "unknown")

NODE_COLUMNS = (
    "node_id",
    "kind",
    "operator",
    "name",
    "lat",
    "lon",
    "prefecture",
    "municipality",
    "subscribers",
    "battery_hours",
    "power_feed",
)
LINK_COLUMNS = ("link_id", "a", "b", "medium", "capacity_mbps", "srlg")
NODE_STATUS_COLUMNS = ("observed_at", "node_id", "state", "power", "battery_remaining_min")
LINK_STATUS_COLUMNS = ("observed_at", "link_id", "state")
POWER_STATUS_COLUMNS = ("observed_at", "power_feed", "state", "expected_restore_at")


def split_srlg(value: object) -> tuple[str, ...]:
    """Shared-risk groups of a link from the ``;``-separated contract field.

    >>> split_srlg("R1; bridge-7;")
    ('R1', 'bridge-7')
    >>> split_srlg(None)
    ()
    """
    if value is None or value != value:  # None or NaN
        return ()
    return tuple(s.strip() for s in str(value).split(";") if s.strip())
