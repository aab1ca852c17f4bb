"""Settings: one file in ``config/resilience.toml`` plus ``RESILIENCE_*`` environment overrides.

Example
-------
>>> from resilience.settings import load_settings
>>> s = load_settings(env={"RESILIENCE_TOP_N": "7"})
>>> s.top_n
7
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = ["Settings", "load_settings", "project_root"]


def project_root() -> Path:
    """The folder holding ``config/`` (the repository root, or the working directory)."""
    env = os.environ.get("RESILIENCE_HOME")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    if (here / "config").is_dir():
        return here
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Every field can be overridden by ``RESILIENCE_<FIELD>`` (upper case)."""

    db_url: str = ""
    inbox: str = "var/inbox"
    top_n: int = 50
    forecast_hours: tuple[float, ...] = (1, 3, 6, 24, 72)
    stale_after_minutes: float = 30.0
    future_tolerance_minutes: float = 10.0
    past_horizon_days: float = 3650.0  # a status older than this is quarantined (docs/data-limits.md)
    # rows of one feed part from which Great Expectations runs the suite (fewer: the same suite is
    # evaluated in-process, without its ~3 s import; 0 = always Great Expectations)
    validation_gx_min_rows: int = 200_000
    max_file_bytes: int = 2 * 1024**3  # a feed file larger than this is refused (2 GiB)
    max_record_bytes: int = 1024**2  # a CSV / JSON Lines line longer than this is refused (1 MiB)
    snapshots_kept: int = 48
    exporter_host: str = "127.0.0.1"
    exporter_port: int = 9108
    exporter_label_limits: str = ""  # "operator=100,prefecture=100,...": distinct values kept per label
    pushgateway_url: str = ""
    report_dir: str = "var/reports"
    # where results and inputs lie (relative to the home unless absolute; Settings.path resolves)
    archive_dir: str = "var/archive"  # ingested feed files by sha256 (PostgreSQL stores; SQLite: beside the file)
    exports_dir: str = "var/exports"  # per-operator extracts of each snapshot
    whatif_dir: str = "var/whatif"  # what-if DAG results, one folder per run
    restoration_dir: str = "var/restoration"  # restoration plans of the restore DAG
    hardening_dir: str = "var/hardening"  # hardening plans of the harden DAG
    run_dir: str = "var/run"  # heartbeats (resilience watch)
    scenarios_dir: str = "config/scenarios"  # the scenario files planners pick from
    restoration_resources: str = "config/resources/noto-2024.yaml"  # crews, generators, roads
    hardening_measures: str = "config/hardening/measures.yaml"  # the measures catalogue
    display_timezone: str = "Asia/Tokyo"  # times in reports, what-if pages and the Airflow UI
    watch_wait_seconds: float = 60.0  # the analyze DAG waits this long for a live watch's snapshot
    # `resilience receive` (docs/receivers.md); credentials only from the environment
    receiver_host: str = "127.0.0.1"
    receiver_http_port: int = 9110
    receiver_snmp_port: int = 9162
    receiver_rules: str = "config/alarms.yaml"
    receiver_spool: str = "var/receiver/spool"
    receiver_ingest: str = "direct"  # direct (the receiver ingests) | inbox (the Airflow DAG does)
    receiver_batch_seconds: float = 0.5
    receiver_max_body_bytes: int = 1024**2
    receiver_max_batch_events: int = 1000
    receiver_rate_per_client: float = 5000.0  # requests/s per client address (429 beyond)
    receiver_rate_per_source: float = 50.0  # events/s per element / trap agent (coalesced beyond)
    home: str = field(default="")

    def resolved_db_url(self) -> str:
        """The database URL, defaulting to a SQLite file under ``var/``."""
        if self.db_url:
            return self.db_url
        path = Path(self.home or project_root()) / "var" / "resilience.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    def path(self, value: str) -> Path:
        """Resolve a configured path relative to the project home."""
        p = Path(value)
        return p if p.is_absolute() else Path(self.home or project_root()) / p


def _coerce(kind: type | str, raw: str):
    kind = str(kind)
    if "tuple" in kind:
        return tuple(float(x) for x in str(raw).replace(" ", "").split(",") if x)
    if "int" in kind:
        return int(raw)
    if "float" in kind:
        return float(raw)
    return str(raw)


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read ``config/resilience.toml`` (if present) and apply ``RESILIENCE_*`` overrides."""
    env = os.environ if env is None else env
    root = project_root()
    path = Path(path) if path else Path(env.get("RESILIENCE_CONFIG", root / "config" / "resilience.toml"))
    values: dict[str, object] = {}
    if path.is_file():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        values.update(data.get("resilience", data))
    for f in fields(Settings):
        key = f"RESILIENCE_{f.name.upper()}"
        if key in env:
            values[f.name] = env[key]
    out: dict[str, object] = {}
    for f in fields(Settings):
        if f.name in values:
            v = values[f.name]
            if isinstance(v, list):
                v = ",".join(str(x) for x in v)
            out[f.name] = _coerce(f.type, v) if isinstance(v, str) else v
    out.setdefault("home", str(root))
    return Settings(**out)
