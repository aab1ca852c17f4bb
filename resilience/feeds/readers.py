"""Read feed files into raw string tables: encoding and format detection, feed-kind detection.

A reader never guesses silently: an unreadable, binary or empty file raises
:class:`~resilience.errors.BadInput` naming the file (and the line and field where known);
a row that is structurally broken (a truncated last line, a bad JSON line, a quote that is never
closed, a row whose field count differs from the header's) is kept as a *structural reject* so
that it is quarantined, not dropped. Files are read in bounded memory: a file larger than
``max_file_bytes`` or a line longer than ``max_record_bytes`` is refused while it is read (so
``/dev/zero`` is refused at once); see docs/data-limits.md.

Example
-------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "power.csv"
>>> _ = p.write_text("observed_at,power_feed,state\\n2024-01-01T16:10:00+09:00,F1,off\\n")
>>> raw = read_feed(p)
>>> raw.kind, raw.rows_read, list(raw.frame["state"])
('power_status', 1, ['off'])
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.errors import BadInput
from resilience.feeds.graphml import read_graphml
from resilience.feeds.records import RawFeed, Reject
from resilience.topology.model import (
    LINK_COLUMNS,
    LINK_STATUS_COLUMNS,
    NODE_COLUMNS,
    NODE_STATUS_COLUMNS,
    POWER_STATUS_COLUMNS,
)

__all__ = [
    "RawFeed",
    "Reject",
    "ReadLimits",
    "FEED_KINDS",
    "REQUIRED_COLUMNS",
    "read_feed",
    "detect_encoding",
    "detect_kind",
    "sha256_of",
]

#: Feed kinds in the order they must be ingested (inventory before the state that refers to it).
FEED_KINDS = ("nodes", "links", "graphml", "power_status", "node_status", "link_status")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": NODE_COLUMNS,
    "links": LINK_COLUMNS,
    "node_status": NODE_STATUS_COLUMNS[:4],  # battery_remaining_min is optional
    "link_status": LINK_STATUS_COLUMNS,
    "power_status": POWER_STATUS_COLUMNS[:3],  # expected_restore_at is optional
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "node_status": ("battery_remaining_min",),
    "power_status": ("expected_restore_at",),
}
# Columns that identify a kind when seen in a header (checked in this order).
_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("node_status", frozenset({"observed_at", "node_id"})),
    ("link_status", frozenset({"observed_at", "link_id"})),
    ("power_status", frozenset({"observed_at", "power_feed"})),
    ("links", frozenset({"link_id", "a", "b"})),
    ("nodes", frozenset({"node_id", "kind"})),
)

_CHUNK = 1 << 20  # bytes read at a time


@dataclass(frozen=True)
class ReadLimits:
    """How much a reader accepts: the size of a file and of one line (one CSV / JSON Lines record).

    The defaults are the settings' defaults; :meth:`from_settings` reads ``max_file_bytes`` and
    ``max_record_bytes`` (``RESILIENCE_MAX_FILE_BYTES``, ``RESILIENCE_MAX_RECORD_BYTES``).

    >>> ReadLimits().max_record_bytes
    1048576
    """

    max_file_bytes: int = 2 * 1024**3
    max_record_bytes: int = 1024**2

    @classmethod
    def from_settings(cls) -> ReadLimits:
        """The limits configured in ``config/resilience.toml`` and the environment."""
        from resilience.settings import load_settings

        s = load_settings()
        return cls(max_file_bytes=int(s.max_file_bytes), max_record_bytes=int(s.max_record_bytes))


def sha256_of(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_of(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def _one_line(text: str, limit: int = 80) -> str:
    """``text`` shortened to one printable line (for messages that quote file content)."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


# --- bytes: bounded reading, text or not -------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 text (little-endian, with a byte order mark)"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (big-endian, with a byte order mark)"),
    (b"\xff\xfe", "UTF-16 text (little-endian, with a byte order mark)"),
    (b"\xfe\xff", "UTF-16 text (big-endian, with a byte order mark)"),
)


def _refuse_non_text(head: bytes, path: str) -> None:
    """Refuse UTF-16/UTF-32 text (with or without a byte order mark) and binary files, saying
    which it is. ``head``: the first bytes of the file (64 KiB are enough)."""
    head = head[:65536]
    for bom, what in _BOMS:
        if head.startswith(bom):
            raise BadInput(path, f"{what}: save the feed as UTF-8 (or CP932)", line=1)
    if b"\x00" not in head:
        return
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4:
        if odd.count(0) >= 0.3 * len(odd) and even.count(0) <= 0.02 * len(even):
            raise BadInput(path, "UTF-16 text (little-endian, no byte order mark): save the feed as UTF-8", line=1)
        if even.count(0) >= 0.3 * len(even) and odd.count(0) <= 0.02 * len(odd):
            raise BadInput(path, "UTF-16 text (big-endian, no byte order mark): save the feed as UTF-8", line=1)
    raise BadInput(path, "binary file (NUL bytes): not a CSV, JSON Lines or GraphML feed")


def _is_xml(head: bytes) -> bool:
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:512]
    return head.startswith(b"<?xml") or head.startswith(b"<graphml") or b"<graphml" in head


class _LineMeter:
    """Checks, chunk by chunk, that no line (ended by LF, CRLF or CR) is longer than ``limit``."""

    def __init__(self, limit: int, path: str):
        self.limit, self.path = limit, path
        self.line = 1  # the 1-based number of the line the next byte belongs to
        self.current = 0  # bytes of that line seen so far
        self.cr_at_end = False  # the previous chunk ended with CR (a CRLF may be split)

    def _too_long(self, line: int) -> BadInput:
        return BadInput(self.path, f"line longer than {self.limit:,} bytes (setting max_record_bytes, "
                        "RESILIENCE_MAX_RECORD_BYTES): not a CSV or JSON Lines feed line", line=line)

    def feed(self, chunk: bytes) -> None:
        if not self.cr_at_end and b"\r" not in chunk:  # LF line ends only: the lines between the
            first, last = chunk.find(b"\n"), chunk.rfind(b"\n")  # first and last LF fit in the limit
            if first >= 0 and last - first - 1 <= self.limit:
                if self.current + first > self.limit:
                    raise self._too_long(self.line)
                self.line += chunk.count(b"\n")
                self.current = len(chunk) - last - 1
                if self.current > self.limit:
                    raise self._too_long(self.line)
                return
        arr = np.frombuffer(chunk, dtype=np.uint8)
        lf, cr = arr == 10, arr == 13
        ends = np.flatnonzero(lf | cr)
        if ends.size == 0:
            self.current += len(chunk)
            if self.current > self.limit:
                raise self._too_long(self.line)
            self.cr_at_end = False
            return
        # a line end is an LF, or a CR not followed by LF
        crlf = np.zeros(len(arr), dtype=bool)
        crlf[:-1] = cr[:-1] & lf[1:]
        is_end = ~crlf[ends]
        if self.cr_at_end and lf[0]:
            is_end[0] = False  # the LF of a CRLF split over two chunks
        lengths = np.diff(np.concatenate(([-1], ends))) - 1
        lengths[0] += self.current
        too_long = np.flatnonzero(lengths > self.limit)
        if too_long.size:
            k = too_long[0]
            raise self._too_long(self.line + int(is_end[:k].sum()))
        self.line += int(is_end.sum())
        self.current = len(chunk) - int(ends[-1]) - 1
        self.cr_at_end = bool(cr[-1])
        if self.current > self.limit:
            raise self._too_long(self.line)


def _too_big(path: str, size: int, limits: ReadLimits, *, at_least: bool = False) -> BadInput:
    return BadInput(path, f"file is {'over ' if at_least else ''}{size:,} bytes, more than the limit of "
                    f"{limits.max_file_bytes:,} (setting max_file_bytes, RESILIENCE_MAX_FILE_BYTES)")


def _read_bounded(path: Path, name: str, limits: ReadLimits) -> tuple[bytes, str]:
    """The bytes of the file and their sha256, read in chunks; refused (BadInput) as soon as the
    file proves too large, binary, UTF-16, or holds a line longer than the record limit."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise BadInput(name, f"cannot read file: {exc.strerror or exc}") from None
    digest = hashlib.sha256()
    parts: list[bytes] = []
    total = 0
    meter: _LineMeter | None = None
    with fh:
        st = os.fstat(fh.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size > limits.max_file_bytes:
            raise _too_big(name, st.st_size, limits)
        while True:
            try:
                chunk = fh.read(_CHUNK)
            except OSError as exc:
                raise BadInput(name, f"cannot read file: {exc.strerror or exc}") from None
            if not chunk:
                break
            if total == 0:
                _refuse_non_text(chunk, name)
                if not _is_xml(chunk):  # GraphML may be one long line; it has the file limit only
                    meter = _LineMeter(limits.max_record_bytes, name)
            total += len(chunk)
            if total > limits.max_file_bytes:
                raise _too_big(name, limits.max_file_bytes, limits, at_least=True)
            if meter is not None:
                meter.feed(chunk)
            digest.update(chunk)
            parts.append(chunk)
    return b"".join(parts), digest.hexdigest()


def _decodes(data: bytes, encoding: str) -> tuple[bool, UnicodeDecodeError | None]:
    """(usable, error): usable when ``data`` decodes, or fails only on a character cut at the very
    end (a file still being written: its last line is then quarantined as truncated)."""
    try:
        data.decode(encoding)
        return True, None
    except UnicodeDecodeError as exc:
        at_end = exc.end >= len(data) and exc.start >= len(data) - 3
        cut = exc.reason in ("unexpected end of data", "incomplete multibyte sequence")
        return at_end and cut, exc


def detect_encoding(raw: bytes, path: str = "<bytes>") -> str:
    """Detect UTF-8 with BOM, UTF-8, or CP932 (Shift_JIS as Japanese operators export it).

    A multi-byte character cut at the very end (a file still being written) does not change the
    answer: a UTF-8 file is never re-read as CP932 mojibake because its last byte is missing.
    UTF-16 and UTF-32 text and binary files are refused, saying which they are.

    >>> detect_encoding("輪島".encode("cp932"))
    'cp932'
    >>> detect_encoding(b"\\xef\\xbb\\xbfnode_id")
    'utf-8-sig'
    >>> detect_encoding("輪島".encode("utf-8")[:-1])
    'utf-8'
    >>> detect_encoding("node_id,kind".encode("utf-16"))
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: <bytes>:1: UTF-16 text (little-endian, with a byte order mark): save the feed as UTF-8 (or CP932)
    """
    _refuse_non_text(raw, path)
    if raw.startswith(b"\xef\xbb\xbf"):
        ok, exc = _decodes(raw[3:], "utf-8")
        if not ok:
            line = raw[: exc.start + 3].count(b"\n") + 1
            raise BadInput(path, "has a UTF-8 byte order mark but is not UTF-8 text", line=line)
        return "utf-8-sig"
    ok, utf8_error = _decodes(raw, "utf-8")
    if ok:
        return "utf-8"
    if _decodes(raw, "cp932")[0]:
        return "cp932"
    line = raw[: utf8_error.start].count(b"\n") + 1
    raise BadInput(path, "not UTF-8 or CP932 (Shift_JIS) text", line=line)


def _decode(raw: bytes, path: str) -> tuple[str, str, bool]:
    """(text, encoding, whether ``raw`` is exactly the UTF-8 of the text) of a feed's bytes, as
    :func:`detect_encoding` decides; plain UTF-8 (the common case) is decoded once."""
    _refuse_non_text(raw, path)
    if not raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw.decode("utf-8"), "utf-8", True
        except UnicodeDecodeError:
            pass
    encoding = detect_encoding(raw, path)
    # Only a character cut at the very end can fail here (see detect_encoding): it becomes U+FFFD
    # in the last line, which is then quarantined as truncated.
    return raw.decode(encoding, errors="replace"), encoding, False


def detect_kind(columns: list[str] | set[str], path: str = "<feed>") -> str:
    """Feed kind from a header; a header missing a required column is refused, naming it.

    >>> detect_kind(["link_id", "a", "b", "medium", "capacity_mbps", "srlg"])
    'links'
    >>> detect_kind(["node_id", "kind"])
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: <feed>:1: field operator: header has no required column 'operator' for a nodes feed
    """
    cols = {str(c).strip() for c in columns}
    for kind, signature in _SIGNATURES:
        if signature <= cols:
            missing = [c for c in REQUIRED_COLUMNS[kind] if c not in cols]
            if missing:
                raise BadInput(
                    path,
                    f"header has no required column '{missing[0]}' for a {kind} feed",
                    line=1,
                    field=missing[0],
                )
            return kind
    seen = ", ".join(_one_line(c, 40) for c in sorted(cols)[:20]) or "none"
    raise BadInput(
        path,
        f"header matches no feed kind (nodes, links, node status, link status, power); columns seen: {seen}",
        line=1,
    )


def read_feed(
    path: str | Path, *, graphml_cores: tuple[str, ...] = (), limits: ReadLimits | None = None
) -> RawFeed:
    """Read a CSV, JSON Lines or GraphML feed file; detect its encoding and kind.

    Parameters
    ----------
    path : str or Path
        The feed file.
    graphml_cores : tuple of str
        GraphML only: the node ids that are cores.
    limits : ReadLimits, optional
        File and line size limits (default: the settings).

    Raises
    ------
    BadInput
        The file is missing, empty, too large, binary, UTF-16, not text in a supported encoding,
        a JSON array, holds a line over the record limit, or its header is not a feed header.
        Nothing has been stored when this is raised.
    """
    path = Path(path)
    name = str(path)
    limits = limits or ReadLimits.from_settings()
    raw, digest = _read_bounded(path, name, limits)
    if not raw.lstrip():  # (not strip(): that copies the file when it ends with a line end)
        raise BadInput(name, "file is empty")
    text, encoding, exact_utf8 = _decode(raw, name)
    head = text.lstrip()[:512]
    if head.startswith("<?xml") or head.startswith("<graphml") or "<graphml" in head:
        return read_graphml(raw, name, digest, encoding, cores=graphml_cores)
    crlf = "\r" in text
    utf8 = raw if exact_utf8 and not crlf else None  # the text's own UTF-8 bytes
    del raw
    if crlf:  # CRLF (Windows) and bare CR (old Mac exports) line ends: one kind of line end
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if head.startswith("["):
        raise BadInput(name, "file is a JSON array; feeds are JSON Lines: one JSON object per line", line=1)
    if head.startswith("{"):
        return _read_jsonl(text, name, digest, encoding)
    return _read_csv(text, name, digest, encoding, limits, utf8)


# --- CSV ---------------------------------------------------------------------------------------

_END = "\x1f"  # appended as one more field to every line: tells pandas' fast parser each row's width
_EXTRA = ("\x00extra", "\x00end")


def _blank(line: str) -> bool:
    """A line with no data (empty, spaces, or only separators, as spreadsheets pad): not a record."""
    return not line.strip(" \t,")


def _closed(line: str) -> list[str] | None:
    """The fields of one physical line, or ``None`` when the line ends inside a quoted value."""
    recs = list(csv.reader([line, ""]))  # an open quote swallows the empty sentinel line
    return recs[0] if len(recs) == 2 else None


def _width_problem(n_fields: int, last: str, width: int) -> str | None:
    """Why a record of ``n_fields`` does not fit the header (one extra empty field is fine)."""
    if n_fields == width or (n_fields == width + 1 and not last.strip()):
        return None
    return f"{n_fields} fields where the header has {width}"


@dataclass
class _Body:
    """Rows of a CSV body being assembled: values, file line numbers, structural rejects."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] | np.ndarray = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    frame: pd.DataFrame | None = None  # the fast path sets the whole frame at once

    def reject(self, line: int, fld: str | None, value: str, rule: str, reason: str) -> None:
        self.rejects.append(Reject(line, fld, value[:200], rule, reason))

    def add(self, line: int, rec: list[str], text: str) -> None:
        width = len(self.header)
        problem = _width_problem(len(rec), rec[-1] if rec else "", width)
        if problem:
            self.reject(line, None, text, "row_has_header_width", problem)
        else:
            self.rows.append(rec[:width])
            self.lines.append(line)


def _read_csv(text: str, path: str, digest: str, encoding: str, limits: ReadLimits,
              utf8: bytes | None = None) -> RawFeed:
    """The CSV feed in ``text`` (``utf8``: the UTF-8 bytes of ``text`` when the file holds exactly
    those, read as they are by the Arrow path)."""
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_record_bytes + 1))
    first_line, _, body = text.partition("\n")
    try:
        header = next(csv.reader([first_line]), [])
    except csv.Error as exc:
        raise BadInput(path, f"unreadable CSV header: {exc}", line=1) from None
    header = [h.strip() for h in header]
    while header and not header[-1]:  # a trailing comma on the header line names no column
        header.pop()
    kind = detect_kind(header, path)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise BadInput(path, f"column '{dup}' appears twice in the header", line=1, field=dup)
    del text
    out = _Body(header)
    if body and not body.endswith("\n"):  # the last line may be cut short (a file still being written)
        start = body.rfind("\n") + 1
        last = body[start:]
        rec = _closed(last)
        if not _blank(last) and (rec is None or len(rec) < len(header)):
            n_fields = len(rec) if rec is not None else len(next(csv.reader([last]), []))
            out.reject(body.count("\n") + 2, header[min(n_fields, len(header) - 1)], last, "row_has_all_fields",
                       f"truncated line: {n_fields} of {len(header)} fields"
                       + (" (ends inside a quoted value)" if rec is None else ""))
            body = body[:start]
            if utf8 is not None:
                utf8 = utf8[:utf8.rfind(b"\n") + 1]
    body_utf8 = None if utf8 is None else memoryview(utf8)[len(first_line.encode("utf-8")) + 1:]
    del utf8
    if not (_arrow_csv(body, out, body_utf8) or _fast_csv(body, out)):
        lines = body.split("\n")
        if not lines[-1]:
            lines.pop()
        del body
        _slow_csv(lines, out, limits.max_record_bytes)
    if out.frame is None:
        out.frame = (pd.DataFrame(out.rows, columns=header, dtype=str) if out.rows
                     else pd.DataFrame(columns=header, dtype=str))
    rejects = sorted(out.rejects, key=lambda r: r.line)
    return RawFeed(path, digest, kind, "csv", encoding, out.frame, np.asarray(out.lines, dtype=np.int64), rejects)


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows are blank lines (spaces, or only separators): no records. Their first field is
    blank too, so only those rows are looked at whole."""
    first = frame.iloc[:, 0]
    maybe_blank = np.flatnonzero(((first == "") | (first == _END) | first.str.isspace()).to_numpy())
    blank = np.zeros(len(frame), dtype=bool)
    if maybe_blank.size:
        cells = frame.iloc[maybe_blank].astype(str).to_numpy(dtype=object)
        blank[maybe_blank] = [all(not v.strip() or v == _END for v in row) for row in cells]
    return blank


_QUOTE, _COMMA, _LF = ord('"'), ord(","), ord("\n")
_ARROW_BLOCK = 1 << 23  # bytes Arrow parses at a time (a longer line: the pandas path reads the file)
_SCAN_BLOCK = 1 << 21  # bytes looked at a time by _plain_lines (in the CPU cache: twice as fast as all at once)


def _plain_lines(data: np.ndarray) -> np.ndarray | None:
    """The offsets of the line ends in ``data`` (UTF-8 bytes as uint8, ending with a line end), or
    None when a quote in it is not plain (see :func:`_plain_quoting`). Read in blocks of whole
    lines."""
    ends: list[np.ndarray] = []
    lo, n = 0, len(data)
    while lo < n:
        hi = lo + _SCAN_BLOCK
        while hi < n:  # the block ends after a line end
            hits = np.flatnonzero(data[hi:hi + 65536] == _LF)
            if hits.size:
                hi += int(hits[0]) + 1
                break
            hi += 65536
        block = data[lo:hi]
        block_ends = np.flatnonzero(block == _LF)
        if not _plain_quoting(block, block_ends):
            return None
        ends.append(block_ends + lo)
        lo = hi
    return np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)


def _plain_quoting(data: np.ndarray, ends: np.ndarray) -> bool:
    """Is every quote in ``data`` (the body's UTF-8 bytes as uint8, ending with a line end at each
    of ``ends``) part of an RFC 4180 quoted value that closes on its own line? Then any CSV parser
    reads it the same.

    Counting quotes from the start, an even-numbered one (0, 2, ...) opens a value and must start a
    field (follow a separator, a line end or the closing quote of a doubled pair ``""``); an
    odd-numbered one closes it and must end the field (precede a separator, a line end or the
    opening quote of a doubled pair); and every line holds an even number of quotes.
    """
    quotes = np.flatnonzero(data == _QUOTE)
    if quotes.size == 0:
        return True
    if quotes.size % 2:
        return False
    if (np.searchsorted(quotes, ends) % 2).any():  # a value runs over a line end
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    before[opening == 0] = _LF
    after = data[closing + 1]  # the data ends with a line end: never past the end
    return bool(((before == _COMMA) | (before == _LF) | (before == _QUOTE)).all()
                and ((after == _COMMA) | (after == _LF) | (after == _QUOTE)).all())


def _arrow_table(data: bytes | memoryview, columns: list[str]):  # -> pyarrow.Table | None
    """``data`` (UTF-8 CSV lines, no header) read by Arrow as text columns; None when a row's field
    count differs from ``columns``' (or Arrow cannot read it otherwise)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=columns, block_size=_ARROW_BLOCK, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowCapacityError, ValueError):
        return None


def _arrow_csv(body: str, out: _Body, data: bytes | memoryview | None = None) -> bool:
    """Every line one record of the header's width (or every one with one more, empty, field),
    quoting plain (see :func:`_plain_quoting`):
    Arrow's multi-threaded CSV reader reads the lines (``data``: the UTF-8 bytes of ``body`` when
    at hand), as text columns of pandas' ``str`` dtype.
    False (nothing added to ``out``) for anything else (a row of another width, a quoted value
    over several lines, a stray quote, a very long line, the end-of-row marker in the data): the
    pandas path then reads the file, and quarantines what it must.
    """
    if not body or _END in body:
        return False
    import pyarrow as pa

    header = out.header
    if data is None:
        data = body.encode("utf-8")
    if data[-1] != _LF:
        data = bytes(data) + b"\n"
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = _plain_lines(arr)
    if ends is None:
        return False
    starts = np.concatenate(([0], ends[:-1] + 1))
    records = np.flatnonzero(ends > starts)  # Arrow skips empty lines: no records either
    line_nos = records + 2
    table = _arrow_table(data, header)
    if table is None and (arr[ends[records] - 1] == _COMMA).all():
        # every record ends with a comma: one more, empty, field (as some exports write each row)
        table = _arrow_table(data, [*header, _EXTRA[0]])
    del arr, starts, ends, records, data
    if table is None or table.num_rows != len(line_nos):
        return False
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    frame = table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)
    del table
    frame = frame.iloc[:, :len(header)]  # the extra field is empty: the line ends with its comma
    frame.columns = list(header)
    blank = _blank_rows(frame)
    if blank.any():
        keep = np.flatnonzero(~blank)
        frame = frame.iloc[keep].reset_index(drop=True)
        line_nos = line_nos[keep]
    out.frame, out.lines = frame, line_nos.astype(np.int64)
    return True


def _fast_csv(body: str, out: _Body) -> bool:
    """Every line one record: pandas' C parser reads the lines (each with an end-of-row marker
    field, so a row's width shows where the marker lands). False (nothing added to ``out``) when
    a quoted value spans lines or the parser cannot split the file; the exact path then reads it."""
    header = out.header
    width = len(header)
    if _END in body:  # the marker is in the data itself
        return False
    if not body:
        out.frame = pd.DataFrame(columns=header, dtype=str)
        return True
    if not body.endswith("\n"):
        body += "\n"
    line_nos = np.arange(2, body.count("\n") + 2, dtype=np.int64)
    marked = body.replace("\n", f",{_END}\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(marked), header=None, names=[*header, *_EXTRA], index_col=False,
                dtype={**dict.fromkeys(header, str), **dict.fromkeys(_EXTRA, "category")},
                keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        return False
    del marked
    if len(frame) != len(line_nos):  # a quoted value runs over a line end: not one row per line
        return False
    extra, end = frame[_EXTRA[0]], frame[_EXTRA[1]]
    full = (extra == _END).to_numpy()
    plus_one = (end == _END).to_numpy()
    ok = full | (plus_one & (extra.astype(str).str.strip() == "").to_numpy())
    blank = _blank_rows(frame)
    if not ok.all() or blank.any():
        lines = body.split("\n")
        bad = np.flatnonzero(~ok & ~blank)
        cells = frame.iloc[bad][header].to_numpy(dtype=object) == _END
        if not np.all(cells.any(axis=1) | plus_one[bad]):
            return False  # the marker is nowhere: let the exact path decide
        n_fields = np.where(plus_one[bad], width + 1, cells.argmax(axis=1))
        for i, n in zip(bad.tolist(), n_fields.tolist(), strict=True):
            out.reject(int(line_nos[i]), None, lines[i], "row_has_header_width",
                       f"{n} fields where the header has {width}")
        keep = ok & ~blank
        frame = frame.iloc[np.flatnonzero(keep)]
        line_nos = line_nos[keep]
    out.frame = frame.drop(columns=list(_EXTRA)).reset_index(drop=True)
    out.lines = line_nos
    return True


def _strict_csv(lines: list[str], out: _Body, max_record: int) -> bool:
    """Read the lines as RFC 4180 CSV (``strict``: a closing quote must end its value). True when
    every quoted value closes properly (a value may span lines); rows with a wrong field count on
    one line are quarantined. False (nothing added to ``out``) when the quoting is broken or a
    record that spans lines has a wrong field count: the resynchronising path reads the file then.
    """
    width = len(out.header)
    rows: list[list[str]] = []
    row_lines: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    reader = csv.reader((ln + "\n" for ln in lines), strict=True)
    end = 0
    try:
        for rec in reader:
            start, end = end, reader.line_num  # the record's lines: lines[start:end]
            if end - start == 1:
                if _blank(lines[start]):
                    continue
                problem = _width_problem(len(rec), rec[-1] if rec else "", width)
                if problem:
                    rejects.append((start, lines[start], problem))
                    continue
            elif (_width_problem(len(rec), rec[-1], width) is not None
                  or sum(len(ln) + 1 for ln in lines[start:end]) > max_record
                  or not _spans_by_rfc(lines[start:end])):
                return False
            rows.append(rec[:width])
            row_lines.append(start + 2)
    except csv.Error:
        return False
    out.rows, out.lines = rows, row_lines
    for start, text, problem in rejects:
        out.reject(start + 2, None, text, "row_has_header_width", problem)
    return True


def _spans_by_rfc(span: list[str]) -> bool:
    """Can a value run over these lines by RFC 4180 (quotes only in quoted values, doubled
    inside)? Then the first and last line hold an odd number of quotes and the lines between an
    even number. (A quote left open on one line and a quoted value on a later line can make
    a record of the right width that breaks this.)"""
    odd = [ln.count('"') % 2 for ln in span]
    return bool(odd[0] and odd[-1]) and not any(odd[1:-1])


def _slow_csv(lines: list[str], out: _Body, max_record: int) -> None:
    """The exact path, with the csv module. A well-formed file (quoted values may span lines) is
    read as RFC 4180 CSV; otherwise line by line: a quote that is never closed is quarantined at
    the line where it opened, and reading resumes at the next line that is a whole record.

    After such a quote the lines it would have swallowed are read one by one (a quote opening in
    them is not allowed to span lines either), so the work stays linear in the file size.
    """
    if _strict_csv(lines, out, max_record):
        return
    header = out.header
    width = len(header)
    n = len(lines)
    alone_until = 0  # lines before this index are read on their own
    i = 0
    while i < n:
        ln = lines[i]
        line_no = i + 2
        if _blank(ln):
            i += 1
            continue
        rec = ln.split(",") if '"' not in ln else _closed(ln)
        if rec is not None:
            out.add(line_no, rec, ln)
            i += 1
            continue
        partial = next(csv.reader([ln]), [""])
        fld = header[len(partial) - 1] if len(partial) <= width else None
        if i >= alone_until:
            rec, j = _quoted_span(lines, i, width, max_record)
            if rec is not None:
                out.add(line_no, rec, "\n".join(lines[i:j + 1]))
                i = j + 1
                continue
            alone_until = j
        out.reject(line_no, fld, ln, "quotes_closed", f"quote opened on line {line_no} is never closed")
        i += 1


def _quoted_span(lines: list[str], i: int, width: int, max_record: int) -> tuple[list[str] | None, int]:
    """A record whose quoted value opened on line ``i`` and closes on a later line:
    (its fields, the index of its last line). (None, j) when the quote is never closed: the
    lines run out, grow beyond ``max_record``, or a record starts at line ``j`` (resync).

    A line that closes a quoted value holds an odd number of quote characters (the closing one
    plus doubled ones), and the closing quote ends the value (RFC 4180: a separator or the line
    end follows it). Before that, a line that is the start of a record of its own (a whole line
    of the header's width, or a value over a few lines that closes properly) is the next record:
    the quote on line ``i`` was never closed.
    """
    size = len(lines[i])
    j = i
    while True:
        j += 1
        if j >= len(lines):
            return None, j
        nxt = lines[j]
        size += len(nxt) + 1
        if size > max_record:
            return None, j
        if nxt.count('"') % 2 and _closed('"' + nxt) is not None:  # the quoted value ends here
            rec = _strict_record(lines[i:j + 1], width)
            return (rec, j) if rec is not None else (None, j)
        if not _blank(nxt) and _record_at(lines, j, width, max_record):
            return None, j


_LOOKAHEAD = 20  # lines a value may span when deciding whether a record starts at a line


def _strict_record(span: list[str], width: int) -> list[str] | None:
    """The fields of ``span`` read as exactly one RFC 4180 record of the header's width, or None."""
    reader = csv.reader([ln + "\n" for ln in span], strict=True)
    try:
        rec = next(reader)
    except (csv.Error, StopIteration):
        return None
    if reader.line_num != len(span) or _width_problem(len(rec), rec[-1] if rec else "", width):
        return None
    return rec if len(span) == 1 or _spans_by_rfc(span) else None


def _record_at(lines: list[str], j: int, width: int, max_record: int) -> bool:
    """Does a record of the header's width start at line ``j`` (over at most ``_LOOKAHEAD`` lines)?"""
    if _closed(lines[j]) is not None:
        return _strict_record(lines[j:j + 1], width) is not None
    size = len(lines[j])
    for k in range(j + 1, min(len(lines), j + _LOOKAHEAD)):
        size += len(lines[k]) + 1
        if size > max_record:
            return False
        if lines[k].count('"') % 2 and _closed('"' + lines[k]) is not None:
            return _strict_record(lines[j:k + 1], width) is not None
    return False


# --- JSON Lines --------------------------------------------------------------------------------

class _DuplicateKey(ValueError):
    """A JSON object that names one key twice (which value is meant is not guessed)."""


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _DuplicateKey(f"key '{_one_line(dup, 40)}' appears twice in one object (which value is meant is "
                            "not guessed)")
    return obj


def _json_text(value: object) -> str:
    """A JSON scalar as the feed's text: null -> "", strings as they are, numbers and booleans
    in JSON spelling (``true``, ``1e+30``, ``NaN``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _read_jsonl(text: str, path: str, digest: str, encoding: str) -> RawFeed:
    objects, lines, rejects = [], [], []
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_no_duplicate_keys)
            if not isinstance(obj, dict):
                raise ValueError(f"a JSON {type(obj).__name__}, not an object")
        except _DuplicateKey as exc:
            rejects.append(Reject(i, None, line[:200], "unique_json_keys", str(exc)))
            continue
        except (ValueError, RecursionError) as exc:
            rejects.append(Reject(i, None, line[:200], "valid_json_object",
                                  f"not a JSON object: {_one_line(str(exc), 120)}"))
            continue
        objects.append(obj)
        lines.append(i)
    if not objects:
        raise BadInput(path, "no JSON object in the file", line=rejects[0].line if rejects else 1)
    kind = detect_kind(set().union(*(o.keys() for o in objects)), path)
    cols = list(REQUIRED_COLUMNS[kind]) + [
        c for c in OPTIONAL_COLUMNS.get(kind, ()) if c not in REQUIRED_COLUMNS[kind]
    ]
    records, good_lines = [], []
    for obj, line_no in zip(objects, lines, strict=True):
        nested = next((c for c in cols if isinstance(obj.get(c), (list, dict))), None)
        if nested is not None:
            what = "an array" if isinstance(obj[nested], list) else "an object"
            rejects.append(Reject(line_no, nested, json.dumps(obj[nested])[:200], "scalar_value",
                                  f"{nested} is {what}, not a single value"))
            continue
        records.append([_json_text(obj.get(c)) for c in cols])
        good_lines.append(line_no)
    frame = pd.DataFrame(records, columns=cols, dtype=str) if records else pd.DataFrame(columns=cols, dtype=str)
    rejects.sort(key=lambda r: r.line)
    return RawFeed(path, digest, kind, "jsonl", encoding, frame, np.asarray(good_lines, dtype=np.int64), rejects)
