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
