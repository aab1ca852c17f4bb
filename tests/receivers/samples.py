"""VES 7.x events shaped as ONAP publishes them in its test suites (VES collector / DCAE
samples: fault, batch, stndDefined 3GPP-FaultSupervision, heartbeat), with our element names
and the time of the test."""

from __future__ import annotations

import time


def _header(domain: str, source: str, event_id: str, us: int, seq: int = 0, **extra) -> dict:
    return {"domain": domain, "eventId": event_id, "eventName": f"{domain}_Vscf:Acs-Ericcsson_PilotNumberPoolExhaustion",
            "eventType": "applicationVnf", "lastEpochMicrosec": us, "nfcNamingCode": "ssc",
            "nfNamingCode": "scfx", "priority": "High", "reportingEntityId": "cc305d54-75b4-431b-adb2-eb6b9e541234",
            "reportingEntityName": "ibcx0001vm002oam001", "sequence": seq, "sourceId": "de305d54-75b4-431b-adb2-eb6b9e546014",
            "sourceName": source, "startEpochMicrosec": us, "timeZoneOffset": "UTC-05:30", "version": "4.1",
            "vesEventListenerVersion": "7.2.1", **extra}


def now_us(offset_s: float = 0.0) -> int:
    return int((time.time() + offset_s) * 1e6)


def fault(source: str, condition: str, severity: str = "CRITICAL", *, us: int | None = None,
          problem: str = "", interface: str | None = None, event_id: str = "ab305d54-85b4-a31b-7db2-fb6b9e546015") -> dict:
    f = {"alarmAdditionalInformation": {"name1": "value1", "name2": "value2"}, "alarmCondition": condition,
         "eventCategory": "other", "eventSeverity": severity, "eventSourceType": "other",
         "faultFieldsVersion": "4.0", "specificProblem": problem or condition, "vfStatus": "Active"}
    if interface:
        f["alarmInterfaceA"] = interface
    return {"commonEventHeader": _header("fault", source, event_id, us or now_us()), "faultFields": f}


def stnd_3gpp(source: str, notification: str, *, alarm_id: str, cause: str, problem: str,
              severity: str = "MAJOR", when: str | None = None, system_dn: str = "xyz") -> dict:
    import datetime as dt

    t = when or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "commonEventHeader": _header("stndDefined", source, "stndDefined-gNB-Nokia-000001", now_us(),
                                     stndDefinedNamespace="3GPP-FaultSupervision"),
        "stndDefinedFields": {
            "schemaReference": "https://forge.3gpp.org/rep/sa5/MnS/blob/SA88-Rel16/OpenAPI/faultMnS.yaml#components/schemas/NotifyNewAlarm",
            "data": {"href": "href1", "notificationId": 0, "notificationType": notification, "eventTime": t,
                     "systemDN": system_dn, "alarmId": alarm_id, "alarmType": "COMMUNICATIONS_ALARM",
                     "probableCause": cause, "specificProblem": problem, "perceivedSeverity": severity,
                     "backedUpStatus": True, "backUpObject": "xyz", "trendIndication": "MORE_SEVERE",
                     "correlatedNotifications": [], "rootCauseIndicator": False, "proposedRepairActions": "Call",
                     "additionalText": "xyz", "additionalInformation": {"addInfo": "addInfo"}},
            "stndDefinedFieldsVersion": "1.0"}}


def heartbeat(source: str, *, us: int | None = None, interval: int = 60) -> dict:
    return {"commonEventHeader": _header("heartbeat", source, "heartbeat0000249", us or now_us()),
            "heartbeatFields": {"heartbeatFieldsVersion": "3.0", "heartbeatInterval": interval,
                                "additionalFields": {"eventTime": "2021-05-05T12:00:00.000Z"}}}
