"""The exporter's HTTP side: a WSGI app with ``/metrics`` and ``/healthz``, and a threaded server.

``/metrics`` is the text exposition of two registries: the *domain* registry (collectors whose
output depends only on the snapshot; rendered, and gzip-compressed, once per snapshot and then
served from memory) followed by the *live* registry (exporter health and snapshot age, rendered
per request; a few lines). A gzip response is two concatenated gzip members, which HTTP clients
(Prometheus, curl, requests) decode as one body.

``/healthz`` answers JSON: ``{"status", "snapshot_id", "snapshot_age_seconds", "db_reachable",
"last_success_timestamp", "last_error"}``; HTTP 200 while a snapshot is being served (even a stale
one, flagged), 503 when none was ever read. ``status`` and ``last_error`` are one readable line
each (never SQL or a traceback): ``ok``, ``no snapshot``, ``stale: database ... is missing ...``.

Example
-------
>>> from datetime import UTC, datetime
>>> from wsgiref.util import setup_testing_defaults
>>> from resilience.exporter.model import ExporterSnapshot
>>> from resilience.exporter.source import CachedSource
>>> snap = ExporterSnapshot(id=1, as_of=datetime.now(UTC), created_at=datetime.now(UTC))
>>> app = ExporterApp(CachedSource(lambda: snap))
>>> env = {"PATH_INFO": "/metrics"}; setup_testing_defaults(env)
>>> body = b"".join(app(env, lambda status, headers: None))
>>> b"resilience_snapshot_id 1.0" in body
True
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from resilience.exporter.collectors import ScrapeStats, register_collectors
from resilience.exporter.source import CachedSource, DatabaseSource, reader_engine

__all__ = ["ExporterApp", "ThreadingWSGIServer", "make_exporter", "start_server", "serve"]

log = logging.getLogger(__name__)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref server handling each request in its own (daemon) thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature of the base class
        log.debug("%s - %s", self.address_string(), format % args)


class ExporterApp:
    """WSGI application serving ``/metrics`` and ``/healthz`` for a snapshot source.

    Parameters
    ----------
    source
        A :class:`CachedSource` (anything with ``state()``).
    domain_registry, live_registry
        Registries to use; fresh ones are created and filled by default.

    Example
    -------
    >>> from resilience.exporter.source import CachedSource
    >>> app = ExporterApp(CachedSource(lambda: None))
    >>> app.health()["status"]
    'no snapshot'
    """

    def __init__(self, source: CachedSource, domain_registry: CollectorRegistry | None = None,
                 live_registry: CollectorRegistry | None = None,
                 restoration: Callable[[], dict | None] | None = None,
                 hardening: Callable[[], dict | None] | None = None) -> None:
        self.source = source
        self.stats = ScrapeStats()
        self._lock = threading.Lock()
        if domain_registry is None:
            domain_registry = CollectorRegistry()
            register_collectors(source, domain_registry, live=False)
        if live_registry is None:
            live_registry = CollectorRegistry()
            register_collectors(source, live_registry, self.stats, domain=False,
                                restoration=restoration, hardening=hardening)
        self.domain_registry = domain_registry
        self.live_registry = live_registry
        self._cache: tuple[object, bytes, bytes] | None = None  # (snapshot, text, gzip)

    def _domain(self, snap) -> tuple[bytes, bytes]:
        cache = self._cache
        if cache is not None and cache[0] is snap:
            return cache[1], cache[2]
        with self._lock:  # one render per snapshot, however many scrapers arrive together
            cache = self._cache
            if cache is not None and cache[0] is snap:
                return cache[1], cache[2]
            text = generate_latest(self.domain_registry) if snap is not None else b""
            gz = gzip.compress(text, compresslevel=6, mtime=0) if text else b""
            self._cache = (snap, text, gz)
            return text, gz

    def metrics(self, accept_gzip: bool = False) -> bytes:
        """The ``/metrics`` body (gzip members if ``accept_gzip``)."""
        start = time.perf_counter()
        snap = self.source.state().snapshot
        text, gz = self._domain(snap)
        live = generate_latest(self.live_registry)
        body = (gz + gzip.compress(live, compresslevel=1, mtime=0)) if accept_gzip else text + live
        self.stats.scrapes += 1
        self.stats.last_scrape_seconds = time.perf_counter() - start
        return body

    def health(self) -> dict:
        """The ``/healthz`` document."""
        st = self.source.state()
        snap = st.snapshot
        age = None if snap is None else max(0.0, time.time() - snap.as_of.timestamp())
        if snap is None:
            status = "no snapshot" + (f": {st.last_error}" if st.last_error else "")
        else:
            status = "ok" if st.up else f"stale: {st.last_error or 'database unreachable'}"
        return {
            "status": status,
            "snapshot_id": None if snap is None else snap.id,
            "snapshot_as_of": None if snap is None else snap.as_of.isoformat(),
            "snapshot_age_seconds": age,
            "db_reachable": st.up,
            "last_success_timestamp": st.last_success or None,
            "last_error": st.last_error or None,
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET")])
            return [b"method not allowed\n"]
        if path == "/metrics":
            gz = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
            body = self.metrics(accept_gzip=gz)
            headers = [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
            if gz:
                headers.append(("Content-Encoding", "gzip"))
            start_response("200 OK", headers)
            return [body]
        if path == "/healthz":
            doc = self.health()
            body = json.dumps(doc).encode()
            status = "200 OK" if doc["snapshot_id"] is not None else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/":
            body = (b"<html><head><title>resilience exporter</title></head><body>"
                    b"<h1>resilience exporter</h1><p><a href='/metrics'>/metrics</a> "
                    b"<a href='/healthz'>/healthz</a></p></body></html>")
            start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]


def make_exporter(db_url: str, top_n: int = 50, max_sites_out: int = 2000, ttl: float = 5.0,
                  label_limits: Mapping[str, int] | None = None) -> ExporterApp:
    """An :class:`ExporterApp` over the store at ``db_url`` (read only: a SQLite file must exist).

    Raises
    ------
    BadInput
        ``db_url`` names a SQLite file that does not exist (it is never created).

    Example
    -------
    >>> app = make_exporter("sqlite://")
    >>> app.health()["db_reachable"]
    False
    """
    from resilience.exporter.hardening import HardeningPlanFiles
    from resilience.exporter.source import RestorationPlanFiles
    from resilience.settings import load_settings

    settings = load_settings()
    engine = reader_engine(db_url)
    return ExporterApp(CachedSource(DatabaseSource(engine, top_n=top_n, max_sites_out=max_sites_out,
                                                   label_limits=label_limits), ttl=ttl),
                       restoration=RestorationPlanFiles(settings.path(settings.restoration_dir)),
                       hardening=HardeningPlanFiles(settings.path(settings.hardening_dir)))


def start_server(app: ExporterApp, host: str = "127.0.0.1", port: int = 9108
                 ) -> tuple[ThreadingWSGIServer, threading.Thread]:
    """Serve ``app`` on ``host:port`` in a background thread; ``server.shutdown()`` stops it.

    Example
    -------
    >>> from resilience.exporter.source import CachedSource
    >>> server, thread = start_server(ExporterApp(CachedSource(lambda: None)), port=0)
    >>> server.server_port > 0
    True
    >>> server.shutdown(); server.server_close()
    """
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="resilience-exporter", daemon=True)
    thread.start()
    return server, thread


def serve(db_url: str, host: str = "127.0.0.1", port: int = 9108, top_n: int = 50,
          max_sites_out: int = 2000, ttl: float = 5.0, label_limits: Mapping[str, int] | None = None,
          ready: Callable[[ThreadingWSGIServer], None] | None = None) -> None:
    """Run the exporter in the foreground until interrupted (``resilience serve``).

    ``ready`` is called with the bound server before serving (the CLI prints the address).

    Raises
    ------
    BadInput
        A SQLite database file that does not exist (nothing is created).
    """
    app = make_exporter(db_url, top_n=top_n, max_sites_out=max_sites_out, ttl=ttl,
                        label_limits=label_limits)
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    log.info("resilience exporter on http://%s:%d/metrics", host, server.server_port)
    if ready is not None:
        ready(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
