"""Payloads of the three entry points: checked on arrival, then normalised in the worker.

On arrival (before the answer) a payload is only split and checked: an Alertmanager webhook
into its alerts, a VES body into its events (checked against the VES 7.x common event format:
required header fields, domain, the fault / stndDefined / heartbeat fields), a trap into its
variable bindings. Each piece is a *spool record* (a small dict). The worker turns a record into
a :class:`Normalized` event (facts for the rules, names for the element, key, clear flag, time).

Nothing here echoes payload text into a message: reasons name fields and rules only.

Example
-------
>>> recs, bad = split_alertmanager({"version": "4", "status": "firing", "alerts": [
...     {"status": "firing", "labels": {"alertname": "SiteDown", "site": "B1"},
...      "startsAt": "2024-01-01T07:10:00Z", "fingerprint": "f1"}]}, peer="127.0.0.1", rx=0.0)
>>> len(recs), bad
(1, None)
>>> n = normalize(recs[0])
>>> n.source_type, n.facts["alertname"], n.time.isoformat(), n.clear
('alertmanager', 'SiteDown', '2024-01-01T07:10:00+00:00', False)
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Normalized", "PayloadError", "split_alertmanager", "split_ves", "snmp_record",
           "invalid_record", "normalize", "safe_text", "TRAP_NAMES", "VES_DOMAINS"]

VES_DOMAINS = ("fault", "stndDefined", "heartbeat", "measurement", "measurementsForVfScaling",
               "mobileFlow", "notification", "other", "perf3gpp", "pnfRegistration", "sipSignaling",
               "stateChange", "syslog", "thresholdCrossingAlert", "voiceQuality")
_VES_HEADER = ("domain", "eventId", "eventName", "lastEpochMicrosec", "priority",
               "reportingEntityName", "sequence", "sourceName", "startEpochMicrosec", "version",
               "vesEventListenerVersion")
_FAULT = ("alarmCondition", "eventSeverity", "eventSourceType", "faultFieldsVersion",
          "specificProblem", "vfStatus")
_SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING", "NORMAL")

#: Notification OIDs the receiver knows by name (SNMPv2-MIB, IF-MIB, UPS-MIB RFC 1628, APC).
TRAP_NAMES = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart", "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown", "1.3.6.1.6.3.1.1.5.4": "linkUp",
    "1.3.6.1.2.1.33.2.1": "upsTrapOnBattery", "1.3.6.1.2.1.33.2.2": "upsTrapTestCompleted",
    "1.3.6.1.2.1.33.2.3": "upsTrapAlarmEntryAdded", "1.3.6.1.2.1.33.2.4": "upsTrapAlarmEntryRemoved",
    "1.3.6.1.4.1.318.0.5": "apcUpsOnBattery", "1.3.6.1.4.1.318.0.9": "apcPowerRestored",
    "1.3.6.1.4.1.318.0.7": "apcLowBattery",
}
_UPS_ALARMS = {"1": "upsAlarmBatteryBad", "2": "upsAlarmOnBattery", "3": "upsAlarmLowBattery",
               "4": "upsAlarmDepletedBattery", "5": "upsAlarmTempBad", "6": "upsAlarmInputBad",
               "7": "upsAlarmOutputBad", "8": "upsAlarmOutputOverload", "9": "upsAlarmOnBypass"}
_VARBIND_PREFIXES = (  # column or scalar OID prefix -> fact name
    ("1.3.6.1.2.1.2.2.1.1.", "ifIndex"), ("1.3.6.1.2.1.2.2.1.2.", "ifDescr"),
    ("1.3.6.1.2.1.2.2.1.7.", "ifAdminStatus"), ("1.3.6.1.2.1.2.2.1.8.", "ifOperStatus"),
    ("1.3.6.1.2.1.31.1.1.1.1.", "ifName"), ("1.3.6.1.2.1.31.1.1.1.18.", "ifAlias"),
    ("1.3.6.1.2.1.1.5.0", "sysName"), ("1.3.6.1.2.1.33.1.2.3.0", "upsEstimatedMinutesRemaining"),
    ("1.3.6.1.2.1.33.1.2.2.0", "upsSecondsOnBattery"), ("1.3.6.1.2.1.33.1.6.2.1.2.", "upsAlarmDescr"),
)
_SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"


class PayloadError(ValueError):
    """A payload that cannot be taken (answered 400 with this reason, and kept in quarantine)."""


def safe_text(value: object, limit: int = 120) -> str:
    """``value`` as one short printable line: never raw payload markup or control characters.

    >>> safe_text("<script>alert(1)</script>\\n")
    '&lt;script&gt;alert(1)&lt;/script&gt;\\\\n'
    """
    import html

    s = str(value)
    s = s if len(s) <= limit else s[:limit] + "..."
    s = s.encode("unicode_escape").decode("ascii") if not s.isprintable() else s
    return html.escape(s, quote=True)


def _check_am_alert(a: object, i: int) -> None:
    if not isinstance(a, dict):
        raise PayloadError(f"alerts[{i}]: not an object")
    if a.get("status") not in ("firing", "resolved"):
        raise PayloadError(f"alerts[{i}].status: must be firing or resolved")
    labels = a.get("labels")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise PayloadError(f"alerts[{i}].labels: must be an object of strings")
    for k in ("startsAt", "endsAt"):
        if k in a and not isinstance(a[k], str):
            raise PayloadError(f"alerts[{i}].{k}: must be an RFC 3339 time string")


def split_alertmanager(body: object, *, peer: str, rx: float) -> tuple[list[dict], str | None]:
    """Split an Alertmanager (or Grafana) webhook into one record per alert.

    Returns the records and ``None``, or raises :class:`PayloadError` for a body that is not a
    webhook of version 4 (Grafana's extra fields are accepted).
    """
    if not isinstance(body, dict):
        raise PayloadError("body: not a JSON object")
    if str(body.get("version", "4")) != "4":
        raise PayloadError("version: only webhook payload version 4 is known")
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts: missing or not a list")
    for i, a in enumerate(alerts):
        _check_am_alert(a, i)
    keep = ("status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL")
    return [{"t": "alertmanager", "rx": rx, "peer": peer,
             "e": {k: a[k] for k in keep if k in a}} for a in alerts], None


def _ves_check(ev: object, where: str) -> None:
    """Check one VES 7.x event (the parts the receiver uses, as the VES 7 schema defines them)."""
    if not isinstance(ev, dict):
        raise PayloadError(f"{where}: not an object")
    h = ev.get("commonEventHeader")
    if not isinstance(h, dict):
        raise PayloadError(f"{where}.commonEventHeader: required object missing")
    for k in _VES_HEADER:
        if k not in h:
            raise PayloadError(f"{where}.commonEventHeader.{k}: required property missing")
    for k in ("lastEpochMicrosec", "startEpochMicrosec", "sequence"):
        if not isinstance(h[k], int | float) or isinstance(h[k], bool):
            raise PayloadError(f"{where}.commonEventHeader.{k}: must be a number")
    for k in ("eventId", "eventName", "sourceName", "reportingEntityName"):
        if not isinstance(h[k], str) or not h[k]:
            raise PayloadError(f"{where}.commonEventHeader.{k}: must be a non-empty string")
    if h["domain"] not in VES_DOMAINS:
        raise PayloadError(f"{where}.commonEventHeader.domain: not a VES 7 domain")
    if h["priority"] not in ("High", "Medium", "Normal", "Low"):
        raise PayloadError(f"{where}.commonEventHeader.priority: must be High, Medium, Normal or Low")
    if h["domain"] == "fault":
        f = ev.get("faultFields")
        if not isinstance(f, dict):
            raise PayloadError(f"{where}.faultFields: required for domain fault")
        for k in _FAULT:
            if k not in f:
                raise PayloadError(f"{where}.faultFields.{k}: required property missing")
        if f["eventSeverity"] not in _SEVERITIES:
            raise PayloadError(f"{where}.faultFields.eventSeverity: must be one of {', '.join(_SEVERITIES)}")
        if f["vfStatus"] not in ("Active", "Idle"):
            raise PayloadError(f"{where}.faultFields.vfStatus: must be Active or Idle")
    elif h["domain"] == "stndDefined":
        s = ev.get("stndDefinedFields")
        if not isinstance(s, dict) or not isinstance(s.get("data"), dict):
            raise PayloadError(f"{where}.stndDefinedFields.data: required object missing")
        if "stndDefinedFieldsVersion" not in s:
            raise PayloadError(f"{where}.stndDefinedFields.stndDefinedFieldsVersion: required property missing")
        if not isinstance(h.get("stndDefinedNamespace"), str):
            raise PayloadError(f"{where}.commonEventHeader.stndDefinedNamespace: required for domain stndDefined")
    elif h["domain"] == "heartbeat":
        hb = ev.get("heartbeatFields")
        if not isinstance(hb, dict) or "heartbeatFieldsVersion" not in hb or "heartbeatInterval" not in hb:
            raise PayloadError(f"{where}.heartbeatFields: heartbeatFieldsVersion and heartbeatInterval required")
        if not isinstance(hb["heartbeatInterval"], int) or isinstance(hb["heartbeatInterval"], bool):
            raise PayloadError(f"{where}.heartbeatFields.heartbeatInterval: must be an integer")


def split_ves(body: object, *, peer: str, rx: float, max_events: int = 1000) -> list[dict]:
    """Split a VES 7.x body (``{"event": ...}`` or ``{"eventList": [...]}``) into records.

    Raises :class:`PayloadError` (the whole body is refused, as the VES collector does).

    >>> split_ves({"eventList": []}, peer="p", rx=0.0)
    Traceback (most recent call last):
    ...
    resilience.receivers.events.PayloadError: eventList: must hold at least one event
    """
    if not isinstance(body, dict):
        raise PayloadError("body: not a JSON object")
    if "event" in body and "eventList" not in body:
        events, where = [body["event"]], "event"
    elif "eventList" in body and "event" not in body:
        events, where = body["eventList"], "eventList"
        if not isinstance(events, list) or not events:
            raise PayloadError("eventList: must hold at least one event")
    else:
        raise PayloadError("body: needs exactly one of event or eventList")
    if len(events) > max_events:
        raise PayloadError(f"eventList: {len(events)} events, more than the batch limit {max_events}")
    for i, ev in enumerate(events):
        _ves_check(ev, where if where == "event" else f"eventList[{i}]")
    return [{"t": "ves", "rx": rx, "peer": peer, "e": ev} for ev in events]


def snmp_record(agent: str, varbinds: list[tuple[str, str]], *, rx: float, version: str,
                security: str = "") -> dict:
    """The record of one trap: agent address, SNMP version, and the variable bindings as
    ``(oid, value)`` text pairs.

    >>> r = snmp_record("10.0.0.9", [("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.6.3.1.1.5.3")], rx=1.0, version="v2c")
    >>> normalize(r).facts["trap"]
    'linkDown'
    """
    return {"t": "snmp", "rx": rx, "peer": agent,
            "e": {"agent": agent, "version": version, "security": security,
                  "varbinds": [[str(o), str(v)] for o, v in varbinds]}}


def invalid_record(kind: str, reason: str, body: bytes, *, peer: str, rx: float) -> dict:
    """A payload refused on arrival, kept (its first 64 KiB) so that it is quarantined."""
    return {"t": "invalid", "rx": rx, "peer": peer,
            "e": {"kind": kind, "reason": reason, "head": body[:65536].decode("utf-8", "replace")}}


@dataclass
class Normalized:
    """One event as the rules see it."""

    source_type: str  # alertmanager | ves | 3gpp | snmp | heartbeat | invalid
    facts: dict[str, str]
    names: dict[str, str]
    key: str
    clear: bool
    time: datetime
    effect: str | None = None  # built in (heartbeat), else from the rules
    problem: str | None = None  # why it cannot be used (quarantined with this reason)
    rule: str = ""
    extra: dict = field(default_factory=dict)


_FRAC = re.compile(r"(\.\d{6})\d+")


def _rfc3339(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    s = _FRAC.sub(r"\1", value.strip()).replace("z", "Z")
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None or t.year < 1971:
        return None
    return t.astimezone(UTC)


def _epoch_us(value: object) -> datetime | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if v > 1e17:  # nanoseconds written as micro (seen in the wild)
        v /= 1000.0
    if v < 1e14:  # seconds or milliseconds: not VES microseconds, but unambiguous
        v = v * 1e6 if v < 1e11 else v * 1e3
    try:
        return datetime.fromtimestamp(v / 1e6, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _rx(rec: dict) -> datetime:
    return datetime.fromtimestamp(float(rec.get("rx", 0.0)), UTC)


def _text(*parts: object) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


def normalize(rec: dict) -> Normalized:
    """The :class:`Normalized` event of one spool record (``problem`` set when it cannot be
    used: an invalid payload, a domain that is not an alarm, a missing time)."""
    t, e = rec.get("t"), rec.get("e") or {}
    if t == "alertmanager":
        return _alertmanager(rec, e)
    if t == "ves":
        return _ves(rec, e)
    if t == "snmp":
        return _snmp(rec, e)
    reason = e.get("reason", "unreadable record") if t == "invalid" else f"unknown record type {safe_text(t)}"
    return Normalized("invalid", {"source": str(e.get("kind", t))}, {}, "", False, _rx(rec),
                      problem=f"malformed {e.get('kind', 'payload')}: {reason}")


def _alertmanager(rec: dict, a: dict) -> Normalized:
    labels = a.get("labels") or {}
    facts = {"source": "alertmanager", "alertname": labels.get("alertname", ""),
             "resilience_state": labels.get("resilience_state", ""),
             "severity": labels.get("severity", ""), "status": a.get("status", "")}
    facts.update({f"label.{k}": str(v) for k, v in labels.items()})
    facts["text"] = _text(labels.get("alertname"), (a.get("annotations") or {}).get("summary"))
    names = {f"label.{k}": str(v) for k, v in labels.items()}
    clear = a.get("status") == "resolved"
    when = _rfc3339(a.get("endsAt")) if clear else _rfc3339(a.get("startsAt"))
    fp = a.get("fingerprint") or hashlib.sha1(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    n = Normalized("alertmanager", facts, names, f"am:{fp}", clear, when or _rx(rec))
    if when is None and (a.get("startsAt") or a.get("endsAt")):
        n.problem = "malformed alertmanager: startsAt/endsAt is not an RFC 3339 time"
    return n


def _ves(rec: dict, ev: dict) -> Normalized:
    h = ev.get("commonEventHeader") or {}
    when = _epoch_us(h.get("lastEpochMicrosec")) or _epoch_us(h.get("startEpochMicrosec")) or _rx(rec)
    names = {"sourceName": str(h.get("sourceName", "")), "reportingEntityName": str(h.get("reportingEntityName", ""))}
    src = names["sourceName"]
    domain = h.get("domain")
    base = {"domain": str(domain), "eventName": str(h.get("eventName", ""))}
    if domain == "fault":
        f = ev.get("faultFields") or {}
        facts = {"source": "ves", **base, **{k: str(f.get(k, "")) for k in (
            "alarmCondition", "specificProblem", "eventSeverity", "eventSourceType", "vfStatus")}}
        facts["severity"] = facts["eventSeverity"]
        facts["text"] = _text(f.get("alarmCondition"), f.get("specificProblem"))
        if f.get("alarmInterfaceA"):
            names["alarmInterfaceA"] = str(f["alarmInterfaceA"])
        key = f"ves:{src}:{f.get('alarmCondition', '')}:{f.get('alarmInterfaceA', '')}"
        return Normalized("ves", facts, names, key, f.get("eventSeverity") == "NORMAL", when)
    if domain == "stndDefined" and str(h.get("stndDefinedNamespace", "")) == "3GPP-FaultSupervision":
        d = (ev.get("stndDefinedFields") or {}).get("data") or {}
        facts = {"source": "3gpp", **base, **{k: str(d.get(k, "")) for k in (
            "notificationType", "probableCause", "specificProblem", "alarmType", "perceivedSeverity")}}
        facts["severity"] = facts["perceivedSeverity"]
        facts["text"] = _text(d.get("probableCause"), d.get("specificProblem"), d.get("additionalText"))
        for k in ("systemDN", "href"):
            if d.get(k):
                names[k] = str(d[k])
        nt = facts["notificationType"]
        clear = nt == "notifyClearedAlarm" or facts["perceivedSeverity"].upper() == "CLEARED"
        alarm = d.get("alarmId") or f"{d.get('probableCause', '')}:{d.get('specificProblem', '')}"
        n = Normalized("3gpp", facts, names, f"3gpp:{src}:{alarm}", clear,
                       _rfc3339(d.get("eventTime")) or when)
        if nt not in ("notifyNewAlarm", "notifyClearedAlarm", "notifyChangedAlarm", "notifyChangedAlarmGeneral"):
            n.problem = f"3GPP notificationType {safe_text(nt)} is not an alarm notification"
        return n
    if domain == "heartbeat":
        hb = ev.get("heartbeatFields") or {}
        return Normalized("heartbeat", {"source": "ves", **base}, names, f"hb:{src}", False, when,
                          effect="heartbeat", extra={"interval": hb.get("heartbeatInterval")})
    what = f"stndDefined namespace {safe_text(h.get('stndDefinedNamespace'))}" if domain == "stndDefined" \
        else f"domain {safe_text(domain)}"
    return Normalized("ves", {"source": "ves", **base}, names, "", False, when,
                      problem=f"VES {what} is not an alarm (fault, stndDefined 3GPP-FaultSupervision, heartbeat)")


def _snmp(rec: dict, e: dict) -> Normalized:
    facts: dict[str, str] = {"source": "snmp", "version": str(e.get("version", ""))}
    names: dict[str, str] = {"agent": str(e.get("agent", ""))}
    trap_oid = ""
    for oid, value in e.get("varbinds") or []:
        oid = str(oid).lstrip(".")
        if oid == _SNMP_TRAP_OID:
            trap_oid = str(value).lstrip(".")
            continue
        for prefix, name in _VARBIND_PREFIXES:
            if oid == prefix or oid.startswith(prefix):
                if name == "upsAlarmDescr":
                    value = _UPS_ALARMS.get(str(value).rsplit(".", 1)[-1], value) \
                        if str(value).lstrip(".").startswith("1.3.6.1.2.1.33.1.6.3.") else value
                facts[name] = str(value)
                break
    facts["trap_oid"] = trap_oid
    facts["trap"] = TRAP_NAMES.get(trap_oid, trap_oid)
    for k in ("sysName", "ifName", "ifAlias", "ifDescr"):
        if facts.get(k):
            names[k] = facts[k]
    if facts.get("ifIndex"):
        names["agent_ifindex"] = f"{names['agent']}:{facts['ifIndex']}"
    facts["text"] = _text(facts["trap"], facts.get("upsAlarmDescr"))
    key = f"snmp:{names['agent']}:{facts['trap']}:{facts.get('ifIndex', '')}"
    n = Normalized("snmp", facts, names, key, False, _rx(rec))
    if not trap_oid:
        n.problem = "malformed snmp: no snmpTrapOID.0 in the notification"
    return n
