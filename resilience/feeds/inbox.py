"""Claim feed files from the inbox folder safely, and file each one away when it is done.

The inbox is a folder where operators' systems drop feed files (``settings.inbox``). A file goes
through three places, each move an atomic ``rename`` inside the inbox's file system::

    <inbox>/status.csv  --claim-->  <inbox>/.claimed/<claim_id>/status.csv
                        --settle--> <inbox>/processed/<stamp>_status.csv
                                or  <inbox>/rejected/<stamp>_status.csv (+ .reason.txt)

This module holds the mechanics only; the ingest step over the inbox (claim, ingest, settle)
is :func:`resilience.api.ingest_inbox`, which the ingest DAG calls.

Rules:

- Only regular files directly in the inbox are taken. Symbolic links are refused (moved, as
  links, to ``rejected/`` with a reason; their target is never opened), so are names that would
  resolve outside the inbox (``..``, absolute paths).
- Files still being written are left alone: names ending in ``.part``, ``.tmp``, ``.partial``,
  ``.crdownload``, ``~``, hidden names (``.x``), and files whose size or modification time
  changed during the settle time or was modified less than the settle time ago.
- Everything is idempotent: claiming again with the same ``claim_id`` returns the files already
  claimed (a retried task carries on where the failed try stopped), and settling a file that is
  no longer there does nothing.

Example
-------
>>> import tempfile, pathlib
>>> inbox = pathlib.Path(tempfile.mkdtemp())
>>> _ = (inbox / "status.csv").write_text("observed_at,node_id,state,power,battery_remaining_min\\n")
>>> _ = (inbox / "big.csv.part").write_text("still coming")
>>> claimed = claim(inbox, "run-1", settle_seconds=0)
>>> [p.name for p in claimed]
['status.csv']
>>> claim(inbox, "run-1", settle_seconds=0) == claimed
True
>>> settle(inbox, claimed[0], ok=True).parent.name
'processed'
>>> settle(inbox, claimed[0], ok=True) is None
True
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from resilience.files import inside, safe_name  # noqa: F401  (inside: the inbox's path rule too)

__all__ = [
    "CLAIMED",
    "adopt",
    "PROCESSED",
    "REJECTED",
    "Candidate",
    "claim",
    "claim_dir",
    "claimed",
    "release",
    "scan",
    "settle",
]

CLAIMED = ".claimed"
PROCESSED = "processed"
REJECTED = "rejected"
IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".swp", "~")


@dataclass(frozen=True)
class Candidate:
    """A directory entry of the inbox and what to do with it.

    ``action`` is ``"take"`` (a settled regular file), ``"wait"`` (still being written) or
    ``"refuse"`` (never to be read; ``reason`` says why).
    """

    path: Path
    action: str
    reason: str = ""


def claim_dir(inbox: str | Path, claim_id: str) -> Path:
    """The folder holding the files claimed under ``claim_id`` (e.g. an Airflow run id)."""
    return Path(inbox) / CLAIMED / safe_name(claim_id)


def _in_progress(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES)


def scan(inbox: str | Path, *, settle_seconds: float = 2.0, now: float | None = None) -> list[Candidate]:
    """Look at the entries directly in the inbox (sub-folders are ignored), oldest first.

    A regular file is ``take`` when its size and modification time did not change over
    ``settle_seconds`` (one stat, a sleep, a second stat; no sleep if every file is older than
    that) and its name is not an in-progress name.

    Parameters
    ----------
    inbox : path
        The inbox folder (created if missing).
    settle_seconds : float
        How long a file must stay unchanged before it is taken.
    now : float, optional
        The current time (``time.time()``); for tests.

    Returns
    -------
    list of Candidate
        Sorted by modification time, then name.

    Notes
    -----
    O(n) stat calls for n entries, plus at most one sleep of ``settle_seconds``.
    """
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    first: dict[str, os.stat_result] = {}
    out: list[Candidate] = []
    for entry in os.scandir(inbox):
        st = entry.stat(follow_symlinks=False)
        path = inbox / entry.name
        if stat.S_ISLNK(st.st_mode):
            out.append(Candidate(path, "refuse", "symbolic link refused: the inbox takes regular files only"))
        elif stat.S_ISDIR(st.st_mode):
            continue
        elif not stat.S_ISREG(st.st_mode):
            out.append(Candidate(path, "refuse", "not a regular file (device, pipe or socket)"))
        elif _in_progress(entry.name):
            out.append(Candidate(path, "wait", "in-progress name"))
        else:
            first[entry.name] = st
    now = time.time() if now is None else now
    if settle_seconds > 0 and any(now - st.st_mtime < settle_seconds for st in first.values()):
        time.sleep(settle_seconds)
    for name, st in first.items():
        path = inbox / name
        try:
            again = path.stat(follow_symlinks=False)
        except FileNotFoundError:  # taken by someone else meanwhile
            continue
        changed = (again.st_size, again.st_mtime_ns, again.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino)
        if changed or not stat.S_ISREG(again.st_mode):
            out.append(Candidate(path, "wait", "still being written"))
        else:
            out.append(Candidate(path, "take"))
    return sorted(out, key=lambda c: (_mtime(c.path), c.path.name))


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return 0.0


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _unique(dest: Path) -> Path:
    if not dest.exists() and not dest.is_symlink():
        return dest
    for i in range(1, 10_000):
        alt = dest.with_name(f"{dest.stem}.{i}{dest.suffix}")
        if not alt.exists() and not alt.is_symlink():
            return alt
    raise FileExistsError(dest)


def _move(src: Path, folder: Path, reason: str | None) -> Path | None:
    folder.mkdir(parents=True, exist_ok=True)
    dest = _unique(folder / f"{_stamp()}_{src.name}")
    if reason is not None:  # the reason first: a rejected file never lies there unexplained
        note = dest.with_name(dest.name + ".reason.txt")
        tmp = note.with_name(note.name + ".tmp")
        tmp.write_text(reason.rstrip("\n") + "\n", encoding="utf-8")
        os.replace(tmp, note)
    try:
        os.rename(src, dest)  # atomic; moves a symbolic link itself, never its target
    except FileNotFoundError:
        if reason is not None:
            dest.with_name(dest.name + ".reason.txt").unlink(missing_ok=True)
        return None
    return dest


def claim(
    inbox: str | Path, claim_id: str, *, settle_seconds: float = 2.0, limit: int | None = None
) -> list[Path]:
    """Move the settled files of the inbox into the claim folder of ``claim_id``.

    Refused entries (symbolic links, special files) go straight to ``rejected/`` with a reason.
    Files already in the claim folder (from an earlier try with the same id) are returned too.

    Parameters
    ----------
    inbox : path
        The inbox folder.
    claim_id : str
        Who claims (e.g. the Airflow run id); reduced to a safe folder name.
    settle_seconds : float
        See :func:`scan`.
    limit : int, optional
        Claim at most this many new files (the rest wait for the next claim).

    Returns
    -------
    list of Path
        The claimed files, in the order they arrived.

    Notes
    -----
    Two claimers racing for one file cannot both get it: the ``rename`` of the loser fails and
    the file is skipped.
    """
    inbox = Path(inbox)
    folder = claim_dir(inbox, claim_id)
    taken: list[Path] = []
    for cand in scan(inbox, settle_seconds=settle_seconds):
        if cand.action == "refuse":
            _move(cand.path, inbox / REJECTED, f"{cand.path.name}: {cand.reason}")
        elif cand.action == "take" and (limit is None or len(taken) < limit):
            folder.mkdir(parents=True, exist_ok=True)
            dest = _unique(folder / cand.path.name)
            try:
                os.rename(cand.path, dest)
            except FileNotFoundError:
                continue
            taken.append(dest)
    return claimed(inbox, claim_id)


def adopt(inbox: str | Path, claim_id: str) -> list[Path]:
    """Take over the files left in other claim folders (claims of runs that died).

    Only safe with one claimer at a time (the ingest DAG runs one run at a time).

    Returns
    -------
    list of Path
        The files now held under ``claim_id``.
    """
    root = Path(inbox) / CLAIMED
    mine = claim_dir(inbox, claim_id)
    if root.is_dir():
        for other in sorted(p for p in root.iterdir() if p.is_dir() and p != mine):
            for path in claimed(inbox, other.name):
                mine.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(path, _unique(mine / path.name))
                except FileNotFoundError:
                    continue
            for leftover in other.glob(".*"):
                if leftover.is_file():
                    leftover.unlink(missing_ok=True)
            release(inbox, other.name)
    return claimed(inbox, claim_id)


def claimed(inbox: str | Path, claim_id: str) -> list[Path]:
    """The files currently held under ``claim_id``, in arrival order."""
    folder = claim_dir(inbox, claim_id)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.is_symlink() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def settle(inbox: str | Path, path: str | Path, *, ok: bool, reason: str | None = None) -> Path | None:
    """File a claimed file away: to ``processed/`` (``ok``) or ``rejected/`` with a reason file.

    Parameters
    ----------
    inbox : path
        The inbox folder.
    path : path
        A claimed file (it must lie inside the inbox).
    ok : bool
        Whether the file was used.
    reason : str, optional
        Why it was rejected (written to ``<file>.reason.txt`` beside it).

    Returns
    -------
    Path or None
        Where the file went; ``None`` if it was no longer there (already settled).
    """
    inbox, path = Path(inbox), Path(path)
    real_inbox = os.path.realpath(inbox)
    if os.path.commonpath([real_inbox, os.path.realpath(path.parent)]) != real_inbox:
        raise ValueError(f"{path}: a path outside {inbox} is refused")
    if ok:
        return _move(path, inbox / PROCESSED, None)
    return _move(path, inbox / REJECTED, reason or f"{path.name}: rejected")


def release(inbox: str | Path, claim_id: str) -> None:
    """Remove the claim folder of ``claim_id`` once it is empty (no-op otherwise)."""
    folder = claim_dir(inbox, claim_id)
    try:
        folder.rmdir()
    except (FileNotFoundError, OSError):
        pass
