#!/usr/bin/env bash
# Start a PostgreSQL server on loopback for the web workbench's app-database tests and print its URL.
#
#   eval "$(scripts/start-postgres.sh)"   # exports YOUSHU_TEST_POSTGRES_URL
#
# Uses the Debian cluster that the postgresql package creates (installed by scripts/install-system-deps.sh),
# creates the role and database `youshu_test` once, and is safe to rerun. The password is a test fixture on a
# loopback-only server, not a secret.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
as_postgres() { $sudo -u postgres "$@" 2>/dev/null || su postgres -c "$(printf '%q ' "$@")"; }

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$version" ]; then
  echo "PostgreSQL is not installed: run scripts/install-system-deps.sh" >&2
  exit 1
fi
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  $sudo pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
  $sudo pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 1
done
exists=$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'youshu_test'")
if [ "$exists" != "1" ]; then
  as_postgres psql -p "$port" -qc "CREATE ROLE youshu_test LOGIN PASSWORD 'youshu_test'" >&2
fi
db=$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'youshu_test'")
if [ "$db" != "1" ]; then
  as_postgres psql -p "$port" -qc "CREATE DATABASE youshu_test OWNER youshu_test" >&2
fi
echo "export YOUSHU_TEST_POSTGRES_URL=postgresql+pg8000://youshu_test:youshu_test@127.0.0.1:$port/youshu_test"
