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

if ! psql -h "$host" -p "$port" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
  psql -h "$host" -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE $dbname" >&2
fi
echo "postgres://$user@$host:$port/$dbname?sslmode=disable"
