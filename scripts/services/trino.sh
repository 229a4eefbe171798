#!/usr/bin/env bash
# Local single-node Trino with Iceberg on the local file system: the lab in which the
# service's advice is run and scored. No Docker, no object store, no metastore server.
#
#   scripts/services/trino.sh start|stop|restart|status|url|address|warehouse
#
# The server and its plugins come from Maven Central through infra/trino/pom.xml (a tar.gz
# and zips, unpacked once under $DBANALYSIS_VAR/trino/dist). Trino 476 needs Java 24+: the
# script finds a JDK 24+ (DBANALYSIS_TRINO_JAVA_HOME, JAVA_HOME, then /usr/lib/jvm) and says
# so when there is none. Catalogs are dynamic (`CREATE CATALOG x USING iceberg WITH (...)`),
# so that a workload's own catalog names can be made at run time (src/adapters/trino/lab.py
# puts each catalog's tables under `warehouse`/<catalog>).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
VAR_DIR="${DBANALYSIS_VAR:-$REPO_ROOT/var}"
TRINO_DIR="$VAR_DIR/trino"
DIST_DIR="$TRINO_DIR/dist"
ETC_DIR="$TRINO_DIR/etc"
DATA_DIR="$TRINO_DIR/data"
WAREHOUSE_DIR="$TRINO_DIR/warehouse"
LOG_DIR="$TRINO_DIR/logs"
PID_FILE="$TRINO_DIR/trino.pid"
POM="$REPO_ROOT/infra/trino/pom.xml"

HOST=127.0.0.1
PORT="${DBANALYSIS_TRINO_PORT:-58080}"
# Sized for a 2-core, 24 GiB box shared with PostgreSQL, Kafka and the tests: the heap is
# committed only as it is used. A query may use a third of it; writers past that fail
# loudly (the migrations must stay bounded), they do not spill.
HEAP="${DBANALYSIS_TRINO_HEAP:-6G}"
QUERY_MEMORY="${DBANALYSIS_TRINO_QUERY_MEMORY:-2GB}"
START_TIMEOUT="${DBANALYSIS_TRINO_START_TIMEOUT:-180}"
STOP_TIMEOUT="${DBANALYSIS_TRINO_STOP_TIMEOUT:-30}"
PYTHON="${PYTHON:-python3}"
MIN_JAVA=24

log() { printf 'trino: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/services/lib.sh
source "$SCRIPT_DIR/lib.sh"

ensure_var() {
  mkdir -p "$TRINO_DIR"
  [[ -e "$VAR_DIR/.gitignore" ]] || printf '*\n' >"$VAR_DIR/.gitignore"
}

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -n1
}

# The first JDK of release MIN_JAVA or newer: the one named for Trino, JAVA_HOME, the
# newest under /usr/lib/jvm, then java on the PATH.
java_bin() {
  local candidate major
  local -a candidates=()
  [[ -n "${DBANALYSIS_TRINO_JAVA_HOME:-}" ]] && candidates+=("$DBANALYSIS_TRINO_JAVA_HOME/bin/java")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  while IFS= read -r candidate; do candidates+=("$candidate"); done < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV)
  command -v java >/dev/null && candidates+=("$(command -v java)")
  for candidate in "${candidates[@]}"; do
    [[ -x "$candidate" ]] || continue
    major="$(java_major "$candidate")"
    if [[ -n "$major" ]] && ((major >= MIN_JAVA)); then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  die "Trino 476 needs Java $MIN_JAVA or newer and none was found (looked at DBANALYSIS_TRINO_JAVA_HOME, JAVA_HOME, /usr/lib/jvm/*, PATH). Install a JDK 24+ (for example Temurin 25) and set DBANALYSIS_TRINO_JAVA_HOME to it."
}

# Resolve the archives with Maven into its local repository (no copy), then unpack the
# server and the plugins we use into a temporary folder that replaces dist/ only when
# complete. The stamp carries a hash of the pom, so editing it triggers a new unpack.
ensure_dist() {
  local stamp tmp list mvn_log coordinates file
  stamp="pom-sha256=$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$DIST_DIR/.stamp" && "$(cat "$DIST_DIR/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Trino)"
  command -v unzip >/dev/null || die "unzip not found (needed once to unpack Trino's plugins)"
  log "fetching Trino with Maven (first run only, about 560 MB)..."
  tmp="$(mktemp -d "$TRINO_DIR/dist.tmp.XXXXXX")"
  list="$tmp/artifacts.txt"
  mvn_log="$TRINO_DIR/mvn-fetch.log"
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:list \
      -DoutputAbsoluteArtifactFilename=true -DoutputFile="$list" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$mvn_log" >&2 || true
    die "Maven could not fetch Trino (full log: $mvn_log)"
  fi
  mkdir -p "$tmp/plugin"
  while IFS= read -r line; do
    [[ "$line" == *io.trino:* ]] || continue
    coordinates="${line%%:/*}"
    file="/${line#*:/}"
    [[ -f "$file" ]] || die "Maven listed $file but it is not there"
    case "$coordinates" in
      *trino-server-core:tar.gz:*)
        tar -xzf "$file" -C "$tmp"
        mv "$tmp"/trino-server-core-*/lib "$tmp/lib"
        # Every folder in plugin/ loads: keep only the password authenticators (TLS + password).
        mv "$tmp"/trino-server-core-*/plugin/password-authenticators "$tmp/plugin/"
        rm -rf "$tmp"/trino-server-core-*
        ;;
      *:zip:*)
        unzip -q -o "$file" -d "$tmp/plugin"
        ;;
    esac
  done <"$list"
  [[ -d "$tmp/lib" ]] || { rm -rf "$tmp"; die "the server archive was not in Maven's list (see $list)"; }
  rm -rf "$DIST_DIR"
  mv "$tmp" "$DIST_DIR"
  printf '%s\n' "$stamp" >"$DIST_DIR/.stamp"
}

# Regenerated on every start so that settings from the environment take effect.
write_config() {
  mkdir -p "$ETC_DIR/catalog" "$DATA_DIR" "$WAREHOUSE_DIR" "$LOG_DIR"
  cat >"$ETC_DIR/config.properties" <<EOF
# Generated by scripts/services/trino.sh - edits are overwritten on start.
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$PORT
discovery.uri=http://$HOST:$PORT
catalog.management=dynamic
query.max-memory=$QUERY_MEMORY
query.max-memory-per-node=$QUERY_MEMORY
EOF
  # Dynamic catalogs are kept in etc/catalog (the file catalog store, relative to the working
  # directory), so the workloads' catalogs survive a restart. tpch is always there.
  printf 'connector.name=tpch\n' >"$ETC_DIR/catalog/tpch.properties"
}

running_pid() {
  local pid cmdline proc
  if [[ -f "$PID_FILE" ]]; then
    pid="$(cat "$PID_FILE")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid"; then
      cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
      if [[ "$cmdline" == *io.trino.server.TrinoServer* && "$cmdline" == *"$ETC_DIR"* ]]; then
        printf '%s\n' "$pid"
        return 0
      fi
    fi
  fi
  for proc in /proc/[0-9]*; do
    cmdline="$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null || true)"
    if [[ "$cmdline" == *"-Dconfig=$ETC_DIR/config.properties"*io.trino.server.TrinoServer* ]] && pid_alive "${proc#/proc/}"; then
      printf '%s\n' "${proc#/proc/}"
      return 0
    fi
  done
  return 1
}

port_in_use() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Ready means the server has finished starting and answers a query on a catalog.
# Exit 0 ready, 1 not ready in time, 2 the process died.
probe() {
  local pid="$1" timeout="$2"
  "$PYTHON" - "$HOST" "$PORT" "$pid" "$timeout" <<'EOF'
import json, os, sys, time, urllib.request

host, port, pid, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
base = f"http://{host}:{port}"
deadline = time.monotonic() + timeout


def alive() -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


def query(sql: str) -> bool:
    request = urllib.request.Request(
        f"{base}/v1/statement", data=sql.encode(), headers={"X-Trino-User": "probe"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    while "nextUri" in answer:
        with urllib.request.urlopen(answer["nextUri"], timeout=10) as response:
            answer = json.load(response)
    return "error" not in answer


while time.monotonic() < deadline:
    if not alive():
        sys.exit(2)
    try:
        with urllib.request.urlopen(f"{base}/v1/info", timeout=5) as response:
            info = json.load(response)
        if not info.get("starting", True) and query("SELECT count(*) FROM tpch.tiny.region"):
            print(f"version {info['nodeVersion']['version']}, up {info.get('uptime')}")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
}

cmd_start() {
  local pid java rc=0 started=$SECONDS
  if pid="$(running_pid)"; then
    probe "$pid" "$START_TIMEOUT" >/dev/null || die "server pid $pid is running but not ready; see $LOG_DIR/server.log"
    log "already running (pid $pid) on $HOST:$PORT"
    return 0
  fi
  rm -f "$PID_FILE"
  port_in_use "$PORT" && die "port $PORT is taken by another process (set DBANALYSIS_TRINO_PORT)"
  java="$(java_bin)"
  ensure_var
  ensure_dist
  write_config
  # setsid: the server outlives the shell or CI step that started it. The JVM flags are
  # those of Trino's own launcher; the server log goes to logs/server.log.
  (
    cd "$TRINO_DIR"
    # shellcheck disable=SC2086
    setsid nohup "$java" -Xmx"$HEAP" -XX:+UseG1GC -XX:G1HeapRegionSize=32M \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow \
      -XX:ReservedCodeCacheSize=256M -XX:PerMethodRecompilationCutoff=10000 \
      -XX:PerBytecodeRecompilationCutoff=10000 -Djdk.attach.allowAttachSelf=true \
      -Djdk.nio.maxCachedBufferSize=2000000 -XX:+EnableDynamicAgentLoading \
      --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
      -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
      -Dconfig="$ETC_DIR/config.properties" \
      -Dnode.environment=lab -Dnode.id=dbanalysis-lab -Dnode.data-dir="$DATA_DIR" \
      -Dnode.bind-ip="$HOST" -Dnode.internal-address="$HOST" \
      -Dplugin.dir="$DIST_DIR/plugin" -Dlog.output-file="$LOG_DIR/server.log" \
      -cp "$DIST_DIR/lib/*" io.trino.server.TrinoServer \
      </dev/null >>"$LOG_DIR/trino.out" 2>&1 &
    printf '%s\n' "$!" >"$PID_FILE"
  )
  pid="$(cat "$PID_FILE")"
  probe "$pid" "$START_TIMEOUT" >/dev/null || rc=$?
  if ((rc != 0)); then
    tail -n 30 "$LOG_DIR/trino.out" >&2 2>/dev/null || true
    grep -E 'ERROR|Exception' "$LOG_DIR/server.log" 2>/dev/null | tail -n 10 >&2 || true
    if ((rc == 2)); then
      rm -f "$PID_FILE"
      die "server exited during startup (logs: $LOG_DIR)"
    fi
    die "server not ready after ${START_TIMEOUT}s (pid $pid left running; logs: $LOG_DIR)"
  fi
  log "started (pid $pid) on $HOST:$PORT in $((SECONDS - started)) s"
}

cmd_stop() {
  local pid deadline
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  # SIGTERM runs Trino's shutdown hooks; a lab server holds no state that needs more.
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while pid_alive "$pid"; do sleep 0.1; done
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid detail
  if ! pid="$(running_pid)"; then
    echo "trino: not running"
    return 3
  fi
  if detail="$(probe "$pid" 5)"; then
    echo "trino: running (pid $pid) on $HOST:$PORT; $detail; warehouse $WAREHOUSE_DIR"
    return 0
  fi
  echo "trino: process $pid is up but the server does not answer on $HOST:$PORT"
  return 1
}

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    url) printf 'http://%s:%s\n' "$HOST" "$PORT" ;;
    address) printf '%s:%s\n' "$HOST" "$PORT" ;;
    warehouse) printf '%s\n' "$WAREHOUSE_DIR" ;;
    *)
      echo "usage: $0 {start|stop|restart|status|url|address|warehouse}" >&2
      exit 2
      ;;
  esac
}

main "$@"
