"""docker/init.sh hands the admin's values to Airflow's own command-line parser intact.

A password that starts with ``-`` once failed the stack test (``argument -p/--password:
expected one argument``): ``generate_env.py`` draws one such token in 64 and an operator may
choose one. The command is taken from init.sh as written, expanded by bash with hostile values,
and parsed by the installed Airflow's real parser with the FAB auth manager the stack runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _users_create_command() -> str:
    """The ``airflow users create …`` command of docker/init.sh, continuation lines joined."""
    text = (ROOT / "docker" / "init.sh").read_text(encoding="utf-8")
    m = re.search(r"^\s*(airflow users create (?:.*\\\n)*.*)$", text, re.M)
    assert m, "docker/init.sh no longer creates the admin with `airflow users create`"
    return re.sub(r"\\\n\s*", " ", m.group(1)).replace(">/dev/null", "").strip()


def _argv(env: dict[str, str]) -> list[str]:
    """The argv bash gives the command in init.sh's environment (NUL-separated, exact)."""
    script = f"set -- {_users_create_command()}; printf '%s\\0' \"$@\""
    out = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"], **env},
                         capture_output=True, check=True).stdout
    return out.decode().split("\0")[:-1]


PARSE = """
import json, sys
from airflow.cli import cli_parser
args = cli_parser.get_parser().parse_args(json.loads(sys.argv[1]))
print(json.dumps({k: getattr(args, k) for k in ("username", "password", "email", "role")}))
"""


@pytest.mark.airflow
@pytest.mark.parametrize("password", ["-" + "x" * 31, "--looks-like-an-option", "-p", "plain-Password_1"])
def test_admin_values_reach_airflow_intact(tmp_path, password):
    env = {"AIRFLOW_ADMIN_USER": "-noc", "AIRFLOW_ADMIN_PASSWORD": password}
    argv = _argv(env)
    assert argv[:3] == ["airflow", "users", "create"]
    airflow_env = {**os.environ, "AIRFLOW_HOME": str(tmp_path),
                   "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
                   "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([sys.executable, "-c", PARSE, json.dumps(argv[1:])], env=airflow_env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed == {"username": "-noc", "password": password, "email": "-noc@localhost", "role": "Admin"}


def test_generated_secrets_never_start_with_a_dash(monkeypatch):
    spec = importlib.util.spec_from_file_location("generate_env", ROOT / "scripts" / "generate_env.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    draws = iter(["-first", "-again", "Zok"] * 50)
    monkeypatch.setattr(mod.secrets, "token_urlsafe", lambda n: next(draws) + "a" * n)
    value = mod.token(4)
    assert value == "Zfirstaaaa"  # the first character drawn again until it is not a dash
    monkeypatch.undo()
    assert not [k for k, v in mod.generated_secrets().items() if v.startswith("-")]
