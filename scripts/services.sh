#!/usr/bin/env bash
# Makes sure the services Dargah's tests talk to are running on loopback:
# PostgreSQL and Redis (and Dovecot through scripts/dovecot.sh). Idempotent.
# On a machine without them it installs Debian's packages and starts private
# instances under ${DARGAH_SERVICES_DIR:-$HOME/.cache/dargah} on their own
# ports, never touching a system cluster's config.
#
# Prints `export VAR=...` lines for the test environment on stdout; progress
# goes to stderr. Usage: eval "$(bash scripts/services.sh)"
set -euo pipefail

dir=${DARGAH_SERVICES_DIR:-$HOME/.cache/dargah}
mkdir -p "$dir"
log() { echo "services: $*" >&2; }

apt_updated=""
need_pkg() { # need_pkg CMD PACKAGE...
  command -v "$1" >/dev/null 2>&1 && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    log "$1 is missing and this is not a Debian-like system; install ${*:2} yourself"; return 1
  fi
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$apt_updated" ]; then
    log "apt-get update"; $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; apt_updated=1
  fi
  log "installing ${*:2}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${@:2}" >&2
}

# --- PostgreSQL -------------------------------------------------------------
pg_ok() { PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

pg_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
if ! command -v psql >/dev/null 2>&1; then need_pkg psql postgresql-client; fi
if pg_ok "$pg_url"; then
  log "PostgreSQL ok"
else
  # The machine image starts a cluster before sessions; a stopped one just needs starting.
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -z "${TEST_DATABASE_URL:-}" ] && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    v=$(ls /etc/postgresql | sort -V | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 2>/dev/null || true
  fi
  if ! pg_ok "$pg_url"; then
    # A private trust-auth cluster on its own port.
    [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || need_pkg psql postgresql postgresql-client
    [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || need_pkg initdb postgresql
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    port=55432; data="$dir/pg"
    run_as=""; if [ "$(id -u)" -eq 0 ]; then run_as="runuser -u postgres --"; id postgres >/dev/null 2>&1 || useradd -r -m postgres; chown -R postgres "$dir"; fi
    chmod 755 "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"; [ -z "$run_as" ] || chown postgres "$data"
      $run_as "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >&2
    fi
    pg_url="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
    if ! pg_ok "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; then
      $run_as "$bin/pg_ctl" -D "$data" -l "$data/log" -w -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
    fi
    psql "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable" -Atqc "select 1 from pg_database where datname='test'" | grep -q 1 ||
      psql "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable" -qc "create database test" >&2
    pg_ok "$pg_url" || { log "PostgreSQL did not come up"; exit 1; }
    log "PostgreSQL running on 127.0.0.1:$port"
  fi
fi
echo "export TEST_DATABASE_URL='$pg_url'"

# --- Redis ------------------------------------------------------------------
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
redis_ok() { # redis_ok URL
  local hp=${1#redis://}; hp=${hp%%/*}
  timeout 3 redis-cli -h "${hp%%:*}" -p "${hp##*:}" ping 2>/dev/null | grep -q PONG
}
command -v redis-server >/dev/null 2>&1 || need_pkg redis-server redis-server
if redis_ok "$redis_url"; then
  log "Redis ok"
else
  port=6379
  if [ -n "${TEST_REDIS_URL:-}" ] || (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then port=56379; fi
  redis_url="redis://127.0.0.1:$port/0"
  redis_ok "$redis_url" || redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis-$port.log" --pidfile "$dir/redis-$port.pid" >&2
  for _ in $(seq 50); do redis_ok "$redis_url" && break; sleep 0.1; done
  redis_ok "$redis_url" || { log "Redis did not come up"; exit 1; }
  log "Redis running on 127.0.0.1:$port"
fi
echo "export TEST_REDIS_URL='$redis_url'"

# --- Dovecot (email portal tests) -------------------------------------------
if [ -f "$(dirname "$0")/dovecot.sh" ]; then
  bash "$(dirname "$0")/dovecot.sh"
fi
