#!/bin/bash
# PostgreSQL init (docker-entrypoint-initdb.d, first start only): the project store's own role and
# database next to Airflow's metadata database. The password comes from the environment.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$RESILIENCE_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE resilience LOGIN PASSWORD %L', :'pw')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'resilience') \gexec
SELECT 'CREATE DATABASE resilience OWNER resilience'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'resilience') \gexec
SQL
