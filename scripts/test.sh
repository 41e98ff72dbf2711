#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: services up, then
# gofmt, go vet and go test -race over every package.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null 2>&1 || { echo "test: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
# -race needs cgo and a C compiler.
if ! command -v gcc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev
fi

eval "$(bash scripts/services.sh)"
bash scripts/chromium.sh >&2 # headless browser for the consoles' end-to-end tests
export TEST_DATABASE_URL TEST_REDIS_URL

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './data/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 15m ${GOTESTFLAGS:-} ./...
