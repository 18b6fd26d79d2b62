#!/usr/bin/env bash
# Grouping accuracy of `logtriage templates --all` on Loghub-2k (issue 16).
#
#   benches/loghub.sh [BIN]        BIN defaults to target/release/logtriage
#
# Loghub (github.com/logpai/loghub) is for research use: its files are
# fetched here, into a cache outside the repository, and never committed.
# LOGHUB_DIR=DIR uses a copy laid out as the repository is
# (DIR/HDFS/HDFS_2k.log_structured.csv, ...) instead of downloading.
#
# Each data set's 2,000 lines are labelled with an EventId. As in the
# logpai benchmark, the parser sees each line's Content (the message after
# the header the data set's log format names); grouping accuracy is the
# share of lines whose predicted template holds exactly the lines of one
# ground-truth event. Drain's published figures (logpai/logparser,
# logparser/Drain/README.md) are printed beside ours. Drain is tuned per
# data set there (its own masking regexes, depth and threshold); logtriage
# runs one setting and its generic masks on all sixteen.
set -euo pipefail

bin=${1:-target/release/logtriage}
[ -x "$bin" ] || { echo "no $bin: cargo build --release first, or give the binary" >&2; exit 2; }
sets="HDFS Hadoop Spark Zookeeper BGL HPC Thunderbird Windows Linux Android HealthApp Apache Proxifier OpenSSH OpenStack Mac"
cache=${LOGHUB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/logtriage-loghub}
base=https://raw.githubusercontent.com/logpai/loghub/master
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for s in $sets; do
  csv=$cache/$s/${s}_2k.log_structured.csv
  if [ ! -s "$csv" ]; then
    [ -n "${LOGHUB_DIR:-}" ] && { echo "LOGHUB_DIR has no $csv" >&2; exit 2; }
    mkdir -p "$cache/$s"
    curl -fsSL -o "$csv" "$base/$s/${s}_2k.log_structured.csv"
  fi
  # The Content column, one message a line, and the labels beside it.
  python3 - "$csv" "$work/$s.log" "$work/$s.labels" <<'PY'
import csv, sys
with open(sys.argv[1], newline='', encoding='utf-8', errors='replace') as f, \
     open(sys.argv[2], 'w') as log, open(sys.argv[3], 'w') as labels:
    for row in csv.DictReader(f):
        log.write(row['Content'].replace('\n', ' ').strip() + '\n')
        labels.write(row['EventId'] + '\n')
PY
  start=$(date +%s.%N)
  "$bin" templates --all --threads 1 "$work/$s.log" > "$work/$s.out"
  end=$(date +%s.%N)
  echo "$s $start $end" >> "$work/times"
done

python3 - "$work" $sets <<'PY'
import json, sys
from collections import defaultdict
work, sets = sys.argv[1], sys.argv[2:]
# logpai/logparser, logparser/Drain/README.md (Loghub-2k, grouping accuracy).
drain = {'HDFS': 0.9975, 'Hadoop': 0.9475, 'Spark': 0.92, 'Zookeeper': 0.9665, 'BGL': 0.9625, 'HPC': 0.887,
         'Thunderbird': 0.955, 'Windows': 0.997, 'Linux': 0.69, 'Android': 0.911, 'HealthApp': 0.78,
         'Apache': 1.0, 'Proxifier': 0.5265, 'OpenSSH': 0.7875, 'OpenStack': 0.7325, 'Mac': 0.7865}
times = {l.split()[0]: float(l.split()[2]) - float(l.split()[1]) for l in open(f'{work}/times')}
print('| Data set | Lines | Templates (truth) | Templates (found) | Grouping accuracy | Drain (published) | Lines/s |')
print('|---|---:|---:|---:|---:|---:|---:|')
ours, theirs = [], []
for s in sets:
    truth = [l.rstrip('\n') for l in open(f'{work}/{s}.labels')]
    pred = {}
    for l in open(f'{work}/{s}.out'):
        o = json.loads(l)
        pred[o['line']] = o['template_id']
    # A line the parser did not report as a record of its own (joined to
    # the one before it) is a group of its own: right only if its event is.
    p = [pred.get(i + 1) or f'missing-{i}' for i in range(len(truth))]
    by_pred, by_truth = defaultdict(set), defaultdict(set)
    for i, (t, q) in enumerate(zip(truth, p)):
        by_pred[q].add(i)
        by_truth[t].add(i)
    truth_sets = {frozenset(v) for v in by_truth.values()}
    right = sum(len(v) for v in by_pred.values() if frozenset(v) in truth_sets)
    ga = right / len(truth)
    ours.append(ga)
    theirs.append(drain[s])
    print(f'| {s} | {len(truth)} | {len(by_truth)} | {len(by_pred)} | {ga:.4f} | {drain[s]:.4f} | {len(truth) / times[s]:,.0f} |')
print(f'| **Average** | | | | **{sum(ours) / len(ours):.4f}** | **{sum(theirs) / len(theirs):.4f}** | |')
PY
