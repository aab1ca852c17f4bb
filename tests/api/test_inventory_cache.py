"""The inventory cache beside an SQLite store (issue 16): ``load_model`` in a fresh process reads
the compiled inventory (and, when it must compile, the nodes and links frames) from Arrow files
named by the store's inventory mark instead of the tables, and any inventory change (a feed file,
a ``set-kind``) gives a new mark, so a stale cache is never read; one that cannot be read is
compiled again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from resilience import api
from resilience.api.state import _inventory_cache_dir
from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV
from resilience.store.inventory_cache import read_arrays, write_arrays
from resilience.topology.compiled import (
    CompiledInventory,
    CSRGraph,
    compile_inventory,
    compile_network,
)

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


def _assert_same_model(model: CSRGraph, fresh: CSRGraph) -> None:
    """Every field of two compiled models is equal (values and dtypes)."""
    assert model.nodes == fresh.nodes and model.links == fresh.links
    for f in _ARRAYS:
        np.testing.assert_array_equal(getattr(model, f), getattr(fresh, f), err_msg=f)
        assert getattr(model, f).dtype == getattr(fresh, f).dtype, f
        assert getattr(model, f).flags.writeable, f  # the model owns its arrays
    assert model.weight_is_int == fresh.weight_is_int
    assert model.graph == fresh.graph
    for a, b in zip(model.srlg_groups, fresh.srlg_groups, strict=True):
        np.testing.assert_array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    np.testing.assert_array_equal(model.link_medium, fresh.link_medium)
    for key in ("kind", "operator", "prefecture", "municipality", "power_feed", "state", "power"):
        np.testing.assert_array_equal(model.attrs.codes[key], fresh.attrs.codes[key], err_msg=key)
        np.testing.assert_array_equal(model.attrs.categories[key], fresh.attrs.categories[key], err_msg=key)
    for key in ("lat", "lon", "battery_hours", "battery_remaining_min"):
        np.testing.assert_array_equal(model.attrs.numbers[key], fresh.attrs.numbers[key], err_msg=key)
    np.testing.assert_array_equal(model.attrs.observed_us, fresh.attrs.observed_us)
    np.testing.assert_array_equal(model.attrs.fresh, fresh.attrs.fresh)
    for key in ("name", "subscribers", "kind", "operator", "state", "power", "lat", "battery_remaining_min",
                "observed_at", "fresh"):
        assert model.read_node(key).tolist() == fresh.read_node(key).tolist(), key


def _assert_uncached_equal(url: str) -> None:
    """``load_model`` (through the cache) equals the model compiled from the tables read now."""
    model = api.load_model(db_url=url)
    s = api.load_state(db_url=url)
    fresh = compile_network(s["nodes"], s["links"], s["node_status"], s["link_status"], s["power_status"])
    _assert_same_model(model, fresh)


def _compiled(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "r.db.cache").glob("compiled-*.arrow"))


def test_cache_is_written_once_and_read_back(tmp_path):
    url = _store(tmp_path)
    _assert_uncached_equal(url)
    files = _compiled(tmp_path)
    assert len(files) == 1  # the compiled inventory only (no copy of the frames beside it)
    assert sorted(p.name for p in (tmp_path / "r.db.cache").iterdir()) == files
    mtimes = [(tmp_path / "r.db.cache" / f).stat().st_mtime_ns for f in files]
    _assert_uncached_equal(url)  # a hit: the same file, not rewritten
    assert _compiled(tmp_path) == files
    assert [(tmp_path / "r.db.cache" / f).stat().st_mtime_ns for f in files] == mtimes


def test_frames_kept_by_earlier_versions_are_removed(tmp_path):
    url = _store(tmp_path)
    (tmp_path / "r.db.cache").mkdir()
    old = tmp_path / "r.db.cache" / "inventory-0123456789abcdef01234567-nodes.arrow"
    old.write_bytes(b"frames of an earlier version")
    api.load_model(db_url=url)
    assert not old.exists() and len(_compiled(tmp_path)) == 1


def test_set_kind_invalidates_the_cache(tmp_path):
    url = _store(tmp_path)
    before = api.load_model(db_url=url)
    old = _compiled(tmp_path)
    api.set_kind(["A1"], "core", db_url=url)
    after = api.load_model(db_url=url)
    assert [before.nodes[i] for i in before.roots] == ["C1"]
    assert sorted(after.nodes[i] for i in after.roots) == ["A1", "C1"]
    assert len(_compiled(tmp_path)) == 1 and not set(old) & set(_compiled(tmp_path))  # old removed
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
    for f in _compiled(tmp_path):
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


def test_compiled_inventory_is_kept_and_read_back(tmp_path, monkeypatch):
    url = _store(tmp_path)
    _assert_uncached_equal(url)  # the first load compiles and keeps the inventory
    kept = _compiled(tmp_path)
    assert len(kept) == 1
    mtime = (tmp_path / "r.db.cache" / kept[0]).stat().st_mtime_ns

    def no_compile(*args, **kwargs):
        raise AssertionError("the inventory was compiled again")

    monkeypatch.setattr("resilience.topology.compiled.compile_inventory", no_compile)
    monkeypatch.setattr("resilience.store.repo.load_inventory", no_compile)  # tables not read either
    hit = api.load_model(db_url=url)
    monkeypatch.undo()
    s = api.load_state(db_url=url)
    _assert_same_model(hit, compile_network(s["nodes"], s["links"], s["node_status"], s["link_status"],
                                            s["power_status"]))
    assert _compiled(tmp_path) == kept and (tmp_path / "r.db.cache" / kept[0]).stat().st_mtime_ns == mtime


def test_state_changes_are_read_on_a_cache_hit(tmp_path):
    url = _store(tmp_path)
    api.load_model(db_url=url)
    d = tmp_path / "in2"
    d.mkdir()
    (d / "link_status.csv").write_text("observed_at,link_id,state\n2024-01-01T16:20:00+09:00,L1,down\n"
                                       "2024-01-01T16:25:00+09:00,L2,up\n")
    api.ingest([d / "link_status.csv"], db_url=url)
    kept = _compiled(tmp_path)
    model = api.load_model(db_url=url)
    assert _compiled(tmp_path) == kept  # a status feed leaves the inventory's mark alone
    assert not model.link_up[model.links.index("L1")] and model.link_up[model.links.index("L2")]
    assert str(model.graph["newest_observed"]) == "2024-01-01 07:25:00+00:00"  # links up count too
    _assert_uncached_equal(url)


def test_set_kind_replaces_the_compiled_inventory(tmp_path):
    url = _store(tmp_path)
    api.load_model(db_url=url)
    old = _compiled(tmp_path)
    api.set_kind(["A1"], "core", db_url=url)
    after = api.load_model(db_url=url)
    assert sorted(after.nodes[i] for i in after.roots) == ["A1", "C1"]
    assert len(_compiled(tmp_path)) == 1 and _compiled(tmp_path) != old  # old removed
    _assert_uncached_equal(url)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_lengths"])
def test_unreadable_compiled_inventory_falls_back(tmp_path, damage):
    url = _store(tmp_path)
    api.load_model(db_url=url)
    path = tmp_path / "r.db.cache" / _compiled(tmp_path)[0]
    if damage == "garbage":
        path.write_bytes(b"not arrow")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:  # readable, but its arrays do not fit together
        mark = path.stem.split("-")[-1]
        arrays = dict(read_arrays(path.parent, mark))
        arrays["eu"] = arrays["eu"][:1]
        write_arrays(path.parent, mark, arrays)
    _assert_uncached_equal(url)


def test_compiled_inventory_round_trip_equals_a_fresh_compile(tmp_path):
    url = _store(tmp_path)
    s = api.load_state(db_url=url)
    inv = compile_inventory(s["nodes"], s["links"])
    write_arrays(tmp_path, "m", inv.to_arrays())
    again = CompiledInventory.from_arrays(read_arrays(tmp_path, "m"))
    status = (s["node_status"], s["link_status"], s["power_status"])
    _assert_same_model(compile_network(None, None, *status, inventory=again),
                       compile_network(s["nodes"], s["links"], *status))


def test_an_inventory_of_other_values_than_text_is_not_kept():
    inv = compile_inventory([{"node_id": "C", "kind": "core", "operator": 7}], [])
    assert inv.to_arrays() is None
