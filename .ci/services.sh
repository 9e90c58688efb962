#!/usr/bin/env bash
# Sourced by .ci/run: starts one real PostgreSQL for the whole test run and
# exports its URL as HEARTLINK_TEST_POSTGRES (tests/src/postgres.rs then makes
# a fresh database per test instead of a cluster per test binary). It comes
# from the machine's own binaries and, since PostgreSQL refuses to run as
# root, runs as an unprivileged user; fsync stays on (the durability tests
# SIGKILL servers on it). Redis is only installed here: each test starts the
# redis-server it needs (tests/src/redis.rs), so a test may kill its own.
# The caller's EXIT trap calls stop_services.

pg_bin=""
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV) "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
  if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && [ -x "$dir/pg_isready" ]; then pg_bin=$dir; break; fi
done
if [ -z "$pg_bin" ]; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
if ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi

services_dir=$(mktemp -d)
chmod 755 "$services_dir"
run_as=()
if [ "$(id -u)" = 0 ]; then
  id heartlink-ci >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin heartlink-ci
  chown heartlink-ci "$services_dir"
  run_as=(runuser -u heartlink-ci --)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_port=$(free_port)
"${run_as[@]}" "$pg_bin/initdb" -D "$services_dir/pg" -U postgres --auth=trust -E UTF8 --no-locale >"$services_dir/initdb.log" 2>&1 || {
  cat "$services_dir/initdb.log" >&2; echo "ci: initdb failed" >&2; exit 1; }
"${run_as[@]}" "$pg_bin/postgres" -D "$services_dir/pg" -p "$pg_port" -k "$services_dir" \
  -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=400 \
  >"$services_dir/postgres.log" 2>&1 &
pg_pid=$!

stop_services() {
  kill "$pg_pid" 2>/dev/null || true
  wait "$pg_pid" 2>/dev/null || true
  rm -rf "$services_dir"
}

for _ in $(seq 1 100); do
  if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; then break; fi
  sleep 0.1
done
"$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" || { cat "$services_dir/postgres.log" >&2; echo "ci: PostgreSQL did not start" >&2; exit 1; }

export HEARTLINK_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "ci: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on port $pg_port; $(redis-server --version | cut -d' ' -f1-3)"
