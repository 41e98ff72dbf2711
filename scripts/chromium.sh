#!/usr/bin/env bash
# Installs headless Chromium for the console's browser tests (chromedp) when
# it is missing. Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "chromium.sh: install Chromium by hand (no apt-get here)" >&2; exit 1; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
