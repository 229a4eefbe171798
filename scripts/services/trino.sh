#!/usr/bin/env bash
# Local single-node Trino with Iceberg on the local file system: the lab in which the
# service's advice is run and scored. No Docker, no object store, no metastore server.
#
#   scripts/services/trino.sh start|stop|restart|status|url|address|warehouse
#                             https-address|tls-ca|lab-password
#
# The server and its plugins come from Maven Central through infra/trino/pom.xml (a tar.gz
# and zips, unpacked once under $DBANALYSIS_VAR/trino/dist). Trino 476 needs Java 24+: the
# script finds a JDK 24+ (DBANALYSIS_TRINO_JAVA_HOME, JAVA_HOME, then /usr/lib/jvm) and says
# so when there is none. Catalogs are dynamic (`CREATE CATALOG x USING iceberg WITH (...)`),
# so that a workload's own catalog names can be made at run time (src/adapters/trino/lab.py
# puts each catalog's tables under `warehouse`/<catalog>).
#
# Two doors, both on 127.0.0.1 only: plain HTTP (the lab's, no password, the user taken from
# X-Trino-User) and HTTPS with password authentication (Trino takes passwords only over TLS),
# for tests of credentials, TLS errors and wrong passwords. HTTPS uses a self-signed
# certificate for 127.0.0.1 and localhost, made once under tls/ (openssl, else the JDK's
# keytool): server.pem (key + certificate) for Trino, ca.pem (the certificate alone) for
# clients to trust. Its one user, `lab`, has a password from DBANALYSIS_TRINO_LAB_PASSWORD;
# etc/password.db holds its PBKDF2 hash (bcrypt with htpasswd when that is installed).
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
TLS_DIR="$TRINO_DIR/tls"
SERVER_PEM="$TLS_DIR/server.pem"
CA_PEM="$TLS_DIR/ca.pem"
SECRET_FILE="$TRINO_DIR/shared-secret"
PASSWORD_FILE="$ETC_DIR/password.db"
POM="$REPO_ROOT/infra/trino/pom.xml"

HOST=127.0.0.1
PORT="${DBANALYSIS_TRINO_PORT:-58080}"
HTTPS_PORT="${DBANALYSIS_TRINO_HTTPS_PORT:-58443}"
LAB_USER=lab
LAB_PASSWORD="${DBANALYSIS_TRINO_LAB_PASSWORD:-lab-password-not-secret}"
# Minimum 1000 (the plugin refuses fewer); checked once per credential, then cached.
PBKDF2_ITERATIONS=100000
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

# The HTTPS certificate, made once (again only when a file is missing): self-signed, for
# IP 127.0.0.1 and DNS localhost, ten years. Both files are written to a temporary folder
# and moved in place, so a failed run leaves no half pair.
ensure_tls() {
  local java="$1" tmp keytool
  [[ -s "$SERVER_PEM" && -s "$CA_PEM" ]] && return 0
  mkdir -p "$TLS_DIR"
  tmp="$(mktemp -d "$TLS_DIR/new.XXXXXX")"
  if command -v openssl >/dev/null; then
    log "making a self-signed certificate for 127.0.0.1 and localhost (openssl)"
    cat >"$tmp/req.cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = v3
prompt = no
[dn]
CN = localhost
O = dbanalysis lab
[v3]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    if ! openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -config "$tmp/req.cnf" \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/log" 2>&1; then
      cat "$tmp/log" >&2
      rm -rf "$tmp"
      die "openssl could not make the certificate"
    fi
  else
    # keytool makes the key pair in a PKCS#12 store; a few lines of Java (run from source)
    # write its key (PKCS#8) and certificate as PEM, which Trino reads like openssl's.
    keytool="$(dirname "$java")/keytool"
    [[ -x "$keytool" ]] || die "neither openssl nor $keytool found (needed once for the HTTPS certificate)"
    log "making a self-signed certificate for 127.0.0.1 and localhost (keytool)"
    cat >"$tmp/PemExport.java" <<'EOF'
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;

public class PemExport {
    static String pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    public static void main(String[] args) throws Exception {
        char[] password = System.getenv("STORE_PASSWORD").toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
            store.load(in, password);
        }
        Files.writeString(Path.of(args[1]), pem("PRIVATE KEY", store.getKey("lab", password).getEncoded()));
        Files.writeString(Path.of(args[2]), pem("CERTIFICATE", store.getCertificate("lab").getEncoded()));
    }
}
EOF
    if ! STORE_PASSWORD="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" bash -c '
        "$1" -genkeypair -alias lab -keyalg RSA -keysize 2048 -validity 3650 \
          -dname "CN=localhost, O=dbanalysis lab" -ext SAN=ip:127.0.0.1,dns:localhost \
          -ext BC:c=ca:false -ext EKU=serverAuth -storetype PKCS12 -keystore "$3/lab.p12" \
          -storepass:env STORE_PASSWORD -keypass:env STORE_PASSWORD &&
        "$2" "$3/PemExport.java" "$3/lab.p12" "$3/key.pem" "$3/cert.pem"' \
        _ "$keytool" "$java" "$tmp" >"$tmp/log" 2>&1; then
      cat "$tmp/log" >&2
      rm -rf "$tmp"
      die "keytool could not make the certificate (running Java from source needs a JDK, not a JRE)"
    fi
  fi
  cat "$tmp/key.pem" "$tmp/cert.pem" >"$tmp/server.pem"
  chmod 600 "$tmp/server.pem"
  chmod 644 "$tmp/cert.pem"
  mv -f "$tmp/cert.pem" "$CA_PEM"
  mv -f "$tmp/server.pem" "$SERVER_PEM"
  rm -rf "$tmp"
}

# The secret the nodes sign their internal requests with (required once authentication is
# on): random, made once.
ensure_shared_secret() {
  [[ -s "$SECRET_FILE" ]] && return 0
  (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$SECRET_FILE.tmp")
  mv -f "$SECRET_FILE.tmp" "$SECRET_FILE"
}

# Trino reads a Basic header as ISO-8859-1 and refuses an empty password: a password it
# could never receive is refused here, with the reason, rather than at the first login.
check_lab_password() {
  LAB_PASSWORD="$LAB_PASSWORD" "$PYTHON" -c '
import os, sys
password = os.environ["LAB_PASSWORD"]
try:
    password.encode("latin-1")
except UnicodeEncodeError:
    sys.exit(1)
sys.exit(0 if password and password.isprintable() else 1)' ||
    die "DBANALYSIS_TRINO_LAB_PASSWORD must be a non-empty line of printable ISO-8859-1 characters (Trino decodes Basic credentials as ISO-8859-1; ASCII is the safest)"
}

# One line `user:hash` for the file password authenticator. bcrypt ($2y$, cost 10) when
# htpasswd is installed; else PBKDF2 from Python's stdlib in the plugin's format
# `user:iterations:salt:hash` (lowercase hex; PBKDF2WithHmacSHA1, the hash as long as given).
password_line() {
  if command -v htpasswd >/dev/null; then
    printf '%s\n' "$LAB_PASSWORD" | htpasswd -niBC 10 "$LAB_USER" | grep -m1 "^$LAB_USER:"
    return
  fi
  LAB_PASSWORD="$LAB_PASSWORD" "$PYTHON" - "$LAB_USER" "$PBKDF2_ITERATIONS" <<'EOF'
import hashlib, os, sys

user, iterations = sys.argv[1], int(sys.argv[2])
salt = os.urandom(16)
digest = hashlib.pbkdf2_hmac("sha1", os.environ["LAB_PASSWORD"].encode(), salt, iterations, 32)
print(f"{user}:{iterations}:{salt.hex()}:{digest.hex()}")
EOF
}

# Regenerated on every start so that settings from the environment take effect.
write_config() {
  mkdir -p "$ETC_DIR/catalog" "$DATA_DIR" "$WAREHOUSE_DIR" "$LOG_DIR"
  local line
  # Holds the shared secret: readable by its owner only.
  touch "$ETC_DIR/config.properties" && chmod 600 "$ETC_DIR/config.properties"
  cat >"$ETC_DIR/config.properties" <<EOF
# Generated by scripts/services/trino.sh - edits are overwritten on start.
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$PORT
discovery.uri=http://$HOST:$PORT
catalog.management=dynamic
query.max-memory=$QUERY_MEMORY
query.max-memory-per-node=$QUERY_MEMORY
# HTTPS with passwords; plain HTTP keeps working without one (user from X-Trino-User).
http-server.https.enabled=true
http-server.https.port=$HTTPS_PORT
http-server.https.keystore.path=$SERVER_PEM
http-server.authentication.type=PASSWORD
http-server.authentication.allow-insecure-over-http=true
password-authenticator.config-files=$ETC_DIR/password-authenticator.properties
internal-communication.shared-secret=$(cat "$SECRET_FILE")
EOF
  cat >"$ETC_DIR/password-authenticator.properties" <<EOF
# Generated by scripts/services/trino.sh - edits are overwritten on start.
password-authenticator.name=file
file.password-file=$PASSWORD_FILE
EOF
  line="$(password_line)" || die "could not hash the lab password"
  [[ "$line" == "$LAB_USER:"* ]] || die "could not hash the lab password (got no line for $LAB_USER)"
  (umask 077 && printf '%s\n' "$line" >"$PASSWORD_FILE.tmp")
  mv -f "$PASSWORD_FILE.tmp" "$PASSWORD_FILE"
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


# Ready means the server has finished starting, answers a query on a catalog over plain
# HTTP, and answers one over HTTPS as the lab user, with its password, trusting only ca.pem.
# Exit 0 ready, 1 not ready in time, 2 the process died, 3 HTTP is ready but HTTPS still
# fails 15 s later (a server started with another configuration); the last error on stderr.
probe() {
  local pid="$1" timeout="$2"
  LAB_PASSWORD="$LAB_PASSWORD" "$PYTHON" - "$HOST" "$PORT" "$HTTPS_PORT" "$CA_PEM" "$LAB_USER" \
    "$pid" "$timeout" <<'EOF'
import base64, json, os, ssl, sys, time, urllib.request

host, port, https_port, ca, user = sys.argv[1:6]
pid, timeout = int(sys.argv[6]), float(sys.argv[7])
deadline = time.monotonic() + timeout
# Trino decodes Basic credentials as ISO-8859-1 (requests encodes them so too).
basic = base64.b64encode(f"{user}:{os.environ['LAB_PASSWORD']}".encode("latin-1")).decode()
HTTPS_GRACE = 15.0


def alive() -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


def query(base: str, sql: str, headers: dict[str, str], context=None) -> bool:
    request = urllib.request.Request(f"{base}/v1/statement", data=sql.encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        answer = json.load(response)
    while "nextUri" in answer:
        request = urllib.request.Request(answer["nextUri"], headers=headers)
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            answer = json.load(response)
    return "error" not in answer


def https_error() -> str | None:
    """None when HTTPS answers a query as the lab user, else what went wrong."""
    if not os.path.isfile(ca):
        return f"no certificate to trust at {ca} (made on start)"
    try:
        context = ssl.create_default_context(cafile=ca)
        headers = {"Authorization": f"Basic {basic}"}
        if query(f"https://{host}:{https_port}", "SELECT 1", headers, context):
            return None
        return "the query failed"
    except (OSError, ssl.SSLError) as error:  # refused, TLS, HTTP 401...
        return f"{type(error).__name__}: {error}"


http_ready_at = None
error = "no answer on HTTP"
while time.monotonic() < deadline:
    if not alive():
        sys.exit(2)
    try:
        if http_ready_at is None:
            with urllib.request.urlopen(f"http://{host}:{port}/v1/info", timeout=5) as response:
                info = json.load(response)
            probe_user = {"X-Trino-User": "probe"}
            if not info.get("starting", True) and query(
                f"http://{host}:{port}", "SELECT count(*) FROM tpch.tiny.region", probe_user
            ):
                http_ready_at = time.monotonic()
        if http_ready_at is not None:
            error = https_error()
            if error is None:
                print(f"version {info['nodeVersion']['version']}, up {info.get('uptime')}")
                sys.exit(0)
            error = f"HTTPS on {host}:{https_port}: {error}"
            if time.monotonic() - http_ready_at > HTTPS_GRACE:
                print(error, file=sys.stderr)
                sys.exit(3)
    except OSError:
        pass
    time.sleep(0.5)
print(error, file=sys.stderr)
sys.exit(1)
EOF
}

cmd_start() {
  local pid java rc=0 started=$SECONDS
  if pid="$(running_pid)"; then
    probe "$pid" "$START_TIMEOUT" >/dev/null || rc=$?
    ((rc == 3)) && die "server pid $pid answers on HTTP but not as configured on HTTPS (see above); 'scripts/services/trino.sh restart' starts it with this configuration"
    ((rc == 0)) || die "server pid $pid is running but not ready; see $LOG_DIR/server.log"
    log "already running (pid $pid) on $HOST:$PORT, HTTPS on $HOST:$HTTPS_PORT"
    return 0
  fi
  rm -f "$PID_FILE"
  port_in_use "$HOST" "$PORT" && die "port $PORT is taken by another process (set DBANALYSIS_TRINO_PORT)"
  port_in_use "$HOST" "$HTTPS_PORT" && die "port $HTTPS_PORT is taken by another process (set DBANALYSIS_TRINO_HTTPS_PORT)"
  java="$(java_bin)"
  check_lab_password
  ensure_var
  ensure_dist
  ensure_tls "$java"
  ensure_shared_secret
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
    ((rc == 3)) && die "server answers on HTTP but not on HTTPS (pid $pid left running; logs: $LOG_DIR)"
    die "server not ready after ${START_TIMEOUT}s (pid $pid left running; logs: $LOG_DIR)"
  fi
  log "started (pid $pid) on $HOST:$PORT, HTTPS on $HOST:$HTTPS_PORT, in $((SECONDS - started)) s"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  # SIGTERM runs Trino's shutdown hooks; a lab server holds no state that needs more.
  terminate_pid "$pid" "$STOP_TIMEOUT"
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
    echo "trino: running (pid $pid) on $HOST:$PORT, HTTPS on $HOST:$HTTPS_PORT (user $LAB_USER, CA $CA_PEM); $detail; warehouse $WAREHOUSE_DIR"
    return 0
  fi
  echo "trino: process $pid is up but the server does not answer as configured (HTTP $HOST:$PORT, HTTPS $HOST:$HTTPS_PORT)"
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
    https-address) printf '%s:%s\n' "$HOST" "$HTTPS_PORT" ;;
    tls-ca) printf '%s\n' "$CA_PEM" ;;
    lab-password) printf '%s\n' "$LAB_PASSWORD" ;;
    warehouse) printf '%s\n' "$WAREHOUSE_DIR" ;;
    *)
      echo "usage: $0 {start|stop|restart|status|url|address|https-address|tls-ca|lab-password|warehouse}" >&2
      exit 2
      ;;
  esac
}

main "$@"
