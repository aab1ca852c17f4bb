"""The Arrow CSV path of the reader reads exactly what the pandas / csv-module paths read.

``_arrow_csv`` (Arrow's multi-threaded reader) takes the files whose every line is one record of
the header's width with plain RFC 4180 quoting; everything else falls back to ``_fast_csv`` (pandas)
and then to the exact csv-module path. Hostile bodies are read both ways (the Arrow path switched
off for the reference) and must give the same ``RawFeed`` field by field; ordinary files must
really take the Arrow path.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resilience.errors import BadInput
from resilience.feeds import readers
from resilience.feeds.readers import ReadLimits, read_feed

LINK_STATUS = "observed_at,link_id,state"
NODES = "node_id,kind,operator,name,lat,lon,prefecture,municipality,subscribers,battery_hours,power_feed"


def _read(path: Path, *, arrow: bool, monkeypatch: pytest.MonkeyPatch):
    """``read_feed`` with the Arrow path on, or off (the reference: the paths that existed before)."""
    with monkeypatch.context() as m:
        if not arrow:
            m.setattr(readers, "_arrow_csv", lambda *args: False)
        return read_feed(path, limits=ReadLimits())


def _assert_same(new, old) -> None:
    assert (new.path, new.sha256, new.kind, new.format, new.encoding) == (
        old.path, old.sha256, old.kind, old.format, old.encoding)
    assert list(new.frame.columns) == list(old.frame.columns)
    assert new.frame.columns.dtype == old.frame.columns.dtype
    assert list(new.frame.dtypes) == list(old.frame.dtypes)
    assert new.frame.index.equals(old.frame.index)
    assert new.frame.to_numpy(dtype=object).tolist() == old.frame.to_numpy(dtype=object).tolist()
    assert new.frame.equals(old.frame)
    assert np.asarray(new.lines).dtype == np.asarray(old.lines).dtype
    assert np.asarray(new.lines).tolist() == np.asarray(old.lines).tolist()
    assert new.rejects == old.rejects


def _quoted(value: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow([value])
    return buf.getvalue()[:-1]


_VALUES = st.one_of(
    st.sampled_from(["", " ", "NA", "nan", "N/A", "null", "x", "a b", "輪島", "\u3000", "\x1f", "é", "1,5", "inf"]),
    st.text(alphabet=st.sampled_from(list('ab ,"\x1f\t輪') + ["\u00a0"]), max_size=6),
)


@st.composite
def _fields(draw, raw: bool = True) -> str:
    """One field as written in a file: plain, RFC-quoted, or raw (possibly with stray quotes)."""
    value = draw(_VALUES)
    if not raw:  # the pandas path's end-of-row marker: that path is then never taken
        value = value.replace("\x1f", "")
    how = draw(st.sampled_from(["plain", "quoted", "quoted"] + ["raw"] * raw))
    if how == "quoted":
        return _quoted(value)
    if how == "plain":
        return value.replace('"', "").replace(",", "")
    return value


@st.composite
def csv_bodies(draw) -> tuple[str, str]:
    """(header, body) of a CSV feed: mostly good rows, with blank lines, lines of only separators
    or spaces, short and long rows, trailing commas, stray quotes and values over two lines."""
    header = draw(st.sampled_from([LINK_STATUS, NODES, LINK_STATUS + ",", '"observed_at","link_id","state"']))
    width = len(header.rstrip(",").split(","))
    hostile = draw(st.booleans())  # else only what the Arrow path reads itself
    shapes = ["row"] * 6 + ["blank", "commas"] + hostile * ["spaces", "short", "long", "trailing", "spanning", "stray"]
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        shape = draw(st.sampled_from(shapes))
        if shape == "blank":
            lines.append("")
        elif shape == "spaces":
            lines.append(" " * draw(st.integers(1, 3)))
        elif shape == "commas":
            n = draw(st.integers(2, width + 2)) if hostile else width
            lines.append(",".join(draw(st.sampled_from(["", " ", '""', '" "'])) for _ in range(n)))
        elif shape == "spanning":
            lines.append(",".join([_quoted("two\nlines")] + ["v"] * (width - 1)))
        elif shape == "stray":
            lines.append(",".join(['a"b', '"c"d'] + ["v"] * (width - 2)))
        else:
            n = {"row": width, "short": max(1, width - draw(st.integers(1, 2))), "long": width + draw(st.integers(1, 2)),
                 "trailing": width}[shape]
            line = ",".join(draw(_fields(raw=hostile)) for _ in range(n))
            lines.append(line + ("," if shape == "trailing" else ""))
    if draw(st.integers(0, 3)) == 0:  # a trailing comma on every line (some exports write them)
        lines = [line + "," if line else line for line in lines]
    body = "\n".join(lines)
    if lines and draw(st.booleans()):
        body += "\n"
    return header, body


_compare = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_compare
@given(data=csv_bodies(), newline=st.sampled_from(["\n", "\r\n"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]))
def test_hostile_bodies_read_the_same_with_and_without_arrow(tmp_path, monkeypatch, data, newline, encoding):
    header, body = data
    text = (header + "\n" + body).replace("\n", newline)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
    path = tmp_path / "feed.csv"
    path.write_bytes(raw)
    try:
        old = _read(path, arrow=False, monkeypatch=monkeypatch)
    except BadInput as exc:  # the same refusal both ways
        with pytest.raises(type(exc)):
            _read(path, arrow=True, monkeypatch=monkeypatch)
        return
    _assert_same(_read(path, arrow=True, monkeypatch=monkeypatch), old)


def _ordinary(n: int) -> str:
    """A link status body as exporters write it: every value quoted, with doubled quotes, quoted
    separators, an empty quoted value, a trailing empty optional field, blank lines."""
    rows = [f'"2024-06-01T09:00:{i % 60:02d}+09:00","L{i:08d}","up"' for i in range(n)]
    rows[1] = '"2024-06-01T09:00:01+09:00","L""1"" ,輪島","down"'
    rows[2] = '"","NA",nan'
    rows[3] = ""
    rows[4] = ",,"
    rows[5] = '" ",\x1c,"\u3000"'
    return '"observed_at","link_id","state"\n' + "\n".join(rows) + "\n"


def test_ordinary_files_take_the_arrow_path_and_read_the_same(tmp_path, monkeypatch):
    path = tmp_path / "link_status.csv"
    path.write_text(_ordinary(50), encoding="utf-8")
    old = _read(path, arrow=False, monkeypatch=monkeypatch)
    taken = []
    with monkeypatch.context() as m:
        m.setattr(readers, "_fast_csv", lambda body, out: taken.append("pandas"))
        new = read_feed(path, limits=ReadLimits())
    assert taken == []  # neither the pandas nor the csv-module path read it
    _assert_same(new, old)
    assert new.frame["link_id"].iloc[1] == 'L"1" ,輪島' and list(new.lines[:4]) == [2, 3, 4, 8]
    assert new.frame.loc[2].tolist() == ["", "NA", "nan"]


def test_a_trailing_comma_on_every_row_takes_the_arrow_path(tmp_path, monkeypatch):
    path = tmp_path / "link_status.csv"
    path.write_text(LINK_STATUS + ",\n" + "".join(f'2024-06-01T09:00:00+09:00,"L{i}",up,\n' for i in range(20))
                    + ",,,\n\n", encoding="utf-8")
    old = _read(path, arrow=False, monkeypatch=monkeypatch)
    with monkeypatch.context() as m:
        m.setattr(readers, "_fast_csv", lambda body, out: pytest.fail("the pandas path read it"))
        new = read_feed(path, limits=ReadLimits())
    _assert_same(new, old)
    assert list(new.frame.columns) == LINK_STATUS.split(",") and len(new.frame) == 20


@pytest.mark.parametrize("body", [
    "a,b,c\na,b\n",  # a short row: its reject needs its line
    "a,b,c\na,b,c,\n",  # one extra empty field on a row
    'a,"b\nc",d\n',  # a quoted value over two lines
    'a,b"c,d\n',  # a quote inside a plain value
    'a,"b"c,d\n',  # text after a closing quote
    ' "a",b,c\n',  # a space before an opening quote
    "a,b\x1f,c\n",  # the pandas path's end-of-row marker in the data
    "a,b,c",  # the last line is not ended (it may be cut short)
])
def test_what_arrow_does_not_read_is_left_to_the_other_paths(tmp_path, monkeypatch, body):
    path = tmp_path / "link_status.csv"
    path.write_text(LINK_STATUS + "\n" + body, encoding="utf-8")
    out = readers._Body(LINK_STATUS.split(","))
    used = readers._arrow_csv(body if body.endswith("\n") else "", out)
    assert not used and out.frame is None and out.rejects == []
    _assert_same(_read(path, arrow=True, monkeypatch=monkeypatch), _read(path, arrow=False, monkeypatch=monkeypatch))


@pytest.mark.parametrize("data", [
    "a,b,c\nd,e,輪島".encode()[:-1],  # UTF-8 cut inside the last character: U+FFFD in the text
    "a,b,c\nd,e,輪島".encode()[:-1] + b"\n",
    "a,b,c\r\nd,e,輪島\r\n".encode(),
    "\ufeffa,b,c\nd,e,輪島\n".encode(),
    "a,b,c\nd,e,輪島\n".encode("cp932"),
    b"a,b,c\nd,e,f\nd,e",  # a cut last line
])
def test_text_that_is_not_the_file_bytes_reads_the_same(tmp_path, monkeypatch, data):
    path = tmp_path / "link_status.csv"
    path.write_bytes(LINK_STATUS.encode() + b"\n" + data)
    _assert_same(_read(path, arrow=True, monkeypatch=monkeypatch), _read(path, arrow=False, monkeypatch=monkeypatch))


@pytest.mark.parametrize("data, plain", [
    (b"a,b\n", True), (b'"a","b"\n', True), (b'"a""b",""\n', True), (b'"""",""""""\n', True),
    (b'"a,b",c\n', True), (b'a"b,c\n', False), (b'"a"b,c\n', False), (b'"a\nb",c\n', False),
    (b'"a,b\n', False), (b'a,"b""\n', False),
])
def test_plain_quoting(data, plain):
    arr = np.frombuffer(data, dtype=np.uint8)
    assert readers._plain_quoting(arr, np.flatnonzero(arr == ord("\n"))) is plain


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from([b'"a"', b"a", b",", b'""', b'"', b"\n", b'"\n"', "輪".encode()]), max_size=60),
       block=st.integers(1, 9))
def test_plain_lines_in_blocks_decide_as_on_the_whole(monkeypatch, parts, block):
    arr = np.frombuffer(b"".join(parts) + b"\n", dtype=np.uint8)
    ends = np.flatnonzero(arr == ord("\n"))
    with monkeypatch.context() as m:
        m.setattr(readers, "_SCAN_BLOCK", block)
        got = readers._plain_lines(arr)
    assert (got is not None) == readers._plain_quoting(arr, ends)
    assert got is None or got.tolist() == ends.tolist()


def test_plain_lines_with_lines_longer_than_a_block(monkeypatch):
    data = b'"a",b\n' + b"x" * 200_000 + b'\n"c""d",""\n\n' + b"y" * 70_000 + b"\n"
    arr = np.frombuffer(data, dtype=np.uint8)
    monkeypatch.setattr(readers, "_SCAN_BLOCK", 5)
    assert readers._plain_lines(arr).tolist() == np.flatnonzero(arr == ord("\n")).tolist()


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from([b"a", b"bb", b"\n", b"\r", b"\r\n", b"cccc"]), max_size=40),
       cuts=st.lists(st.integers(0, 80), max_size=8), limit=st.integers(0, 6))
def test_the_line_meter_finds_the_first_line_over_the_limit(parts, cuts, limit):
    """Chunk by chunk (LF-only chunks take a shortcut), the meter refuses the first line longer than
    the limit, naming it, whatever the line ends (LF, CRLF, CR; a CRLF split between chunks)."""
    data = b"".join(parts)
    lines = re.split(rb"\r\n|\r|\n", data)
    want = next((i for i, ln in enumerate(lines, start=1) if len(ln) > limit), None)
    meter = readers._LineMeter(limit, "f.csv")
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    try:
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            meter.feed(data[lo:hi])
    except BadInput as exc:
        assert exc.line == want
    else:
        assert want is None
