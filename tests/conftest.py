"""Shared fixtures and the harness of ``make test``.

Fixtures: a database URL on SQLite and on the real PostgreSQL (scripts/pg.sh); ``db_url`` is
parametrised over both back ends, so every database test runs twice. PostgreSQL tests get a
fresh database each, on the server that ``scripts/test.sh`` started and whose URL it exported as
``RESILIENCE_TEST_PG_URL``.

The harness (see ``scripts/test.sh``):

- Real components. A test that needs one is marked with its name (``postgres``, ``prometheus``,
  ``chromium``, ``airflow``, ``zoo``; a test using the ``pg_url`` or ``shared_zoo`` fixture is
  marked for it). ``RESILIENCE_TEST_REQUIRE`` (``make test`` sets every name) says which
  components the run must cover: there a skipped test fails, whatever the reason it gave, and
  the run ends with the count of tests run per component. On a developer's machine without the
  variable a missing component skips with its reason.
- A temporary ``RESILIENCE_HOME`` for every test (settings, archive and database default under
  ``var/`` of that home), unless the test or a wider fixture set its own; module and session
  fixtures get the run's home (scripts/test.sh's, or a temporary one), never the repository.
- Hypothesis profiles: ``ci`` (derandomized: the same examples on every run; ``make test``) and
  ``fuzz`` (fresh seeds, ``RESILIENCE_FUZZ_FACTOR`` times the examples; ``make fuzz``).
- Timeouts (pytest-timeout): 300 s by default (pyproject.toml); tests marked ``slow`` get 600 s
  and ``airflow`` 900 s unless they carry their own ``timeout`` mark.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_ZOO = Path(os.environ.get("RESILIENCE_TEST_ZOO_DIR") or SHARED / "data" / "topologyzoo")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# The network of shared/checks/contracts.sh, with hand-checked answers.
CONTRACT_NODES, CONTRACT_LINKS = KNOWN_NODES_CSV, KNOWN_LINKS_CSV

#: The real components a test can need, each a marker of the same name (pyproject.toml).
COMPONENTS = ("postgres", "prometheus", "chromium", "airflow", "zoo", "snmp")
#: Fixtures that mean a component (a test using one is marked for it).
_FIXTURE_COMPONENTS = {"pg_url": "postgres", "shared_zoo": "zoo"}
#: Timeouts by marker, for tests with no ``timeout`` mark of their own (default: pyproject.toml).
_TIMEOUTS = {"airflow": 900, "slow": 600}


def _session_home() -> tuple[str, bool]:
    """The home of this test run, outside the repository: the one given (scripts/test.sh makes
    one per run), else a new temporary one (the repository is never a test's home). True when
    made here (removed at the end of the run)."""
    given = os.environ.get("RESILIENCE_HOME")
    if given and Path(given).resolve() != ROOT:
        return given, False
    home = Path(tempfile.mkdtemp(prefix="resilience-test-home-"))
    (home / "config").mkdir()
    shutil.copyfile(ROOT / "config" / "resilience.toml", home / "config" / "resilience.toml")
    os.environ["RESILIENCE_HOME"] = str(home)  # inherited by xdist workers and subprocesses
    return str(home), True


#: The home of the whole run (module and session fixtures write there); each test gets its own.
_OUTER_HOME, _MADE_HOME = _session_home()

hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile(
    "fuzz", derandomize=False, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
FUZZ_FACTOR = int(os.environ.get("RESILIENCE_FUZZ_FACTOR", "20"))


def required_components() -> set[str]:
    """The components this run must cover (``RESILIENCE_TEST_REQUIRE``, comma-separated)."""
    names = {c.strip() for c in os.environ.get("RESILIENCE_TEST_REQUIRE", "").split(",") if c.strip()}
    unknown = names - set(COMPONENTS)
    if unknown:
        raise pytest.UsageError(f"RESILIENCE_TEST_REQUIRE: unknown components {sorted(unknown)}; "
                                f"known: {', '.join(COMPONENTS)}")
    return names


def missing(component: str, reason: str) -> NoReturn:
    """A component is not there: fail when the run must cover it (or in CI), skip otherwise."""
    if component in required_components() or os.environ.get("CI"):
        pytest.fail(f"{component} is required by this run and missing: {reason}", pytrace=False)
    pytest.skip(reason)


# --- markers, timeouts, hypothesis profile -----------------------------------------------------

def _components(item: pytest.Item) -> list[str]:
    return [c for c in COMPONENTS if item.get_closest_marker(c) is not None]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from hypothesis import is_hypothesis_test

    fuzz = hypothesis_settings.get_current_profile_name() == "fuzz"
    scaled: set[int] = set()
    for item in items:
        for fixture, component in _FIXTURE_COMPONENTS.items():
            if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(component) is None:
                item.add_marker(component)
        item.user_properties.append(("components", ",".join(_components(item))))
        if item.get_closest_marker("timeout") is None:
            limits = [s for m, s in _TIMEOUTS.items() if item.get_closest_marker(m) is not None]
            if limits:
                item.add_marker(pytest.mark.timeout(max(limits)))
        fn = getattr(item, "obj", None)
        if isinstance(item, pytest.Function) and is_hypothesis_test(fn):
            item.add_marker("hypothesis")  # before -m selects (the plugin's own hook may run later)
            if fuzz and id(fn) not in scaled:  # explicit max_examples too: FUZZ_FACTOR times more
                scaled.add(id(fn))
                own = fn._hypothesis_internal_use_settings
                fn._hypothesis_internal_use_settings = hypothesis_settings(
                    own, max_examples=own.max_examples * FUZZ_FACTOR, derandomize=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Under ``RESILIENCE_TEST_REQUIRE`` a skip is a failure (xfail aside): the run covers all."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and required_components():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        needs = ", ".join(_components(item)) or "no real component"
        report.outcome = "failed"
        report.longrepr = (f"skipped under RESILIENCE_TEST_REQUIRE={os.environ['RESILIENCE_TEST_REQUIRE']} "
                           f"(the test needs: {needs}): {reason}")
    return report


# --- the per-component summary at the end of the run ---------------------------------------------

_SUMMARY: list[tuple[str, bool]] = []  # (line, is_error), filled at session finish


def _outcomes(stats: dict[str, list]) -> tuple[dict[str, tuple[str, list[str]]], list[str]]:
    """Per test id: (outcome over its setup, call and teardown, its components); and the ids of
    skipped collection reports (a module skipped as a whole)."""
    rank = {"passed": 0, "skipped": 1, "failed": 2}
    tests: dict[str, tuple[str, list[str]]] = {}
    skipped_collection = []
    for reports in stats.values():
        for r in reports:
            if isinstance(r, pytest.CollectReport):
                if r.skipped:  # a module skipped as a whole
                    skipped_collection.append(r.nodeid)
                continue
            if not isinstance(r, pytest.TestReport):  # a warning
                continue
            outcome = r.outcome
            if hasattr(r, "wasxfail"):  # xfailed (or xpassed): ran, as the test said it would
                outcome = "failed" if r.outcome == "failed" else "passed"
            comps = next(([c for c in prop[1].split(",") if c] for prop in r.user_properties
                          if prop[0] == "components"), [])
            old, old_comps = tests.get(r.nodeid, ("passed", []))
            tests[r.nodeid] = (max(old, outcome, key=rank.__getitem__), comps or old_comps)
    return tests, skipped_collection


def pytest_configure(config: pytest.Config) -> None:
    required_components()  # an unknown name is a usage error before anything runs


def pytest_unconfigure(config: pytest.Config) -> None:
    if _MADE_HOME and not hasattr(config, "workerinput"):
        shutil.rmtree(_OUTER_HOME, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Count, per real component, the tests run; under RESILIENCE_TEST_REQUIRE fail the run if
    anything it must cover was skipped (on the xdist controller: its stats hold every worker's)."""
    if hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    tests, skipped_collection = _outcomes(reporter.stats)
    required = required_components()
    per: dict[str, Counter] = {c: Counter() for c in (*COMPONENTS, "none")}
    for outcome, comps in tests.values():
        for c in comps or ["none"]:
            per[c][outcome] += 1
    _SUMMARY.clear()
    for c in (*COMPONENTS, "none"):
        n = per[c]
        ran = n["passed"] + n["failed"]
        name = "no real component" if c == "none" else c
        need = " (required)" if c in required else ""
        _SUMMARY.append((f"{name:<18} {ran:>5} ran ({n['passed']} passed, {n['failed']} failed), "
                         f"{n['skipped']} skipped{need}", bool(n["failed"] or (n["skipped"] and required))))
    skipped = sorted(t for t, (o, _) in tests.items() if o == "skipped") + skipped_collection
    if required and skipped:
        _SUMMARY.append((f"FAILED: {len(skipped)} skipped in a run that must cover "
                         f"{','.join(sorted(required))}: " + ", ".join(skipped[:20])
                         + (" ..." if len(skipped) > 20 else ""), True))
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif required:
        _SUMMARY.append((f"nothing skipped (required: {','.join(sorted(required))})", False))
    else:
        _SUMMARY.append(("RESILIENCE_TEST_REQUIRE is not set: skips allowed (make test requires "
                         "every component)", False))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter) -> Iterator[None]:
    result = yield  # after pytest's own sections: the last block before the closing line
    if _SUMMARY:
        terminalreporter.write_sep("=", "tests run per real component")
        for line, bad in _SUMMARY:
            terminalreporter.write_line(line, red=bad, green=not bad)
    return result


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def resilience_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary project home (a copy of the shipped settings file, an empty ``var/``) for every
    test, so nothing is written into the repository's ``var/``; a home set by a wider fixture is
    kept (a test's own ``monkeypatch.setenv`` overrides this one)."""
    current = os.environ.get("RESILIENCE_HOME")
    if current != _OUTER_HOME:
        return Path(current) if current else ROOT
    home = tmp_path_factory.mktemp("home")
    (home / "config").mkdir()
    shutil.copyfile(ROOT / "config" / "resilience.toml", home / "config" / "resilience.toml")
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    monkeypatch.delenv("RESILIENCE_DB_URL", raising=False)
    return home


def _pg_admin_url() -> str | None:
    return os.environ.get("RESILIENCE_TEST_PG_URL")


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database on the test server; dropped afterwards."""
    base = _pg_admin_url()
    if not base:
        missing("postgres", "no PostgreSQL test server: RESILIENCE_TEST_PG_URL is not set "
                "(run `make test`, which starts one)")
    from resilience.store.engine import create_database, drop_database

    url = create_database(base, f"t_{uuid.uuid4().hex[:12]}")
    yield url
    drop_database(base, url)


@pytest.fixture(scope="session")
def shared_zoo() -> Path:
    """The Internet Topology Zoo GraphML files of ``../shared/data/topologyzoo`` (CI has them)."""
    if not any(SHARED_ZOO.glob("*.graphml")):
        missing("zoo", f"no Topology Zoo files under {SHARED_ZOO}")
    return SHARED_ZOO
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The project store on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/resilience.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    from resilience.store.engine import make_engine, migrate

    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def contract_files(tmp_path) -> tuple[Path, Path]:
    """The 5-node network with known answers from shared/checks/contracts.sh."""
    n, l_ = tmp_path / "nodes.csv", tmp_path / "links.csv"
    n.write_text(CONTRACT_NODES)
    l_.write_text(CONTRACT_LINKS)
    return n, l_
