"""Resilience monitoring for communications infrastructure.

The library knows nothing of Airflow. Sub-packages:

- :mod:`resilience.feeds`     readers, schemas, validation and quarantine of input feeds
- :mod:`resilience.store`     SQLAlchemy tables, engine and repositories
- :mod:`resilience.topology`  the domain model and :func:`build_graph`
- :mod:`resilience.analysis`  pure functions over a graph (blast radius, SPOFs, causes, forecast)
- :mod:`resilience.scenarios` what-if damage descriptions (never mutate the model)
- :mod:`resilience.exporter`  Prometheus collectors over the latest snapshot
- :mod:`resilience.reports`   HTML reports
- :mod:`resilience.sample`    sample networks and feeds
- :mod:`resilience.api`       the operations of the CLI as Python functions
"""

__version__ = "0.1.0"
