"""GraphML entity bombs refused, SQL parameterised everywhere, the exporter on loopback by
default, no secrets in the repository's files."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from resilience.errors import BadInput
from resilience.exporter import server as exporter_server
from resilience.exporter.server import ExporterApp, start_server
from resilience.exporter.source import CachedSource
from resilience.feeds.ingest import ingest_file
from resilience.settings import Settings, load_settings
from resilience.store import tables as t
from tests.hardening.conftest import ROOT

# --- GraphML entity bombs ---------------------------------------------------------------------

_GRAPH = '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph><node id="{v}"/></graph></graphml>'
BOMBS = {
    "billion_laughs": '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>" + _GRAPH.format(v="&lol9;"),
    "external_file": '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + _GRAPH.format(v="&xxe;"),
    "external_url": '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>'
    + _GRAPH.format(v="&xxe;"),
    "parameter_entity": '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
    + _GRAPH.format(v="n"),
    "quadratic_blowup": '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "' + "x" * 5000 + '">]>'
    + _GRAPH.format(v="&a;" * 200),
    "external_dtd": '<?xml version="1.0"?><!DOCTYPE graphml SYSTEM "file:///etc/passwd">' + _GRAPH.format(v="n"),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_graphml_entity_bombs_are_refused(engine, tmp_path, name):
    p = tmp_path / f"{name}.graphml"
    p.write_text(BOMBS[name])
    try:
        r = ingest_file(engine, p, graphml_cores=("n",))
    except BadInput as exc:
        assert str(p) in str(exc)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.nodes)).scalar_one() == 0
        return
    # an external DTD is never fetched: a DOCTYPE naming one (no entities) may be read as is
    assert name == "external_dtd" and r.accepted == 1
    with engine.connect() as conn:
        assert "root:" not in "".join(conn.execute(select(t.nodes.c.name)).scalars())


# --- SQL is parameterised ---------------------------------------------------------------------

#: The only interpolations allowed in SQL text: identifiers the code itself chose (table and
#: column names from fixed dicts in resilience/store/repo.py, counter-made staging-table names,
#: placeholder lists). Reviewed: every *value* goes through bound parameters, executemany or COPY.
ALLOWED = {
    "resilience/store/repo.py": {
        "key", "table", "name", "ddl", "stage", "updates", "where", "current", "history", "differs",
        "', '.join(cols)", "', '.join(vcols)", "', '.join(('s.' + c for c in vcols))",
        # inventory change history and re-reads: column lists / conditions built from the
        # fixed type dicts, a counter-made temp table name, a fixed ON COMMIT clause
        "changed", "on_commit", "pairs", "selects", "dedupe",
        # a first load's plain INSERT, else the ON CONFLICT clause built from the two above
        "upsert",
    },
}
_SQL_CALLS = {"execute", "exec_driver_sql", "executemany", "text", "copy", "executescript"}


def _sql_interpolations() -> list[tuple[str, int, str]]:
    found = []
    for folder in ("resilience", "dags", "plugins"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
                if name not in _SQL_CALLS:
                    continue
                arg = node.args[0]
                if isinstance(arg, ast.JoinedStr):
                    found += [(rel, node.lineno, ast.unparse(v.value)) for v in arg.values
                              if isinstance(v, ast.FormattedValue)]
                elif isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod | ast.Add):
                    found.append((rel, node.lineno, ast.unparse(arg)))
                elif isinstance(arg, ast.Call) and getattr(arg.func, "attr", "") == "format":
                    found.append((rel, node.lineno, ast.unparse(arg)))
    return found


def test_sql_text_interpolates_identifiers_only():
    found = _sql_interpolations()
    assert found, "the scan found no SQL at all: it is broken"
    bad = [f for f in found if f[2] not in ALLOWED.get(f[0], set())]
    assert not bad, f"SQL built from values (use bound parameters): {bad}"


_PAYLOAD = "x'); DROP TABLE links; --"


def test_repo_takes_table_and_kind_names_only_from_its_fixed_sets(engine):
    """A table or feed-kind name that is not one of repo's own is refused before any SQL runs;
    the database is untouched."""
    import pandas as pd
    from sqlalchemy import inspect as sa_inspect

    from resilience.store import repo

    before = set(sa_inspect(engine).get_table_names())
    statements: list[str] = []
    record = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            for call in (lambda: repo.known_ids(conn, _PAYLOAD),
                         lambda: repo.apply_status(conn, _PAYLOAD, pd.DataFrame({"x": [1]}), "sha"),
                         lambda: repo.load_state(conn, (_PAYLOAD,))):
                with pytest.raises(KeyError):
                    call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in statements if "DROP TABLE links" in s]
    assert set(sa_inspect(engine).get_table_names()) == before


def test_feed_content_never_reaches_sql_text(engine, tmp_path):
    """Ids, names, shared-risk groups, a header and a file name carrying SQL are ingested: every
    statement sent to the database is free of them (values go as bound parameters, executemany
    or COPY), every temporary table is named by a counter, and the payloads are stored as data."""
    from sqlalchemy import inspect as sa_inspect

    folder = tmp_path / "drop'; DROP TABLE links; --"
    folder.mkdir()
    q = '"' + _PAYLOAD.replace('"', '""') + '"'
    nodes = folder / "nodes.csv"
    nodes.write_text(
        "node_id,kind,operator,name,lat,lon,prefecture,municipality,subscribers,battery_hours,power_feed\n"
        "C1,core,docomo,core,36.5,136.6,Ishikawa,Kanazawa,0,inf,F0\n"
        f"{q},base_station,docomo,{q},37.4,136.9,{q},{q},100,3,{q}\n")
    links = folder / "links.csv"
    links.write_text(f"link_id,a,b,medium,capacity_mbps,srlg\n{q},C1,{q},fiber,100,{q}\n")
    status = folder / "status.csv"
    status.write_text("observed_at,node_id,state,power,battery_remaining_min\n"
                      f"2024-01-01T16:10:00+09:00,{q},down,none,0\n")
    statements: list[str] = []
    record = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        results = [ingest_file(engine, p) for p in (nodes, links, status)]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [r.accepted for r in results] == [2, 1, 1], results
    assert statements, "no statement was recorded: the check is broken"
    assert not [s for s in statements if "DROP TABLE links" in s or "x')" in s]
    temp = re.findall(r"CREATE TEMP(?:ORARY)? TABLE (\S+)", " ".join(statements))
    assert temp and all(re.fullmatch(r"[a-z]+_\d+", name) for name in temp), temp
    assert "links" in sa_inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert _PAYLOAD in set(conn.execute(select(t.nodes.c.node_id)).scalars())
        assert conn.execute(select(t.links.c.srlg)).scalar_one() == _PAYLOAD


# --- exporter on loopback ---------------------------------------------------------------------

def test_exporter_binds_to_loopback_by_default():
    assert Settings().exporter_host == "127.0.0.1"
    assert load_settings(env={}).exporter_host == "127.0.0.1"  # the shipped config/resilience.toml
    for fn in (exporter_server.serve, exporter_server.start_server):
        assert inspect.signature(fn).parameters["host"].default == "127.0.0.1"
    server, _ = start_server(ExporterApp(CachedSource(lambda: None)), port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()


def test_serve_command_binds_where_the_settings_say(monkeypatch):
    """``resilience serve`` asks the exporter for the settings' host (loopback as shipped, the
    ``RESILIENCE_EXPORTER_HOST`` override when set) and for ``--host`` only when given."""
    from typer.testing import CliRunner

    import resilience.exporter
    from resilience.cli import app

    asked: list[tuple[str, int]] = []
    monkeypatch.setattr(resilience.exporter, "serve",
                        lambda db_url, *, host, port, **_kw: asked.append((host, port)))
    runner = CliRunner()
    monkeypatch.delenv("RESILIENCE_EXPORTER_HOST", raising=False)
    assert runner.invoke(app, ["serve"]).exit_code == 0
    monkeypatch.setenv("RESILIENCE_EXPORTER_HOST", "127.0.0.2")
    assert runner.invoke(app, ["serve", "--port", "0"]).exit_code == 0
    assert runner.invoke(app, ["serve", "--host", "::1"]).exit_code == 0
    assert asked == [("127.0.0.1", 9108), ("127.0.0.2", 0), ("::1", 9108)]


# --- no secrets in the repository -------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"^(\$.*|\{\{.*\}\}|<[^>]+>|change-?me.*|example.*|placeholder|"
    r"secret|password|admin|airflow|resilience|postgres|xxx+|\*+|)$", re.I)
# KEY: value / KEY=value, not inside an environment reference (${KEY:?...}), not a *_FILE path
_SECRET_KEY = re.compile(
    r"(?i)(?<![\w${])([A-Z0-9_]*(?:password|passwd|secret|token|api_?key|private_?key|fernet_key)"
    r"(?![A-Z0-9_]*_FILE)[A-Z0-9_]*)[ \t]*[:=][ \t]*[\"']?([^\"'\s#,}]*)")
_URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s/]+)@")


def _repo_config_files() -> list[Path]:
    files = [p for p in (ROOT / "config").rglob("*") if p.is_file()]
    for pattern in ("docker-compose*.yml", "docker-compose*.yaml", ".env*", "compose*.yml"):
        files += [p for p in ROOT.glob(pattern) if p.is_file()]
    for folder in ("dags", "plugins", "scripts"):
        if (ROOT / folder).is_dir():
            files += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in
                      {".py", ".sh", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".env", ".json"}]
    return files


#: A line may carry a deliberately fake value (a test that a weak secret is refused) if it says so.
_ALLOW = "secret-scan: allow"


def _secrets_in(text: str) -> list[str]:
    hits = []
    for line in text.splitlines():
        if _ALLOW in line:
            continue
        for m in _SECRET_KEY.finditer(line):
            if not _PLACEHOLDER.match(m.group(2)):
                hits.append(m.group(0))
        for m in _URL_PASSWORD.finditer(line):
            if not _PLACEHOLDER.match(m.group(1)):
                hits.append(m.group(0))
    return hits


def test_the_secret_scanner_finds_secrets():
    assert _secrets_in("POSTGRES_PASSWORD: hunter2x") and _secrets_in("url = postgresql://app:s3cr3t@db/x")
    assert not _secrets_in("POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\nurl=postgresql://app:${PW}@db/x")
    assert not _secrets_in("password: changeme\n# passwords never go in this file")
    assert not _secrets_in("X: ${POSTGRES_PASSWORD:?set it}\nAIRFLOW_FERNET_KEY=\nPASSWORDS_FILE: /a/b")
    assert _secrets_in("AIRFLOW_FERNET_KEY=Zm9vYmFyYmF6cXV4\n")
    assert not _secrets_in("-e AIRFLOW_JWT_SECRET=too-short  # refused by the check; secret-scan: allow")
    assert _secrets_in("# secret-scan: allow\nAIRFLOW_JWT_SECRET=hunter2hunter2")  # that line only


def test_no_literal_secrets_in_repository_config():
    files = _repo_config_files()
    assert files
    hits = {str(p.relative_to(ROOT)): h for p in files
            if (h := _secrets_in(p.read_text(encoding="utf-8", errors="replace")))}
    assert not hits, f"secrets belong in the environment or Airflow connections: {hits}"
