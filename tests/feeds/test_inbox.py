"""The inbox: safe claiming (no symlinks, no escaping paths, no half-written files), atomic moves
to processed/ or rejected/ (with a reason), idempotent re-runs, and the ingest step over it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resilience.api import ingest_inbox
from resilience.feeds import inbox as ib
from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES

STATUS = (
    "observed_at,node_id,state,power,battery_remaining_min\n"
    "2024-01-03T09:00:00+09:00,B1,down,none,0\n"
    "2024-01-03T09:00:00+09:00,B2,up,battery,90\n"
)


def _drop(inbox: Path, name: str, text: str, age: float = 60.0) -> Path:
    """Write a file the way a well-behaved sender does (temporary name, then rename), aged."""
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    path = inbox / name
    os.replace(tmp, path)
    old = path.stat().st_mtime - age
    os.utime(path, (old, old))
    return path


@pytest.fixture
def inbox(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path / "home"))  # archive under tmp, not the repo
    return tmp_path / "inbox"


def test_claims_settled_files_and_leaves_in_progress_ones(inbox):
    a = _drop(inbox, "a.csv", "x")
    for name in ("b.csv.part", "c.tmp", ".hidden.csv", "d.csv~"):
        _drop(inbox, name, "x")
    (inbox / "subdir").mkdir()
    got = ib.claim(inbox, "run-1", settle_seconds=0)
    assert [p.name for p in got] == ["a.csv"]
    assert got[0].parent == ib.claim_dir(inbox, "run-1") and not a.exists()
    left = sorted(p.name for p in inbox.iterdir())
    assert {"b.csv.part", "c.tmp", ".hidden.csv", "d.csv~", "subdir"} <= set(left)


def test_a_file_still_growing_waits(inbox, monkeypatch):
    path = _drop(inbox, "growing.csv", "x", age=0)

    def writer_keeps_writing(_seconds):  # the settle sleep: the sender appends meanwhile
        with path.open("a") as fh:
            fh.write("more")

    monkeypatch.setattr(ib.time, "sleep", writer_keeps_writing)
    assert ib.claim(inbox, "run-1", settle_seconds=5) == []
    assert path.exists()
    monkeypatch.setattr(ib.time, "sleep", lambda _s: None)
    assert [p.name for p in ib.claim(inbox, "run-2", settle_seconds=5)] == ["growing.csv"]


def test_a_fresh_file_is_only_taken_after_the_settle_time(inbox, monkeypatch):
    _drop(inbox, "fresh.csv", "x", age=0)
    slept: list[float] = []
    monkeypatch.setattr(ib.time, "sleep", slept.append)
    assert len(ib.claim(inbox, "r", settle_seconds=3)) == 1
    assert slept == [3]


def test_symlinks_are_refused_and_their_target_never_touched(inbox, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(CONTRACT_NODES)
    inbox.mkdir()
    (inbox / "evil.csv").symlink_to(secret)
    assert ib.claim(inbox, "run-1", settle_seconds=0) == []
    rejected = list((inbox / ib.REJECTED).iterdir())
    link = next(p for p in rejected if p.name.endswith("evil.csv"))
    assert link.is_symlink() and secret.read_text() == CONTRACT_NODES
    reason = link.with_name(link.name + ".reason.txt").read_text()
    assert "symbolic link refused" in reason


@pytest.mark.parametrize("name", ["../x.csv", "/etc/passwd", "a/../../x.csv", "", " "])
def test_paths_escaping_the_inbox_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="outside"):
        ib.inside(tmp_path, name)


def test_a_link_inside_pointing_outside_is_refused(tmp_path):
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "out").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="outside"):
        ib.inside(tmp_path / "box", "out/x.csv")
    assert ib.inside(tmp_path / "box", "sub/x.csv") == tmp_path / "box" / "sub" / "x.csv"


def test_settle_refuses_a_path_outside_the_inbox(inbox, tmp_path):
    inbox.mkdir()
    other = tmp_path / "other.csv"
    other.write_text("x")
    with pytest.raises(ValueError, match="outside"):
        ib.settle(inbox, other, ok=True)
    assert other.exists()


def test_claim_and_settle_are_idempotent(inbox):
    _drop(inbox, "a.csv", "x")
    first = ib.claim(inbox, "run-1", settle_seconds=0)
    assert ib.claim(inbox, "run-1", settle_seconds=0) == first  # a retried try gets them again
    assert ib.claim(inbox, "run-2", settle_seconds=0) == []  # nobody else does
    dest = ib.settle(inbox, first[0], ok=False, reason="bad header")
    assert dest.parent == inbox / ib.REJECTED
    assert dest.with_name(dest.name + ".reason.txt").read_text() == "bad header\n"
    assert ib.settle(inbox, first[0], ok=False, reason="bad header") is None
    assert len(list((inbox / ib.REJECTED).iterdir())) == 2  # the file and its reason, once
    ib.release(inbox, "run-1")
    assert not ib.claim_dir(inbox, "run-1").exists()


def test_same_name_twice_keeps_both(inbox):
    for _ in range(2):
        _drop(inbox, "status.csv", STATUS)
        (p,) = ib.claim(inbox, "r", settle_seconds=0)
        ib.settle(inbox, p, ok=True)
    assert len(list((inbox / ib.PROCESSED).iterdir())) == 2


def test_claim_ids_become_safe_folder_names(tmp_path):
    d = ib.claim_dir(tmp_path, "scheduled__2024-01-03T00:00:00+00:00/../../x")
    assert d.parent == tmp_path / ib.CLAIMED and "/" not in d.name and ".." not in d.name


def test_ingest_inbox_files_everything_away(inbox, db_url):
    from resilience import api

    _drop(inbox, "nodes.csv", CONTRACT_NODES, age=120)
    _drop(inbox, "links.csv", CONTRACT_LINKS, age=110)
    _drop(inbox, "status.csv", STATUS, age=100)
    (inbox / "junk.csv").write_bytes(b"\x00\x01garbage" * 50)
    os.utime(inbox / "junk.csv", (0, 0))
    _drop(inbox, "all_bad.csv", STATUS.replace("B1,down", "NOPE,down").replace("B2,up", "NOPE2,up"), age=90)
    out = ingest_inbox(inbox, "run-1", db_url=db_url, settle_seconds=0)
    assert {f["path"] for f in out["files"]} == {"nodes.csv", "links.csv", "status.csv"}
    assert {r["path"] for r in out["rejected"]} == {"junk.csv", "all_bad.csv"}
    assert out["changed"] and out["files_new"] == 3 and out["rows_accepted"] == 12
    assert out["rows_quarantined"] == 2
    assert not [p for p in inbox.iterdir() if p.is_file()]
    assert not (inbox / ib.CLAIMED / "run-1").exists()
    reasons = [p.read_text() for p in (inbox / ib.REJECTED).glob("*.reason.txt")]
    assert any("junk.csv" in r and "binary" in r for r in reasons)
    assert any("all 2 rows quarantined" in r for r in reasons)
    assert len(list((inbox / ib.PROCESSED).iterdir())) == 3
    assert api.load_state(db_url=db_url)["node_status"].shape[0] == 2

    # The same file delivered again: stored already, filed away, nothing changed.
    _drop(inbox, "status-again.csv", STATUS)
    again = ingest_inbox(inbox, "run-2", db_url=db_url, settle_seconds=0)
    assert not again["changed"] and again["files"][0]["already_ingested"]
    # Nothing there: nothing happens.
    assert ingest_inbox(inbox, "run-3", db_url=db_url, settle_seconds=0)["files"] == []


def test_a_retry_carries_on_with_the_files_not_yet_filed(inbox, tmp_path, monkeypatch):
    from resilience import api
    from resilience.api import feeds as api_feeds  # where ingest_inbox finds ingest

    db_url = f"sqlite:///{tmp_path}/r.db"
    _drop(inbox, "nodes.csv", CONTRACT_NODES, age=120)
    _drop(inbox, "links.csv", CONTRACT_LINKS, age=110)
    real = api.ingest
    calls = {"n": 0}

    def crash_after_first_file(paths, **kw):
        def on_file(res):
            kw_on_file(res)
            calls["n"] += 1
            if calls["n"] == 1:
                raise OSError("disk went away")

        kw_on_file = kw.pop("on_file")
        return real(paths, on_file=on_file, **kw)

    monkeypatch.setattr(api_feeds, "ingest", crash_after_first_file)
    with pytest.raises(OSError):
        ingest_inbox(inbox, "run-1", db_url=db_url, settle_seconds=0)
    assert [p.name for p in ib.claimed(inbox, "run-1")] == ["links.csv"]
    out = ingest_inbox(inbox, "run-1", db_url=db_url, settle_seconds=0, claim_new=False)
    assert [f["path"] for f in out["files"]] == ["links.csv"] and out["changed"]
    assert api.load_state(db_url=db_url)["links"].shape[0] == 5


def test_files_of_a_dead_claim_are_adopted(inbox):
    _drop(inbox, "a.csv", "x")
    ib.claim(inbox, "dead-run", settle_seconds=0)
    assert [p.name for p in ib.adopt(inbox, "next-run")] == ["a.csv"]
    assert not ib.claim_dir(inbox, "dead-run").exists()
    assert ib.adopt(inbox, "next-run") == ib.claimed(inbox, "next-run")
