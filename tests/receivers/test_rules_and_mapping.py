"""Rules: the documented default maps the common alarms; bad rules are all reported; mapping of
events to rows (composite state, duplicates, out of order, unknown and unmapped)."""

from __future__ import annotations

import pytest

from resilience.errors import BadInput
from resilience.receivers.events import normalize, snmp_record, split_alertmanager, split_ves
from resilience.receivers.rules import load_rules, parse_rules
from resilience.receivers.worker import AlarmState, map_records
from tests.receivers import samples


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize("facts, effect", [
    ({"source": "alertmanager", "alertname": "SiteDown"}, "down"),
    ({"source": "alertmanager", "alertname": "NodeDown"}, "down"),
    ({"source": "alertmanager", "alertname": "LinkDown"}, "link_down"),
    ({"source": "alertmanager", "alertname": "MainsFailure"}, "on_battery"),
    ({"source": "alertmanager", "alertname": "Anything", "resilience_state": "degraded"}, "degraded"),
    ({"source": "ves", "text": "Mains Failure"}, "on_battery"),
    ({"source": "ves", "text": "AC failure"}, "on_battery"),
    ({"source": "ves", "text": "Rectifier failure"}, "on_battery"),
    ({"source": "3gpp", "text": "powerProblem"}, "on_battery"),
    ({"source": "ves", "text": "Loss of signal"}, "link_down"),
    ({"source": "3gpp", "text": "lossOfSignal"}, "link_down"),
    ({"source": "ves", "text": "Cell unavailable"}, "down"),
    ({"source": "ves", "text": "NE unreachable"}, "down"),
    ({"source": "snmp", "trap": "linkDown"}, "link_down"),
    ({"source": "snmp", "trap": "linkUp"}, "link_up"),
    ({"source": "snmp", "trap": "upsTrapOnBattery"}, "on_battery"),
    ({"source": "snmp", "trap": "coldStart"}, "up"),
])
def test_default_rules_cover_the_common_alarms(rules, facts, effect):
    assert rules.match(facts).effect == effect


def test_every_bad_rule_is_reported_at_once(tmp_path):
    p = tmp_path / "alarms.yaml"
    p.write_text("version: 1\nrewrite: [{match: '(', id: '{x}'}]\nrules:\n"
                 "  - {name: a, when: {alertname: X}, effect: sink}\n"
                 "  - {name: a, when: {}, effect: down}\n"
                 "  - {name: c, when: {alertname: '[z'}, effect: down}\n")
    with pytest.raises(BadInput) as exc:
        load_rules(p)
    msg = str(exc.value)
    assert msg.startswith(str(p))
    for part in ("rewrite 1: bad regular expression", "rule 1 (a): effect 'sink'", "rule 2 (a): duplicate name",
                 "rule 2 (a): when must map", "rule 3 (c) when.alertname: bad regular expression"):
        assert part in msg
    p.write_text("rules: [")
    with pytest.raises(BadInput, match="not valid YAML"):
        load_rules(p)
    with pytest.raises(BadInput, match="rules: a non-empty list"):
        parse_rules({"version": 1})


def am(status, name, labels, at="2026-01-01T00:00:00Z", fp="f"):
    recs, _ = split_alertmanager({"version": "4", "alerts": [{
        "status": status, "labels": {"alertname": name, **labels}, "fingerprint": fp,
        **({"endsAt": at, "startsAt": "2026-01-01T00:00:00Z"} if status == "resolved" else {"startsAt": at})}]},
        peer="p", rx=1.0)
    return recs


def test_composite_state_of_a_node(rules):
    st = AlarmState()
    kw = dict(nodes={"B1"}, links={"L2"})
    rows, _ = map_records(am("firing", "MainsFailure", {"node_id": "B1"}, "2026-01-01T00:00:00Z", "p1"), rules, st, **kw)
    assert (rows["node_status"][0]["state"], rows["node_status"][0]["power"]) == ("up", "battery")
    rows, _ = map_records(am("firing", "SiteDown", {"site": "B1"}, "2026-01-01T00:05:00Z", "d1"), rules, st, **kw)
    assert (rows["node_status"][0]["state"], rows["node_status"][0]["power"]) == ("down", "battery")
    rows, _ = map_records(am("resolved", "MainsFailure", {"node_id": "B1"}, "2026-01-01T00:10:00Z", "p1"), rules, st, **kw)
    assert (rows["node_status"][0]["state"], rows["node_status"][0]["power"]) == ("down", "grid")
    # the same resolution again (Alertmanager repeats): a duplicate, no row
    counts = {}
    rows, _ = map_records(am("resolved", "MainsFailure", {"node_id": "B1"}, "2026-01-01T00:10:00Z", "p1"), rules, st,
                          counts=counts, **kw)
    assert rows["node_status"] == [] and counts == {("alertmanager", "duplicate"): 1}
    # an older firing of the same alert arriving late changes nothing (the newer observation wins)
    rows, _ = map_records(am("firing", "MainsFailure", {"node_id": "B1"}, "2026-01-01T00:01:00Z", "p1"), rules, st, **kw)
    assert rows["node_status"] == []
    rows, _ = map_records(am("resolved", "SiteDown", {"site": "B1"}, "2026-01-01T00:20:00Z", "d1"), rules, st, **kw)
    assert rows["node_status"][0]["state"] == "up" and st.active == {}


def test_links_traps_and_unmapped(rules):
    st = AlarmState()
    down = snmp_record("10.0.0.1", [("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.6.3.1.1.5.3"),
                                    ("1.3.6.1.2.1.2.2.1.1.3", "3"), ("1.3.6.1.2.1.31.1.1.1.18.3", "L2")],
                       rx=100.0, version="v2c")
    up = snmp_record("10.0.0.1", [("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.6.3.1.1.5.4"),
                                  ("1.3.6.1.2.1.2.2.1.1.3", "3"), ("1.3.6.1.2.1.31.1.1.1.18.3", "L2")],
                     rx=101.0, version="v2c")
    weird = snmp_record("10.0.0.1", [("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.4.1.9.9.9")], rx=102.0, version="v2c")
    rows, rejects = map_records([down, up, weird], rules, st, nodes={"B1"}, links={"L2"})
    assert [r["state"] for r in rows["link_status"]] == ["down", "up"]
    assert [r.rule for r in rejects] == ["receiver_unmapped_alarm"]
    # no naming label at all: unknown source, kept with the reason
    rows, rejects = map_records(am("firing", "SiteDown", {"job": "x"}), rules, st, nodes={"B1"}, links=set())
    assert rejects[0].rule == "receiver_unknown_source" and "names no node" in rejects[0].reason


def test_ves_events_normalise():
    recs = split_ves({"eventList": [samples.fault("B1", "Mains Failure"), samples.heartbeat("B2"),
                                    samples.stnd_3gpp("B3", "notifyNewAlarm", alarm_id="7", cause="powerProblem",
                                                      problem="rectifier")]}, peer="p", rx=1.0)
    kinds = [normalize(r).source_type for r in recs]
    assert kinds == ["ves", "heartbeat", "3gpp"]
    with pytest.raises(Exception, match="faultFields.eventSeverity"):
        split_ves({"event": {**samples.fault("B1", "x"), "faultFields": {
            **samples.fault("B1", "x")["faultFields"], "eventSeverity": "SEVERE"}}}, peer="p", rx=1.0)
