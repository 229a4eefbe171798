# Sourced by `make test`: makes sure the integration tests have PostgreSQL, Apache Kafka,
# the lab's Trino and the browser of the web page's test.
#
# 1. Addresses given in the environment win (DBANALYSIS_TEST_DATABASE_URL,
#    DBANALYSIS_TEST_KAFKA_BOOTSTRAP): nothing is started.
# 2. Else, where a Docker engine answers, the test fixtures start testcontainers.
# 3. Else the project's own scripts start native services on loopback (see scripts/services/).
# shellcheck shell=bash

_dbanalysis_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -n "${DBANALYSIS_TEST_DATABASE_URL:-}" && -n "${DBANALYSIS_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
  echo "test services: using the addresses given in the environment"
elif command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
  echo "test services: a Docker engine answers; the fixtures start testcontainers"
  export DBANALYSIS_TEST_USE_TESTCONTAINERS=1
else
  echo "test services: no Docker engine; starting native PostgreSQL and Apache Kafka"
  _started=$SECONDS
  "$_dbanalysis_root/scripts/services/postgres.sh" start
  "$_dbanalysis_root/scripts/services/kafka.sh" start
  echo "test services: ready in $((SECONDS - _started)) s"
  if [[ -z "${DBANALYSIS_TEST_DATABASE_URL:-}" ]]; then
    DBANALYSIS_TEST_DATABASE_URL="$("$_dbanalysis_root/scripts/services/postgres.sh" url dbanalysis_test)"
    export DBANALYSIS_TEST_DATABASE_URL
  fi
  if [[ -z "${DBANALYSIS_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
    DBANALYSIS_TEST_KAFKA_BOOTSTRAP="$("$_dbanalysis_root/scripts/services/kafka.sh" bootstrap)"
    export DBANALYSIS_TEST_KAFKA_BOOTSTRAP
  fi
fi

# Trino has no container image here: the lab's own script starts it, unless it is given
# (DBANALYSIS_TEST_TRINO=host:port, with DBANALYSIS_TEST_TRINO_WAREHOUSE its warehouse, and
# for HTTPS DBANALYSIS_TEST_TRINO_HTTPS=host:port, DBANALYSIS_TEST_TRINO_CA the PEM to trust,
# DBANALYSIS_TEST_TRINO_PASSWORD the password of its user `lab`).
if [[ -z "${DBANALYSIS_TEST_TRINO:-}" ]]; then
  _started=$SECONDS
  "$_dbanalysis_root/scripts/services/trino.sh" start
  echo "test services: Trino ready in $((SECONDS - _started)) s"
  DBANALYSIS_TEST_TRINO="$("$_dbanalysis_root/scripts/services/trino.sh" address)"
  DBANALYSIS_TEST_TRINO_WAREHOUSE="$("$_dbanalysis_root/scripts/services/trino.sh" warehouse)"
  DBANALYSIS_TEST_TRINO_HTTPS="$("$_dbanalysis_root/scripts/services/trino.sh" https-address)"
  DBANALYSIS_TEST_TRINO_CA="$("$_dbanalysis_root/scripts/services/trino.sh" tls-ca)"
  DBANALYSIS_TEST_TRINO_PASSWORD="$("$_dbanalysis_root/scripts/services/trino.sh" lab-password)"
  export DBANALYSIS_TEST_TRINO DBANALYSIS_TEST_TRINO_WAREHOUSE DBANALYSIS_TEST_TRINO_HTTPS \
    DBANALYSIS_TEST_TRINO_CA DBANALYSIS_TEST_TRINO_PASSWORD
fi
# The web page's end-to-end test drives Debian's chromium (Playwright, by executable path):
# installed here when missing (apt-get, as root), or named by DBANALYSIS_TEST_CHROMIUM.
DBANALYSIS_TEST_CHROMIUM="$("$_dbanalysis_root/scripts/install-browser.sh")"
export DBANALYSIS_TEST_CHROMIUM
unset _dbanalysis_root _started
