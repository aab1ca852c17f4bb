"""HTTP entry points: ``POST /alertmanager`` (webhook v4, Grafana too), ``POST /eventListener/v7``
(VES 7.x, single or batch; ``/eventListener/v7/eventBatch`` too), ``GET /metrics``, ``GET /healthz``.

An accepted body is answered only once its events are in the spool (fsync). A body that is not
valid is answered 400 with the reason (field names only, never payload text) and is itself kept
in the spool, so that the worker quarantines it. ``POST`` needs the bearer token or the basic
credentials when they are set (:class:`Auth`); bodies are limited in size and events per batch;
each client address has a token bucket (429 with ``Retry-After`` when it is empty: the sender
retries, nothing acknowledged is lost); each element name (VES ``sourceName``) has one too, and
the events of an element over its budget are coalesced by the worker (only its latest state per
round is stored) so that one flapping element cannot crowd out the rest.

Example
-------
>>> Auth(token="s3cret").check("Bearer s3cret"), Auth(token="s3cret").check("Bearer nope")
(True, False)
>>> Auth().check(None)
True
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from resilience.receivers.events import (
    PayloadError,
    invalid_record,
    split_alertmanager,
    split_ves,
)

__all__ = ["Auth", "TokenBuckets", "Limits", "make_server", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds loopback only.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("localhost")
    (True, True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Auth:
    """Bearer token and/or basic credentials (from ``RESILIENCE_RECEIVER_TOKEN``,
    ``RESILIENCE_RECEIVER_USER`` / ``RESILIENCE_RECEIVER_PASSWORD``); none set: open (loopback)."""

    token: str = ""
    user: str = ""
    password: str = ""

    @property
    def enabled(self) -> bool:
        """Whether any credential is set."""
        return bool(self.token or (self.user and self.password))

    @classmethod
    def from_env(cls, env=None) -> Auth:
        """The credentials of the environment."""
        import os

        env = os.environ if env is None else env
        return cls(env.get("RESILIENCE_RECEIVER_TOKEN", ""), env.get("RESILIENCE_RECEIVER_USER", ""),
                   env.get("RESILIENCE_RECEIVER_PASSWORD", ""))

    def check(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value is accepted (constant-time compares)."""
        if not self.enabled:
            return True
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if self.token and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if self.user and self.password and scheme.lower() == "basic":
            try:
                user, _, pw = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except ValueError:
                return False
            return hmac.compare_digest(user.encode(), self.user.encode()) & hmac.compare_digest(
                pw.encode(), self.password.encode())
        return False


class TokenBuckets:
    """Token buckets by key: ``rate`` tokens a second, up to ``burst``; bounded in keys.

    >>> tb = TokenBuckets(rate=1, burst=2)
    >>> tb.take("a", 2, now=0.0), tb.take("a", 1, now=0.0), tb.take("a", 1, now=1.0)
    (True, False, True)
    """

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000):
        self.rate, self.burst, self.max_keys = float(rate), float(burst), max_keys
        self._b: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, n: float = 1.0, now: float | None = None) -> bool:
        """Take ``n`` tokens for ``key`` if it has them."""
        if self.rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._b.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            ok = tokens >= n
            if ok:
                tokens -= n
            if key not in self._b and len(self._b) >= self.max_keys:
                self._b.clear()  # a flood of new keys: start over rather than grow
            self._b[key] = (tokens, now)
            return ok

    def wait_seconds(self, key: str, n: float = 1.0) -> int:
        """Seconds until ``n`` tokens are there (for ``Retry-After``)."""
        tokens, _ = self._b.get(key, (0.0, 0.0))
        return max(1, int((n - tokens) / self.rate + 0.999)) if self.rate > 0 else 1


@dataclass(frozen=True)
class Limits:
    """Body size, events per request, client and element rates (events per second)."""

    max_body_bytes: int = 1024 * 1024
    max_batch_events: int = 1000
    rate_per_client: float = 5000.0
    rate_per_source: float = 50.0


def _json(handler: BaseHTTPRequestHandler, code: int, payload: dict, headers: dict | None = None) -> None:
    body = json.dumps(payload).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("X-Content-Type-Options", "nosniff")
    handler.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


def make_server(host: str, port: int, *, spool, metrics, auth: Auth, limits: Limits,
                ready_check=None) -> ThreadingHTTPServer:
    """The receiver's HTTP server (not started: call ``serve_forever`` in a thread)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    clients = TokenBuckets(limits.rate_per_client, max(limits.rate_per_client, limits.max_batch_events))
    sources = TokenBuckets(limits.rate_per_source, limits.rate_per_source * 10)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "resilience-receiver"
        sys_version = ""

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
            return  # no payload-derived text in logs; metrics count the requests

        def _done(self, endpoint: str, code: int, payload: dict, headers: dict | None = None) -> None:
            metrics.requests.labels(endpoint, str(code)).inc()
            _json(self, code, payload, headers)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body = generate_latest(metrics.registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path == "/healthz":
                problem = ready_check() if ready_check else None
                self._done("healthz", 503 if problem else 200,
                           {"status": "degraded" if problem else "ok", **({"problem": problem} if problem else {})})
            else:
                self._done("other", 404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0].rstrip("/")
            endpoint = {"/alertmanager": "alertmanager", "/eventListener/v7": "ves",
                        "/eventListener/v7/eventBatch": "ves"}.get(path)
            if endpoint is None:
                self.close_connection = True
                return self._done("other", 404, {"error": "not found"})
            if not auth.check(self.headers.get("Authorization")):
                self.close_connection = True
                return self._done(endpoint, 401, {"error": "authentication required"},
                                  {"WWW-Authenticate": 'Bearer realm="resilience"' if auth.token
                                   else 'Basic realm="resilience"'})
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self.close_connection = True
                return self._done(endpoint, 411, {"error": "Content-Length required"})
            peer = self.client_address[0]
            rx = time.time()
            if length > limits.max_body_bytes or length < 0:
                self.close_connection = True  # the body is not read: drop the connection after
                head = self.rfile.read(min(max(length, 0), 4096))
                reason = f"body of {length} bytes, more than the limit {limits.max_body_bytes}"
                self._keep(endpoint, reason, head, peer, rx)
                return self._done(endpoint, 413, {"error": reason})
            body = self.rfile.read(length)
            if not clients.take(peer, 1):
                metrics.outcome(endpoint, "rate_limited")
                return self._done(endpoint, 429, {"error": "too many requests from this client"},
                                  {"Retry-After": str(clients.wait_seconds(peer))})
            try:
                doc = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return self._refuse(endpoint, "body: not JSON", body, peer, rx)
            try:
                if endpoint == "alertmanager":
                    records, _ = split_alertmanager(doc, peer=peer, rx=rx)
                    if len(records) > limits.max_batch_events:
                        raise PayloadError(f"alerts: {len(records)} alerts, more than the batch limit "
                                           f"{limits.max_batch_events}")
                else:
                    records = split_ves(doc, peer=peer, rx=rx, max_events=limits.max_batch_events)
            except PayloadError as exc:
                return self._refuse(endpoint, str(exc), body, peer, rx)
            for r in records:  # an element over its budget: coalesced by the worker
                name = ((r["e"].get("commonEventHeader") or {}).get("sourceName") if endpoint == "ves"
                        else None)
                if name and not sources.take(f"ves:{name}", 1):
                    r["rl"] = 1
            if not self._spool(endpoint, records):
                return
            metrics.accepted(endpoint, len(records))
            coalesced = sum(1 for r in records if r.get("rl"))
            if coalesced:
                metrics.outcome(endpoint, "coalesced", coalesced)
            self._done(endpoint, 202 if endpoint == "ves" else 200, {"accepted": len(records)})

        def _spool(self, endpoint: str, records: list[dict]) -> bool:
            from resilience.receivers.spool import SpoolError

            try:
                spool.append(records)
                return True
            except SpoolError:
                self._done(endpoint, 503, {"error": "spool unavailable: not accepted, retry later"},
                           {"Retry-After": "5"})
                return False

        def _keep(self, endpoint: str, reason: str, body: bytes, peer: str, rx: float) -> bool:
            metrics.outcome(endpoint, "invalid")
            from resilience.receivers.spool import SpoolError

            try:
                spool.append([invalid_record(endpoint, reason, body, peer=peer, rx=rx)])
                return True
            except SpoolError:
                return False

        def _refuse(self, endpoint: str, reason: str, body: bytes, peer: str, rx: float) -> None:
            self._keep(endpoint, reason, body, peer, rx)
            self._done(endpoint, 400, {"error": reason})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
