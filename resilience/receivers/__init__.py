"""Alarm receivers: Prometheus Alertmanager webhooks, SNMP traps, ONAP VES 7.x / 3GPP fault events.

``resilience receive`` runs them in one process (:mod:`resilience.receivers.service`): events are
checked, appended to a durable spool (:mod:`~resilience.receivers.spool`) before they are
acknowledged, mapped by the rules of ``config/alarms.yaml`` (:mod:`~resilience.receivers.rules`)
and stored through the same ingest as feed files (:mod:`~resilience.receivers.worker`). See
docs/receivers.md.

Example
-------
>>> from resilience.receivers import load_rules
>>> load_rules().match({"source": "snmp", "trap": "linkDown"}).effect
'link_down'
"""

from resilience.receivers.rules import RuleSet, load_rules

__all__ = ["RuleSet", "load_rules"]
