"""The spool-to-ingest worker: spooled events -> status rows -> the same ingest path as files.

Each round takes the closed spool segments (oldest first), maps their events with the rules
(:class:`AlarmState` keeps the active alarms of every element, so that an on-battery alarm and a
site-down alarm of one node make one status row ``state=down, power=battery``), writes the rows
as JSON Lines feed files (``node_status`` / ``link_status`` shapes of docs/data-contracts.md) and:

- ``ingest="direct"`` (default): ingests them with :func:`resilience.api.ingest` (validation,
  quarantine with the reason, archive by sha256, transitions-only history) within seconds, with
  no Airflow; the files then lie in the archive.
- ``ingest="inbox"``: moves them into the inbox (``settings.inbox``) where the Airflow ingest DAG
  takes them; the worker then ingests nothing itself (one writer per deployment, never both).

Events that cannot be used (malformed, unmapped alarm, no element name, a domain that is not
an alarm) are written to the quarantine table with their reason and the whole event as the
record. Segments are removed only after all this committed; a crash in between repeats the
round with the same bytes (an archived file is not ingested twice, quarantine rows of a batch
are written once).

Example
-------
>>> from resilience.receivers.rules import load_rules
>>> st = AlarmState()
>>> rs = load_rules()
>>> from resilience.receivers.events import split_alertmanager, normalize
>>> recs, _ = split_alertmanager({"alerts": [{"status": "firing", "startsAt": "2024-01-01T00:00:00Z",
...     "labels": {"alertname": "OnBattery", "node_id": "B1"}, "fingerprint": "a"}]}, peer="", rx=0)
>>> rows, rejects = map_records(recs, rs, st, nodes={"B1"}, links=set())
>>> rows["node_status"][0]["state"], rows["node_status"][0]["power"]
('up', 'battery')
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from resilience.receivers.events import Normalized, normalize, safe_text
from resilience.receivers.rules import CLEARING, HOLDING, LINK_EFFECTS, RuleSet

__all__ = ["AlarmState", "Reject", "map_records", "Worker", "QUARANTINE_KIND"]

log = logging.getLogger("resilience.receive")
QUARANTINE_KIND = "alarm"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class AlarmState:
    """Active alarms per element: ``active[element][key] = [effect, time iso, minutes]``, and
    the time of the last event seen per key (an older event for the same key changes nothing:
    the newer observation wins). Saved as JSON beside the spool after every round."""

    active: dict[str, dict[str, list]] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # key -> element it is active on
    done: list[str] = field(default_factory=list)  # segments whose round committed

    def node_row(self, node: str, at: datetime) -> dict:
        """The status row of a node from its active alarms."""
        effects = {v[0]: v for v in self.active.get(f"node:{node}", {}).values()}
        state = "down" if "down" in effects else "degraded" if "degraded" in effects else "up"
        power = "battery" if ("on_battery" in effects or "battery_low" in effects) else "grid"
        row = {"observed_at": _iso(at), "node_id": node, "state": state, "power": power}
        mins = [v[2] for v in self.active.get(f"node:{node}", {}).values()
                if v[0] in ("on_battery", "battery_low") and v[2] is not None]
        if mins and power == "battery":
            row["battery_remaining_min"] = str(min(mins))
        return row

    def link_row(self, link: str, at: datetime) -> dict:
        """The status row of a link from its active alarms."""
        down = any(v[0] == "link_down" for v in self.active.get(f"link:{link}", {}).values())
        return {"observed_at": _iso(at), "link_id": link, "state": "down" if down else "up"}

    def apply(self, element: str, n: Normalized, effect: str, minutes: float | None) -> bool:
        """Apply one event to ``element`` (``node:<id>`` or ``link:<id>``); ``False`` when it
        is older than what was seen for its key (or repeats it exactly: a duplicate)."""
        at = _iso(n.time)
        last = self.seen.get(n.key)
        if last is not None and last > at:
            return False
        active = self.active.setdefault(element, {})
        if effect in HOLDING:
            if n.clear:
                if n.key not in active and last == at:
                    return False
                active.pop(n.key, None)
                self.where.pop(n.key, None)
            else:
                if active.get(n.key, [None])[0] == effect and last == at:
                    return False
                active[n.key] = [effect, at, minutes]
                self.where[n.key] = element
        elif effect in CLEARING:
            for k, v in list(active.items()):
                if v[0] in CLEARING[effect] and v[1] <= at:
                    del active[k]
                    self.where.pop(k, None)
        self.seen[n.key] = at
        if not active:
            self.active.pop(element, None)
        return True

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, rename)."""
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"active": self.active, "seen": self.seen, "where": self.where,
                       "done": self.done[-100:]}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> AlarmState:
        """The saved state, or an empty one."""
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        return cls(d.get("active", {}), d.get("seen", {}), d.get("where", {}), d.get("done", []))


@dataclass(frozen=True)
class Reject:
    """An event that cannot be used: quarantined with ``rule`` and ``reason``."""

    source_type: str
    rule: str
    reason: str
    field: str | None
    value: str | None
    record: dict


def _minutes(n: Normalized, source: str | None) -> float | None:
    if not source:
        return None
    raw = n.facts.get(source) or n.names.get(source)
    try:
        v = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if 0 <= v < 1e6 else None


def _element(n: Normalized, rs: RuleSet, want: str, nodes: set[str], links: set[str]) -> tuple[str | None, str | None]:
    """``(id, None)`` of the element of kind ``want`` the event names, else ``(None, reason)``."""
    stype = "3gpp" if n.source_type == "3gpp" else ("ves" if n.source_type == "heartbeat" else n.source_type)
    own = rs.names(stype, want)
    anyk = rs.names(stype, "any")
    other = rs.names(stype, "link" if want == "node" else "node")
    known = nodes if want == "node" else links
    cands = [(f, rs.to_id(n.names[f])) for f in (*own, *anyk) if n.names.get(f)]
    for _, cid in cands:
        if cid in known:
            return cid, None
    # nothing known yet: an explicit name of the right kind goes to ingest (quarantined there as
    # an unknown element, retryable when the inventory has it); so does an 'any' name that is
    # not known as the other kind either
    other_known = links if want == "node" else nodes
    for f, cid in cands:
        if f in own or cid not in other_known:
            return cid, None
    named = [f for f in (*own, *anyk, *other) if n.names.get(f)]
    if not named:
        return None, f"names no {want}: none of the fields {', '.join((*own, *anyk)) or '(none configured)'} is set"
    return None, f"a {want} alarm, but the event names a known {'link' if want == 'node' else 'node'} only"


def map_records(records: list[dict], rs: RuleSet, state: AlarmState, *, nodes: set[str],
                links: set[str], counts: dict | None = None) -> tuple[dict[str, list[dict]], list[Reject]]:
    """Map spool records to status rows (``{"node_status": [...], "link_status": [...]}``, in
    event order) and rejects, updating ``state``. ``counts`` (optional) gets
    ``(source_type, outcome)`` -> n for ``mapped``, ``duplicate``, ``ignored``, ``rejected``."""
    rows: dict[str, list[dict]] = {"node_status": [], "link_status": []}
    limited: dict[str, list[bool]] = {"node_status": [], "link_status": []}
    rejects: list[Reject] = []
    counts = counts if counts is not None else {}

    def count(st: str, outcome: str) -> None:
        counts[(st, outcome)] = counts.get((st, outcome), 0) + 1

    for rec in records:
        n = normalize(rec)
        st = "ves" if n.source_type in ("3gpp", "heartbeat") else n.source_type
        if n.problem:
            rule = "receiver_malformed" if n.source_type == "invalid" or n.problem.startswith("malformed") \
                else "receiver_not_an_alarm"
            rejects.append(Reject(st, rule, n.problem, None, None, rec))
            count(st, "rejected")
            continue
        effect, minutes, rule_name = n.effect, None, "built-in"
        if effect is None:
            rule = rs.match(n.facts)
            if rule is None and n.clear and n.key in state.where:
                # a clear whose raise we hold: it clears that alarm, whatever its words
                effect = state.active.get(state.where[n.key], {}).get(n.key, ["down"])[0]
            elif rule is None:
                rejects.append(Reject(st, "receiver_unmapped_alarm",
                                      "no rule of the alarm rules maps this alarm (config/alarms.yaml)",
                                      "alarm", safe_text(n.facts.get("text") or n.facts.get("trap") or "", 200), rec))
                count(st, "rejected")
                continue
            else:
                effect, rule_name = rule.effect, rule.name
                minutes = _minutes(n, rule.minutes_from)
        if effect == "ignore":
            count(st, "ignored")
            continue
        want = "link" if effect in LINK_EFFECTS else "node"
        element, why = _element(n, rs, want, nodes, links)
        if element is None:
            rejects.append(Reject(st, "receiver_unknown_source", f"rule '{rule_name}': {why}", "source",
                                  safe_text(next(iter(n.names.values()), ""), 200), rec))
            count(st, "rejected")
            continue
        ekey = f"{want}:{element}"
        if effect != "heartbeat" and not state.apply(ekey, n, effect, minutes):
            count(st, "duplicate")
            continue
        kind = "node_status" if want == "node" else "link_status"
        rows[kind].append(state.node_row(element, n.time) if want == "node" else state.link_row(element, n.time))
        limited[kind].append(bool(rec.get("rl")))
        count(st, "mapped")
    for kind, key in (("node_status", "node_id"), ("link_status", "link_id")):
        if any(limited[kind]):  # an element over its rate: only its latest row of the round
            last = {r[key]: i for i, (r, rl) in enumerate(zip(rows[kind], limited[kind], strict=True)) if rl}
            rows[kind] = [r for i, (r, rl) in enumerate(zip(rows[kind], limited[kind], strict=True))
                          if not rl or last[r[key]] == i]
    return rows, rejects


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, sort_keys=True, ensure_ascii=False).encode() + b"\n" for r in rows)


class Worker:
    """Turns closed spool segments into stored state (see the module docstring).

    Parameters
    ----------
    spool : Spool
        The receiver's spool.
    rules : RuleSet
        The alarm rules.
    db_url : str, optional
        The project store.
    ingest : str
        ``direct`` or ``inbox``.
    metrics : ReceiverMetrics, optional
        Counted into when given.
    batch_seconds, batch_events : float, int
        When the open segment is closed.
    """

    def __init__(self, spool, rules: RuleSet, *, db_url: str | None = None, ingest: str = "direct",
                 metrics=None, batch_seconds: float = 0.5, batch_events: int = 20_000,
                 max_round_events: int = 100_000):
        if ingest not in ("direct", "inbox"):
            raise ValueError("ingest must be direct or inbox")
        self.spool, self.rules, self.db_url, self.mode = spool, rules, db_url, ingest
        self.metrics = metrics
        self.batch_seconds, self.batch_events, self.max_round_events = batch_seconds, batch_events, max_round_events
        self.state_path = Path(spool.folder) / "state.json"
        self.work = Path(spool.folder) / "out"
        self.work.mkdir(exist_ok=True)
        self.state = AlarmState.load(self.state_path)
        self.stop = threading.Event()
        self.failures = 0
        self.last_error: str | None = None
        self.rounds = 0

    # --- one round ------------------------------------------------------------------------
    def _known(self) -> tuple[set[str], set[str]]:
        from resilience import api
        from resilience.store.repo import known_ids

        api.ensure_schema(self.db_url)
        with api.engine(self.db_url).connect() as conn:
            return set(known_ids(conn, "nodes")), set(known_ids(conn, "links"))

    def run_once(self) -> int:
        """Close the open segment when due, then process closed segments; returns the number of
        events processed. Raises the store's error when the database is unavailable (the
        segments stay, and are tried again)."""
        if self.spool.due(self.batch_seconds, self.batch_events):
            self.spool.rotate()
        hold = os.environ.get("RESILIENCE_RECEIVER_HOLD")  # fault injection (tests): pause here
        if hold and Path(hold).exists():
            return 0
        segs = self.spool.closed()
        if not segs:
            return 0
        done = set(self.state.done)
        finished = [s for s in segs if s.name in done]
        if finished:  # stored before a crash, removal not reached
            self.spool.remove(finished)
            segs = [s for s in segs if s.name not in done]
        take, records = [], []
        for s in segs:
            recs = self.spool.read(s)
            if take and len(records) + len(recs) > self.max_round_events:
                break
            take.append(s)
            records.extend(recs)
        if not take:
            return 0
        self._process(take, records)
        self.spool.remove(take)
        self.rounds += 1
        return len(records)

    def _process(self, segs: list[Path], records: list[dict]) -> None:
        from resilience import api

        name = segs[0].stem if len(segs) == 1 else f"{segs[0].stem}_{segs[-1].stem.split('-', 1)[1]}"
        nodes, links = self._known()
        trial = AlarmState(json.loads(json.dumps(self.state.active)), dict(self.state.seen),
                           dict(self.state.where), list(self.state.done))
        counts: dict = {}
        rows, rejects = map_records(records, self.rules, trial, nodes=nodes, links=links, counts=counts)
        files = []
        for kind, rs in rows.items():
            if rs:
                p = self.work / f"receiver_{name}.{kind}.jsonl"
                data = _jsonl(rs)
                if not p.exists() or p.read_bytes() != data:
                    tmp = p.with_name(p.name + ".tmp")
                    tmp.write_bytes(data)
                    os.replace(tmp, p)
                files.append(p)
        row_counts: dict[str, tuple[int, int]] = {}
        if self.mode == "direct" and files:
            for r in api.ingest(files, db_url=self.db_url):
                if not r.already_ingested:
                    row_counts[r.kind] = (r.accepted, r.quarantined)
        self._quarantine(name, rejects)
        if self.mode == "inbox" and files:
            from resilience.settings import load_settings

            s = load_settings()
            inbox = s.path(s.inbox)
            inbox.mkdir(parents=True, exist_ok=True)
            for p in files:
                tmp = inbox / (p.name + ".part")  # an in-progress name: the DAG leaves it alone
                tmp.write_bytes(p.read_bytes())
                os.replace(tmp, inbox / p.name)
        trial.done = (trial.done + [s.name for s in segs])[-100:]
        trial.save(self.state_path)
        self.state = trial
        for p in files:
            p.unlink(missing_ok=True)
        now = time.time()
        if self.metrics is not None:
            self.metrics.round_done(records, counts, rows=row_counts, now=now, direct=self.mode == "direct")

    def _quarantine(self, name: str, rejects: list[Reject]) -> None:
        if not rejects:
            return
        from resilience import api
        from resilience.feeds.readers import Reject as Row
        from resilience.store import repo

        body = _jsonl([r.record for r in rejects])
        sha = hashlib.sha256(body).hexdigest()
        path = f"receiver:{name}"
        api.ensure_schema(self.db_url)
        with api.engine(self.db_url).begin() as conn:
            if not repo.list_quarantine(conn, file=sha, status="all", limit=1).empty:
                return  # this batch's rejects were written before a crash
            repo.add_quarantine(
                conn, sha256=sha, path=path, kind=QUARANTINE_KIND,
                rejects=[Row(i, r.field, r.value, r.rule, f"{r.source_type}: {r.reason}")
                         for i, r in enumerate(rejects, 1)],
                records=[json.dumps(r.record, ensure_ascii=False, sort_keys=True) for r in rejects],
                row_kinds=[None] * len(rejects))

    # --- the loop -------------------------------------------------------------------------
    @staticmethod
    def warm_up() -> None:
        """Load the validation machinery once (pandas and the typed checks; a receiver batch is
        under ``validation_gx_min_rows``, so Great Expectations is not loaded), so that the first
        events are not the slow ones."""
        import numpy as np
        import pandas as pd

        from resilience.feeds.validate import ValidationContext, validate_rows

        for kind, key in (("node_status", "node_id"), ("link_status", "link_id")):
            ctx = ValidationContext()
            ctx.known_nodes = ctx.known_links = pd.Index(["x"])
            frame = pd.DataFrame({"observed_at": [datetime.now(UTC).isoformat()], key: ["x"],
                                  "state": ["up"], "power": ["grid"]})
            validate_rows(kind, frame, np.arange(1), ctx)

    def run(self, poll: float = 0.1) -> None:
        """Process until :attr:`stop` is set; a store failure backs off (1 s doubling to 30 s)
        and tries the same segments again: nothing is lost while the database is down."""
        try:
            self.warm_up()
        except Exception as exc:  # noqa: BLE001 - only a speed-up; the first round pays instead
            log.warning("receiver: warm-up failed: %s", exc)
        backoff = 0.0
        while not self.stop.is_set():
            try:
                n = self.run_once()
                backoff = 0.0
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - the store or the disk: retry, never drop
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                log.warning("receiver: round failed, retrying: %s", self.last_error)
                if self.metrics is not None:
                    self.metrics.round_failed()
                backoff = min(30.0, max(1.0, backoff * 2))
                self.stop.wait(backoff)
                continue
            if n == 0:
                self.stop.wait(poll)
