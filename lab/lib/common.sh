# lab/lib/common.sh: what every scenario's `run` script shares.
#
# Sourced (never run) by lab/scenarios/<name>/run, which lab/record starts
# with LAB_NAME set. A scenario works in a fixed directory,
# /tmp/logtriage-lab/<name>, so paths written into the logs are the same on
# every recording, and hands its files to fixtures/recorded/<name>/ through
# lab_keep. lab_finish then writes versions.toml and README.md there; the
# scenario's expect.toml (written by a person) is the one file kept across
# re-recordings.

set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
# Where the lab's npm packages are installed (lab/record does it), outside
# the repository so stack traces name a stable path.
LAB_BASE=/tmp/logtriage-lab
: "${LAB_NAME:?lab/record sets LAB_NAME; run scenarios through lab/record}"
RUN="$LAB_BASE/$LAB_NAME"
OUT="$REPO_DIR/fixtures/recorded/$LAB_NAME"
export PATH="$LAB_BASE/node_modules/.bin:$PATH"
export NODE_PATH="$LAB_BASE/node_modules"
# Local time is what pm2 stamps with; UTC unless a scenario says otherwise.
export TZ="${TZ:-UTC}"

# Programs and libraries whose versions go into versions.toml.
declare -a LAB_VERSIONS=()
LAB_DESCRIPTION=""
# Cleanup actions run at exit, last registered first (servers, daemons).
declare -a LAB_CLEANUP=()

lab_log() { printf '[%s] %s\n' "$LAB_NAME" "$*" >&2; }

lab_cleanup() {
  local i
  for ((i = ${#LAB_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${LAB_CLEANUP[$i]}" || true
  done
}
trap lab_cleanup EXIT

lab_on_exit() { LAB_CLEANUP+=("$1"); }

# Fresh working directory and the apps the scenario runs (copied, so stack
# traces say /tmp/logtriage-lab/<name>/app/<app>.js).
lab_begin() {
  rm -rf "$RUN"
  mkdir -p "$RUN/app"
  local app
  for app in "$@"; do
    cp "$LAB_DIR/apps/$app.js" "$RUN/app/"
  done
  lab_version node "$(node --version | sed 's/^v//')"
}

# Two to six lines for the fixture's README.md.
lab_describe() { LAB_DESCRIPTION="$1"; }

# lab_version NAME VERSION: one line of versions.toml.
lab_version() {
  local name=$1 version=$2 entry
  for entry in "${LAB_VERSIONS[@]}"; do
    [[ $entry == "$name="* ]] && return 0
  done
  LAB_VERSIONS+=("$name=$version")
}

# lab_npm_version PACKAGE [AS]: the installed version of an npm package.
lab_npm_version() {
  local pkg=$1 as=${2:-$1}
  lab_version "$as" "$(node -p "require('$LAB_BASE/node_modules/$pkg/package.json').version")"
}

# lab_keep SRC [DEST]: copy a file or directory from the run into the
# fixture, DEST relative to fixtures/recorded/<name>/ (default: its name).
lab_keep() {
  local src=$1 dest=${2:-$(basename "$1")}
  mkdir -p "$OUT/$(dirname "$dest")"
  cp -R "$src" "$OUT/$dest"
}

# Empty the fixture directory except the person-written expect.toml.
lab_clear_out() {
  mkdir -p "$OUT"
  find "$OUT" -mindepth 1 -maxdepth 1 ! -name expect.toml -exec rm -rf {} +
}

lab_finish() {
  local entry
  {
    for entry in "${LAB_VERSIONS[@]}"; do
      printf '"%s" = "%s"\n' "${entry%%=*}" "${entry#*=}"
    done
    printf 'recorded = "%s"\n' "$(date -u +%Y-%m-%d)"
    printf 'script = "lab/scenarios/%s/run"\n' "$LAB_NAME"
  } >"$OUT/versions.toml"
  {
    printf '# %s\n\n%s\n\n' "$LAB_NAME" "$LAB_DESCRIPTION"
    printf 'Recorded by `lab/record %s` (script: `lab/scenarios/%s/run`); the log files are as the\n' "$LAB_NAME" "$LAB_NAME"
    printf 'software wrote them, never edited. What a person sees in them: `expect.toml`.\n'
  } >"$OUT/README.md"
  lab_log "recorded into fixtures/recorded/$LAB_NAME ($(du -sh "$OUT" | cut -f1))"
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      lab_log "timed out after ${limit}s waiting for: $*"
      return 1
    fi
    sleep 0.2
  done
}
