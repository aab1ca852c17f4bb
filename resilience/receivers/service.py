"""``resilience receive``: one process with the HTTP server, the trap listener and the worker.

Example
-------
>>> check_bind("127.0.0.1", auth_enabled=False, snmp_configured=False)
>>> check_bind("0.0.0.0", auth_enabled=False, snmp_configured=True)
Traceback (most recent call last):
...
resilience.errors.BadInput: --host: field host: refusing to bind 0.0.0.0 (not loopback) without credentials: set RESILIENCE_RECEIVER_TOKEN or RESILIENCE_RECEIVER_USER and RESILIENCE_RECEIVER_PASSWORD
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from resilience.errors import BadInput

__all__ = ["Receiver", "ReceiverConfig", "check_bind", "run"]

log = logging.getLogger("resilience.receive")


def check_bind(host: str, *, auth_enabled: bool, snmp_configured: bool) -> None:
    """Refuse a non-loopback bind without HTTP credentials (and, for traps, without
    communities or v3 users from the environment)."""
    from resilience.receivers.http import is_loopback

    if is_loopback(host):
        return
    if not auth_enabled:
        raise BadInput("--host", f"refusing to bind {host} (not loopback) without credentials: set "
                       "RESILIENCE_RECEIVER_TOKEN or RESILIENCE_RECEIVER_USER and RESILIENCE_RECEIVER_PASSWORD",
                       field="host")
    if not snmp_configured:
        raise BadInput("--host", f"refusing to take traps on {host} (not loopback) with the default community: "
                       "set RESILIENCE_SNMP_COMMUNITIES or RESILIENCE_SNMP_V3_USERS, or run with --no-snmp",
                       field="host")


@dataclass
class ReceiverConfig:
    """Everything ``resilience receive`` needs (defaults from the settings)."""

    host: str = "127.0.0.1"
    http_port: int = 9110
    snmp_port: int | None = 9162  # None: no trap listener
    rules: str | Path | None = None
    db_url: str | None = None
    spool_dir: str | Path | None = None
    ingest: str = "direct"
    batch_seconds: float = 0.5
    max_body_bytes: int = 1024 * 1024
    max_batch_events: int = 1000
    rate_per_client: float = 5000.0
    rate_per_source: float = 50.0

    @classmethod
    def from_settings(cls, **overrides) -> ReceiverConfig:
        """The settings' values (``receiver_*``), then ``overrides`` that are not ``None``."""
        from resilience.receivers.rules import default_rules_path
        from resilience.settings import load_settings

        s = load_settings()
        rules = s.path(s.receiver_rules)
        if not rules.is_file() and s.receiver_rules == "config/alarms.yaml":
            rules = default_rules_path()  # the documented default shipped with the package
        cfg = cls(host=s.receiver_host, http_port=s.receiver_http_port, snmp_port=s.receiver_snmp_port,
                  rules=rules, spool_dir=s.path(s.receiver_spool), ingest=s.receiver_ingest,
                  batch_seconds=s.receiver_batch_seconds, max_body_bytes=s.receiver_max_body_bytes,
                  max_batch_events=s.receiver_max_batch_events, rate_per_client=s.receiver_rate_per_client,
                  rate_per_source=s.receiver_rate_per_source)
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg


class Receiver:
    """The running receiver (:meth:`start`, :meth:`stop`); ``http_port`` / ``snmp_port`` are
    the bound ports once started (0 asks for free ones)."""

    def __init__(self, cfg: ReceiverConfig, env=None):
        from prometheus_client import CollectorRegistry

        from resilience.receivers.http import Auth, Limits, make_server
        from resilience.receivers.metrics import ReceiverMetrics
        from resilience.receivers.rules import load_rules
        from resilience.receivers.snmp import TrapListener, communities_from_env, parse_v3_users
        from resilience.receivers.spool import Spool
        from resilience.receivers.worker import Worker

        env = os.environ if env is None else env
        self.cfg = cfg
        self.rules = load_rules(cfg.rules)  # BadInput listing every bad rule
        auth = Auth.from_env(env)
        communities = communities_from_env(env)
        users = parse_v3_users(env.get("RESILIENCE_SNMP_V3_USERS", ""))
        check_bind(cfg.host, auth_enabled=auth.enabled,
                   snmp_configured=cfg.snmp_port is None or bool(communities or users))
        if cfg.snmp_port is not None and not communities and not users:
            communities = ["public"]  # loopback only (check_bind): a first try on one machine
        if cfg.ingest not in ("direct", "inbox"):
            raise BadInput("--ingest", "must be direct or inbox", field="ingest")
        self.spool = Spool(cfg.spool_dir or "var/receiver/spool")
        self.registry = CollectorRegistry()
        self.worker = Worker(self.spool, self.rules, db_url=cfg.db_url, ingest=cfg.ingest,
                             batch_seconds=cfg.batch_seconds, batch_events=20_000)
        self.metrics = ReceiverMetrics(self.registry, spool=self.spool, worker=self.worker)
        self.worker.metrics = self.metrics
        limits = Limits(cfg.max_body_bytes, cfg.max_batch_events, cfg.rate_per_client, cfg.rate_per_source)
        try:
            self.http = make_server(cfg.host, cfg.http_port, spool=self.spool, metrics=self.metrics, auth=auth,
                                    limits=limits, ready_check=lambda: self.worker.last_error)
        except OSError as exc:
            raise BadInput("--http-port", f"cannot listen on {cfg.host}:{cfg.http_port} ({exc.strerror})",
                           field="http-port") from None
        self.http_port = self.http.server_address[1]
        self.traps = None
        if cfg.snmp_port is not None:
            self.traps = TrapListener(cfg.host, cfg.snmp_port, spool=self.spool, metrics=self.metrics,
                                      communities=communities, v3_users=users,
                                      rate_per_agent=cfg.rate_per_source)
        self.snmp_port: int | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker, the trap listener and the HTTP server threads."""
        if self.traps is not None:
            try:
                self.traps.start()
            except OSError as exc:
                self.http.server_close()
                raise BadInput("--snmp-port", f"cannot listen on UDP {self.cfg.host}:{self.cfg.snmp_port} "
                               f"({exc.strerror or exc})", field="snmp-port") from None
            self.snmp_port = self.traps.port
        for name, target in (("receiver-worker", self.worker.run), ("receiver-http", self.http.serve_forever)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop taking events, then let the worker store what is spooled (up to
        ``drain_seconds``; what is left stays in the spool for the next start)."""
        self.http.shutdown()
        self.http.server_close()
        if self.traps is not None:
            self.traps.stop()
        self.spool.rotate()
        deadline = threading.Event()
        timer = threading.Timer(drain_seconds, deadline.set)
        timer.start()
        while self.spool.closed() and not deadline.is_set() and self.worker.last_error is None:
            deadline.wait(0.1)
        timer.cancel()
        self.worker.stop.set()
        for t in self._threads:
            t.join(30)
        self.spool.close()


def run(cfg: ReceiverConfig, ready: Callable[[Receiver], None] | None = None) -> None:
    """Run until SIGTERM / SIGINT (then drain and stop)."""
    rec = Receiver(cfg)
    rec.start()
    done = threading.Event()

    def _stop(signum, frame) -> None:  # noqa: ARG001 - the signal module's signature
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if ready:
        ready(rec)
    done.wait()
    rec.stop()
