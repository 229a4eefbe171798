#!/usr/bin/env bash
# The browser the web page's end-to-end test drives: Debian's `chromium` package, driven by
# Playwright for Python through its executable path (Playwright's own browser download is
# never used). Installs it with apt-get when /usr/bin/chromium is missing (needs root);
# prints its path when it is there.
#
#   scripts/install-browser.sh          install if missing, then print the path
#
# DBANALYSIS_TEST_CHROMIUM names another browser binary to use instead (nothing installed).
set -euo pipefail

log() { printf 'browser: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

CHROMIUM="${DBANALYSIS_TEST_CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM" ]]; then
  [[ -z "${DBANALYSIS_TEST_CHROMIUM:-}" ]] || die "DBANALYSIS_TEST_CHROMIUM=$CHROMIUM is not executable"
  ((EUID == 0)) || die "$CHROMIUM not found; install Debian's 'chromium' package (needs root)"
  log "installing chromium (apt-get, first run only)..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
  [[ -x "$CHROMIUM" ]] || die "chromium installed but $CHROMIUM is still missing"
fi
printf '%s\n' "$CHROMIUM"
