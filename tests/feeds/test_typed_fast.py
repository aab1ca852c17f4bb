"""The Arrow fast paths of validation's typed columns give exactly what the pandas/Python ``re``
code before them gave (kept here as the reference), on hostile values: Unicode digits and
spaces, control characters, newlines, odd offsets, epochs, words, numbers in every form
``pd.to_numeric`` knows (``-0`` included, whose value depends on the rest of the column)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resilience.feeds import validate
from resilience.feeds.validate import _EPOCH_RE, _OFFSET_RE, _WORD_RE, ValidationContext

NOW = datetime(2024, 6, 1, 1, tzinfo=UTC)


# --- the reference: the implementations before the Arrow fast paths ---------------------------

def _old_number(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    s = raw.astype(str).str.strip()
    num = pd.to_numeric(s.str.replace(",", "", regex=False).where(s != "", None), errors="coerce")
    num = num.astype("float64")
    return num, (s != "") & num.isna()


def _old_time(raw: pd.Series) -> dict[str, pd.Series]:
    s = raw.astype(str).str.strip()
    given_ = s != ""
    epoch = given_ & s.str.match(_EPOCH_RE)
    word = given_ & ~epoch & s.str.match(_WORD_RE)
    has_offset = s.str.contains(_OFFSET_RE, regex=True)
    naive = given_ & ~epoch & ~word & ~has_offset
    ts = pd.to_datetime(s.where(given_ & has_offset, None), format="ISO8601", utc=True, errors="coerce")
    return {"ts": ts, "epoch": epoch, "word": word, "naive": naive, "bad": given_ & has_offset & ts.isna()}


def _old_isin(values: pd.Series, known) -> pd.Series:
    if known is None:
        return pd.Series(True, index=values.index)
    if not isinstance(known, pd.Index):
        known = pd.Index(list(known), dtype=object)
    if known.is_unique:
        return pd.Series(known.get_indexer(values.to_numpy(dtype=object)) >= 0, index=values.index)
    return values.isin(known)


# --- hostile values ---------------------------------------------------------------------------

ODD = ["\u0663", "\uff11", "\u00a0", "\u3000", "\u2009", "\x0b", "\x1c", "\x85", "\n", "\t", "\r", " ",
       "\u200b", "\ufeff", "\u0000", "\U0001d7d9", "é", "Ⅻ", "²"]
DIGITS = st.sampled_from("0123456789")


@st.composite
def times(draw) -> str:
    d2 = lambda: draw(DIGITS) + draw(DIGITS)  # noqa: E731
    base = f"20{d2()}-{d2()}-{d2()}"
    sep = draw(st.sampled_from(["T", " ", "t", ""]))
    clock = draw(st.sampled_from([f"{d2()}:{d2()}:{d2()}", f"{d2()}{d2()}{d2()}", f"{d2()}:{d2()}",
                                  f"{d2()}:{d2()}:{d2()}.{d2()}", f"{d2()}:{d2()}:{d2()},5", ""]))
    space = draw(st.sampled_from(["", " ", "  ", "\t", "\u3000", "\u00a0", "\x0b"]))
    offset = draw(st.sampled_from(["Z", "z", "+09:00", "-0500", "+09", "+9", "+09:0", "", "+24:00", "-00:00"]))
    text = base + sep + clock + space + offset
    if draw(st.booleans()):  # one odd character somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
    return draw(st.sampled_from(["", " ", "\u3000", "\n", "\t"])) + text + draw(
        st.sampled_from(["", " ", "\u3000", "\n", "\u2028", "\x1c"]))


TIME_VALUES = st.one_of(
    times(),
    st.sampled_from(["", " ", "yesterday", "now", "last week", "Now!", "é", "ａｂｃ", "a1", "_x",
                     "1717200000", "+1717200000.5", "-171720000", "1717200000\n", "１７１７２０００００",
                     "171720000\u0663", "17172000", "2024-06-01", "12:00", "１２:００+09:00",
                     "2024-06-01T12:00:00+09:00\n", "2024-06-01T12:00:00 +09:00", "nan", "None"]),
    st.text(alphabet=st.sampled_from(list("0123456789:+-TZz .,") + ODD), max_size=30),
    st.text(max_size=12),
)


@st.composite
def numbers(draw) -> str:
    core = draw(st.one_of(
        st.integers(-10**20, 10**20).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.decimals(allow_nan=False, allow_infinity=False, places=draw(st.integers(0, 20))).map(str),
        st.sampled_from(["-0", "-00", "-0.0", "0", "+5", " 1e3", "1E+02", "inf", "-Infinity", "INF", "nan",
                         "NaN", "1_000", "1,000", ",", "1,5", ".5", "5.", "0x10", "１２", "\u0663", "1d3",
                         "- 1", "True", "None", "", "1e400", "-1e-400", "9007199254740993",
                         "18446744073709551615", "-9223372036854775809", "123456789012345",
                         "1234567890123456", "0.1234567890123", "141.34645", "-43.062"]),
        st.text(alphabet=st.sampled_from(list("0123456789-+.,eE_ ") + ODD), max_size=20),
    ))
    return draw(st.sampled_from(["", " ", "\u3000", "\t"])) + core + draw(st.sampled_from(["", " ", "\n", "\u00a0"]))


def _column(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype=str)


# --- the comparisons --------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(numbers(), max_size=25), st.lists(st.sampled_from(["1", "-1", "0.5", "", "-0", "7"]), max_size=3))
def test_number_is_the_old_number(values: list[str], context: list[str]) -> None:
    raw = _column(values + context)
    num, bad = validate._number(raw)
    old_num, old_bad = _old_number(raw)
    pd.testing.assert_series_equal(num, old_num, check_exact=True)
    assert np.array_equal(np.signbit(num.to_numpy()), np.signbit(old_num.to_numpy()))  # -0.0 is not 0.0
    pd.testing.assert_series_equal(bad, old_bad)


@pytest.mark.parametrize("values", [["-0", "1"], ["-0", "1.5"], ["-0", ""], ["-0"], ["-0", "-1"], ["-00", "x"],
                                    ["18446744073709551615", "-1"], ["18446744073709551615", "1"],
                                    ["9007199254740993", "0.5"], [None, "-0", "3"], []])
def test_number_keeps_the_column_dependent_cases(values: list[str | None]) -> None:
    raw = _column(values)
    num, _ = validate._number(raw)
    old_num, _ = _old_number(raw)
    pd.testing.assert_series_equal(num, old_num, check_exact=True)
    assert np.array_equal(np.signbit(num.to_numpy()), np.signbit(old_num.to_numpy()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TIME_VALUES, max_size=25))
def test_time_is_the_old_time(values: list[str]) -> None:
    raw = _column(values)
    new, old = validate._time(raw), _old_time(raw)
    for key in old:
        pd.testing.assert_series_equal(new[key], old[key], check_names=False, obj=key)


def test_time_with_missing_values() -> None:
    raw = pd.Series(["2024-06-01T12:00:00+09:00", None, np.nan, "１２:00+09:00"], dtype=object)
    new, old = validate._time(raw), _old_time(raw)
    for key in old:
        pd.testing.assert_series_equal(new[key], old[key], check_names=False, obj=key)


IDS = st.one_of(st.sampled_from(["n1", "n2", " n1", "n1 ", "N1", "n\u00a01", "ｎ1", "", "n1\n", "é", "e\u0301"]),
                st.text(max_size=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(IDS, st.none()), max_size=15), st.lists(IDS, max_size=10),
       st.sampled_from(["object", "str", "list", "arrow", "none"]))
def test_isin_is_the_old_isin(values: list[str | None], known: list[str], form: str) -> None:
    col = _column(values)
    given_known = {"object": pd.Index(known, dtype=object), "str": pd.Index(known, dtype=str), "list": known,
                   "arrow": pa.array(known, type=pa.string()), "none": None}[form]
    reference = None if form == "none" else pd.Index(known, dtype=object)
    old = _old_isin(col, reference)
    new = validate._isin([col, col.iloc[::-1]], given_known)
    pd.testing.assert_series_equal(new[0], old)
    pd.testing.assert_series_equal(new[1], old.iloc[::-1])


def test_isin_of_ids_that_are_not_text() -> None:
    col = _column(["1", "2", None])
    for known in (pd.Index([1, "2"], dtype=object), [1, "2", None], pd.Index(["1", None], dtype=object)):
        assert validate._isin([col], known)[0].tolist() == _old_isin(col, known).tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TIME_VALUES, IDS, numbers()), min_size=1, max_size=12))
def test_typed_status_is_the_old_typed(rows: list[tuple[str, str, str]]) -> None:
    raw = pd.DataFrame({"observed_at": [r[0] for r in rows], "node_id": [r[1] for r in rows], "state": "up",
                        "power": "grid", "battery_remaining_min": [r[2] for r in rows]}, dtype=str)
    ctx = ValidationContext(known_nodes=pd.Index(["n1", "n2", "é"], dtype=object), now=NOW,
                            past_horizon=timedelta(days=3650), gx_min_rows=10**9)
    typed = validate._typed("node_status", raw, ctx)
    tm, (num, bad) = _old_time(raw["observed_at"]), _old_number(raw["battery_remaining_min"])
    assert typed["observed_at"].equals(tm["ts"])
    assert typed["_observed_at_has_offset"].tolist() == (~tm["naive"]).tolist()
    assert typed["_observed_at_parses"].tolist() == (~tm["bad"]).tolist()
    pd.testing.assert_series_equal(typed["battery_remaining_min"], num, check_names=False, check_exact=True)
    assert typed["_battery_remaining_min_parses"].tolist() == (~bad).tolist()
    node = typed["node_id"]
    assert typed["_node_known"].tolist() == (_old_isin(node, ctx.known_nodes) | node.isna()).tolist()


def test_text_not_held_by_arrow() -> None:
    """Columns of Python strings (object or the python-storage string dtype) give the same."""
    values = ["n1", None, "１２:00+09:00", "12:00Z", "x"]
    for dtype in (object, pd.StringDtype("python")):
        col = pd.Series(values, dtype=dtype)
        arrow = pd.Series(values, dtype=str)
        assert validate._isin([col], ["n1", "x"])[0].tolist() == [True, False, False, False, True]
        assert (validate._regex(col, _OFFSET_RE, validate._OFFSET_RE2, search=True).tolist()
                == validate._regex(arrow, _OFFSET_RE, validate._OFFSET_RE2, search=True).tolist()
                == [False, False, True, True, False])
