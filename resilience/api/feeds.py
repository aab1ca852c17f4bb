"""Feeds in: ingest files, the inbox step of the ingest DAG, quarantine and inventory roles.

Example
-------
>>> import tempfile
>>> from resilience.api.state import init
>>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
>>> ingest([], db_url=url), quarantine_list(db_url=url), inventory_history(db_url=url)
([], [], [])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from resilience.api.state import engine, ensure_schema, resolve_db_url, store_guard
from resilience.settings import load_settings

if TYPE_CHECKING:
    from resilience.feeds.ingest import IngestResult

__all__ = ["archive_dir", "claim_inbox", "ingest", "ingest_inbox", "inventory_history",
           "quarantine_list", "quarantine_retry", "set_kind"]


@store_guard
def ingest(
    paths: Iterable[str | Path],
    *,
    db_url: str | None = None,
    graphml_cores: tuple[str, ...] = (),
    on_file: Callable[[IngestResult], None] | None = None,
    force: bool = False,
    namespace: str | None = None,
    allow_redefine: bool = False,
) -> list[IngestResult]:
    """Ingest feed files (kind detected from the header) in dependency order.

    ``force`` re-reads files already ingested; ``namespace`` names a GraphML file's ids;
    ``allow_redefine`` lets a file take over elements of another source (docs/recovery.md).
    Raises :class:`resilience.errors.BadInput` before storing anything if a file cannot be read
    (and, for that file, when it would redefine another source's elements).
    """
    from resilience.feeds.ingest import ingest_paths

    settings = load_settings()
    eng = engine(db_url)
    ensure_schema(db_url)
    return ingest_paths(
        eng,
        paths,
        archive_dir=archive_dir(db_url),
        graphml_cores=graphml_cores,
        future_tolerance=timedelta(minutes=settings.future_tolerance_minutes),
        on_file=on_file,
        force=force,
        namespace=namespace,
        allow_redefine=allow_redefine,
    )


def archive_dir(db_url: str | None = None) -> Path:
    """Where ingested feed files are archived: beside a SQLite database file
    (``<its folder>/archive``), else ``RESILIENCE_HOME/var/archive`` (PostgreSQL).

    >>> str(archive_dir("sqlite:////srv/noc/r.db"))
    '/srv/noc/archive'
    """
    from resilience.feeds.ingest import archive_dir_for

    return archive_dir_for(resolve_db_url(db_url), load_settings().path(load_settings().archive_dir))


@store_guard
def quarantine_list(
    *, db_url: str | None = None, file: str | None = None, rule: str | None = None, status: str = "open"
) -> list[dict]:
    """Quarantined rows ``{"id", "file", "line", "field", "value", "rule", "reason", "status"}``
    (``status``: open, resolved or all; ``file``: path, file name or sha256 prefix; ``rule``:
    rule name or words of the reason)."""
    from resilience.store.repo import list_quarantine

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        df = list_quarantine(conn, file=file, rule=rule, status=status)
    return [
        {"id": int(r["id"]), "file": r["path"], "line": None if _isna(r["line"]) else int(r["line"]),
         "field": r["field"], "value": r["value"], "rule": r["rule"], "reason": r["reason"],
         "status": r["status"]}
        for r in df.to_dict("records")
    ]


def _isna(value) -> bool:
    """``None`` or NaN (a nullable integer column read through pandas)."""
    return value is None or value != value


@store_guard
def quarantine_retry(
    *, db_url: str | None = None, file: str | None = None, rule: str | None = None
) -> dict:
    """Validate the open quarantined rows again against the current store and store those that
    pass (see :func:`resilience.feeds.ingest.retry_quarantine`); returns
    ``{"retried", "stored", "still_quarantined"}``."""
    from resilience.feeds.ingest import retry_quarantine

    ensure_schema(db_url)
    s = load_settings()
    return retry_quarantine(engine(db_url), file=file, rule=rule,
                            future_tolerance=timedelta(minutes=s.future_tolerance_minutes)).as_dict()


@store_guard
def set_kind(
    node_ids: Iterable[str], kind: str, *, db_url: str | None = None, namespace: str | None = None
) -> list[dict]:
    """Change the role of stored nodes (e.g. make GraphML nodes cores) without re-delivering a
    file; each change is recorded in the inventory history. Returns
    ``[{"node_id", "old_kind", "new_kind"}]`` for the nodes that changed.

    Raises :class:`resilience.errors.BadInput` for an unknown kind or node (nothing changed).
    """
    from resilience.feeds.ingest import set_kind as _set_kind

    ensure_schema(db_url)
    changed = _set_kind(engine(db_url), list(node_ids), kind, namespace=namespace)
    return [{"node_id": i, "old_kind": old, "new_kind": kind} for i, old in changed]


@store_guard
def inventory_history(*, db_url: str | None = None, element_id: str | None = None) -> list[dict]:
    """Recorded inventory changes (of one element, or all), oldest first:
    ``{"element_type", "element_id", "field", "old_value", "new_value", "source", "origin",
    "changed_at"}``."""
    from resilience.store.repo import inventory_changes

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        df = inventory_changes(conn, element_id)
    cols = ["element_type", "element_id", "field", "old_value", "new_value", "source", "origin", "changed_at"]
    return [{c: (r[c].isoformat() if c == "changed_at" else r[c]) for c in cols} for r in df.to_dict("records")]


def _summary_entry(result: IngestResult, moved: Path | None) -> dict:
    entry = result.as_dict()
    entry["path"] = Path(result.path).name
    entry["moved_to"] = str(moved) if moved else None
    return entry


def claim_inbox(claim_id: str, *, inbox: str | Path | None = None, settle_seconds: float = 1.0
                ) -> list[Path]:
    """Claim the settled files of the inbox for ``claim_id`` (the ingest DAG's sensor).

    Files an earlier try of the same claim left claimed are taken back first, then the files
    that have settled (unchanged for ``settle_seconds``) are claimed
    (:func:`resilience.feeds.inbox.adopt`, :func:`resilience.feeds.inbox.claim`).

    Parameters
    ----------
    claim_id : str
        The claim (an Airflow run id, say).
    inbox : path, optional
        The inbox folder (default: the ``inbox`` setting).
    settle_seconds : float
        How long a file must be unchanged to be claimed.

    Returns
    -------
    list of Path
        The claimed files (empty: nothing to ingest yet).

    Example
    -------
    >>> import tempfile
    >>> claim_inbox("run-1", inbox=tempfile.mkdtemp())
    []
    """
    from resilience.feeds.inbox import adopt, claim

    if inbox is None:
        settings = load_settings()
        inbox = settings.path(settings.inbox)
    return adopt(inbox, claim_id) + claim(inbox, claim_id, settle_seconds=settle_seconds)


def ingest_inbox(
    inbox: str | Path,
    claim_id: str,
    *,
    db_url: str | None = None,
    settle_seconds: float = 2.0,
    claim_new: bool = True,
) -> dict:
    """Claim the settled inbox files, ingest them, and file each away (the ingest pipeline step).

    The claiming and filing mechanics are :mod:`resilience.feeds.inbox`'s; this step ingests
    with :func:`ingest`. Each file is moved as soon as its own ingest transaction committed: to
    ``processed/`` when it was stored (or was already stored: same sha256) and to ``rejected/``
    with a reason when it cannot be read at all or every row of it was quarantined. A retry with
    the same ``claim_id`` carries on with the files not yet filed away.

    Parameters
    ----------
    inbox : path
        The inbox folder.
    claim_id : str
        The claim (an Airflow run id, say).
    db_url : str, optional
        The project store (default: settings).
    settle_seconds : float
        See :func:`resilience.feeds.inbox.scan`.
    claim_new : bool
        Also claim files that arrived since (else only finish the files already claimed).

    Returns
    -------
    dict
        ``files`` (one entry per ingested file: path, kind, rows, accepted, quarantined,
        already_ingested, moved_to), ``rejected`` (file and reason), ``rows_accepted``,
        ``rows_quarantined`` (rows of new files that ended in the quarantine table),
        ``files_new`` and ``changed`` (true when new rows were stored, i.e. the analysis is out
        of date).

    Example
    -------
    >>> import tempfile
    >>> ingest_inbox(tempfile.mkdtemp(), "run-1", db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")["files"]
    []
    """
    from resilience.errors import BadInput
    from resilience.feeds.inbox import claim, claim_dir, claimed, release, settle

    inbox = Path(inbox)
    folder = claim_dir(inbox, claim_id)
    pending = claim(inbox, claim_id, settle_seconds=settle_seconds) if claim_new else claimed(inbox, claim_id)
    marker = folder / ".changed"
    files: list[dict] = []
    rejected: list[dict] = []

    def on_file(result: IngestResult) -> None:
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
            ingest(pending, db_url=db_url, on_file=on_file)
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
