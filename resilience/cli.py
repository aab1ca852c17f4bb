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

from resilience.errors import BadInput

app = typer.Typer(
    name="resilience",
    help="Resilience monitoring for base stations, backhaul and cable-TV networks.",
    no_args_is_help=True,
    add_completion=False,
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
) -> None:
    """Ingest feed files; the kind (inventory, status, power, GraphML) is detected from the header."""
    from resilience import api

    results = []
    try:
        if fmt is Format.table:
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("ingesting", total=len(paths))
                results = api.ingest(
                    paths, db_url=state.db_url, graphml_cores=tuple(c for c in core.split(",") if c),
                    on_file=lambda _r: progress.advance(task),
                )
        else:
            results = api.ingest(paths, db_url=state.db_url, graphml_cores=tuple(c for c in core.split(",") if c))
    except BadInput as exc:
        _fail_bad_input(exc)
    rows = [r.as_dict() for r in results]
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"files": rows}) + "\n")
    else:
        _print_rows(rows, fmt, "ingested")


# --- analysis commands (analyze, spof, whatif, forecast) ------------------------------------

# --- exporter command (serve) -----------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default: loopback, from settings)")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 9108, from settings)")] = None,
    top_n: Annotated[int | None, typer.Option("--top-n", help="Per-element series for the top N elements")] = None,
    max_sites: Annotated[int, typer.Option("--max-sites", help="Cap on per-site series of out sites")] = 2000,
    ttl: Annotated[float, typer.Option("--ttl", help="Seconds a read of the store is reused")] = 5.0,
) -> None:
    """Serve Prometheus metrics of the latest snapshot on /metrics, and /healthz."""
    from resilience.exporter import serve as run
    from resilience.settings import load_settings

    s = load_settings()
    db_url = state.db_url or s.resolved_db_url()
    host, port = host or s.exporter_host, port if port is not None else s.exporter_port
    typer.echo(f"resilience exporter on http://{host}:{port}/metrics (database {db_url.split('@')[-1]})")
    run(db_url, host=host, port=port, top_n=top_n if top_n is not None else s.top_n,
        max_sites_out=max_sites, ttl=ttl)


# --- report command (report) ------------------------------------------------------------------

# --- sample commands and replay -----------------------------------------------------------------


def main() -> None:
    """Entry point of the ``resilience`` console script."""
    try:
        app()
    except BadInput as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
