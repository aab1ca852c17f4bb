"""The feed readers alone (no database): every record of a file is read or kept as a structural
reject at its own line, hostile files are refused with a message that says what they are, and
files are read in bounded memory (size limits from the settings)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from pathlib import Path

import pytest

from resilience.errors import BadInput
from resilience.feeds.readers import ReadLimits, read_feed
from tests.conftest import CONTRACT_NODES

HEADER = CONTRACT_NODES.splitlines()[0]
WIDTH = len(HEADER.split(","))


def _rows(n: int, *, quoted: bool = False) -> list[str]:
    """``n`` valid node rows N0.. (names quoted like Arrow's writer does, when ``quoted``)."""
    q = '"' if quoted else ""
    return [f"{q}N{i}{q},base_station,docomo,{q}Site {i}{q},37.{i % 100:02d},136.9,Ishikawa,Wajima,{i},6,F1"
            for i in range(n)]


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _rejects(raw) -> list[tuple[int, str | None, str]]:
    return [(r.line, r.field, r.reason) for r in raw.rejects]


# --- broken quotes (issue 11 item 1) -----------------------------------------------------------

@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "names-quoted"])
def test_unterminated_quote_is_quarantined_at_its_line_and_the_rest_is_read(tmp_path, quoted):
    rows = _rows(1000, quoted=quoted)
    rows[3] = 'N3,base_station,docomo,"Opened,37.4,136.9,Ishikawa,Wajima,3,6,F1'
    raw = read_feed(_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert raw.rows_read == 1000 and len(raw.frame) == 999
    assert _rejects(raw) == [(5, "name", "quote opened on line 5 is never closed")]
    assert list(raw.frame["node_id"].str.strip('"'))[3:5] == ["N4", "N5"]
    assert list(raw.lines[2:5]) == [4, 6, 7]


def test_unterminated_quote_followed_by_a_quoted_value_that_would_close_it(tmp_path):
    """A later row's quoted name would close the open quote (non-strict CSV joins the rows into
    one record of the right width): the rows stay separate."""
    rows = _rows(20)
    rows[3] = 'N3,base_station,docomo,"Opened,37.4,136.9,Ishikawa,Wajima,3,6,F1'
    rows[4] = 'N4,base_station,docomo,"Wajima 4",37.4,136.9,Ishikawa,Wajima,4,6,F1'
    rows[9] = 'N9,base_station,docomo,"Also opened,37.4,136.9,Ishikawa,Wajima,9,6,F1'
    rows[10] = 'N10,base_station,docomo,"Opened too,37.4,136.9,Ishikawa,Wajima,10,6,F1'
    raw = read_feed(_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert raw.rows_read == 20
    assert [r[0] for r in _rejects(raw)] == [5, 11, 12]
    assert all("quote opened on line" in r[2] for r in _rejects(raw))
    assert "Wajima 4" in set(raw.frame["name"])


def test_unterminated_quote_in_a_big_file_is_not_a_field_limit_error(tmp_path):
    """The csv module's "field larger than field limit" (with a wrong line) never surfaces."""
    rows = _rows(5000)
    rows[3] = 'N3,base_station,docomo,"Opened' + "x" * 200_000
    raw = read_feed(_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert raw.rows_read == 5000 and _rejects(raw) == [(5, "name", "quote opened on line 5 is never closed")]


def test_a_quoted_value_over_several_lines_is_one_record(tmp_path):
    rows = _rows(10)
    rows[0] = 'X0,base_station,docomo,"Wajima\nsecond line, with a comma\n0",37.4,136.9,Ishikawa,Wajima,5,6,F1'
    rows[5] = '"N5\n0",base_station,docomo,x,37.4,136.9,Ishikawa,Wajima,5,6,F1'
    raw = read_feed(_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert raw.rows_read == 10 and not raw.rejects
    assert raw.frame["name"].iloc[0] == "Wajima\nsecond line, with a comma\n0"
    assert raw.frame["node_id"].iloc[5] == "N5\n0"
    assert list(raw.lines[:2]) == [2, 5] and list(raw.lines[5:7]) == [9, 11]


def test_a_file_cut_inside_a_quoted_value_quarantines_the_last_line_as_truncated(tmp_path):
    text = HEADER + "\n" + "\n".join(_rows(3)) + '\nN3,base_station,docomo,"Wajima'
    raw = read_feed(_write(tmp_path, "nodes.csv", text))
    assert raw.rows_read == 4 and len(raw.frame) == 3
    ((line, _field, reason),) = _rejects(raw)
    assert line == 5 and "truncated" in reason and "quoted" in reason


# --- field counts (issue 11 item 7) ------------------------------------------------------------

@pytest.mark.parametrize("row", [0, 1, 999])
def test_one_extra_empty_trailing_field_keeps_the_header_columns(tmp_path, row):
    rows = _rows(1000)
    rows[row] += ","
    raw = read_feed(_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert raw.rows_read == 1000 and not raw.rejects
    assert list(raw.frame.iloc[row]) == rows[row].split(",")[:WIDTH]
    assert raw.frame["kind"].eq("base_station").all()


def test_trailing_comma_on_every_row_and_on_the_header(tmp_path):
    text = HEADER + ",\n" + "".join(r + ",\n" for r in _rows(50))
    raw = read_feed(_write(tmp_path, "nodes.csv", text))
    assert raw.rows_read == 50 and not raw.rejects and list(raw.frame.columns) == HEADER.split(",")
    assert raw.frame["power_feed"].eq("F1").all()


def test_rows_whose_field_count_differs_say_so(tmp_path):
    rows = _rows(10)
    rows[1] += ",extra"
    rows[2] = ",".join(rows[2].split(",")[:9])
    rows[3] += ",,"
    rows[4] = rows[4].replace("Site 4", '"Site, 4"') + ",x,y"
    raw = read_feed(_write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert raw.rows_read == 10 and len(raw.frame) == 6
    assert _rejects(raw) == [(3, None, "12 fields where the header has 11"),
                             (4, None, "9 fields where the header has 11"),
                             (5, None, "13 fields where the header has 11"),
                             (6, None, "13 fields where the header has 11")]
    assert raw.rejects[0].value == rows[1]


def test_blank_lines_and_separator_only_lines_are_not_records(tmp_path):
    rows = _rows(4)
    text = HEADER + "\n\n" + rows[0] + "\n,,,,,,,,,,\n  \n" + "\n".join(rows[1:]) + "\n\n"
    raw = read_feed(_write(tmp_path, "nodes.csv", text))
    assert raw.rows_read == 4 and not raw.rejects and list(raw.lines) == [3, 6, 7, 8]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_ends(tmp_path, newline):
    rows = _rows(5)
    rows[2] += ",extra"
    raw = read_feed(_write(tmp_path, "nodes.csv", newline.join([HEADER, *rows]) + newline))
    assert raw.rows_read == 5 and [r[0] for r in _rejects(raw)] == [4]


def test_well_formed_files_take_the_same_rows_on_every_path(tmp_path):
    """The fast path (pandas) and the exact path (csv module) read the same values: a file whose
    one multi-line value sends it down the exact path gives the others' rows unchanged."""
    rows = _rows(200, quoted=True)
    fast = read_feed(_write(tmp_path, "fast.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    slow = read_feed(_write(tmp_path, "slow.csv", HEADER + "\n" + "\n".join(rows) + '\n"Z\n1",core,x,,,,,,0,0,\n'))
    assert slow.rows_read == 201 and not slow.rejects
    assert fast.frame.equals(slow.frame.iloc[:200]) and list(slow.lines[-2:]) == [201, 202]


# --- JSON Lines --------------------------------------------------------------------------------

_NODE = {"node_id": "A", "kind": "core", "operator": "o", "name": "n", "lat": 37, "lon": 136,
         "prefecture": "p", "municipality": "m", "subscribers": 1, "battery_hours": 6, "power_feed": "F"}


def test_json_numbers_and_booleans_keep_their_json_spelling(tmp_path):
    objs = [{**_NODE, "node_id": "A", "subscribers": 2**70, "battery_hours": float("inf")},
            {**_NODE, "node_id": "B", "subscribers": 1e30, "lat": True},
            {**_NODE, "node_id": "C", "subscribers": 9223372036854775808, "lon": None}]
    raw = read_feed(_write(tmp_path, "nodes.jsonl", "\n".join(json.dumps(o) for o in objs) + "\n"))
    f = raw.frame.set_index("node_id")
    assert f.loc["A", "subscribers"] == str(2**70) and f.loc["A", "battery_hours"] == "Infinity"
    assert f.loc["B", "subscribers"] == "1e+30" and f.loc["B", "lat"] == "true"
    assert f.loc["C", "subscribers"] == "9223372036854775808" and f.loc["C", "lon"] == ""


def test_json_arrays_objects_and_duplicate_keys_are_rejects(tmp_path):
    lines = [json.dumps({**_NODE, "node_id": "A"}),
             json.dumps({**_NODE, "node_id": "B", "subscribers": [1, 2]}),
             '{"node_id": "C", "node_id": "D", "kind": "core"}',
             json.dumps({**_NODE, "node_id": "E", "name": {"ja": "輪島"}}),
             "[1, 2]",
             "{not json"]
    raw = read_feed(_write(tmp_path, "nodes.jsonl", "\n".join(lines)))
    assert raw.rows_read == 6 and list(raw.frame["node_id"]) == ["A"]
    got = {r.line: (r.field, r.reason) for r in raw.rejects}
    assert got[2] == ("subscribers", "subscribers is an array, not a single value")
    assert "appears twice" in got[3][1] and got[4] == ("name", "name is an object, not a single value")
    assert "not a JSON object" in got[5][1] and "not a JSON object" in got[6][1]


def test_a_json_string_with_a_unicode_line_separator_is_one_line(tmp_path):
    raw = read_feed(_write(tmp_path, "nodes.jsonl", json.dumps({**_NODE, "name": "a\u2028b\x1cc"}, ensure_ascii=False)))
    assert raw.rows_read == 1 and raw.frame["name"].iloc[0] == "a\u2028b\x1cc"


# --- what the file is (issue 11 "Also") --------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (json.dumps([_NODE, _NODE]).encode(), "file is a JSON array; feeds are JSON Lines: one JSON object per line"),
        (CONTRACT_NODES.encode("utf-16"), "UTF-16 text (little-endian, with a byte order mark)"),
        (CONTRACT_NODES.encode("utf-16-le"), "UTF-16 text (little-endian, no byte order mark)"),
        (CONTRACT_NODES.encode("utf-16-be"), "UTF-16 text (big-endian, no byte order mark)"),
        (b"\xfe\xff" + CONTRACT_NODES.encode("utf-16-be"), "UTF-16 text (big-endian, with a byte order mark)"),
        (CONTRACT_NODES.encode("utf-32"), "UTF-32 text"),
        (b"\x00\x01\x02binary\xff" * 50, "binary file"),
    ],
)
def test_files_that_are_not_feeds_say_what_they_are(tmp_path, data, needle):
    p = _write(tmp_path, "feed.csv", data)
    with pytest.raises(BadInput) as exc:
        read_feed(p)
    assert needle in str(exc.value) and str(exc.value).startswith(str(p))
    assert "\n" not in str(exc.value)


def test_a_header_with_line_breaks_in_its_names_gives_a_one_line_message(tmp_path):
    with pytest.raises(BadInput) as exc:
        read_feed(_write(tmp_path, "feed.jsonl", '{"0\\n0": null}'))
    assert "\n" not in str(exc.value) and "0\\n0" in str(exc.value)


# --- size limits (issue 11 item 8) -------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    p = _write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(_rows(100)) + "\n")
    with pytest.raises(BadInput, match="max_file_bytes") as exc:
        read_feed(p, limits=ReadLimits(max_file_bytes=1000))
    assert str(p) in str(exc.value)


def test_the_size_limits_come_from_the_settings(tmp_path, monkeypatch):
    p = _write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(_rows(100)) + "\n")
    monkeypatch.setenv("RESILIENCE_MAX_FILE_BYTES", "1000")
    with pytest.raises(BadInput, match="RESILIENCE_MAX_FILE_BYTES"):
        read_feed(p)
    monkeypatch.setenv("RESILIENCE_MAX_FILE_BYTES", "100000")
    monkeypatch.setenv("RESILIENCE_MAX_RECORD_BYTES", "60")
    with pytest.raises(BadInput, match="max_record_bytes") as exc:
        read_feed(p)
    assert exc.value.line == 1  # the header is longer than 60 bytes


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_line_over_the_record_limit_is_refused_naming_its_line(tmp_path, newline):
    rows = _rows(300)
    rows[200] = rows[200].replace("Site 200", "S" * 5000)
    p = _write(tmp_path, "nodes.csv", newline.join([HEADER, *rows]) + newline)
    with pytest.raises(BadInput) as exc:
        read_feed(p, limits=ReadLimits(max_record_bytes=4096))
    assert exc.value.line == 202 and "4,096 bytes" in str(exc.value)
    assert read_feed(p, limits=ReadLimits(max_record_bytes=8192)).rows_read == 300


def test_a_long_line_across_read_chunks_is_found(tmp_path):
    """Lines are measured while the file is read in 1 MiB chunks: a line that straddles chunks
    counts whole."""
    rows = _rows(30000)  # ~2 MiB
    rows[15000] = rows[15000].replace("Site 15000", "S" * 3000)
    p = _write(tmp_path, "nodes.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(BadInput) as exc:
        read_feed(p, limits=ReadLimits(max_record_bytes=2048))
    assert exc.value.line == 15002


def test_dev_zero_is_refused_at_once():
    with pytest.raises(BadInput, match="binary file"):
        read_feed("/dev/zero")


def test_an_endless_text_stream_is_refused_in_bounded_memory(tmp_path):
    """A FIFO fed forever with text and no line end: the reader stops at the record limit; the
    writer then sees the pipe closed (so nothing like the whole stream was ever held)."""
    import os

    fifo = tmp_path / "endless.csv"
    os.mkfifo(fifo)
    written = [0]

    def writer() -> None:
        try:
            with open(fifo, "wb") as fh:
                fh.write((HEADER + "\n").encode())
                while written[0] < 64 << 20:  # gives up after 64 MiB if nobody stops reading
                    fh.write(b"x" * 65536)
                    written[0] += 65536
        except BrokenPipeError:
            pass

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    with pytest.raises(BadInput) as exc:
        read_feed(fifo, limits=ReadLimits(max_record_bytes=1 << 20))
    th.join(30)
    assert exc.value.line == 2 and "max_record_bytes" in str(exc.value)
    assert written[0] < 8 << 20


def test_the_sha256_is_that_of_the_whole_file(tmp_path):
    data = (HEADER + "\n" + "\n".join(_rows(40000)) + "\n").encode()  # several read chunks
    p = _write(tmp_path, "nodes.csv", data)
    assert read_feed(p).sha256 == hashlib.sha256(data).hexdigest()


def test_csv_written_by_the_csv_module_reads_back_exactly(tmp_path):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER.split(","))
    values = ['x"y', "a,b", "line\nbreak", "  spaced  ", "輪島", '"', ",", "\n", "end,"]
    for i, v in enumerate(values):
        w.writerow([f"N{i}", "base_station", "docomo", v, "37", "136", "p", "m", "1", "6", v])
    raw = read_feed(_write(tmp_path, "nodes.csv", buf.getvalue()))
    assert raw.rows_read == len(values) and not raw.rejects
    assert list(raw.frame["name"]) == values and list(raw.frame["power_feed"]) == values
