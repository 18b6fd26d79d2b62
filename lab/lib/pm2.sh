# lab/lib/pm2.sh: running apps under a real pm2 daemon of the scenario's own.
#
# Sourced after lib/common.sh. PM2_HOME is /tmp/logtriage-lab/<name>/pm2, so
# pm2.log and the app logs have stable paths; the daemon is killed at exit.
# pm2_finish copies pm2.log and PM2_HOME/logs/ into the fixture *before*
# the daemon is killed: a scenario records a live server, as an SRE would
# find it, not the shutdown that follows.

export PM2_HOME="$RUN/pm2"
# No update checks, no telemetry prompts, no colours in what pm2 prints.
export PM2_DISABLE_VERSION_CHECK=true
export FORCE_COLOR=0

pm2_begin() {
  mkdir -p "$PM2_HOME"
  lab_npm_version pm2
  lab_on_exit "pm2 kill >/dev/null 2>&1"
}

# pm2_statuses APP: the pm2 status of each instance of APP, space separated.
pm2_statuses() {
  pm2 jlist 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      const list = JSON.parse(s.slice(s.indexOf("[")));
      console.log(list.filter(p => p.name === process.argv[1]).map(p => p.pm2_env.status).join(" "));
    });' "$1"
}

# pm2_restarts APP: restart counts of APP's instances, space separated.
pm2_restarts() {
  pm2 jlist 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      const list = JSON.parse(s.slice(s.indexOf("[")));
      console.log(list.filter(p => p.name === process.argv[1]).map(p => p.pm2_env.restart_time).join(" "));
    });' "$1"
}

pm2_status_is() { [[ "$(pm2_statuses "$1")" == "$2" ]]; }

# pm2_wait_status APP "STATUS ..." SECONDS
pm2_wait_status() { wait_for "$3" pm2_status_is "$1" "$2"; }

# pm2_wait_restarts APP N SECONDS: until the first instance restarted N times.
pm2_restarts_at_least() { local r; r=$(pm2_restarts "$1"); [[ -n $r && ${r%% *} -ge $2 ]]; }
pm2_wait_restarts() { wait_for "$3" pm2_restarts_at_least "$1" "$2"; }

# Copy pm2.log and the default log directory into the fixture (pm2 writes
# asynchronously: give it a moment first).
pm2_finish() {
  sleep 1
  pm2 jlist >"$RUN/jlist.json" 2>/dev/null || true
  lab_keep "$PM2_HOME/pm2.log" pm2.log
  if [[ -d $PM2_HOME/logs ]] && [[ -n "$(ls -A "$PM2_HOME/logs")" ]]; then
    lab_keep "$PM2_HOME/logs" logs
  fi
}
