#!/usr/bin/env bash
# Makes sure the local PostgreSQL the test suite uses is up and has the
# wharf_test database, then prints the DSN for WHARF_TEST_POSTGRES.
# Every test creates and drops its own schema inside that database.
set -euo pipefail

host=${WHARF_PG_HOST:-127.0.0.1}
port=${WHARF_PG_PORT:-5432}
user=${WHARF_PG_USER:-postgres}
dbname=${WHARF_PG_DB:-wharf_test}

ready() { pg_isready -h "$host" -p "$port" -q 2>/dev/null; }

if ! ready; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "test-postgres: PostgreSQL is not running on $host:$port and pg_ctlcluster is not installed" >&2
    exit 1
  fi
  echo "test-postgres: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
  ready || { echo "test-postgres: PostgreSQL did not become ready" >&2; exit 1; }
fi

# The suite runs several wharf processes at once (the scale-out and
# revocation tests), each with a pool and a job per lease at start-up, while
# another package's tests hold their own pools: PostgreSQL's default of 100
# connections is too few ("sorry, too many clients already"). A local
# cluster is given 300, once, with a restart.
min_connections=300
have="$(psql -h "$host" -p "$port" -U "$user" -d postgres -tAc "SHOW max_connections")"
if (( have < min_connections )); then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "test-postgres: max_connections is $have on $host:$port; the suite needs $min_connections" >&2
    exit 1
  fi
  echo "test-postgres: raising max_connections from $have to $min_connections (restarts PostgreSQL)" >&2
  psql -h "$host" -p "$port" -U "$user" -d postgres -qc "ALTER SYSTEM SET max_connections = $min_connections" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main restart >&2
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
  ready || { echo "test-postgres: PostgreSQL did not come back after the restart" >&2; exit 1; }
fi

if ! psql -h "$host" -p "$port" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
  psql -h "$host" -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE $dbname" >&2
fi
echo "postgres://$user@$host:$port/$dbname?sslmode=disable"
