#!/usr/bin/env bash
# Real PostgreSQL and Redis servers for tests, from Debian's packages, on loopback ports.
#
#   source .ci/services.sh        starts both (installing the packages first when missing), exports
#                                 RELAY_TEST_* (below) and defines relay_services_stop; unless
#                                 RELAY_SERVICES_NO_TRAP=1, also stops them when the shell exits.
#   bash .ci/services.sh start    the same for a program (test/support/services.ts): prints the
#                                 variables as KEY=VALUE lines on stdout, leaves the servers running
#   bash .ci/services.sh stop [DIR]                   stops both, removes DIR
#   bash .ci/services.sh pg-stop [fast|immediate]     fault drills: stop PostgreSQL ...
#   bash .ci/services.sh pg-start                     ... and start it again (crash recovery included)
#   bash .ci/services.sh redis-stop | redis-start | redis-restart
#   bash .ci/services.sh watch PID [DIR]              stops DIR's servers once process PID is gone
#   (the last five read RELAY_TEST_SERVICES_DIR, or DIR, to find the servers)
#
# Each start makes a fresh PostgreSQL cluster and a Redis in a new `mktemp -d` folder; nothing is
# shared with a system server or another run. Exported:
#   RELAY_TEST_DATABASE_URL   postgres://relay:PW@127.0.0.1:PORT/relay_test (role relay: LOGIN CREATEDB,
#                             owner of relay_test; password auth, scram-sha-256)
#   RELAY_TEST_PG_ADMIN_URL   the same cluster as its superuser postgres, database postgres
#   RELAY_TEST_PG_PORT  RELAY_TEST_PG_BIN (bin folder)  RELAY_TEST_PG_CTL  RELAY_TEST_PGDATA
#   RELAY_TEST_PG_LOG   RELAY_TEST_PG_USER (the OS user pg_ctl must run as: postgres when root)
#   RELAY_TEST_REDIS_URL      redis://127.0.0.1:PORT
#   RELAY_TEST_REDIS_PORT  RELAY_TEST_REDIS_SERVER  RELAY_TEST_REDIS_CONF  RELAY_TEST_REDIS_PIDFILE
#   RELAY_TEST_REDIS_LOG   RELAY_TEST_SERVICES_DIR (the temp folder holding all of it, and its env file)
# Restarting by hand: runuser -u "$RELAY_TEST_PG_USER" -- "$RELAY_TEST_PG_CTL" -D "$RELAY_TEST_PGDATA"
# -l "$RELAY_TEST_PG_LOG" start -w (drop `runuser ... --` when not root); "$RELAY_TEST_REDIS_SERVER"
# "$RELAY_TEST_REDIS_CONF" (it daemonizes). Or use the subcommands above.
#
# No DATABASE_URL, REDIS_URL or PG* variables are exported: Bun's default clients read those.
# Written to run under the caller's `set -euo pipefail` as well as without it: every step checks its
# own result, and the functions return (never exit) when sourced.

# The RELAY_TEST_* variables are set here and exported by name (export "$v"), which shellcheck cannot see.
# shellcheck disable=SC2034,SC2163,SC2015,SC1091,SC2012,SC2154

relay__log() { echo "services: $*" >&2; }

# ---- finding (and installing) the binaries -------------------------------------------------------

# The bin folder of a PostgreSQL whose initdb, pg_ctl and postgres run. Debian keeps the server
# under /usr/lib/postgresql/<version>/bin (newest version first); /usr/local/bin or PATH entries may
# be symlinks or stand-ins, so each candidate is resolved and made to print its version.
relay__pg_bindir() {
  local cands=() d v
  [ -n "${RELAY_PG_BINDIR:-}" ] && cands+=("$RELAY_PG_BINDIR")
  while IFS= read -r d; do cands+=("$d"); done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -V -r)
  for v in initdb pg_ctl postgres; do
    d=$(command -v "$v" 2>/dev/null) && d=$(readlink -f "$d" 2>/dev/null) && cands+=("$(dirname "$d")")
  done
  for d in "${cands[@]}"; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] || continue
    "$d/postgres" --version 2>/dev/null | grep -q '^postgres (PostgreSQL) ' || continue
    "$d/initdb" --version 2>/dev/null | grep -q '^initdb (PostgreSQL) ' || continue
    "$d/pg_ctl" --version 2>/dev/null | grep -q '^pg_ctl (PostgreSQL) ' || continue
    echo "$d"
    return 0
  done
  return 1
}

relay__redis_server() {
  local cands=() d
  [ -n "${RELAY_REDIS_SERVER:-}" ] && cands+=("$RELAY_REDIS_SERVER")
  d=$(command -v redis-server 2>/dev/null) && cands+=("$d")
  cands+=(/usr/bin/redis-server)
  for d in "${cands[@]}"; do
    [ -x "$d" ] || continue
    "$d" --version 2>/dev/null | grep -q '^Redis server v=' || continue
    echo "$d"
    return 0
  done
  return 1
}

# apt-get install, non-interactive; `apt-get update` only when the package lists don't know a
# package, or when the install fails (stale lists pointing at files the mirror no longer has).
relay__apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      relay__log "need root (or passwordless sudo) to apt-get install $*; install them by hand"
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    relay__log "no apt-get here: install $* with this system's package manager"
    return 1
  fi
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    relay__log "apt-get update (the package lists don't have $*)"
    "${apt[@]}" update >&2 || return 1
  fi
  relay__log "apt-get install $*"
  if ! "${apt[@]}" install --no-install-recommends "$@" >&2; then
    relay__log "install failed; apt-get update and once more"
    "${apt[@]}" update >&2 && "${apt[@]}" install --no-install-recommends "$@" >&2 || return 1
  fi
}

relay__ensure_binaries() {
  local need=()
  RELAY__PG_BIN=$(relay__pg_bindir) || need+=(postgresql)
  RELAY__REDIS=$(relay__redis_server) || need+=(redis-server)
  if [ ${#need[@]} -gt 0 ]; then
    relay__apt_install "${need[@]}" || { relay__log "could not install ${need[*]}"; return 1; }
    RELAY__PG_BIN=$(relay__pg_bindir) || { relay__log "no working PostgreSQL server binaries (initdb, pg_ctl, postgres) after installing"; return 1; }
    RELAY__REDIS=$(relay__redis_server) || { relay__log "no working redis-server after installing"; return 1; }
  fi
  RELAY__PSQL="$RELAY__PG_BIN/psql"
  [ -x "$RELAY__PSQL" ] || RELAY__PSQL=$(command -v psql 2>/dev/null) || { relay__log "no psql"; return 1; }
}

# ---- small helpers -------------------------------------------------------------------------------

# A loopback port nobody listens on, below the kernel's ephemeral range (so neither an outgoing
# connection nor a `port: 0` listener can be sitting on it when a drill restarts the server).
relay__free_port() {
  local lo=32768 top p i
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
  top=$((lo - 1)); [ "$top" -gt 12000 ] || top=65000
  for i in $(seq 1 100); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % (top - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

relay__port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

relay__redis_ping() {
  local line=""
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 line <&3 && [ "${line%$'\r'}" = "+PONG" ]
  ) 2>/dev/null
}

# Runs a command as the OS user that owns the cluster (initdb and postgres refuse to run as root).
relay__as_pg() {
  if [ "$(id -u)" -eq 0 ] && [ "${RELAY_TEST_PG_USER:-postgres}" != root ]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u "${RELAY_TEST_PG_USER:-postgres}" -- "$@"
    else
      su -s /bin/sh "${RELAY_TEST_PG_USER:-postgres}" -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

relay__ensure_pg_user() {
  if [ "$(id -u)" -ne 0 ]; then RELAY_TEST_PG_USER=$(id -un); return 0; fi
  RELAY_TEST_PG_USER=postgres
  id postgres >/dev/null 2>&1 && return 0
  relay__log "creating the postgres OS user"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres >&2
}

relay__hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

relay__vars=(RELAY_TEST_SERVICES_DIR RELAY_TEST_DATABASE_URL RELAY_TEST_PG_ADMIN_URL RELAY_TEST_PG_PORT
  RELAY_TEST_PG_BIN RELAY_TEST_PG_CTL RELAY_TEST_PGDATA RELAY_TEST_PG_LOG RELAY_TEST_PG_USER
  RELAY_TEST_REDIS_URL RELAY_TEST_REDIS_PORT RELAY_TEST_REDIS_SERVER RELAY_TEST_REDIS_CONF
  RELAY_TEST_REDIS_PIDFILE RELAY_TEST_REDIS_LOG)

# Loads DIR/env (written at start), so the subcommands work from the folder alone.
relay__load() {
  local dir="${1:-${RELAY_TEST_SERVICES_DIR:-}}"
  if [ -z "$dir" ] || [ ! -f "$dir/env" ]; then
    relay__log "no running services found (RELAY_TEST_SERVICES_DIR unset, or ${dir:-?}/env missing)"
    return 1
  fi
  # shellcheck disable=SC1091
  source "$dir/env"
}

# ---- PostgreSQL ----------------------------------------------------------------------------------

relay_pg_start() {
  relay__as_pg "$RELAY_TEST_PG_CTL" -D "$RELAY_TEST_PGDATA" -l "$RELAY_TEST_PG_LOG" -w -t 60 start >/dev/null || {
    relay__log "PostgreSQL did not start; the end of $RELAY_TEST_PG_LOG:"; tail -n 20 "$RELAY_TEST_PG_LOG" >&2; return 1; }
}

relay_pg_stop() {
  local mode="${1:-fast}"
  relay__as_pg "$RELAY_TEST_PG_CTL" -D "$RELAY_TEST_PGDATA" -m "$mode" -w -t 60 stop >/dev/null
}

relay__pg_init() {
  local dir="$1" pg="$1/pg" port try
  mkdir -p "$pg/sock" || return 1
  RELAY_TEST_PG_BIN="$RELAY__PG_BIN"
  RELAY_TEST_PG_CTL="$RELAY__PG_BIN/pg_ctl"
  RELAY_TEST_PGDATA="$pg/data"
  RELAY_TEST_PG_LOG="$pg/postgres.log"
  local admin_pw relay_pw
  admin_pw=$(relay__hex 12); relay_pw=$(relay__hex 12)
  printf '%s\n' "$admin_pw" >"$pg/pwfile" && chmod 600 "$pg/pwfile" && : >"$RELAY_TEST_PG_LOG" || return 1
  if [ "$(id -u)" -eq 0 ]; then chown -R "$RELAY_TEST_PG_USER:" "$pg" || return 1; fi
  # Local (socket) connections trust, for this script's own setup; TCP needs the password.
  relay__as_pg "$RELAY__PG_BIN/initdb" -D "$RELAY_TEST_PGDATA" -U postgres --pwfile="$pg/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync --no-instructions >"$pg/initdb.log" 2>&1 || {
    relay__log "initdb failed:"; cat "$pg/initdb.log" >&2; return 1; }
  rm -f "$pg/pwfile"
  for try in 1 2 3 4 5; do
    port=$(relay__free_port) || { relay__log "no free port for PostgreSQL"; return 1; }
    # Later lines win in postgresql.conf; rewriting this block on a retry just appends another.
    relay__as_pg tee -a "$RELAY_TEST_PGDATA/postgresql.conf" >/dev/null <<EOF

# relay test cluster (.ci/services.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$pg/sock'
max_connections = 200
fsync = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
logging_collector = off
log_min_messages = warning
EOF
    RELAY_TEST_PG_PORT=$port
    if relay_pg_start 2>"$pg/start.err"; then break; fi
    if grep -qiE 'could not bind|address already in use' "$RELAY_TEST_PG_LOG"; then
      relay__log "port $port was taken; another"; : >"$RELAY_TEST_PG_LOG"; continue
    fi
    cat "$pg/start.err" >&2
    return 1
  done
  relay__port_open "$RELAY_TEST_PG_PORT" || { relay__log "PostgreSQL is not listening on 127.0.0.1:$RELAY_TEST_PG_PORT"; return 1; }
  "$RELAY__PSQL" -X -q -v ON_ERROR_STOP=1 -h "$pg/sock" -p "$RELAY_TEST_PG_PORT" -U postgres -d postgres >"$pg/setup.log" 2>&1 <<EOF || {
CREATE ROLE relay LOGIN CREATEDB PASSWORD '$relay_pw';
CREATE DATABASE relay_test OWNER relay;
EOF
    relay__log "creating the role and database failed:"; cat "$pg/setup.log" >&2; return 1; }
  RELAY_TEST_DATABASE_URL="postgres://relay:$relay_pw@127.0.0.1:$RELAY_TEST_PG_PORT/relay_test"
  RELAY_TEST_PG_ADMIN_URL="postgres://postgres:$admin_pw@127.0.0.1:$RELAY_TEST_PG_PORT/postgres"
}

# ---- Redis ---------------------------------------------------------------------------------------

relay_redis_start() {
  # What redis-server says before it daemonizes (a config error, say) goes to redis-server.out.
  local out="${RELAY_TEST_REDIS_CONF%/*}/redis-server.out"
  "$RELAY_TEST_REDIS_SERVER" "$RELAY_TEST_REDIS_CONF" >"$out" 2>&1 </dev/null || {
    relay__log "redis-server failed:"; cat "$out" >&2; tail -n 20 "$RELAY_TEST_REDIS_LOG" >&2 2>/dev/null; return 1; }
  local i
  for i in $(seq 1 100); do
    relay__redis_ping "$RELAY_TEST_REDIS_PORT" && return 0
    sleep 0.1
  done
  relay__log "Redis did not answer PING on 127.0.0.1:$RELAY_TEST_REDIS_PORT; the end of $RELAY_TEST_REDIS_LOG:"
  tail -n 20 "$RELAY_TEST_REDIS_LOG" >&2 2>/dev/null
  return 1
}

# Alive and not a zombie: a daemon is re-parented to PID 1, which on some machines (this sandbox's
# init) reaps late, and `kill -0` succeeds on a zombie.
relay__alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$state" != Z ]
}

relay_redis_stop() {
  local pid i
  pid=$(cat "$RELAY_TEST_REDIS_PIDFILE" 2>/dev/null) || return 0
  [ -n "$pid" ] && relay__alive "$pid" || { rm -f "$RELAY_TEST_REDIS_PIDFILE"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 100); do relay__alive "$pid" || break; sleep 0.05; done
  relay__alive "$pid" && kill -KILL "$pid" 2>/dev/null
  for i in $(seq 1 40); do relay__alive "$pid" || break; sleep 0.05; done
  rm -f "$RELAY_TEST_REDIS_PIDFILE"
}

relay__redis_init() {
  local r="$1/redis" try port
  mkdir -p "$r" || return 1
  RELAY_TEST_REDIS_SERVER="$RELAY__REDIS"
  RELAY_TEST_REDIS_CONF="$r/redis.conf"
  RELAY_TEST_REDIS_PIDFILE="$r/redis.pid"
  RELAY_TEST_REDIS_LOG="$r/redis.log"
  for try in 1 2 3 4 5; do
    port=$(relay__free_port) || { relay__log "no free port for Redis"; return 1; }
    cat >"$RELAY_TEST_REDIS_CONF" <<EOF
# relay test Redis (.ci/services.sh): loopback only, no persistence
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
supervised no
pidfile $RELAY_TEST_REDIS_PIDFILE
logfile $RELAY_TEST_REDIS_LOG
dir $r
save ""
appendonly no
maxmemory-policy noeviction
EOF
    RELAY_TEST_REDIS_PORT=$port
    if relay_redis_start 2>"$r/start.err"; then
      RELAY_TEST_REDIS_URL="redis://127.0.0.1:$port"
      return 0
    fi
    relay_redis_stop
    if grep -qiE 'address already in use' "$RELAY_TEST_REDIS_LOG" 2>/dev/null; then
      relay__log "port $port was taken; another"; : >"$RELAY_TEST_REDIS_LOG"; continue
    fi
    cat "$r/start.err" >&2
    return 1
  done
  return 1
}

# ---- start / stop --------------------------------------------------------------------------------

relay__write_env() {
  local v
  : >"$RELAY_TEST_SERVICES_DIR/env" && chmod 600 "$RELAY_TEST_SERVICES_DIR/env" || return 1
  for v in "${relay__vars[@]}"; do
    printf 'export %s=%q\n' "$v" "${!v}" >>"$RELAY_TEST_SERVICES_DIR/env" || return 1
  done
}

# Starts both servers in a new temp folder and exports RELAY_TEST_*; on failure stops whatever it
# started, removes the folder and returns non-zero. Reuses the servers already running in this shell.
relay_services_start() {
  if [ -n "${RELAY_TEST_SERVICES_DIR:-}" ] && [ -f "${RELAY_TEST_SERVICES_DIR}/env" ] &&
    relay__port_open "${RELAY_TEST_PG_PORT:-0}" && relay__redis_ping "${RELAY_TEST_REDIS_PORT:-0}"; then
    relay__log "already running in $RELAY_TEST_SERVICES_DIR (PostgreSQL :$RELAY_TEST_PG_PORT, Redis :$RELAY_TEST_REDIS_PORT)"
    return 0
  fi
  local t0=$SECONDS v
  for v in "${relay__vars[@]}"; do unset "$v"; done
  relay__ensure_binaries || return 1
  relay__ensure_pg_user || { relay__log "could not create the postgres OS user"; return 1; }
  local base="${RELAY_SERVICES_TMPDIR:-${TMPDIR:-/tmp}}"
  RELAY_TEST_SERVICES_DIR=$(mktemp -d "$base/relay-services.XXXXXX") || { relay__log "mktemp -d in $base failed"; return 1; }
  chmod 755 "$RELAY_TEST_SERVICES_DIR"
  if [ "$(id -u)" -eq 0 ] && ! relay__as_pg test -x "$RELAY_TEST_SERVICES_DIR"; then
    relay__log "the postgres user cannot reach $RELAY_TEST_SERVICES_DIR (set RELAY_SERVICES_TMPDIR to a folder it can)"
    rm -rf "$RELAY_TEST_SERVICES_DIR"; unset RELAY_TEST_SERVICES_DIR; return 1
  fi
  if ! relay__pg_init "$RELAY_TEST_SERVICES_DIR" || ! relay__redis_init "$RELAY_TEST_SERVICES_DIR" || ! relay__write_env; then
    relay__log "failed; stopping what was started"
    relay_services_stop
    return 1
  fi
  for v in "${relay__vars[@]}"; do export "$v"; done
  relay__log "PostgreSQL $("$RELAY_TEST_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$RELAY_TEST_PG_PORT," \
    "Redis $("$RELAY_TEST_REDIS_SERVER" --version | sed -E 's/.*v=([^ ]+).*/\1/') on 127.0.0.1:$RELAY_TEST_REDIS_PORT," \
    "in $RELAY_TEST_SERVICES_DIR ($((SECONDS - t0)) s)"
}

# Stops both servers and removes the temp folder. Safe to call twice, or when nothing started; it
# always returns 0 (it runs from EXIT traps, where a failure would replace the script's status).
relay_services_stop() {
  local dir="${1:-${RELAY_TEST_SERVICES_DIR:-}}" v
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    [ -f "$dir/env" ] && source "$dir/env"
    if [ -n "${RELAY_TEST_PGDATA:-}" ] && [ -f "$RELAY_TEST_PGDATA/postmaster.pid" ]; then
      relay_pg_stop fast 2>/dev/null || relay_pg_stop immediate 2>/dev/null || true
    fi
    [ -n "${RELAY_TEST_REDIS_PIDFILE:-}" ] && relay_redis_stop
    case "$dir" in */relay-services.*) rm -rf "$dir" ;; esac
  fi
  for v in "${relay__vars[@]}"; do unset "$v"; done
  return 0
}

# Stops DIR's servers once process PID has ended. This is how a `bun test` that started its own
# servers gets them stopped (Bun 1.4.5's test runner emits no process "exit" event), and what stops
# them after a kill -9, a Ctrl-C or a closed terminal.
relay__watch() {
  local pid="$1" dir="$2"
  while relay__alive "$pid" && [ -d "$dir" ]; do sleep 0.2; done
  [ -d "$dir" ] && relay_services_stop "$dir"
  return 0
}

relay__spawn_watch() {
  local self="${BASH_SOURCE[0]}"
  command -v setsid >/dev/null 2>&1 || return 0
  setsid -f bash "$self" watch "$1" "$RELAY_TEST_SERVICES_DIR" </dev/null >/dev/null 2>&1 || true
}

# ---- entry ---------------------------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced.
  if relay_services_start; then
    relay__spawn_watch "$$"
    if [ "${RELAY_SERVICES_NO_TRAP:-}" != 1 ]; then
      trap 'relay__rc=$?; relay_services_stop; exit $relay__rc' EXIT
    fi
  else
    relay__log "FAILED to start PostgreSQL and Redis for the tests (see above)"
    false
  fi
else
  set -uo pipefail
  cmd="${1:-}"
  case "$cmd" in
    start)
      relay_services_start || exit 1
      for v in "${relay__vars[@]}"; do printf '%s=%s\n' "$v" "${!v}"; done
      ;;
    stop) relay_services_stop "${2:-}" ;;
    watch) [ -n "${2:-}" ] && [ -n "${3:-${RELAY_TEST_SERVICES_DIR:-}}" ] || exit 2
      relay__watch "$2" "${3:-$RELAY_TEST_SERVICES_DIR}" ;;
    pg-stop) relay__load "${3:-}" && relay_pg_stop "${2:-fast}" ;;
    pg-start) relay__load "${2:-}" && relay_pg_start ;;
    redis-stop) relay__load "${2:-}" && relay_redis_stop ;;
    redis-start) relay__load "${2:-}" && relay_redis_start ;;
    redis-restart) relay__load "${2:-}" && relay_redis_stop && relay_redis_start ;;
    *) echo "usage: bash .ci/services.sh start | stop [DIR] | pg-stop [fast|immediate] | pg-start | redis-stop | redis-start | redis-restart | watch PID [DIR]" >&2
      exit 2 ;;
  esac
fi
