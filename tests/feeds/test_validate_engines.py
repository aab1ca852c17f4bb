"""The two engines of the one expectation suite agree (resilience/feeds/validate.py).

A small part is validated in-process (Great Expectations' import costs ~3 s), a large one by
Great Expectations. Both must give the same rejects (line, field, value, rule, reason) and the
same good rows: on the hostile inputs of tests/hardening, on generated rows breaking every rule
of every feed kind, and on the fixture files that have rejects.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resilience.feeds import validate
from resilience.feeds.readers import read_feed
from resilience.feeds.validate import (
    Validated,
    ValidationContext,
    expectation_suite_spec,
    validate_rows,
)
from resilience.topology.model import (
    FEED_POWER_STATES,
    LINK_COLUMNS,
    LINK_STATES,
    LINK_STATUS_COLUMNS,
    MEDIA,
    NODE_COLUMNS,
    NODE_KINDS,
    NODE_STATES,
    NODE_STATUS_COLUMNS,
    POWER_STATES,
    POWER_STATUS_COLUMNS,
)
from tests.hardening.test_hostile_inputs import (
    _BAD_NUMBERS,
    _BAD_TIMES,
    NOW,
    csv_node_feeds,
    jsonl_node_feeds,
)

KINDS = ("nodes", "links", "node_status", "link_status", "power_status")
ROOT = Path(__file__).resolve().parents[2]
ALWAYS_IN_PROCESS = 10**12
KNOWN = ["S0", "S1", "S2"]


def _both(kind: str, frame: pd.DataFrame, lines: np.ndarray | None = None, *,
          known_nodes=KNOWN, known_links=KNOWN) -> tuple[Validated, Validated]:
    """(in-process, Great Expectations) results of one part."""
    lines = np.arange(len(frame), dtype=np.int64) if lines is None else lines
    out = []
    for gx_min_rows in (ALWAYS_IN_PROCESS, 0):
        ctx = ValidationContext(known_nodes=known_nodes, known_links=known_links, now=NOW,
                                past_horizon=timedelta(days=3650), gx_min_rows=gx_min_rows)
        out.append(validate_rows(kind, frame, lines, ctx))
    return out[0], out[1]


def _assert_same(in_process: Validated, gx: Validated) -> None:
    def key(r):
        return r.line, r.field, r.value, r.rule, r.reason

    assert [key(r) for r in in_process.rejects] == [key(r) for r in gx.rejects]
    pd.testing.assert_frame_equal(in_process.good, gx.good)


# --- every rule has an in-process evaluation -------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_every_rule_of_every_kind_is_evaluated_in_process(kind, monkeypatch):
    """No expectation type of the suite falls back to Great Expectations for a small part."""
    def no_gx(*args, **kwargs):
        raise AssertionError("Great Expectations used for a small part")

    monkeypatch.setattr(validate, "_first_failures_gx", no_gx)
    frame = pd.DataFrame({c: ["", "x"] for c in _COLUMNS[kind]})
    validate_rows(kind, frame, np.arange(2), ValidationContext(now=NOW, gx_min_rows=ALWAYS_IN_PROCESS))
    typed = validate._typed(kind, frame, ValidationContext(now=NOW))
    assert validate._first_failures_in_process(kind, typed) is not None


@pytest.mark.parametrize(("etype", "values", "kw", "fails"), [
    ("ExpectColumnValuesToNotBeNull", [None, "a", float("nan")], {}, [True, False, True]),
    ("ExpectColumnValuesToBeInSet", [None, "a", "b"], {"value_set": ["a"]}, [False, False, True]),
    ("ExpectColumnValuesToBeBetween", [None, 0.0, 5.0, np.inf, -np.inf], {"min_value": 0, "max_value": 5},
     [False, False, False, True, True]),
    ("ExpectColumnValuesToBeBetween", [0.0, 5.0, 2.0], {"min_value": 0, "max_value": 5, "strict_min": True,
                                                        "strict_max": True}, [True, True, False]),
    ("ExpectColumnValuesToBeBetween", [-1.0, np.nan, 1e30], {"min_value": 0}, [True, False, False]),
])
def test_each_expectation_type_fails_the_rows_great_expectations_fails(etype, values, kw, fails):
    """Missing values fail not-null only; between honours strict bounds, ``inf`` is a value."""
    column = pd.Series(values, dtype=float if etype.endswith("Between") else object)
    assert validate._unexpected(etype, column, kw).tolist() == fails
    frame = pd.DataFrame({"c": column})
    gx = _gx_unexpected(etype, frame, kw)
    assert gx == [i for i, f in enumerate(fails) if f]


def _gx_unexpected(etype: str, frame: pd.DataFrame, kw: dict) -> list[int]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _, batch_definition = validate._context()
    suite = gx.ExpectationSuite(name="one")
    suite.add_expectation(getattr(gxe, etype)(column="c", **kw))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format={"result_format": "COMPLETE"})
    (res,) = result.results
    return sorted(res.result.get("unexpected_index_list") or [])


# --- hostile inputs ----------------------------------------------------------------------------

_same_engines = settings(max_examples=15, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _read(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"feed{suffix}"
        path.write_bytes(data)
        return read_feed(path)


@_same_engines
@given(data=st.data())
def test_hostile_node_feeds_give_the_same_result_in_both_engines(data):
    fmt = data.draw(st.sampled_from(["csv", "jsonl"]))
    feed = data.draw(csv_node_feeds("h.") if fmt == "csv" else jsonl_node_feeds("h."))
    raw = _read(feed.data, f".{fmt}")
    _assert_same(*_both(raw.kind, raw.frame, raw.lines))


_GOOD_TIME = (NOW - timedelta(days=1)).isoformat()
_TIMES = [_GOOD_TIME, (NOW + timedelta(minutes=11)).isoformat(), "", "  ", *(t for t, _ in _BAD_TIMES)]
_NUMBERS = ["", " ", "0", "1", "-1", "2.5", "1,000", "1e30", "inf", "-inf", "nan", "NaN", "abc", "90.01",
            "-180.5", "8760", "8761", "525600", "525601", "1000000000", "1000000001", "9223372036854775808",
            *(v for _, v in _BAD_NUMBERS)]
_IDS = ["S0", "S1", "S2", " S1 ", "UNKNOWN", "", "  "]


def _pool(*good: str) -> list[str]:
    return [*good, "", " ", "bogus", "UP", "nan"]


#: For each kind, the raw values each column is drawn from: good ones and ones breaking every rule.
_COLUMNS: dict[str, dict[str, list[str]]] = {
    "nodes": {c: _IDS for c in NODE_COLUMNS} | {
        "kind": _pool(*NODE_KINDS), "operator": _pool("docomo"), "lat": _NUMBERS, "lon": _NUMBERS,
        "subscribers": _NUMBERS, "battery_hours": _NUMBERS},
    "links": {c: _IDS for c in LINK_COLUMNS} | {"medium": _pool(*MEDIA), "capacity_mbps": _NUMBERS},
    "node_status": {"observed_at": _TIMES, "node_id": _IDS, "state": _pool(*NODE_STATES),
                    "power": _pool(*POWER_STATES), "battery_remaining_min": _NUMBERS},
    "link_status": {"observed_at": _TIMES, "link_id": _IDS, "state": _pool(*LINK_STATES)},
    "power_status": {"observed_at": _TIMES, "power_feed": _IDS, "state": _pool(*FEED_POWER_STATES),
                     "expected_restore_at": _TIMES},
}
assert {k: tuple(v) for k, v in _COLUMNS.items() if k.endswith("status")} == {
    "node_status": NODE_STATUS_COLUMNS, "link_status": LINK_STATUS_COLUMNS, "power_status": POWER_STATUS_COLUMNS}


def _good(kind: str, column: str, i: int) -> str:
    """A value of ``column`` that breaks no rule in row ``i`` (inventory ids differ per row)."""
    if kind in ("nodes", "links") and column in ("node_id", "link_id"):
        return f"E{i}"
    return {"observed_at": _GOOD_TIME, "expected_restore_at": _GOOD_TIME, "lat": "37", "lon": "136",
            "subscribers": "1", "battery_hours": "6", "capacity_mbps": "10", "battery_remaining_min": "30",
            "a": "S1", "b": "S2", "node_id": "S0", "link_id": "S0"}.get(column, _COLUMNS[kind][column][0])


@st.composite
def hostile_parts(draw) -> tuple[str, pd.DataFrame]:
    """A part of any feed kind: each value good or drawn from values breaking its rules."""
    kind = draw(st.sampled_from(KINDS))
    rows = [{c: draw(st.one_of(st.just(_good(kind, c, i)), st.sampled_from(pool)))
             for c, pool in _COLUMNS[kind].items()} for i in range(draw(st.integers(1, 25)))]
    return kind, pd.DataFrame(rows)


@_same_engines
@given(part=hostile_parts(), known=st.sampled_from([None, KNOWN, []]))
def test_rows_breaking_every_rule_give_the_same_result_in_both_engines(part, known):
    kind, frame = part
    _assert_same(*_both(kind, frame, known_nodes=known, known_links=known))


@pytest.mark.parametrize("kind", KINDS)
def test_the_generated_values_break_every_rule(kind):
    """The values drawn above reach every rule of every kind (else the comparison proves little)."""
    pools = _COLUMNS[kind]
    good = {c: _good(kind, c, 0) for c in pools}
    frames = [pd.DataFrame([good, good]), pd.DataFrame([good | {"b": good.get("a")}])]  # duplicate, self-loop
    frames += [pd.DataFrame([good | {c: v}]) for c, pool in pools.items() for v in pool]
    ctx = ValidationContext(known_nodes=KNOWN, known_links=KNOWN, now=NOW, past_horizon=timedelta(days=3650))
    assert validate_rows(kind, pd.DataFrame([good]), np.arange(1), ctx).rejects == []
    reached = {r.reason for f in frames for r in validate_rows(kind, f, np.arange(len(f)), ctx).rejects}
    assert {reason for _, _, _, reason, _ in expectation_suite_spec(kind)} <= reached


# --- fixture files with rejects --------------------------------------------------------------

_FIXTURES = [ROOT / "tests/data/topologyzoo/Abilene.graphml", ROOT / "tests/data/topologyzoo/Sinet.graphml",
             Path("/work/shared/data/topologyzoo/Interoute.graphml")]  # Interoute: self-loops


@pytest.mark.parametrize("path", _FIXTURES, ids=lambda p: p.name)
def test_fixture_files_give_the_same_result_in_both_engines(path):
    if not path.is_file():
        pytest.skip(f"{path} not present")
    raw = read_feed(path)
    nodes = _both("nodes", raw.frame, raw.lines, known_nodes=None)
    _assert_same(*nodes)
    links = _both("links", raw.graph_links, raw.graph_link_lines, known_nodes=nodes[0].good["node_id"])
    _assert_same(*links)
    if path.name == "Interoute.graphml":
        assert links[0].rejects, "the fixture lost its rejects"


def test_sample_noto_feeds_give_the_same_result_in_both_engines(tmp_path):
    from resilience.sample import write_noto

    write_noto(tmp_path)
    for path in sorted(tmp_path.glob("*.csv")):
        raw = read_feed(path)
        _assert_same(*_both(raw.kind, raw.frame, raw.lines, known_nodes=None, known_links=None))


# --- the threshold picks the engine ----------------------------------------------------------

def test_the_setting_picks_the_engine(monkeypatch):
    calls = []
    real = validate._first_failures_gx
    monkeypatch.setattr(validate, "_first_failures_gx", lambda *a: calls.append(1) or real(*a))
    frame = pd.DataFrame({"observed_at": [_GOOD_TIME] * 3, "link_id": ["S0", "S9", ""], "state": ["up"] * 3})
    monkeypatch.setenv("RESILIENCE_VALIDATION_GX_MIN_ROWS", "3")
    assert ValidationContext().gx_min_rows == 3
    validate_rows("link_status", frame.iloc[:2], np.arange(2), ValidationContext(known_links=KNOWN, now=NOW))
    assert calls == []
    validate_rows("link_status", frame, np.arange(3), ValidationContext(known_links=KNOWN, now=NOW))
    assert calls == [1]
    monkeypatch.setenv("RESILIENCE_VALIDATION_GX_MIN_ROWS", "0")  # 0: always Great Expectations
    validate_rows("link_status", frame.iloc[:1], np.arange(1), ValidationContext(known_links=KNOWN, now=NOW))
    assert calls == [1, 1]


def test_a_small_part_does_not_import_great_expectations():
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from resilience.feeds.validate import ValidationContext, validate_rows\n"
        "frame = pd.DataFrame({'observed_at': ['2024-01-01T16:10:00+09:00', 'yesterday'],\n"
        "                      'power_feed': ['F1', 'F2'], 'state': ['off', 'on']})\n"
        "v = validate_rows('power_status', frame, np.arange(2), ValidationContext())\n"
        "assert (len(v.good), len(v.rejects)) == (1, 1)\n"
        "heavy = [m for m in ('great_expectations', 'scipy', 'altair') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {"PATH": "/usr/bin:/bin", "RESILIENCE_VALIDATION_GX_MIN_ROWS": "10000", "GX_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_great_expectations_is_preloaded_only_for_a_part_it_will_validate(monkeypatch, tmp_path):
    from resilience.feeds import ingest
    from resilience.store.engine import make_engine, migrate

    calls = []
    monkeypatch.setattr(ingest, "preload_great_expectations", lambda: calls.append(1))
    monkeypatch.setenv("RESILIENCE_VALIDATION_GX_MIN_ROWS", "3")
    engine = make_engine("sqlite://")
    migrate(engine)
    head = "power_feed,state,observed_at\n"
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text(head + f"F1,off,{_GOOD_TIME}\nF2,on,{_GOOD_TIME}\n")
    big.write_text(head + "".join(f"F{i},off,{_GOOD_TIME}\n" for i in range(3)))
    ingest.ingest_file(engine, small, now=NOW)
    assert calls == []
    ingest.ingest_file(engine, big, now=NOW)
    assert calls == [1]


def test_a_preloaded_context_is_the_one_validation_uses():
    loader = validate.preload_great_expectations()
    ctx = validate._context()  # waits for the loader when it is still at it
    loader.join()
    assert validate._context() is ctx
