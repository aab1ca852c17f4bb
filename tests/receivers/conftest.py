"""Fixtures of the receiver tests: the five-site network stored, a running in-process receiver,
and a wait loop that fails loudly when it gives up."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV

VES = Path(__file__).parent / "ves"


def wait_for(pred: Callable[[], object], what: str, timeout: float = 120.0, step: float = 0.1):
    """Poll ``pred`` until it returns something truthy; fail naming ``what`` when it gives up."""
    deadline = time.monotonic() + timeout
    while True:
        out = pred()
        if out:
            return out
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def post(url: str, body: object, headers: dict | None = None, raw: bytes | None = None) -> tuple[int, dict]:
    """POST JSON; returns (status, decoded answer)."""
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def node_state(db_url: str, node: str) -> dict | None:
    from resilience import api

    return next((n for n in api.status(db_url=db_url)["nodes"] if n["node_id"] == node), None)


def link_state(db_url: str, link: str) -> dict | None:
    from resilience import api

    return next((x for x in api.status(db_url=db_url)["links"] if x["link_id"] == link), None)


@pytest.fixture
def network(db_url: str, tmp_path: Path) -> str:
    """The five-site network (C1, A1, B1-B3; L1-L5) stored in ``db_url``."""
    from resilience import api

    (tmp_path / "nodes.csv").write_text(KNOWN_NODES_CSV)
    (tmp_path / "links.csv").write_text(KNOWN_LINKS_CSV)
    api.ingest([tmp_path / "nodes.csv", tmp_path / "links.csv"], db_url=db_url)
    return db_url


@pytest.fixture
def start_receiver(tmp_path: Path):
    """Start in-process receivers (free ports, spool under tmp_path); all stopped at the end."""
    from resilience.receivers.service import Receiver, ReceiverConfig

    started = []

    def start(db_url: str, env: dict | None = None, **kw) -> Receiver:
        cfg = ReceiverConfig(host="127.0.0.1", http_port=0, snmp_port=kw.pop("snmp_port", None),
                             db_url=db_url, spool_dir=kw.pop("spool_dir", tmp_path / "spool"),
                             batch_seconds=0.1, **kw)
        rec = Receiver(cfg, env=env or {})
        rec.start()
        started.append(rec)
        return rec

    yield start
    for rec in started:
        rec.stop(drain_seconds=0)
