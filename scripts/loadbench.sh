#!/usr/bin/env bash
# Measures Dargah under load, as docs/PERFORMANCE.md reports it: builds
# dargah and dargah-load, starts `dargah serve` on the embedded runtime or
# on PostgreSQL + Redis, warms it up with 2,000 messages, then runs
# dargah-load with the flags given and prints the CPU each process used per
# message (dargah, postgres, redis-server and dargah-load itself).
#
#   scripts/loadbench.sh embedded -n 20000 -c 64
#   scripts/loadbench.sh postgres -n 30000 -c 64
#   scripts/loadbench.sh postgres -rate 1000 -duration 20s -timeline
#
# postgres uses the services `make test` uses (scripts/services.sh) with a
# database of its own, loadbench, dropped and created afresh on every run,
# and the Redis keys loadbench:*. Nothing else is touched.
set -euo pipefail
mode=${1:-}
case "$mode" in
  embedded|postgres) shift ;;
  *) echo "usage: $0 embedded|postgres [dargah-load flags]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
port=${LOADBENCH_PORT:-18137}
work=$(mktemp -d)
pid=""
cleanup() {
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
# The binary must be called dargah: -cpu finds processes by name.
go build -o "$work/dargah" ./cmd/dargah
go build -o "$work/dargah-load" ./cmd/dargah-load

cfg="$work/dargah.yaml"
cat >"$cfg" <<YAML
listen: "127.0.0.1:$port"
log_level: warn
routing: $root/configs/routing.yaml
org: $root/configs/org.yaml
escalation: $root/configs/escalation.yaml
portals:
  - name: web
    type: webform
    decide_timeout: 5s
YAML
if [ "$mode" = postgres ]; then
  eval "$(bash scripts/services.sh)"
  base=${TEST_DATABASE_URL%%\?*}
  query=${TEST_DATABASE_URL#"$base"}
  admin="${base%/*}/postgres$query"
  db="${base%/*}/loadbench$query"
  psql "$admin" -qc "DROP DATABASE IF EXISTS loadbench WITH (FORCE)" -c "CREATE DATABASE loadbench" >/dev/null
  hp=${TEST_REDIS_URL#redis://}; hp=${hp%%/*}
  redis-cli -h "${hp%%:*}" -p "${hp##*:}" --scan --pattern 'loadbench:*' |
    xargs -r redis-cli -h "${hp%%:*}" -p "${hp##*:}" del >/dev/null
  cat >>"$cfg" <<YAML
workers: 8
storage: {driver: postgres, dsn: "$db", max_conns: 32}
stream: {driver: redis, url: "$TEST_REDIS_URL", name: "loadbench:messages", concurrency: 16}
YAML
  "$work/dargah" migrate -config "$cfg" >/dev/null
else
  echo "data_dir: $work/data" >>"$cfg"
fi

"$work/dargah" serve -config "$cfg" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
"$work/dargah-load" -url "http://127.0.0.1:$port" -n 2000 -c 32 >/dev/null # warm-up
"$work/dargah-load" -url "http://127.0.0.1:$port" -pid "$pid" -cpu dargah,postgres,redis-server "$@"
