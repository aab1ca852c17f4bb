"""Quarantine replay on SQLite and PostgreSQL: rows keep their whole record; `quarantine retry`
stores the rows that now pass through the same validation and store path as ingest (history
rules included) and marks them resolved (never deleted); rows that still fail stay open with a
refreshed reason; `ingest --force` re-reads an archived file; archives follow the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from resilience.feeds.ingest import ingest_file, retry_quarantine
from resilience.store import tables as t
from tests.conftest import CONTRACT_NODES

STATUS_HEADER = "observed_at,node_id,state,power,battery_remaining_min"
NOW = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)  # the retries' own moment (after every status time)


def _ingest(engine, path, **kw):
    return ingest_file(engine, path, now=NOW, **kw)


def _recent() -> str:
    """A status time an hour before the test's own moment (for the CLI, which reads the clock)."""
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _quarantine(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.quarantine).order_by(t.quarantine.c.id)).mappings()]


def _history(engine) -> list[tuple]:
    h = t.node_status_history
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(h.c.node_id, h.c.state, h.c.observed_at).order_by(h.c.node_id, h.c.observed_at))]


def _current(engine) -> dict[str, tuple]:
    s = t.node_status
    with engine.connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(select(s.c.node_id, s.c.state, s.c.observed_at))}


def test_a_quarantined_row_keeps_its_whole_record(engine, tmp_path):
    p = _write(tmp_path, "status.csv", f"{STATUS_HEADER}\n2024-01-01T10:00:00+09:00,B1,down,none,0\n")
    _ingest(engine, p)
    (q,) = _quarantine(engine)
    assert (q["row_kind"], q["status"], q["retries"], q["resolved_at"]) == ("node_status", "open", 0, None)
    assert json.loads(q["record"]) == {"observed_at": "2024-01-01T10:00:00+09:00", "node_id": "B1",
                                       "state": "down", "power": "none", "battery_remaining_min": "0"}


def test_status_that_arrived_before_its_node_is_stored_by_retry(engine, tmp_path):
    status = _write(tmp_path, "status.csv", f"{STATUS_HEADER}\n2024-01-01T10:00:00+09:00,B1,down,none,0\n"
                                            "2024-01-01T10:00:00+09:00,B2,up,grid,\n")
    r = _ingest(engine, status)
    assert (r.accepted, r.quarantined) == (0, 2)
    assert "unknown node" in _quarantine(engine)[0]["reason"]
    _ingest(engine, _write(tmp_path, "nodes.csv", CONTRACT_NODES))
    assert _ingest(engine, status).already_ingested  # re-delivery alone cannot fix it
    res = retry_quarantine(engine, now=NOW)
    assert res.as_dict() == {"retried": 2, "stored": 2, "still_quarantined": 0}
    assert {k: v[0] for k, v in _current(engine).items()} == {"B1": "down", "B2": "up"}
    assert [h[:2] for h in _history(engine)] == [("B1", "down"), ("B2", "up")]
    rows = _quarantine(engine)
    assert [(q["status"], q["resolution"], q["retries"]) for q in rows] == [
        ("resolved", "stored by quarantine retry", 1)] * 2
    assert all(q["resolved_at"] == NOW for q in rows)
    assert retry_quarantine(engine, now=NOW).as_dict() == {"retried": 0, "stored": 0, "still_quarantined": 0}


def test_rows_that_still_fail_stay_open_with_their_reason_refreshed(engine, tmp_path):
    _ingest(engine, _write(tmp_path, "status.csv", f"{STATUS_HEADER}\n"
                                                       "2024-01-01T10:00:00+09:00,B1,exploded,none,0\n"))
    assert "unknown node" in _quarantine(engine)[0]["reason"]
    _ingest(engine, _write(tmp_path, "nodes.csv", CONTRACT_NODES))
    res = retry_quarantine(engine, now=NOW)
    assert res.as_dict() == {"retried": 1, "stored": 0, "still_quarantined": 1}
    (q,) = _quarantine(engine)
    assert (q["status"], q["field"], q["value"], q["retries"], q["retried_at"]) == ("open", "state", "exploded", 1, NOW)
    assert "state not one of" in q["reason"] and _current(engine) == {}


def test_retry_applies_the_history_rules_of_ingest(engine, tmp_path):
    """An old row retried after a newer state was stored goes to history only."""
    _ingest(engine, _write(tmp_path, "early.csv", f"{STATUS_HEADER}\n2024-01-01T10:00:00+09:00,B1,down,none,0\n"))
    _ingest(engine, _write(tmp_path, "nodes.csv", CONTRACT_NODES))
    _ingest(engine, _write(tmp_path, "late.csv", f"{STATUS_HEADER}\n2024-01-01T12:00:00+09:00,B1,up,grid,\n"))
    assert retry_quarantine(engine, now=NOW).stored == 1
    assert _current(engine)["B1"][0] == "up"
    assert [h[:2] for h in _history(engine)] == [("B1", "down"), ("B1", "up")]


def test_retry_filters_by_file_and_rule(engine, tmp_path):
    a = _write(tmp_path, "a.csv", f"{STATUS_HEADER}\n2024-01-01T10:00:00+09:00,B1,down,none,0\n")
    b = _write(tmp_path, "b.csv", f"{STATUS_HEADER}\n2024-01-01T10:00:00+09:00,B2,down,none,0\n"
                                  "2024-01-01T10:00:00,B3,down,none,0\n")
    _ingest(engine, a)
    _ingest(engine, b)
    _ingest(engine, _write(tmp_path, "nodes.csv", CONTRACT_NODES))
    assert retry_quarantine(engine, file="a.csv", now=NOW).as_dict() == {"retried": 1, "stored": 1, "still_quarantined": 0}
    assert retry_quarantine(engine, file=str(b), rule="unknown node", now=NOW).stored == 1
    open_rows = [q for q in _quarantine(engine) if q["status"] == "open"]
    assert [(q["line"], q["field"]) for q in open_rows] == [(3, "observed_at")]  # the naive time


def test_a_row_without_a_record_stays_open(engine, tmp_path):
    p = _write(tmp_path, "status.jsonl", '{"observed_at": "2024-01-01T10:00:00+09:00", "node_id": "B1", '
                                          '"state": "up", "power": "grid"}\nnot json at all\n')
    _ingest(engine, _write(tmp_path, "nodes.csv", CONTRACT_NODES))
    assert _ingest(engine, p).quarantined == 1
    assert retry_quarantine(engine, now=NOW).as_dict() == {"retried": 1, "stored": 0, "still_quarantined": 1}
    (q,) = _quarantine(engine)
    assert (q["status"], q["record"], q["retries"]) == ("open", None, 1)


def test_force_re_reads_an_archived_file_and_supersedes_its_quarantine(engine, tmp_path):
    status = _write(tmp_path, "status.csv", f"{STATUS_HEADER}\n2024-01-01T10:00:00+09:00,B1,down,none,0\n"
                                            "2024-01-01T11:00:00+09:00,B1,up,grid,\n")
    assert _ingest(engine, status).quarantined == 2
    _ingest(engine, _write(tmp_path, "nodes.csv", CONTRACT_NODES))
    r = _ingest(engine, status, force=True)
    assert (r.already_ingested, r.accepted, r.quarantined) == (False, 2, 0)
    assert [q["status"] for q in _quarantine(engine)] == ["resolved", "resolved"]
    assert "ingest --force" in _quarantine(engine)[0]["resolution"]
    again = _ingest(engine, status, force=True)  # twice on purpose: history is not repeated
    assert again.accepted == 2
    assert [h[:2] for h in _history(engine)] == [("B1", "down"), ("B1", "up")]
    with engine.connect() as conn:
        (rec,) = conn.execute(select(t.feed_files).where(t.feed_files.c.kind == "node_status")).mappings()
    assert (rec["accepted"], rec["quarantined"]) == (2, 0)


def test_cli_quarantine_list_and_retry_json_shapes(db_url, tmp_path, monkeypatch):
    from resilience.cli import app

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    runner = CliRunner()
    status = _write(tmp_path, "status.csv", f"{STATUS_HEADER}\n{_recent()},B1,down,none,0\n")
    assert runner.invoke(app, ["--db", db_url, "ingest", str(status)]).exit_code == 0
    res = runner.invoke(app, ["--db", db_url, "quarantine", "list", "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)["rows"]
    assert set(row) == {"id", "file", "line", "field", "value", "rule", "reason", "status"}
    assert (row["file"], row["line"], row["field"], row["value"], row["status"]) == (str(status), 2, "node_id", "B1", "open")
    nodes = _write(tmp_path, "nodes.csv", CONTRACT_NODES)
    assert runner.invoke(app, ["--db", db_url, "ingest", str(nodes)]).exit_code == 0
    res = runner.invoke(app, ["--db", db_url, "quarantine", "retry", "--file", "status.csv", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"retried": 1, "stored": 1, "still_quarantined": 0}
    res = runner.invoke(app, ["--db", db_url, "quarantine", "list", "--format", "json"])
    assert json.loads(res.stdout) == {"rows": []}
    res = runner.invoke(app, ["--db", db_url, "quarantine", "list", "--status", "all", "--format", "json"])
    assert [r["status"] for r in json.loads(res.stdout)["rows"]] == ["resolved"]
    assert runner.invoke(app, ["--db", db_url, "quarantine", "list", "--status", "gone"]).exit_code == 2


def test_cli_ingest_force(db_url, tmp_path, monkeypatch):
    from resilience.cli import app

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    runner = CliRunner()
    status = _write(tmp_path, "status.csv", f"{STATUS_HEADER}\n{_recent()},B1,down,none,0\n")
    nodes = _write(tmp_path, "nodes.csv", CONTRACT_NODES)
    runner.invoke(app, ["--db", db_url, "ingest", str(status), "--format", "json"])
    runner.invoke(app, ["--db", db_url, "ingest", str(nodes), "--format", "json"])
    plain = json.loads(runner.invoke(app, ["--db", db_url, "ingest", str(status), "--format", "json"]).stdout)
    forced = json.loads(runner.invoke(app, ["--db", db_url, "ingest", str(status), "--force", "--format", "json"]).stdout)
    assert (plain["files"][0]["already_ingested"], plain["files"][0]["accepted"]) == (True, 0)
    assert (forced["files"][0]["already_ingested"], forced["files"][0]["accepted"]) == (False, 1)


def test_archives_follow_the_database(db_url, tmp_path, monkeypatch):
    from resilience.cli import app

    home = tmp_path / "home"
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    nodes = _write(tmp_path, "nodes.csv", CONTRACT_NODES)
    url = f"sqlite:///{tmp_path}/elsewhere/r.db" if db_url.startswith("sqlite") else db_url
    assert CliRunner().invoke(app, ["--db", url, "ingest", str(nodes)]).exit_code == 0
    archived = lambda d: sorted(p.name for p in d.rglob("*.csv")) if d.exists() else []  # noqa: E731
    if db_url.startswith("sqlite"):
        assert len(archived(tmp_path / "elsewhere" / "archive")) == 1
        assert archived(home / "var") == []
    else:
        assert len(archived(home / "var" / "archive")) == 1


@pytest.mark.parametrize("url", ["sqlite:////srv/noc/r.db", "sqlite:///relative/r.db"])
def test_archive_dir_is_beside_a_sqlite_file(url, tmp_path, monkeypatch):
    from resilience import api

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path / "home"))
    want = Path(url.split("sqlite:///", 1)[1]).resolve().parent / "archive"
    assert api.archive_dir(url) == want
    assert api.archive_dir("postgresql+psycopg://u@h/db") == tmp_path / "home" / "var" / "archive"
