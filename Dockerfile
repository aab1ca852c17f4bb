# The resilience pipeline image: Airflow 3.3.2 with the project installed (pinned by requirements.lock).
# Build: docker-compose build   (or: docker build -t resilience-airflow .)
FROM apache/airflow:3.3.2

USER root
# Debian bits the project needs at run time (fonts for the HTML reports' charts are SVG: none needed).
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends curl \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow

WORKDIR /opt/airflow/src
# Dependencies first (the layer is cached while requirements.lock does not change).
COPY --chown=airflow:root requirements.lock ./
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r requirements.lock
COPY --chown=airflow:root pyproject.toml README.md ./
COPY --chown=airflow:root resilience ./resilience
RUN pip install --no-cache-dir --no-deps .

WORKDIR /opt/airflow
ENV RESILIENCE_HOME=/opt/airflow \
    RESILIENCE_CONFIG=/opt/airflow/config/resilience.toml \
    GX_ANALYTICS_ENABLED=false
