"""Hostile input: property-based fuzzing (hypothesis) of every feed parser.

Thousands of generated files (CSV in UTF-8, UTF-8 with BOM and CP932, with any line ending,
quoting, width, and cut anywhere; JSON Lines with any JSON and garbage lines; GraphML of any
shape; raw bytes) go through :func:`resilience.feeds.readers.read_feed`, and a few hundred through
the whole ingest into a database. Each one ends in stored rows, quarantined rows or
:class:`~resilience.errors.BadInput`: never another exception, and rows == accepted + quarantined.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from resilience.errors import BadInput
from resilience.feeds.ingest import ingest_file, ingest_paths
from resilience.feeds.readers import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, RawFeed, read_feed
from resilience.store import tables as t
from resilience.store.engine import make_engine, migrate
from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES

KINDS = tuple(REQUIRED_COLUMNS)


def fuzz(n: int) -> settings:
    """``n`` generated files, no per-example deadline (2 shared cores)."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Characters that break parsers: separators, quotes, line breaks, formula and markup starters,
# JSON/PromQL braces, full-width and CP932-only characters.
_HOSTILE = ',"\'\n\r\t =+-@<>&{}[]\\;:/.#%$!|' + "輪島市金沢ｱｲｳ①　ー〜"
_PLAIN = "abcXYZ0123456789"
_SPECIAL = ["inf", "-inf", "nan", "NaN", "1e308", "-0", "0x10", "１２", "", " ", "None", "null",
            "2024-01-01T16:10:00+09:00", "2024-01-01T16:10:00", "2024-13-45T99:99:99+09:00",
            "9999-12-31T23:59:59Z", "up", "down", "grid", "battery", "core", "base_station",
            "fiber", "C1", "B1", "L1", "F1", "=1+1", "<script>alert(1)</script>", '"}', "99999999999999999999999"]

values = st.one_of(st.text(alphabet=_HOSTILE + _PLAIN, max_size=12), st.sampled_from(_SPECIAL))


def _cp932_safe(s: str) -> str:
    return s.encode("cp932", errors="ignore").decode("cp932")


@st.composite
def csv_files(draw, exact: bool = False) -> tuple[bytes, int | None]:
    """(file bytes, the number of data rows if the file is well formed, else None)."""
    kind = draw(st.sampled_from(KINDS))
    header = list(REQUIRED_COLUMNS[kind]) + list(OPTIONAL_COLUMNS.get(kind, ()))
    if not exact:
        header = draw(st.permutations(header))
        if draw(st.booleans()):
            header = header[: draw(st.integers(0, len(header)))] + draw(st.lists(values, max_size=2))
    width = len(header)
    n = draw(st.integers(0, 12))
    rows = []
    for _ in range(n):
        row = draw(st.lists(values, min_size=width, max_size=width)) if exact else draw(
            st.lists(values, min_size=0, max_size=width + 2))
        if exact:  # never a blank row (every row counts); no bare CR (a line end for the reader)
            row = [v.replace("\r", "") for v in row]
            row[0] = "X" + row[0].strip()
        rows.append(row)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp932"]))
    newline = "\n" if exact else draw(st.sampled_from(["\n", "\r\n", "\r"]))
    buf = io.StringIO()
    if exact or draw(st.booleans()):
        w = csv.writer(buf, lineterminator=newline)
        w.writerow(header)
        w.writerows(rows)
    else:
        buf.write(newline.join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", newline])))
    text = buf.getvalue()
    if encoding == "cp932":
        text = _cp932_safe(text)
    data = text.encode(encoding)
    if not exact and draw(st.booleans()):  # still being written: cut anywhere
        data = data[: draw(st.integers(0, len(data)))]
    exact_ok = exact and encoding != "cp932" or exact and text == buf.getvalue()
    return data, (n if exact_ok else None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(alphabet=_HOSTILE + _PLAIN, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def jsonl_files(draw) -> bytes:
    kind = draw(st.sampled_from(KINDS))
    cols = list(REQUIRED_COLUMNS[kind]) + list(OPTIONAL_COLUMNS.get(kind, ()))
    lines = []
    for _ in range(draw(st.integers(1, 10))):
        choice = draw(st.integers(0, 9))
        if choice == 0:  # garbage line
            lines.append(draw(st.text(alphabet=_HOSTILE + _PLAIN, max_size=20)))
        elif choice == 1:  # any JSON at all
            lines.append(json.dumps(draw(json_values)))
        else:
            obj = {c: draw(st.one_of(values, json_values)) for c in cols if draw(st.integers(0, 9))}
            lines.append(json.dumps(obj, ensure_ascii=draw(st.booleans()), allow_nan=True))
    text = "\n".join(lines) + draw(st.sampled_from(["", "\n"]))
    if not text.lstrip().startswith("{"):
        text = "{" + text
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


_attr = st.text(alphabet=_PLAIN + "-_", min_size=1, max_size=4)
_xml_text = st.text(alphabet=_PLAIN + "輪島<>&'\" ", max_size=10)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@st.composite
def graphml_files(draw) -> bytes:
    ns = draw(st.sampled_from([' xmlns="http://graphml.graphdrawing.org/xmlns"', ""]))
    keys = ["label", "Latitude", "Longitude", "kind", "subscribers", "battery_hours", "Country", "Network"]
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><graphml{ns}>']
    for i, k in enumerate(keys):
        if draw(st.booleans()):
            parts.append(f'<key attr.name="{k}" attr.type="string" for="node" id="d{i}"/>')
    if draw(st.integers(0, 9)):
        parts.append(f'<graph edgedefault="{draw(st.sampled_from(["undirected", "directed"]))}">')
        ids = draw(st.lists(_attr, max_size=8))
        for nid in ids:
            data = "".join(f'<data key="d{i}">{_esc(draw(_xml_text))}</data>'
                           for i in range(len(keys)) if draw(st.integers(0, 3)) == 0)
            idattr = f' id="{_esc(nid)}"' if draw(st.integers(0, 9)) else ""
            parts.append(f"<node{idattr}>{data}</node>")
        for _ in range(draw(st.integers(0, 8))):
            s, tt = draw(st.sampled_from(ids or ["x"])), draw(st.sampled_from(ids or ["y"]))
            eid = f' id="{_esc(draw(_attr))}"' if draw(st.integers(0, 3)) == 0 else ""
            parts.append(f'<edge source="{_esc(s)}" target="{_esc(tt)}"{eid}/>')
        parts.append("</graph>")
    parts.append("</graphml>")
    data = "".join(parts).encode("utf-8")
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _read(tmp_path: Path, name: str, data: bytes, *, well_formed: bool = False) -> RawFeed | None:
    """The file read, or None when it is refused (BadInput naming it, on one line); a
    ``well_formed`` file is never refused."""
    p = tmp_path / name
    p.write_bytes(data)
    try:
        raw = read_feed(p)
    except BadInput as exc:
        assert not well_formed, f"a well-formed file was refused: {exc}"
        assert str(p) in str(exc) and "\n" not in exc.message
        return None
    assert raw.rows_read == len(raw.frame) + len(raw.rejects) + (0 if raw.graph_links is None else len(raw.graph_links))
    assert len(raw.lines) == len(raw.frame)
    assert all(isinstance(v, str) for col in raw.frame.columns for v in raw.frame[col])
    return raw


# --- the parsers alone: thousands of files ----------------------------------------------------

@fuzz(1200)
@given(f=csv_files())
def test_csv_any_shape_reads_or_is_refused(tmp_path, f):
    _read(tmp_path, "feed.csv", f[0])


@fuzz(500)
@given(f=csv_files(exact=True))
def test_well_formed_csv_in_every_encoding_keeps_every_row(tmp_path, f):
    data, n = f
    raw = _read(tmp_path, "feed.csv", data, well_formed=n is not None)
    if n is not None:
        assert raw.rows_read == n and not raw.rejects and len(raw.frame) == n


@fuzz(700)
@given(data=jsonl_files())
def test_json_lines_any_content_reads_or_is_refused(tmp_path, data):
    _read(tmp_path, "feed.jsonl", data)


@fuzz(600)
@given(data=graphml_files())
def test_graphml_any_shape_reads_or_is_refused(tmp_path, data):
    _read(tmp_path, "feed.graphml", data)


@fuzz(500)
@given(data=st.binary(max_size=300) | st.text(alphabet=_HOSTILE + _PLAIN, max_size=200).map(lambda s: s.encode("utf-8")))
def test_arbitrary_bytes_read_or_are_refused(tmp_path, data):
    _read(tmp_path, "feed.csv", data)


# --- the whole ingest: every file ends stored, quarantined or refused --------------------------

@pytest.fixture(scope="module")
def inventory_engine(tmp_path_factory):
    d = tmp_path_factory.mktemp("inv")
    (d / "nodes.csv").write_text(CONTRACT_NODES)
    (d / "links.csv").write_text(CONTRACT_LINKS)
    eng = make_engine("sqlite://")
    migrate(eng)
    ingest_paths(eng, [d / "nodes.csv", d / "links.csv"])
    yield eng
    eng.dispose()


def _ingest_ledger(engine, path: Path, rows: int | None = None) -> None:
    """Ingest ``path``: refused (BadInput), or the ledger balances in the result and the tables.
    A file known to hold ``rows`` well-formed records is never refused and counts them all."""
    try:
        r = ingest_file(engine, path)
    except BadInput as exc:
        assert rows is None, f"a well-formed file was refused: {exc}"
        return
    assert rows is None or r.rows == rows
    assert r.rows == r.accepted + r.quarantined
    with engine.connect() as conn:
        ff = conn.execute(select(t.feed_files).where(t.feed_files.c.sha256 == r.sha256)).mappings().one()
        q = conn.execute(select(func.count()).select_from(t.quarantine)
                         .where(t.quarantine.c.file_sha256 == r.sha256)).scalar_one()
    assert (ff["rows"], ff["accepted"], ff["quarantined"]) == (r.rows, r.accepted, r.quarantined)
    assert q == r.quarantined


@fuzz(250)
@given(kind=st.sampled_from(["csv", "exact", "jsonl", "graphml"]), data=st.data())
def test_ingest_ends_in_stored_quarantined_or_refused(inventory_engine, tmp_path, kind, data):
    strategy = {"csv": csv_files().map(lambda f: (f[0], None)), "exact": csv_files(exact=True),
                "jsonl": jsonl_files().map(lambda d: (d, None)), "graphml": graphml_files().map(lambda d: (d, None))}[kind]
    content, rows = data.draw(strategy)
    p = tmp_path / f"feed.{kind}"
    p.write_bytes(content)
    _ingest_ledger(inventory_engine, p, rows)
