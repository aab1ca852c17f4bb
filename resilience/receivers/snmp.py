"""SNMP trap listener (pysnmp 7, UDP, SNMPv2c and SNMPv3 USM) in a thread of its own.

Credentials come from the environment only, never from files:

- ``RESILIENCE_SNMP_COMMUNITIES``: comma-separated v2c community strings (none set: v2c is off,
  except ``public`` on a loopback bind, for a first try on one machine);
- ``RESILIENCE_SNMP_V3_USERS``: ``;``-separated users
  ``name:AUTH:authkey:PRIV:privkey@engineid`` (AUTH ``MD5|SHA|SHA224|SHA256|SHA384|SHA512``,
  PRIV ``DES|3DES|AES|AES192|AES256`` or ``NONE``; ``@engineid``: the hex engine id of the
  agent sending traps, which SNMPv3 traps are keyed by; give the same user once per agent).

Every trap is spooled (fsync) before it is counted; the agent's rate is limited per address
(the excess is coalesced by the worker, never dropped: a trap cannot be sent again).

Example
-------
>>> parse_v3_users("noc:SHA:authpass123:AES:privpass123@8000000001020304")[0][:3]
('noc', 'SHA', 'authpass123')
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

from resilience.errors import BadInput

__all__ = ["TrapListener", "parse_v3_users", "communities_from_env"]

_AUTH = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512", "NONE")
_PRIV = ("DES", "3DES", "AES", "AES192", "AES256", "NONE")


def parse_v3_users(text: str) -> list[tuple[str, str, str, str, str, str]]:
    """``(name, auth, authkey, priv, privkey, engine id hex)`` of each user of the variable.

    Raises :class:`~resilience.errors.BadInput` naming the user (never its keys).
    """
    out = []
    for i, item in enumerate(x for x in text.split(";") if x.strip()):
        spec, _, engine = item.strip().partition("@")
        parts = spec.split(":")
        if len(parts) != 5:
            raise BadInput("RESILIENCE_SNMP_V3_USERS", f"user {i + 1}: expected name:AUTH:authkey:PRIV:privkey@engineid")
        name, auth, akey, priv, pkey = parts
        auth, priv = auth.upper(), priv.upper()
        if auth not in _AUTH or priv not in _PRIV:
            raise BadInput("RESILIENCE_SNMP_V3_USERS", f"user {name}: AUTH one of {', '.join(_AUTH)}, "
                                                       f"PRIV one of {', '.join(_PRIV)}")
        if (auth != "NONE" and len(akey) < 8) or (priv != "NONE" and len(pkey) < 8):
            raise BadInput("RESILIENCE_SNMP_V3_USERS", f"user {name}: keys must have at least 8 characters")
        engine = engine.strip().removeprefix("0x")
        if engine and (len(engine) % 2 or any(c not in "0123456789abcdefABCDEF" for c in engine)):
            raise BadInput("RESILIENCE_SNMP_V3_USERS", f"user {name}: the engine id must be hex")
        out.append((name, auth, akey, priv, pkey, engine))
    return out


def communities_from_env(env=None) -> list[str]:
    """The v2c communities of ``RESILIENCE_SNMP_COMMUNITIES``."""
    env = os.environ if env is None else env
    return [c for c in (x.strip() for x in env.get("RESILIENCE_SNMP_COMMUNITIES", "").split(",")) if c]


class TrapListener:
    """Receive traps on ``(host, port)`` and append them to the spool.

    Parameters
    ----------
    host, port : str, int
        The UDP address (port 0: a free port, see :attr:`port` once started).
    spool : Spool
        Where traps go.
    metrics : ReceiverMetrics
        Counted into.
    communities : list of str
        SNMPv2c communities.
    v3_users : list of tuple
        From :func:`parse_v3_users`.
    rate_per_agent : float
        Traps per second an agent may send before its excess is coalesced.
    """

    def __init__(self, host: str, port: int, *, spool, metrics, communities: list[str],
                 v3_users: list[tuple], rate_per_agent: float = 50.0):
        from resilience.receivers.http import TokenBuckets

        self.host, self.port = host, port
        self.spool, self.metrics = spool, metrics
        self.communities, self.v3_users = communities, v3_users
        self.buckets = TokenBuckets(rate_per_agent, rate_per_agent * 10)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.received = 0

    def start(self) -> None:
        """Bind and start the listener thread; raises if the port cannot be bound."""
        self._thread = threading.Thread(target=self._run, name="snmp-traps", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("SNMP listener did not start within 30 s")

    def stop(self) -> None:
        """Stop the listener thread."""
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _engine(self, loop):
        from pysnmp.carrier.asyncio.dgram import udp, udp6
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv
        from pysnmp.proto.api import v2c

        eng = engine.SnmpEngine()
        v6 = ":" in self.host
        mod = udp6 if v6 else udp
        transport = (udp6.Udp6Transport if v6 else udp.UdpTransport)(loop=loop)
        transport = transport.open_server_mode((self.host, self.port))
        config.add_transport(eng, mod.DOMAIN_NAME, transport)
        for i, c in enumerate(self.communities):
            config.add_v1_system(eng, f"community-{i}", c)
        auths = {"MD5": config.USM_AUTH_HMAC96_MD5, "SHA": config.USM_AUTH_HMAC96_SHA,
                 "SHA224": config.USM_AUTH_HMAC128_SHA224, "SHA256": config.USM_AUTH_HMAC192_SHA256,
                 "SHA384": config.USM_AUTH_HMAC256_SHA384, "SHA512": config.USM_AUTH_HMAC384_SHA512,
                 "NONE": config.USM_AUTH_NONE}
        privs = {"DES": config.USM_PRIV_CBC56_DES, "3DES": config.USM_PRIV_CBC168_3DES,
                 "AES": config.USM_PRIV_CFB128_AES, "AES192": config.USM_PRIV_CFB192_AES,
                 "AES256": config.USM_PRIV_CFB256_AES, "NONE": config.USM_PRIV_NONE}
        for name, auth, akey, priv, pkey, eid in self.v3_users:
            kw = {"securityEngineId": v2c.OctetString(hexValue=eid)} if eid else {}
            config.add_v3_user(eng, name, auths[auth], akey if auth != "NONE" else None,
                               privs[priv], pkey if priv != "NONE" else None, **kw)
        ntfrcv.NotificationReceiver(eng, self._on_trap)
        return eng, transport

    def _on_trap(self, eng, state_ref, context_engine_id, context_name, varbinds, cb_ctx) -> None:
        from resilience.receivers.events import snmp_record
        from resilience.receivers.spool import SpoolError

        rx = time.time()
        try:
            _, addr = eng.message_dispatcher.get_transport_info(state_ref)
            agent = str(addr[0])
        except Exception:  # noqa: BLE001 - the address is informative; the trap is still kept
            agent = "unknown"
        binds = []
        for oid, val in varbinds:
            try:
                text = val.prettyPrint()
            except Exception:  # noqa: BLE001 - an odd value type: keep its repr
                text = repr(val)
            binds.append((oid.prettyPrint(), text))
        rec = snmp_record(agent, binds, rx=rx, version="snmp")
        if not self.buckets.take(agent, 1):
            rec["rl"] = 1
            self.metrics.outcome("snmp", "coalesced")
        try:
            self.spool.append([rec])
        except SpoolError:
            self.metrics.outcome("snmp", "invalid")  # could not be kept: counted, logged by the caller
            return
        self.received += 1
        self.metrics.accepted("snmp")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            eng, transport = self._engine(loop)

            async def bound():
                for _ in range(200):
                    if transport.transport is not None:
                        return transport.transport.get_extra_info("sockname")
                    if transport._lport is not None and transport._lport.done():
                        transport._lport.result()  # raises the bind error
                    await asyncio.sleep(0.01)
                raise OSError(f"could not bind UDP {self.host}:{self.port}")

            sock = loop.run_until_complete(bound())
            self.port = int(sock[1])
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            eng.transport_dispatcher.job_started(1)
            loop.run_forever()
        finally:
            try:
                eng.transport_dispatcher.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing on the way out
                pass
            loop.close()
