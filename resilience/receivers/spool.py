"""The durable spool: every accepted event is on disk (fsync) before it is acknowledged.

Records are appended as JSON Lines to the open segment ``seg-<n>.open``; concurrent appenders
share one write + ``fsync`` (group commit), and each :meth:`Spool.append` returns only once its
records are durable. The worker closes the open segment (:meth:`Spool.rotate`, a rename to
``seg-<n>.jsonl`` followed by an ``fsync`` of the folder) and removes a closed segment only after
its events are stored. After a crash the open segment is closed on start; a torn last line (a
write that never completed, so was never acknowledged) is set aside in ``torn/``.

Example
-------
>>> import tempfile
>>> sp = Spool(tempfile.mkdtemp())
>>> sp.append([{"t": "x"}, {"t": "y"}])
>>> seg = sp.rotate(); [r["t"] for r in Spool.read(seg)]
['x', 'y']
>>> sp.remove([seg]); sp.closed()
[]
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

__all__ = ["Spool", "SpoolError"]


class SpoolError(OSError):
    """The spool could not make records durable (the events are not acknowledged)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Append-only segments with group commit (see the module docstring).

    Parameters
    ----------
    folder : path
        The spool folder (created if missing).
    fsync : bool
        ``False`` only for tests of other parts; the receiver always syncs.
    """

    def __init__(self, folder: str | Path, *, fsync: bool = True):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sync = fsync
        self._cv = threading.Condition()
        self._pending: list[bytes] = []
        self._ticket = 0  # last ticket handed out
        self._durable = 0  # every ticket <= this is on disk
        self._failed: dict[int, BaseException] = {}
        self._flushing = False
        self.open_events = 0
        self.opened_at: float | None = None
        self._recover()
        self._seq = self._next_seq()
        self._fh = None

    # --- startup --------------------------------------------------------------------------
    def _recover(self) -> None:
        for p in sorted(self.folder.glob("seg-*.open")):
            data = p.read_bytes()
            cut = data.rfind(b"\n") + 1
            if cut < len(data):
                torn = self.folder / "torn"
                torn.mkdir(exist_ok=True)
                (torn / (p.stem + ".tail")).write_bytes(data[cut:])
                with p.open("r+b") as fh:
                    fh.truncate(cut)
                    os.fsync(fh.fileno())
            if cut == 0:
                p.unlink()
            else:
                os.replace(p, p.with_suffix(".jsonl"))
        _fsync_dir(self.folder)

    def _next_seq(self) -> int:
        nums = [int(p.stem.split("-", 1)[1]) for p in self.folder.glob("seg-*.*")
                if p.stem.split("-", 1)[1].isdigit()]
        return max(nums, default=0) + 1

    # --- appending ------------------------------------------------------------------------
    def append(self, records: list[dict]) -> None:
        """Write ``records`` to the open segment and return once they are durable.

        Raises :class:`SpoolError` when the write or ``fsync`` failed (nothing acknowledged).
        """
        if not records:
            return
        lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in records]
        with self._cv:
            self._pending.append(b"".join(lines))
            self.open_events += len(records)
            self._ticket += 1
            mine = self._ticket
            while self._durable < mine and mine not in self._failed:
                if self._flushing:
                    self._cv.wait()
                    continue
                self._flushing = True
                batch, upto = self._pending, self._ticket
                self._pending = []
                self._cv.release()
                err: BaseException | None = None
                try:
                    self._write(b"".join(batch))
                except BaseException as exc:  # noqa: BLE001 - re-raised to every waiter
                    err = exc
                finally:
                    self._cv.acquire()
                    self._flushing = False
                if err is not None:
                    for t in range(self._durable + 1, upto + 1):
                        self._failed[t] = err
                else:
                    self._durable = upto
                self._cv.notify_all()
            err = self._failed.pop(mine, None)
            if err is not None:
                self.open_events -= len(records)
                raise SpoolError(f"spool {self.folder}: {err}") from err

    def _write(self, data: bytes) -> None:
        if self._fh is None:
            path = self.folder / f"seg-{self._seq:012d}.open"
            self._fh = open(path, "ab")  # noqa: SIM115 - kept open until rotation
            if self._sync:
                _fsync_dir(self.folder)
            self.opened_at = time.monotonic()
        self._fh.write(data)
        self._fh.flush()
        if self._sync:
            os.fsync(self._fh.fileno())

    # --- the worker's side ----------------------------------------------------------------
    def rotate(self) -> Path | None:
        """Close the open segment (if it holds anything) and return its closed path."""
        with self._cv:
            while self._flushing:
                self._cv.wait()
            if self._fh is None:
                return None
            self._fh.close()
            self._fh = None
            src = self.folder / f"seg-{self._seq:012d}.open"
            dest = src.with_suffix(".jsonl")
            os.replace(src, dest)
            if self._sync:
                _fsync_dir(self.folder)
            self._seq += 1
            self.open_events = 0
            self.opened_at = None
            return dest

    def due(self, max_age: float, max_events: int) -> bool:
        """Whether the open segment should be closed now (old or big enough)."""
        with self._cv:
            return self.opened_at is not None and (
                time.monotonic() - self.opened_at >= max_age or self.open_events >= max_events)

    def closed(self) -> list[Path]:
        """Closed segments, oldest first."""
        return sorted(self.folder.glob("seg-*.jsonl"))

    def remove(self, segments: list[Path]) -> None:
        """Delete segments whose events are stored (then ``fsync`` the folder)."""
        for p in segments:
            Path(p).unlink(missing_ok=True)
        if segments and self._sync:
            _fsync_dir(self.folder)

    @staticmethod
    def read(segment: str | Path) -> list[dict]:
        """The records of a closed segment; an unreadable line becomes an ``invalid`` record
        (kept for the quarantine, never dropped)."""
        out = []
        with open(segment, "rb") as fh:
            for i, line in enumerate(fh, 1):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"t": "invalid", "rx": 0.0, "peer": "",
                                "e": {"kind": "spool", "reason": f"spool line {i} unreadable",
                                      "head": line[:4096].decode("utf-8", "replace")}})
        return out

    def depth(self) -> int:
        """Events waiting: in the open segment (counted) and in closed ones (lines counted)."""
        n = self.open_events
        for p in self.closed():
            try:
                with open(p, "rb") as fh:
                    n += sum(chunk.count(b"\n") for chunk in iter(lambda f=fh: f.read(1 << 20), b""))
            except FileNotFoundError:
                continue
        return n

    def close(self) -> None:
        """Close the open segment file (it stays open-named: the next start closes it)."""
        with self._cv:
            while self._flushing:
                self._cv.wait()
            if self._fh is not None:
                self._fh.close()
                self._fh = None
