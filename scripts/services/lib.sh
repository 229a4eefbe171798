# Helpers shared by the service scripts (sourced, not run).
# shellcheck shell=bash

# kill -0 is not enough: a dead process stays a zombie until its adoptive
# parent (PID 1) reaps it, which can take seconds in containers.
pid_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != [ZX] ]]
}

# SIGTERM, then SIGKILL after $2 seconds; returns once the process is gone. Calls `log`
# (each script has its own) to say when it had to kill.
terminate_pid() {
  local pid="$1" timeout="$2" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid still alive after ${timeout}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while pid_alive "$pid"; do sleep 0.1; done
      return 0
    fi
    sleep 0.1
  done
}

# Whether something listens on $1:$2.
port_in_use() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}
