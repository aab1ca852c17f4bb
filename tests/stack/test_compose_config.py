"""The production compose stack's files, checked without Docker (the stack itself: make test-stack).

- `docker-compose config` (docker-compose.yml with docker-compose.override.yml, as
  `docker-compose up` reads them) refuses .env.example as shipped and each missing secret, and accepts
  .env.example with generated secrets; the resolved file binds host ports to loopback, mounts
  configuration read-only and gives the exporter and `watch` no Airflow or superuser secret;
- docker/check_secrets.py refuses placeholders, short, reused secrets and a bad Fernet key;
- Grafana's provisioning: the datasource URL is a plain ${VAR} that compose sets, its uid is the
  dashboards', the dashboards path is where compose mounts them;
- the stack test's override changes images and networking only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess

import pytest
import yaml

from tests.exporter.conftest import CONFIG

ROOT = CONFIG.parent
SECRETS = ["POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "RESILIENCE_DB_PASSWORD", "AIRFLOW_FERNET_KEY",
           "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
           "RESILIENCE_RECEIVER_TOKEN", "RESILIENCE_SNMP_COMMUNITIES"]
REQUIRED = [*SECRETS, "AIRFLOW_UID", "RESILIENCE_ALERT_WEBHOOK_URL"]


def _check_secrets():
    spec = importlib.util.spec_from_file_location("check_secrets", ROOT / "docker" / "check_secrets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _generate_env():
    spec = importlib.util.spec_from_file_location("generate_env", ROOT / "scripts" / "generate_env.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generated() -> dict[str, str]:
    """The secrets of scripts/generate_env.py (the one generator), for a uid other than root's."""
    return {"AIRFLOW_UID": "50000", **_generate_env().generated_secrets()}


def env_file(tmp_path, values: dict[str, str]):
    path = tmp_path / ".env"
    path.write_text(_generate_env().env_text(values))
    return path


def compose_config(env_path, *files: str) -> subprocess.CompletedProcess:
    exe = shutil.which("docker-compose")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed: run scripts/system-deps.sh")
        pytest.skip("docker-compose is not installed (scripts/system-deps.sh)")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "RESILIENCE", "POSTGRES", "GRAFANA", "STACK", "COMPOSE"))}
    args = [exe, "--project-directory", str(ROOT), "--env-file", str(env_path)]
    for f in files or ("docker-compose.yml", "docker-compose.override.yml"):
        args += ["-f", str(ROOT / f)]
    return subprocess.run([*args, "config"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def test_env_example_as_shipped_is_refused(tmp_path):
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    out = compose_config(tmp_path / ".env")
    assert out.returncode != 0 and "in .env" in out.stderr, out.stderr
    values = dict(re.findall(r"(?m)^([A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text()))
    assert {k: values[k] for k in REQUIRED} == dict.fromkeys(REQUIRED, ""), "a secret has a default"


@pytest.mark.parametrize("name", REQUIRED)
def test_each_missing_secret_is_refused(tmp_path, name):
    values = generated()
    values[name] = ""
    out = compose_config(env_file(tmp_path, values))
    assert out.returncode != 0 and f"set {name} in .env" in out.stderr, out.stderr


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compose")
    out = compose_config(env_file(tmp, generated()))
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_generated_secrets_are_accepted_and_checked(resolved):
    services = resolved["services"]
    assert services["secrets-check"]["network_mode"] == "none"
    check = {k: v for k, v in services["secrets-check"]["environment"].items()}
    assert _check_secrets().problems(check) == []
    for name, svc in services.items():
        if name not in ("secrets-check", "redis"):
            deps = svc.get("depends_on", {})
            assert "secrets-check" in deps or "postgres" in deps or name in (
                "postgres", "prometheus", "alertmanager", "pushgateway"), name


def test_host_ports_are_loopback_only(resolved):
    published = {n for n, svc in resolved["services"].items() if svc.get("ports")}
    assert published == {"airflow-apiserver", "exporter", "receiver", "prometheus", "alertmanager", "pushgateway",
                         "grafana"}
    for name, svc in resolved["services"].items():
        for p in svc.get("ports", []):
            host_ip = p.get("host_ip") if isinstance(p, dict) else str(p).split(":")[0]
            assert host_ip == "127.0.0.1", (name, p)


def _mount(v) -> tuple[str, str, bool]:
    """(source, target, read-only) of a volume in either of compose's notations."""
    if isinstance(v, dict):
        return str(v.get("source")), v["target"], bool(v.get("read_only"))
    parts = v.split(":")
    return parts[0], parts[1], parts[2:3] == ["ro"]


def test_configuration_is_mounted_read_only(resolved):
    for name, svc in resolved["services"].items():
        for v in svc.get("volumes", []):
            src, _, ro = _mount(v)
            if any(str(src).endswith(d) for d in ("/dags", "/plugins", "/config")) or "/config/" in str(src):
                assert ro, (name, v)


def test_each_service_gets_only_its_secrets(resolved):
    services = resolved["services"]
    superuser = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    airflow_db = services["postgres"]["environment"]["AIRFLOW_DB_PASSWORD"]
    airflow_env = services["airflow-scheduler"]["environment"]
    assert airflow_env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")
    for name in ("exporter", "watch", "receiver"):
        env = services[name]["environment"]
        assert not [k for k in env if k.startswith("AIRFLOW")], name
        assert superuser not in json.dumps(env) and airflow_db not in json.dumps(env), name
    for name, svc in services.items():
        if name != "postgres" and name != "secrets-check":
            assert superuser not in json.dumps(svc.get("environment", {})), name
    for name, svc in services.items():
        if name.startswith("airflow-") and name != "airflow-init":
            assert "AIRFLOW_ADMIN_PASSWORD" not in svc["environment"], name
            assert svc["user"].endswith(":0") and not svc["user"].startswith("0:"), name


def test_check_secrets_refuses_weak_values():
    problems = _check_secrets().problems
    good = generated()
    assert problems(good) == []
    for name, bad, why in [
        ("AIRFLOW_JWT_SECRET", secrets.token_urlsafe(32), "too short"),
        ("POSTGRES_PASSWORD", "change-me-postgres", "placeholder"),
        ("AIRFLOW_DB_PASSWORD", "", "not set"),
        ("RESILIENCE_DB_PASSWORD", "a@b/c" + secrets.token_urlsafe(16), "URLs"),
        ("GRAFANA_ADMIN_PASSWORD", "a" * 30, "repetitive"),
        ("AIRFLOW_FERNET_KEY", secrets.token_urlsafe(32), "not a Fernet key"),
        ("AIRFLOW_ADMIN_PASSWORD", good["GRAFANA_ADMIN_PASSWORD"], "same value"),
    ]:
        got = problems({**good, name: bad})
        assert got and why in " ".join(got), (name, got)


def test_grafana_provisioning_matches_compose_and_dashboards(resolved):
    prov = CONFIG / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "resilience.yml").read_text())["datasources"]
    grafana = resolved["services"]["grafana"]
    # Grafana expands ${VAR} but not ${VAR:-default}: a default would leave the URL empty
    for f in prov.rglob("*.yml"):
        for ref in re.findall(r"\$\{([^}]*)\}", re.sub(r"(?m)^\s*#.*$", "", f.read_text())):
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", ref), (f.name, ref)
            assert ref in grafana["environment"], (f.name, ref)
    assert ds[0]["url"] == "${RESILIENCE_PROMETHEUS_URL}"
    assert grafana["environment"]["RESILIENCE_PROMETHEUS_URL"] == "http://prometheus:9090"
    uid = ds[0]["uid"]
    boards = sorted((CONFIG / "grafana" / "dashboards").glob("*.json"))
    assert boards
    for b in boards:
        for p in json.loads(b.read_text())["panels"]:
            if "datasource" in p:
                assert p["datasource"]["uid"] == uid, (b.name, p["title"])
    path = yaml.safe_load((prov / "dashboards" / "resilience.yml").read_text())["providers"][0]["options"]["path"]
    mounts = dict(_mount(v)[1::-1] for v in grafana["volumes"])
    assert mounts[path] == str(CONFIG / "grafana" / "dashboards")
    assert mounts["/etc/grafana/provisioning"] == str(prov)


def test_dockerignore_keeps_secrets_and_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".git", "var", "logs", ".venv"} <= ignored


def test_stack_test_override_changes_images_and_networking_only():
    override = yaml.safe_load((ROOT / "tests" / "stack" / "docker-compose.stack-test.yml").read_text())
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, svc in override["services"].items():
        assert name in base, name
        assert set(svc) <= {"image", "network_mode", "extra_hosts"}, (name, set(svc))
