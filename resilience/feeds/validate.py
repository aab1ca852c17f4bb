"""Row validation with Great Expectations 1.x: one expectation suite per feed kind decides which
rows are good; every rejected row gets the first rule it broke, its field and value.

Values are parsed first (numbers, ISO 8601 times with an offset); references to known elements,
within-file duplicates and self-loops become boolean columns. Then the kind's suite runs over the
typed frame as a Great Expectations batch, with ``result_format="COMPLETE"`` so each failing
expectation lists the rows it failed. Each expectation's ``meta`` names the contract field and
says in the operator's words what is wrong.

Two engines run the one suite (:func:`expectation_suite_spec`). Importing Great Expectations and
creating its context costs ~3 s (scipy, altair, its pydantic models), more than all the rest of
``resilience ingest`` of a small file. So a part with fewer rows than the setting
``validation_gx_min_rows`` (default 200,000, measured: below it that fixed cost is more than the
rest of the ingest; 0 = always Great Expectations) is checked by a small in-process evaluator of
the same spec, with Great Expectations' pandas semantics of each expectation type the spec uses
(:func:`_unexpected`: ``not_be_null`` fails on missing values; ``to_be_in_set`` and
``to_be_between`` skip them; ``between`` honours ``strict_min``/``strict_max``). Larger parts go
through Great Expectations. tests/feeds/test_validate_engines.py checks that both give the same
rejects (line, field, value, rule, reason) and the same good rows, on hostile inputs and on
fixture files. A suite holding an expectation type or argument without an in-process evaluation
runs through Great Expectations whatever its size.

Example
-------
>>> import pandas as pd, numpy as np
>>> frame = pd.DataFrame({"observed_at": ["2024-01-01T16:10:00+09:00", "2024-01-01T16:10:00"],
...                       "power_feed": ["F1", "F2"], "state": ["off", "on"]})
>>> out = validate_rows("power_status", frame, np.array([2, 3]), ValidationContext())
>>> len(out.good), out.rejects[0].line, out.rejects[0].field
(1, 3, 'observed_at')
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

import numpy as np
import pandas as pd

from resilience.feeds.records import Reject
from resilience.topology.model import (
    FEED_POWER_STATES,
    LINK_STATES,
    MEDIA,
    NODE_KINDS,
    NODE_STATES,
    POWER_STATES,
)

__all__ = ["ValidationContext", "Validated", "validate_rows", "expectation_suite_spec", "NUMBER_RANGES",
           "utc_now"]

# An offset after a time of day (``16:10:00+09:00``, ``161000Z``): a bare date's ``-01`` is no offset.
_OFFSET_RE = r"\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
_EPOCH_RE = r"^[+-]?\d{9,}(?:\.\d*)?$"  # seconds (or milliseconds) since 1970
_WORD_RE = r"^[^\W\d_][^\d]*$"  # letters and spaces only: 'yesterday', 'now', 'last week'

#: The documented range of every numeric field (docs/data-limits.md):
#: field -> (minimum, maximum, whole number required, ``inf`` allowed).
NUMBER_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "lat": (-90.0, 90.0, False, False),
    "lon": (-180.0, 180.0, False, False),
    "subscribers": (0, 1_000_000_000, True, False),
    "battery_hours": (0.0, 8760.0, False, True),  # one year; 'inf' for a permanent generator
    "capacity_mbps": (0.0, 1_000_000_000.0, False, False),  # 1 Pbit/s
    "battery_remaining_min": (0.0, 525_600.0, False, True),  # one year; 'inf' on a generator
}


def utc_now() -> datetime:
    """The current time (UTC): the default ``now`` of a :class:`ValidationContext`.

    >>> utc_now().tzinfo is UTC
    True
    """
    return datetime.now(UTC)


def _configured_past_horizon() -> timedelta | None:
    from resilience.settings import load_settings

    days = float(load_settings().past_horizon_days)
    return timedelta(days=days) if days > 0 else None


def _configured_gx_min_rows() -> int:
    from resilience.settings import load_settings

    return int(load_settings().validation_gx_min_rows)


@dataclass
class ValidationContext:
    """What the rules are checked against: known elements and the current time.

    ``now`` is the time the feed is checked at (inject it in tests); a time later than
    ``now + future_tolerance`` or earlier than ``now - past_horizon`` is quarantined.
    ``past_horizon`` defaults to the ``past_horizon_days`` setting (``None``: no horizon).
    A part of ``gx_min_rows`` rows or more is validated by Great Expectations, a smaller one
    in-process (default: the ``validation_gx_min_rows`` setting; 0 = always Great Expectations).
    """

    known_nodes: Iterable[str] | None = None
    known_links: Iterable[str] | None = None
    now: datetime = field(default_factory=lambda: utc_now())
    future_tolerance: timedelta = timedelta(minutes=10)
    past_horizon: timedelta | None = field(default_factory=_configured_past_horizon)
    gx_min_rows: int = field(default_factory=_configured_gx_min_rows)

    def earliest(self) -> pd.Timestamp | None:
        """The oldest time accepted (``now - past_horizon``), or ``None``."""
        if self.past_horizon is None:
            return None
        try:
            return pd.Timestamp(self.now - self.past_horizon)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            return None


@dataclass
class Validated:
    """Accepted rows (typed, with ``_line``) and the rejected ones with their reasons."""

    good: pd.DataFrame
    rejects: list[Reject]


# --- parsing ---------------------------------------------------------------------------------

def _text(s: pd.Series) -> pd.Series:
    """Trimmed text; empty becomes missing (None) so not-null rules see it."""
    s = s.astype(str).str.strip()
    return s.where(s != "", None)


def _number(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parsed floats and a flag 'given but not a number' (``nan`` text counts as not a number)."""
    s = raw.astype(str).str.strip()
    num = pd.to_numeric(s.str.replace(",", "", regex=False).where(s != "", None), errors="coerce")
    num = num.astype("float64")
    bad = (s != "") & num.isna()
    return num, bad


def _time(raw: pd.Series) -> dict[str, pd.Series]:
    """Parsed UTC times (``ts``) and flags of what is wrong with the given ones: ``epoch``
    (seconds since 1970), ``word`` ('yesterday'), ``naive`` (no offset), ``bad`` (unparseable)."""
    s = raw.astype(str).str.strip()
    given = s != ""
    epoch = given & s.str.match(_EPOCH_RE)
    word = given & ~epoch & s.str.match(_WORD_RE)
    has_offset = s.str.contains(_OFFSET_RE, regex=True)
    naive = given & ~epoch & ~word & ~has_offset
    ts = pd.to_datetime(s.where(given & has_offset, None), format="ISO8601", utc=True, errors="coerce")
    bad = given & has_offset & ts.isna()
    return {"ts": ts, "epoch": epoch, "word": word, "naive": naive, "bad": bad}


def _in_range(values: pd.Series, name: str) -> pd.Series:
    """Missing, or at most the field's maximum (``inf`` where the field allows it)."""
    _, hi, _, inf_ok = NUMBER_RANGES[name]
    ok = values.isna() | (values <= hi)
    return ok | (values == np.inf) if inf_ok else ok


def _isin(values: pd.Series, known: Iterable[str] | None) -> pd.Series:
    if known is None:
        return pd.Series(True, index=values.index)
    if not isinstance(known, pd.Index):
        known = pd.Index(list(known), dtype=object)
    if known.is_unique:  # hash lookup of object strings (fast at a million rows)
        return pd.Series(known.get_indexer(values.to_numpy(dtype=object)) >= 0, index=values.index)
    return values.isin(known)


# --- the suites ------------------------------------------------------------------------------

def _rule(kind: str, column: str, field_: str, reason: str, **kw) -> tuple:
    return (kind, column, field_, reason, kw)


def expectation_suite_spec(kind: str) -> list[tuple]:
    """The rules of one feed kind, in order: (expectation, column, field, reason, kwargs).

    >>> [r[0] for r in expectation_suite_spec("link_status")][:2]
    ['ExpectColumnValuesToNotBeNull', 'ExpectColumnValuesToBeInSet']
    """
    nn, ins, btw = "ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween"
    ok = {"value_set": [True]}
    ts_rules = [
        _rule(nn, "observed_at_raw", "observed_at", "missing time"),
        _rule(ins, "_observed_at_not_epoch", "observed_at",
              "epoch seconds are not ISO 8601 with an offset (write e.g. 2024-01-01T16:10:00+09:00)", **ok),
        _rule(ins, "_observed_at_not_word", "observed_at",
              "a word, not a time ('yesterday', 'now' are not guessed): ISO 8601 with an offset", **ok),
        _rule(ins, "_observed_at_has_offset", "observed_at", "time without a UTC offset (naive times are not guessed)", **ok),
        _rule(ins, "_observed_at_parses", "observed_at", "not an ISO 8601 time", **ok),
        _rule(ins, "_observed_at_not_future", "observed_at", "time too far in the future (clock or feed error)", **ok),
        _rule(ins, "_observed_at_not_past", "observed_at",
              "time older than the past horizon (setting past_horizon_days): a reset clock or a placeholder date", **ok),
    ]
    lim = {c: (lo, hi) for c, (lo, hi, _, _) in NUMBER_RANGES.items()}
    if kind == "nodes":
        return [
            _rule(nn, "node_id", "node_id", "missing node_id"),
            _rule(ins, "_node_id_first", "node_id", "duplicate node_id in this file", **ok),
            _rule(nn, "kind", "kind", "missing kind"),
            _rule(ins, "kind", "kind", f"kind not one of {', '.join(NODE_KINDS)}", value_set=list(NODE_KINDS)),
            _rule(nn, "operator", "operator", "missing operator"),
            _rule(ins, "_lat_parses", "lat", "latitude is not a number (NaN or text)", **ok),
            _rule(btw, "lat", "lat", "latitude out of range -90..90", min_value=-90, max_value=90),
            _rule(ins, "_lon_parses", "lon", "longitude is not a number (NaN or text)", **ok),
            _rule(btw, "lon", "lon", "longitude out of range -180..180", min_value=-180, max_value=180),
            _rule(nn, "subscribers", "subscribers", "subscribers missing or not a number"),
            _rule(btw, "subscribers", "subscribers", "negative subscribers", min_value=0),
            _rule(btw, "subscribers", "subscribers",
                  f"subscribers above the maximum {lim['subscribers'][1]:,} (or infinite)",
                  max_value=lim["subscribers"][1]),
            _rule(ins, "_subscribers_integral", "subscribers", "subscribers is not a whole number", **ok),
            _rule(nn, "battery_hours", "battery_hours", "battery_hours missing or not a number ('inf' for a generator)"),
            _rule(btw, "battery_hours", "battery_hours", "negative battery_hours", min_value=0),
            _rule(ins, "_battery_hours_in_range", "battery_hours",
                  f"battery_hours above the maximum {lim['battery_hours'][1]:,.0f} (one year); 'inf' for a generator",
                  **ok),
        ]
    if kind == "links":
        return [
            _rule(nn, "link_id", "link_id", "missing link_id"),
            _rule(ins, "_link_id_first", "link_id", "duplicate link_id in this file", **ok),
            _rule(nn, "a", "a", "missing endpoint a"),
            _rule(nn, "b", "b", "missing endpoint b"),
            _rule(ins, "_a_known", "a", "endpoint a is not a known node", **ok),
            _rule(ins, "_b_known", "b", "endpoint b is not a known node", **ok),
            _rule(ins, "_not_self_loop", "b", "self-loop: a link from a node to itself", **ok),
            _rule(nn, "medium", "medium", "missing medium"),
            _rule(ins, "medium", "medium", f"medium not one of {', '.join(MEDIA)}", value_set=list(MEDIA)),
            _rule(ins, "_capacity_mbps_parses", "capacity_mbps", "capacity_mbps is not a number", **ok),
            _rule(btw, "capacity_mbps", "capacity_mbps", "negative capacity_mbps", min_value=0),
            _rule(btw, "capacity_mbps", "capacity_mbps",
                  f"capacity_mbps above the maximum {lim['capacity_mbps'][1]:,.0f} (or infinite)",
                  max_value=lim["capacity_mbps"][1]),
        ]
    if kind == "node_status":
        return ts_rules + [
            _rule(nn, "node_id", "node_id", "missing node_id"),
            _rule(ins, "_node_known", "node_id", "status for an unknown node", **ok),
            _rule(ins, "state", "state", f"state not one of {', '.join(NODE_STATES)}", value_set=list(NODE_STATES)),
            _rule(ins, "power", "power", f"power not one of {', '.join(POWER_STATES)}", value_set=list(POWER_STATES)),
            _rule(ins, "_battery_remaining_min_parses", "battery_remaining_min", "battery_remaining_min is not a number", **ok),
            _rule(btw, "battery_remaining_min", "battery_remaining_min", "negative battery_remaining_min", min_value=0),
            _rule(ins, "_battery_remaining_min_in_range", "battery_remaining_min",
                  f"battery_remaining_min above the maximum {lim['battery_remaining_min'][1]:,.0f} (one year)", **ok),
        ]
    if kind == "link_status":
        return ts_rules + [
            _rule(nn, "link_id", "link_id", "missing link_id"),
            _rule(ins, "_link_known", "link_id", "status for an unknown link", **ok),
            _rule(ins, "state", "state", f"state not one of {', '.join(LINK_STATES)}", value_set=list(LINK_STATES)),
        ]
    if kind == "power_status":
        return ts_rules + [
            _rule(nn, "power_feed", "power_feed", "missing power_feed"),
            _rule(ins, "state", "state", f"state not one of {', '.join(FEED_POWER_STATES)}", value_set=list(FEED_POWER_STATES)),
            _rule(ins, "_expected_restore_at_has_offset", "expected_restore_at", "time without a UTC offset", **ok),
            _rule(ins, "_expected_restore_at_parses", "expected_restore_at", "not an ISO 8601 time", **ok),
        ]
    raise ValueError(f"no expectation suite for feed kind {kind!r}")


def _typed(kind: str, raw: pd.DataFrame, ctx: ValidationContext) -> pd.DataFrame:
    """Typed values plus the boolean check columns the suite refers to."""
    t = pd.DataFrame(index=raw.index)
    col = lambda c: raw[c] if c in raw else pd.Series("", index=raw.index)  # noqa: E731
    if kind in ("node_status", "link_status", "power_status"):
        tm = _time(col("observed_at"))
        ts = tm["ts"]
        t["observed_at_raw"] = _text(col("observed_at"))  # PostgreSQL parses it as given
        t["observed_at"] = ts
        t["_observed_at_not_epoch"] = ~tm["epoch"]
        t["_observed_at_not_word"] = ~tm["word"]
        t["_observed_at_has_offset"] = ~tm["naive"]
        t["_observed_at_parses"] = ~tm["bad"]
        limit = pd.Timestamp(ctx.now + ctx.future_tolerance)
        t["_observed_at_not_future"] = ~(ts > limit).fillna(False).astype(bool)
        earliest = ctx.earliest()
        t["_observed_at_not_past"] = (True if earliest is None
                                      else ~(ts < earliest).fillna(False).astype(bool))
    if kind == "nodes":
        t["node_id"] = _text(col("node_id"))
        t["_node_id_first"] = ~t["node_id"].duplicated() | t["node_id"].isna()
        for c in ("kind", "operator", "name", "prefecture", "municipality", "power_feed"):
            t[c] = _text(col(c))
        for c in ("lat", "lon", "subscribers", "battery_hours"):
            t[c], bad = _number(col(c))
            t[f"_{c}_parses"] = ~bad
        t["_subscribers_integral"] = (t["subscribers"].isna() | (t["subscribers"] % 1 == 0))
        t["_battery_hours_in_range"] = _in_range(t["battery_hours"], "battery_hours")
    elif kind == "links":
        for c in ("link_id", "a", "b", "medium", "srlg"):
            t[c] = _text(col(c))
        t["_link_id_first"] = ~t["link_id"].duplicated() | t["link_id"].isna()
        t["_a_known"] = _isin(t["a"], ctx.known_nodes) | t["a"].isna()
        t["_b_known"] = _isin(t["b"], ctx.known_nodes) | t["b"].isna()
        t["_not_self_loop"] = (t["a"] != t["b"]) | t["a"].isna()
        t["capacity_mbps"], bad = _number(col("capacity_mbps"))
        t["_capacity_mbps_parses"] = ~bad
    elif kind == "node_status":
        for c in ("node_id", "state", "power"):
            t[c] = _text(col(c))
        t["_node_known"] = _isin(t["node_id"], ctx.known_nodes) | t["node_id"].isna()
        t["battery_remaining_min"], bad = _number(col("battery_remaining_min"))
        t["_battery_remaining_min_parses"] = ~bad
        t["_battery_remaining_min_in_range"] = _in_range(t["battery_remaining_min"], "battery_remaining_min")
    elif kind == "link_status":
        for c in ("link_id", "state"):
            t[c] = _text(col(c))
        t["_link_known"] = _isin(t["link_id"], ctx.known_links) | t["link_id"].isna()
    elif kind == "power_status":
        for c in ("power_feed", "state"):
            t[c] = _text(col(c))
        tm = _time(col("expected_restore_at"))
        t["expected_restore_at"] = tm["ts"]
        t["_expected_restore_at_has_offset"] = ~(tm["naive"] | tm["epoch"] | tm["word"])
        t["_expected_restore_at_parses"] = ~tm["bad"]
    return t


# --- the engines: in-process for small parts, Great Expectations for large ones -------------------

def _unexpected(etype: str, column: pd.Series, kw: dict) -> np.ndarray | None:
    """The rows of ``column`` that fail one expectation, as Great Expectations 1.x decides them
    on pandas (``great_expectations/expectations/metrics/column_map_metrics``), or ``None`` for
    an expectation type or argument evaluated only by Great Expectations.

    Missing values (``isna``) fail ``not_be_null`` and are skipped by the other two, as Great
    Expectations filters them out of map expectations.

    >>> s = pd.Series([1.0, None, -2.0, 5.0])
    >>> _unexpected("ExpectColumnValuesToBeBetween", s, {"min_value": 0, "max_value": 5, "strict_max": True})
    array([False, False,  True,  True])
    >>> _unexpected("ExpectColumnValuesToNotBeNull", s, {})
    array([False,  True, False, False])
    """
    if etype == "ExpectColumnValuesToNotBeNull" and not kw:
        return column.isna().to_numpy(dtype=bool)
    if etype == "ExpectColumnValuesToBeInSet" and set(kw) == {"value_set"}:
        ok = column.isin(kw["value_set"])
    elif etype == "ExpectColumnValuesToBeBetween" and set(kw) <= {"min_value", "max_value", "strict_min", "strict_max"}:
        lo, hi = kw.get("min_value"), kw.get("max_value")
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if (lo is None and hi is None) or not numeric:  # GX raises, or compares value by value
            return None
        ok = pd.Series(True, index=column.index)
        if lo is not None:
            ok &= (column > lo) if kw.get("strict_min") else (column >= lo)
        if hi is not None:
            ok &= (column < hi) if kw.get("strict_max") else (column <= hi)
    else:
        return None
    return (column.notna() & ~ok).to_numpy(dtype=bool)


def _first_failures_in_process(kind: str, typed: pd.DataFrame) -> np.ndarray | None:
    """Each row's first failing rule (its position in the suite; -1: none), or ``None`` when the
    suite holds an expectation only Great Expectations evaluates."""
    first = np.full(len(typed), -1, dtype=np.int64)
    for order, (etype, column, _, _, kw) in enumerate(expectation_suite_spec(kind)):
        bad = _unexpected(etype, typed[column], kw)
        if bad is None:
            return None
        first[bad & (first < 0)] = order
    return first


def _first_failures_gx(kind: str, typed: pd.DataFrame) -> np.ndarray:
    """Each row's first failing rule (its position in the suite; -1: none) by Great Expectations."""
    _, batch_definition = _context()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": typed})
    result = batch.validate(_suite(kind), result_format={"result_format": "COMPLETE"})
    first_failure = np.full(len(typed), -1, dtype=np.int64)
    spec = expectation_suite_spec(kind)
    for res in result.results:
        if res.success:
            continue
        order = res.expectation_config.meta["order"]
        idx = res.result.get("unexpected_index_list") or []
        if not idx and res.result.get("unexpected_count"):
            raise RuntimeError(f"expectation {spec[order][0]} gave no row indices")
        idx = np.asarray([i if not isinstance(i, dict) else i["index"] for i in idx], dtype=np.int64)
        free = idx[(first_failure[idx] < 0) | (first_failure[idx] > order)]
        first_failure[free] = order
    return first_failure


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch (an md5 over all values: seconds at a million rows)
    # only to label it; our batches are labelled by the feed file's sha256 instead.
    pandas_execution_engine.HASH_THRESHOLD = 0
    ctx = gx.get_context(mode="ephemeral")
    try:
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    asset = ctx.data_sources.add_pandas("feeds").add_dataframe_asset("rows")
    return ctx, asset.add_batch_definition_whole_dataframe("all_rows")


@cache
def _suite(kind: str):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    ctx, _ = _context()
    suite = gx.ExpectationSuite(name=f"resilience_{kind}")
    for i, (etype, column, field_, reason, kw) in enumerate(expectation_suite_spec(kind)):
        cls = getattr(gxe, etype)
        suite.add_expectation(cls(column=column, meta={"order": i, "field": field_, "reason": reason}, **kw))
    return ctx.suites.add(suite)


def validate_rows(kind: str, raw: pd.DataFrame, lines: np.ndarray, ctx: ValidationContext) -> Validated:
    """Validate raw string rows of one feed kind with its expectation suite.

    Returns the typed good rows (with a ``_line`` column) and one :class:`Reject` per bad row:
    the first rule (in suite order) it broke. Parts of ``ctx.gx_min_rows`` rows or more run
    through Great Expectations, smaller ones in-process (the same suite, the same result).
    """
    typed = _typed(kind, raw.reset_index(drop=True), ctx)
    typed["_line"] = np.asarray(lines, dtype=np.int64)
    if typed.empty:
        return Validated(typed, [])
    first_failure = _first_failures_in_process(kind, typed) if len(typed) < ctx.gx_min_rows else None
    if first_failure is None:
        first_failure = _first_failures_gx(kind, typed)
    spec = expectation_suite_spec(kind)
    bad_rows = np.flatnonzero(first_failure >= 0)
    rejects: list[Reject] = []
    for r in bad_rows:
        etype, column, field_, reason, _ = spec[first_failure[r]]
        src = field_ if field_ in raw.columns else None
        value = raw.iat[r, raw.columns.get_loc(src)] if src else None
        if isinstance(value, float) and math.isnan(value):
            value = None
        rejects.append(Reject(int(typed["_line"].iat[r]), field_, value, _rule_name(etype), reason))
    good = typed.drop(index=bad_rows) if len(bad_rows) else typed
    return Validated(good.reset_index(drop=True), rejects)


def _rule_name(etype: str) -> str:
    """``ExpectColumnValuesToBeInSet`` -> ``expect_column_values_to_be_in_set``."""
    out = []
    for ch in etype:
        if ch.isupper() and out:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
