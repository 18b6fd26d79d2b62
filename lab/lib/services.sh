# lab/lib/services.sh: real Redis, PostgreSQL and Caddy for a scenario.
#
# Sourced after lib/common.sh. Each server runs on 127.0.0.1 at its usual
# port (the rules key on 6379 / 5432 as production logs show them), keeps its
# data and its own log under /tmp/logtriage-lab/<name>/, and is stopped when
# the scenario ends. svc_keep_logs copies the servers' logs into the fixture
# under servers/ (not scanned by the scenario's expect.toml paths: another
# issue reads them).

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_port_free() {
  if ! port_free "$1"; then
    lab_log "127.0.0.1:$1 is in use by another program; stop it first"
    exit 1
  fi
}

# redis_start NAME PORT [redis-server options...]
redis_start() {
  local name=$1 port=$2
  shift 2
  local dir="$RUN/servers/$name"
  require_port_free "$port"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --logfile "$dir/redis-server.log" \
    --pidfile "$dir/redis.pid" --daemonize yes --save '' --appendonly no "$@" >/dev/null
  wait_for 10 redis-cli -p "$port" ping
  lab_version redis-server "$(redis-server --version | sed -E 's/.* v=([^ ]+).*/\1/')"
  lab_on_exit "redis-cli -p $port shutdown nosave >/dev/null 2>&1"
}

redis_stop() { redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true; wait_for 10 port_free "$1"; }

PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=5432
PG_PASSWORD=labpass

# pg_start [postgres -c settings...]: a fresh cluster in $RUN/servers/postgresql,
# password authentication (scram) for TCP, role `app` (password apppass,
# not a superuser) owning database `shop`.
pg_start() {
  local dir="$RUN/servers/postgresql"
  require_port_free "$PG_PORT"
  mkdir -p "$dir"
  chown postgres: "$dir"
  printf '%s\n' "$PG_PASSWORD" >"$dir/pwfile"
  chown postgres: "$dir/pwfile"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    -A scram-sha-256 >/dev/null
  local opts="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$dir"
  local s
  for s in "$@"; do opts+=" -c $s"; done
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -o "$opts" -w start >/dev/null
  lab_on_exit "runuser -u postgres -- $PG_BIN/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1"
  pg_psql -c "CREATE ROLE app LOGIN PASSWORD 'apppass'" -c "CREATE DATABASE shop OWNER app" >/dev/null
  lab_version postgresql "$("$PG_BIN/postgres" --version | awk '{print $3}')"
}

# pg_psql [psql args...]: as the superuser, over TCP.
pg_psql() { PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -X -q "$@"; }

pg_ctl_as() { runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN/servers/postgresql/data" "$@"; }

# caddy_start CADDYFILE: caddy run in the background, its stderr (the
# default logger: JSON, as stderr is no terminal) in $RUN/caddy/caddy.log,
# its state under $RUN/caddy (the scenario keeps what it needs: Caddy's
# logs are the subject of the Caddy scenarios, not a server log aside).
caddy_start() {
  local dir="$RUN/caddy"
  mkdir -p "$dir"
  XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" HOME="$dir" \
    caddy run --config "$1" --adapter caddyfile >"$dir/caddy-stdout.txt" 2>"$dir/caddy.log" &
  local pid=$!
  lab_on_exit "kill $pid"
  lab_version caddy "$(caddy version | awk '{print $1}' | sed 's/^v//')"
}

# Copy the servers' own logs (not their data) into the fixture's servers/.
svc_keep_logs() {
  local f
  [[ -d $RUN/servers ]] || return 0
  while IFS= read -r f; do
    lab_keep "$f" "servers/${f#"$RUN/servers/"}"
  done < <(find "$RUN/servers" -name '*.log' -type f | sort)
}
