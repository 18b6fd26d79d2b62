#!/usr/bin/env bash
# Wall-clock comparison of `logtriage scan` with ripgrep over the same
# logs and the same rule regexes (every regex of the built-in pack, written
# by `cargo run --example rg_patterns`), on corpora of several shapes,
# including the ones that hurt (issue 18):
#
#   healthy    pm2's own stamps, almost nothing matches (--dense 0)
#   dense      5 % of records hold a rule literal, half of them matches
#   storm      25 % of records hold one: an outage's logs
#   app-timed  dense, stamped by the apps' own loggers, pm2 adds nothing
#   json       dense, every app with pm2's `log_type: json`
#   untimed    dense, no times but in pm2.log: windows wait for the end
#   many-apps  dense, 100 apps' small files (1001 files)
#   one-file   dense, one huge file the scan splits across its workers
#
#   SIZE_MIB=1024 RUNS=5 benches/compare.sh
#   CORPORA="healthy dense" benches/compare.sh     # a subset
#   CORPORA= RSS_SIZES="1024 2048" benches/compare.sh   # memory growth only
#
# Environment: SIZE_MIB (default 1024) size of each corpus, RUNS (default 5)
# timed runs per tool and corpus, SEED (default 1), DENSE (default 0.05),
# STORM (default 0.25), CORPORA (default all of the above, in that order),
# RSS_SIZES (default "1024 2048 5120"; empty skips it): storm corpora of
# these sizes in MiB, each generated into a temporary directory, scanned
# once with --mmap never for its peak RSS (issue 18: flat as input grows)
# and deleted before the next is generated, so at most the largest is on
# disk at a time.
# Corpora go under bench-corpus/ (git-ignored) and are reused while their
# size, seed, density, shape and generator source are unchanged.
#
# Both tools run warm (page cache filled by one untimed run each), one after
# the other within each round, alternating which goes first. Reported times
# are medians; MB is 10^6 bytes; matches/s counts the records a rule
# matched (the summary's `matches`). rg only counts matching lines per file,
# with no record joining, captures, correlation or report, so the ratio is
# the price of that work over a raw regex search. Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
DENSE=${DENSE:-0.05}
STORM=${STORM:-0.25}
CORPORA=${CORPORA-healthy dense storm app-timed json untimed many-apps one-file}
RSS_SIZES=${RSS_SIZES-1024 2048 5120}
ROOT=bench-corpus
PATTERNS=$ROOT/rg-patterns.txt
BIN=target/release/logtriage
GEN=target/release/examples/gen_corpus

RG=$(command -v rg || true)
if [[ -z "$RG" && -x "$HOME/.cargo/bin/rg" ]]; then
    RG="$HOME/.cargo/bin/rg"
fi
if [[ -z "$RG" ]]; then
    echo "install ripgrep: cargo install ripgrep" >&2
    exit 1
fi

# Peak RSS needs GNU time (`-f %M`, KiB); the shell keyword cannot do it.
GNU_TIME=$(command -v /usr/bin/time || true)
if [[ -n "$GNU_TIME" ]] && ! "$GNU_TIME" -f %M -o /dev/null true 2>/dev/null; then
    GNU_TIME=""
fi
if [[ -z "$GNU_TIME" ]]; then
    echo "note: GNU time not found, peak RSS will read n/a (apt-get install time)" >&2
fi

echo "building (cargo build --release, example gen_corpus)" >&2
cargo build --release --quiet
cargo build --release --quiet --example gen_corpus
cargo build --release --quiet --example rg_patterns

# The generator's source is part of the corpus identity.
GEN_HASH=$(sha256sum benches/corpus/mod.rs | cut -c1-16)

# make_corpus NAME DENSITY [SHAPE [LAYOUT]]: (re)generates $ROOT/NAME unless
# its parameters match the ones recorded next to it.
make_corpus() {
    local name=$1 density=$2 shape=${3:-pm2} layout=${4:-standard}
    local dir="$ROOT/$name" stamp="$ROOT/$name.params"
    local want="size_mib=$SIZE_MIB seed=$SEED dense=$density shape=$shape layout=$layout generator=$GEN_HASH"
    if [[ -d "$dir" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "reusing $dir ($want)" >&2
        return
    fi
    echo "generating $dir ($want)" >&2
    rm -rf "$dir" "$stamp"
    "$GEN" --out "$dir" --size-mib "$SIZE_MIB" --dense "$density" --seed "$SEED" --shape "$shape" \
        --layout "$layout" --apps 100 >&2
    echo "$want" >"$stamp"
}

mkdir -p "$ROOT"
target/release/examples/rg_patterns >"$PATTERNS"
echo "rg patterns: $(wc -l <"$PATTERNS") regexes of the built-in pack in $PATTERNS" >&2
# corpus NAME: makes the named corpus (see the list at the top).
corpus() {
    case $1 in
    healthy) make_corpus healthy 0 ;;
    dense) make_corpus dense "$DENSE" ;;
    storm) make_corpus storm "$STORM" ;;
    app-timed) make_corpus app-timed "$DENSE" app-timed ;;
    json) make_corpus json "$DENSE" json ;;
    untimed) make_corpus untimed "$DENSE" untimed ;;
    many-apps) make_corpus many-apps "$DENSE" pm2 many-apps ;;
    one-file) make_corpus one-file "$DENSE" pm2 one-file ;;
    *)
        echo "unknown corpus $1 (healthy dense storm app-timed json untimed many-apps one-file)" >&2
        exit 2
        ;;
    esac
}
for name in $CORPORA; do
    corpus "$name"
done

now() { date +%s.%N; }
# secs T0 T1: T1 - T0 in seconds.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", b - a }'; }
# median: of the numbers on stdin.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run_logtriage DIR OUT: one scan; its peak RSS (KiB) goes to $TMP/rss. The
# corpus is named like live logs, which the default --mmap auto streams (log
# rotation may truncate them); nothing truncates the corpus, so it is mapped,
# as rg maps the files it is given.
run_logtriage() {
    run_logtriage_mmap always "$@"
}

# run_logtriage_mmap MODE DIR OUT: as run_logtriage with --mmap MODE.
# `never` streams every file in 8 MiB chunks, so its peak RSS is the heap
# (events, incidents), which issue 5 bounds; mapped runs count the mapped
# file pages too.
run_logtriage_mmap() {
    if [[ -n "$GNU_TIME" ]]; then
        "$GNU_TIME" -f %M -o "$TMP/rss" "$BIN" scan --format json --fail-on never --mmap "$1" "$2" >"$3"
    else
        "$BIN" scan --format json --fail-on never --mmap "$1" "$2" >"$3"
    fi
}

# peak_rss: the KiB figure GNU time wrote last.
peak_rss() {
    grep -oE '^[0-9]+$' "$TMP/rss" | tail -n 1
}

# mib KIB: "N MiB", or n/a without GNU time.
mib() {
    if [[ -n "$GNU_TIME" ]]; then
        awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'
    else
        echo "n/a"
    fi
}

# run_rg DIR OUT: rg exits 1 when nothing matched, which is not an error.
run_rg() {
    local rc=0
    "$RG" -c -f "$PATTERNS" "$1" >"$2" || rc=$?
    if ((rc > 1)); then
        echo "rg failed with status $rc" >&2
        exit "$rc"
    fi
}

ROWS=()
NOTES=()
for name in $CORPORA; do
    dir="$ROOT/$name"
    bytes=$(find "$dir" -type f -name '*.log' -printf '%s\n' | awk '{ s += $1 } END { print s }')
    mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')

    # Warm-up (untimed): fills the page cache; its outputs say what each did.
    run_logtriage "$dir" "$TMP/lt.json"
    run_rg "$dir" "$TMP/rg.txt"
    # The summary's "candidates" comes right before its "matches" (each
    # file's own "candidates" come earlier).
    read -r candidates matches < <(awk -F'[:,]' '/"candidates":/ { c = $2 + 0 } /"matches":/ { print c, $2 + 0; exit }' "$TMP/lt.json")
    lines=$(awk -F: '{ s += $NF } END { print s + 0 }' "$TMP/rg.txt")
    NOTES+=("$name: logtriage $candidates candidate records, $matches matches; rg $lines matching lines")

    : >"$TMP/lt.times"
    : >"$TMP/rg.times"
    peak=0
    for ((i = 1; i <= RUNS; i++)); do
        for tool in $( ((i % 2)) && echo "lt rg" || echo "rg lt"); do
            t0=$(now)
            if [[ $tool == lt ]]; then
                run_logtriage "$dir" /dev/null
            else
                run_rg "$dir" /dev/null
            fi
            t1=$(now)
            secs "$t0" "$t1" >>"$TMP/$tool.times"
            if [[ $tool == lt && -n "$GNU_TIME" ]]; then
                rss=$(peak_rss)
                if ((rss > peak)); then
                    peak=$rss
                fi
            fi
        done
        echo "$name run $i/$RUNS: logtriage $(tail -n 1 "$TMP/lt.times") s, rg $(tail -n 1 "$TMP/rg.times") s" >&2
    done
    # Streamed (--mmap never): the same analysis, memory bounded by the
    # heap; timed apart from the side-by-side rounds.
    : >"$TMP/never.times"
    heap=0
    for ((i = 1; i <= RUNS; i++)); do
        t0=$(now)
        run_logtriage_mmap never "$dir" /dev/null
        t1=$(now)
        secs "$t0" "$t1" >>"$TMP/never.times"
        if [[ -n "$GNU_TIME" ]]; then
            rss=$(peak_rss)
            if ((rss > heap)); then
                heap=$rss
            fi
        fi
    done
    lt=$(median <"$TMP/lt.times")
    rg=$(median <"$TMP/rg.times")
    never=$(median <"$TMP/never.times")
    ROWS+=("$(awk -v n="$name" -v mb="$mb" -v lt="$lt" -v rg="$rg" -v rss="$(mib "$peak")" -v nv="$never" -v heap="$(mib "$heap")" -v m="$matches" 'BEGIN {
        printf "| %s | %s | %.3f | %.0f | %.0f | %.3f | %.0f | %.2f | %s | %.3f | %s |", n, mb, lt, mb / lt, m / lt, rg, mb / rg, lt / rg, rss, nv, heap
    }')")
done

echo
echo "$(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo "unknown CPU")"
echo "$("$BIN" --version), $("$RG" --version | head -n 1); $RUNS runs each, medians, warm cache"
if [[ -n "$CORPORA" ]]; then
echo
echo "| corpus | size MB | logtriage median s | logtriage MB/s | matches/s | rg median s | rg MB/s | ratio (logtriage/rg) | peak RSS (mapped) | --mmap never median s | peak RSS (--mmap never) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${NOTES[@]}"
fi

# Memory as the input grows: storm corpora of RSS_SIZES MiB, streamed
# (--mmap never), so the peak is the heap. Generated one at a time next to
# the other temporary files and deleted once measured.
if [[ -n "$RSS_SIZES" ]]; then
    echo
    echo "| storm size MiB | matches | incidents | --mmap never s | peak RSS (--mmap never) |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    for size in $RSS_SIZES; do
        dir="$TMP/rss-storm"
        rm -rf "$dir"
        echo "generating a $size MiB storm corpus in $dir (deleted once measured)" >&2
        "$GEN" --out "$dir" --size-mib "$size" --dense "$STORM" --seed "$SEED" >&2
        t0=$(now)
        run_logtriage_mmap never "$dir" "$TMP/rss.json"
        t1=$(now)
        rm -rf "$dir"
        # The summary's matches, then its incidents per severity.
        read -r matches incidents < <(awk -F'[:,]' '/"matches":/ { m = $2 + 0; on = 1 } on && /"(critical|high|medium|low)":/ { n += $2 } on && /"info":/ { print m, n + $2; exit }' "$TMP/rss.json")
        rm -f "$TMP/rss.json"
        echo "| $size | $matches | $incidents | $(secs "$t0" "$t1") | $(mib "$(peak_rss)") |"
    done
fi
