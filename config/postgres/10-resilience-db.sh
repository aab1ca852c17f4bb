#!/bin/bash
# PostgreSQL init (docker-entrypoint-initdb.d, first start only): one role and one database per
# user of the server, none of them superuser: `airflow` owns Airflow's metadata database,
# `resilience` owns the project store. The passwords come from the environment.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v resilience_pw="$RESILIENCE_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE airflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'airflow_pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'airflow') \gexec
SELECT 'CREATE DATABASE airflow OWNER airflow'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'airflow') \gexec
SELECT format('CREATE ROLE resilience LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'resilience_pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'resilience') \gexec
SELECT 'CREATE DATABASE resilience OWNER resilience'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'resilience') \gexec
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE resilience FROM PUBLIC;
SQL
