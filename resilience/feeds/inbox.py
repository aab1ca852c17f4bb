"""Claim feed files from the inbox folder safely, and file each one away when it is done.

The inbox is a folder where operators' systems drop feed files (``settings.inbox``). A file goes
through three places, each move an atomic ``rename`` inside the inbox's file system::

    <inbox>/status.csv  --claim-->  <inbox>/.claimed/<claim_id>/status.csv
                        --settle--> <inbox>/processed/<stamp>_status.csv
                                or  <inbox>/rejected/<stamp>_status.csv (+ .reason.txt)

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
import re
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "CLAIMED",
    "adopt",
    "PROCESSED",
    "REJECTED",
    "Candidate",
    "claim",
    "claim_dir",
    "claimed",
    "ingest_inbox",
    "inside",
    "release",
    "safe_name",
    "scan",
    "settle",
]

CLAIMED = ".claimed"
PROCESSED = "processed"
REJECTED = "rejected"
IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".swp", "~")
_SAFE_ID = re.compile(r"[^A-Za-z0-9_+-]+")


@dataclass(frozen=True)
class Candidate:
    """A directory entry of the inbox and what to do with it.

    ``action`` is ``"take"`` (a settled regular file), ``"wait"`` (still being written) or
    ``"refuse"`` (never to be read; ``reason`` says why).
    """

    path: Path
    action: str
    reason: str = ""


def inside(root: str | Path, name: str | Path) -> Path:
    """``root / name``, refusing a name that escapes ``root``.

    Parameters
    ----------
    root : path
        The folder the name must stay in.
    name : path
        A relative name (e.g. from a request or a scenario parameter).

    Returns
    -------
    Path
        The joined path (not resolved through symbolic links).

    Raises
    ------
    ValueError
        ``name`` is absolute, contains ``..``, or resolves (through links) outside ``root``.

    Example
    -------
    >>> inside("/srv/inbox", "a/b.csv").as_posix()
    '/srv/inbox/a/b.csv'
    >>> inside("/srv/inbox", "../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: ../etc/passwd: a path outside /srv/inbox is refused
    """
    root = Path(root)
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not str(name).strip():
        raise ValueError(f"{name}: a path outside {root} is refused")
    joined = root / rel
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(joined)]) != real_root:
        raise ValueError(f"{name}: a path outside {root} is refused")
    return joined


def safe_name(value: str) -> str:
    """``value`` reduced to a safe folder name (letters, digits, ``_+-``; at most 120 characters).

    Example
    -------
    >>> safe_name("manual__2024-01-03T00:00:00+00:00/../x")
    'manual__2024-01-03T00_00_00+00_00_x'
    """
    cleaned = _SAFE_ID.sub("_", value).strip("_") or "claim"
    return cleaned[:120]


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


def _summary_entry(result, moved: Path | None) -> dict:
    entry = result.as_dict()
    entry["path"] = Path(result.path).name
    entry["moved_to"] = str(moved) if moved else None
    return entry


def ingest_inbox(
    inbox: str | Path,
    claim_id: str,
    *,
    db_url: str | None = None,
    settle_seconds: float = 2.0,
    claim_new: bool = True,
) -> dict:
    """Claim the settled inbox files, ingest them, and file each away (the ingest pipeline step).

    Each file is moved as soon as its own ingest transaction committed: to ``processed/`` when
    it was stored (or was already stored: same sha256) and to ``rejected/`` with a reason when
    it cannot be read at all or every row of it was quarantined. A retry with the same
    ``claim_id`` carries on with the files not yet filed away.

    Parameters
    ----------
    inbox : path
        The inbox folder.
    claim_id : str
        The claim (an Airflow run id, say).
    db_url : str, optional
        The project store (default: settings).
    settle_seconds : float
        See :func:`scan`.
    claim_new : bool
        Also claim files that arrived since (else only finish the files already claimed).

    Returns
    -------
    dict
        ``files`` (one entry per ingested file: path, kind, rows, accepted, quarantined,
        already_ingested, moved_to), ``rejected`` (file and reason), ``rows_accepted``,
        ``rows_quarantined`` (rows of new files that ended in the quarantine table), ``files_new`` and ``changed`` (true when new rows were stored, i.e.
        the analysis is out of date).
    """
    from resilience import api
    from resilience.errors import BadInput

    inbox = Path(inbox)
    folder = claim_dir(inbox, claim_id)
    pending = claim(inbox, claim_id, settle_seconds=settle_seconds) if claim_new else claimed(inbox, claim_id)
    marker = folder / ".changed"
    files: list[dict] = []
    rejected: list[dict] = []

    def on_file(result) -> None:
        path = Path(result.path)
        if result.rows > 0 and result.accepted == 0 and not result.already_ingested:
            reason = (f"{path.name}: all {result.rows} rows quarantined (see the quarantine table, "
                      f"sha256 {result.sha256})")
            moved = settle(inbox, path, ok=False, reason=reason)
            rejected.append({"path": path.name, "reason": reason, "moved_to": str(moved) if moved else None,
                             "rows": result.rows})
        else:
            if result.accepted > 0 and not result.already_ingested:
                marker.touch()
            files.append(_summary_entry(result, settle(inbox, path, ok=True)))

    while pending:
        try:
            api.ingest(pending, db_url=db_url, on_file=on_file)
            break
        except BadInput as exc:  # unreadable file: reject it, ingest the others
            bad = next((p for p in pending if p.name == Path(exc.path).name), None)
            if bad is None:
                raise
            moved = settle(inbox, bad, ok=False, reason=str(exc))
            rejected.append({"path": bad.name, "reason": str(exc), "moved_to": str(moved) if moved else None})
            pending = [p for p in claimed(inbox, claim_id) if p != bad]
    changed = marker.exists()
    marker.unlink(missing_ok=True)
    release(inbox, claim_id)
    return {
        "claim_id": claim_id,
        "files": files,
        "rejected": rejected,
        "rows_accepted": sum(f["accepted"] for f in files if not f["already_ingested"]),
        "rows_quarantined": sum(f["quarantined"] for f in files if not f["already_ingested"])
        + sum(r.get("rows", 0) for r in rejected),
        "files_new": sum(1 for f in files if not f["already_ingested"]),
        "changed": changed,
    }
