"""The HTTP receiver end to end (in process, real sockets, the real store on SQLite and
PostgreSQL): VES single, batch, fault, stndDefined 3GPP, heartbeat, refusals, security."""

from __future__ import annotations

import base64
import json

import pytest

from resilience import api
from tests.receivers import samples
from tests.receivers.conftest import link_state, node_state, post, wait_for


def test_ves_fault_single_batch_3gpp_heartbeat(network, start_receiver):
    rec = start_receiver(network)
    url = f"http://127.0.0.1:{rec.http_port}/eventListener/v7"
    code, ans = post(url, {"event": samples.fault("B1", "Mains Failure", "MAJOR")})
    assert (code, ans) == (202, {"accepted": 1})
    wait_for(lambda: (node_state(network, "B1") or {}).get("power") == "battery", "B1 on battery")
    # a batch: B2 cell unavailable, L5 loss of signal (the source is a link), B3 3GPP new alarm
    batch = {"eventList": [
        samples.fault("B2", "Cell unavailable", event_id="e2"),
        samples.fault("L5", "Loss of signal", event_id="e3"),
        samples.stnd_3gpp("B3", "notifyNewAlarm", alarm_id="42", cause="powerProblem", problem="rectifier failure"),
    ]}
    assert post(f"{url}/eventBatch", batch)[0] == 202
    wait_for(lambda: (node_state(network, "B2") or {}).get("state") == "down", "B2 down")
    wait_for(lambda: (link_state(network, "L5") or {}).get("state") == "down", "L5 down")
    wait_for(lambda: (node_state(network, "B3") or {}).get("power") == "battery", "B3 on battery (3GPP)")
    # clears: NORMAL severity, notifyClearedAlarm (no words needed: it clears alarm 42)
    post(url, {"event": samples.fault("B2", "Cell unavailable", "NORMAL", event_id="e4")})
    post(url, {"event": samples.stnd_3gpp("B3", "notifyClearedAlarm", alarm_id="42", cause="", problem="",
                                          severity="CLEARED")})
    wait_for(lambda: (node_state(network, "B2") or {}).get("state") == "up", "B2 up after NORMAL")
    wait_for(lambda: (node_state(network, "B3") or {}).get("power") == "grid", "B3 back on grid")
    # heartbeat: refreshes the time of a node's state (A1 had none: it becomes up and fresh)
    assert node_state(network, "A1")["state"] == "unknown"
    post(url, {"event": samples.heartbeat("A1")})
    wait_for(lambda: (node_state(network, "A1") or {}).get("state") == "up", "A1 fresh by heartbeat")
    # an old heartbeat (older than stale_after_minutes): the source stays unknown
    post(url, {"event": samples.heartbeat("C1", us=samples.now_us(-3 * 3600))})
    wait_for(lambda: (node_state(network, "C1") or {}).get("observed_at"), "C1 stored")
    assert node_state(network, "C1")["state"] == "unknown"


def test_invalid_payloads_answer_400_and_are_quarantined(network, start_receiver):
    rec = start_receiver(network)
    url = f"http://127.0.0.1:{rec.http_port}"
    bad = samples.fault("B1", "x")
    del bad["commonEventHeader"]["sourceName"]
    code, ans = post(f"{url}/eventListener/v7", {"event": bad})
    assert code == 400 and ans["error"] == "event.commonEventHeader.sourceName: required property missing"
    code, ans = post(f"{url}/eventListener/v7", None, raw=b"<script>alert(1)</script>")
    assert code == 400 and ans == {"error": "body: not JSON"}
    code, ans = post(f"{url}/alertmanager", {"version": "4", "alerts": [{"status": "<b>on</b>", "labels": {}}]})
    assert code == 400 and "<b>" not in json.dumps(ans)
    # a VES domain that is not an alarm, and an alarm no rule maps: accepted, then quarantined
    meas = samples.fault("B1", "x")
    meas["commonEventHeader"]["domain"] = "measurement"
    del meas["faultFields"]
    assert post(f"{url}/eventListener/v7", {"event": meas})[0] == 202
    assert post(f"{url}/eventListener/v7", {"event": samples.fault("B1", "Door open <img src=x>")})[0] == 202
    rows = wait_for(lambda: (lambda q: q if len(q) >= 5 else None)(api.quarantine_list(db_url=network)),
                    "five quarantined events")
    rules = sorted(r["rule"] for r in rows)
    assert rules == ["receiver_malformed"] * 3 + ["receiver_not_an_alarm", "receiver_unmapped_alarm"]
    unmapped = next(r for r in rows if r["rule"] == "receiver_unmapped_alarm")
    assert "<img" not in unmapped["value"] and "&lt;img" in unmapped["value"]
    assert all(r["file"].startswith("receiver:") for r in rows)


def test_unknown_element_is_quarantined_by_the_ingest_and_retryable(network, start_receiver, tmp_path):
    rec = start_receiver(network)
    post(f"http://127.0.0.1:{rec.http_port}/alertmanager",
         {"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "SiteDown", "node_id": "B9"},
                                      "startsAt": "2026-01-01T00:00:00Z"}]})
    rows = wait_for(lambda: api.quarantine_list(db_url=network), "B9 quarantined")
    assert rows[0]["reason"] == "status for an unknown node" and rows[0]["value"] == "B9"


def test_auth_limits_and_bind(network, start_receiver):
    rec = start_receiver(network, env={"RESILIENCE_RECEIVER_TOKEN": "tok-123",
                                       "RESILIENCE_RECEIVER_USER": "am", "RESILIENCE_RECEIVER_PASSWORD": "pw"},
                         max_body_bytes=2000, max_batch_events=2)
    url = f"http://127.0.0.1:{rec.http_port}/eventListener/v7"
    ev = {"event": samples.fault("B1", "Mains Failure")}
    assert post(url, ev)[0] == 401
    assert post(url, ev, {"Authorization": "Bearer wrong"})[0] == 401
    assert post(url, ev, {"Authorization": "Bearer tok-123"})[0] == 202
    basic = "Basic " + base64.b64encode(b"am:pw").decode()
    assert post(url, ev, {"Authorization": basic})[0] == 202
    code, ans = post(url, {"eventList": [samples.fault("B1", "x")] * 3}, {"Authorization": basic})
    assert code in (400, 413) and ("batch limit" in ans["error"] or "limit 2000" in ans["error"])
    code, ans = post(url, None, {"Authorization": basic}, raw=b"x" * 5000)
    assert code == 413 and "limit 2000" in ans["error"]
    from resilience.errors import BadInput
    from resilience.receivers.service import Receiver, ReceiverConfig

    with pytest.raises(BadInput, match="refusing to bind 0.0.0.0"):
        Receiver(ReceiverConfig(host="0.0.0.0", http_port=0, snmp_port=None, db_url=network), env={})
    with pytest.raises(BadInput, match="RESILIENCE_SNMP_COMMUNITIES"):
        Receiver(ReceiverConfig(host="0.0.0.0", http_port=0, snmp_port=0, db_url=network),
                 env={"RESILIENCE_RECEIVER_TOKEN": "t"})


def test_flapping_element_is_coalesced_not_starving_others(network, start_receiver):
    rec = start_receiver(network, rate_per_source=1.0)
    url = f"http://127.0.0.1:{rec.http_port}/eventListener/v7"
    base = samples.now_us(-60)
    flaps = [samples.fault("L2", "Loss of signal", "NORMAL" if i % 2 else "CRITICAL", us=base + i * 1000,
                           event_id=f"f{i}") for i in range(41)]  # ends CRITICAL: down
    assert post(url, {"eventList": flaps[:20]})[0] == 202
    assert post(url, {"eventList": flaps[20:]})[0] == 202
    assert post(url, {"event": samples.fault("B2", "Cell unavailable", event_id="other")})[0] == 202
    wait_for(lambda: (node_state(network, "B2") or {}).get("state") == "down", "B2 down despite the flapping L2")
    wait_for(lambda: (link_state(network, "L2") or {}).get("state") == "down", "L2 in its latest state")
    metrics = wait_for(lambda: rec.metrics.events.labels("ves", "coalesced")._value.get(), "coalesced counted")
    assert metrics >= 20
