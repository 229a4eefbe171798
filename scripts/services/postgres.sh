#!/usr/bin/env bash
# Private PostgreSQL cluster for local dev/tests, without Docker and without
# the distribution's system cluster (we never rely on a service manager).
#
#   scripts/services/postgres.sh start|stop|restart|status|url [DBNAME]
#
# Cluster: $DBANALYSIS_VAR/postgres/data, TCP on 127.0.0.1:$DBANALYSIS_PG_PORT
# only, unix socket in $DBANALYSIS_VAR/postgres/run. Role dbanalysis/dbanalysis
# owns databases dbanalysis and dbanalysis_test. Auth: password (scram) over
# TCP, trust over the private unix socket (used only by this script as admin).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
VAR_DIR="${DBANALYSIS_VAR:-$REPO_ROOT/var}"

HOST=127.0.0.1
PORT="${DBANALYSIS_PG_PORT:-55432}"
APP_USER=dbanalysis
APP_PASSWORD=dbanalysis
DATABASES=(dbanalysis dbanalysis_test)
START_TIMEOUT="${DBANALYSIS_PG_START_TIMEOUT:-60}"
STOP_TIMEOUT="${DBANALYSIS_PG_STOP_TIMEOUT:-60}"
OS_USER=postgres # postgres refuses to run as root; used only when we are root

log() { printf 'postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Server binaries: Debian keeps them off PATH in /usr/lib/postgresql/N/bin;
# take the newest version there (sort -V, as "9.6" > "16" lexically), else PATH.
find_bindir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n1)"
  if [[ -n "$dir" && -x "$dir/pg_ctl" && -x "$dir/initdb" ]]; then
    printf '%s\n' "$dir"
  elif command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  else
    return 1
  fi
}

ensure_server_installed() {
  BIN_DIR="$(find_bindir || true)"
  [[ -n "$BIN_DIR" ]] && return 0
  ((EUID == 0)) || die "PostgreSQL server binaries not found; install Debian's 'postgresql' package (needs root)"
  log "installing PostgreSQL server (apt-get, first run only)..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  BIN_DIR="$(find_bindir || true)"
  [[ -n "$BIN_DIR" ]] || die "postgresql installed but pg_ctl/initdb still not found"
}

# kill -0 is not enough: a dead process stays a zombie until its adoptive
# parent (PID 1) reaps it, which can take seconds in containers.
pid_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != [ZX] ]]
}

# Run a server binary as the cluster owner: the postgres OS user when we are
# root, ourselves otherwise.
as_owner() {
  if ((EUID == 0)); then
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

ensure_os_user() {
  ((EUID == 0)) || return 0
  id -u "$OS_USER" >/dev/null 2>&1 && return 0
  if getent group "$OS_USER" >/dev/null; then
    useradd --system --gid "$OS_USER" --home-dir /var/lib/postgresql --shell /bin/bash "$OS_USER"
  else
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash "$OS_USER"
  fi
}

# The cluster lives in var/postgres unless the postgres user cannot reach that
# path (e.g. a checkout under /root): then fall back to a per-checkout dir in
# /tmp. Decided from the nearest existing ancestor, so start/stop/status agree.
resolve_dirs() {
  local probe="$VAR_DIR" base
  while [[ ! -e "$probe" ]]; do probe="$(dirname "$probe")"; done
  base="$VAR_DIR/postgres"
  if ((EUID == 0)) && id -u "$OS_USER" >/dev/null 2>&1 && ! runuser -u "$OS_USER" -- test -x "$probe"; then
    base="/tmp/dbanalysis-postgres-$(printf '%s' "$VAR_DIR" | sha256sum | cut -c1-12)"
    FALLBACK_NOTE="$VAR_DIR is not traversable by user $OS_USER; using $base instead"
  fi
  PG_BASE="$base"
  PGDATA_DIR="$base/data"
  SOCKET_DIR="$base/run"
  LOG_FILE="$base/postgres.log"
  # Unix socket paths are limited to ~107 bytes.
  if ((${#SOCKET_DIR} > 90)); then
    SOCKET_DIR="/tmp/dbanalysis-pgsock-$(printf '%s' "$base" | sha256sum | cut -c1-12)"
  fi
}
FALLBACK_NOTE=""

prepare_dirs() {
  [[ -n "$FALLBACK_NOTE" ]] && log "$FALLBACK_NOTE"
  if [[ "$PG_BASE" == "$VAR_DIR/postgres" ]]; then
    mkdir -p "$VAR_DIR"
    # var/ holds only generated state; a self-ignoring .gitignore keeps it out of git.
    [[ -e "$VAR_DIR/.gitignore" ]] || printf '*\n' >"$VAR_DIR/.gitignore"
  fi
  mkdir -p "$PG_BASE" "$SOCKET_DIR"
  if ((EUID == 0)); then
    chown "$OS_USER:" "$PG_BASE" "$SOCKET_DIR"
  fi
  chmod 700 "$PG_BASE" "$SOCKET_DIR"
}

ensure_initdb() {
  [[ -f "$PGDATA_DIR/PG_VERSION" ]] && return 0
  log "initialising cluster in $PGDATA_DIR"
  rm -rf "$PGDATA_DIR"
  as_owner "$BIN_DIR/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_BASE/initdb.log" 2>&1 ||
    { cat "$PG_BASE/initdb.log" >&2; die "initdb failed"; }
  # Our settings go in an included file that is rewritten on each start, so
  # DBANALYSIS_PG_PORT changes apply without touching postgresql.conf again.
  printf "\ninclude_if_exists = 'dbanalysis.conf'\n" | as_owner tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
}

write_conf() {
  as_owner tee "$PGDATA_DIR/dbanalysis.conf" >/dev/null <<EOF
# Generated by scripts/services/postgres.sh - overwritten on start.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$SOCKET_DIR'
unix_socket_permissions = 0700
max_connections = 200
EOF
}

postmaster_pid() {
  head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null
}

# Running = postmaster.pid names a live (non-zombie) postgres process.
is_running() {
  local pid
  pid="$(postmaster_pid)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == postgres* ]]
}

# After a crash (kill -9, OOM, VM stop) postmaster.pid and the socket lock file
# may name a zombie or a reused pid, and postgres then refuses to start. Once no
# live process has its cwd in the data dir (orphaned backends exit within
# moments of the postmaster dying) those files are safe to remove; postgres
# then does normal crash recovery from the WAL.
clear_stale_locks() {
  local lock pid waited=""
  for lock in "$PGDATA_DIR/postmaster.pid" "$SOCKET_DIR/.s.PGSQL.$PORT.lock"; do
    [[ -f "$lock" ]] || continue
    pid="$(head -n1 "$lock")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
      [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == postgres* ]]; then
      continue # a live postgres: leave it to postgres to complain
    fi
    [[ -n "$waited" ]] || { wait_for_orphans; waited=1; }
    log "removing stale ${lock##*/} left by a crashed server (pid $pid)"
    rm -f "$lock"
  done
}

wait_for_orphans() {
  local deadline proc users datadir
  datadir="$(readlink -f "$PGDATA_DIR")"
  deadline=$((SECONDS + 15))
  while :; do
    users=""
    for proc in /proc/[0-9]*; do
      if [[ "$(readlink "$proc/cwd" 2>/dev/null)" == "$datadir" ]] && pid_alive "${proc#/proc/}"; then
        users+=" ${proc#/proc/}"
      fi
    done
    [[ -z "$users" ]] && return 0
    ((SECONDS < deadline)) || die "old server processes still use $PGDATA_DIR:$users"
    sleep 0.2
  done
}

is_ready() {
  "$BIN_DIR/pg_isready" -q -h "$HOST" -p "$PORT" -d postgres -t 2
}

admin_psql() {
  as_owner "$BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres
}

# Role and databases, re-asserted on every start (cheap, and repairs drift).
ensure_role_and_dbs() {
  local db
  admin_psql >/dev/null <<EOF
SELECT format('CREATE ROLE %I', '$APP_USER') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_USER')\\gexec
ALTER ROLE $APP_USER WITH LOGIN CREATEDB PASSWORD '$APP_PASSWORD';
EOF
  for db in "${DATABASES[@]}"; do
    admin_psql >/dev/null <<EOF
SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$APP_USER') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec
EOF
  done
}

cmd_start() {
  local deadline
  ensure_server_installed
  ensure_os_user
  resolve_dirs
  if is_running && is_ready; then
    ensure_role_and_dbs
    log "already running on $HOST:$PORT"
    return 0
  fi
  prepare_dirs
  ensure_initdb
  write_conf
  if ! is_running; then
    clear_stale_locks
    # pg_ctl -w knows when the postmaster it forked has died or is ready;
    # -t bounds that wait.
    as_owner "$BIN_DIR/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT" start >/dev/null ||
      { tail -n 20 "$LOG_FILE" >&2 || true; die "server did not start (log: $LOG_FILE)"; }
  fi
  # Then confirm what clients use: the TCP listener (bounded poll, no fixed sleep).
  deadline=$((SECONDS + START_TIMEOUT))
  until is_ready; do
    is_running || die "server exited during startup (log: $LOG_FILE)"
    ((SECONDS < deadline)) || die "not ready on $HOST:$PORT after ${START_TIMEOUT}s (log: $LOG_FILE)"
    sleep 0.1
  done
  ensure_role_and_dbs
  log "started on $HOST:$PORT (data: $PGDATA_DIR)"
}

cmd_stop() {
  BIN_DIR="$(find_bindir || true)"
  [[ -n "$BIN_DIR" ]] || { log "not installed"; return 0; }
  resolve_dirs
  if ! is_running; then
    log "not running"
    return 0
  fi
  # fast: roll back open transactions and disconnect clients, but shut down cleanly.
  as_owner "$BIN_DIR/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null
  log "stopped"
}

cmd_status() {
  BIN_DIR="$(find_bindir || true)"
  [[ -n "$BIN_DIR" ]] || { echo "postgres: not installed"; return 3; }
  resolve_dirs
  if ! is_running; then
    echo "postgres: not running"
    return 3
  fi
  if is_ready; then
    echo "postgres: running on $HOST:$PORT (data: $PGDATA_DIR)"
    return 0
  fi
  echo "postgres: process up but not accepting connections on $HOST:$PORT"
  return 1
}

cmd_url() {
  printf 'postgresql+asyncpg://%s:%s@%s:%s/%s\n' "$APP_USER" "$APP_PASSWORD" "$HOST" "$PORT" "${1:-${DATABASES[0]}}"
}

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    url) cmd_url "$@" ;;
    *)
      echo "usage: $0 {start|stop|restart|status|url [DBNAME]}" >&2
      exit 2
      ;;
  esac
}

main "$@"
