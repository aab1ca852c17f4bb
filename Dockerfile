# The resilience pipeline image: the project on Debian bookworm's own Python 3.11, in a venv,
# with the runtime pins of requirements.lock (no dev tools). Why not apache/airflow: docs/deploy.md.
#
# Build with BuildKit (Docker >= 23 uses it by default; Debian's docker.io 20.10 and compose v1:
# DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1 docker-compose build):
#   docker build -t resilience-airflow .
#   docker build --build-arg BASE_IMAGE=my-registry/debian:bookworm-slim -t resilience-airflow .
# pip's settings come in as optional BuildKit secrets, never as layers: pip_conf (a pip.conf:
# index-url, extra-index-url, cert = /run/secrets/pip_ca) and pip_ca (a CA bundle), e.g.
#   docker build --secret id=pip_conf,src=pip.conf --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt .
# (scripts/test-stack.sh writes them from the machine's own pip settings).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

ARG DEBIAN_FRONTEND=noninteractive
# python3.11 (the only Python the project supports), tini (init: reaps children, forwards
# SIGTERM), curl (health checks). psycopg and psycopg2 wheels bring their own libpq.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends python3.11 python3.11-venv ca-certificates curl tini \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

# The runtime user: uid 50000 in group 0 (Airflow's convention). Any other uid (AIRFLOW_UID) works
# too: everything it writes is group 0 and group-writable, and the entrypoint adds its passwd entry.
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /usr/sbin/nologin airflow \
 && mkdir -p /opt/airflow/dags /opt/airflow/plugins /opt/airflow/config /opt/airflow/logs \
             /opt/airflow/var/inbox /opt/airflow/var/reports /opt/airflow/var/whatif /opt/airflow/var/exports \
 && chown -R airflow:0 /opt/airflow /home/airflow \
 && chmod -R g+rwX,o-rwx /opt/airflow /home/airflow \
 && chmod g+w /etc/passwd

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN python3.11 -m venv /opt/venv

# Dependencies first: this layer is cached while requirements.lock does not change. The lock is
# complete (every transitive pin), so --no-deps; `pip check` proves it is consistent.
WORKDIR /opt/airflow/src
COPY requirements.lock ./
RUN --mount=type=secret,id=pip_conf --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip_conf; fi \
 && pip install --no-cache-dir -q --no-deps -r requirements.lock \
 && pip check
COPY pyproject.toml README.md ./
COPY resilience ./resilience
RUN --mount=type=secret,id=pip_conf --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip_conf; fi \
 && pip install --no-cache-dir -q --no-deps . \
 && pip check \
 && cd / && rm -rf /opt/airflow/src \
 && python -c "import resilience, airflow.providers.celery, airflow.providers.fab"

COPY docker/entrypoint.sh /usr/local/bin/resilience-entrypoint
COPY docker/init.sh /usr/local/bin/resilience-stack-init
COPY docker/check_secrets.py /usr/local/bin/resilience-check-secrets

WORKDIR /opt/airflow
ENV AIRFLOW_HOME=/opt/airflow \
    HOME=/home/airflow \
    RESILIENCE_HOME=/opt/airflow \
    RESILIENCE_CONFIG=/opt/airflow/config/resilience.toml \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    GX_ANALYTICS_ENABLED=false
USER 50000:0
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/resilience-entrypoint"]
CMD ["airflow", "version"]
