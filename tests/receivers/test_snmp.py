"""Real traps sent with net-snmp's ``snmptrap`` (Debian package ``snmp``), v2c and v3 USM:
IF-MIB linkDown / linkUp and a UPS-MIB on-battery trap, into the in-process receiver."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.receivers.conftest import link_state, node_state, wait_for

pytestmark = pytest.mark.snmp

ENGINE = "8000000001020304"
V3 = {"RESILIENCE_SNMP_V3_USERS": f"noc:SHA:authpass123:AES:privpass123@{ENGINE}",
      "RESILIENCE_SNMP_COMMUNITIES": "n0c-secret"}
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18.7"  # ifAlias.7: the circuit id (= our link id)


def _snmptrap() -> str:
    """net-snmp's snmptrap: fails when the run must cover SNMP (make test), skips otherwise."""
    exe = shutil.which("snmptrap")
    if exe is None:
        from tests.conftest import missing

        missing("snmp", "snmptrap is not installed (Debian package snmp; scripts/system-deps.sh)")
    return exe


def _trap(port: int, version: str, *args: str) -> None:
    exe = _snmptrap()
    auth = (["-v2c", "-c", "n0c-secret"] if version == "v2c" else
            ["-v3", "-e", ENGINE, "-u", "noc", "-l", "authPriv", "-a", "SHA", "-A", "authpass123",
             "-x", "AES", "-X", "privpass123"])
    subprocess.run([exe, *auth, f"127.0.0.1:{port}", "", *args], check=True, timeout=30,
                   capture_output=True)


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_real_traps_link_and_ups(network, start_receiver, version):
    rec = start_receiver(network, env=V3, snmp_port=0)
    port = rec.snmp_port
    # an agent whose address names no node: the alias maps it (rules aliases); B1's UPS
    rec.rules.aliases["127.0.0.1"] = "B1"
    _trap(port, version, "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.7", "i", "7",
          "1.3.6.1.2.1.2.2.1.7.7", "i", "1", "1.3.6.1.2.1.2.2.1.8.7", "i", "2", IF_ALIAS, "s", "L2")
    wait_for(lambda: (link_state(network, "L2") or {}).get("state") == "down", f"L2 down ({version} linkDown)")
    _trap(port, version, "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.1.7", "i", "7", IF_ALIAS, "s", "L2")
    wait_for(lambda: (link_state(network, "L2") or {}).get("state") == "up", f"L2 up ({version} linkUp)")
    # UPS-MIB upsTrapOnBattery with upsEstimatedMinutesRemaining
    _trap(port, version, "1.3.6.1.2.1.33.2.1", "1.3.6.1.2.1.33.1.2.3.0", "i", "42",
          "1.3.6.1.2.1.33.1.2.2.0", "i", "30")
    b1 = wait_for(lambda: (lambda n: n if n and n["power"] == "battery" else None)(node_state(network, "B1")),
                  f"B1 on battery ({version} upsTrapOnBattery)")
    assert b1["battery_remaining_min"] == 42 and b1["state"] == "up"
    assert rec.metrics.events.labels("snmp", "accepted")._value.get() == 3


def test_wrong_community_is_not_taken(network, start_receiver):
    rec = start_receiver(network, env=V3, snmp_port=0)
    exe = _snmptrap()
    subprocess.run([exe, "-v2c", "-c", "public", f"127.0.0.1:{rec.snmp_port}", "", "1.3.6.1.6.3.1.1.5.1"],
                   check=True, timeout=30, capture_output=True)
    _trap(rec.snmp_port, "v2c", "1.3.6.1.6.3.1.1.5.1")  # the right one, after it
    wait_for(lambda: rec.metrics.events.labels("snmp", "accepted")._value.get() >= 1, "the good trap")
    assert rec.metrics.events.labels("snmp", "accepted")._value.get() == 1
