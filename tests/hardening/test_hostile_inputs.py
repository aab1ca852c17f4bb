"""Hostile feed files end to end (``resilience.api.ingest``), on SQLite and the real PostgreSQL.

For every file, generated (hypothesis) or written by hand from issue 11: either the file is refused
with :class:`~resilience.errors.BadInput` naming the file (and line) and nothing of it is stored,
or ``rows == accepted + quarantined`` where ``rows`` is the number of records the file really
holds, every damaged record is quarantined at its own line with a reason that says what is wrong,
and every stored value is the file's value (read back from the store and compared).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from resilience import api
from resilience.errors import BadInput
from resilience.feeds.validate import NUMBER_RANGES
from resilience.store import tables as t
from resilience.topology.model import NODE_COLUMNS, NODE_KINDS, NODE_STATES, POWER_STATES
from tests.conftest import CONTRACT_NODES
from tests.hardening.conftest import run_cli

HEADER = ",".join(NODE_COLUMNS)
STATUS_HEADER = "observed_at,node_id,state,power,battery_remaining_min"
#: The moment the feeds are checked at (the validation clock is injected: no race with the wall clock).
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Validation runs at :data:`NOW` (``ValidationContext``'s default clock, patched)."""
    monkeypatch.setattr("resilience.feeds.validate.utc_now", lambda: NOW)
    return NOW


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _rows(n: int, prefix: str = "N") -> list[str]:
    return [f"{prefix}{i},base_station,docomo,Site {i},37.{i % 100:02d},136.9,Ishikawa,Wajima,{i},6,F1"
            for i in range(n)]


def _quarantine(db_url: str, sha256: str | None = None) -> dict[int, dict]:
    q = t.quarantine
    stmt = select(q) if sha256 is None else select(q).where(q.c.file_sha256 == sha256)
    with api.engine(db_url).connect() as conn:
        return {r["line"]: dict(r) for r in conn.execute(stmt).mappings()}


def _nodes(db_url: str, prefix: str = "") -> dict[str, dict]:
    n = t.nodes
    with api.engine(db_url).connect() as conn:
        rows = conn.execute(select(n).where(n.c.node_id.startswith(prefix, autoescape=True))).mappings()
        return {r["node_id"]: dict(r) for r in rows}


def _count(db_url: str, table) -> int:
    with api.engine(db_url).connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _refused(db_url: str, paths: list[Path]) -> BadInput:
    api.init(db_url)
    before = (_count(db_url, t.feed_files), _count(db_url, t.nodes), _count(db_url, t.quarantine))
    with pytest.raises(BadInput) as exc:
        api.ingest(paths, db_url=db_url)
    assert str(exc.value).startswith(tuple(str(p) for p in paths)) and "\n" not in str(exc.value)
    assert (_count(db_url, t.feed_files), _count(db_url, t.nodes), _count(db_url, t.quarantine)) == before
    return exc.value


# --- issue 11 item 1: an unterminated quote -----------------------------------------------------

@pytest.mark.parametrize("size", [1000, 20000])
def test_an_unterminated_quote_loses_no_row(db_url, home, tmp_path, size):
    """Row 4 of the nodes file opens a quote that never closes: 999 (19,999) rows are stored,
    the broken one is quarantined at its line, saying so; nothing else is lost."""
    rows = _rows(size)
    rows[3] = 'N3,base_station,docomo,"Opened,37.4,136.9,Ishikawa,Wajima,3,6,F1'
    rows[10] = 'N10,base_station,docomo,"Wajima 10",37.4,136.9,Ishikawa,Wajima,10,6,F1'
    (r,) = api.ingest([_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n")], db_url=db_url)
    assert (r.rows, r.accepted, r.quarantined) == (size, size - 1, 1)
    (q,) = _quarantine(db_url).values()
    assert (q["line"], q["field"]) == (5, "name") and q["reason"] == "quote opened on line 5 is never closed"
    stored = _nodes(db_url)
    assert len(stored) == size - 1 and "N3" not in stored
    assert stored["N10"]["name"] == "Wajima 10" and stored["N4"]["subscribers"] == 4
    assert stored[f"N{size - 1}"]["subscribers"] == size - 1


# --- issue 11 item 2: numbers out of range --------------------------------------------------------

_NODE = {"node_id": "X", "kind": "base_station", "operator": "docomo", "name": "x", "lat": 37.4, "lon": 136.9,
         "prefecture": "Ishikawa", "municipality": "Wajima", "subscribers": 10, "battery_hours": 6,
         "power_feed": "F1"}

_NUMBER_CASES = [  # (field, value, accepted, words of the reason)
    ("subscribers", 1e30, False, "above the maximum"),
    ("subscribers", 9223372036854775808, False, "above the maximum"),
    ("subscribers", 2**70, False, "above the maximum"),
    ("subscribers", 1_000_000_001, False, "above the maximum"),
    ("subscribers", -1, False, "negative"),
    ("subscribers", 1.5, False, "whole number"),
    ("subscribers", float("nan"), False, "not a number"),
    ("subscribers", float("inf"), False, "above the maximum"),
    ("subscribers", "12abc", False, "not a number"),
    ("subscribers", 1_000_000_000, True, ""),
    ("subscribers", 0, True, ""),
    ("battery_hours", float("inf"), True, ""),
    ("battery_hours", 8760, True, ""),
    ("battery_hours", 8761, False, "above the maximum"),
    ("battery_hours", 1e30, False, "above the maximum"),
    ("battery_hours", float("-inf"), False, "negative"),
    ("lat", 90.5, False, "out of range"),
    ("lat", float("inf"), False, "out of range"),
    ("lon", -180.5, False, "out of range"),
    ("lat", -90, True, ""),
]


def test_huge_numbers_are_quarantined_never_wrapped(db_url, home, tmp_path):
    """JSON Lines with subscribers 1e30, 2**70, 9223372036854775808 ...: each out-of-range value is
    quarantined with its field and reason; the stored ones are exactly the file's (never
    -9223372036854775808)."""
    lines = [json.dumps({**_NODE, "node_id": f"X{i}", f: v}) for i, (f, v, _, _) in enumerate(_NUMBER_CASES)]
    (r,) = api.ingest([_write(tmp_path, "nodes.jsonl", "\n".join(lines) + "\n")], db_url=db_url)
    good = {i for i, c in enumerate(_NUMBER_CASES) if c[2]}
    assert (r.rows, r.accepted, r.quarantined) == (len(lines), len(good), len(lines) - len(good))
    q = _quarantine(db_url)
    for i, (f, v, ok, why) in enumerate(_NUMBER_CASES):
        if ok:
            assert i + 1 not in q
            continue
        assert q[i + 1]["field"] == f and why in q[i + 1]["reason"], (f, v, q[i + 1])
    stored = _nodes(db_url)
    assert set(stored) == {f"X{i}" for i in good}
    for i in good:
        f, v = _NUMBER_CASES[i][:2]
        assert stored[f"X{i}"][f] == v
    assert all(0 <= n["subscribers"] <= 1_000_000_000 for n in stored.values())


def test_capacity_and_battery_minutes_have_ranges(db_url, home, tmp_path, clock):
    api.ingest([_write(tmp_path, "nodes.csv", CONTRACT_NODES)], db_url=db_url)
    links = [{"link_id": f"L{i}", "a": "C1", "b": "A1", "medium": "fiber", "capacity_mbps": c, "srlg": ""}
             for i, c in enumerate([1e30, 400000, -5, float("inf"), 1e9])]
    (r,) = api.ingest([_write(tmp_path, "links.jsonl", "\n".join(json.dumps(x) for x in links))], db_url=db_url)
    assert (r.accepted, r.quarantined) == (2, 3)
    at = (NOW - timedelta(hours=1)).isoformat()
    status = [f"{at},{n},up,battery,{m}" for n, m in
              zip(("C1", "A1", "B1", "B2", "B3"), ("1e30", "inf", "525601", "-1", "525600"), strict=True)]
    (s,) = api.ingest([_write(tmp_path, "status.csv", STATUS_HEADER + "\n" + "\n".join(status) + "\n")], db_url=db_url)
    assert (s.accepted, s.quarantined) == (2, 3)
    link_q, status_q = _quarantine(db_url, r.sha256), _quarantine(db_url, s.sha256)
    assert set(link_q) == {1, 3, 4} and set(status_q) == {2, 4, 5}
    assert "above the maximum" in link_q[1]["reason"] and "negative" in link_q[3]["reason"]
    assert "above the maximum" in status_q[2]["reason"] and "negative" in status_q[5]["reason"]
    with api.engine(db_url).connect() as conn:
        got = dict(conn.execute(select(t.node_status.c.node_id, t.node_status.c.battery_remaining_min)).all())
        caps = dict(conn.execute(select(t.links.c.link_id, t.links.c.capacity_mbps)).all())
    assert got == {"A1": math.inf, "B3": 525600.0} and caps == {"L1": 400000.0, "L4": 1e9}


# --- issue 11 item 6: far-past times; "Also": epoch seconds and words ----------------------------

def test_far_past_times_are_quarantined_like_far_future_ones(db_url, home, tmp_path, clock):
    api.ingest([_write(tmp_path, "nodes.csv", CONTRACT_NODES)], db_url=db_url)
    recent = (NOW - timedelta(hours=2)).isoformat()
    rows = [
        ("1900-01-01T00:00:00+09:00", "B1", "past horizon"),
        ("0001-01-01T00:00:00Z", "B1", "past horizon"),
        ("1970-01-01T00:00:00Z", "B2", "past horizon"),
        ((NOW - timedelta(days=3651)).isoformat(), "B3", "past horizon"),
        ("9999-12-31T23:59:59Z", "B3", "future"),
        ("1704093000", "B2", "epoch seconds are not ISO 8601 with an offset"),
        ("yesterday", "B2", "a word, not a time"),
        ("2024-01-01", "B2", "without a UTC offset"),
        (recent, "B1", ""),
        ((NOW - timedelta(days=3649)).isoformat(), "B3", ""),
    ]
    text = STATUS_HEADER + "\n" + "".join(f"{at},{n},down,none,0\n" for at, n, _ in rows)
    (r,) = api.ingest([_write(tmp_path, "status.csv", text)], db_url=db_url)
    assert (r.rows, r.accepted, r.quarantined) == (10, 2, 8)
    q = _quarantine(db_url)
    for i, (_, _, why) in enumerate(rows):
        if why:
            assert q[i + 2]["field"] == "observed_at" and why in q[i + 2]["reason"], q[i + 2]
    with api.engine(db_url).connect() as conn:
        cur = dict(conn.execute(select(t.node_status.c.node_id, t.node_status.c.observed_at)).all())
        hist = conn.execute(select(func.min(t.node_status_history.c.observed_at))).scalar_one()
    assert cur["B1"] == NOW - timedelta(hours=2) and set(cur) == {"B1", "B3"}
    assert hist >= NOW - timedelta(days=3650)


def test_the_past_horizon_comes_from_the_settings(db_url, home, tmp_path, clock, monkeypatch):
    monkeypatch.setenv("RESILIENCE_PAST_HORIZON_DAYS", "365")
    api.ingest([_write(tmp_path, "nodes.csv", CONTRACT_NODES)], db_url=db_url)
    rows = [NOW - timedelta(days=366), NOW - timedelta(days=364)]
    text = STATUS_HEADER + "\n" + "".join(f"{at.isoformat()},B1,up,grid,\n" for at in rows)
    (r,) = api.ingest([_write(tmp_path, "status.csv", text)], db_url=db_url)
    assert (r.accepted, r.quarantined) == (1, 1) and "past horizon" in _quarantine(db_url)[2]["reason"]


# --- issue 11 item 7: a trailing comma on the first data row ------------------------------------

def test_a_trailing_comma_on_the_first_data_row_shifts_nothing(db_url, home, tmp_path):
    lines = CONTRACT_NODES.splitlines()
    lines[1] += ","  # the first data row
    lines.append("X1,base_station,docomo,x,37.0,136.9,Ishikawa,Wajima,10,6,F1,surplus")
    lines.append("X2,base_station,docomo,x,37.0,136.9,Ishikawa,Wajima")
    (r,) = api.ingest([_write(tmp_path, "nodes.csv", "\n".join(lines) + "\n")], db_url=db_url)
    assert (r.rows, r.accepted, r.quarantined) == (7, 5, 2)
    q = _quarantine(db_url)
    assert q[7]["reason"] == "12 fields where the header has 11" and q[8]["reason"] == "8 fields where the header has 11"
    stored = _nodes(db_url)
    expected = {row.split(",")[0]: row.split(",")[:11] for row in CONTRACT_NODES.splitlines()[1:]}
    for nid, vals in expected.items():
        got = stored[nid]
        assert [got["kind"], got["operator"], got["name"], got["power_feed"]] == [vals[1], vals[2], vals[3], vals[10]]
        assert (got["lat"], got["subscribers"]) == (float(vals[4]), int(vals[8]))


# --- issue 11 item 8: size limits ---------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_and_nothing_is_stored(db_url, home, tmp_path, monkeypatch):
    good = _write(tmp_path, "nodes.csv", CONTRACT_NODES)
    big = _write(tmp_path, "status.csv", STATUS_HEADER + "\n" + "2024-01-01T16:10:00+09:00,B1,up,grid,\n" * 100)
    monkeypatch.setenv("RESILIENCE_MAX_FILE_BYTES", "2000")
    exc = _refused(db_url, [good, big])
    assert exc.path == str(big) and "max_file_bytes" in exc.message
    monkeypatch.setenv("RESILIENCE_MAX_FILE_BYTES", "100000")
    monkeypatch.setenv("RESILIENCE_MAX_RECORD_BYTES", "200")
    long_line = _write(tmp_path, "more.csv", CONTRACT_NODES + "Z," + "z" * 300 + "\n")
    exc = _refused(db_url, [good, long_line])
    assert (exc.path, exc.line) == (str(long_line), 7) and "max_record_bytes" in exc.message


def test_cli_ingest_dev_zero_exits_2_at_once(tmp_path):
    res = run_cli(["--db", f"sqlite:///{tmp_path}/r.db", "ingest", "/dev/zero"], home=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr
    msg = res.stderr.strip().splitlines()
    assert len(msg) == 1 and "/dev/zero" in msg[0] and "binary" in msg[0]


def test_cli_ingest_of_a_file_over_the_size_limit_exits_2_without_reading_it(tmp_path):
    """A 3 GiB (sparse) file: refused from its size before a byte is read."""
    p = tmp_path / "huge.csv"
    with p.open("wb") as fh:
        fh.write((HEADER + "\n").encode())
        fh.truncate(3 * 1024**3)
    res = run_cli(["--db", f"sqlite:///{tmp_path}/r.db", "ingest", str(p)], home=tmp_path, timeout=120)
    assert res.returncode == 2 and "max_file_bytes" in res.stderr and str(p) in res.stderr


# --- "Also": files that are something else say what they are ------------------------------------

@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (json.dumps([_NODE, _NODE]), "JSON array"),
        (CONTRACT_NODES.encode("utf-16"), "UTF-16"),
        (CONTRACT_NODES.encode("utf-16-le"), "UTF-16"),
    ],
    ids=["json-array", "utf-16-bom", "utf-16-no-bom"],
)
def test_cli_names_what_the_file_is(tmp_path, data, needle):
    p = _write(tmp_path, "nodes.csv", data)
    res = run_cli(["--db", f"sqlite:///{tmp_path}/r.db", "ingest", str(p)], home=tmp_path)
    assert res.returncode == 2 and needle in res.stderr and str(p) in res.stderr


# --- generated files: hypothesis ------------------------------------------------------------------

_TEXT = st.text(alphabet='abcXYZ 019,;"\'\n\t=+-@<>&{}[]\\/.#%$!|輪島市金沢ｱｲｳ①　ー', max_size=12).map(str.strip)
_PLAIN = st.text(alphabet="abcXYZ019 輪島", min_size=1, max_size=8).map(str.strip).filter(bool)
_example = itertools.count()


def _num(v: float) -> str:
    return "inf" if v == math.inf else repr(v)


@st.composite
def _good_node(draw, nid: str) -> dict[str, object]:
    return {
        "node_id": nid, "kind": draw(st.sampled_from(NODE_KINDS)), "operator": draw(_PLAIN),
        "name": draw(_TEXT), "lat": draw(st.one_of(st.none(), st.floats(-90, 90))),
        "lon": draw(st.one_of(st.none(), st.floats(-180, 180))), "prefecture": draw(_TEXT),
        "municipality": draw(_TEXT), "subscribers": draw(st.integers(0, NUMBER_RANGES["subscribers"][1])),
        "battery_hours": draw(st.one_of(st.just(math.inf), st.floats(0, NUMBER_RANGES["battery_hours"][1]))),
        "power_feed": draw(_TEXT),
    }


_BAD_NUMBERS = [("subscribers", "1e30"), ("subscribers", "9223372036854775808"), ("subscribers", str(2**70)),
                ("subscribers", "-1"), ("subscribers", "2.5"), ("subscribers", "nan"), ("battery_hours", "8761"),
                ("battery_hours", "-0.5"), ("lat", "90.01"), ("lon", "inf"), ("kind", "tower")]


@dataclass
class Feed:
    """A generated feed file and what it really holds."""

    data: bytes
    records: int
    good: dict[str, dict[str, object]] = field(default_factory=dict)
    bad: dict[int, str] = field(default_factory=dict)  # line -> words of its quarantine reason


@st.composite
def csv_node_feeds(draw, prefix: str) -> Feed:
    """A nodes CSV (any column order, UTF-8 / BOM / CP932, LF or CRLF, blank lines, trailing
    commas) with good rows written by ``csv.writer`` and damaged rows mixed in."""
    columns = draw(st.permutations(list(NODE_COLUMNS)))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp932"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    n_good = draw(st.integers(1, 12))
    damage = draw(st.lists(st.sampled_from(["open_quote", "extra", "short", "number"]), max_size=3))
    order = draw(st.permutations([("good", i) for i in range(n_good)] + [("bad", i) for i in range(len(damage))]))
    feed = Feed(b"", n_good + len(damage))
    text = io.StringIO()
    text.write(",".join(columns) + ("," if draw(st.booleans()) else "") + newline)
    line = 2
    for what, i in order:
        if draw(st.integers(0, 5)) == 0:
            text.write(newline)  # a blank line: not a record
            line += 1
        if what == "good":
            node = draw(_good_node(f"{prefix}g{i}"))
            if encoding == "cp932":
                node = {k: v.encode("cp932", "ignore").decode("cp932").strip() if isinstance(v, str) else v
                        for k, v in node.items()}
            feed.good[node["node_id"]] = node
            buf = io.StringIO()
            cells = ["" if node[c] is None else _num(node[c]) if isinstance(node[c], float) else str(node[c])
                     for c in columns]
            csv.writer(buf, lineterminator="\n").writerow(cells + ([""] if draw(st.integers(0, 4)) == 0 else []))
            row = buf.getvalue()[:-1]
        else:
            plain = {c: "x" for c in NODE_COLUMNS} | {"node_id": f"{prefix}b{i}", "kind": "core", "lat": "37",
                                                     "lon": "136", "subscribers": "5", "battery_hours": "6"}
            kind = damage[i]
            if kind == "number":
                fld, value = draw(st.sampled_from(_BAD_NUMBERS))
                plain[fld] = value
                feed.bad[line] = fld
            cells = [plain[c] for c in columns]
            if kind == "open_quote":
                k = draw(st.integers(1, len(cells) - 1))
                cells[k] = '"' + cells[k]
                feed.bad[line] = "quote opened on line"
            elif kind == "extra":
                cells.append(draw(_PLAIN))
                feed.bad[line] = "12 fields where the header has 11"
            elif kind == "short":
                cells = cells[: draw(st.integers(1, len(cells) - 1))]
                feed.bad[line] = "fields where the header has 11"
            row = ",".join(cells)
        text.write(row + newline)
        line += row.count("\n") + 1
    feed.data = text.getvalue().encode(encoding)
    return feed


@st.composite
def jsonl_node_feeds(draw, prefix: str) -> Feed:
    """A nodes JSON Lines file: good objects (numbers as JSON numbers or strings) and damaged
    lines (garbage, cut JSON, nested values, duplicate keys, numbers out of range)."""
    n_good = draw(st.integers(1, 12))
    damage = draw(st.lists(st.sampled_from(["garbage", "cut", "nested", "duplicate", "number", "array"]), max_size=3))
    # the first line is an object: a file starting with anything else is not JSON Lines (refused)
    order = [("good", 0), *draw(st.permutations([("good", i) for i in range(1, n_good)]
                                                + [("bad", i) for i in range(len(damage))]))]
    feed = Feed(b"", n_good + len(damage))
    lines = []
    for what, i in order:
        if draw(st.integers(0, 5)) == 0:
            lines.append("")
        if what == "good":
            node = draw(_good_node(f"{prefix}g{i}"))
            feed.good[node["node_id"]] = node
            obj = {k: (str(v) if v is not None and draw(st.booleans()) else v) for k, v in node.items()}
            lines.append(json.dumps(obj, ensure_ascii=draw(st.booleans())))
            continue
        obj = {**_NODE, "node_id": f"{prefix}b{i}"}
        kind = damage[i]
        if kind == "garbage":
            row, why = draw(_PLAIN), "not a JSON object"
        elif kind == "cut":
            full = json.dumps(obj)
            row, why = full[: draw(st.integers(1, len(full) - 1))], "not a JSON object"
        elif kind == "nested":
            fld = draw(st.sampled_from(["name", "subscribers", "lat"]))
            row, why = json.dumps({**obj, fld: draw(st.sampled_from([[1, 2], {"a": 1}, []]))}), "not a single value"
        elif kind == "duplicate":
            row, why = json.dumps(obj)[:-1] + f', "node_id": "{prefix}dup{i}"}}', "appears twice"
        elif kind == "array":
            row, why = json.dumps([obj]), "not a JSON object"
        else:
            fld, value = draw(st.sampled_from([("subscribers", 2**70), ("subscribers", 1e30),
                                               ("subscribers", 9223372036854775808), ("battery_hours", 1e300),
                                               ("lat", float("nan")), ("subscribers", True)]))
            row, why = json.dumps({**obj, fld: value}), fld
        feed.bad[len(lines) + 1] = why
        lines.append(row)
    feed.data = "\n".join(lines).encode("utf-8")
    return feed


def _same(stored: dict, node: dict[str, object]) -> bool:
    for c in NODE_COLUMNS:
        want, got = node[c], stored[c]
        if c in ("lat", "lon", "battery_hours"):
            if not (want is None and got is None or want is not None and got == float(want)):
                return False
        elif c == "subscribers":
            if got != int(want):
                return False
        elif got != want:
            return False
    return True


def _check(db_url: str, path: Path, feed: Feed, prefix: str) -> None:
    try:
        (r,) = api.ingest([path], db_url=db_url)
    except BadInput as exc:  # a well-formed file (these all are, apart from damaged rows) is never refused
        pytest.fail(f"refused: {exc}")
    assert (r.rows, r.accepted, r.quarantined) == (feed.records, len(feed.good), len(feed.bad)), (r, feed.bad)
    q = _quarantine(db_url, r.sha256)
    assert set(q) == set(feed.bad), ({k: v["reason"] for k, v in q.items()}, feed.bad)
    for line, why in feed.bad.items():
        assert why in q[line]["reason"] or why == q[line]["field"], (line, why, q[line])
    stored = _nodes(db_url, prefix)
    assert set(stored) == set(feed.good)
    for nid, node in feed.good.items():
        assert _same(stored[nid], node), (stored[nid], node)


_hostile = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_hostile
@given(data=st.data())
def test_generated_csv_nodes_feeds_lose_and_change_nothing(db_url, home, tmp_path, data):
    prefix = f"h{next(_example)}."
    feed = data.draw(csv_node_feeds(prefix))
    _check(db_url, _write(tmp_path, f"{prefix}csv", feed.data), feed, prefix)


@_hostile
@given(data=st.data())
def test_generated_json_lines_nodes_feeds_lose_and_change_nothing(db_url, home, tmp_path, data):
    prefix = f"h{next(_example)}."
    feed = data.draw(jsonl_node_feeds(prefix))
    _check(db_url, _write(tmp_path, f"{prefix}jsonl", feed.data), feed, prefix)


_STATUS_NODES = [f"S{i}" for i in range(40)]


@pytest.fixture
def status_inventory(db_url, home, tmp_path, clock):
    rows = [f"{n},base_station,docomo,{n},37.0,136.9,Ishikawa,Wajima,10,6,F1" for n in _STATUS_NODES]
    api.ingest([_write(tmp_path, "inventory.csv", HEADER + "\n" + "\n".join(rows) + "\n")], db_url=db_url)
    return db_url


_BAD_TIMES = [("1900-01-01T00:00:00+09:00", "past horizon"), ("0001-01-01T00:00:00Z", "past horizon"),
              ("1970-01-01T00:00:00Z", "past horizon"), ("9999-12-31T23:59:59Z", "future"),
              ("1717243200", "epoch seconds"), ("yesterday", "a word, not a time"), ("now", "a word, not a time"),
              ("2026-06-01T10:00:00", "without a UTC offset"), ("2026-06-01", "without a UTC offset"),
              ("2026-13-45T99:99:99+09:00", "not an ISO 8601 time")]


@_hostile
@given(data=st.data())
def test_generated_status_feeds_keep_the_file_times(status_inventory, tmp_path, data):
    """Status rows with good times (stored as the current state, exactly) and hostile ones
    (far past, far future, epoch seconds, words, naive): each hostile one quarantined."""
    db_url = status_inventory
    k = next(_example)
    nodes = data.draw(st.permutations(_STATUS_NODES))[: data.draw(st.integers(1, 10))]
    bad_rows = data.draw(st.lists(st.sampled_from(_BAD_TIMES), max_size=3))
    fmt = data.draw(st.sampled_from(["csv", "jsonl"]))
    base = NOW - timedelta(days=10) + timedelta(minutes=k)  # each example newer than the last
    good = {n: (base + timedelta(seconds=j), data.draw(st.sampled_from(NODE_STATES)),
                data.draw(st.sampled_from(POWER_STATES)), data.draw(st.one_of(st.none(), st.integers(0, 600))))
            for j, n in enumerate(nodes)}
    rows = [(at.isoformat(), n, s, p, m) for n, (at, s, p, m) in good.items()]
    rows += [(at, data.draw(st.sampled_from(_STATUS_NODES)), "up", "grid", None) for at, _ in bad_rows]
    order = data.draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    want_bad = {i + (2 if fmt == "csv" else 1): bad_rows[o - len(good)][1]
                for i, o in enumerate(order) if o >= len(good)}
    if fmt == "csv":
        text = STATUS_HEADER + "\n" + "".join(f"{a},{n},{s},{p},{'' if m is None else m}\n" for a, n, s, p, m in rows)
    else:
        text = "\n".join(json.dumps(dict(zip(STATUS_HEADER.split(","), r, strict=True))) for r in rows)
    path = _write(tmp_path, f"status{k}.{fmt}", text)
    (r,) = api.ingest([path], db_url=db_url)
    assert (r.rows, r.accepted, r.quarantined) == (len(rows), len(good), len(want_bad))
    q = _quarantine(db_url, r.sha256)
    assert {line: why in q[line]["reason"] for line, why in want_bad.items()} == dict.fromkeys(want_bad, True)
    with api.engine(db_url).connect() as conn:
        s = t.node_status.c
        cur = {row[0]: tuple(row[1:]) for row in
               conn.execute(select(s.node_id, s.observed_at, s.state, s.power, s.battery_remaining_min)
                            .where(s.node_id.in_(list(good))))}
    assert cur == {n: (at, st_, p, None if m is None else float(m)) for n, (at, st_, p, m) in good.items()}


def test_the_hostile_suite_cannot_run_into_the_repository(home):
    """Every test above writes under its own temporary home, never into the checkout's var/."""
    assert os.environ["RESILIENCE_HOME"] == str(home)
