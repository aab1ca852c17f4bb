"""The ``resilience`` command: tables for people, ``--format json|csv`` for scripts.

Exit codes: 0 success, 2 bad input (the message names the file, line and field), 1 other errors.
Heavy libraries (pandas, networkx, Great Expectations) are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from resilience.errors import BadInput, ResilienceError

app = typer.Typer(
    name="resilience",
    help="Resilience monitoring for base stations, backhaul and cable-TV networks.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # docstring paragraphs are re-flowed to the terminal
    pretty_exceptions_enable=False,
)
sample_app = typer.Typer(help="Generate sample networks and feeds.", no_args_is_help=True)
app.add_typer(sample_app, name="sample")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class State:
    db_url: str | None = None


state = State()

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table for people, json/csv for scripts")]


@app.callback()
def _main(
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="RESILIENCE_DB_URL", help="Database URL (default: SQLite under var/)"),
    ] = None,
) -> None:
    state.db_url = db


def _console():
    from rich.console import Console

    return Console(stderr=False)


def _print_rows(rows: list[dict], fmt: Format, title: str = "") -> None:
    """One way to print a list of flat records: rich table, JSON list, or CSV."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False) + "\n")
        return
    if fmt is Format.csv:
        import csv

        from resilience.reports.escape import csv_safe

        cols = list(rows[0]) if rows else []
        w = csv.DictWriter(sys.stdout, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: csv_safe(v) for k, v in r.items()})
        return
    from rich.table import Table

    table = Table(title=title or None)
    cols = list(rows[0]) if rows else []
    for c in cols:
        table.add_column(c, justify="right" if rows and isinstance(rows[0][c], int | float) else "left")
    for r in rows:
        table.add_row(*(str(r[c]) for c in cols))
    _console().print(table)


def _fail_bad_input(exc: BadInput) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


@app.command()
def init() -> None:
    """Create or upgrade the database schema."""
    from resilience import api

    url = api.init(state.db_url)
    typer.echo(f"database ready: {url}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Feed files: CSV, JSON Lines or GraphML")],
    fmt: FormatOpt = Format.table,
    core: Annotated[
        str, typer.Option("--core", help="GraphML: comma-separated node ids that are the cores")
    ] = "",
    namespace: Annotated[str | None, typer.Option(
        "--namespace", help="GraphML: namespace of the ids (default: the network's name, else the file stem)")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Re-read files already ingested (same sha256) on purpose")] = False,
    allow_redefine: Annotated[bool, typer.Option(
        "--allow-redefine", help="Let these files take over elements that another source defined")] = False,
) -> None:
    """Ingest feed files; the kind (inventory, status, power, GraphML) is detected from the header.

    Recovery (re-ingest on purpose, namespaces, roles): docs/recovery.md.
    """
    from resilience import api

    results = []
    cores = tuple(c.strip() for c in core.split(",") if c.strip())
    opts = dict(db_url=state.db_url, graphml_cores=cores, namespace=namespace, force=force,
                allow_redefine=allow_redefine)
    try:
        if fmt is Format.table:
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("ingesting", total=len(paths))
                results = api.ingest(paths, on_file=lambda _r: progress.advance(task), **opts)
        else:
            results = api.ingest(paths, **opts)
    except BadInput as exc:
        _fail_bad_input(exc)
    for r in results:
        if r.redefined:
            typer.echo(f"note: {r.path}: took over {r.redefined} elements defined by another source "
                       "(--allow-redefine; see the inventory history)", err=True)
        if r.already_ingested and r.kind == "graphml" and cores:
            typer.echo(f"note: {r.path} was already ingested: --core applied as a role change "
                       f"({r.roles_changed} nodes made cores); change roles with "
                       "`resilience inventory set-kind IDS KIND`", err=True)
        if r.already_ingested and r.kind == "graphml" and namespace:
            typer.echo(f"note: {r.path} was already ingested: --namespace changes nothing without --force",
                       err=True)
    rows = [r.as_dict() for r in results]
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"files": rows}) + "\n")
    else:
        _print_rows(rows, fmt, "ingested")


# --- analysis commands (analyze, spof, whatif, forecast) ------------------------------------


class _CoverageToStderr:
    """Within an analysis command: print each CoverageWarning (no core, nothing served) as one
    ``warning: ...`` line on stderr; the exit code is unchanged."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self._seen = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        import warnings

        self._catch.__exit__(*exc)
        said = set()
        for w in self._seen:
            if type(w.message).__name__ == "CoverageWarning":
                if str(w.message) not in said:
                    said.add(str(w.message))
                    typer.echo(f"warning: {w.message}", err=True)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _ends(r: dict) -> str:
    """A link's two ends for a table cell: ``A1 Wajima agg – B1 Wajima 1``."""
    if not r.get("a"):
        return ""
    return " – ".join(f"{i} {n}".strip() for i, n in ((r["a"], r.get("a_name")), (r["b"], r.get("b_name"))))


@app.command()
def analyze() -> None:
    """Analyse the current state and store a snapshot (one transaction)."""
    from resilience import api

    with _CoverageToStderr(), _console().status("analysing"):
        sid = api.analyze(db_url=state.db_url)
    typer.echo(f"snapshot {sid} stored")


@app.command()
def watch(
    interval: Annotated[float, typer.Option("--interval", help="Seconds between checks for new feeds")] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Analyse once and exit")] = False,
) -> None:
    """Keep the model in memory and store a new snapshot whenever feeds were ingested.

    The seconds-level path beside the Airflow pipeline: status-only updates are applied to the
    model in place instead of rebuilding it.
    """
    import time

    from resilience.api.live import LiveModel

    live = LiveModel(state.db_url)
    while True:
        t0 = time.perf_counter()
        how = live.refresh()
        if how != "unchanged" or once:
            sid = live.analyze()
            done = "already stored by the pipeline" if live.reused else "stored"
            typer.echo(f"snapshot {sid} {done} ({how} model, {time.perf_counter() - t0:.1f} s)")
        if once:
            return
        time.sleep(interval)


@app.command()
def spof(
    top: Annotated[int, typer.Option("--top", help="How many single points of failure (>= 0)")] = 20,
    all_: Annotated[bool, typer.Option("--all", help="Every node and link, SPOF or not")] = False,
    srlg: Annotated[bool, typer.Option(
        "--srlg", help="Shared-risk groups instead: blast radius and hidden part of every group that cuts anything"
    )] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Single points of failure: the blast radius of every node and link, largest first.

    Names are shown next to ids (a link by its two ends). A summary line on stderr separates the
    single points of failure that cut other sites from the sites on their own access link.
    """
    from resilience import api

    if top < 0:
        _fail_bad_input(BadInput("--top", f"must be a count >= 0, not {top}"))
    with _CoverageToStderr():
        df = api.spof(db_url=state.db_url, top=None if all_ else top, srlg=srlg)
    if srlg:
        rows = [
            {"srlg": str(r.srlg), "links": [str(x) for x in r.links], "nodes_lost": int(r.nodes_lost),
             "subscribers_lost": int(r.subscribers_lost), "hidden_nodes": int(r.hidden_nodes),
             "hidden_subscribers": int(r.hidden_subscribers)}
            for r in df.itertuples(index=False)
        ]
        if fmt is not Format.json:
            rows = [{**r, "links": ",".join(r["links"])} for r in rows]
        _print_rows(rows, fmt, "shared-risk groups (hidden part: sites no single element cuts off)")
        return
    rows = []
    for r in df.to_dict("records"):
        row = {"element_type": r["element_type"], "id": str(r["id"]), "name": r["name"],
               "nodes_lost": int(r["nodes_lost"]), "subscribers_lost": int(r["subscribers_lost"])}
        if r["element_type"] == "link":
            row.update(a=r["a"], b=r["b"], a_name=r["a_name"], b_name=r["b_name"])
        if fmt is not Format.json:  # one set of columns for tables and CSV
            row = {"element_type": row["element_type"], "id": row["id"],
                   "name": _ends(row) or row["name"], "nodes_lost": row["nodes_lost"],
                   "subscribers_lost": row["subscribers_lost"]}
        rows.append(row)
    _print_rows(rows, fmt, "blast radius (single points of failure)")
    if fmt is Format.table:
        n, m = df.attrs["spofs_cutting_others"], df.attrs["single_homed_sites"]
        typer.echo(f"{n:,} single point{'s' * (n != 1)} of failure cut{'s' * (n == 1)} other sites; "
                   f"{m:,} site{'s' * (m != 1)} hang{'s' * (m == 1)} on {'its' if m == 1 else 'their'} "
                   "own access link")


def _split(text: str) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


@app.command()
def whatif(
    fail: Annotated[str, typer.Option("--fail", help="Comma-separated node or link ids")] = "",
    region: Annotated[str, typer.Option("--region", help="LAT,LON,KM: every element in the disc fails")] = "",
    power_outage: Annotated[str, typer.Option("--power-outage", help="Power feed or municipality")] = "",
    hours: Annotated[float | None, typer.Option("--hours", help="Power outage duration (h)")] = None,
    srlg: Annotated[str, typer.Option("--srlg", help="Comma-separated shared-risk group ids")] = "",
    scenario: Annotated[Path | None, typer.Option("--scenario", help="Scenario YAML file")] = None,
    fmt: FormatOpt = Format.table,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write the result page for planners (HTML, like the report) to this file")] = None,
) -> None:
    """What if these elements failed? Baseline, scenario, what is lost and the new SPOFs.

    Checked before the network is read, with the same bounds and messages as the what-if DAG's
    form and API: --region latitude -90..90, longitude -180..180, radius above 0 and at most
    2000 km; --hours 0 to 720.
    """
    # The options are mapped to one resilience.api.WhatIfRequest (its fields, bounds, messages).
    from resilience import api

    try:
        sc = api.WhatIfRequest.from_options(fail=_split(fail), region=region, power_outage=power_outage or None,
                                            hours=hours, srlg=_split(srlg), scenario=scenario).to_scenario()
        with _CoverageToStderr():  # the page needs the inventory and the newly single-homed sites as well
            result = api.whatif(sc, db_url=state.db_url, detail=html is not None)
    except BadInput as exc:
        _fail_bad_input(exc)
    except ValueError as exc:
        msg = str(exc)
        if scenario and not msg.startswith(str(scenario)):
            msg = f"{scenario}: {msg}"
        _fail_bad_input(BadInput("--scenario" if scenario else "whatif", msg))
    if html is not None:
        try:
            html.write_text(api.whatif_page(sc, result), encoding="utf-8")
        except OSError as exc:
            _fail_bad_input(BadInput("--html", f"{html}: {exc.strerror or exc}"))
        typer.echo(f"result page written to {html}", err=True)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(result.to_dict(), default=str, ensure_ascii=False) + "\n")
        return
    b, s, lost = result.baseline, result.scenario, result.lost
    _print_rows(
        [{"": "served nodes", "baseline": b["served_nodes"], "scenario": s["served_nodes"],
          "difference": s["served_nodes"] - b["served_nodes"]},
         {"": "served subscribers", "baseline": b["served_subscribers"], "scenario": s["served_subscribers"],
          "difference": s["served_subscribers"] - b["served_subscribers"]}],
        fmt, "what-if",
    )
    mc = result.monte_carlo
    if mc and fmt is Format.table:  # earthquake: the Monte Carlo statistics, not only the likely damage
        _print_rows(
            [{"lost": what, **{k: mc[what][k] for k in ("mean", "p50", "p95", "max")}}
             for what in ("nodes_lost", "subscribers_lost")],
            fmt, f"earthquake Monte Carlo ({mc['runs']:,} runs, seed {mc['seed']})",
        )
    detail = result.new_spofs_detail
    if detail and fmt is Format.table:
        _print_rows(
            [{"element_type": d["element_type"], "id": str(d["id"]), "name": _ends(d) or d.get("name", ""),
              "nodes_lost": d["nodes_lost"], "subscribers_lost": d["subscribers_lost"]}
             for d in detail[:20]],
            fmt, f"new single points of failure ({len(detail):,})",
        )
    if fmt is Format.table:
        names = lost.get("names") or [""] * len(lost["nodes"])
        shown = ", ".join(f"{i} ({n})" if n else str(i) for i, n in zip(lost["nodes"][:20], names, strict=False))
        shown += " ..." if len(lost["nodes"]) > 20 else ""
        what = "likely lost" if mc else "lost"
        _console().print(f"{what} {len(lost['nodes'])} nodes, {lost['subscribers']:,} subscribers: {shown}")
        _console().print(f"new single points of failure: {len(result.new_spofs)}")


@app.command()
def forecast(
    hours: Annotated[str, typer.Option("--hours", help="Comma-separated horizons in hours")] = "1,3,6,24,72",
    fmt: FormatOpt = Format.table,
) -> None:
    """Battery forecast: nodes and subscribers out at each horizon if grid power stays off."""
    from resilience import api

    try:
        hs = [float(h) for h in _split(hours)]
        if not hs or not all(0 <= h < float("inf") for h in hs):
            raise ValueError
    except ValueError:
        _fail_bad_input(BadInput("--hours", f"'{hours}' is not a list of finite hours >= 0 (e.g. 1,3,6,24,72)"))
    with _CoverageToStderr():
        df = api.forecast(db_url=state.db_url, hours=hs)
    rows = [{"horizon_hours": float(r.horizon_hours), "nodes_out": int(r.nodes_out),
             "subscribers_out": int(r.subscribers_out)} for r in df.itertuples(index=False)]
    _print_rows(rows, fmt, "battery forecast (grid power not restored)")

# --- restoration planning (restore: docs/restoration.md) ---------------------------------------


class Strategy(StrEnum):
    planned = "planned"
    nearest = "nearest"
    largest = "largest"
    fifo = "fifo"


def _horizon_hours(text: str) -> float:
    """``72h``, ``3d``, ``90m`` or plain hours to hours."""
    from resilience.sample.replay import parse_step

    t = (text or "").strip()
    try:
        h = float(t)
    except ValueError:
        try:
            h = parse_step(t).total_seconds() / 3600
        except BadInput:
            h = -1.0
    if not (0 < h <= 24 * 365):
        raise BadInput("--horizon", f"'{text}' is not a horizon from 1m to 365d (e.g. 72h)")
    return h


@app.command()
def restore(
    resources: Annotated[Path | None, typer.Option(
        "--resources", help="Resources YAML (default config/resources/noto-2024.yaml)")] = None,
    from_snapshot: Annotated[int | None, typer.Option(
        "--from-snapshot", help="Plan from the state at this stored snapshot's time")] = None,
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", help="What-if scenario YAML whose damage is added to the current state")] = None,
    horizon: Annotated[str, typer.Option("--horizon", help="Hours counted: 72h, 3d, 24")] = "72h",
    strategy: Annotated[Strategy, typer.Option(
        "--strategy", help="planned, or a baseline: nearest, largest, fifo")] = Strategy.planned,
    fmt: FormatOpt = Format.table,
) -> None:
    """Which repair, generator, portable base station or satellite kit first: an ordered plan,
    the served subscribers per hour, and subscriber-hours lost against the baselines."""
    from resilience import api

    try:
        if from_snapshot is not None and scenario is not None:
            raise BadInput("--scenario", "give --from-snapshot or --scenario, not both")
        hours = _horizon_hours(horizon)
        with _CoverageToStderr():
            plan = api.restore(resources, db_url=state.db_url, snapshot_id=from_snapshot,
                               scenario=scenario, horizon_h=hours, strategy=strategy.value)
    except BadInput as exc:
        _fail_bad_input(exc)
    if fmt is Format.json:
        keys = ("strategy", "horizon_h", "start", "subscriber_hours_lost", "baselines", "actions", "curve",
                "problem", "snapshot_id", "resources")
        sys.stdout.write(json.dumps({k: plan[k] for k in keys}, default=str, ensure_ascii=False) + "\n")
        return
    if fmt is Format.csv:
        _print_rows(plan["actions"], fmt)
        return
    cols = ("at", "resource", "action", "element", "travel_h", "work_h", "sites_restored", "subscribers_restored")
    _print_rows([{c: a[c] for c in cols} for a in plan["actions"][:50]], fmt,
                f"restoration plan ({strategy.value}, first 50 of {len(plan['actions']):,} actions)")
    _print_rows([{"strategy": k, "subscriber_hours_lost": v}
                 for k, v in {strategy.value: plan["subscriber_hours_lost"], **plan["baselines"]}.items()],
                fmt, f"subscriber-hours lost over {plan['horizon_h']:g} h (priority-weighted; lower is better)")
    marks = [c for c in plan["curve"] if c["hours"] in (0, 6, 24, 48, 72) or c is plan["curve"][-1]]
    _print_rows([{"hours": c["hours"], "served_subscribers": c["served_subscribers"]} for c in marks], fmt,
                "served subscribers")


class HardenFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


@app.command()
def harden(
    budget: Annotated[float, typer.Option("--budget", help="Money to spend, in the catalogue's currency (e.g. 2e9 yen)")],
    measures: Annotated[Path | None, typer.Option(
        "--measures", help="Measures catalogue YAML (default config/hardening/measures.yaml)")] = None,
    scenarios: Annotated[list[Path] | None, typer.Option(
        "--scenarios", help="Scenario or ensemble YAML (repeat; default: config/scenarios/*.yaml)")] = None,
    runs: Annotated[int | None, typer.Option("--runs", help="Scenario samples in all (default 200)")] = None,
    horizon: Annotated[str | None, typer.Option("--horizon", help="Hours counted: 168h, 7d (default 168)")] = None,
    holdout: Annotated[str | None, typer.Option(
        "--holdout", help="Plan without this scenario (by name), then score the plan on it")] = None,
    fmt: Annotated[HardenFormat, typer.Option("--format", "-f", help="table, json, or an html page")] = HardenFormat.table,
) -> None:
    """Where the next yen of hardening keeps the most people connected: the measures to buy
    within a budget, the frontier (budget to expected subscriber-hours lost) and the baselines."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from resilience import api

    try:
        hours = _horizon_hours(horizon) if horizon is not None else None
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), transient=True, disable=fmt is not HardenFormat.table) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            with _CoverageToStderr():
                out = api.harden(budget, measures=measures, scenarios=scenarios, runs=runs, horizon_h=hours,
                                 holdout=holdout, db_url=state.db_url, progress=progress)
    except BadInput as exc:
        _fail_bad_input(exc)
    if fmt is HardenFormat.json:
        keys = ("budget", "expected_subscriber_hours_lost", "baseline_loss", "plan", "frontier")
        sys.stdout.write(json.dumps({k: out[k] for k in keys}, default=str, ensure_ascii=False) + "\n")
        return
    if fmt is HardenFormat.html:
        from resilience.reports.hardening import render_hardening

        sys.stdout.write(render_hardening(out, tz=api.display_timezone()))
        return
    cols = ("measure", "site", "name", "municipality", "target", "cost", "expected_subscriber_hours_saved")
    _print_rows([{c: p[c] for c in cols} for p in out["plan"][:50]], Format.table,
                f"hardening plan (first 50 of {len(out['plan']):,} measures, {out['spent']:,.0f} "
                f"{out['currency']} of {out['budget']:,.0f})")
    _print_rows([{"plan": k, "expected_subscriber_hours_lost": round(v, 1)}
                 for k, v in {"planned": out["expected_subscriber_hours_lost"], **out["baseline_loss"]}.items()],
                Format.table, f"expected subscriber-hours lost over {out['horizon_h']:g} h, "
                f"{out['samples']} samples (lower is better)")
    if "holdout" in out:
        h = out["holdout"]
        _print_rows([{"plan": k, "subscriber_hours_lost": round(v, 1)}
                     for k, v in {"planned": h["expected_subscriber_hours_lost"], **h["baseline_loss"]}.items()],
                    Format.table, f"held out: {h['scenario']}")


# --- exporter command (serve) -----------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default: loopback, from settings)")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 9108, from settings)")] = None,
    top_n: Annotated[int | None, typer.Option("--top-n", help="Per-element series for the top N elements")] = None,
    max_sites: Annotated[int, typer.Option("--max-sites", help="Cap on per-site series of out sites")] = 2000,
    ttl: Annotated[float, typer.Option("--ttl", help="Seconds a read of the store is reused")] = 5.0,
    label_limits: Annotated[str | None, typer.Option(
        "--label-limits", help="Distinct values kept per label, e.g. operator=100,municipality=2000 "
                               "(the rest fold into 'other'; default from settings)")] = None,
) -> None:
    """Serve Prometheus metrics of the latest snapshot on /metrics, and /healthz.

    Read only: a SQLite database file that does not exist is an error (exit 2), never created.
    """
    from resilience.exporter import serve as run
    from resilience.exporter.model import parse_label_limits
    from resilience.settings import load_settings
    from resilience.store.engine import display_url

    s = load_settings()
    db_url = state.db_url or s.resolved_db_url()
    host, port = host or s.exporter_host, port if port is not None else s.exporter_port

    def ready(server) -> None:
        typer.echo(f"resilience exporter on http://{host}:{server.server_port}/metrics "
                   f"(database {display_url(db_url)})")

    try:
        limits = parse_label_limits(label_limits if label_limits is not None else s.exporter_label_limits)
        run(db_url, host=host, port=port, top_n=top_n if top_n is not None else s.top_n,
            max_sites_out=max_sites, ttl=ttl, label_limits=limits, ready=ready)
    except BadInput as exc:
        _fail_bad_input(exc)


# --- report command (report) ------------------------------------------------------------------


@app.command()
def report(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the report (default: report_dir of the settings)"),
    ] = None,
) -> None:
    """Write the HTML report of the latest analysis snapshot; print its path."""
    from resilience import api

    try:
        path = api.report(db_url=state.db_url, out_dir=out)
    except ResilienceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(str(path))


# --- sample commands and replay -----------------------------------------------------------------


@sample_app.command("synthetic")
def sample_synthetic(
    sites: Annotated[int, typer.Option("--sites", help="Number of sites (1,000 to 1,000,000)")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("var/sample/synthetic"),
) -> None:
    """A synthetic national operator network with matching status feeds."""
    from resilience.sample.synthetic import generate_synthetic, write_synthetic

    if sites < 100:
        _fail_bad_input(BadInput("--sites", "at least 100 sites"))
    with _console().status(f"generating {sites:,} sites"):
        paths = write_synthetic(generate_synthetic(sites, seed=seed), out)
    for p in paths.values():
        typer.echo(str(p))


@sample_app.command("noto")
def sample_noto(
    out: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("var/sample/noto"),
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """The Noto peninsula and Kanazawa: four mobile operators and a cable-TV operator."""
    from resilience.sample.noto import write_noto

    for p in write_noto(out, seed=seed).values():
        typer.echo(str(p))


@sample_app.command("noto-2024")
def sample_noto_2024(
    out: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("var/sample/noto-2024"),
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Feeds of the 2024-01-01 Noto earthquake, in time order, for `resilience replay`."""
    from resilience.sample.noto2024 import write_noto_2024

    write_noto_2024(out, seed=seed)
    typer.echo(str(out))


@app.command()
def replay(
    directory: Annotated[Path, typer.Argument(help="Folder written by `resilience sample noto-2024`")],
    step: Annotated[str, typer.Option("--step", help="Report every 30m, 1h, 6h, 1d ...")] = "1h",
    fmt: FormatOpt = Format.table,
) -> None:
    """Replay time-stamped feeds through the pipeline's code; one row per step."""
    from resilience import api
    from resilience.sample.replay import parse_step, replay_schedule

    try:
        delta = parse_step(step)
        total = len(replay_schedule(directory, step=delta))
        if fmt is Format.table:
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("replaying", total=total)
                rows = api.replay(directory, db_url=state.db_url, step=delta,
                                  on_step=lambda _r: progress.advance(task))
        else:
            rows = api.replay(directory, db_url=state.db_url, step=delta)
    except BadInput as exc:
        _fail_bad_input(exc)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    flat = [{"at": r["at"], "sites_down": r["sites_down"], "subscribers_out": r["subscribers_out"],
             **{c: r["by_cause"].get(c, 0) for c in ("power", "backhaul", "power+backhaul", "equipment", "unknown")}}
            for r in rows]
    _print_rows(flat, fmt, "replay")


# --- alarm receivers and current state (receive, status: docs/receivers.md) ---------------------


@app.command()
def receive(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default loopback; another "
                                             "needs RESILIENCE_RECEIVER_TOKEN or user/password)")] = None,
    http_port: Annotated[int | None, typer.Option("--http-port", help="Alertmanager and VES port (default 9110)")] = None,
    snmp_port: Annotated[int | None, typer.Option("--snmp-port", help="SNMP trap UDP port (default 9162)")] = None,
    no_snmp: Annotated[bool, typer.Option("--no-snmp", help="Do not listen for traps")] = False,
    rules: Annotated[Path | None, typer.Option("--rules", help="Alarm rules (default config/alarms.yaml)")] = None,
    ingest_mode: Annotated[str | None, typer.Option(
        "--ingest", help="direct: the receiver ingests (default); inbox: leave batches to the Airflow DAG")] = None,
    check: Annotated[bool, typer.Option("--check", help="Check the rules and settings, then exit")] = False,
) -> None:
    """Receive alarms: POST /alertmanager (webhook v4), POST /eventListener/v7 (VES 7.x), SNMP traps.

    Every accepted event is in the durable spool before it is acknowledged, then stored through
    the same ingest as feed files (validation, quarantine with the reason, transitions-only
    history). Metrics on /metrics of the HTTP port. See docs/receivers.md.
    """
    from resilience.receivers.service import Receiver, ReceiverConfig, run

    cfg = ReceiverConfig.from_settings(host=host, http_port=http_port, snmp_port=snmp_port, rules=rules,
                                       db_url=state.db_url, ingest=ingest_mode)
    if no_snmp:
        cfg.snmp_port = None

    def ready(rec: Receiver) -> None:
        snmp = f", traps on udp://{cfg.host}:{rec.snmp_port}" if rec.snmp_port is not None else ""
        typer.echo(f"resilience receiver on http://{cfg.host}:{rec.http_port} (/alertmanager, "
                   f"/eventListener/v7, /metrics){snmp}; {len(rec.rules.rules)} rules from {rec.rules.path}; "
                   f"ingest {cfg.ingest}")

    try:
        if check:
            from resilience.receivers.rules import load_rules

            rs = load_rules(cfg.rules)
            typer.echo(f"{len(rs.rules)} rules OK ({rs.path})")
            return
        run(cfg, ready=ready)
    except BadInput as exc:
        _fail_bad_input(exc)


@app.command()
def status(
    down: Annotated[bool, typer.Option("--down", help="Only nodes down or degraded and links down")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Current state of nodes and links (state 'unknown': no status fresher than stale_after_minutes)."""
    from resilience import api

    try:
        out = api.status(db_url=state.db_url, down=down)
    except BadInput as exc:
        _fail_bad_input(exc)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(out, default=str, ensure_ascii=False) + "\n")
        return
    if fmt is Format.csv:
        rows = [{"element_type": "node", "id": n["node_id"], "state": n["state"], "power": n["power"],
                 "battery_remaining_min": n["battery_remaining_min"], "observed_at": n["observed_at"]}
                for n in out["nodes"]]
        rows += [{"element_type": "link", "id": x["link_id"], "state": x["state"], "power": None,
                  "battery_remaining_min": None, "observed_at": x["observed_at"]} for x in out["links"]]
        _print_rows(rows, fmt)
        return
    _print_rows(out["nodes"], fmt, f"nodes ({len(out['nodes'])})")
    _print_rows(out["links"], fmt, f"links ({len(out['links'])})")


# --- quarantine and inventory commands (recovery: docs/recovery.md) ----------------------------

quarantine_app = typer.Typer(help="List and retry quarantined rows.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
inventory_app = typer.Typer(help="Change inventory roles without re-delivering files.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")


class QuarantineStatus(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


FileOpt = Annotated[str | None, typer.Option("--file", help="Path as ingested, file name, or sha256 prefix")]
RuleOpt = Annotated[str | None, typer.Option("--rule", help="Rule name, or words of the reason (e.g. 'unknown node')")]


@quarantine_app.command("list")
def quarantine_list(
    file: FileOpt = None,
    rule: RuleOpt = None,
    status: Annotated[QuarantineStatus, typer.Option("--status", help="open, resolved or all")] = QuarantineStatus.open,
    fmt: FormatOpt = Format.table,
) -> None:
    """Quarantined rows with file, line, field, value, rule and reason."""
    from resilience import api

    rows = api.quarantine_list(db_url=state.db_url, file=file, rule=rule, status=status.value)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"rows": rows}, default=str, ensure_ascii=False) + "\n")
        return
    _print_rows(rows, fmt, f"quarantine ({status.value})")


@quarantine_app.command("retry")
def quarantine_retry(file: FileOpt = None, rule: RuleOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Validate the open quarantined rows again against the current store; store those that pass."""
    from resilience import api

    result = api.quarantine_retry(db_url=state.db_url, file=file, rule=rule)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    if fmt is Format.csv:
        _print_rows([result], fmt)
        return
    typer.echo(f"retried {result['retried']} rows: {result['stored']} stored, "
               f"{result['still_quarantined']} still quarantined")


@inventory_app.command("set-kind")
def inventory_set_kind(
    ids: Annotated[str, typer.Argument(help="Comma-separated node ids, e.g. 0,12 or Sinet:0,Sinet:12")],
    kind: Annotated[str, typer.Argument(help="core, aggregation, base_station, cable_headend, ...")],
    namespace: Annotated[str | None, typer.Option("--namespace", help="GraphML namespace of the ids")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Change the role of nodes (e.g. choose the cores of a GraphML import); recorded in history."""
    from resilience import api

    try:
        changed = api.set_kind(_split(ids), kind, db_url=state.db_url, namespace=namespace)
    except BadInput as exc:
        _fail_bad_input(exc)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"changed": changed}) + "\n")
        return
    if not changed and fmt is Format.table:
        typer.echo(f"no change: every node given is already {kind}")
        return
    _print_rows(changed, fmt, "roles changed")


@inventory_app.command("history")
def inventory_history(
    element: Annotated[str | None, typer.Option("--id", help="One node or link id")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Recorded inventory changes: what, when, old and new value, source and origin."""
    from resilience import api

    rows = api.inventory_history(db_url=state.db_url, element_id=element)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"changes": rows}, default=str, ensure_ascii=False) + "\n")
        return
    _print_rows(rows, fmt, "inventory changes")


def main() -> None:
    """Entry point of the ``resilience`` console script."""
    try:
        app()
    except BadInput as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ResilienceError as exc:  # e.g. the database is read-only, full or unreachable
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
