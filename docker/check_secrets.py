#!/usr/bin/env python3
"""Refuse the compose stack's secrets when one is missing, a placeholder, too short or reused.

Run by the one-off service `secrets-check` (no network) before anything else starts, and by the
tests. docker-compose's ``${VAR:?}`` refuses a missing or empty secret; this refuses the rest.
Only names are printed, never values. Exit 0 when every secret is acceptable, 1 otherwise.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys

URL_SAFE = re.compile(r"^[A-Za-z0-9._~-]+$")  # the database passwords go into URLs unescaped
PLACEHOLDER = re.compile(r"change.?me|changeit|example|placeholder|secret|password|^admin$|^x+$", re.I)

# name: (minimum length, must be URL-safe)
SECRETS: dict[str, tuple[int, bool]] = {
    "POSTGRES_PASSWORD": (16, True),
    "AIRFLOW_DB_PASSWORD": (16, True),
    "RESILIENCE_DB_PASSWORD": (16, True),
    "AIRFLOW_ADMIN_PASSWORD": (16, False),
    "AIRFLOW_API_SECRET_KEY": (32, False),
    "AIRFLOW_JWT_SECRET": (64, False),  # an HS512 key: at least the hash's 64 bytes (RFC 7518 3.2)
    "GRAFANA_ADMIN_PASSWORD": (16, False),
    "RESILIENCE_RECEIVER_TOKEN": (32, False),
    "RESILIENCE_SNMP_COMMUNITIES": (16, False),
}
FERNET = "AIRFLOW_FERNET_KEY"


def problems(env: dict[str, str]) -> list[str]:
    """Every reason to refuse the secrets in ``env`` (names only)."""
    out = []
    for name, (minimum, url_safe) in SECRETS.items():
        value = env.get(name, "")
        if not value:
            out.append(f"{name} is not set")
        elif PLACEHOLDER.search(value):
            out.append(f"{name} is a placeholder: generate one (see .env.example)")
        elif len(value) < minimum:
            out.append(f"{name} is too short: {len(value)} characters, at least {minimum}")
        elif len(set(value)) < 8:
            out.append(f"{name} is too repetitive")
        elif url_safe and not URL_SAFE.match(value):
            out.append(f"{name} may only hold A-Z a-z 0-9 . _ ~ - (it goes into database URLs)")
    key = env.get(FERNET, "")
    try:
        ok = len(base64.urlsafe_b64decode(key.encode())) == 32 and len(key) == 44
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        out.append(f"{FERNET} is {'not set' if not key else 'not a Fernet key'} "
                   "(generate one: see .env.example)")
    values = [env.get(n, "") for n in [*SECRETS, FERNET] if env.get(n)]
    if len(values) != len(set(values)):
        out.append("two secrets have the same value: each service gets its own")
    return out


def main() -> int:
    found = problems(dict(os.environ))
    for p in found:
        print(f"secrets-check: {p}", file=sys.stderr)
    if not found:
        print("secrets-check: every secret is set and strong enough")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
