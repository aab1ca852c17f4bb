"""Sample networks and feeds: synthetic national networks at scale, the Noto region, the 2024 replay.

Pure generation plus writers of contract-shaped CSV feeds; deterministic by seed; no database.

Example
-------
>>> from resilience.sample import generate_synthetic
>>> len(generate_synthetic(1000, seed=0).nodes)
1000
"""

from resilience.sample._common import SyntheticNetwork
from resilience.sample.noto import NotoNetwork, generate_noto, write_noto
from resilience.sample.noto2024 import replay_shape, simulate_noto_2024, write_noto_2024
from resilience.sample.synthetic import generate_synthetic, write_status_update, write_synthetic

__all__ = [
    "SyntheticNetwork",
    "NotoNetwork",
    "generate_synthetic",
    "write_synthetic",
    "write_status_update",
    "generate_noto",
    "write_noto",
    "simulate_noto_2024",
    "write_noto_2024",
    "replay_shape",
]
