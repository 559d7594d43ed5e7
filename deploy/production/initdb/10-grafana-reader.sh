#!/bin/sh
# First start of the TimescaleDB volume: a read-only role for Grafana over the `read` schema.
# Its password comes from the container's environment (QD_GRAFANA_DB_PASSWORD), never a file here.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$QD_GRAFANA_DB_PASSWORD" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'pw';
CREATE SCHEMA IF NOT EXISTS read;
GRANT USAGE ON SCHEMA read TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA read TO grafana_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA read GRANT SELECT ON TABLES TO grafana_reader;
SQL
