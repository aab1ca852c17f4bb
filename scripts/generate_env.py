#!/usr/bin/env python3
"""Write a ``.env`` for docker-compose from ``.env.example`` with every secret generated.

The one place secrets are made: operators run it once before ``make up`` (docs/deploy.md), the
stack test (scripts/test-stack.sh) and the compose-config tests (tests/stack) use it too.
Standard library only. The file is written with mode 0600 and is never overwritten unless
``--force`` is given.

Usage::

    python3 scripts/generate_env.py [--out .env] [--force] [NAME=VALUE ...]

``NAME=VALUE`` sets a non-secret value of ``.env.example`` (``AIRFLOW_UID=50000``,
``RESILIENCE_INBOX_DIR=/srv/inbox``); each name must be a line of ``.env.example``.

Example
-------
>>> s = generated_secrets()
>>> len(s["AIRFLOW_JWT_SECRET"]) >= 64, s["POSTGRES_PASSWORD"] != s["AIRFLOW_DB_PASSWORD"]
(True, True)
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def token(nbytes: int) -> str:
    """``secrets.token_urlsafe(nbytes)`` that never starts with ``-``.

    One token in 64 would otherwise start with a dash, and a command line that is handed it as
    a separate argument (``airflow users create --password -x…``, ``snmptrap -c -x…``) reads it
    as an option. The first character is drawn again, so the token keeps its length and stays
    uniform over the other 63 characters.

    Example
    -------
    >>> all(not token(24).startswith("-") and len(token(24)) == 32 for _ in range(500))
    True
    """
    value = secrets.token_urlsafe(nbytes)
    while value.startswith("-"):
        value = secrets.token_urlsafe(nbytes)[0] + value[1:]
    return value


def generated_secrets() -> dict[str, str]:
    """A fresh, distinct value for every secret of ``.env.example`` (and the alert webhook).

    No value starts with ``-`` (see :func:`token`).
    """
    return {
        "POSTGRES_PASSWORD": token(32),
        "AIRFLOW_DB_PASSWORD": token(32),
        "RESILIENCE_DB_PASSWORD": token(32),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW_JWT_SECRET": token(64),
        "AIRFLOW_API_SECRET_KEY": token(32),
        "AIRFLOW_ADMIN_PASSWORD": token(24),
        "GRAFANA_ADMIN_PASSWORD": token(24),
        "RESILIENCE_RECEIVER_TOKEN": token(32),
        "RESILIENCE_SNMP_COMMUNITIES": token(24),
        "RESILIENCE_ALERT_WEBHOOK_URL": "http://alert-receiver:9099/alerts",
    }


def env_text(values: dict[str, str], example: Path = ROOT / ".env.example") -> str:
    """``.env.example`` with ``values`` filled in; a name not in it is an error."""
    text = example.read_text(encoding="utf-8")
    for k, v in values.items():
        text, n = re.subn(rf"(?m)^{re.escape(k)}=.*$", lambda _m, k=k, v=v: f"{k}={v}", text)
        if n != 1:
            raise SystemExit(f"{example}: no line {k}= to fill in")
    return text


def write_env(path: Path, values: dict[str, str], *, force: bool = False) -> Path:
    """Write the filled-in file with mode 0600 (refuses to overwrite unless ``force``)."""
    if path.exists() and not force:
        raise SystemExit(f"{path} exists: keep it, or pass --force to replace its secrets")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(env_text(values))
    os.chmod(path, 0o600)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / ".env")
    ap.add_argument("--force", action="store_true", help="replace an existing file")
    ap.add_argument("values", nargs="*", metavar="NAME=VALUE")
    args = ap.parse_args(argv)
    values = generated_secrets()
    for item in args.values:
        name, sep, value = item.partition("=")
        if not sep:
            ap.error(f"{item!r} is not NAME=VALUE")
        values[name] = value
    print(write_env(args.out, values, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
