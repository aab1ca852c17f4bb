"""Read feed files into raw string tables: encoding and format detection, feed-kind detection.

A reader never guesses silently: an unreadable, binary or empty file raises
:class:`~resilience.errors.BadInput` naming the file (and the line and field where known);
a row that is structurally broken (a truncated last line, a bad JSON line, too many fields) is
kept as a *structural reject* so that it is quarantined, not dropped.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from resilience.errors import BadInput
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


@dataclass(frozen=True)
class Reject:
    """A row refused before validation (structure), or by a validation rule."""

    line: int
    field: str | None
    value: str | None
    rule: str
    reason: str


@dataclass
class RawFeed:
    """A feed file read into strings.

    ``frame`` holds one row per data row (all values ``str``, missing = ``""``) and ``lines`` the
    1-based line number of each row in the file. ``rejects`` are rows that could not be split into
    fields; ``rows_read = len(frame) + len(rejects)``.
    """

    path: str
    sha256: str
    kind: str
    format: str  # csv | jsonl | graphml
    encoding: str
    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    graph_links: pd.DataFrame | None = None  # GraphML: the links part
    graph_link_lines: np.ndarray | None = None

    @property
    def rows_read(self) -> int:
        extra = 0 if self.graph_links is None else len(self.graph_links)
        return len(self.frame) + extra + len(self.rejects)


def sha256_of(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_of(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


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

    >>> detect_encoding("輪島".encode("cp932"))
    'cp932'
    >>> detect_encoding(b"\\xef\\xbb\\xbfnode_id")
    'utf-8-sig'
    >>> detect_encoding("輪島".encode("utf-8")[:-1])
    'utf-8'
    """
    if b"\x00" in raw[:65536]:
        raise BadInput(path, "binary file (NUL bytes): not a CSV, JSON Lines or GraphML feed")
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
    raise BadInput(
        path,
        "header matches no feed kind (nodes, links, node status, link status, power); "
        f"columns seen: {', '.join(sorted(cols)) or 'none'}",
        line=1,
    )


def read_feed(path: str | Path, *, graphml_cores: tuple[str, ...] = ()) -> RawFeed:
    """Read a CSV, JSON Lines or GraphML feed file; detect its encoding and kind.

    Raises
    ------
    BadInput
        The file is missing, empty, binary, not text in a supported encoding, or its header is
        not a feed header. Nothing has been stored when this is raised.
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(name, f"cannot read file: {exc.strerror or exc}") from None
    if not raw.strip():
        raise BadInput(name, "file is empty")
    digest = sha256_of(raw)
    encoding = detect_encoding(raw, name)
    # Only a character cut at the very end can fail here (see detect_encoding): it becomes U+FFFD
    # in the last line, which is then quarantined as truncated.
    text = raw.decode(encoding, errors="replace")
    head = text.lstrip()[:512]
    if head.startswith("<?xml") or head.startswith("<graphml") or "<graphml" in head:
        from resilience.feeds.graphml import read_graphml

        return read_graphml(raw, name, digest, encoding, cores=graphml_cores)
    if head.startswith("{"):
        return _read_jsonl(text, name, digest, encoding)
    return _read_csv(text, name, digest, encoding)


def _read_csv(text: str, path: str, digest: str, encoding: str) -> RawFeed:
    if "\r" in text:  # CRLF (Windows) and bare CR (old Mac exports) line ends: one kind of line end
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    first_line = text.split("\n", 1)[0]
    try:
        header = next(csv.reader([first_line]))
    except csv.Error as exc:
        raise BadInput(path, f"unreadable CSV header: {exc}", line=1) from None
    header = [h.strip() for h in header]
    kind = detect_kind(header, path)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise BadInput(path, f"column '{dup}' appears twice in the header", line=1, field=dup)
    rejects: list[Reject] = []
    body = text.split("\n", 1)[1] if "\n" in text else ""
    # A last line cut short (no newline and fewer fields than the header) is quarantined.
    if body and not text.endswith("\n"):
        last_start = body.rfind("\n") + 1
        last = body[last_start:]
        n_fields = len(next(csv.reader([last]))) if last.strip() else 0
        if last.strip() and n_fields < len(header):
            line_no = text.count("\n") + 1
            rejects.append(
                Reject(line_no, header[n_fields] if n_fields < len(header) else None, last[:200],
                       "row_has_all_fields", f"truncated line: {n_fields} of {len(header)} fields")
            )
            body = body[:last_start]
    try:
        frame = pd.read_csv(
            io.StringIO(body), header=None, names=header, dtype=str,
            keep_default_na=False, na_filter=False, skip_blank_lines=True, engine="c",
        )
        n_lines = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
        blank = sum(1 for ln in body.split("\n") if not ln.strip()) if n_lines != len(frame) else 0
        fast = n_lines - blank == len(frame) and (blank == 0 or '"' not in body)
    except pd.errors.ParserError:
        fast = False
    if fast:  # every physical line is one row: line numbers are exact
        if blank:
            keep = np.asarray([bool(ln.strip()) for ln in body.split("\n")[:n_lines]])
            lines = np.arange(2, n_lines + 2, dtype=np.int64)[keep]
        else:
            lines = np.arange(2, len(frame) + 2, dtype=np.int64)
        return RawFeed(path, digest, kind, "csv", encoding, frame, lines, rejects)
    # Slow, exact path: quoted fields (maybe with newlines) or rows with too many fields.
    reader = csv.reader(io.StringIO(body))
    rows, lines = [], []
    width = len(header)
    prev_end = 1
    for rec in _records(reader, path):
        start = prev_end + 1
        prev_end = reader.line_num + 1
        if not rec or all(not v.strip() for v in rec):
            continue
        if len(rec) > width:
            rejects.append(Reject(start, None, ",".join(rec)[:200], "row_has_header_width",
                                  f"{len(rec)} fields where the header has {width}"))
            continue
        rows.append(rec + [""] * (width - len(rec)))
        lines.append(start)
    frame = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame(columns=header, dtype=str)
    return RawFeed(path, digest, kind, "csv", encoding, frame, np.asarray(lines, dtype=np.int64), rejects)


def _records(reader, path: str):
    """The records of a ``csv.reader``; a file the csv module cannot split (a field over its size
    limit) is refused with the line, never an unhandled ``csv.Error``."""
    try:
        yield from reader
    except csv.Error as exc:
        raise BadInput(path, f"unreadable CSV: {exc}", line=reader.line_num + 1) from None


def _read_jsonl(text: str, path: str, digest: str, encoding: str) -> RawFeed:
    records, lines, rejects = [], [], []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            rejects.append(Reject(i, None, line[:200], "valid_json_object", f"not a JSON object: {exc}"))
            continue
        records.append({k: "" if v is None else str(v) for k, v in obj.items()})
        lines.append(i)
    if not records:
        raise BadInput(path, "no JSON object in the file", line=rejects[0].line if rejects else 1)
    kind = detect_kind(set().union(*(r.keys() for r in records)), path)
    cols = list(REQUIRED_COLUMNS[kind]) + [
        c for c in OPTIONAL_COLUMNS.get(kind, ()) if c not in REQUIRED_COLUMNS[kind]
    ]
    frame = pd.DataFrame.from_records(records).reindex(columns=cols).fillna("").astype(str)
    return RawFeed(path, digest, kind, "jsonl", encoding, frame, np.asarray(lines, dtype=np.int64), rejects)
