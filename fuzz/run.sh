#!/usr/bin/env bash
# Seeds the corpora from the shipped fixtures and rule packs, then fuzzes
# each target in turn for SECONDS (default 600) and prints what libFuzzer
# reported. Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
#
#   fuzz/run.sh                      # every target, 10 minutes each
#   fuzz/run.sh 60 records rules     # two targets, one minute each
#
# One target at a time, one process each: the fuzzers share the machine.
# A crash stops that target and leaves the input in fuzz/artifacts/TARGET/;
# reproduce it with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...`.
set -euo pipefail
cd "$(dirname "$0")"
root=..
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(records timestamp rules scan)
# `--log-tz local` reads the machine's zone: give it one with daylight
# saving, so the gap and the repeated hour are fuzzed too (UTC has neither).
export TZ=${FUZZ_TZ:-America/New_York}

# The first input byte(s) of records/scan are control bytes (see the
# targets): the stream or file a log plays, and where it is cut.
control_for() {
    case "$(basename "$1")" in
        pm2.log) printf '\x02' ;;
        *-error*.log) printf '\x01' ;;
        *-out*.log) printf '\x00' ;;
        *) printf '\x04' ;;
    esac
}

seed_logs() {
    local dir=corpus/$1 n=0
    mkdir -p "$dir"
    while IFS= read -r -d '' log; do
        n=$((n + 1))
        { control_for "$log"; printf '\x80'; cat "$log"; } >"$dir/seed-$n"
    done < <(find "$root/fixtures" -name '*.log' -print0 | sort -z)
}

seed_timestamps() {
    local dir=corpus/timestamp n=0
    mkdir -p "$dir"
    # First byte 95 is offset +00:00 (see fuzz_targets/timestamp.rs).
    for s in '2026-11-20T10:00:00: PM2 log: x' '2026-11-20 11:00:00.250 +01:00: x' \
        '2026-11-20 11:00:00 +0100' '[2018-08-15T23:22:52.026Z] PM2 log' '2023/05/21 09:58:05.456	ERROR' \
        '1795413112.6492145' '9999-12-31T23:59:59.999-23:59' '0000-01-01T00:00:00+23:59' \
        '2016-12-31T23:59:60Z' '2026-02-29T10:00:00' 'utc' '+05:30' \
        '2026-11-21 02:10:05,644 ib_async.wrapper ERROR x' 'ERROR:2025-12-30 06:25:45,473:x' \
        '[Nest] 4242  - 11/20/2026, 1:15:00 PM   ERROR x' '[11:58:01 PM] [INFO] [TWS]: x' \
        '::1 - - [20/Nov/2026:10:00:01 +0000] "GET /"' 'Nov  5 10:00:01.123456 host app: x' \
        '{"level":30,"time":1795168800118,"msg":"x"}' '{"msg":"x","time":"2026-11-20T10:00:00.118Z"}'; do
        n=$((n + 1))
        { printf '_'; printf '%s' "$s"; } >"$dir/seed-$n"
    done
}

# One seed per [[rule]] table: whole packs compile dozens of regexes per
# run and would slow every mutation of them.
seed_rules() {
    local dir=corpus/rules
    mkdir -p "$dir"
    for pack in "$root"/rules/*.toml "$root"/fixtures/packs/*/*.toml; do
        local name
        name=$(basename "$(dirname "$pack")")-$(basename "$pack" .toml)
        awk -v out="$dir/seed-$name" '/^\[\[rule\]\]/ { n++ } { print > (out "-" n+0) }' "$pack"
    done
}

seed_logs records
seed_logs scan
seed_timestamps
seed_rules

mkdir -p logs
for t in "${targets[@]}"; do
    case $t in
        rules) dict=dicts/rules.dict max_len=8192 ;;
        # Chunks of 1 to 64 bytes make the streamed pass quadratic in the
        # longest record: keep inputs small enough for ~100 runs/s.
        scan) dict=dicts/logs.dict max_len=4096 ;;
        *) dict=dicts/logs.dict max_len=16384 ;;
    esac
    echo "== $t: ${secs}s"
    status=0
    cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$max_len" -dict="$dict" -print_final_stats=1 >"logs/$t.log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|#[0-9]+ *DONE' \
        "logs/$t.log" || true
    grep -E 'cov: [0-9]+' "logs/$t.log" | tail -1 || true
    if [ "$status" -ne 0 ]; then
        echo "$t: libFuzzer exited $status; see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        exit "$status"
    fi
done
