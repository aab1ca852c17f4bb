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
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
           "id_set", "positions_in", "preload_great_expectations", "utc_now"]

# An offset after a time of day (``16:10:00+09:00``, ``161000Z``): a bare date's ``-01`` is no offset.
_OFFSET_RE = r"\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
_EPOCH_RE = r"^[+-]?\d{9,}(?:\.\d*)?$"  # seconds (or milliseconds) since 1970
_WORD_RE = r"^[^\W\d_][^\d]*$"  # letters and spaces only: 'yesterday', 'now', 'last week'
# The same three for RE2 (pyarrow) on printable ASCII text (0x20-0x7e), where Python's ``\d`` is ``[0-9]``,
# ``\s`` a space, ``[^\W\d_]`` a letter and ``$`` the end (no newline): see :func:`_regex`.
_OFFSET_RE2 = _OFFSET_RE.replace(r"\d", "[0-9]").replace(r"\s", " ")
_EPOCH_RE2 = _EPOCH_RE.replace(r"\d", "[0-9]")
_WORD_RE2 = r"^[A-Za-z][^0-9]*$"

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


def _arrow(s: pd.Series | pd.Index) -> pa.ChunkedArray:
    """The Arrow strings of a text column or index (no copy for pandas' Arrow-backed ``str``)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return pa.chunked_array(s.array.__arrow_array__())
    return pa.chunked_array([pa.array(s.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)])


def _regex(s: pd.Series, pattern: str, printable_pattern: str, *, search: bool = False) -> pd.Series:
    """``s.str.match(pattern)`` (``search``: ``s.str.contains(pattern)``), Python ``re`` semantics.

    RE2 (pyarrow) with ``printable_pattern`` decides the rows of printable ASCII text, where it
    means what ``pattern`` means to Python; pandas decides the others (non-ASCII digits and
    spaces, control characters, newlines before ``$``, missing values) as it always did.

    >>> s = pd.Series(["12:00+09:00", "12:00\u3000+09:00", "１２:00+09:00", "12:00"], dtype=str)
    >>> _regex(s, _OFFSET_RE, _OFFSET_RE2, search=True).tolist()
    [True, True, True, False]
    """
    arr = _arrow(s)
    printable = pc.fill_null(pc.and_(pc.string_is_ascii(arr), pc.ascii_is_printable(arr)), False).to_numpy()
    out = pc.fill_null(pc.match_substring_regex(arr, printable_pattern), False).to_numpy(zero_copy_only=False)
    out = np.asarray(out, dtype=bool).copy()
    other = ~np.asarray(printable, dtype=bool)
    if other.any():
        rest = s[other]
        found = rest.str.contains(pattern, regex=True, na=False) if search else rest.str.match(pattern, na=False)
        out[other] = found.to_numpy(dtype=bool)
    return pd.Series(out, index=s.index)


def _to_float(s: pd.Series) -> np.ndarray:
    """``pd.to_numeric`` of trimmed text without its commas (empty: missing) as float64."""
    num = pd.to_numeric(s.str.replace(",", "", regex=False).where(s != "", None), errors="coerce")
    return num.to_numpy(dtype="float64")


def _number(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parsed floats and a flag 'given but not a number' (``nan`` text counts as not a number).

    Plain decimals of at most 15 characters (``-12.5``, ``400000``: at most 15 digits, which
    pandas' parser and Arrow's both round correctly to the same double) are cast by Arrow; the
    rest (``inf``, ``1e3``, ``+5``, ``-0``, long or odd text) by ``pd.to_numeric`` as before.
    ``pd.to_numeric`` reads ``-0`` as ``0.0`` or ``-0.0`` depending on the other values of the
    column (integers only or not), so those rows are parsed together with one sample of each
    kind of plain value around them.

    >>> num, bad = _number(pd.Series(["1,000.5", "", "-0", "inf", "x", " 7 "], dtype=str))
    >>> num.tolist()[0], num.tolist()[2:4], num.tolist()[5], bad.tolist()
    (1000.5, [-0.0, inf], 7.0, [False, False, False, False, True, False])
    """
    s = raw.astype(str).str.strip()
    text = _arrow(s.str.replace(",", "", regex=False))
    plain = pc.and_(pc.match_substring_regex(text, r"^-?[0-9]+(?:\.[0-9]+)?$"),
                    pc.less_equal(pc.utf8_length(text), 15))
    plain = pc.and_not(plain, pc.match_substring_regex(text, r"^-0+$"))
    plain = np.asarray(pc.fill_null(plain, False).to_numpy(zero_copy_only=False), dtype=bool)
    empty = (s == "").to_numpy(dtype=bool)
    num = np.full(len(s), np.nan)
    num[plain] = pc.cast(text.filter(pa.array(plain)), pa.float64()).to_numpy(zero_copy_only=False)
    slow = ~plain & ~empty
    if slow.any():
        decimal = plain & np.asarray(pc.fill_null(pc.match_substring(text, "."), False)
                                     .to_numpy(zero_copy_only=False), dtype=bool)
        negative = plain & ~decimal & np.asarray(pc.fill_null(pc.starts_with(text, "-"), False)
                                                 .to_numpy(zero_copy_only=False), dtype=bool)
        samples = [v for v, seen in (("", empty), ("0.5", decimal), ("-1", negative),
                                     ("1", plain & ~decimal & ~negative)) if seen.any()]
        rest = pd.concat([s[slow], pd.Series(samples, dtype=s.dtype)], ignore_index=True)
        num[slow] = _to_float(rest)[: int(slow.sum())]
    num = pd.Series(num, index=s.index)
    bad = (s != "") & num.isna()
    return num, bad


def _time(raw: pd.Series) -> dict[str, pd.Series]:
    """Parsed UTC times (``ts``) and flags of what is wrong with the given ones: ``epoch``
    (seconds since 1970), ``word`` ('yesterday'), ``naive`` (no offset), ``bad`` (unparseable)."""
    s = raw.astype(str).str.strip()
    given = s != ""
    epoch = given & _regex(s, _EPOCH_RE, _EPOCH_RE2)
    word = given & ~epoch & _regex(s, _WORD_RE, _WORD_RE2)
    has_offset = _regex(s, _OFFSET_RE, _OFFSET_RE2, search=True)
    naive = given & ~epoch & ~word & ~has_offset
    ts = pd.to_datetime(s.where(given & has_offset, None), format="ISO8601", utc=True, errors="coerce")
    bad = given & has_offset & ts.isna()
    return {"ts": ts, "epoch": epoch, "word": word, "naive": naive, "bad": bad}


def _in_range(values: pd.Series, name: str) -> pd.Series:
    """Missing, or at most the field's maximum (``inf`` where the field allows it)."""
    _, hi, _, inf_ok = NUMBER_RANGES[name]
    ok = values.isna() | (values <= hi)
    return ok | (values == np.inf) if inf_ok else ok


def _known_set(known: Iterable[str] | pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """Known ids as an Arrow value set for :func:`_isin`, or ``None`` when they are not all
    text (then pandas compares them value by value)."""
    if isinstance(known, pa.ChunkedArray | pa.Array):
        arr = known.combine_chunks() if isinstance(known, pa.ChunkedArray) else known
        text = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        return arr if text and not arr.null_count else None
    if isinstance(known, pd.Index) and isinstance(known.dtype, pd.StringDtype):
        if known.dtype.storage == "pyarrow" and not known.hasnans:
            return _arrow(known).combine_chunks()
        return None
    values = known.to_numpy(dtype=object) if isinstance(known, pd.Index) else np.array(list(known), dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):
        return None
    return pa.array(values, type=pa.large_string())


def _isin(columns: list[pd.Series], known: Iterable[str] | pa.Array | pa.ChunkedArray | None) -> list[pd.Series]:
    """Whether each value of each column is one of ``known`` (all ``True``: ``known`` is ``None``).

    One Arrow hash lookup for all the columns (UTF-8 bytes compared: the same as Python's ``==``
    on text); ids that are not all text (or hold missing values) are compared by pandas.

    >>> a, b = pd.Series(["n1", "x", None], dtype=str), pd.Series(["n2", "n1", "n1"], dtype=str)
    >>> [s.tolist() for s in _isin([a, b], pd.Index(["n1", "n2"], dtype=object))]
    [[True, False, False], [True, True, True]]
    """
    if known is None:
        return [pd.Series(True, index=s.index) for s in columns]
    value_set = _known_set(known)
    if value_set is None:
        if isinstance(known, pa.Array | pa.ChunkedArray):
            known = known.to_pylist()
        ids = known if isinstance(known, pd.Index) else pd.Index(list(known), dtype=object)
        if ids.is_unique:
            return [pd.Series(ids.get_indexer(s.to_numpy(dtype=object)) >= 0, index=s.index) for s in columns]
        return [s.isin(ids) for s in columns]
    both = pa.chunked_array([c.cast(pa.large_string()) for s in columns for c in _arrow(s).chunks],
                            type=pa.large_string())
    value_set = value_set.cast(pa.large_string())
    hit = np.asarray(pc.is_in(both, value_set=value_set).to_numpy(zero_copy_only=False), dtype=bool)
    out, start = [], 0
    for s in columns:
        out.append(pd.Series(hit[start:start + len(s)], index=s.index))
        start += len(s)
    return out


def id_set(known: pd.Index) -> pd.Index | pa.Array:
    """Known ids in the form :func:`positions_in` and the reference checks look them up in
    fastest: one Arrow text array when they are all text (converted once here, not by every
    lookup), else the index as given.

    >>> id_set(pd.Index(["n1", "n2"], dtype=object)).to_pylist(), id_set(pd.Index([1, 2])).tolist()
    (['n1', 'n2'], [1, 2])
    """
    value_set = _known_set(known)
    return known if value_set is None else value_set


def positions_in(values: pd.Series, known: pd.Index | pa.Array) -> np.ndarray:
    """Where each value is in the unique ids ``known`` (its position; -1: not there, or missing).

    One Arrow hash lookup when the ids are all text (the same value set :func:`_isin` builds),
    else pandas' ``get_indexer``.

    >>> positions_in(pd.Series(["n2", "x", None], dtype=str), pd.Index(["n1", "n2"], dtype=object)).tolist()
    [1, -1, -1]
    """
    value_set = _known_set(known)
    if value_set is None:
        return pd.Index(known).get_indexer(values.to_numpy(dtype=object))
    at = pc.index_in(_arrow(values).cast(pa.large_string()), value_set=value_set.cast(pa.large_string()))
    return np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


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
        a_known, b_known = _isin([t["a"], t["b"]], ctx.known_nodes)
        t["_a_known"] = a_known | t["a"].isna()
        t["_b_known"] = b_known | t["b"].isna()
        t["_not_self_loop"] = (t["a"] != t["b"]) | t["a"].isna()
        t["capacity_mbps"], bad = _number(col("capacity_mbps"))
        t["_capacity_mbps_parses"] = ~bad
    elif kind == "node_status":
        for c in ("node_id", "state", "power"):
            t[c] = _text(col(c))
        t["_node_known"] = _isin([t["node_id"]], ctx.known_nodes)[0] | t["node_id"].isna()
        t["battery_remaining_min"], bad = _number(col("battery_remaining_min"))
        t["_battery_remaining_min_parses"] = ~bad
        t["_battery_remaining_min_in_range"] = _in_range(t["battery_remaining_min"], "battery_remaining_min")
    elif kind == "link_status":
        for c in ("link_id", "state"):
            t[c] = _text(col(c))
        t["_link_known"] = _isin([t["link_id"]], ctx.known_links)[0] | t["link_id"].isna()
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
    """Each row's first failing rule (its position in the suite; -1: none) by Great Expectations.

    Only the columns the suite names are handed over: Great Expectations copies every column of
    the batch for each expectation it evaluates (its row filters), and the other text columns
    change nothing in its result.
    """
    _, batch_definition = _context()
    spec = expectation_suite_spec(kind)
    typed = typed[list(dict.fromkeys(column for _, column, *_ in spec))]
    batch = batch_definition.get_batch(batch_parameters={"dataframe": typed})
    result = batch.validate(_suite(kind), result_format={"result_format": "COMPLETE"})
    first_failure = np.full(len(typed), -1, dtype=np.int64)
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


_gx_loading = threading.Lock()


def _context():
    """Great Expectations' ephemeral context and the batch definition of a whole frame, made
    once per process (a call while :func:`preload_great_expectations` is at it waits for it)."""
    with _gx_loading:
        return _make_context()


def preload_great_expectations() -> threading.Thread:
    """Start importing Great Expectations and making its context in a background thread, so
    that the ~3 s it takes overlaps the reading and parsing of a feed part large enough to be
    validated by it (``gx_min_rows`` rows or more). Returns the (daemon) thread.

    >>> preload_great_expectations().join(); _make_context.cache_info().currsize
    1
    """
    loader = threading.Thread(target=_context, name="preload-great-expectations", daemon=True)
    loader.start()
    return loader


@lru_cache(maxsize=1)
def _make_context():
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
