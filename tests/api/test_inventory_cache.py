"""The inventory cache beside an SQLite store (issue 16): ``load_model`` in a fresh process reads
the nodes and links frames from Arrow files named by the store's inventory mark instead of the
tables, and any inventory change (a feed file, a ``set-kind``) gives a new mark, so a stale cache
is never read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine

from resilience import api
from resilience.api.state import _inventory_cache_dir
from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV
from resilience.topology.compiled import compile_network

_ARRAYS = ("eu", "ev", "indptr", "nbr", "eid", "node_up", "link_up", "roots", "weight")


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/r.db"
    api.init(url)
    d = tmp_path / "in"
    d.mkdir()
    (d / "nodes.csv").write_text(KNOWN_NODES_CSV)
    (d / "links.csv").write_text(KNOWN_LINKS_CSV)
    (d / "status.csv").write_text(
        "observed_at,node_id,state,power,battery_remaining_min\n"
        "2024-01-01T16:00:00+09:00,B1,down,none,0\n2024-01-01T16:00:00+09:00,B3,up,battery,45\n")
    api.ingest([d / f for f in ("nodes.csv", "links.csv", "status.csv")], db_url=url)
    return url


def _assert_uncached_equal(url: str) -> None:
    """``load_model`` (through the cache) equals the model compiled from the tables read now."""
    model = api.load_model(db_url=url)
    s = api.load_state(db_url=url)
    fresh = compile_network(s["nodes"], s["links"], s["node_status"], s["link_status"], s["power_status"])
    assert model.nodes == fresh.nodes and model.links == fresh.links
    for f in _ARRAYS:
        np.testing.assert_array_equal(getattr(model, f), getattr(fresh, f), err_msg=f)
    for key in ("kind", "operator", "state"):
        np.testing.assert_array_equal(model.attrs.label(key), fresh.attrs.label(key), err_msg=key)


def _cached(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "r.db.cache").glob("inventory-*.arrow"))


def test_cache_is_written_once_and_read_back(tmp_path):
    url = _store(tmp_path)
    _assert_uncached_equal(url)
    files = _cached(tmp_path)
    assert len(files) == 2  # nodes and links
    mtimes = [(tmp_path / "r.db.cache" / f).stat().st_mtime_ns for f in files]
    _assert_uncached_equal(url)  # a hit: the same files, not rewritten
    assert _cached(tmp_path) == files
    assert [(tmp_path / "r.db.cache" / f).stat().st_mtime_ns for f in files] == mtimes


def test_set_kind_invalidates_the_cache(tmp_path):
    url = _store(tmp_path)
    before = api.load_model(db_url=url)
    old = _cached(tmp_path)
    api.set_kind(["A1"], "core", db_url=url)
    after = api.load_model(db_url=url)
    assert [before.nodes[i] for i in before.roots] == ["C1"]
    assert sorted(after.nodes[i] for i in after.roots) == ["A1", "C1"]
    assert len(_cached(tmp_path)) == 2 and not set(old) & set(_cached(tmp_path))  # old removed
    _assert_uncached_equal(url)


def test_inventory_feed_invalidates_the_cache(tmp_path):
    url = _store(tmp_path)
    api.load_model(db_url=url)
    d = tmp_path / "in2"
    d.mkdir()
    (d / "nodes.csv").write_text(KNOWN_NODES_CSV.replace("Wajima 3,37.42,136.93,Ishikawa,Wajima,400",
                                                         "Wajima 3,37.42,136.93,Ishikawa,Wajima,900"))
    (d / "links.csv").write_text(KNOWN_LINKS_CSV + "L6,B2,B3,fiber,1000,R2\n")
    api.ingest([d / "nodes.csv", d / "links.csv"], db_url=url)
    model = api.load_model(db_url=url)
    assert model.weight[model.nodes.index("B3")] == 900
    assert "L6" in model.links
    _assert_uncached_equal(url)


def test_unreadable_cache_falls_back_to_the_tables(tmp_path):
    url = _store(tmp_path)
    api.load_model(db_url=url)
    for f in _cached(tmp_path):
        (tmp_path / "r.db.cache" / f).write_bytes(b"not arrow")
    _assert_uncached_equal(url)


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////data/r.db", "/data/r.db.cache"),
    ("sqlite://", None),
    ("sqlite:///:memory:", None),
    ("postgresql+psycopg://u@localhost:5432/r", None),
])
def test_cache_only_beside_an_sqlite_file(url, expected):
    assert _inventory_cache_dir(create_engine(url)) == expected


def test_cache_frames_keep_the_dtypes(tmp_path):
    url = _store(tmp_path)
    api.load_model(db_url=url)
    from resilience.store.engine import make_engine
    from resilience.store.repo import load_inventory

    with make_engine(url).connect() as conn:
        cached = load_inventory(conn, tmp_path / "r.db.cache")
    tables = api.load_state(db_url=url)
    for name in ("nodes", "links"):
        pd.testing.assert_frame_equal(cached[name], tables[name])
